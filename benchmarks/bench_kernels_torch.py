#!/usr/bin/python3
"""PyTorch peer of bench_kernels.cpp: the same cases, forms and output format.

    /usr/bin/python3 benchmarks/bench_kernels_torch.py --threads N
"""
import argparse
import time

import torch


def median_seconds(f, inner, reps=9):
    for _ in range(inner):
        f()
    times = []
    for _ in range(reps):
        start = time.perf_counter()
        for _ in range(inner):
            f()
        times.append((time.perf_counter() - start) / inner)
    times.sort()
    return times[len(times) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--quick", action="store_true")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)

    def report(name, value, unit):
        print(f"{name}\t{args.threads}\t{value:.2f}\t{unit}", flush=True)

    with torch.no_grad():
        for n in (1 << 20, 1 << 24):
            size = "1M" if n == 1 << 20 else "16M"
            inner = 5 if n > (1 << 22) else 50
            nbytes = 4.0 * n
            a, b, out = torch.randn(n), torch.randn(n), torch.empty(n)
            for name, fresh, into in (
                ("add", lambda: a + b, lambda: torch.add(a, b, out=out)),
                ("mul", lambda: a * b, lambda: torch.mul(a, b, out=out)),
            ):
                report(f"{name}_{size}_fresh", 3 * nbytes / median_seconds(fresh, inner) / 1e9, "GB/s")
                report(f"{name}_{size}_out", 3 * nbytes / median_seconds(into, inner) / 1e9, "GB/s")
            for name, fresh, into in (
                ("relu", lambda: torch.relu(a), lambda: torch.clamp(a, min=0, out=out)),
                ("sigmoid", lambda: torch.sigmoid(a), lambda: torch.sigmoid(a, out=out)),
                ("tanh", lambda: torch.tanh(a), lambda: torch.tanh(a, out=out)),
                ("exp", lambda: torch.exp(a), lambda: torch.exp(a, out=out)),
            ):
                report(f"{name}_{size}_fresh", 2 * nbytes / median_seconds(fresh, inner) / 1e9, "GB/s")
                report(f"{name}_{size}_out", 2 * nbytes / median_seconds(into, inner) / 1e9, "GB/s")
            report(f"sum_{size}", nbytes / median_seconds(lambda: a.sum(), inner) / 1e9, "GB/s")
            dropout = lambda: torch.nn.functional.dropout(a, 0.1, training=True)
            report(f"dropout_{size}", 2 * nbytes / median_seconds(dropout, inner) / 1e9, "GB/s")

        for n in ((256,) if args.quick else (256, 512, 1024, 2048, 4096)):
            a, b = torch.randn(n, n), torch.randn(n, n)
            inner = 20 if n <= 512 else (4 if n <= 1024 else 1)
            secs = median_seconds(lambda: torch.matmul(a, b), inner, 3 if args.quick or n > 2048 else 7)
            report(f"matmul_{n}", 2.0 * n * n * n / secs / 1e9, "GFLOP/s")


if __name__ == "__main__":
    main()
