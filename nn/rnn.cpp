#include <xgrad/nn/rnn.hpp>

#include <cmath>
#include <initializer_list>
#include <string>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/dropout.hpp>
#include <xgrad/nn/functional.hpp>
#include <xgrad/nn/fused_gru_cell.hpp>
#include <xgrad/nn/fused_lstm_cell.hpp>
#include <xgrad/nn/init.hpp>

namespace xgrad::nn {
namespace {

RecurrentOptions stack_options_of(const RNNOptions& o) {
    return {.input_size = o.input_size,
            .hidden_size = o.hidden_size,
            .num_layers = o.num_layers,
            .bias = o.bias,
            .batch_first = o.batch_first,
            .dropout = o.dropout,
            .bidirectional = o.bidirectional,
            .dtype = o.dtype,
            .generator = o.generator};
}

// The input and the given states must have the weights' dtype; errors name the layer.
void check_dtypes(const char* name, const Tensor& input, std::initializer_list<const Tensor*> states, DType weights) {
    XGRAD_CHECK(input.dtype() == weights, name, ": the input is ", input.dtype(), " but the weights are ", weights,
                "; convert the input (x.to(", weights, ")) or the module (to(", input.dtype(), "))");
    for (const Tensor* state : states)
        XGRAD_CHECK(!state->defined() || state->dtype() == weights, name, ": the initial state is ", state->dtype(),
                    " but the weights are ", weights);
}

// An LSTM's state is a pair: one half alone is a caller's mistake, not a request for zeros.
void check_whole_state(const char* name, const Tensor& h, const Tensor& c, const char* h_name, const char* c_name) {
    XGRAD_CHECK(h.defined() == c.defined(), name, ": got ", h.defined() ? h_name : c_name, " without ",
                h.defined() ? c_name : h_name, "; pass both or neither");
}

Tensor activate(Nonlinearity nonlinearity, const Tensor& x) {
    return nonlinearity == Nonlinearity::tanh ? tanh(x) : relu(x);
}

// PyTorch's initialization of every recurrent weight and bias: uniform in +-1/sqrt(hidden_size).
void init_recurrent_parameters(const std::vector<Tensor>& parameters, int64_t hidden_size, Generator* generator) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(hidden_size));
    for (const Tensor& p : parameters) init::uniform_(p, -bound, bound, generator);
}

}  // namespace

