#!/usr/bin/python3
"""PyTorch peer of bench_ddp_epoch.cpp: the same model, data and global batch of 128, trained by
torch.nn.parallel.DistributedDataParallel over the gloo backend (Debian's PyTorch has no MPI
backend) with one thread per process.

    /usr/bin/python3 benchmarks/bench_ddp_epoch_torch.py --ranks 2 [--epochs 3]
"""
import argparse
import os
import sys
import time

import torch
import torch.distributed as dist
import torch.multiprocessing as mp

from fashion_mnist_idx import mlp, standardized_training_set


def train(rank, ranks, epochs, port):
    torch.set_num_threads(1)
    os.environ["MASTER_ADDR"] = "127.0.0.1"
    os.environ["MASTER_PORT"] = str(port)
    dist.init_process_group("gloo", rank=rank, world_size=ranks)
    torch.manual_seed(0)
    x, y = standardized_training_set()
    model = mlp()
    model = torch.nn.parallel.DistributedDataParallel(model)
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    dataset = torch.utils.data.TensorDataset(x, y)
    sampler = torch.utils.data.distributed.DistributedSampler(dataset, seed=1)
    loader = torch.utils.data.DataLoader(dataset, batch_size=128 // ranks, sampler=sampler)
    seconds = []
    for epoch in range(epochs):
        sampler.set_epoch(epoch)
        dist.barrier()
        start = time.perf_counter()
        for bx, by in loader:
            opt.zero_grad()
            loss = torch.nn.functional.cross_entropy(model(bx), by)
            loss.backward()
            opt.step()
        dist.barrier()
        seconds.append(time.perf_counter() - start)
    seconds.sort()
    if rank == 0:
        print(f"ddp_epoch_seconds\tranks={ranks}\t{seconds[len(seconds) // 2]:.3f}\ts", flush=True)
        print(f"torch: last batch loss {loss.item():.4f}", file=sys.stderr)
    dist.destroy_process_group()


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--ranks", type=int, default=2)
    parser.add_argument("--epochs", type=int, default=3)
    parser.add_argument("--port", type=int, default=29517)
    args = parser.parse_args()
    mp.spawn(train, args=(args.ranks, args.epochs, args.port), nprocs=args.ranks, join=True)


if __name__ == "__main__":
    main()
