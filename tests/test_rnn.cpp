// Embedding, LSTM, GRU and RNN: lookups and padding, each layer's equations against a scalar loop
// written from the published equations (PyTorch's gate orders), padded
// sequences against unpadded ones, both directions, layouts, dropout placement and errors.
// Gradients: gradcheck rows in test_nn.cpp (F::embedding, LSTM with lengths, bidirectional); the
// fused LSTM cell's first and second derivatives here, over strided views and either output alone.
#include <cmath>
#include <limits>
#include <optional>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {

double sigmoid_ref(double v) {
    return 1 / (1 + std::exp(-v));
}

// One-layer, one-direction LSTM over x [T, N, I] in double with scalar loops, from its parameters.
std::vector<double> reference_lstm(const Tensor& x, nn::LSTM& lstm) {
    const int64_t T = x.size(0), N = x.size(1), I = x.size(2), H = lstm.options.hidden_size;
    // With proj_size P, h = W_hr (o * tanh(c)) has P features and W_hh is [4 H, P].
    const int64_t P = lstm.options.proj_size > 0 ? lstm.options.proj_size : H;
    auto param = [&](const std::string& name) {
        for (auto& [n, p] : lstm.named_parameters())
            if (n == name) return p.to_vector<double>();
        throw std::runtime_error("no parameter " + name);
    };
    const auto w_ih = param("weight_ih_l0"), w_hh = param("weight_hh_l0"), b_ih = param("bias_ih_l0"),
               b_hh = param("bias_hh_l0");
    const auto w_hr = P < H ? param("weight_hr_l0") : std::vector<double>{};
    const auto xv = x.to_vector<double>();
    std::vector<double> out;
    for (int64_t n = 0; n < N; ++n) {
        std::vector<double> h(P, 0), c(H, 0), unprojected(H);
        std::vector<std::vector<double>> per_step;
        for (int64_t t = 0; t < T; ++t) {
            std::vector<double> gates(4 * H);
            for (int64_t g = 0; g < 4 * H; ++g) {
                double s = b_ih[g] + b_hh[g];
                for (int64_t i = 0; i < I; ++i) s += w_ih[g * I + i] * xv[(t * N + n) * I + i];
                for (int64_t j = 0; j < P; ++j) s += w_hh[g * P + j] * h[j];
                gates[g] = s;
            }
            for (int64_t j = 0; j < H; ++j) {
                const double in = sigmoid_ref(gates[j]), forget = sigmoid_ref(gates[H + j]);
                const double cell = std::tanh(gates[2 * H + j]), outg = sigmoid_ref(gates[3 * H + j]);
                c[j] = forget * c[j] + in * cell;
                unprojected[j] = outg * std::tanh(c[j]);
            }
            for (int64_t p = 0; p < P; ++p) {
                if (P == H) {
                    h[p] = unprojected[p];
                    continue;
                }
                h[p] = 0;
                for (int64_t j = 0; j < H; ++j) h[p] += w_hr[p * H + j] * unprojected[j];
            }
            per_step.push_back(h);
        }
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < P; ++j) out.push_back(per_step[t][j]);
    }
    // out is [N, T, P]; reorder to [T, N, P]
    std::vector<double> tnh(out.size());
    for (int64_t n = 0; n < N; ++n)
        for (int64_t t = 0; t < T; ++t)
            for (int64_t j = 0; j < P; ++j) tnh[(t * N + n) * P + j] = out[(n * T + t) * P + j];
    return tnh;
}

// Parameters of a recurrent module by PyTorch name, as doubles.
std::vector<double> param_of(nn::Module& m, const std::string& name) {
    for (auto& [n, p] : m.named_parameters())
        if (n == name) return p.to_vector<double>();
    throw std::runtime_error("no parameter " + name);
}

// One-layer, one-direction GRU (gates r, z, n) or Elman RNN over x [T, N, I] in double with scalar
// loops; output [T, N, H]. weights: weight_ih [G H, I], weight_hh [G H, H], biases [G H].
enum class Cell { gru, rnn_tanh, rnn_relu };
std::vector<double> reference_recurrence(const Tensor& x, nn::Module& m, int64_t H, Cell cell,
                                         const std::string& suffix = "_l0") {
    const int64_t T = x.size(0), N = x.size(1), I = x.size(2), G = cell == Cell::gru ? 3 : 1;
    const auto w_ih = param_of(m, "weight_ih" + suffix), w_hh = param_of(m, "weight_hh" + suffix);
    const auto b_ih = param_of(m, "bias_ih" + suffix), b_hh = param_of(m, "bias_hh" + suffix);
    const auto xv = x.to_vector<double>();
    std::vector<double> out(static_cast<std::size_t>(T * N * H));
    for (int64_t n = 0; n < N; ++n) {
        std::vector<double> h(H, 0);
        for (int64_t t = 0; t < T; ++t) {
            std::vector<double> gi(G * H), gh(G * H);  // W_ih x + b_ih and W_hh h + b_hh
            for (int64_t g = 0; g < G * H; ++g) {
                gi[g] = b_ih[g];
                gh[g] = b_hh[g];
                for (int64_t i = 0; i < I; ++i) gi[g] += w_ih[g * I + i] * xv[(t * N + n) * I + i];
                for (int64_t j = 0; j < H; ++j) gh[g] += w_hh[g * H + j] * h[j];
            }
            std::vector<double> next(H);
            for (int64_t j = 0; j < H; ++j) {
                if (cell == Cell::gru) {
                    const double r = sigmoid_ref(gi[j] + gh[j]), z = sigmoid_ref(gi[H + j] + gh[H + j]);
                    const double cand = std::tanh(gi[2 * H + j] + r * gh[2 * H + j]);
                    next[j] = (1 - z) * cand + z * h[j];
                } else {
                    const double a = gi[j] + gh[j];
                    next[j] = cell == Cell::rnn_tanh ? std::tanh(a) : std::max(a, 0.0);
                }
            }
            h = next;
            for (int64_t j = 0; j < H; ++j) out[(t * N + n) * H + j] = h[j];
        }
    }
    return out;
}

// The fused cell's inputs as a caller has them: input_gates a select of a [T, N, 4H] tensor (as the
// LSTM passes input_part[t]), hidden_gates a transposed view, cx contiguous.
struct CellInputs {
    Tensor input_all, hidden_base, cx;
    Tensor input_gates() const { return input_all.select(0, 1); }
    Tensor hidden_gates() const { return hidden_base.t(); }
};

CellInputs cell_inputs(int64_t n, int64_t h) {
    return {random_tensor({3, n, 4 * h}, kFloat64, 21, -1.5, 1.5).requires_grad_(),
            random_tensor({4 * h, n}, kFloat64, 22, -1.5, 1.5).requires_grad_(),
            random_tensor({n, h}, kFloat64, 23, -1.5, 1.5).requires_grad_()};
}

// The cell as the twelve element-wise ops it fuses.
std::pair<Tensor, Tensor> unfused_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& cx) {
    const int64_t h = cx.size(1);
    const Tensor a = input_gates + hidden_gates;
    const Tensor cy = sigmoid(a.narrow(1, h, h)) * cx + sigmoid(a.narrow(1, 0, h)) * tanh(a.narrow(1, 2 * h, h));
    return {sigmoid(a.narrow(1, 3 * h, h)) * tanh(cy), cy};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_recurrent)

