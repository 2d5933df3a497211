#pragma once
/// LSTM (Hochreiter & Schmidhuber 1997, with forget gates as in PyTorch), stacked and optionally
/// bidirectional, for sequences of word vectors. Backpropagation through time is the chain rule
/// through the unrolled steps; each step's gate math is one fused node (nn/fused_lstm_cell.hpp)
/// with a hand-derived backward that is itself differentiable.
///
///     nn::LSTM lstm({.input_size = 100, .hidden_size = 64, .num_layers = 2, .dropout = 0.5,
///                    .batch_first = true});
///     nn::LSTMOutput out = lstm.forward_with_state(embedded, {}, lengths);  // [N, T, 64]
///
/// Dropout (Zaremba et al. 2014) is applied to the non-recurrent connections only: to the output
/// of every layer but the last, on its way up to the next layer, never to the h -> h connection
/// across time steps. For dropout on the input and on the final output, put nn::Dropout before
/// and after, as Zaremba et al. do.

#include <optional>
#include <tuple>
#include <vector>

#include "nn/module.hpp"

namespace xgrad::nn {

struct LSTMOptions {
    int64_t input_size = 0;
    int64_t hidden_size = 0;
    int64_t num_layers = 1;
    bool bias = true;
    bool batch_first = false;   ///< input and output [N, T, features] instead of [T, N, features]
    double dropout = 0.0;       ///< between layers, in training mode only
    bool bidirectional = false; ///< a second LSTM reads each sequence backwards; outputs are concatenated
    DType dtype = kFloat32;
    Generator* generator = nullptr;  ///< for the dropout masks
};

/// h and c: [num_layers * directions, N, hidden_size] (layer-major, forward before backward).
struct LSTMState {
    Tensor h, c;
};

struct LSTMOutput {
    Tensor output;      ///< [T, N, directions * hidden_size] (or [N, T, ...] with batch_first): the last layer's h
    LSTMState state;    ///< the state after each sequence's last real step
};

/// Parameters per layer k (and direction, "_reverse"), named as PyTorch names them, gate order
/// input, forget, cell, output: weight_ih_lk [4H, in], weight_hh_lk [4H, H], bias_ih_lk, bias_hh_lk.
/// Initialized uniform in +-1/sqrt(hidden_size).
class LSTM : public Module {
public:
    using Options = LSTMOptions;
    explicit LSTM(LSTMOptions options);
    /// x: [T, N, input_size] ([N, T, input_size] with batch_first). state: zeros when undefined.
    /// lengths ([N] int64, optional): the real length of each padded sequence. Past it the state
    /// is carried unchanged and the output is zero, so the state is the one after the last real
    /// token and the backward direction starts at that token.
    LSTMOutput forward_with_state(const Tensor& x, const LSTMState& state = {}, const Tensor& lengths = Tensor());
    /// The output sequence only (so an LSTM can sit in a Sequential).
    Tensor forward(const Tensor& x) override { return forward_with_state(x).output; }
    std::string type_name() const override { return "LSTM"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const LSTMOptions options;

private:
    struct Weights {
        Tensor w_ih, w_hh, b_ih, b_hh;
    };
    // One direction of one layer over the whole sequence [T, N, in]: outputs [T, N, H], final h, c.
    // step_masks [T, N, 1] (or undefined): 1 while t < a sequence's length; steps before
    // shortest_length need no masking, since every sequence is still running there.
    std::tuple<Tensor, Tensor, Tensor> run_direction(const Weights& w, const Tensor& x, Tensor h, Tensor c,
                                                     const Tensor& step_masks, int64_t shortest_length,
                                                     bool reverse) const;
    std::vector<Weights> weights_;  // layer-major, forward before backward
};

}  // namespace xgrad::nn
