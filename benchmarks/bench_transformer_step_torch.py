#!/usr/bin/python3
"""PyTorch peer of bench_transformer_step.cpp: the same model, batch, loss, optimizer and threads.
Gradients are enabled, so PyTorch takes its documented encoder path (the fused inference "fast
path" applies to evaluation only).

    /usr/bin/python3 benchmarks/bench_transformer_step_torch.py --threads N
"""
import argparse
import math
import resource
import time

import torch

from torch_positions import sinusoid_table

VOCAB, DIM, TOKENS, REAL, BATCH = 9000, 64, 256, 200, 32


class TextTransformer(torch.nn.Module):
    def __init__(self):
        super().__init__()
        self.embedding = torch.nn.Embedding(VOCAB, DIM, padding_idx=0)
        self.register_buffer("table", sinusoid_table(TOKENS, DIM))
        self.position_dropout = torch.nn.Dropout(0.1)
        layer = torch.nn.TransformerEncoderLayer(DIM, 4, 2 * DIM, 0.1, batch_first=True, norm_first=True)
        self.encoder = torch.nn.TransformerEncoder(layer, 2, norm=torch.nn.LayerNorm(DIM), enable_nested_tensor=False)
        self.dropout = torch.nn.Dropout(0.3)
        self.out = torch.nn.Linear(DIM, 10)

    def forward(self, indices):
        padding = indices == 0
        h = self.position_dropout(self.embedding(indices) * math.sqrt(DIM) + self.table)
        h = self.encoder(h, src_key_padding_mask=padding)
        real = (~padding).float().unsqueeze(2)
        return self.out(self.dropout((h * real).sum(1) / real.sum(1)))


def median_step_ms(repeats):
    model = TextTransformer()
    opt = torch.optim.Adam(model.parameters(), lr=1e-3)
    indices = torch.randint(1, VOCAB, (BATCH, TOKENS))
    indices[:, REAL:] = 0
    targets = (torch.rand(BATCH, 10) < 0.2).float()
    ms = []
    for r in range(repeats + 2):  # two warm-up steps
        start = time.perf_counter()
        opt.zero_grad()
        loss = torch.nn.functional.binary_cross_entropy_with_logits(model(indices), targets)
        loss.backward()
        opt.step()
        if r >= 2:
            ms.append((time.perf_counter() - start) * 1e3)
    ms.sort()
    return ms[len(ms) // 2]


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--repeats", type=int, default=10)
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    torch.manual_seed(0)
    print(f"transformer_step_ms\t{args.threads}\t{median_step_ms(args.repeats):.2f}\tms")
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(f"transformer_peak_rss_mb\t{args.threads}\t{peak:.1f}\tMB")


if __name__ == "__main__":
    main()