BOOST_AUTO_TEST_CASE(embedding_looks_up_rows_and_withholds_the_padding_gradient) {
    manual_seed(0);
    nn::Embedding emb({.num_embeddings = 6, .embedding_dim = 3, .padding_idx = 0, .dtype = kFloat64});
    BOOST_TEST(emb.weight[0].abs().sum().item() == 0.0);  // the padding row starts at zero
    const Tensor idx = tensor({{2, 0, 5}, {5, 1, 0}}, kInt64);
    const Tensor out = emb(idx);
    BOOST_TEST((out.sizes() == Shape{2, 3, 3}));
    check_values(out[0][0], emb.weight[2].to_vector<double>());
    check_values(out[1][0], emb.weight[5].to_vector<double>());
    check_values(out[0][1], {0, 0, 0});
    out.sum().backward();
    check_values(emb.weight.grad()[0], {0, 0, 0});  // the padding row never trains
    check_values(emb.weight.grad()[5], {2, 2, 2});  // used twice
    check_values(emb.weight.grad()[3], {0, 0, 0});
    // PyTorch's semantics once weights are loaded: the stored padding row is returned as it is,
    // only its gradient is withheld.
    {
        NoGradGuard no_grad;
        emb.weight[0].fill_(0.5);
    }
    emb.weight.grad().zero_();
    const Tensor loaded = emb(idx);
    check_values(loaded[0][1], {0.5, 0.5, 0.5});
    loaded.sum().backward();
    check_values(emb.weight.grad()[0], {0, 0, 0});
    check_error([&] { emb(tensor({{6}}, kInt64)); }, {"embedding", "index 6", "6 embeddings"});
    check_error([&] { emb(tensor({-1}, kInt64)); }, {"embedding", "index -1"});
    check_error([&] { emb(tensor({1.0})); }, {"embedding", "int64"});
    check_error([] { nn::Embedding({.num_embeddings = 3, .embedding_dim = 2, .padding_idx = 3}); }, {"padding_idx 3"});
    check_error([] { nn::F::embedding(tensor({1}, kInt64), ones({3, 2}), 7); }, {"embedding", "padding_idx 7"});
}

BOOST_AUTO_TEST_CASE(embedding_from_pretrained_vectors) {
    const Tensor vectors = tensor({{0.1, 0.2}, {1.0, 2.0}, {3.0, 4.0}}, kFloat64);
    const auto frozen = nn::Embedding::from_pretrained(vectors);
    check_values((*frozen)(tensor({2, 0}, kInt64)), {3.0, 4.0, 0.1, 0.2});
    BOOST_TEST(!frozen->weight.requires_grad());
    BOOST_TEST(frozen->weight.data().storage() != vectors.data().storage());  // a copy
    const auto tuned = nn::Embedding::from_pretrained(vectors, false, 0);
    BOOST_TEST(tuned->weight.requires_grad());
    check_values((*tuned)(tensor({0}, kInt64)), {0.1, 0.2});  // the given padding row is kept
    (*tuned)(tensor({0, 1}, kInt64)).sum().backward();
    check_values(tuned->weight.grad(), {0, 0, 1, 1, 0, 0});
    check_error([] { nn::Embedding::from_pretrained(ones({3})); }, {"from_pretrained", "[3]"});
}

BOOST_AUTO_TEST_CASE(embedding_max_norm_renorms_the_looked_up_rows_in_place) {
    const auto table = [] { return tensor({{3.0, 4.0}, {0.3, 0.4}, {6.0, 8.0}, {1.0, 0.0}}, kFloat64); };
    // L2: row 0 (norm 5) is scaled to norm 1 (by 1 / (5 + 1e-7), as PyTorch); row 1 (norm 0.5) is
    // inside the ball; row 2 is not looked up, so it keeps its norm of 10.
    const Tensor w = table().requires_grad_(true);
    const uint64_t version = w.version();
    const Tensor out = nn::F::embedding(tensor({0, 1, 0}, kInt64), w, {.max_norm = 1.0});
    const double s = 1.0 / (5.0 + 1e-7);
    check_values(w, {3 * s, 4 * s, 0.3, 0.4, 6, 8, 1, 0}, 1e-15);
    check_values(out, {3 * s, 4 * s, 0.3, 0.4, 3 * s, 4 * s}, 1e-15);
    BOOST_TEST(w.version() > version);  // an in-place change, seen by the graph's checks
    out.sum().backward();               // the gradient ignores the renorm, as PyTorch's
    check_values(w.grad(), {2, 2, 1, 1, 0, 0, 0, 0});
    // Other norms: the largest magnitude, and the sum of magnitudes.
    const Tensor inf_norm = table();
    nn::F::embedding_renorm_(inf_norm, tensor({{2}}, kInt64), 2.0, std::numeric_limits<double>::infinity());
    check_values(inf_norm[2], {6 * 2 / (8 + 1e-7), 8 * 2 / (8 + 1e-7)}, 1e-15);
    const Tensor l1 = table();
    nn::F::embedding_renorm_(l1, tensor({0, 3}, kInt64), 3.5, 1.0);
    check_values(l1, {3 * 3.5 / (7 + 1e-7), 4 * 3.5 / (7 + 1e-7), 0.3, 0.4, 6, 8, 1, 0}, 1e-15);
    // A transposed (non-contiguous) table is renormed through its strides.
    const Tensor stored = table().t().contiguous();
    nn::F::embedding_renorm_(stored.t(), tensor({2}, kInt64), 5.0);
    check_values(stored.t()[2], {6 * 5 / (10 + 1e-7), 8 * 5 / (10 + 1e-7)}, 1e-15);
    // As PyTorch, the norm is taken in the weight's type: a float32 row at max_norm stays.
    const Tensor at_norm = tensor({{0.6, 0.8}});
    const std::vector<float> before = at_norm.to_vector<float>();
    nn::F::embedding_renorm_(at_norm, tensor({0}, kInt64), 1.0);
    BOOST_TEST(at_norm.to_vector<float>() == before);
    // The module renorms on every forward.
    nn::Embedding emb({.num_embeddings = 4, .embedding_dim = 2, .max_norm = 1.0, .dtype = kFloat64});
    emb(tensor({0, 1, 2, 3}, kInt64));
    const Tensor norms = norm(emb.weight, 2.0, {1});
    BOOST_TEST(norms.max().item() <= 1.0);
    BOOST_TEST(emb.extra_repr() == "4, 2, max_norm=1.000000");

    check_error([&] { nn::F::embedding(tensor({0}, kInt64), table(), {.max_norm = 0.0}); },
                {"embedding", "max_norm", "positive"});
    check_error([&] { nn::F::embedding(tensor({0}, kInt64), table(), {.max_norm = 1.0, .norm_type = -1.0}); },
                {"embedding", "norm_type"});
    check_error([&] { nn::F::embedding_renorm_(table(), tensor({4}, kInt64), 1.0); },
                {"embedding_renorm_", "index 4", "4 embeddings"});
    check_error([&] { nn::F::embedding_renorm_(ones({4}), tensor({0}, kInt64), 1.0); }, {"embedding_renorm_", "[4]"});
    check_error(
        [&] {
            nn::F::embedding_renorm_(ones({4, 2}, kInt64), tensor({0}, kInt64), 1.0);
        },
        {"embedding_renorm_", "floating", "int64"});
    check_error([] { nn::Embedding({.num_embeddings = 3, .embedding_dim = 2, .max_norm = -1.0}); },
                {"Embedding", "max_norm"});
}

