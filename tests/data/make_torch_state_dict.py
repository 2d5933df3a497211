"""Writes torch_state_dict.npz and torch_reference_io.npz, read by tests/test_io.cpp
(io/loads_a_pytorch_state_dict_by_name).

torch_state_dict.npz is what a PyTorch user saves for NumPy:
    numpy.savez(path, **{k: v.numpy() for k, v in module.state_dict().items()})
for a small model with one of each layer whose names xgrad must match (Linear, Conv2d,
BatchNorm2d with its buffers, LayerNorm, Embedding, a 2-layer bidirectional LSTM, GRU, a depthwise
Conv2d with padding='same', GroupNorm, a TransformerEncoder with a final norm, MultiheadAttention
with kdim and vdim).
torch_reference_io.npz holds fixed inputs and the model's outputs in eval mode, so the test can
show that each name lands in the parameter that plays the same role.

Run with PyTorch 1.13 (the files are committed; the tests do not need PyTorch):
    python3 tests/data/make_torch_state_dict.py
"""
import os

import numpy
import torch
from torch import nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        # Image branch: [N, 2, 4, 4] -> conv -> bn -> relu -> flatten -> fc -> [N, 5]
        self.conv = nn.Conv2d(2, 3, kernel_size=3, padding=1)
        self.bn = nn.BatchNorm2d(3)
        self.fc = nn.Linear(3 * 4 * 4, 5)
        # Text branch: [T, N] tokens -> embed -> lstm -> norm -> gru -> [T, N, 2]
        self.embed = nn.Embedding(10, 4, padding_idx=0)
        self.lstm = nn.LSTM(4, 3, num_layers=2, bidirectional=True)
        self.norm = nn.LayerNorm(6)
        self.gru = nn.GRU(6, 2)
        # Depthwise branch: [N, 2, 4, 4] -> depthwise conv (same) -> group norm -> pools -> [N, 4, 2, 3]
        self.depthwise = nn.Conv2d(2, 4, kernel_size=(3, 2), padding="same", groups=2)
        self.gn = nn.GroupNorm(2, 4)
        # Attention branch: [T, N] tokens -> embed -> encoder (2 layers, final norm) -> attention
        layer = nn.TransformerEncoderLayer(4, 2, dim_feedforward=8, activation="gelu")
        self.encoder = nn.TransformerEncoder(layer, num_layers=2, norm=nn.LayerNorm(4), enable_nested_tensor=False)
        self.attention = nn.MultiheadAttention(4, 2, kdim=3, vdim=5)

    def image(self, x):
        return self.fc(torch.relu(self.bn(self.conv(x))).flatten(1))

    def text(self, tokens):
        return self.gru(self.norm(self.lstm(self.embed(tokens))[0]))[0]

    def depthwise_image(self, x):
        h = self.gn(self.depthwise(x))
        pooled = nn.functional.avg_pool2d(h, 3, 2, 1, ceil_mode=True, count_include_pad=False)
        return nn.functional.adaptive_avg_pool2d(h, (2, 3)) + nn.functional.adaptive_max_pool2d(h, (2, 3)) + pooled.mean()

    def encode(self, tokens, key, value):
        padding = (tokens == 0).t()  # [N, T]
        h = self.encoder(self.embed(tokens), src_key_padding_mask=padding)
        out, weights = self.attention(h, key, value)
        return out, weights


torch.manual_seed(0)
net = Net()
# Normalization layers start as ones and zeros; random values make a swapped weight and bias show.
with torch.no_grad():
    for norm in (net.bn, net.norm, net.gn, net.encoder.norm, net.encoder.layers[1].norm2):
        norm.weight.uniform_(0.5, 1.5)
        norm.bias.uniform_(-0.5, 0.5)
# Two training-mode passes give BatchNorm non-trivial running statistics (num_batches_tracked = 2).
for _ in range(2):
    net.image(torch.randn(4, 2, 4, 4) * 2 + 0.5)
net.eval()

image_input = torch.randn(2, 2, 4, 4)
text_input = torch.tensor([[1, 2], [3, 4], [5, 0], [9, 0], [7, 0]])  # [T = 5, N = 2], 0 pads
key_input = torch.randn(3, 2, 3)    # [S, N, kdim]
value_input = torch.randn(3, 2, 5)  # [S, N, vdim]
with torch.no_grad():
    image_output = net.image(image_input)
    text_output = net.text(text_input)
    depthwise_output = net.depthwise_image(image_input)
# With gradients enabled PyTorch takes the documented (not the fused "fast path") computation.
attention_output, attention_weights = (t.detach() for t in net.encode(text_input, key_input, value_input))

here = os.path.dirname(os.path.abspath(__file__))
numpy.savez(os.path.join(here, "torch_state_dict.npz"), **{k: v.numpy() for k, v in net.state_dict().items()})
numpy.savez(os.path.join(here, "torch_reference_io.npz"), image_input=image_input.numpy(),
            image_output=image_output.numpy(), text_input=text_input.numpy(), text_output=text_output.numpy(),
            depthwise_output=depthwise_output.numpy(), key_input=key_input.numpy(), value_input=value_input.numpy(),
            attention_output=attention_output.numpy(), attention_weights=attention_weights.numpy())
