#!/usr/bin/python3
"""PyTorch peer of bench_lstm_step.cpp: the same two LSTM cases, loss, optimizer and threads.

    /usr/bin/python3 benchmarks/bench_lstm_step_torch.py --threads N
"""
import argparse
import resource
import time

import torch


def median_step_ms(layers, bidirectional, repeats):
    lstm = torch.nn.LSTM(64, 128, num_layers=layers, bidirectional=bidirectional)
    opt = torch.optim.Adam(lstm.parameters(), lr=1e-3)
    x = torch.randn(50, 32, 64)
    ms = []
    for r in range(repeats + 2):  # two warm-up steps
        start = time.perf_counter()
        opt.zero_grad()
        loss = lstm(x)[0].pow(2).mean()
        loss.backward()
        opt.step()
        if r >= 2:
            ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    return ms[len(ms) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=20)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"lstm_1layer_step_ms\t{args.threads}\t{median_step_ms(1, False, args.repeats):.2f}\tms")
    print(f"lstm_2layer_bidir_step_ms\t{args.threads}\t{median_step_ms(2, True, args.repeats):.2f}\tms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"lstm_peak_rss_mb\t{args.threads}\t{peak:.1f}\tMB")


if __name__ == "__main__":
    main()