BOOST_AUTO_TEST_CASE(embedding_scales_gradients_by_frequency_and_counts_padding_from_the_end) {
    // Row 1 is used three times, so each use sends a third of its gradient; row 2 once.
    const Tensor w = ones({4, 2}, kFloat64).requires_grad_(true);
    const Tensor idx = tensor({{1, 2}, {1, 1}}, kInt64);
    const Tensor upstream = tensor({{{1.0, 2.0}, {5.0, 5.0}}, {{4.0, 1.0}, {1.0, 3.0}}}, kFloat64);
    (nn::F::embedding(idx, w, {.scale_grad_by_freq = true}) * upstream).sum().backward();
    check_values(w.grad(), {0, 0, 2, 2, 5, 5, 0, 0}, 1e-15);
    // With padding: padding positions send nothing, the others are still divided by their count.
    w.grad().zero_();
    (nn::F::embedding(idx, w, {.padding_idx = -2, .scale_grad_by_freq = true}) * upstream).sum().backward();
    check_values(w.grad(), {0, 0, 2, 2, 0, 0, 0, 0}, 1e-15);
    // The scaled backward is differentiable in the incoming gradient.
    const auto scaled = [&](const std::vector<Tensor>& in) {
        return nn::F::embedding(idx, in[0].t(), {.scale_grad_by_freq = true}) * 3.0;
    };
    const auto second =
        autograd::gradgradcheck(scaled, {random_tensor({2, 4}, kFloat64, 3).requires_grad_(true)}, {.raise = false});
    BOOST_TEST(second.ok, second.message);

    // A negative padding_idx counts from the end and is kept counted from the start, as PyTorch.
    manual_seed(4);
    nn::Embedding emb({.num_embeddings = 3, .embedding_dim = 2, .padding_idx = -1, .scale_grad_by_freq = true});
    BOOST_TEST(*emb.options.padding_idx == 2);
    BOOST_TEST(emb.weight[2].abs().sum().item() == 0.0);
    BOOST_TEST(emb.extra_repr() == "3, 2, padding_idx=2, scale_grad_by_freq=true");
    check_error([] { nn::Embedding({.num_embeddings = 3, .embedding_dim = 2, .padding_idx = -4}); },
                {"Embedding", "padding_idx -4", "3 embeddings"});

    // from_pretrained with the options form.
    const auto tuned = nn::Embedding::from_pretrained(tensor({{3.0, 4.0}, {1.0, 0.0}}, kFloat64),
                                                      {.freeze = false, .padding_idx = -1, .max_norm = 2.5});
    BOOST_TEST(tuned->weight.requires_grad());
    BOOST_TEST(*tuned->options.padding_idx == 1);
    check_values((*tuned)(tensor({0}, kInt64)), {3 * 2.5 / (5 + 1e-7), 4 * 2.5 / (5 + 1e-7)}, 1e-15);
}

BOOST_AUTO_TEST_CASE(embedding_bag_sums_averages_and_takes_maxima_per_bag) {
    // Rows r0..r4 of a [5, 2] table; bags {1, 2}, {}, {4, 0, 3}, {3} given by offsets.
    const Tensor w = tensor({{1.0, 2.0}, {3.0, -1.0}, {-2.0, 4.0}, {0.5, 0.5}, {7.0, -3.0}}, kFloat64);
    const Tensor tokens = tensor({1, 2, 4, 0, 3, 3}, kInt64), offsets = tensor({0, 2, 2, 5}, kInt64);
    using nn::EmbeddingBagMode;
    const auto bag = [&](EmbeddingBagMode mode, nn::F::EmbeddingBagFuncOptions o = {}) {
        o.offsets = o.offsets.defined() ? o.offsets : offsets;
        o.mode = mode;
        return nn::F::embedding_bag(tokens, w, o);
    };
    check_values(bag(EmbeddingBagMode::sum), {1, 3, 0, 0, 8.5, -0.5, 0.5, 0.5});
    check_values(bag(EmbeddingBagMode::mean), {0.5, 1.5, 0, 0, 8.5 / 3, -0.5 / 3, 0.5, 0.5}, 1e-15);
    check_values(bag(EmbeddingBagMode::max), {3, 4, 0, 0, 7, 2, 0.5, 0.5});
    // Padding tokens are left out of their bag: not counted by the mean, ignored by the max.
    check_values(bag(EmbeddingBagMode::mean, {.padding_idx = 3}), {0.5, 1.5, 0, 0, 4, -0.5, 0, 0});
    check_values(bag(EmbeddingBagMode::max, {.padding_idx = 3}), {3, 4, 0, 0, 7, 2, 0, 0});
    // Each token's embedding scaled by its weight before the sum.
    const Tensor psw = tensor({1.0, 2.0, 0.5, -1.0, 2.0, 1.0}, kFloat64);
    check_values(bag(EmbeddingBagMode::sum, {.per_sample_weights = psw}), {-1, 7, 0, 0, 3.5, -2.5, 0.5, 0.5});
    // CSR's layout: the end of the last bag as one more offset.
    check_values(bag(EmbeddingBagMode::sum, {.offsets = tensor({0, 2, 2, 5, 6}, kInt64), .include_last_offset = true}),
                 {1, 3, 0, 0, 8.5, -0.5, 0.5, 0.5});
    // A 2-D input: each row a bag.
    check_values(nn::F::embedding_bag(tensor({{1, 2}, {4, 0}}, kInt64), w, {.mode = EmbeddingBagMode::sum}),
                 {1, 3, 8, -1});
    BOOST_TEST((nn::F::embedding_bag(tensor({0, 1}, kInt64), w, {.offsets = from_vector(std::vector<int64_t>{}, {0})})
                    .sizes() == Shape{0, 2}));

    // Gradients: a sum sends each row once per use; a max sends each component to its maximum.
    const Tensor table = w.clone().requires_grad_(true);
    nn::F::embedding_bag(tokens, table, {.offsets = offsets, .mode = EmbeddingBagMode::sum}).sum().backward();
    check_values(table.grad(), {1, 1, 1, 1, 1, 1, 2, 2, 1, 1});
    table.grad().zero_();
    nn::F::embedding_bag(tokens, table, {.offsets = offsets, .mode = EmbeddingBagMode::max}).sum().backward();
    check_values(table.grad(), {0, 1, 1, 0, 0, 1, 1, 1, 1, 0});
    // Among equal maxima the first token takes the gradient, as in PyTorch: rows 1 and 4 are
    // equal, and row 4 comes first in the bag.
    const Tensor twins = tensor({{1.0, 2.0}, {3.0, -1.0}, {-2.0, 4.0}, {0.5, 0.5}, {3.0, -1.0}}, kFloat64);
    twins.requires_grad_(true);
    nn::F::embedding_bag(tensor({4, 1, 0}, kInt64), twins,
                         {.offsets = tensor({0}, kInt64), .mode = EmbeddingBagMode::max})
        .sum()
        .backward();
    check_values(twins.grad(), {0, 1, 0, 0, 0, 0, 0, 0, 1, 0});
    // Empty bags send nothing back, even an infinite gradient, and a batch of padding only works.
    const Tensor empty_first = w.clone().requires_grad_(true);
    const Tensor maxima = nn::F::embedding_bag(tensor({1, 2}, kInt64), empty_first,
                                               {.offsets = tensor({0, 0}, kInt64), .mode = EmbeddingBagMode::max});
    (maxima * tensor({{std::numeric_limits<double>::infinity()}, {1.0}}, kFloat64)).sum().backward();
    check_values(empty_first.grad(), {0, 0, 1, 0, 0, 1, 0, 0, 0, 0});
    const Tensor padded = w.clone().requires_grad_(true);
    const Tensor none =
        nn::F::embedding_bag(tensor({{0, 0}}, kInt64), padded, {.mode = EmbeddingBagMode::max, .padding_idx = 0});
    check_values(none, {0, 0});
    none.sum().backward();
    check_values(padded.grad(), std::vector<double>(10, 0.0));
    // A negative padding_idx counts from the end; padding tokens take no per-sample weight either.
    check_values(bag(EmbeddingBagMode::sum, {.per_sample_weights = psw, .padding_idx = -2}),
                 {-1, 7, 0, 0, 2.5, -3.5, 0, 0});

    // Bad input names the op and what is wrong.
    const auto sum_of = [&](const Tensor& input, nn::F::EmbeddingBagFuncOptions o) {
        o.mode = EmbeddingBagMode::sum;
        return nn::F::embedding_bag(input, w, o);
    };
    check_error([&] { sum_of(tokens, {.offsets = tensor({1, 2}, kInt64)}); }, {"embedding_bag", "first offset", "0"});
    check_error(
        [&] {
            sum_of(tokens, {.offsets = tensor({0, 4, 2}, kInt64)});
        },
        {"embedding_bag", "offset 2", "never decrease"});
    check_error(
        [&] {
            sum_of(tokens, {.offsets = tensor({0, 7}, kInt64)});
        },
        {"embedding_bag", "offset 1", "6 tokens"});
    check_error([&] { sum_of(tokens, {}); }, {"embedding_bag", "needs offsets"});
    check_error([&] { sum_of(tensor({{1, 2}}, kInt64), {.offsets = offsets}); }, {"embedding_bag", "2-D", "undefined"});
    check_error(
        [&] {
            sum_of(tensor({{1, 2}}, kInt64), {.include_last_offset = true});
        },
        {"embedding_bag", "2-D", "include_last_offset"});
    check_error([&] { bag(EmbeddingBagMode::sum, {.padding_idx = -6}); }, {"embedding_bag", "padding_idx -6"});
    check_error(
        [&] {
            sum_of(tensor({1, 5}, kInt64), {.offsets = tensor({0}, kInt64)});
        },
        {"embedding_bag", "index 5", "position 1", "5 embeddings"});
    check_error([&] { sum_of(tensor({1.0}), {.offsets = tensor({0}, kInt64)}); }, {"embedding_bag", "int64"});
    check_error([&] { sum_of(tokens, {.offsets = tensor({0.0})}); }, {"embedding_bag", "offsets", "int64"});
    check_error([&] { bag(EmbeddingBagMode::mean, {.per_sample_weights = psw}); },
                {"per_sample_weights", "mode sum", "got mode mean"});
    check_error([&] { bag(EmbeddingBagMode::sum, {.per_sample_weights = ones({5}, kFloat64)}); },
                {"per_sample_weights", "[5]", "[6]"});
    check_error([&] { bag(EmbeddingBagMode::sum, {.padding_idx = 5}); }, {"embedding_bag", "padding_idx 5"});
    check_error(
        [&] { sum_of(tokens, {.offsets = from_vector(std::vector<int64_t>{}, {0}), .include_last_offset = true}); },
        {"embedding_bag", "include_last_offset"});
}

