// Attention and the Transformer encoder against scalar reference loops written from the
// equations of Vaswani et al. (2017): per head, softmax(q k / sqrt(d) + mask) v, concatenated and
// projected; post-norm and pre-norm encoder layers. Gradients (with masks) under gradcheck, the
// fully masked row, mask conventions and the errors that name the shapes.
#include <algorithm>
#include <cmath>
#include <limits>

#include <xgrad/tensor/kernels.hpp>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
using Args = std::vector<Tensor>;

namespace {
const double inf = std::numeric_limits<double>::infinity();

// A [rows, cols] matrix in doubles, row-major.
struct Matrix {
    int64_t rows = 0, cols = 0;
    std::vector<double> v;
    double operator()(int64_t r, int64_t c) const { return v[static_cast<std::size_t>(r * cols + c)]; }
};
Matrix matrix_of(const Tensor& t) {
    return {t.size(0), t.size(1), t.contiguous().to_vector<double>()};
}

// y = W x + b for one vector.
std::vector<double> affine(const Matrix& w, const std::vector<double>& b, const std::vector<double>& x) {
    std::vector<double> y(static_cast<std::size_t>(w.rows));
    for (int64_t r = 0; r < w.rows; ++r) {
        double s = b.empty() ? 0.0 : b[static_cast<std::size_t>(r)];
        for (int64_t c = 0; c < w.cols; ++c) s += w(r, c) * x[static_cast<std::size_t>(c)];
        y[static_cast<std::size_t>(r)] = s;
    }
    return y;
}

// Sequences as [T][N] vectors of features, from a [T, N, F] tensor.
using Sequence = std::vector<std::vector<std::vector<double>>>;
Sequence sequence_of(const Tensor& t) {
    const std::vector<double> flat = t.contiguous().to_vector<double>();
    const int64_t T = t.size(0), N = t.size(1), F = t.size(2);
    Sequence s(T, std::vector<std::vector<double>>(N, std::vector<double>(F)));
    for (int64_t i = 0; i < T; ++i)
        for (int64_t n = 0; n < N; ++n)
            for (int64_t f = 0; f < F; ++f) s[i][n][f] = flat[static_cast<std::size_t>((i * N + n) * F + f)];
    return s;
}
std::vector<double> flatten(const Sequence& s) {
    std::vector<double> flat;
    for (const auto& step : s)
        for (const auto& row : step) flat.insert(flat.end(), row.begin(), row.end());
    return flat;
}

struct ReferenceAttention {
    Sequence out;                                           // [L][N][E]
    std::vector<std::vector<std::vector<double>>> weights;  // [N][L][S], averaged over heads
};

// mask(n, head, i, j) is added to the score of query i and key j; -inf excludes it. A query whose
// keys are all excluded gets zero weights.
template <class Mask>
ReferenceAttention reference_attention(const nn::MultiheadAttention& m, const Sequence& q, const Sequence& k,
                                       const Sequence& v, Mask mask) {
    const int64_t E = m.options.embed_dim, H = m.options.num_heads, d = E / H;
    const int64_t L = static_cast<int64_t>(q.size()), S = static_cast<int64_t>(k.size()),
                  N = static_cast<int64_t>(q[0].size());
    Matrix wq, wk, wv;
    if (m.in_proj_weight.defined()) {
        const Matrix w = matrix_of(m.in_proj_weight);
        auto rows = [&](int64_t from) {
            return Matrix{E, E, std::vector<double>(w.v.begin() + from * E * E, w.v.begin() + (from + 1) * E * E)};
        };
        wq = rows(0), wk = rows(1), wv = rows(2);
    } else {
        wq = matrix_of(m.q_proj_weight), wk = matrix_of(m.k_proj_weight), wv = matrix_of(m.v_proj_weight);
    }
    std::vector<double> bq, bk, bv, bo;
    if (m.in_proj_bias.defined()) {
        const auto b = m.in_proj_bias.to_vector<double>();
        bq.assign(b.begin(), b.begin() + E), bk.assign(b.begin() + E, b.begin() + 2 * E),
            bv.assign(b.begin() + 2 * E, b.end());
        bo = m.out_proj.bias.to_vector<double>();
    }
    const Matrix wo = matrix_of(m.out_proj.weight);
    ReferenceAttention r;
    r.out.assign(L, std::vector<std::vector<double>>(N));
    r.weights.assign(N, std::vector<std::vector<double>>(L, std::vector<double>(S, 0.0)));
    for (int64_t n = 0; n < N; ++n) {
        std::vector<std::vector<double>> qp(L), kp(S), vp(S);
        for (int64_t i = 0; i < L; ++i) qp[i] = affine(wq, bq, q[i][n]);
        for (int64_t j = 0; j < S; ++j) kp[j] = affine(wk, bk, k[j][n]), vp[j] = affine(wv, bv, v[j][n]);
        std::vector<std::vector<double>> concat(L, std::vector<double>(E, 0.0));
        for (int64_t h = 0; h < H; ++h)
            for (int64_t i = 0; i < L; ++i) {
                std::vector<double> score(S);
                double best = -inf;
                for (int64_t j = 0; j < S; ++j) {
                    double s = 0;
                    for (int64_t c = 0; c < d; ++c) s += qp[i][h * d + c] * kp[j][h * d + c];
                    score[j] = s / std::sqrt(static_cast<double>(d)) + mask(n, h, i, j);
                    best = std::max(best, score[j]);
                }
                double total = 0;
                for (int64_t j = 0; j < S; ++j) total += best == -inf ? 0.0 : std::exp(score[j] - best);
                for (int64_t j = 0; j < S; ++j) {
                    const double w = best == -inf ? 0.0 : std::exp(score[j] - best) / total;
                    r.weights[n][i][j] += w / static_cast<double>(H);
                    for (int64_t c = 0; c < d; ++c) concat[i][h * d + c] += w * vp[j][h * d + c];
                }
            }
        for (int64_t i = 0; i < L; ++i) r.out[i][n] = affine(wo, bo, concat[i]);
    }
    return r;
}

std::vector<double> flatten_weights(const std::vector<std::vector<std::vector<double>>>& w) {
    std::vector<double> flat;
    for (const auto& a : w)
        for (const auto& b : a) flat.insert(flat.end(), b.begin(), b.end());
    return flat;
}

// The encoder layer's pieces in scalars.
std::vector<double> reference_layer_norm(const std::vector<double>& x, const nn::LayerNorm& norm) {
    const auto w = norm.weight.to_vector<double>(), b = norm.bias.to_vector<double>();
    double mean = 0, var = 0;
    for (double e : x) mean += e;
    mean /= static_cast<double>(x.size());
    for (double e : x) var += (e - mean) * (e - mean);
    var /= static_cast<double>(x.size());
    std::vector<double> y(x.size());
    for (std::size_t i = 0; i < x.size(); ++i) y[i] = (x[i] - mean) / std::sqrt(var + norm.options.eps) * w[i] + b[i];
    return y;
}

Sequence reference_encoder_layer(nn::TransformerEncoderLayer& layer, const Sequence& x,
                                 const std::vector<std::vector<bool>>& padding) {  // padding[n][j]
    const auto mask = [&](int64_t n, int64_t, int64_t, int64_t j) { return padding[n][j] ? -inf : 0.0; };
    const Matrix w1 = matrix_of(layer.linear1.weight), w2 = matrix_of(layer.linear2.weight);
    const auto b1 = layer.linear1.bias.to_vector<double>(), b2 = layer.linear2.bias.to_vector<double>();
    const auto feed_forward = [&](const std::vector<double>& v) {
        std::vector<double> hidden = affine(w1, b1, v);
        for (double& h : hidden)
            h = layer.options.activation == nn::TransformerActivation::gelu
                    ? 0.5 * h * (1 + std::erf(h / std::sqrt(2.0)))
                    : std::max(h, 0.0);
        return affine(w2, b2, hidden);
    };
    const auto add = [](std::vector<double> a, const std::vector<double>& b) {
        for (std::size_t i = 0; i < a.size(); ++i) a[i] += b[i];
        return a;
    };
    Sequence y = x;
    if (layer.options.norm_first) {
        Sequence normed = x;
        for (auto& step : normed)
            for (auto& row : step) row = reference_layer_norm(row, layer.norm1);
        const Sequence attended = reference_attention(layer.self_attn, normed, normed, normed, mask).out;
        for (std::size_t i = 0; i < y.size(); ++i)
            for (std::size_t n = 0; n < y[i].size(); ++n) {
                y[i][n] = add(y[i][n], attended[i][n]);
                y[i][n] = add(y[i][n], feed_forward(reference_layer_norm(y[i][n], layer.norm2)));
            }
        return y;
    }
    const Sequence attended = reference_attention(layer.self_attn, x, x, x, mask).out;
    for (std::size_t i = 0; i < y.size(); ++i)
        for (std::size_t n = 0; n < y[i].size(); ++n) {
            y[i][n] = reference_layer_norm(add(y[i][n], attended[i][n]), layer.norm1);
            y[i][n] = reference_layer_norm(add(y[i][n], feed_forward(y[i][n])), layer.norm2);
        }
    return y;
}

nn::MultiheadAttention attention64(int64_t E, int64_t H, int64_t kdim = 0, int64_t vdim = 0, bool batch_first = false) {
    manual_seed(7);
    return nn::MultiheadAttention(
        {.embed_dim = E, .num_heads = H, .kdim = kdim, .vdim = vdim, .batch_first = batch_first, .dtype = kFloat64});
}
}  // namespace