namespace detail {

RecurrentStack::RecurrentStack(const RecurrentOptions& o, int64_t gates, const char* name)
    : stack_options_(o), name_(name) {
    XGRAD_CHECK(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0, name,
                ": input_size, hidden_size and num_layers must be positive, got ", o.input_size, ", ", o.hidden_size,
                " and ", o.num_layers);
    XGRAD_CHECK(o.dropout >= 0 && o.dropout <= 1, name, ": dropout has to be between 0 and 1, but got ", o.dropout);
    XGRAD_CHECK(o.proj_size == 0 || gates == 4, name, ": proj_size is only supported for LSTM, got proj_size ",
                o.proj_size);
    XGRAD_CHECK(o.proj_size >= 0 && o.proj_size < o.hidden_size, name,
                ": proj_size must be 0 (no projection) or positive and below hidden_size ", o.hidden_size, ", got ",
                o.proj_size);
    const int64_t directions = o.bidirectional ? 2 : 1, rows = gates * o.hidden_size, h_size = state_size();
    for (int64_t layer = 0; layer < o.num_layers; ++layer) {
        const int64_t in = layer == 0 ? o.input_size : directions * h_size;
        for (int64_t d = 0; d < directions; ++d) {
            const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
            Weights w;
            w.w_ih = register_parameter("weight_ih" + suffix, empty({rows, in}, o.dtype));
            w.w_hh = register_parameter("weight_hh" + suffix, empty({rows, h_size}, o.dtype));
            if (o.bias) {
                w.b_ih = register_parameter("bias_ih" + suffix, empty({rows}, o.dtype));
                w.b_hh = register_parameter("bias_hh" + suffix, empty({rows}, o.dtype));
            }
            if (o.proj_size > 0)
                w.w_hr = register_parameter("weight_hr" + suffix, empty({o.proj_size, o.hidden_size}, o.dtype));
            weights_.push_back(w);
        }
    }
    reset_parameters();
}

void RecurrentStack::reset_parameters(Generator* generator) {
    init_recurrent_parameters(parameters(), stack_options_.hidden_size, generator);
}

std::tuple<Tensor, Tensor, Tensor> RecurrentStack::run_direction(const Weights& w, const Tensor& x, Tensor h, Tensor c,
                                                                 const Tensor& step_masks, int64_t shortest_length,
                                                                 bool reverse, bool has_cell_state) const {
    const int64_t steps = x.size(0);
    // The input's share of every gate for all steps at once: one [T N, in] x [in, G H] product.
    Tensor input_part = linear(x, w.w_ih, w.b_ih);
    if (w.b_hh.defined() && !hidden_bias_apart()) input_part = input_part + w.b_hh;
    std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
    for (int64_t i = 0; i < steps; ++i) {
        const int64_t t = reverse ? steps - 1 - i : i;
        Tensor h_next = h, c_next = c;
        step(w, input_part[t], h_next, c_next);
        if (step_masks.defined() && t >= shortest_length) {
            // Past a sequence's end: keep its state, output zero.
            const Tensor m = step_masks[t];  // [N, 1], 1 while t < length
            if (has_cell_state) c_next = c + m * (c_next - c);
            h_next = h + m * (h_next - h);
            outputs[static_cast<std::size_t>(t)] = m * h_next;
        } else {
            outputs[static_cast<std::size_t>(t)] = h_next;
        }
        h = h_next;
        c = c_next;
    }
    return {stack(outputs, 0), h, c};
}

std::tuple<Tensor, Tensor, Tensor> RecurrentStack::run(const Tensor& x_in, Tensor h0, Tensor c0, const Tensor& lengths,
                                                       bool has_cell_state) {
    const RecurrentOptions& o = stack_options_;
    XGRAD_CHECK(x_in.dim() == 3 || x_in.dim() == 2, name_, ": expected input ",
                o.batch_first ? "[N, T, input_size]" : "[T, N, input_size]",
                " or unbatched [T, input_size], got shape ", x_in.sizes());
    if (x_in.dim() == 2) {
        // One unbatched sequence, as PyTorch takes it: a batch of one, the batch dim dropped again
        // from the output and the states ([layers * directions, H]).
        XGRAD_CHECK(!lengths.defined(), name_, ": lengths need a batch; an unbatched input [T, input_size] ",
                    x_in.sizes(), " is one whole sequence");
        const auto batch_state = [&](const Tensor& state, const char* which) {
            if (!state.defined()) return state;
            XGRAD_CHECK(state.dim() == 2, name_, ": for an unbatched input ", x_in.sizes(), ", ", which,
                        " must be [layers * directions, hidden_size], got shape ", state.sizes());
            return state.unsqueeze(1);
        };
        auto [out, h, c] = run(x_in.unsqueeze(o.batch_first ? 0 : 1), batch_state(h0, "h0"), batch_state(c0, "c0"),
                               Tensor(), has_cell_state);
        return {out.squeeze(o.batch_first ? 0 : 1), h.squeeze(1), c.defined() ? c.squeeze(1) : c};
    }
    XGRAD_CHECK(x_in.size(2) == o.input_size, name_, ": the input ", x_in.sizes(), " has ", x_in.size(2),
                " features but input_size is ", o.input_size);
    check_dtypes(name_, x_in, {&h0, &c0}, weights_.front().w_ih.dtype());
    if (has_cell_state) check_whole_state(name_, h0, c0, "h0", "c0");
    Tensor x = o.batch_first ? x_in.transpose(0, 1) : x_in;  // [T, N, in]
    const int64_t steps = x.size(0), batch = x.size(1), directions = o.bidirectional ? 2 : 1;
    XGRAD_CHECK(steps > 0, name_, ": expected a sequence of at least one step, got input shape ", x_in.sizes());
    const Shape h_sizes = {o.num_layers * directions, batch, state_size()},
                c_sizes = {o.num_layers * directions, batch, o.hidden_size};
    if (!h0.defined()) h0 = zeros(h_sizes, x.dtype());
    if (has_cell_state && !c0.defined()) c0 = zeros(c_sizes, x.dtype());
    if (!has_cell_state)
        XGRAD_CHECK(h0.sizes() == h_sizes, name_, ": expected h of shape ", h_sizes, ", got ", h0.sizes());
    else
        XGRAD_CHECK(h0.sizes() == h_sizes && c0.sizes() == c_sizes, name_, ": expected h of shape ", h_sizes,
                    " and c of shape ", c_sizes, ", got ", h0.sizes(), " and ", c0.sizes());
    Tensor step_masks;  // [T, N, 1]
    int64_t shortest_length = steps;
    if (lengths.defined()) {
        XGRAD_CHECK(lengths.dim() == 1 && lengths.size(0) == batch && lengths.dtype() == kInt64, name_,
                    ": expected lengths as [", batch, "] int64, got shape ", lengths.sizes(), " ", lengths.dtype());
        XGRAD_CHECK(batch == 0 || (lengths.min().item() >= 1 && lengths.max().item() <= steps), name_,
                    ": lengths must be between 1 and the sequence length ", steps, ", got lengths from ",
                    lengths.min().item<int64_t>(), " to ", lengths.max().item<int64_t>());
        step_masks = (arange(steps).unsqueeze(1) < lengths.unsqueeze(0)).to(x.dtype()).unsqueeze(2);
        // Steps before the shortest sequence's end need no masks: every sequence is running there.
        if (batch > 0) shortest_length = static_cast<int64_t>(lengths.min().item());
    }
    std::vector<Tensor> final_h, final_c;
    for (int64_t layer = 0; layer < o.num_layers; ++layer) {
        std::vector<Tensor> direction_outputs;
        for (int64_t d = 0; d < directions; ++d) {
            const int64_t k = layer * directions + d;
            auto [out, h, c] =
                run_direction(weights_[static_cast<std::size_t>(k)], x, h0[k], has_cell_state ? c0[k] : Tensor(),
                              step_masks, shortest_length, d == 1, has_cell_state);
            direction_outputs.push_back(out);
            final_h.push_back(h);
            if (has_cell_state) final_c.push_back(c);
        }
        x = directions == 1 ? direction_outputs[0] : cat(direction_outputs, 2);
        // Zaremba et al.: dropout on the connection up to the next layer, never across time.
        if (layer + 1 < o.num_layers && o.dropout > 0) x = F::dropout(x, o.dropout, is_training(), o.generator);
    }
    return {o.batch_first ? x.transpose(0, 1) : x, stack(final_h, 0), has_cell_state ? stack(final_c, 0) : Tensor()};
}

std::string RecurrentStack::extra_repr() const {
    const RecurrentOptions& o = stack_options_;
    return std::to_string(o.input_size) + ", " + std::to_string(o.hidden_size) +
           ", num_layers=" + std::to_string(o.num_layers) + (o.bias ? "" : ", bias=false") +
           (o.batch_first ? ", batch_first=true" : "") +
           (o.dropout > 0 ? ", dropout=" + std::to_string(o.dropout) : "") +
           (o.bidirectional ? ", bidirectional=true" : "") +
           (o.proj_size > 0 ? ", proj_size=" + std::to_string(o.proj_size) : "");
}

}  // namespace detail

