#pragma once
/// Attention (Vaswani et al. 2017): the scaled dot-product attention function and
/// nn::MultiheadAttention, with PyTorch's options, parameter names and mask conventions.
///
///     nn::MultiheadAttention attention({.embed_dim = 64, .num_heads = 4, .batch_first = true});
///     auto [out, weights] = attention(x, x, x, {.key_padding_mask = padding});   // self-attention
///
/// Masks. A bool mask marks what may NOT be attended (true = masked out), as in
/// nn.MultiheadAttention; a floating mask is added to the scores (use -inf to mask). The function
/// F::scaled_dot_product_attention takes the opposite bool convention (true = may attend), as
/// torch.nn.functional.scaled_dot_product_attention does.
///
/// A query whose keys are all masked gets all-zero attention weights, hence a zero attention
/// result (MultiheadAttention's output is then out_proj's bias alone) and no gradient through the
/// scores: this is PyTorch's "safe softmax" (since 2.5; 1.13 returned NaN),
/// chosen so that one fully padded sequence cannot poison a batch with NaN.
///
/// Not supported (PyTorch options rarely used in practice): add_bias_kv, add_zero_attn.

#include <string>
#include <tuple>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/linear.hpp>
#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

namespace functional {
/// softmax along dim with the places where `masked` is true (bool, broadcast to x) excluded; a
/// slice with every place masked (or every score -inf) gives zeros instead of NaN. The op itself
/// is xgrad::masked_softmax (autograd/ops/reduce.cpp).
using xgrad::masked_softmax;

struct ScaledDotProductOptions {
    /// bool: true where a query may attend a key (broadcast to [..., L, S]); floating: added
    /// to the scores.
    Tensor attn_mask;
    double dropout_p = 0.0;  ///< dropout on the attention weights
    bool is_causal = false;  ///< query i attends keys 0..i only (combined with attn_mask)
    /// The factor on Q K^T; 0 (unset): 1 / sqrt(E). Any other finite value is used as given,
    /// negative ones too, as PyTorch 2's scale argument.
    double scale = 0.0;
    Generator* generator = nullptr;
};
/// softmax(Q K^T scale + mask) V for query [..., L, E], key [..., S, E], value [..., S, Ev]:
/// returns [..., L, Ev].
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const ScaledDotProductOptions& options = {});
}  // namespace functional

struct MultiheadAttentionOptions {
    int64_t embed_dim = 0;
    int64_t num_heads = 1;
    double dropout = 0.0;      ///< on the attention weights, in training
    bool bias = true;          ///< in_proj_bias and out_proj.bias
    int64_t kdim = 0;          ///< key features (0: embed_dim)
    int64_t vdim = 0;          ///< value features (0: embed_dim)
    bool batch_first = false;  ///< [N, L, E] instead of PyTorch's default [L, N, E]
    /// Learned bias_k and bias_v ([1, 1, E]) appended to the projected keys and values as one more
    /// key every query may attend to (as PyTorch's add_bias_kv).
    bool add_bias_kv = false;
    /// One more key and value of zeros per head, appended last (PyTorch's add_zero_attn): a query
    /// can put weight on "nothing" (a logit of 0 and a value of 0).
    bool add_zero_attn = false;
    DType dtype = kFloat32;
    Generator* generator = nullptr;  ///< for the attention dropout
};

struct MultiheadAttentionArgs {
    /// [N, S] (or [S] unbatched): true (bool) marks padding keys to ignore; floating: added.
    Tensor key_padding_mask;
    bool need_weights = true;
    /// [L, S] or [N * num_heads, L, S]: true (bool) forbids attending; floating: added.
    Tensor attn_mask;
    /// Weights averaged over heads [N, L, S], or per head [N, num_heads, L, S].
    bool average_attn_weights = true;
    bool is_causal = false;  ///< adds a causal mask (query i sees keys 0..i)
};

/// Multi-head attention: the inputs are projected to num_heads heads of embed_dim / num_heads
/// features, each head attends on its own, and the heads' outputs are concatenated and projected
/// by out_proj. Parameters as in PyTorch: in_proj_weight [3 E, E] when key and value have
/// embed_dim features, else q_proj_weight, k_proj_weight, v_proj_weight; in_proj_bias [3 E];
/// out_proj.weight, out_proj.bias. Inputs [L, N, E] (or [N, L, E] with batch_first, or
/// unbatched [L, E]).
class MultiheadAttention : public Module {
public:
    using Options = MultiheadAttentionOptions;
    explicit MultiheadAttention(MultiheadAttentionOptions options);
    /// LibTorch's positional form: MultiheadAttention(512, 8).
    MultiheadAttention(int64_t embed_dim, int64_t num_heads)
        : MultiheadAttention(MultiheadAttentionOptions{.embed_dim = embed_dim, .num_heads = num_heads}) {}
    /// The attention output and the weights (undefined unless need_weights).
    std::tuple<Tensor, Tensor> forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                       const MultiheadAttentionArgs& args = {});
    /// Self-attention of x without masks: forward(x, x, x).
    Tensor forward(const Tensor& x) override;
    /// forward, then the forward hooks (which see the query and the output).
    std::tuple<Tensor, Tensor> operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                          const MultiheadAttentionArgs& args = {});
    using Module::operator();
    std::string type_name() const override { return "MultiheadAttention"; }
    std::string extra_repr() const override;
    /// Xavier-uniform projections, zero biases (PyTorch's initialization).
    void reset_parameters(Generator* generator = nullptr);

    const MultiheadAttentionOptions options;
    Tensor in_proj_weight;                               ///< [3 E, E] when kdim = vdim = E
    Tensor q_proj_weight, k_proj_weight, v_proj_weight;  ///< otherwise
    Tensor in_proj_bias;                                 ///< [3 E]
    Tensor bias_k, bias_v;                               ///< [1, 1, E], with add_bias_kv
    Linear out_proj;

private:
    bool same_dims() const;
};

}  // namespace xgrad::nn
