#pragma once
/// One LSTM step's gate math as a single autograd node (PyTorch's _thnn_fused_lstm_cell):
///
///     a = input_gates + hidden_gates             [N, 4H], gate order i, f, g, o
///     i, f, o = sigmoid(a_i, a_f, a_o), g = tanh(a_g)
///     cy = f cx + i g,   hy = o tanh(cy)
///
/// Written as a dozen element-wise ops this is a dozen nodes, each allocating its output and its
/// gradient; fused, forward is three passes and backward one. Backward is hand-derived:
///
///     dcy' = dcy + dhy o (1 - tanh(cy)^2)
///     da_i = dcy' g i (1 - i)     da_f = dcy' cx f (1 - f)
///     da_g = dcy' i (1 - g^2)     da_o = dhy tanh(cy) o (1 - o)
///     dcx  = dcy' f               d input_gates = d hidden_gates = da
///
/// Under create_graph the same formulas are evaluated with differentiable ops from the saved
/// inputs, so second derivatives (gradgradcheck) go through the cell as through the unfused step.

#include <utility>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn::functional {

/// (hy, cy) for gate pre-activations input_gates, hidden_gates [N, 4H] and cell state cx [N, H].
std::pair<Tensor, Tensor> fused_lstm_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& cx);

}  // namespace xgrad::nn::functional
