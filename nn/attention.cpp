#include <xgrad/nn/attention.hpp>

#include <cmath>
#include <limits>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/functional.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn {

namespace functional {
Tensor scaled_dot_product_attention(const Tensor& query, const Tensor& key, const Tensor& value,
                                    const ScaledDotProductOptions& options) {
    const char* op = "scaled_dot_product_attention";
    XGRAD_CHECK(query.dim() >= 2 && key.dim() >= 2 && value.dim() >= 2, op,
                ": query, key and value need at least 2 dimensions [..., L, E], got shapes ", query.sizes(), ", ",
                key.sizes(), " and ", value.sizes());
    XGRAD_CHECK(query.size(-1) == key.size(-1), op, ": query ", query.sizes(), " and key ", key.sizes(),
                " differ in their last dimension");
    XGRAD_CHECK(key.size(-2) == value.size(-2), op, ": key ", key.sizes(), " and value ", value.sizes(),
                " have different numbers of positions");
    XGRAD_CHECK(std::isfinite(options.scale), "scaled_dot_product_attention: the scale must be finite, got ",
                options.scale);
    const double scale = options.scale != 0 ? options.scale : 1.0 / std::sqrt(static_cast<double>(query.size(-1)));
    Tensor scores = matmul(mul(query, scalar_like(query, scale)), key.transpose(-2, -1));  // [..., L, S]
    const int64_t L = scores.size(-2), S = scores.size(-1);
    Tensor excluded;
    if (options.attn_mask.defined()) {
        const Tensor& mask = options.attn_mask;
        bool fits = mask.dim() <= scores.dim();
        for (int64_t d = 1; fits && d <= mask.dim(); ++d) fits = mask.size(-d) == 1 || mask.size(-d) == scores.size(-d);
        XGRAD_CHECK(fits, op, ": attn_mask of shape ", mask.sizes(), " does not broadcast to the scores' shape ",
                    scores.sizes());
        if (mask.dtype() == kBool)
            excluded = logical_not(mask);
        else
            scores = add(scores, mask);
    }
    if (options.is_causal) {
        const Tensor future(kernels::triangle_mask(L, S, 1, true));
        excluded = excluded.defined() ? logical_or(excluded, future) : future;
    }
    Tensor weights =
        options.attn_mask.defined() || options.is_causal ? masked_softmax(scores, excluded, -1) : softmax(scores, -1);
    if (options.dropout_p > 0) weights = dropout(weights, options.dropout_p, true, options.generator);
    return matmul(weights, value);
}
}  // namespace functional

namespace {
MultiheadAttentionOptions checked(MultiheadAttentionOptions o) {
    XGRAD_CHECK(o.embed_dim > 0 && o.num_heads > 0,
                "MultiheadAttention: embed_dim and num_heads must be positive, got ", o.embed_dim, " and ",
                o.num_heads);
    XGRAD_CHECK(o.embed_dim % o.num_heads == 0, "MultiheadAttention: embed_dim ", o.embed_dim,
                " is not divisible by num_heads ", o.num_heads);
    XGRAD_CHECK(o.dropout >= 0 && o.dropout < 1, "MultiheadAttention: dropout must be in [0, 1), got ", o.dropout);
    if (o.kdim == 0) o.kdim = o.embed_dim;
    if (o.vdim == 0) o.vdim = o.embed_dim;
    return o;
}

// [T, N, F] -> [N * heads, T, F / heads]: each (sample, head) pair becomes one batch entry.
Tensor split_heads(const Tensor& x, int64_t heads) {
    const int64_t T = x.size(0), N = x.size(1), F = x.size(2);
    return x.reshape({T, N * heads, F / heads}).transpose(0, 1);
}
}  // namespace

MultiheadAttention::MultiheadAttention(MultiheadAttentionOptions o)
    : options(checked(o)),
      out_proj({.in_features = options.embed_dim,
                .out_features = options.embed_dim,
                .bias = options.bias,
                .dtype = options.dtype}) {
    const int64_t E = options.embed_dim;
    if (same_dims()) {
        in_proj_weight = register_parameter("in_proj_weight", empty({3 * E, E}, options.dtype));
    } else {
        q_proj_weight = register_parameter("q_proj_weight", empty({E, E}, options.dtype));
        k_proj_weight = register_parameter("k_proj_weight", empty({E, options.kdim}, options.dtype));
        v_proj_weight = register_parameter("v_proj_weight", empty({E, options.vdim}, options.dtype));
    }
    if (options.bias) in_proj_bias = register_parameter("in_proj_bias", empty({3 * E}, options.dtype));
    if (options.add_bias_kv) {
        bias_k = register_parameter("bias_k", empty({1, 1, E}, options.dtype));
        bias_v = register_parameter("bias_v", empty({1, 1, E}, options.dtype));
    }
    register_module("out_proj", out_proj);
    reset_parameters();
}

