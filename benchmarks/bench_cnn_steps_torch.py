#!/usr/bin/python3
"""PyTorch peer of bench_cnn_steps.cpp: the same model, data, batch, steps and threads.

    /usr/bin/python3 benchmarks/bench_cnn_steps_torch.py --threads N
"""
import argparse
import resource
import sys
import time

import torch

from fashion_mnist_idx import training_set


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--steps", type=int, default=100)
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    images, labels = training_set()
    x, y = torch.from_numpy(images.reshape(-1, 1, 28, 28)), torch.from_numpy(labels)
    nn = torch.nn
    model = nn.Sequential(nn.Conv2d(1, 32, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2),
                          nn.Conv2d(32, 64, 3, padding=1), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(),
                          nn.Linear(3136, 128), nn.ReLU(), nn.Dropout(0.5), nn.Linear(128, 10))
    model.train()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True,
                                         generator=torch.Generator().manual_seed(1))
    batches = iter(loader)
    seconds = []
    for _ in range(args.repeats):
        start = time.perf_counter()
        for _ in range(args.steps):
            try:
                bx, by = next(batches)
            except StopIteration:
                batches = iter(loader)
                bx, by = next(batches)
            opt.zero_grad()
            loss = nn.functional.cross_entropy(model(bx), by)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"cnn_seconds_per_{args.steps}_steps\t{args.threads}\t{seconds[len(seconds) // 2]:.3f}\ts")
    print(f"cnn_peak_rss_mb\t{args.threads}\t{peak:.1f}\tMB")
    print(f"torch: last batch loss {loss.item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
