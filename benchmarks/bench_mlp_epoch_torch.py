#!/usr/bin/python3
"""PyTorch peer of bench_mlp_epoch.cpp: the same model, data, batch and threads.

    /usr/bin/python3 benchmarks/bench_mlp_epoch_torch.py --threads N
"""
import argparse
import resource
import sys
import time

import torch

from fashion_mnist_idx import mlp, standardized_training_set


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--epochs", type=int, default=3)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    x, y = standardized_training_set()

    model = mlp()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    generator = torch.Generator().manual_seed(1)
    loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(x, y), batch_size=128, shuffle=True,
                                         generator=generator)
    seconds = []
    for _ in range(args.epochs):
        start = time.perf_counter()
        for bx, by in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(bx), by)
            loss.backward()
            opt.step()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"mlp_epoch_seconds\t{args.threads}\t{seconds[len(seconds) // 2]:.3f}\ts")
    print(f"mlp_peak_rss_mb\t{args.threads}\t{peak:.1f}\tMB")
    print(f"torch: last batch loss {loss.item():.4f}", file=sys.stderr)


if __name__ == "__main__":
    main()
