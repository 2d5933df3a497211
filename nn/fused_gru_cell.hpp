#pragma once
/// One GRU step's gate math as a single autograd node (PyTorch's _thnn_fused_gru_cell), gate
/// order r, z, n as in PyTorch, with input_gates = W_ih x + b_ih and hidden_gates = W_hh h + b_hh
/// (b_hh stays apart: its n part sits inside r's product):
///
///     r = sigmoid(ig_r + hg_r),  z = sigmoid(ig_z + hg_z),  n = tanh(ig_n + r hg_n)
///     hy = (1 - z) n + z hx
///
/// Backward is hand-derived:
///
///     dn = dhy (1 - z),  da_n = dn (1 - n^2),  dr = da_n hg_n
///     da_r = dr r (1 - r),  da_z = dhy (hx - n) z (1 - z),  dhx = dhy z
///     d input_gates = [da_r, da_z, da_n],  d hidden_gates = [da_r, da_z, da_n r]
///
/// Under create_graph the same formulas run as differentiable ops from the saved inputs, so
/// second derivatives go through the cell.

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn::functional {

/// hy for gate pre-activations input_gates, hidden_gates [N, 3H] and hidden state hx [N, H].
Tensor fused_gru_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& hx);

}  // namespace xgrad::nn::functional