BOOST_AUTO_TEST_CASE(embedding_bag_max_norm_frequency_scaling_and_pretrained_vectors) {
    using nn::EmbeddingBagMode;
    // Bags {1, 2} and {1}: a mean sends row 1 a half from the first bag and all of the second,
    // each use divided by row 1's count of 2; row 2 gets its half. (PyTorch 1.13's CPU backward
    // gives row 2 a quarter, dividing by the wrong count: pytorch/pytorch#190063, fixed upstream.)
    const Tensor w = ones({3, 2}, kFloat64).requires_grad_(true);
    const Tensor tokens = tensor({1, 2, 1}, kInt64), offsets = tensor({0, 2}, kInt64);
    nn::F::embedding_bag(tokens, w, {.offsets = offsets, .scale_grad_by_freq = true}).sum().backward();
    check_values(w.grad(), {0, 0, 0.75, 0.75, 0.5, 0.5}, 1e-15);
    check_error(
        [&] {
            nn::F::embedding_bag(tokens, w,
                                 {.offsets = offsets, .mode = EmbeddingBagMode::max, .scale_grad_by_freq = true});
        },
        {"embedding_bag", "scale_grad_by_freq", "max"});
    // max_norm renorms the rows the input names, padding included (as PyTorch), before the bags.
    const Tensor table = tensor({{3.0, 4.0}, {0.0, 10.0}, {6.0, 8.0}}, kFloat64);
    const Tensor sums = nn::F::embedding_bag(tensor({{0, 1}}, kInt64), table,
                                             {.mode = EmbeddingBagMode::sum, .padding_idx = 1, .max_norm = 2.0});
    const double s = 2.0 / (5 + 1e-7);
    check_values(sums, {3 * s, 4 * s}, 1e-15);
    check_values(table, {3 * s, 4 * s, 0, 10 * 2 / (10 + 1e-7), 6, 8}, 1e-15);

    const Tensor vectors = tensor({{0.1, 0.2}, {1.0, 2.0}, {3.0, 4.0}}, kFloat64);
    const auto frozen = nn::EmbeddingBag::from_pretrained(vectors, {.mode = EmbeddingBagMode::sum});
    BOOST_TEST(!frozen->weight.requires_grad());
    BOOST_TEST(frozen->weight.data().storage() != vectors.data().storage());  // a copy
    check_values((*frozen)(tensor({{2, 0}}, kInt64)), {3.1, 4.2}, 1e-15);
    const auto tuned =
        nn::EmbeddingBag::from_pretrained(vectors, {.freeze = false, .mode = EmbeddingBagMode::max, .padding_idx = -3});
    BOOST_TEST(tuned->weight.requires_grad());
    BOOST_TEST(*tuned->options.padding_idx == 0);
    check_values((*tuned)(tensor({{0, 1}}, kInt64)), {1.0, 2.0});
    check_values(tuned->weight[0], {0.1, 0.2});  // the given padding row is kept
    check_error([] { nn::EmbeddingBag::from_pretrained(ones({3})); }, {"EmbeddingBag::from_pretrained", "[3]"});
    // Loading vectors draws no random numbers, as PyTorch's from_pretrained.
    manual_seed(9);
    const double first_draw = randn({1}).item();
    manual_seed(9);
    nn::EmbeddingBag::from_pretrained(ones({100, 4}));
    nn::Embedding::from_pretrained(ones({100, 4}), {.freeze = false});
    BOOST_TEST(randn({1}).item() == first_draw);
    BOOST_TEST(
        nn::EmbeddingBag({.num_embeddings = 3, .embedding_dim = 2, .max_norm = 1.0, .norm_type = 1.0}).extra_repr() ==
        "3, 2, mode=mean, max_norm=1.000000, norm_type=1.000000");
    check_error(
        [] {
            nn::EmbeddingBag(
                {.num_embeddings = 3, .embedding_dim = 2, .mode = EmbeddingBagMode::max, .scale_grad_by_freq = true});
        },
        {"EmbeddingBag", "scale_grad_by_freq"});
    check_error([] { nn::EmbeddingBag({.num_embeddings = 3, .embedding_dim = 2, .norm_type = 0.0}); },
                {"EmbeddingBag", "norm_type"});
}

