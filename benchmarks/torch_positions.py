"""The sinusoidal position table of Vaswani et al. (2017), as nn::PositionalEncoding builds it,
shared by the PyTorch peers of the Transformer benchmarks."""
import math

import torch


def sinusoid_table(tokens, dim):
    """[tokens, dim]: sin at even columns, cos at odd ones, wavelengths 2 pi .. 10000 * 2 pi."""
    position = torch.arange(tokens).unsqueeze(1)
    rate = torch.exp(torch.arange(0, dim, 2) * (-math.log(10000.0) / dim))
    table = torch.zeros(tokens, dim)
    table[:, 0::2] = torch.sin(position * rate)
    table[:, 1::2] = torch.cos(position * rate)
    return table