BOOST_AUTO_TEST_SUITE(attention)

BOOST_AUTO_TEST_CASE(multihead_attention_matches_the_equations_with_both_masks) {
    manual_seed(7);
    nn::MultiheadAttention m({.embed_dim = 6, .num_heads = 3, .dtype = kFloat64});
    nn::init::normal_(m.in_proj_bias, 0, 0.5);  // PyTorch starts them at zero: make them count
    nn::init::normal_(m.out_proj.bias, 0, 0.5);
    const Tensor q = random_tensor({4, 2, 6}, kFloat64, 1), k = random_tensor({5, 2, 6}, kFloat64, 2),
                 v = random_tensor({5, 2, 6}, kFloat64, 3);
    const Tensor padding = tensor({{0, 0, 0, 1, 1}, {0, 0, 0, 0, 0}}) > 0.5;  // [N, S]
    const Tensor additive = random_tensor({4, 5}, kFloat64, 4);               // [L, S], added
    auto [out, weights] = m(q, k, v, {.key_padding_mask = padding, .attn_mask = additive});
    const auto pad = padding.to_vector<double>();
    const auto add = additive.to_vector<double>();
    const auto ref = reference_attention(m, sequence_of(q), sequence_of(k), sequence_of(v),
                                         [&](int64_t n, int64_t, int64_t i, int64_t j) {
                                             return (pad[static_cast<std::size_t>(n * 5 + j)] != 0 ? -inf : 0.0) +
                                                    add[static_cast<std::size_t>(i * 5 + j)];
                                         });
    BOOST_TEST((out.sizes() == Shape{4, 2, 6}));
    BOOST_TEST((weights.sizes() == Shape{2, 4, 5}));
    check_values(out, flatten(ref.out), 1e-10);
    check_values(weights, flatten_weights(ref.weights), 1e-10);
    // Padded keys get no weight.
    check_values(weights.select(0, 0).narrow(1, 3, 2), std::vector<double>(8, 0.0));
}