BOOST_AUTO_TEST_CASE(embedding_bag_gradcheck_over_modes_and_views) {
    using nn::EmbeddingBagMode;
    // The table reaches the op as a transposed (non-contiguous) view, the sample weights too.
    const Tensor base = random_tensor({3, 7}, kFloat64, 11).requires_grad_(true);
    const Tensor tokens = tensor({{4, 0, 6}, {2, 2, 5}}, kInt64);
    const Tensor flat = tensor({1, 3, 3, 0, 6, 5, 2}, kInt64), offsets = tensor({0, 3, 3, 5}, kInt64);
    for (const EmbeddingBagMode mode : {EmbeddingBagMode::sum, EmbeddingBagMode::mean, EmbeddingBagMode::max}) {
        for (const std::optional<int64_t> padding : {std::optional<int64_t>{}, std::optional<int64_t>{3}}) {
            const auto two_d = [&](const std::vector<Tensor>& in) {
                return nn::F::embedding_bag(tokens, in[0].t(), {.mode = mode, .padding_idx = padding});
            };
            const auto one_d = [&](const std::vector<Tensor>& in) {
                return nn::F::embedding_bag(flat, in[0].t(),
                                            {.offsets = offsets, .mode = mode, .padding_idx = padding});
            };
            const auto r2 = autograd::gradcheck(two_d, {base}, {.raise = false});
            BOOST_TEST(r2.ok, r2.message);
            const auto r1 = autograd::gradcheck(one_d, {base}, {.raise = false});
            BOOST_TEST(r1.ok, r1.message);
        }
    }
    const Tensor weights = random_tensor({3, 2}, kFloat64, 12).requires_grad_(true);  // [2, 3] as its transpose
    const auto weighted = [&](const std::vector<Tensor>& in) {
        return nn::F::embedding_bag(tokens, in[0].t(),
                                    {.mode = EmbeddingBagMode::sum, .per_sample_weights = in[1].t()});
    };
    const auto r = autograd::gradcheck(weighted, {base, weights}, {.raise = false});
    BOOST_TEST(r.ok, r.message);
    // The maximum's backward is differentiable in the incoming gradient.
    const auto maxima = [&](const std::vector<Tensor>& in) {
        return nn::F::embedding_bag(flat, in[0].t(), {.offsets = offsets, .mode = EmbeddingBagMode::max});
    };
    const auto second = autograd::gradgradcheck(maxima, {base}, {.raise = false});
    BOOST_TEST(second.ok, second.message);
}

BOOST_AUTO_TEST_CASE(embedding_bag_module_as_in_pytorch) {
    manual_seed(2);
    nn::EmbeddingBag bag({.num_embeddings = 6, .embedding_dim = 4, .padding_idx = 0, .dtype = kFloat64});
    BOOST_TEST(bag.weight[0].abs().sum().item() == 0.0);  // the padding row starts at zero
    BOOST_TEST(bag.extra_repr() == "6, 4, mode=mean, padding_idx=0");
    const Tensor tokens = tensor({{1, 0, 2}, {3, 3, 0}}, kInt64);
    // The mean of the non-padding tokens of each row.
    check_values(bag(tokens)[0], ((bag.weight[1] + bag.weight[2]) / 2.0).to_vector<double>(), 1e-15);
    check_values(bag(tokens)[1], bag.weight[3].to_vector<double>(), 1e-15);
    int calls = 0;
    auto handle = bag.register_forward_hook([&](nn::Module&, const Tensor&, const Tensor& out) {
        ++calls;
        BOOST_TEST((out.sizes() == Shape{2, 4}));
    });
    bag(tensor({1, 2, 3}, kInt64), tensor({0, 1}, kInt64));
    BOOST_TEST(calls == 1);
    handle.remove();
    BOOST_TEST(*nn::EmbeddingBag({.num_embeddings = 5, .embedding_dim = 3, .padding_idx = -1}).options.padding_idx ==
               4);
    nn::EmbeddingBag positional(10, 3);
    BOOST_TEST((positional.weight.sizes() == Shape{10, 3}));
    BOOST_TEST(positional.named_parameters().at(0).first == "weight");
    check_error([] { nn::EmbeddingBag({.num_embeddings = 0, .embedding_dim = 2}); }, {"EmbeddingBag", "positive"});
    check_error([] { nn::EmbeddingBag({.num_embeddings = 3, .embedding_dim = 2, .padding_idx = 3}); },
                {"EmbeddingBag", "padding_idx 3"});
}

BOOST_AUTO_TEST_CASE(lstm_follows_its_equations) {
    manual_seed(1);
    nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .dtype = kFloat64});
    const Tensor x = random_tensor({5, 2, 3}, kFloat64, 2);
    const nn::LSTMOutput out = lstm.forward_with_state(x);
    BOOST_TEST((out.output.sizes() == Shape{5, 2, 4}));
    BOOST_TEST((out.state.h.sizes() == Shape{1, 2, 4}));
    const std::vector<double> expected = reference_lstm(x, lstm);
    check_values(out.output, expected, 1e-12);
    check_values(out.state.h[0], out.output[4].to_vector<double>(), 1e-15);  // h_n is the last output
    // PyTorch's names and shapes, gate order i, f, g, o.
    const auto named = lstm.named_parameters();
    BOOST_TEST(named.size() == 4u);
    BOOST_TEST(named[0].first == "weight_ih_l0");
    BOOST_TEST((named[1].second.sizes() == Shape{16, 4}));
    // batch_first is the same computation on transposed layouts.
    manual_seed(1);
    nn::LSTM lstm_bf({.input_size = 3, .hidden_size = 4, .batch_first = true, .dtype = kFloat64});
    check_values(lstm_bf(x.transpose(0, 1)).transpose(0, 1), expected, 1e-12);
}

BOOST_AUTO_TEST_CASE(lstm_with_projections_follows_its_equations) {
    // Sak et al. 2014 (PyTorch's proj_size): h = W_hr (o * tanh(c)) with 2 features, c with 4.
    manual_seed(4);
    nn::LSTM lstm({.input_size = 3, .hidden_size = 4, .dtype = kFloat64, .proj_size = 2});
    const Tensor x = random_tensor({5, 2, 3}, kFloat64, 6);
    const nn::LSTMOutput out = lstm.forward_with_state(x);
    BOOST_TEST((out.output.sizes() == Shape{5, 2, 2}));
    BOOST_TEST((out.state.h.sizes() == Shape{1, 2, 2}));
    BOOST_TEST((out.state.c.sizes() == Shape{1, 2, 4}));
    check_values(out.output, reference_lstm(x, lstm), 1e-12);
    // PyTorch's parameters, in its order, the projection last.
    const auto named = lstm.named_parameters();
    BOOST_TEST(named.size() == 5u);
    BOOST_TEST(named[4].first == "weight_hr_l0");
    BOOST_TEST((named[4].second.sizes() == Shape{2, 4}));
    BOOST_TEST((named[1].second.sizes() == Shape{16, 2}));  // weight_hh reads the projected h
    BOOST_TEST(lstm.extra_repr().find("proj_size=2") != std::string::npos);

    // Two layers, both directions: the second layer reads 2 x 2 projected features; states and
    // padded sequences as without a projection.
    nn::LSTM deep(
        {.input_size = 3, .hidden_size = 4, .num_layers = 2, .bidirectional = true, .dtype = kFloat64, .proj_size = 3});
    BOOST_TEST((param_of(deep, "weight_ih_l1_reverse").size() == 16u * 6u));
    const Tensor h0 = random_tensor({4, 2, 3}, kFloat64, 7), c0 = random_tensor({4, 2, 4}, kFloat64, 8);
    const nn::LSTMOutput both = deep.forward_with_state(x, {h0, c0}, tensor({5, 3}, kInt64));
    BOOST_TEST((both.output.sizes() == Shape{5, 2, 6}));
    BOOST_TEST((both.state.h.sizes() == Shape{4, 2, 3}));
    BOOST_TEST((both.state.c.sizes() == Shape{4, 2, 4}));
    const nn::LSTMOutput second =
        deep.forward_with_state(x.narrow(0, 0, 3).narrow(1, 1, 1), {h0.narrow(1, 1, 1), c0.narrow(1, 1, 1)});
    check_values(both.output.narrow(0, 0, 3).narrow(1, 1, 1), second.output.to_vector<double>(), 1e-12);
    check_values(both.state.c.narrow(1, 1, 1), second.state.c.to_vector<double>(), 1e-12);

    // Gradients through the projection, the states and the lengths.
    const auto fn = [&](const std::vector<Tensor>& a) {
        const nn::LSTMOutput r = deep.forward_with_state(a[0], {a[1], a[2]}, tensor({5, 3}, kInt64));
        return r.output.sum() + (r.state.h * 2.0).sum() + r.state.c.sum();
    };
    auto result = autograd::gradcheck(
        fn, {x.detach().requires_grad_(), h0.detach().requires_grad_(), c0.detach().requires_grad_()},
        {.raise = false});
    BOOST_TEST(result.ok, result.message);
    const auto through_weights = [&](const std::vector<Tensor>&) { return deep(x).sum(); };
    auto weights = autograd::gradcheck(
        through_weights, {deep.named_parameters()[4].second, deep.named_parameters()[9].second}, {.raise = false});
    BOOST_TEST(weights.ok, weights.message);

    check_error([&] { deep.forward_with_state(x, {h0, h0}); }, {"LSTM", "[4, 2, 3]", "c of shape [4, 2, 4]"});
    check_error([] { nn::LSTM({.input_size = 3, .hidden_size = 4, .proj_size = 4}); },
                {"LSTM", "proj_size", "below hidden_size 4", "4"});
    check_error([] { nn::LSTM({.input_size = 3, .hidden_size = 4, .proj_size = -1}); }, {"LSTM", "proj_size", "-1"});
    check_error([] { nn::GRU({.input_size = 3, .hidden_size = 4, .proj_size = 2}); },
                {"GRU", "proj_size is only supported for LSTM"});
}

