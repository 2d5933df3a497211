#pragma once
/// Recurrent layers, stacked and optionally bidirectional, for sequences of word vectors, with
/// PyTorch's names, options, gate orders and parameter names:
///  - LSTM (Hochreiter & Schmidhuber 1997, with forget gates): gates i, f, g, o; state (h, c).
///  - GRU (Cho et al. 2014): gates r, z, n; h' = (1 - z) n + z h with n = tanh(W_in x + b_in +
///    r (W_hn h + b_hn)).
///  - RNN (Elman): h' = tanh (or relu) (W_ih x + b_ih + W_hh h + b_hh).
/// Backpropagation through time is the chain rule through the unrolled steps; the gate math of an
/// LSTM or GRU step is one fused node (nn/fused_lstm_cell.hpp, nn/fused_gru_cell.hpp) with a
/// hand-derived backward that is itself differentiable.
///
///     nn::LSTM lstm({.input_size = 100, .hidden_size = 64, .num_layers = 2, .dropout = 0.5,
///                    .batch_first = true});
///     nn::LSTMOutput out = lstm.forward_with_state(embedded, {}, lengths);  // [N, T, 64]
///     nn::GRU gru({.input_size = 100, .hidden_size = 64, .bidirectional = true});
///     nn::RNNOutput run = gru.forward_with_state(x, h0, lengths);           // output, h_n
///
/// lengths ([N] int64, optional): the real length of each padded sequence. Past it the state is
/// carried unchanged and the output is zero, so the state is the one after the last real token
/// and the backward direction starts at that token.
///
/// Dropout (Zaremba et al. 2014) is applied to the non-recurrent connections only: to the output
/// of every layer but the last, on its way up to the next layer, never to the h -> h connection
/// across time steps. For dropout on the input and on the final output, put nn::Dropout before
/// and after, as Zaremba et al. do.
///
/// For loops of one's own, LSTMCell, GRUCell and RNNCell compute one step for a batch [N, in].

#include <string>
#include <tuple>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct RecurrentOptions {
    int64_t input_size = 0;
    int64_t hidden_size = 0;
    int64_t num_layers = 1;
    bool bias = true;
    bool batch_first = false;    ///< input and output [N, T, features] instead of [T, N, features]
    double dropout = 0.0;        ///< between layers, in training mode only
    bool bidirectional = false;  ///< a second pass reads each sequence backwards; outputs are concatenated
    DType dtype = kFloat32;
    Generator* generator = nullptr;  ///< for the dropout masks
    /// LSTM only (Sak et al. 2014, PyTorch's proj_size): when > 0, each step's h is projected by
    /// weight_hr_lk [proj_size, hidden_size] to proj_size features, which feed the next step, the
    /// next layer and the output; c keeps hidden_size. Must be below hidden_size.
    int64_t proj_size = 0;
};
using LSTMOptions = RecurrentOptions;
using GRUOptions = RecurrentOptions;

enum class Nonlinearity { tanh, relu };

struct RNNOptions {
    int64_t input_size = 0;
    int64_t hidden_size = 0;
    int64_t num_layers = 1;
    Nonlinearity nonlinearity = Nonlinearity::tanh;
    bool bias = true;
    bool batch_first = false;
    double dropout = 0.0;
    bool bidirectional = false;
    DType dtype = kFloat32;
    Generator* generator = nullptr;
};

/// h and c: [num_layers * directions, N, hidden_size] (layer-major, forward before backward); with
/// proj_size, h has proj_size features.
struct LSTMState {
    Tensor h, c;
};

struct LSTMOutput {
    /// [T, N, directions * hidden_size] (or [N, T, ...] with batch_first; proj_size features in
    /// place of hidden_size with a projection): the last layer's h
    Tensor output;
    LSTMState state;  ///< the state after each sequence's last real step
};

/// GRU and RNN: the output sequence and h_n [num_layers * directions, N, hidden_size].
struct RNNOutput {
    Tensor output;
    Tensor h;
};

namespace detail {

/// What LSTM, GRU and RNN share: parameters per layer k (and direction, "_reverse") named as
/// PyTorch names them, weight_ih_lk [G H, in], weight_hh_lk [G H, H], bias_ih_lk, bias_hh_lk for
/// G gates, initialized uniform in +-1/sqrt(hidden_size); layers, directions, lengths and dropout
/// between layers. A subclass supplies one step of its cell.
class RecurrentStack : public Module {
public:
    void reset_parameters(Generator* generator = nullptr);
    std::string extra_repr() const override;

protected:
    struct Weights {
        Tensor w_ih, w_hh, b_ih, b_hh;
        Tensor w_hr;  ///< the LSTM's projection of h, with proj_size
    };
    RecurrentStack(const RecurrentOptions& options, int64_t gates, const char* name);
    /// One step for input_gates = W_ih x_t + b_ih (+ b_hh unless hidden_bias_apart()): the new h
    /// (and c, for an LSTM) from the previous ones, in place.
    virtual void step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor& c) const = 0;
    /// GRU: b_hh cannot join the input's part (its n part is multiplied by r).
    virtual bool hidden_bias_apart() const { return false; }
    /// The stack over x ([T, N, in] or batch-first, or one unbatched sequence [T, in] with states
    /// [layers * directions, H]); h0 and c0 zeros when both are undefined, c unused without a cell
    /// state. Returns the output sequence, h_n and c_n.
    std::tuple<Tensor, Tensor, Tensor> run(const Tensor& x, Tensor h0, Tensor c0, const Tensor& lengths,
                                           bool has_cell_state);