BOOST_AUTO_TEST_CASE(bool_attn_mask_marks_forbidden_pairs_and_heads_can_be_returned) {
    nn::MultiheadAttention m = attention64(4, 2, 3, 5, true);  // batch_first, kdim and vdim differ
    BOOST_TEST(!m.in_proj_weight.defined());
    BOOST_TEST((m.k_proj_weight.sizes() == Shape{4, 3}));
    const Tensor q = random_tensor({2, 3, 4}, kFloat64, 5), k = random_tensor({2, 4, 3}, kFloat64, 6),
                 v = random_tensor({2, 4, 5}, kFloat64, 7);
    const Tensor forbidden = tensor({{0, 1, 0, 0}, {1, 1, 0, 0}, {0, 0, 0, 1}}) > 0.5;  // [L, S]
    auto [out, per_head] = m(q, k, v, {.attn_mask = forbidden, .average_attn_weights = false});
    BOOST_TEST((out.sizes() == Shape{2, 3, 4}));
    BOOST_TEST((per_head.sizes() == Shape{2, 2, 3, 4}));
    const auto f = forbidden.to_vector<double>();
    const auto ref = reference_attention(m, sequence_of(q.transpose(0, 1)), sequence_of(k.transpose(0, 1)),
                                         sequence_of(v.transpose(0, 1)), [&](int64_t, int64_t, int64_t i, int64_t j) {
                                             return f[static_cast<std::size_t>(i * 4 + j)] != 0 ? -inf : 0.0;
                                         });
    check_values(out.transpose(0, 1), flatten(ref.out), 1e-10);
    check_values(mean(per_head, {1}), flatten_weights(ref.weights), 1e-10);
    check_values(sum(per_head, {-1}), std::vector<double>(12, 1.0), 1e-12);  // each head's rows sum to 1
}