BOOST_AUTO_TEST_CASE(padded_sequences_match_unpadded_ones_in_both_directions) {
    manual_seed(3);
    nn::LSTM lstm({.input_size = 2,
                   .hidden_size = 3,
                   .num_layers = 2,
                   .batch_first = true,
                   .bidirectional = true,
                   .dtype = kFloat64});
    const Tensor a = random_tensor({1, 5, 2}, kFloat64, 4), b = random_tensor({1, 3, 2}, kFloat64, 5);
    // b padded with garbage to length 5: the garbage must not matter.
    const Tensor batch = cat({a, cat({b, full({1, 2, 2}, 7.0, kFloat64)}, 1)}, 0);
    const nn::LSTMOutput padded = lstm.forward_with_state(batch, {}, tensor({5, 3}, kInt64));
    const nn::LSTMOutput alone_a = lstm.forward_with_state(a), alone_b = lstm.forward_with_state(b);
    BOOST_TEST((padded.output.sizes() == Shape{2, 5, 6}));
    check_values(padded.output[0], alone_a.output[0].to_vector<double>(), 1e-12);
    check_values(padded.output[1].narrow(0, 0, 3), alone_b.output[0].to_vector<double>(), 1e-12);
    check_values(padded.output[1].narrow(0, 3, 2), std::vector<double>(12, 0.0));  // zero past the end
    check_values(padded.state.h.select(1, 1), alone_b.state.h.select(1, 0).to_vector<double>(), 1e-12);
    check_values(padded.state.c.select(1, 0), alone_a.state.c.select(1, 0).to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(dropout_acts_between_layers_only) {
    const Tensor x = random_tensor({4, 3, 2}, kFloat64, 6);
    manual_seed(7);
    nn::LSTM one_layer({.input_size = 2, .hidden_size = 3, .dropout = 0.5, .dtype = kFloat64});
    BOOST_TEST(equal(one_layer(x), one_layer(x)));  // nothing between layers to drop
    nn::LSTM two_layers({.input_size = 2, .hidden_size = 3, .num_layers = 2, .dropout = 0.5, .dtype = kFloat64});
    BOOST_TEST(!equal(two_layers(x), two_layers(x)));  // training: fresh masks each call
    two_layers.eval();
    BOOST_TEST(equal(two_layers(x), two_layers(x)));
    // With every unit of layer 1 dropped, layer 2 sees zeros: its output is the LSTM of a zero input.
    nn::LSTM all_dropped({.input_size = 2, .hidden_size = 3, .num_layers = 2, .dropout = 1.0, .dtype = kFloat64});
    const Tensor h_first = all_dropped(x);
    const Tensor h_second = all_dropped(x * 3.0);
    check_values(h_first, h_second.to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(an_lstm_learns_to_count) {
    // Is the number of positive entries in a sequence of 8 larger than 4? It needs memory.
    manual_seed(8);
    Generator gen(9);
    const Tensor x = normal({64, 8, 1}, 0, 1, kFloat32, &gen);
    const Tensor y = ((x > 0.0).to(kFloat32).sum({1, 2}) > 4.0).to(kInt64);
    nn::LSTM lstm({.input_size = 1, .hidden_size = 16, .batch_first = true});
    nn::Linear head({.in_features = 16, .out_features = 2});
    std::vector<Tensor> params = lstm.parameters();
    for (const Tensor& p : head.parameters()) params.push_back(p);
    optim::Adam opt(params, {.lr = 0.02});
    double first = 0, last = 0;
    for (int step = 0; step < 150; ++step) {
        opt.zero_grad();
        const Tensor h = lstm.forward_with_state(x).state.h[0];
        Tensor loss = nn::F::cross_entropy(head(h), y);
        loss.backward();
        opt.step();
        (step == 0 ? first : last) = loss.item();
    }
    BOOST_TEST(last < 0.3 * first);
}

BOOST_AUTO_TEST_CASE(bad_inputs_are_reported) {
    nn::LSTM lstm({.input_size = 3, .hidden_size = 2});
    check_error([&] { lstm(ones({4})); }, {"LSTM", "[T, N, input_size]", "[4]"});
    check_error([&] { lstm(ones({4, 2, 5})); }, {"LSTM", "5 features", "input_size is 3"});
    check_error(
        [&] {
            lstm.forward_with_state(ones({4, 2, 3}), {}, tensor({4, 5}, kInt64));
        },
        {"LSTM", "lengths", "between 1 and", "from 4 to 5"});
    check_error(
        [&] {
            lstm.forward_with_state(ones({4, 2, 3}), {}, tensor({4}, kInt64));
        },
        {"LSTM", "lengths", "[2] int64"});
    check_error(
        [&] {
            lstm.forward_with_state(ones({4, 2, 3}), {zeros({1, 3, 2}), zeros({1, 3, 2})});
        },
        {"LSTM", "expected h of shape [1, 2, 2] and c of shape [1, 2, 2]", "[1, 3, 2]"});
    check_error([] { nn::LSTM({.input_size = 3, .hidden_size = 0}); }, {"LSTM", "positive"});
    // Inputs or states of another dtype than the weights, and half of an LSTM's state.
    check_error([&] { lstm(ones({4, 2, 3}, kFloat64)); }, {"LSTM", "input is float64", "weights are float32"});
    check_error(
        [&] {
            lstm.forward_with_state(ones({4, 2, 3}), {zeros({1, 2, 2}), Tensor()});
        },
        {"LSTM", "h0 without c0"});
    check_error([&] { lstm.forward_with_state(ones({4, 3}), {}, tensor({4}, kInt64)); }, {"LSTM", "unbatched"});
}

BOOST_AUTO_TEST_CASE(unbatched_sequences_and_samples_run_as_a_batch_of_one) {
    // PyTorch takes one sequence [T, input_size] (states [layers * directions, H]) and one cell
    // input [input_size]: the same numbers as a batch of one, without the batch dim.
    manual_seed(3);
    nn::LSTM lstm({.input_size = 3, .hidden_size = 2, .num_layers = 2, .bidirectional = true});
    const Tensor x = randn({5, 3}), h0 = randn({4, 2}), c0 = randn({4, 2});
    const nn::LSTMOutput one = lstm.forward_with_state(x, {h0, c0});
    const nn::LSTMOutput batch = lstm.forward_with_state(x.unsqueeze(1), {h0.unsqueeze(1), c0.unsqueeze(1)});
    BOOST_TEST((one.output.sizes() == Shape{5, 4}));
    BOOST_TEST((one.state.h.sizes() == Shape{4, 2}));
    BOOST_TEST(equal(one.output, batch.output.squeeze(1)));
    BOOST_TEST(equal(one.state.c, batch.state.c.squeeze(1)));
    nn::GRU gru({.input_size = 3, .hidden_size = 2, .batch_first = true});
    BOOST_TEST(equal(gru(x), gru(x.unsqueeze(0)).squeeze(0)));
    check_error([&] { gru.forward_with_state(x, zeros({1, 1, 2})); }, {"GRU", "unbatched", "[1, 1, 2]"});

    nn::LSTMCell lstm_cell({.input_size = 3, .hidden_size = 2});
    const nn::LSTMState step = lstm_cell.forward_with_state(x[0], {h0[0], c0[0]});
    const nn::LSTMState batched =
        lstm_cell.forward_with_state(x[0].unsqueeze(0), {h0[0].unsqueeze(0), c0[0].unsqueeze(0)});
    BOOST_TEST((step.h.sizes() == Shape{2}));
    BOOST_TEST(equal(step.c, batched.c.squeeze(0)));
    nn::GRUCell gru_cell({.input_size = 3, .hidden_size = 2});
    BOOST_TEST(equal(gru_cell(x[1]), gru_cell(x[1].unsqueeze(0)).squeeze(0)));
    nn::RNNCell rnn_cell({.input_size = 3, .hidden_size = 2});
    BOOST_TEST((rnn_cell.forward_with_state(x[1], h0[1]).sizes() == Shape{2}));
}

BOOST_AUTO_TEST_CASE(fused_lstm_cell_matches_the_ops_it_fuses) {
    const CellInputs in = cell_inputs(3, 4);
    const auto [hy, cy] = nn::F::fused_lstm_cell(in.input_gates(), in.hidden_gates(), in.cx);
    const auto [hy_ref, cy_ref] = unfused_cell(in.input_gates(), in.hidden_gates(), in.cx);
    check_values(hy, hy_ref.to_vector<double>(), 1e-14);
    check_values(cy, cy_ref.to_vector<double>(), 1e-14);
    // float32 too, against the float64 result.
    const auto [hy32, cy32] =
        nn::F::fused_lstm_cell(in.input_gates().to(kFloat32), in.hidden_gates().to(kFloat32), in.cx.to(kFloat32));
    check_values(hy32, hy_ref.to_vector<double>(), 1e-6);
    check_values(cy32, cy_ref.to_vector<double>(), 1e-6);
}

BOOST_AUTO_TEST_CASE(fused_lstm_cell_gradients_and_second_derivatives) {
    const CellInputs in = cell_inputs(2, 3);
    // Both outputs, h alone (no gradient arrives for c) and c alone.
    const std::vector<std::function<Tensor(const std::pair<Tensor, Tensor>&)>> uses = {
        [](const std::pair<Tensor, Tensor>& o) {
            return cat({o.first, o.second * 0.7}, 1);
        },
        [](const std::pair<Tensor, Tensor>& o) { return o.first; },
        [](const std::pair<Tensor, Tensor>& o) { return o.second; },
    };
    for (const auto& use : uses) {
        const autograd::TensorFunction fn = [&](const std::vector<Tensor>& a) {
            return use(nn::F::fused_lstm_cell(a[0].select(0, 1), a[1].t(), a[2]));
        };
        const std::vector<Tensor> args = {in.input_all, in.hidden_base, in.cx};
        const auto first = autograd::gradcheck(fn, args, {.raise = false});
        BOOST_TEST(first.ok, first.message);
        const auto second = autograd::gradgradcheck(fn, args, {.raise = false});
        BOOST_TEST(second.ok, second.message);
    }
}

BOOST_AUTO_TEST_CASE(fused_lstm_cell_fast_backward_equals_its_differentiable_form) {
    // Without create_graph the backward is one fused loop; with it, differentiable ops. Same values.
    const CellInputs in = cell_inputs(5, 7);
    const auto [hy, cy] = nn::F::fused_lstm_cell(in.input_gates(), in.hidden_gates(), in.cx);
    const Tensor loss = (hy * hy).sum() + (cy * 0.3).sum();
    const std::vector<Tensor> inputs = {in.input_all, in.hidden_base, in.cx};
    const auto fast = autograd::grad({loss}, inputs, {}, true, false);
    const auto recorded = autograd::grad({loss}, inputs, {}, true, true);
    for (std::size_t k = 0; k < inputs.size(); ++k) check_values(fast[k], recorded[k].to_vector<double>(), 1e-13);
}

BOOST_AUTO_TEST_CASE(fused_lstm_cell_reports_bad_inputs) {
    check_error(
        [] {
            nn::F::fused_lstm_cell(zeros({2, 8}), zeros({2, 8}), zeros({2, 3}));
        },
        {"fused_lstm_cell", "[2, 12]", "[2, 8]"});
    check_error(
        [] {
            nn::F::fused_lstm_cell(zeros({2, 8}), zeros({2, 8}), zeros({2}));
        },
        {"fused_lstm_cell", "cx [N, H]"});
    check_error(
        [] {
            nn::F::fused_lstm_cell(zeros({2, 8}), zeros({2, 8}, kFloat64), zeros({2, 2}));
        },
        {"fused_lstm_cell", "dtype", "float64"});
}

BOOST_AUTO_TEST_CASE(gru_and_rnn_follow_their_equations) {
    const Tensor x = random_tensor({5, 2, 3}, kFloat64, 12);
    manual_seed(2);
    nn::GRU gru({.input_size = 3, .hidden_size = 4, .dtype = kFloat64});
    const nn::RNNOutput out = gru.forward_with_state(x);
    check_values(out.output, reference_recurrence(x, gru, 4, Cell::gru), 1e-12);
    BOOST_TEST((out.h.sizes() == Shape{1, 2, 4}));
    check_values(out.h[0], out.output[4].to_vector<double>(), 1e-15);
    const auto named = gru.named_parameters();
    BOOST_TEST(named.size() == 4u);
    BOOST_TEST(named[0].first == "weight_ih_l0");
    BOOST_TEST((named[0].second.sizes() == Shape{12, 3}));  // 3 gates r, z, n
    for (const nn::Nonlinearity f : {nn::Nonlinearity::tanh, nn::Nonlinearity::relu}) {
        nn::RNN rnn({.input_size = 3, .hidden_size = 4, .nonlinearity = f, .dtype = kFloat64});
        check_values(rnn(x),
                     reference_recurrence(x, rnn, 4, f == nn::Nonlinearity::tanh ? Cell::rnn_tanh : Cell::rnn_relu),
                     1e-12);
        BOOST_TEST((rnn.named_parameters()[1].second.sizes() == Shape{4, 4}));
    }
    // batch_first, and the reverse direction of a bidirectional GRU is the GRU of the reversed input.
    manual_seed(2);
    nn::GRU gru_bf({.input_size = 3, .hidden_size = 4, .batch_first = true, .dtype = kFloat64});
    check_values(gru_bf(x.transpose(0, 1)).transpose(0, 1), out.output.to_vector<double>(), 1e-12);
    nn::GRU bi({.input_size = 3, .hidden_size = 4, .bidirectional = true, .dtype = kFloat64});
    const Tensor reversed = index_select(x, 0, tensor({4, 3, 2, 1, 0}, kInt64));
    const Tensor backward_half = bi(x).narrow(2, 4, 4);
    check_values(index_select(backward_half, 0, tensor({4, 3, 2, 1, 0}, kInt64)),
                 reference_recurrence(reversed, bi, 4, Cell::gru, "_l0_reverse"), 1e-12);
}

BOOST_AUTO_TEST_CASE(gru_padded_sequences_match_unpadded_ones) {
    manual_seed(4);
    nn::GRU gru({.input_size = 2,
                 .hidden_size = 3,
                 .num_layers = 2,
                 .batch_first = true,
                 .bidirectional = true,
                 .dtype = kFloat64});
    const Tensor a = random_tensor({1, 5, 2}, kFloat64, 4), b = random_tensor({1, 3, 2}, kFloat64, 5);
    const Tensor batch = cat({a, cat({b, full({1, 2, 2}, 7.0, kFloat64)}, 1)}, 0);
    const nn::RNNOutput padded = gru.forward_with_state(batch, {}, tensor({5, 3}, kInt64));
    const nn::RNNOutput alone_a = gru.forward_with_state(a), alone_b = gru.forward_with_state(b);
    check_values(padded.output[0], alone_a.output[0].to_vector<double>(), 1e-12);
    check_values(padded.output[1].narrow(0, 0, 3), alone_b.output[0].to_vector<double>(), 1e-12);
    check_values(padded.output[1].narrow(0, 3, 2), std::vector<double>(12, 0.0));
    check_values(padded.h.select(1, 1), alone_b.h.select(1, 0).to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(cells_are_one_step_of_their_layers) {
    const Tensor x = random_tensor({3, 4}, kFloat64, 13);
    const Tensor h = random_tensor({3, 5}, kFloat64, 14), c = random_tensor({3, 5}, kFloat64, 15);
    auto copy_weights = [](nn::Module& cell, nn::Module& layer) {
        NoGradGuard no_grad;
        const auto from = layer.named_parameters();
        for (auto& [name, p] : cell.named_parameters())
            for (const auto& [layer_name, q] : from)
                if (layer_name == name + "_l0") p.copy_(q);
    };
    nn::LSTM lstm({.input_size = 4, .hidden_size = 5, .dtype = kFloat64});
    nn::LSTMCell lstm_cell({.input_size = 4, .hidden_size = 5, .dtype = kFloat64});
    copy_weights(lstm_cell, lstm);
    const nn::LSTMOutput lstm_out = lstm.forward_with_state(x.unsqueeze(0), {h.unsqueeze(0), c.unsqueeze(0)});
    const nn::LSTMState step = lstm_cell.forward_with_state(x, {h, c});
    check_values(step.h, lstm_out.state.h[0].to_vector<double>(), 1e-14);
    check_values(step.c, lstm_out.state.c[0].to_vector<double>(), 1e-14);

    nn::GRU gru({.input_size = 4, .hidden_size = 5, .dtype = kFloat64});
    nn::GRUCell gru_cell({.input_size = 4, .hidden_size = 5, .dtype = kFloat64});
    copy_weights(gru_cell, gru);
    check_values(gru_cell.forward_with_state(x, h),
                 gru.forward_with_state(x.unsqueeze(0), h.unsqueeze(0)).h[0].to_vector<double>(), 1e-14);

    nn::RNN rnn({.input_size = 4, .hidden_size = 5, .nonlinearity = nn::Nonlinearity::relu, .dtype = kFloat64});
    nn::RNNCell rnn_cell(
        {.input_size = 4, .hidden_size = 5, .nonlinearity = nn::Nonlinearity::relu, .dtype = kFloat64});
    copy_weights(rnn_cell, rnn);
    check_values(rnn_cell.forward_with_state(x, h),
                 rnn.forward_with_state(x.unsqueeze(0), h.unsqueeze(0)).h[0].to_vector<double>(), 1e-14);
    // No state: zeros, as in PyTorch.
    check_values(gru_cell(x), gru_cell.forward_with_state(x, zeros({3, 5}, kFloat64)).to_vector<double>(), 0);
    BOOST_TEST(gru_cell.named_parameters()[0].first == "weight_ih");
    BOOST_TEST((gru_cell.weight_hh.sizes() == Shape{15, 5}));
}

BOOST_AUTO_TEST_CASE(fused_gru_cell_gradients_and_second_derivatives) {
    const Tensor ig = random_tensor({3, 2, 12}, kFloat64, 31, -1.5, 1.5).requires_grad_();
    const Tensor hg = random_tensor({12, 2}, kFloat64, 32, -1.5, 1.5).requires_grad_();
    const Tensor hx = random_tensor({2, 4}, kFloat64, 33, -1.5, 1.5).requires_grad_();
    // Strided views in: a select of [T, N, 3H] and a transpose.
    const autograd::TensorFunction fn = [](const std::vector<Tensor>& a) {
        return nn::F::fused_gru_cell(a[0].select(0, 1), a[1].t(), a[2]);
    };
    const auto first = autograd::gradcheck(fn, {ig, hg, hx}, {.raise = false});
    BOOST_TEST(first.ok, first.message);
    const auto second = autograd::gradgradcheck(fn, {ig, hg, hx}, {.raise = false});
    BOOST_TEST(second.ok, second.message);
    // The fast backward (one loop) equals the differentiable one used under create_graph.
    const Tensor loss = (fn({ig, hg, hx}) * fn({ig, hg, hx})).sum();
    const auto fast = autograd::grad({loss}, {ig, hg, hx}, {}, true, false);
    const auto recorded = autograd::grad({loss}, {ig, hg, hx}, {}, true, true);
    for (std::size_t k = 0; k < 3; ++k) check_values(fast[k], recorded[k].to_vector<double>(), 1e-13);
    // float32 forward against float64.
    check_values(nn::F::fused_gru_cell(ig.select(0, 1).to(kFloat32), hg.t().to(kFloat32), hx.to(kFloat32)),
                 fn({ig, hg, hx}).to_vector<double>(), 1e-6);
}

BOOST_AUTO_TEST_CASE(gru_rnn_and_cells_report_bad_inputs) {
    nn::GRU gru({.input_size = 3, .hidden_size = 2});
    check_error([&] { gru(ones({4})); }, {"GRU", "[T, N, input_size]", "[4]"});
    check_error(
        [&] {
            gru.forward_with_state(ones({4, 2, 3}), zeros({1, 3, 2}));
        },
        {"GRU", "expected h of shape", "[1, 2, 2]"});
    check_error(
        [&] {
            gru.forward_with_state(ones({4, 2, 3}), {}, tensor({4, 0}, kInt64));
        },
        {"GRU", "lengths", "between 1 and"});
    nn::RNN rnn({.input_size = 3, .hidden_size = 2});
    check_error([&] { rnn(ones({4, 2, 5})); }, {"RNN", "5 features", "input_size is 3"});
    check_error([] { nn::RNN({.input_size = 3, .hidden_size = 2, .dropout = 2}); },
                {"RNN", "dropout", "between 0 and 1"});
    nn::LSTMCell cell({.input_size = 3, .hidden_size = 2});
    check_error([&] { cell(ones({4, 5})); }, {"LSTMCell", "[N, 3]", "[4, 5]"});
    check_error(
        [&] {
            cell.forward_with_state(ones({4, 3}), {zeros({4, 3}), zeros({4, 2})});
        },
        {"LSTMCell", "h of shape", "[4, 2]"});
    check_error([] { nn::GRUCell({.input_size = 0, .hidden_size = 2}); }, {"GRUCell", "positive"});
    check_error([&] { cell.forward_with_state(ones({4, 3}), {zeros({4, 2}), Tensor()}); }, {"LSTMCell", "h without c"});
    check_error([&] { cell(ones({4, 3}, kFloat64)); }, {"LSTMCell", "input is float64", "weights are float32"});
    check_error(
        [] {
            nn::F::fused_gru_cell(zeros({2, 6}), zeros({2, 6}), zeros({2, 3}));
        },
        {"fused_gru_cell", "[2, 9]"});
}

BOOST_AUTO_TEST_SUITE_END()