// ---- LSTM, GRU, RNN ------------------------------------------------------------------------------
LSTM::LSTM(LSTMOptions o) : RecurrentStack(o, 4, "LSTM"), options(o) {}

void LSTM::step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor& c) const {
    // The gate math of the step is one node (nn/fused_lstm_cell.hpp), gate order i, f, g, o.
    std::tie(h, c) = F::fused_lstm_cell(input_gates, linear(h, w.w_hh), c);
    if (w.w_hr.defined()) h = linear(h, w.w_hr);  // h_t = W_hr (o * tanh(c_t))
}

LSTMOutput LSTM::forward_with_state(const Tensor& x, const LSTMState& state, const Tensor& lengths) {
    auto [output, h, c] = run(x, state.h, state.c, lengths, true);
    return {output, {h, c}};
}

GRU::GRU(GRUOptions o) : RecurrentStack(o, 3, "GRU"), options(o) {}

void GRU::step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor&) const {
    h = F::fused_gru_cell(input_gates, linear(h, w.w_hh, w.b_hh), h);  // gate order r, z, n
}

RNNOutput GRU::forward_with_state(const Tensor& x, const Tensor& h0, const Tensor& lengths) {
    auto [output, h, c] = run(x, h0, Tensor(), lengths, false);
    return {output, h};
}

RNN::RNN(RNNOptions o) : RecurrentStack(stack_options_of(o), 1, "RNN"), options(o) {}