BOOST_AUTO_TEST_CASE(unbatched_input_and_causal_attention) {
    nn::MultiheadAttention m = attention64(4, 1);
    const Tensor x = random_tensor({3, 4}, kFloat64, 8);
    auto [out, weights] = m(x, x, x, {.is_causal = true});
    BOOST_TEST((out.sizes() == Shape{3, 4}));
    BOOST_TEST((weights.sizes() == Shape{3, 3}));
    const auto ref =
        reference_attention(m, sequence_of(x.unsqueeze(1)), sequence_of(x.unsqueeze(1)), sequence_of(x.unsqueeze(1)),
                            [](int64_t, int64_t, int64_t i, int64_t j) { return j > i ? -inf : 0.0; });
    check_values(out, flatten(ref.out), 1e-10);
    check_values(weights, flatten_weights(ref.weights), 1e-10);
    // The single-input call is self-attention without masks.
    auto [self, unused] = m(x, x, x);
    check_values(m(x), self.to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(a_fully_masked_query_gets_zero_weights_not_nan) {
    nn::MultiheadAttention m = attention64(4, 2);
    const Tensor q = random_tensor({2, 2, 4}, kFloat64, 9).requires_grad_();
    const Tensor padding = tensor({{1, 1, 1}, {0, 1, 0}}) > 0.5;  // sample 0: every key is padding
    const Tensor kv = random_tensor({3, 2, 4}, kFloat64, 10);
    auto [out, weights] = m(q, kv, kv, {.key_padding_mask = padding});
    check_values(weights.select(0, 0), std::vector<double>(6, 0.0));
    // With zero weights the heads are zero; the output is out_proj's bias (zero at init).
    check_values(out.select(1, 0), std::vector<double>(8, 0.0));
    sum(out).backward();
    for (double g : q.grad().to_vector<double>()) BOOST_TEST(std::isfinite(g));
    // The function form: true means "may attend"; an all-false row gives zeros too.
    const Tensor none = zeros({2, 3}, kFloat64) > 1.0;
    const Tensor r = nn::F::scaled_dot_product_attention(random_tensor({2, 4}, kFloat64), kv.select(1, 0),
                                                         kv.select(1, 0), {.attn_mask = none});
    check_values(r, std::vector<double>(8, 0.0));
    check_values(nn::F::masked_softmax(tensor({{1.0, 2.0}, {-inf, -inf}}, kFloat64), Tensor(), 1),
                 {1 / (1 + std::exp(1.0)), 1 / (1 + std::exp(-1.0)), 0, 0}, 1e-12);
}

BOOST_AUTO_TEST_CASE(masked_softmax_is_softmax_over_the_kept_places) {
    const Tensor x = random_tensor({3, 4, 5}, kFloat64, 30);
    check_values(nn::F::masked_softmax(x, Tensor(), -1), softmax(x, -1).to_vector<double>(), 1e-12);
    check_values(nn::F::masked_softmax(noncontiguous(x), Tensor(), 1), softmax(x, 1).to_vector<double>(), 1e-12);
    // A mask [4, 1] broadcast over dim 0 and 2, applied along dim 1: row 2 of every column is out.
    const Tensor mask = tensor({{0}, {0}, {1}, {0}}) > 0.5;
    const Tensor y = nn::F::masked_softmax(x, mask, 1);
    const Tensor expected = softmax(masked_fill(x, mask, -inf), 1);
    check_values(y, expected.to_vector<double>(), 1e-12);
    check_values(y.select(1, 2), std::vector<double>(15, 0.0));
    // Everything masked along the dim: zeros, and zero gradients.
    const Tensor leaf = x.detach().requires_grad_();
    const Tensor none = nn::F::masked_softmax(leaf, ones({4, 1}) > 0.5, 1);
    check_values(none, std::vector<double>(60, 0.0));
    (none * x).sum().backward();
    check_values(leaf.grad(), std::vector<double>(60, 0.0));
    const auto fn = [&](const Args& a) { return nn::F::masked_softmax(a[0], mask, 1) * a[0]; };
    auto first = autograd::gradcheck(fn, {noncontiguous(x).detach().requires_grad_()}, {.raise = false});
    BOOST_TEST(first.ok, first.message);
    auto second = autograd::gradgradcheck(fn, {x.detach().requires_grad_()}, {.raise = false});
    BOOST_TEST(second.ok, second.message);
    check_values(nn::F::masked_softmax(x.to(kFloat32), mask, 1), expected.to_vector<double>(),
                 1e-6);  // float32 SIMD path
    check_error([&] { nn::F::masked_softmax(x, ones({5, 1}) > 0.5, 1); }, {"masked_softmax", "[5, 1]", "[3, 4, 5]"});
    // The one-pass backward kernel checks what it is given.
    check_error(
        [] {
            kernels::softmax_backward(ones({2, 3}).data(), ones({3, 2}).data(), 1);
        },
        {"softmax backward", "[2, 3]", "[3, 2]"});
    check_error(
        [] {
            kernels::softmax_backward(ones({2, 3}).data(), ones({2, 3}, kFloat64).data(), 1);
        },
        {"softmax backward", "float32", "float64"});
}

BOOST_AUTO_TEST_CASE(softmax_backward_kernel_is_the_composed_formula) {
    // Lanes of 37 (SIMD batches and a tail) along the last and a middle dim, float32 and float64,
    // and lanes with every place excluded, whose gradient is exactly 0.
    for (DType dtype : {kFloat32, kFloat64}) {
        const Tensor x = random_tensor({3, 37, 37}, dtype, 7);
        Tensor excluded = zeros({3, 37, 37}, kBool);
        excluded[0].fill_(1.0);  // the first example: every lane empty, along either dim
        const Tensor g = random_tensor({3, 37, 37}, dtype, 8);
        for (int64_t d : {1, 2}) {
            BOOST_TEST_CONTEXT(dtype << ", dim " << d) {
                const Tensor s = nn::F::masked_softmax(x, excluded, d);
                const Tensor kernel(kernels::softmax_backward(g.data(), s.data(), d));
                const Tensor composed = s * (g - (g * s).sum({d}, true));
                check_values(kernel, composed.to_vector<double>(), dtype == kFloat32 ? 1e-6 : 1e-14);
                BOOST_TEST(kernel[0].abs().max().item() == 0.0);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(masked_softmax_reads_a_broadcast_key_padding_mask_in_place) {
    // Attention's layout: scores [N, heads, queries, keys] and a key-padding mask [N, 1, 1, keys],
    // read through its strides; also a mask whose rows are a transposed (strided) view, and one
    // whose keys are not contiguous (the copied path).
    const Tensor x = random_tensor({2, 3, 4, 5}, kFloat64, 31);
    const Tensor padding = tensor({{0, 0, 0, 1, 1}, {0, 0, 0, 0, 1}}) > 0.5;  // [2, 5]
    const Tensor mask = padding.unsqueeze(1).unsqueeze(1);                    // [2, 1, 1, 5]
    const Tensor expected = softmax(masked_fill(x, mask, -inf), -1);
    check_values(nn::F::masked_softmax(x, mask, -1), expected.to_vector<double>(), 1e-12);
    check_values(nn::F::masked_softmax(x.to(kFloat32), mask, -1), expected.to_vector<double>(), 1e-6);
    // Rows of their own (key 0 always kept, so that the reference has no all-masked row).
    const Tensor per_query = (random_tensor({2, 1, 4, 5}, kFloat64, 32) > 0.3) && (arange(5.0) > 0.5);
    const Tensor strided = per_query.transpose(0, 2).contiguous().transpose(0, 2);  // same values, other strides
    check_values(nn::F::masked_softmax(x, strided, -1),
                 softmax(masked_fill(x, per_query, -inf), -1).to_vector<double>(), 1e-12);
    const Tensor keys_strided = padding.t().contiguous().t().unsqueeze(1).unsqueeze(1);  // key stride 2
    check_values(nn::F::masked_softmax(x, keys_strided, -1), expected.to_vector<double>(), 1e-12);
    // A query row with every key masked gives zeros, not NaN.
    const Tensor all_out = ones({2, 1, 1, 5}) > 0.5;
    check_values(nn::F::masked_softmax(x, all_out, -1), std::vector<double>(120, 0.0));
    // A NaN score among the kept ones makes its lane NaN (as softmax does), in the SIMD lanes of a
    // long row (20 floats) and in the scalar tail; a masked-out NaN is ignored.
    for (int64_t at : {3, 18}) {
        const Tensor row = random_tensor({2, 20}, kFloat32, 33);
        row.narrow(0, 0, 1).narrow(1, at, 1).fill_(std::nan(""));
        const std::vector<float> y = nn::F::masked_softmax(row, Tensor(), 1).to_vector<float>();
        BOOST_TEST(std::all_of(y.begin(), y.begin() + 20, [](float v) { return std::isnan(v); }));
        BOOST_TEST(std::none_of(y.begin() + 20, y.end(), [](float v) { return std::isnan(v); }));
        const Tensor hide = arange(20.0) == static_cast<double>(at);
        const std::vector<float> kept = nn::F::masked_softmax(row, hide, 1).to_vector<float>();
        BOOST_TEST(std::none_of(kept.begin(), kept.end(), [](float v) { return std::isnan(v); }));
    }
}

BOOST_AUTO_TEST_CASE(scaled_dot_product_attention_matches_its_definition) {
    const Tensor q = random_tensor({2, 3, 4}, kFloat64, 11), k = random_tensor({2, 5, 4}, kFloat64, 12),
                 v = random_tensor({2, 5, 2}, kFloat64, 13);
    const Tensor expected = matmul(softmax(matmul(q, k.transpose(1, 2)) / 2.0, -1), v);  // sqrt(4) = 2
    check_values(nn::F::scaled_dot_product_attention(q, k, v), expected.to_vector<double>(), 1e-12);
    // A given scale is used as given, a negative one too (PyTorch 2's scale argument).
    const Tensor negative = matmul(softmax(matmul(q, k.transpose(1, 2)) * -0.5, -1), v);
    check_values(nn::F::scaled_dot_product_attention(q, k, v, {.scale = -0.5}), negative.to_vector<double>(), 1e-12);
    check_error([&] { nn::F::scaled_dot_product_attention(q, k, v, {.scale = std::nan("")}); },
                {"scaled_dot_product_attention", "scale", "finite"});
    const Tensor causal = tril(ones({3, 5}, kFloat64)) > 0.5;  // true = may attend
    const Tensor via_mask = nn::F::scaled_dot_product_attention(q, k, v, {.attn_mask = causal});
    check_values(nn::F::scaled_dot_product_attention(q, k, v, {.is_causal = true}), via_mask.to_vector<double>(),
                 1e-12);
    const Tensor additive = where(causal, zeros({}, kFloat64), full({}, -inf, kFloat64));
    check_values(nn::F::scaled_dot_product_attention(q, k, v, {.attn_mask = additive}), via_mask.to_vector<double>(),
                 1e-12);
    check_error([&] { nn::F::scaled_dot_product_attention(q, v, v); },
                {"scaled_dot_product_attention", "[2, 3, 4]", "[2, 5, 2]"});
    check_error([&] { nn::F::scaled_dot_product_attention(q, k, v.narrow(1, 0, 4)); },
                {"scaled_dot_product_attention", "positions"});
    check_error(
        [&] {
            nn::F::scaled_dot_product_attention(q, k, v, {.attn_mask = ones({4, 5}) > 0.5});
        },
        {"attn_mask", "[4, 5]", "[2, 3, 5]"});
}

BOOST_AUTO_TEST_CASE(attention_gradients_pass_gradcheck_with_masks) {
    nn::MultiheadAttention m = attention64(4, 2);
    nn::init::normal_(m.in_proj_bias, 0, 0.5);
    const Tensor padding = tensor({{0, 0, 1}, {0, 0, 0}}) > 0.5;
    const Tensor additive = random_tensor({2, 3}, kFloat64, 14);
    const auto fn = [&](const Args& a) {
        auto [out, weights] = m(a[0], a[1], a[1], {.key_padding_mask = padding, .attn_mask = additive});
        return out * 2.0 + weights.sum();
    };
    const Tensor q = random_tensor({2, 2, 4}, kFloat64, 15).requires_grad_(),
                 kv = random_tensor({3, 2, 4}, kFloat64, 16).requires_grad_();
    auto result =
        autograd::gradcheck(fn, {q, kv, m.in_proj_weight, m.in_proj_bias, m.out_proj.weight}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
    auto strided = autograd::gradcheck(
        fn, {noncontiguous(q.detach()).requires_grad_(), noncontiguous(kv.detach()).requires_grad_()},
        {.raise = false});
    BOOST_TEST(strided.ok, strided.message);
    const auto sdpa = [](const Args& a) {
        return nn::F::scaled_dot_product_attention(a[0], a[1], a[2], {.is_causal = true});
    };
    const Args inputs = {random_tensor({2, 3, 4}, kFloat64, 17).requires_grad_(),
                         random_tensor({2, 3, 4}, kFloat64, 18).requires_grad_(),
                         random_tensor({1, 3, 2}, kFloat64, 19).requires_grad_()};  // value broadcasts over the batch
    auto first = autograd::gradcheck(sdpa, inputs, {.raise = false});
    BOOST_TEST(first.ok, first.message);
    auto second = autograd::gradgradcheck(sdpa, inputs, {.raise = false});
    BOOST_TEST(second.ok, second.message);
    // Second derivatives through the whole layer, masks included (PyTorch supports them too).
    const auto small = [&](const Args& a) {
        return std::get<0>(m(a[0], a[0], a[0], {.key_padding_mask = tensor({{0, 1}, {0, 0}}) > 0.5}));
    };
    auto layer_second =
        autograd::gradgradcheck(small, {random_tensor({2, 2, 4}, kFloat64, 20).requires_grad_()}, {.raise = false});
    BOOST_TEST(layer_second.ok, layer_second.message);
}

// The layer's attention spelled out head by head, with extra keys and values appended to each
// sample's projections (PyTorch's add_bias_kv and add_zero_attn) and a mask over all keys.
Tensor attention_with_extra_keys(const nn::MultiheadAttention& m, const Tensor& q, const Tensor& k, const Tensor& v,
                                 const Tensor& key_mask) {
    const int64_t E = m.options.embed_dim, H = m.options.num_heads, d = E / H, N = q.size(1);
    const auto w = chunk(m.in_proj_weight, 3, 0);
    const auto b = chunk(m.in_proj_bias, 3, 0);
    std::vector<Tensor> samples;
    for (int64_t n = 0; n < N; ++n) {
        const Tensor qp = matmul(q.select(1, n), w[0].t()) + b[0];  // [L, E]
        Tensor kp = matmul(k.select(1, n), w[1].t()) + b[1], vp = matmul(v.select(1, n), w[2].t()) + b[2];
        if (m.options.add_bias_kv) {
            kp = cat({kp, m.bias_k.reshape({1, E})});
            vp = cat({vp, m.bias_v.reshape({1, E})});
        }
        if (m.options.add_zero_attn) {
            kp = cat({kp, zeros({1, E}, kFloat64)});
            vp = cat({vp, zeros({1, E}, kFloat64)});
        }
        std::vector<Tensor> heads;
        for (int64_t h = 0; h < H; ++h) {
            const Tensor scores = matmul(qp.narrow(1, h * d, d), kp.narrow(1, h * d, d).t()) / std::sqrt(double(d));
            const Tensor weights = softmax(scores + key_mask.select(0, n), -1);
            heads.push_back(matmul(weights, vp.narrow(1, h * d, d)));
        }
        samples.push_back(linear(cat(heads, 1), m.out_proj.weight, m.out_proj.bias));  // [L, E]
    }
    return stack(samples, 1);
}

BOOST_AUTO_TEST_CASE(bias_and_zero_keys_join_every_query_s_keys) {
    for (const auto [bias_kv, zero_attn] : {std::pair{true, false}, {false, true}, {true, true}}) {
        BOOST_TEST_CONTEXT("add_bias_kv " << bias_kv << ", add_zero_attn " << zero_attn) {
            manual_seed(3);
            nn::MultiheadAttention m({.embed_dim = 4,
                                      .num_heads = 2,
                                      .add_bias_kv = bias_kv,
                                      .add_zero_attn = zero_attn,
                                      .dtype = kFloat64});
            nn::init::normal_(m.in_proj_bias, 0, 0.5);
            const int64_t extra = int64_t{bias_kv} + int64_t{zero_attn};
            BOOST_TEST(m.bias_k.defined() == bias_kv);
            if (bias_kv) BOOST_TEST((m.bias_k.sizes() == Shape{1, 1, 4}));
            const Tensor q = random_tensor({2, 2, 4}, kFloat64, 21), kv = random_tensor({3, 2, 4}, kFloat64, 22);
            // Sample 0's last key is padding; the appended keys stay open to every query.
            const Tensor padding = tensor({{0, 0, 1}, {0, 0, 0}}) > 0.5;
            auto [out, weights] = m(q, kv, kv, {.key_padding_mask = padding});
            BOOST_TEST((weights.sizes() == Shape{2, 2, 3 + extra}));
            std::vector<double> open(static_cast<std::size_t>(2 * (3 + extra)), 0.0);
            open[2] = -inf;
            const Tensor key_mask = from_vector(open, {2, 1, 3 + extra}, kFloat64);
            check_values(out, attention_with_extra_keys(m, q, kv, kv, key_mask).to_vector<double>(), 1e-12);
            BOOST_TEST(weights.select(0, 0).select(1, 2).abs().max().item() == 0.0);
            // A causal float mask and a boolean one are widened the same way.
            auto [causal, unused] = m(q, kv.narrow(0, 0, 2), kv.narrow(0, 0, 2), {.is_causal = true});
            std::vector<double> upper(static_cast<std::size_t>(2 * (2 + extra)), 0.0);
            upper[1] = -inf;  // query 0 does not see key 1
            const Tensor causal_mask = from_vector(upper, {1, 2, 2 + extra}, kFloat64).expand({2, 2, 2 + extra});
            check_values(causal,
                         attention_with_extra_keys(m, q, kv.narrow(0, 0, 2), kv.narrow(0, 0, 2), causal_mask)
                             .to_vector<double>(),
                         1e-12);

            const Tensor additive = random_tensor({2, 3}, kFloat64, 23);
            const auto fn = [&](const Args& a) {
                return std::get<0>(m(a[0], a[1], a[1], {.key_padding_mask = padding, .attn_mask = additive}));
            };
            Args inputs = {q.detach().requires_grad_(), kv.detach().requires_grad_()};
            if (bias_kv) {
                inputs.push_back(m.bias_k);
                inputs.push_back(m.bias_v);
            }
            auto result = autograd::gradcheck(fn, inputs, {.raise = false});
            BOOST_TEST(result.ok, result.message);
        }
    }
    nn::MultiheadAttention named({.embed_dim = 4, .num_heads = 2, .add_bias_kv = true, .add_zero_attn = true});
    BOOST_TEST(named.extra_repr().find("add_bias_kv=true, add_zero_attn=true") != std::string::npos);
    const auto parameters = named.named_parameters();
    BOOST_TEST(std::count_if(parameters.begin(), parameters.end(), [](const auto& p) { return p.first == "bias_v"; }) ==
               1);
}

BOOST_AUTO_TEST_CASE(attention_errors_name_the_shapes) {
    check_error([] { nn::MultiheadAttention({.embed_dim = 6, .num_heads = 4}); },
                {"MultiheadAttention", "6", "not divisible", "4"});
    nn::MultiheadAttention m = attention64(4, 2);
    const Tensor x = random_tensor({3, 2, 4}, kFloat64);
    check_error(
        [&] {
            m(x, x, x, {.key_padding_mask = zeros({3, 2}) > 0.5});
        },
        {"key_padding_mask", "[3, 2]", "[2, 3]"});
    check_error(
        [&] {
            m(x, x, x, {.attn_mask = zeros({3, 2}, kFloat64)});
        },
        {"attn_mask", "[3, 2]", "[3, 3]", "[4, 3, 3]"});
    check_error([&] { m(x, x, x, {.attn_mask = zeros({3, 3}, kInt64)}); }, {"attn_mask", "bool", "int64"});
    check_error([&] { m(x, x.narrow(1, 0, 1), x); }, {"MultiheadAttention", "[3, 1, 4]"});
    check_error([&] { m(random_tensor({3, 2, 5}, kFloat64), x, x); }, {"MultiheadAttention", "[3, 2, 5]", "embed_dim"});
    check_error([&] { m(x.select(0, 0).select(0, 0)); }, {"MultiheadAttention", "[4]"});
}

BOOST_AUTO_TEST_CASE(encoder_layer_matches_the_equations_post_and_pre_norm) {
    for (bool norm_first : {false, true})
        for (auto activation : {nn::TransformerActivation::relu, nn::TransformerActivation::gelu}) {
            BOOST_TEST_CONTEXT("norm_first " << norm_first << ", gelu "
                                             << (activation == nn::TransformerActivation::gelu)) {
                manual_seed(3);
                nn::TransformerEncoderLayer layer({.d_model = 4,
                                                   .nhead = 2,
                                                   .dim_feedforward = 6,
                                                   .dropout = 0.3,
                                                   .activation = activation,
                                                   .norm_first = norm_first,
                                                   .dtype = kFloat64});
                nn::init::normal_(layer.norm1.weight, 1, 0.3);
                nn::init::normal_(layer.norm2.bias, 0, 0.3);
                layer.eval();  // dropout off
                const Tensor x = random_tensor({3, 2, 4}, kFloat64, 20);
                const Tensor padding = tensor({{0, 0, 1}, {0, 0, 0}}) > 0.5;
                const Tensor y = layer(x, {.src_key_padding_mask = padding});
                const Sequence ref =
                    reference_encoder_layer(layer, sequence_of(x), {{false, false, true}, {false, false, false}});
                check_values(y, flatten(ref), 1e-10);
            }
        }
}

BOOST_AUTO_TEST_CASE(encoder_stacks_copies_of_one_layer_with_pytorch_names) {
    manual_seed(4);
    nn::TransformerEncoder encoder({.layer = {.d_model = 4,
                                              .nhead = 2,
                                              .dim_feedforward = 8,
                                              .dropout = 0.0,
                                              .batch_first = true,
                                              .norm_first = true,
                                              .dtype = kFloat64},
                                    .num_layers = 2,
                                    .final_norm = true});
    const nn::StateDict state = encoder.state_dict();
    for (const char* name : {"layers.0.self_attn.in_proj_weight", "layers.0.self_attn.in_proj_bias",
                             "layers.1.self_attn.out_proj.weight", "layers.1.linear1.weight", "layers.1.linear2.bias",
                             "layers.0.norm1.weight", "layers.1.norm2.bias", "norm.weight", "norm.bias"})
        BOOST_TEST(state.count(name) == 1, name);
    BOOST_TEST(state.size() == 2 * 12 + 2);
    BOOST_TEST(equal(state.at("layers.0.linear1.weight"), state.at("layers.1.linear1.weight")));  // deep copies
    nn::init::normal_(encoder.layer(1).linear1.weight);
    BOOST_TEST(!equal(encoder.layer(0).linear1.weight, encoder.layer(1).linear1.weight));  // but not shared
    const Tensor x = random_tensor({2, 3, 4}, kFloat64, 21);
    const Tensor padding = tensor({{0, 0, 1}, {0, 1, 1}}) > 0.5;
    const Tensor y = encoder(x, {.src_key_padding_mask = padding});
    const Tensor by_hand = (*encoder.norm)(
        encoder.layer(1)(encoder.layer(0)(x, {.src_key_padding_mask = padding}), {.src_key_padding_mask = padding}));
    check_values(y, by_hand.to_vector<double>(), 1e-12);
    const auto fn = [&](const Args& a) { return encoder(a[0], {.src_key_padding_mask = padding}); };
    auto result = autograd::gradcheck(
        fn, {x.requires_grad_(), encoder.layer(0).self_attn.in_proj_weight, encoder.layer(1).linear2.weight},
        {.raise = false});
    BOOST_TEST(result.ok, result.message);
    int calls = 0;
    encoder.layer(0).register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { ++calls; });
    encoder(x, {});
    BOOST_TEST(calls == 1);
    check_error([] { nn::TransformerEncoderLayer({.d_model = 5, .nhead = 2}); }, {"d_model 5", "nhead 2"});
}

BOOST_AUTO_TEST_CASE(dropout_in_training_is_seeded) {
    Generator first(5), second(5);
    auto run = [](Generator& g) {
        manual_seed(1);
        nn::TransformerEncoderLayer layer(
            {.d_model = 4, .nhead = 2, .dim_feedforward = 8, .dropout = 0.5, .generator = &g});
        return layer(random_tensor({3, 2, 4}));
    };
    const Tensor a = run(first), b = run(second);
    BOOST_TEST(equal(a, b));
    manual_seed(1);
    nn::TransformerEncoderLayer layer({.d_model = 4, .nhead = 2, .dim_feedforward = 8, .dropout = 0.5});
    layer.eval();
    BOOST_TEST(!equal(layer(random_tensor({3, 2, 4})), a));  // eval turns dropout off
}

BOOST_AUTO_TEST_CASE(sinusoidal_positional_encoding_follows_the_paper) {
    const Tensor pe = nn::sinusoidal_positional_encoding(5, 6, kFloat64);
    BOOST_TEST((pe.sizes() == Shape{5, 6}));
    check_values(pe.select(0, 0), {0, 1, 0, 1, 0, 1}, 1e-12);
    check_values(pe.select(0, 1).narrow(0, 0, 2), {std::sin(1.0), std::cos(1.0)}, 1e-12);
    const double rate = std::pow(10000.0, -2.0 / 6.0);
    check_values(pe.select(0, 3).narrow(0, 2, 2), {std::sin(3 * rate), std::cos(3 * rate)}, 1e-12);
    nn::PositionalEncoding position(
        {.d_model = 6, .max_len = 5, .dropout = 0.0, .batch_first = true, .dtype = kFloat64});
    const Tensor x = random_tensor({2, 4, 6}, kFloat64);
    check_values(position(x).select(0, 1), (x.select(0, 1) + pe.narrow(0, 0, 4)).to_vector<double>(), 1e-12);
    BOOST_TEST(position.state_dict().empty());
    check_error([&] { position(random_tensor({2, 6, 6}, kFloat64)); }, {"PositionalEncoding", "6", "max_len 5"});
}

BOOST_AUTO_TEST_SUITE_END()