bool MultiheadAttention::same_dims() const {
    return options.kdim == options.embed_dim && options.vdim == options.embed_dim;
}

void MultiheadAttention::reset_parameters(Generator* generator) {
    if (same_dims()) {
        init::xavier_uniform_(in_proj_weight, 1.0, generator);
    } else {
        init::xavier_uniform_(q_proj_weight, 1.0, generator);
        init::xavier_uniform_(k_proj_weight, 1.0, generator);
        init::xavier_uniform_(v_proj_weight, 1.0, generator);
    }
    out_proj.reset_parameters(generator);
    if (options.bias) {
        init::zeros_(in_proj_bias);
        init::zeros_(out_proj.bias);
    }
    if (options.add_bias_kv) {
        init::xavier_normal_(bias_k, 1.0, generator);
        init::xavier_normal_(bias_v, 1.0, generator);
    }
}

std::tuple<Tensor, Tensor> MultiheadAttention::forward(const Tensor& query, const Tensor& key, const Tensor& value,
                                                       const MultiheadAttentionArgs& args) {
    const char* op = "MultiheadAttention";
    const int64_t E = options.embed_dim, H = options.num_heads;
    XGRAD_CHECK(query.dim() == 3 || query.dim() == 2, op, ": query must be ",
                options.batch_first ? "[N, L, E]" : "[L, N, E]", " or unbatched [L, E], got shape ", query.sizes());
    XGRAD_CHECK(key.dim() == query.dim() && value.dim() == query.dim(), op, ": query ", query.sizes(), ", key ",
                key.sizes(), " and value ", value.sizes(), " must all be batched or all unbatched");
    const bool batched = query.dim() == 3;
    // Work in PyTorch's [T, N, F] layout.
    auto time_major = [&](const Tensor& t) {
        if (!batched) return t.unsqueeze(1);
        return options.batch_first ? t.transpose(0, 1) : t;
    };
    const Tensor q = time_major(query), k = time_major(key), v = time_major(value);
    const int64_t L = q.size(0), N = q.size(1), S = k.size(0);
    XGRAD_CHECK(q.size(2) == E && k.size(2) == options.kdim && v.size(2) == options.vdim, op, ": query ", query.sizes(),
                ", key ", key.sizes(), " and value ", value.sizes(), " must have ", E, ", ", options.kdim, " and ",
                options.vdim, " features (embed_dim, kdim, vdim)");
    XGRAD_CHECK(k.size(1) == N && v.size(1) == N && v.size(0) == S, op, ": key ", key.sizes(), " and value ",
                value.sizes(), " must match each other and the query's batch ", query.sizes());

    Tensor wq = q_proj_weight, wk = k_proj_weight, wv = v_proj_weight, bq, bk, bv;
    if (same_dims()) {
        const auto w = chunk(in_proj_weight, 3, 0);
        wq = w[0], wk = w[1], wv = w[2];
    }
    if (options.bias) {
        const auto b = chunk(in_proj_bias, 3, 0);
        bq = b[0], bk = b[1], bv = b[2];
    }
    const Tensor qh = split_heads(linear(q, wq, bq), H);    // [N H, L, E / H]
    Tensor kp = linear(k, wk, bk), vp = linear(v, wv, bv);  // [S, N, E]
    // Keys every query may attend to, appended after the S given ones (the masks are widened to
    // match below): the learned bias key and value, then one of zeros per head.
    const int64_t extra_keys = (options.add_bias_kv ? 1 : 0) + (options.add_zero_attn ? 1 : 0);
    if (options.add_bias_kv) {
        kp = cat({kp, bias_k.expand({1, N, E})}, 0);
        vp = cat({vp, bias_v.expand({1, N, E})}, 0);
    }
    Tensor kh = split_heads(kp, H), vh = split_heads(vp, H);  // [N H, S', E / H]
    if (options.add_zero_attn) {
        const Tensor nothing = zeros({N * H, 1, E / H}, kh.dtype());
        kh = cat({kh, nothing}, 1);
        vh = cat({vh, nothing}, 1);
    }
    const auto widened = [&](const Tensor& mask) {  // [..., S] -> [..., S + extra_keys], the new keys allowed
        if (extra_keys == 0) return mask;
        Shape sizes = mask.sizes();
        sizes.back() = extra_keys;
        return cat({mask, zeros(sizes, mask.dtype())}, -1);
    };
    const double scale = 1.0 / std::sqrt(static_cast<double>(E / H));
    Tensor scores = bmm(mul(qh, scalar_like(qh, scale)), kh.transpose(1, 2));  // [N H, L, S]

    // Masks: bool ones collect into `excluded`, floating ones are added to the scores.
    Tensor excluded;
    bool masked = false;
    auto apply = [&](const Tensor& mask, const Tensor& as_scores_shape) {
        masked = true;
        if (mask.dtype() == kBool)
            excluded = excluded.defined() ? logical_or(excluded, as_scores_shape) : as_scores_shape;
        else
            scores = add(scores, as_scores_shape);
    };
    if (args.attn_mask.defined()) {
        const Tensor& m = args.attn_mask;
        const bool fits =
            (m.dim() == 2 && m.sizes() == Shape{L, S}) || (m.dim() == 3 && m.sizes() == Shape{N * H, L, S});
        XGRAD_CHECK(fits, op, ": attn_mask has shape ", m.sizes(), " but must be [L, S] = [", L, ", ", S,
                    "] or [N * num_heads, L, S] = [", N * H, ", ", L, ", ", S, "]");
        XGRAD_CHECK(m.dtype() == kBool || m.dtype() == scores.dtype(), op, ": attn_mask must be bool or ",
                    scores.dtype(), ", got ", m.dtype());
        apply(m, widened(m));
    }
    if (args.key_padding_mask.defined()) {
        const Tensor& m = args.key_padding_mask;
        const Shape expected = batched ? Shape{N, S} : Shape{S};
        XGRAD_CHECK(m.sizes() == expected, op, ": key_padding_mask has shape ", m.sizes(), " but must be ",
                    batched ? "[N, S] = " : "[S] = ", expected);
        XGRAD_CHECK(m.dtype() == kBool || m.dtype() == scores.dtype(), op, ": key_padding_mask must be bool or ",
                    scores.dtype(), ", got ", m.dtype());
        apply(m, widened(m.reshape({N, 1, 1, S}).expand({N, H, 1, S}).reshape({N * H, 1, S})));
    }
    if (args.is_causal) {
        const Tensor future(kernels::triangle_mask(L, S, 1, true));
        apply(future, widened(future));
    }

    Tensor weights = masked ? F::masked_softmax(scores, excluded, -1) : softmax(scores, -1);
    if (is_training() && options.dropout > 0) weights = F::dropout(weights, options.dropout, true, options.generator);
    const Tensor heads = bmm(weights, vh);                            // [N H, L, E / H]
    Tensor out = out_proj(heads.transpose(0, 1).reshape({L, N, E}));  // [L, N, E]
    out = !batched ? out.squeeze(1) : options.batch_first ? out.transpose(0, 1) : out;

    Tensor returned;
    if (args.need_weights) {
        returned = weights.reshape({N, H, L, S + extra_keys});
        if (args.average_attn_weights) returned = mean(returned, {1});
        if (!batched) returned = returned.squeeze(0);
    }
    return {out, returned};
}

Tensor MultiheadAttention::forward(const Tensor& x) {
    MultiheadAttentionArgs args;  // not a designated initializer: GCC warns about the members left out
    args.need_weights = false;
    return std::get<0>(forward(x, x, x, args));
}

std::tuple<Tensor, Tensor> MultiheadAttention::operator()(const Tensor& query, const Tensor& key, const Tensor& value,
                                                          const MultiheadAttentionArgs& args) {
    auto result = forward(query, key, value, args);
    run_forward_hooks(query, std::get<0>(result));
    return result;
}

std::string MultiheadAttention::extra_repr() const {
    std::string s =
        "embed_dim=" + std::to_string(options.embed_dim) + ", num_heads=" + std::to_string(options.num_heads);
    if (options.dropout > 0) s += ", dropout=" + std::to_string(options.dropout);
    if (!same_dims()) s += ", kdim=" + std::to_string(options.kdim) + ", vdim=" + std::to_string(options.vdim);
    if (!options.bias) s += ", bias=false";
    if (options.batch_first) s += ", batch_first=true";
    if (options.add_bias_kv) s += ", add_bias_kv=true";
    if (options.add_zero_attn) s += ", add_zero_attn=true";
    return s;
}

}  // namespace xgrad::nn
