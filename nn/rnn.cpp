#include "nn/rnn.hpp"

#include <cmath>
#include <string>

#include "autograd/ops.hpp"
#include "nn/dropout.hpp"
#include "nn/functional.hpp"
#include "nn/fused_lstm_cell.hpp"
#include "nn/init.hpp"

namespace xgrad::nn {

LSTM::LSTM(LSTMOptions o) : options(o) {
    XGRAD_CHECK(o.input_size > 0 && o.hidden_size > 0 && o.num_layers > 0,
                "LSTM: input_size, hidden_size and num_layers must be positive, got ", o.input_size, ", ",
                o.hidden_size, " and ", o.num_layers);
    XGRAD_CHECK(o.dropout >= 0 && o.dropout <= 1, "LSTM: dropout has to be between 0 and 1, but got ", o.dropout);
    const int64_t directions = o.bidirectional ? 2 : 1, gates = 4 * o.hidden_size;
    for (int64_t layer = 0; layer < o.num_layers; ++layer) {
        const int64_t in = layer == 0 ? o.input_size : directions * o.hidden_size;
        for (int64_t d = 0; d < directions; ++d) {
            const std::string suffix = "_l" + std::to_string(layer) + (d == 1 ? "_reverse" : "");
            Weights w;
            w.w_ih = register_parameter("weight_ih" + suffix, empty({gates, in}, o.dtype));
            w.w_hh = register_parameter("weight_hh" + suffix, empty({gates, o.hidden_size}, o.dtype));
            if (o.bias) {
                w.b_ih = register_parameter("bias_ih" + suffix, empty({gates}, o.dtype));
                w.b_hh = register_parameter("bias_hh" + suffix, empty({gates}, o.dtype));
            }
            weights_.push_back(w);
        }
    }
    reset_parameters();
}

void LSTM::reset_parameters(Generator* generator) {
    const double bound = 1.0 / std::sqrt(static_cast<double>(options.hidden_size));
    for (const Tensor& p : parameters()) init::uniform_(p, -bound, bound, generator);
}

std::tuple<Tensor, Tensor, Tensor> LSTM::run_direction(const Weights& w, const Tensor& x, Tensor h, Tensor c,
                                                       const Tensor& step_masks, int64_t shortest_length,
                                                       bool reverse) const {
    const int64_t steps = x.size(0);
    // The input's share of every gate for all steps at once: one [T N, in] x [in, 4H] product.
    Tensor input_part = linear(x, w.w_ih, w.b_ih);
    if (w.b_hh.defined()) input_part = input_part + w.b_hh;
    std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
    for (int64_t i = 0; i < steps; ++i) {
        const int64_t t = reverse ? steps - 1 - i : i;
        // The gate math of the step is one node (nn/fused_lstm_cell.hpp), gate order i, f, g, o.
        auto [h_next, c_next] = F::fused_lstm_cell(input_part[t], linear(h, w.w_hh), c);
        if (step_masks.defined() && t >= shortest_length) {
            // Past a sequence's end: keep its state, output zero.
            const Tensor m = step_masks[t];  // [N, 1], 1 while t < length
            c_next = c + m * (c_next - c);
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

LSTMOutput LSTM::forward_with_state(const Tensor& x_in, const LSTMState& state, const Tensor& lengths) {
    XGRAD_CHECK(x_in.dim() == 3, "LSTM: expected input ", options.batch_first ? "[N, T, input_size]" : "[T, N, input_size]",
                ", got shape ", x_in.sizes());
    XGRAD_CHECK(x_in.size(2) == options.input_size, "LSTM: the input ", x_in.sizes(), " has ", x_in.size(2),
                " features but input_size is ", options.input_size);
    Tensor x = options.batch_first ? x_in.transpose(0, 1) : x_in;  // [T, N, in]
    const int64_t steps = x.size(0), batch = x.size(1), directions = options.bidirectional ? 2 : 1;
    const Shape state_sizes = {options.num_layers * directions, batch, options.hidden_size};
    Tensor h0 = state.h, c0 = state.c;
    if (!h0.defined()) h0 = zeros(state_sizes, x.dtype());
    if (!c0.defined()) c0 = zeros(state_sizes, x.dtype());
    XGRAD_CHECK(h0.sizes() == state_sizes && c0.sizes() == state_sizes, "LSTM: expected h and c of shape ", state_sizes,
                ", got ", h0.sizes(), " and ", c0.sizes());
    Tensor step_masks;  // [T, N, 1]
    int64_t shortest_length = steps;
    if (lengths.defined()) {
        XGRAD_CHECK(lengths.dim() == 1 && lengths.size(0) == batch && lengths.dtype() == kInt64,
                    "LSTM: expected lengths as [", batch, "] int64, got shape ", lengths.sizes(), " ", lengths.dtype());
        XGRAD_CHECK(batch == 0 || (lengths.min().item() >= 1 && lengths.max().item() <= steps),
                    "LSTM: lengths must be between 1 and the sequence length ", steps);
        step_masks = (arange(steps).unsqueeze(1) < lengths.unsqueeze(0)).to(x.dtype()).unsqueeze(2);
        if (batch > 0) shortest_length = static_cast<int64_t>(lengths.min().item());
    }
    std::vector<Tensor> final_h, final_c;
    for (int64_t layer = 0; layer < options.num_layers; ++layer) {
        std::vector<Tensor> direction_outputs;
        for (int64_t d = 0; d < directions; ++d) {
            const int64_t k = layer * directions + d;
            auto [out, h, c] = run_direction(weights_[static_cast<std::size_t>(k)], x, h0[k], c0[k], step_masks,
                                          shortest_length, d == 1);
            direction_outputs.push_back(out);
            final_h.push_back(h);
            final_c.push_back(c);
        }
        x = directions == 1 ? direction_outputs[0] : cat(direction_outputs, 2);
        // Zaremba et al.: dropout on the connection up to the next layer, never across time.
        if (layer + 1 < options.num_layers && options.dropout > 0)
            x = F::dropout(x, options.dropout, is_training(), options.generator);
    }
    LSTMOutput result{options.batch_first ? x.transpose(0, 1) : x, {stack(final_h, 0), stack(final_c, 0)}};
    return result;
}

std::string LSTM::extra_repr() const {
    return std::to_string(options.input_size) + ", " + std::to_string(options.hidden_size) +
           ", num_layers=" + std::to_string(options.num_layers) + (options.batch_first ? ", batch_first=true" : "") +
           (options.dropout > 0 ? ", dropout=" + std::to_string(options.dropout) : "") +
           (options.bidirectional ? ", bidirectional=true" : "");
}

}  // namespace xgrad::nn
