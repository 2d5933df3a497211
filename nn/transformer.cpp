#include <xgrad/nn/transformer.hpp>

#include <cmath>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/functional.hpp>

namespace xgrad::nn {

namespace {
TransformerEncoderLayerOptions checked(const TransformerEncoderLayerOptions& o) {
    XGRAD_CHECK(o.d_model > 0 && o.nhead > 0 && o.dim_feedforward > 0, "TransformerEncoderLayer: d_model, nhead and ",
                "dim_feedforward must be positive, got ", o.d_model, ", ", o.nhead, " and ", o.dim_feedforward);
    XGRAD_CHECK(o.d_model % o.nhead == 0, "TransformerEncoderLayer: d_model ", o.d_model, " is not divisible by nhead ",
                o.nhead);
    return o;
}
}  // namespace

TransformerEncoderLayer::TransformerEncoderLayer(TransformerEncoderLayerOptions o)
    : options(checked(o)),
      self_attn({.embed_dim = o.d_model,
                 .num_heads = o.nhead,
                 .dropout = o.dropout,
                 .batch_first = o.batch_first,
                 .dtype = o.dtype,
                 .generator = o.generator}),
      linear1({.in_features = o.d_model, .out_features = o.dim_feedforward, .dtype = o.dtype}),
      dropout({.p = o.dropout, .generator = o.generator}),
      linear2({.in_features = o.dim_feedforward, .out_features = o.d_model, .dtype = o.dtype}),
      norm1({.normalized_shape = {o.d_model}, .eps = o.layer_norm_eps, .dtype = o.dtype}),
      norm2({.normalized_shape = {o.d_model}, .eps = o.layer_norm_eps, .dtype = o.dtype}),
      dropout1({.p = o.dropout, .generator = o.generator}),
      dropout2({.p = o.dropout, .generator = o.generator}) {
    register_module("self_attn", self_attn);
    register_module("linear1", linear1);
    register_module("dropout", dropout);
    register_module("linear2", linear2);
    register_module("norm1", norm1);
    register_module("norm2", norm2);
    register_module("dropout1", dropout1);
    register_module("dropout2", dropout2);
}

Tensor TransformerEncoderLayer::self_attention_block(const Tensor& x, const TransformerEncoderArgs& args) {
    auto [attended, weights] = self_attn(x, x, x,
                                         {.key_padding_mask = args.src_key_padding_mask,
                                          .need_weights = false,
                                          .attn_mask = args.src_mask,
                                          .is_causal = args.is_causal});
    return dropout1(attended);
}

Tensor TransformerEncoderLayer::feed_forward_block(const Tensor& x) {
    Tensor hidden = linear1(x);
    hidden = options.activation == TransformerActivation::gelu ? F::gelu(hidden) : relu(hidden);
    return dropout2(linear2(dropout(hidden)));
}

Tensor TransformerEncoderLayer::forward(const Tensor& src, const TransformerEncoderArgs& args) {
    XGRAD_CHECK(src.dim() == 3 || src.dim() == 2, "TransformerEncoderLayer: src must be ",
                options.batch_first ? "[N, L, E]" : "[L, N, E]", " or unbatched [L, E], got shape ", src.sizes());
    Tensor x = src;
    if (options.norm_first) {
        x = add(x, self_attention_block(norm1(x), args));
        return add(x, feed_forward_block(norm2(x)));
    }
    x = norm1(add(x, self_attention_block(x, args)));
    return norm2(add(x, feed_forward_block(x)));
}

Tensor TransformerEncoderLayer::operator()(const Tensor& src, const TransformerEncoderArgs& args) {
    return run_forward_hooks(src, forward(src, args));
}

std::string TransformerEncoderLayer::extra_repr() const {
    return "d_model=" + std::to_string(options.d_model) + ", nhead=" + std::to_string(options.nhead) +
           ", dim_feedforward=" + std::to_string(options.dim_feedforward) +
           ", dropout=" + std::to_string(options.dropout) +
           ", activation=" + (options.activation == TransformerActivation::gelu ? "gelu" : "relu") +
           (options.norm_first ? ", norm_first=true" : "") + (options.batch_first ? ", batch_first=true" : "");
}

TransformerEncoder::TransformerEncoder(TransformerEncoderOptions o) : options(o) {
    XGRAD_CHECK(o.num_layers > 0, "TransformerEncoder: num_layers must be positive, got ", o.num_layers);
    for (int64_t i = 0; i < o.num_layers; ++i) {
        auto layer = std::make_shared<TransformerEncoderLayer>(o.layer);
        if (i > 0) layer->load_state_dict(typed_layers_[0]->state_dict());  // copies, as PyTorch's deepcopy
        layers.push_back(layer);
        typed_layers_.push_back(layer);
    }
    register_module("layers", layers);
    if (o.final_norm) {
        norm = register_module(
            "norm", std::make_shared<LayerNorm>(LayerNormOptions{
                        .normalized_shape = {o.layer.d_model}, .eps = o.layer.layer_norm_eps, .dtype = o.layer.dtype}));
    }
}

Tensor TransformerEncoder::forward(const Tensor& src, const TransformerEncoderArgs& args) {
    Tensor x = src;
    for (const auto& layer : typed_layers_) x = (*layer)(x, args);
    return norm ? (*norm)(x) : x;
}

Tensor TransformerEncoder::operator()(const Tensor& src, const TransformerEncoderArgs& args) {
    return run_forward_hooks(src, forward(src, args));
}

Tensor sinusoidal_positional_encoding(int64_t max_len, int64_t d_model, DType dtype) {
    XGRAD_CHECK(max_len > 0 && d_model > 0,
                "sinusoidal_positional_encoding: max_len and d_model must be positive, got ", max_len, " and ",
                d_model);
    std::vector<double> values(static_cast<std::size_t>(max_len * d_model));
    for (int64_t pos = 0; pos < max_len; ++pos)
        for (int64_t i = 0; i < d_model; ++i) {
            const double rate = std::pow(10000.0, -static_cast<double>(i - i % 2) / static_cast<double>(d_model));
            const double angle = static_cast<double>(pos) * rate;
            values[static_cast<std::size_t>(pos * d_model + i)] = i % 2 == 0 ? std::sin(angle) : std::cos(angle);
        }
    return from_vector(values, {max_len, d_model}, dtype);
}

PositionalEncoding::PositionalEncoding(PositionalEncodingOptions o)
    : options(o),
      table(sinusoidal_positional_encoding(o.max_len, o.d_model, o.dtype)),
      dropout({.p = o.dropout, .generator = o.generator}) {
    register_module("dropout", dropout);
}

Tensor PositionalEncoding::forward(const Tensor& x) {
    XGRAD_CHECK(x.dim() == 3 && x.size(2) == options.d_model, "PositionalEncoding: expected ",
                options.batch_first ? "[N, L, " : "[L, N, ", options.d_model, "], got shape ", x.sizes());
    const int64_t length = x.size(options.batch_first ? 1 : 0);
    XGRAD_CHECK(length <= options.max_len, "PositionalEncoding: sequence length ", length, " exceeds max_len ",
                options.max_len);
    const Tensor pe = table.narrow(0, 0, length);
    return dropout(add(x, options.batch_first ? pe.unsqueeze(0) : pe.unsqueeze(1)));
}

}  // namespace xgrad::nn