    /// Features of h: proj_size when set, else hidden_size.
    int64_t state_size() const {
        return stack_options_.proj_size > 0 ? stack_options_.proj_size : stack_options_.hidden_size;
    }

private:
    std::tuple<Tensor, Tensor, Tensor> run_direction(const Weights& w, const Tensor& x, Tensor h, Tensor c,
                                                     const Tensor& step_masks, int64_t shortest_length, bool reverse,
                                                     bool has_cell_state) const;
    RecurrentOptions stack_options_;
    const char* name_;
    std::vector<Weights> weights_;  // layer-major, forward before backward
};

}  // namespace detail

class LSTM : public detail::RecurrentStack {
public:
    using Options = LSTMOptions;
    explicit LSTM(LSTMOptions options);
    /// LibTorch's positional form: LSTM(300, 128).
    LSTM(int64_t input_size, int64_t hidden_size)
        : LSTM(LSTMOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    /// x: [T, N, input_size] ([N, T, input_size] with batch_first). state: zeros when undefined.
    LSTMOutput forward_with_state(const Tensor& x, const LSTMState& state = {}, const Tensor& lengths = Tensor());
    /// The output sequence only (so an LSTM can sit in a Sequential).
    Tensor forward(const Tensor& x) override { return forward_with_state(x).output; }
    std::string type_name() const override { return "LSTM"; }

    const LSTMOptions options;

private:
    void step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor& c) const override;
};

class GRU : public detail::RecurrentStack {
public:
    using Options = GRUOptions;
    explicit GRU(GRUOptions options);
    GRU(int64_t input_size, int64_t hidden_size)
        : GRU(GRUOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    /// x: [T, N, input_size] ([N, T, input_size] with batch_first); h0 zeros when undefined.
    RNNOutput forward_with_state(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& lengths = Tensor());
    Tensor forward(const Tensor& x) override { return forward_with_state(x).output; }
    std::string type_name() const override { return "GRU"; }

    const GRUOptions options;

private:
    void step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor& c) const override;
    bool hidden_bias_apart() const override { return true; }
};

class RNN : public detail::RecurrentStack {
public:
    using Options = RNNOptions;
    explicit RNN(RNNOptions options);
    RNN(int64_t input_size, int64_t hidden_size)
        : RNN(RNNOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    RNNOutput forward_with_state(const Tensor& x, const Tensor& h0 = Tensor(), const Tensor& lengths = Tensor());
    Tensor forward(const Tensor& x) override { return forward_with_state(x).output; }
    std::string type_name() const override { return "RNN"; }
    std::string extra_repr() const override;

    const RNNOptions options;

private:
    void step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor& c) const override;
};

// ---- single steps ------------------------------------------------------------------------------
struct RNNCellOptions {
    int64_t input_size = 0;
    int64_t hidden_size = 0;
    bool bias = true;
    Nonlinearity nonlinearity = Nonlinearity::tanh;  ///< RNNCell only
    DType dtype = kFloat32;
};
using LSTMCellOptions = RNNCellOptions;
using GRUCellOptions = RNNCellOptions;

namespace detail {
/// weight_ih [G H, in], weight_hh [G H, H], bias_ih, bias_hh, uniform in +-1/sqrt(hidden_size).
class CellBase : public Module {
public:
    void reset_parameters(Generator* generator = nullptr);
    std::string extra_repr() const override;

    const RNNCellOptions options;
    Tensor weight_ih, weight_hh, bias_ih, bias_hh;

protected:
    CellBase(const RNNCellOptions& options, int64_t gates, const char* name);
    /// Checks input [N, input_size] and a state [N, hidden_size] (zeros when undefined).
    Tensor checked_state(const Tensor& input, const Tensor& state, const char* what) const;
    const char* name_;
};
}  // namespace detail

class LSTMCell : public detail::CellBase {
public:
    explicit LSTMCell(LSTMCellOptions options) : CellBase(options, 4, "LSTMCell") {}
    LSTMCell(int64_t input_size, int64_t hidden_size)
        : LSTMCell(LSTMCellOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    /// (h', c') from input [N, input_size] and (h, c) [N, hidden_size] each (zeros when undefined).
    LSTMState forward_with_state(const Tensor& input, const LSTMState& state = {});
    Tensor forward(const Tensor& input) override { return forward_with_state(input).h; }
    std::string type_name() const override { return "LSTMCell"; }
};

class GRUCell : public detail::CellBase {
public:
    explicit GRUCell(GRUCellOptions options) : CellBase(options, 3, "GRUCell") {}
    GRUCell(int64_t input_size, int64_t hidden_size)
        : GRUCell(GRUCellOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    /// h' from input [N, input_size] and h [N, hidden_size] (zeros when undefined).
    Tensor forward_with_state(const Tensor& input, const Tensor& h = Tensor());
    Tensor forward(const Tensor& input) override { return forward_with_state(input); }
    std::string type_name() const override { return "GRUCell"; }
};

class RNNCell : public detail::CellBase {
public:
    explicit RNNCell(RNNCellOptions options) : CellBase(options, 1, "RNNCell") {}
    RNNCell(int64_t input_size, int64_t hidden_size)
        : RNNCell(RNNCellOptions{.input_size = input_size, .hidden_size = hidden_size}) {}
    Tensor forward_with_state(const Tensor& input, const Tensor& h = Tensor());
    Tensor forward(const Tensor& input) override { return forward_with_state(input); }
    std::string type_name() const override { return "RNNCell"; }
};

}  // namespace xgrad::nn
