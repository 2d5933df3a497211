#pragma once
/// The Transformer encoder (Vaswani et al. 2017) with PyTorch's options and parameter names, and
/// the sinusoidal positional encoding of the paper.
///
///     nn::TransformerEncoder encoder({.layer = {.d_model = 64, .nhead = 4, .dim_feedforward = 128,
///                                               .batch_first = true},
///                                     .num_layers = 2});
///     nn::PositionalEncoding position({.d_model = 64, .batch_first = true});
///     Tensor h = encoder(position(embedded), {.src_key_padding_mask = tokens == pad});  // [N, L, 64]
///
/// As in PyTorch, TransformerEncoder's layers start as copies of one initialized layer (PyTorch
/// deep-copies the encoder_layer it is given), so a seed gives the same weights in both.

#include <memory>
#include <string>
#include <vector>

#include <xgrad/nn/attention.hpp>
#include <xgrad/nn/container.hpp>
#include <xgrad/nn/dropout.hpp>
#include <xgrad/nn/linear.hpp>
#include <xgrad/nn/normalization.hpp>

namespace xgrad::nn {

enum class TransformerActivation { relu, gelu };

struct TransformerEncoderLayerOptions {
    int64_t d_model = 0;
    int64_t nhead = 1;
    int64_t dim_feedforward = 2048;
    double dropout = 0.1;
    TransformerActivation activation = TransformerActivation::relu;
    double layer_norm_eps = 1e-5;
    bool batch_first = false;  ///< [N, L, E] instead of [L, N, E]
    /// Pre-norm (x + f(norm(x))), often easier to train deep; false: post-norm (norm(x + f(x))),
    /// the paper's form.
    bool norm_first = false;
    DType dtype = kFloat32;
    Generator* generator = nullptr;  ///< for the dropout masks
};

struct TransformerEncoderArgs {
    /// [L, L] or [N * nhead, L, L]; bool true forbids attending, floating is added to the scores.
    Tensor src_mask;
    /// [N, L]: true marks padding positions no query may attend.
    Tensor src_key_padding_mask;
    bool is_causal = false;
};

/// Self-attention and a position-wise feed-forward network, each with a residual connection,
/// dropout and layer normalization. Parameters: self_attn.*, linear1, linear2, norm1, norm2.
class TransformerEncoderLayer : public Module {
public:
    using Options = TransformerEncoderLayerOptions;
    explicit TransformerEncoderLayer(TransformerEncoderLayerOptions options);
    Tensor forward(const Tensor& src, const TransformerEncoderArgs& args);
    Tensor forward(const Tensor& src) override { return forward(src, {}); }
    /// forward, then the forward hooks.
    Tensor operator()(const Tensor& src, const TransformerEncoderArgs& args);
    using Module::operator();
    std::string type_name() const override { return "TransformerEncoderLayer"; }
    std::string extra_repr() const override;

    const TransformerEncoderLayerOptions options;
    MultiheadAttention self_attn;
    Linear linear1;
    Dropout dropout;
    Linear linear2;
    LayerNorm norm1, norm2;
    Dropout dropout1, dropout2;

private:
    Tensor self_attention_block(const Tensor& x, const TransformerEncoderArgs& args);
    Tensor feed_forward_block(const Tensor& x);
};

struct TransformerEncoderOptions {
    TransformerEncoderLayerOptions layer;
    int64_t num_layers = 1;
    bool final_norm = false;  ///< a LayerNorm ("norm") after the last layer (use with norm_first)
};

/// num_layers encoder layers in sequence: parameters layers.0.*, layers.1.*, ... and norm.*.
class TransformerEncoder : public Module {
public:
    using Options = TransformerEncoderOptions;
    explicit TransformerEncoder(TransformerEncoderOptions options);
    Tensor forward(const Tensor& src, const TransformerEncoderArgs& args);
    Tensor forward(const Tensor& src) override { return forward(src, {}); }
    Tensor operator()(const Tensor& src, const TransformerEncoderArgs& args);
    using Module::operator();
    std::string type_name() const override { return "TransformerEncoder"; }
    TransformerEncoderLayer& layer(std::size_t i) const { return *typed_layers_.at(i); }

    const TransformerEncoderOptions options;
    ModuleList layers;
    std::shared_ptr<LayerNorm> norm;  ///< null without final_norm

private:
    std::vector<std::shared_ptr<TransformerEncoderLayer>> typed_layers_;
};

/// [max_len, d_model]: PE(pos, 2i) = sin(pos / 10000^(2i / d_model)), PE(pos, 2i + 1) = cos(same),
/// so each dimension is a sinusoid and relative offsets are linear functions of the encoding.
Tensor sinusoidal_positional_encoding(int64_t max_len, int64_t d_model, DType dtype = kFloat32);

struct PositionalEncodingOptions {
    int64_t d_model = 0;
    int64_t max_len = 5000;
    double dropout = 0.1;
    bool batch_first = false;
    DType dtype = kFloat32;
    Generator* generator = nullptr;
};

/// Adds the sinusoidal encoding to [L, N, d_model] (or [N, L, d_model]) and applies dropout, as
/// in the paper and PyTorch's tutorial. The table is a fixed function of the options, so it is not
/// part of the state dict.
class PositionalEncoding : public Module {
public:
    using Options = PositionalEncodingOptions;
    explicit PositionalEncoding(PositionalEncodingOptions options);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "PositionalEncoding"; }
    const PositionalEncodingOptions options;
    const Tensor table;  ///< [max_len, d_model]
    Dropout dropout;
};

}  // namespace xgrad::nn