void RNN::step(const Weights& w, const Tensor& input_gates, Tensor& h, Tensor&) const {
    h = activate(options.nonlinearity, input_gates + linear(h, w.w_hh));
}

RNNOutput RNN::forward_with_state(const Tensor& x, const Tensor& h0, const Tensor& lengths) {
    auto [output, h, c] = run(x, h0, Tensor(), lengths, false);
    return {output, h};
}

std::string RNN::extra_repr() const {
    return RecurrentStack::extra_repr() + (options.nonlinearity == Nonlinearity::relu ? ", nonlinearity=relu" : "");
}

// ---- cells ---------------------------------------------------------------------------------------
namespace detail {

CellBase::CellBase(const RNNCellOptions& o, int64_t gates, const char* name) : options(o), name_(name) {
    XGRAD_CHECK(o.input_size > 0 && o.hidden_size > 0, name, ": input_size and hidden_size must be positive, got ",
                o.input_size, " and ", o.hidden_size);
    weight_ih = register_parameter("weight_ih", empty({gates * o.hidden_size, o.input_size}, o.dtype));
    weight_hh = register_parameter("weight_hh", empty({gates * o.hidden_size, o.hidden_size}, o.dtype));
    if (o.bias) {
        bias_ih = register_parameter("bias_ih", empty({gates * o.hidden_size}, o.dtype));
        bias_hh = register_parameter("bias_hh", empty({gates * o.hidden_size}, o.dtype));
    }
    reset_parameters();
}

void CellBase::reset_parameters(Generator* generator) {
    init_recurrent_parameters(parameters(), options.hidden_size, generator);
}

Tensor CellBase::checked_state(const Tensor& input, const Tensor& state, const char* what) const {
    XGRAD_CHECK(input.dim() == 2 && input.size(1) == options.input_size, name_, ": expected input [N, ",
                options.input_size, "] or unbatched [", options.input_size, "], got shape ", input.sizes());
    check_dtypes(name_, input, {&state}, weight_ih.dtype());
    const Shape sizes = {input.size(0), options.hidden_size};
    if (!state.defined()) return zeros(sizes, input.dtype());
    XGRAD_CHECK(state.sizes() == sizes, name_, ": expected ", what, " of shape ", sizes, " for input ", input.sizes(),
                ", got ", state.sizes());
    return state;
}

std::string CellBase::extra_repr() const {
    return std::to_string(options.input_size) + ", " + std::to_string(options.hidden_size) +
           (options.bias ? "" : ", bias=false");
}

}  // namespace detail

namespace {
// A state given with an unbatched (1-D) input: [hidden_size], batched as [1, hidden_size].
Tensor batched_state(const Tensor& state) {
    return state.defined() && state.dim() == 1 ? state.unsqueeze(0) : state;
}
}  // namespace

LSTMState LSTMCell::forward_with_state(const Tensor& input, const LSTMState& state) {
    if (input.dim() == 1) {  // one unbatched sample, as PyTorch takes it
        const LSTMState next = forward_with_state(input.unsqueeze(0), {batched_state(state.h), batched_state(state.c)});
        return {next.h.squeeze(0), next.c.squeeze(0)};
    }
    check_whole_state(name_, state.h, state.c, "h", "c");
    const Tensor h = checked_state(input, state.h, "h"), c = checked_state(input, state.c, "c");
    Tensor input_gates = linear(input, weight_ih, bias_ih);
    if (bias_hh.defined()) input_gates = input_gates + bias_hh;
    auto [h_next, c_next] = F::fused_lstm_cell(input_gates, linear(h, weight_hh), c);
    return {h_next, c_next};
}

Tensor GRUCell::forward_with_state(const Tensor& input, const Tensor& h_in) {
    if (input.dim() == 1) return forward_with_state(input.unsqueeze(0), batched_state(h_in)).squeeze(0);
    const Tensor h = checked_state(input, h_in, "h");
    return F::fused_gru_cell(linear(input, weight_ih, bias_ih), linear(h, weight_hh, bias_hh), h);
}

Tensor RNNCell::forward_with_state(const Tensor& input, const Tensor& h_in) {
    if (input.dim() == 1) return forward_with_state(input.unsqueeze(0), batched_state(h_in)).squeeze(0);
    const Tensor h = checked_state(input, h_in, "h");
    return activate(options.nonlinearity, linear(input, weight_ih, bias_ih) + linear(h, weight_hh, bias_hh));
}

}  // namespace xgrad::nn
