// Convolution and pooling against direct loops over the definitions (float64), with stride,
// padding and dilation, and their errors. Gradients are in the gradcheck tables
// (test_gradients.cpp: unfold2d, fold2d, max_pool2d; test_nn.cpp: Conv1d, Conv2d, pooling).
#include <cmath>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {

// out[n, o, i, j] = b[o] + sum_{c, ki, kj} x[n, c, i s - p + ki d, j s - p + kj d] w[o, c, ki, kj]
std::vector<double> reference_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, nn::Size2 s, nn::Size2 p,
                                     nn::Size2 d) {
    const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0), KH = w.size(2),
                  KW = w.size(3);
    const int64_t OH = (H + 2 * p.h - d.h * (KH - 1) - 1) / s.h + 1, OW = (W + 2 * p.w - d.w * (KW - 1) - 1) / s.w + 1;
    std::vector<double> out;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o)
            for (int64_t i = 0; i < OH; ++i)
                for (int64_t j = 0; j < OW; ++j) {
                    double sum = bv[o];
                    for (int64_t c = 0; c < C; ++c)
                        for (int64_t ki = 0; ki < KH; ++ki)
                            for (int64_t kj = 0; kj < KW; ++kj) {
                                const int64_t h = i * s.h - p.h + ki * d.h, ww = j * s.w - p.w + kj * d.w;
                                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                                sum += xv[((n * C + c) * H + h) * W + ww] * wv[((o * C + c) * KH + ki) * KW + kj];
                            }
                    out.push_back(sum);
                }
    return out;
}

std::vector<double> reference_max_pool2d(const Tensor& x, nn::Size2 k, nn::Size2 s, nn::Size2 p) {
    const auto xv = x.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t OH = (H + 2 * p.h - k.h) / s.h + 1, OW = (W + 2 * p.w - k.w) / s.w + 1;
    std::vector<double> out;
    for (int64_t nc = 0; nc < N * C; ++nc)
        for (int64_t i = 0; i < OH; ++i)
            for (int64_t j = 0; j < OW; ++j) {
                double best = -1e300;
                for (int64_t ki = 0; ki < k.h; ++ki)
                    for (int64_t kj = 0; kj < k.w; ++kj) {
                        const int64_t h = i * s.h - p.h + ki, w = j * s.w - p.w + kj;
                        if (h >= 0 && h < H && w >= 0 && w < W) best = std::max(best, xv[(nc * H + h) * W + w]);
                    }
                out.push_back(best);
            }
    return out;
}

// Max pooling by its definition for any window (dilation too): the values and the gradient of
// sum(upstream * pooled) with respect to x, where each window's first maximum takes its share.
std::pair<std::vector<double>, std::vector<double>> reference_pool_and_grad(const Tensor& x, const Window2d& win,
                                                                            const std::vector<double>& upstream) {
    const auto xv = x.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    const int64_t OH = (H + 2 * win.padding_h - win.dilation_h * (win.kernel_h - 1) - 1) / win.stride_h + 1;
    const int64_t OW = (W + 2 * win.padding_w - win.dilation_w * (win.kernel_w - 1) - 1) / win.stride_w + 1;
    std::vector<double> values, grad(xv.size(), 0.0);
    std::size_t k = 0;
    for (int64_t nc = 0; nc < N * C; ++nc)
        for (int64_t i = 0; i < OH; ++i)
            for (int64_t j = 0; j < OW; ++j, ++k) {
                int64_t best = -1;
                for (int64_t ki = 0; ki < win.kernel_h; ++ki)
                    for (int64_t kj = 0; kj < win.kernel_w; ++kj) {
                        const int64_t h = i * win.stride_h - win.padding_h + ki * win.dilation_h;
                        const int64_t w = j * win.stride_w - win.padding_w + kj * win.dilation_w;
                        if (h < 0 || h >= H || w < 0 || w >= W) continue;
                        const int64_t at = (nc * H + h) * W + w;
                        // strictly larger (or the first NaN): the first maximum stays
                        if (best < 0 || xv[at] > xv[best] || (std::isnan(xv[at]) && !std::isnan(xv[best]))) best = at;
                    }
                values.push_back(xv[best]);
                grad[best] += upstream[k];
            }
    return {values, grad};
}

}  // namespace

BOOST_AUTO_TEST_SUITE(nn_conv)

BOOST_AUTO_TEST_CASE(conv2d_matches_the_definition) {
    struct Case {
        Shape x, w;
        nn::Size2 stride, padding, dilation;
    };
    const std::vector<Case> cases = {
        {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 0, 1},           {{2, 3, 7, 6}, {4, 3, 3, 3}, 1, 1, 1},
        {{1, 2, 9, 8}, {3, 2, 3, 2}, {2, 3}, {1, 0}, 1}, {{2, 1, 10, 9}, {2, 1, 3, 3}, 1, 2, {2, 3}},
        {{3, 1, 28, 28}, {5, 1, 5, 5}, 1, 2, 1},         {{1, 4, 1, 12}, {2, 4, 1, 3}, 1, {0, 1}, 1},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("x " << c.x << ", w " << c.w) {
            const Tensor x = random_tensor(c.x, kFloat64, 1), w = random_tensor(c.w, kFloat64, 2);
            const Tensor b = random_tensor({c.w[0]}, kFloat64, 3);
            const Tensor y = nn::F::conv2d(x, w, b, c.stride, c.padding, c.dilation);
            check_values(y, reference_conv2d(x, w, b, c.stride, c.padding, c.dilation), 1e-12);
            check_values(nn::F::conv2d(noncontiguous(x), noncontiguous(w), b, c.stride, c.padding, c.dilation),
                         y.to_vector<double>(), 1e-12);
            // float32 goes through the same path
            check_values(nn::F::conv2d(x.to(kFloat32), w.to(kFloat32), b.to(kFloat32), c.stride, c.padding, c.dilation),
                         y.to_vector<double>(), 1e-4);
        }
    }
}

// The definition with groups (output channel o reads input channels of its group only) and with
// padding that may differ before and after: what padding 'same' means for an odd total.
std::vector<double> reference_grouped_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, nn::Size2 before,
                                             nn::Size2 after, nn::Size2 d, int64_t groups) {
    const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), O = w.size(0), CG = w.size(1),
                  KH = w.size(2), KW = w.size(3);
    const int64_t OH = H + before.h + after.h - d.h * (KH - 1), OW = W + before.w + after.w - d.w * (KW - 1);
    std::vector<double> out;
    for (int64_t n = 0; n < N; ++n)
        for (int64_t o = 0; o < O; ++o)
            for (int64_t i = 0; i < OH; ++i)
                for (int64_t j = 0; j < OW; ++j) {
                    double sum = bv[o];
                    const int64_t group = o / (O / groups);
                    for (int64_t cg = 0; cg < CG; ++cg)
                        for (int64_t ki = 0; ki < KH; ++ki)
                            for (int64_t kj = 0; kj < KW; ++kj) {
                                const int64_t c = group * CG + cg, h = i - before.h + ki * d.h,
                                              ww = j - before.w + kj * d.w;
                                if (h < 0 || h >= H || ww < 0 || ww >= W) continue;
                                sum += xv[((n * C + c) * H + h) * W + ww] * wv[((o * CG + cg) * KH + ki) * KW + kj];
                            }
                    out.push_back(sum);
                }
    return out;
}

BOOST_AUTO_TEST_CASE(grouped_and_depthwise_convolutions_match_the_definition) {
    const Tensor x = random_tensor({2, 6, 5, 4}, kFloat64, 30);
    manual_seed(2);
    nn::Conv2d grouped(
        {.in_channels = 6, .out_channels = 4, .kernel_size = {3, 2}, .padding = 1, .groups = 2, .dtype = kFloat64});
    BOOST_TEST((grouped.weight.sizes() == Shape{4, 3, 3, 2}));
    check_values(grouped(x), reference_grouped_conv2d(x, grouped.weight, grouped.bias, 1, 1, 1, 2), 1e-12);
    nn::Conv2d depthwise(
        {.in_channels = 6, .out_channels = 12, .kernel_size = 3, .padding = nn::kSame, .groups = 6, .dtype = kFloat64});
    BOOST_TEST((depthwise.weight.sizes() == Shape{12, 1, 3, 3}));
    check_values(depthwise(x), reference_grouped_conv2d(x, depthwise.weight, depthwise.bias, 1, 1, 1, 6), 1e-12);
    const auto fn = [&](const std::vector<Tensor>& a) { return nn::F::conv2d(a[0], a[1], a[2], 1, 1, 1, 2); };
    const auto result = autograd::gradcheck(
        fn, {noncontiguous(x).detach().requires_grad_(), grouped.weight, grouped.bias}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
    check_error([] { nn::Conv2d({.in_channels = 6, .out_channels = 4, .kernel_size = 3, .groups = 4}); },
                {"Conv2d", "groups 4", "in_channels 6"});
    check_error([&] { nn::F::conv2d(x, grouped.weight, grouped.bias, 1, 0, 1, 3); },
                {"conv2d", "groups 3", "output channels 4"});
    check_error([&] { nn::F::conv2d(x, depthwise.weight, depthwise.bias, 1, 0, 1, 2); },
                {"conv2d", "groups 2", "expects 2"});
}

BOOST_AUTO_TEST_CASE(padding_same_keeps_the_size_with_pytorchs_odd_split) {
    const Tensor x = random_tensor({2, 3, 6, 7}, kFloat64, 31);
    manual_seed(3);
    // Kernel 4 (total 3: 1 before, 2 after); dilation 2 on a kernel 2 (total 2: 1 and 1).
    nn::Conv2d conv({.in_channels = 3,
                     .out_channels = 2,
                     .kernel_size = {4, 2},
                     .padding = nn::kSame,
                     .dilation = {1, 2},
                     .dtype = kFloat64});
    const Tensor y = conv(x);
    BOOST_TEST((y.sizes() == Shape{2, 2, 6, 7}));
    check_values(y, reference_grouped_conv2d(x, conv.weight, conv.bias, {1, 1}, {2, 1}, {1, 2}, 1), 1e-12);
    const auto fn = [&](const std::vector<Tensor>& a) { return conv(a[0]); };
    const auto result = autograd::gradcheck(fn, {x.detach().requires_grad_(), conv.weight}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
    nn::Conv1d text({.in_channels = 3, .out_channels = 2, .kernel_size = 4, .padding = nn::kSame, .dtype = kFloat64});
    const Tensor seq = random_tensor({2, 3, 9}, kFloat64, 32);
    BOOST_TEST((text(seq).sizes() == Shape{2, 2, 9}));
    check_values(text(seq),
                 reference_grouped_conv2d(seq.unsqueeze(2), text.weight.unsqueeze(2), text.bias, {0, 1}, {0, 2}, 1, 1),
                 1e-12);
    nn::Conv1d valid({.in_channels = 3, .out_channels = 2, .kernel_size = 4, .padding = nn::kValid, .dtype = kFloat64});
    BOOST_TEST(valid(seq).size(2) == 6);
    BOOST_TEST(valid(seq.select(0, 0)).dim() == 2);  // unbatched [C, L]
    check_error([&] { nn::F::conv2d(x, conv.weight, conv.bias, 2, nn::kSame); },
                {"conv2d", "'same'", "stride 1", "(2, 2)"});
}

BOOST_AUTO_TEST_CASE(conv2d_has_second_derivatives) {
    const Tensor x = random_tensor({2, 2, 5, 4}, kFloat64, 7).requires_grad_();
    const Tensor w = random_tensor({3, 2, 2, 2}, kFloat64, 8).requires_grad_();
    const auto result = autograd::gradgradcheck(
        [](const std::vector<Tensor>& a) {
            return nn::F::conv2d(a[0], a[1], Tensor(), {1, 2}, {1, 1});
        },
        {x, w}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
}

BOOST_AUTO_TEST_CASE(conv1d_is_conv2d_over_a_height_of_one) {
    const Tensor x = random_tensor({2, 5, 11}, kFloat64, 4), w = random_tensor({3, 5, 4}, kFloat64, 5);
    const Tensor b = random_tensor({3}, kFloat64, 6);
    const Tensor y = nn::F::conv1d(x, w, b, 2, 1, 1);
    BOOST_TEST((y.sizes() == Shape{2, 3, 5}));  // (11 + 2 - 3 - 1) / 2 + 1
    check_values(y, reference_conv2d(x.unsqueeze(2), w.unsqueeze(2), b, {1, 2}, {0, 1}, 1), 1e-12);
    nn::Conv1d layer(
        {.in_channels = 5, .out_channels = 3, .kernel_size = 4, .stride = 2, .padding = 1, .dtype = kFloat64});
    BOOST_TEST((layer(x).sizes() == Shape{2, 3, 5}));
    BOOST_TEST(layer.parameters().size() == 2u);
    BOOST_TEST((layer.weight.sizes() == Shape{3, 5, 4}));
    // PyTorch's default: U(+-1/sqrt(fan_in)), fan_in = 5 * 4.
    BOOST_TEST(layer.weight.abs().max().item() <= 1 / std::sqrt(20.0));
}

namespace {
// The scatter form: every input value x[n, g c + cc, i, j] adds x w[g c + cc, oo, ki, kj] at output
// (g o + oo, i s - p + ki d, j s - p + kj d); rows and columns past the reach (output_padding)
// keep only the bias.
std::vector<double> reference_conv_transpose2d(const Tensor& x, const Tensor& w, const Tensor& b, nn::Size2 s,
                                               nn::Size2 p, nn::Size2 op, int64_t groups, nn::Size2 d) {
    const auto xv = x.to_vector<double>(), wv = w.to_vector<double>(), bv = b.to_vector<double>();
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3), KH = w.size(2), KW = w.size(3);
    const int64_t c = C / groups, o = w.size(1), O = o * groups;
    const int64_t OH = (H - 1) * s.h - 2 * p.h + d.h * (KH - 1) + op.h + 1;
    const int64_t OW = (W - 1) * s.w - 2 * p.w + d.w * (KW - 1) + op.w + 1;
    std::vector<double> out(static_cast<std::size_t>(N * O * OH * OW));
    for (int64_t n = 0; n < N; ++n)
        for (int64_t oc = 0; oc < O; ++oc)
            for (int64_t k = 0; k < OH * OW; ++k) out[static_cast<std::size_t>((n * O + oc) * OH * OW + k)] = bv[oc];
    for (int64_t n = 0; n < N; ++n)
        for (int64_t ic = 0; ic < C; ++ic)
            for (int64_t i = 0; i < H; ++i)
                for (int64_t j = 0; j < W; ++j)
                    for (int64_t oo = 0; oo < o; ++oo)
                        for (int64_t ki = 0; ki < KH; ++ki)
                            for (int64_t kj = 0; kj < KW; ++kj) {
                                const int64_t h = i * s.h - p.h + ki * d.h, ww = j * s.w - p.w + kj * d.w;
                                if (h < 0 || h >= OH || ww < 0 || ww >= OW) continue;
                                const int64_t oc = ic / c * o + oo;
                                out[static_cast<std::size_t>(((n * O + oc) * OH + h) * OW + ww)] +=
                                    xv[static_cast<std::size_t>(((n * C + ic) * H + i) * W + j)] *
                                    wv[static_cast<std::size_t>(((ic * o + oo) * KH + ki) * KW + kj)];
                            }
    return out;
}
}  // namespace

BOOST_AUTO_TEST_CASE(conv_transpose2d_matches_the_definition) {
    // By hand: ones(2, 2) spreads each value over a 2 x 2 patch; overlaps add.
    const Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}}, kFloat64).view({1, 1, 2, 2}),
                 ones_kernel = ones({1, 1, 2, 2}, kFloat64);
    check_values(nn::F::conv_transpose2d(x, ones_kernel), {1, 3, 2, 4, 10, 6, 3, 7, 4}, 0);
    // Stride 2: the patches tile the output without overlap, doubling its size.
    check_values(nn::F::conv_transpose2d(x, ones_kernel, Tensor(), 2), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4},
                 0);
    struct Case {
        Shape x, w;
        nn::Size2 s, p, op;
        int64_t groups;
        nn::Size2 d;
    };
    for (const Case& c :
         {Case{{2, 3, 4, 5}, {3, 2, 3, 2}, 1, 0, 0, 1, 1}, Case{{1, 4, 3, 3}, {4, 3, 3, 3}, 2, 1, 1, 2, 1},
          Case{{2, 2, 3, 4}, {2, 1, 2, 3}, {2, 3}, {1, 0}, {1, 2}, 1, {2, 1}},
          Case{{1, 6, 2, 2}, {6, 1, 2, 2}, 3, 0, {2, 0}, 6, 1},
          // padding beyond output_padding, and output_padding past the stride (allowed below the
          // dilation)
          Case{{1, 2, 3, 3}, {2, 2, 3, 3}, 3, 2, 1, 1, 1}, Case{{1, 1, 3, 3}, {1, 2, 2, 2}, 1, 1, 2, 1, 3}}) {
        BOOST_TEST_CONTEXT("input " << c.x << ", weight " << c.w << ", groups " << c.groups) {
            const Tensor in = randn(c.x, kFloat64), w = randn(c.w, kFloat64);
            const Tensor b = randn({c.w[1] * c.groups}, kFloat64);
            const Tensor out = nn::F::conv_transpose2d(in, w, b, c.s, c.p, c.op, c.groups, c.d);
            check_values(out, reference_conv_transpose2d(in, w, b, c.s, c.p, c.op, c.groups, c.d), 1e-12);
            // The adjoint of conv2d with the same window: <conv2d(a, w), y> = <a, conv_transpose2d(y, w)>
            // when output_padding gives back a's size (below the stride).
            if (c.op.h >= c.s.h || c.op.w >= c.s.w) continue;
            const Tensor a = randn({c.x[0], c.w[1] * c.groups, out.size(2), out.size(3)}, kFloat64);
            const Tensor y = nn::F::conv2d(a, w, Tensor(), c.s, nn::Padding2(c.p), c.d, c.groups);
            BOOST_TEST(y.sizes() == in.sizes());
            const double lhs = (y * in).sum().item();
            const double rhs =
                (a * nn::F::conv_transpose2d(in, w, Tensor(), c.s, c.p, c.op, c.groups, c.d)).sum().item();
            BOOST_TEST(std::abs(lhs - rhs) < 1e-10 * (1 + std::abs(lhs)));
        }
    }
    // Unbatched input, and the 1-D form as 2-D over a height of 1.
    BOOST_TEST(nn::F::conv_transpose2d(x[0], ones_kernel).sizes() == Shape({1, 3, 3}));
    const Tensor seq = randn({2, 3, 5}, kFloat64), w1 = randn({3, 2, 3}, kFloat64);
    BOOST_TEST(
        equal(nn::F::conv_transpose1d(seq, w1, Tensor(), 2, 1, 1),
              nn::F::conv_transpose2d(seq.unsqueeze(2), w1.unsqueeze(2), Tensor(), {1, 2}, {0, 1}, {0, 1}).squeeze(2)));
    // Padding larger than what the kernel covers: only bias positions remain (as PyTorch).
    check_values(nn::F::conv_transpose2d(ones({1, 1, 1, 1}, kFloat64), ones({1, 1, 1, 1}, kFloat64),
                                         full({1}, 0.5, kFloat64), 6, 2, 5),
                 {0.5, 0.5, 0.5, 0.5}, 0);
    check_values(nn::F::conv_transpose1d(ones({1, 1, 1}, kFloat64), ones({1, 1, 1}, kFloat64), full({1}, 0.5, kFloat64),
                                         1, 2, 4, 1, 5),
                 {0.5}, 0);
    // A 1-D call's errors are its own, not the 2-D form's it runs as.
    check_error([&] { nn::F::conv_transpose1d(seq, w1, Tensor(), 2, 0, 2); },
                {"conv_transpose1d", "output_padding 2", "stride 2"});
    check_error(
        [&] {
            nn::F::conv_transpose1d(seq, randn({4, 2, 3}, kFloat64));
        },
        {"conv_transpose1d", "[2, 3, 5]", "[4, 2, 3]"});
    // Errors name the op and the shapes.
    check_error([&] { nn::F::conv_transpose2d(x, ones_kernel, Tensor(), 2, 0, 2); },
                {"conv_transpose2d", "output_padding (2, 2)", "smaller than either the stride (2, 2)"});
    check_error(
        [&] {
            nn::F::conv_transpose2d(x, ones({2, 1, 2, 2}, kFloat64));
        },
        {"conv_transpose2d", "1 channels", "[2, 1, 2, 2]"});
    check_error([&] { nn::F::conv_transpose2d(x, ones_kernel, Tensor(), 1, 2); },
                {"conv_transpose2d", "output row count", "would be -1"});
    check_error([&] { nn::F::conv_transpose2d(x, ones_kernel, ones({2}, kFloat64)); },
                {"conv_transpose2d", "bias", "1 output channels"});
}

BOOST_AUTO_TEST_CASE(conv_transpose_modules_double_a_feature_map) {
    nn::ConvTranspose2d up({.in_channels = 8, .out_channels = 4, .kernel_size = 2, .stride = 2});
    BOOST_TEST(up.weight.sizes() == Shape({8, 4, 2, 2}));
    BOOST_TEST(up(randn({3, 8, 5, 7})).sizes() == Shape({3, 4, 10, 14}));
    // PyTorch's initialization: U(+-1/sqrt(fan_in)), fan_in from the weight's dim 1: 4 * 2 * 2.
    BOOST_TEST(up.weight.abs().max().item() <= 1.0 / 4);
    BOOST_TEST(up.bias.abs().max().item() <= 1.0 / 4);
    BOOST_TEST(up.extra_repr() == "8, 4, kernel_size=(2, 2), stride=(2, 2), padding=(0, 0)");
    nn::ConvTranspose2d grouped({.in_channels = 4, .out_channels = 6, .kernel_size = 3, .groups = 2, .bias = false});
    BOOST_TEST(grouped.weight.sizes() == Shape({4, 3, 3, 3}));
    BOOST_TEST(!grouped.bias.defined());
    BOOST_TEST(nn::ConvTranspose2d(2, 3, 3)(randn({1, 2, 4, 4})).sizes() == Shape({1, 3, 6, 6}));
    nn::ConvTranspose1d up1({.in_channels = 3, .out_channels = 2, .kernel_size = 4, .stride = 2, .padding = 1});
    BOOST_TEST(up1(randn({2, 3, 6})).sizes() == Shape({2, 2, 12}));
    BOOST_TEST(nn::ConvTranspose1d(3, 2, 2).weight.sizes() == Shape({3, 2, 2}));
    check_error([] { nn::ConvTranspose2d({.in_channels = 3, .out_channels = 4, .kernel_size = 2, .groups = 2}); },
                {"ConvTranspose2d", "groups 2", "in_channels 3"});
    check_error([] { nn::ConvTranspose1d(0, 2, 2); }, {"ConvTranspose1d", "positive"});
}

BOOST_AUTO_TEST_CASE(interpolate_matches_pytorchs_values) {
    // Values printed by PyTorch 1.13's F.interpolate for the same inputs.
    const Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}}).view({1, 1, 2, 2});
    check_values(nn::F::interpolate(x, {.scale_factor = {{2}}}), {1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4}, 0);
    check_values(nn::F::interpolate(x, {.scale_factor = {{2}}, .mode = nn::kBilinear}),
                 {1.0, 1.25, 1.75, 2.0, 1.5, 1.75, 2.25, 2.5, 2.5, 2.75, 3.25, 3.5, 3.0, 3.25, 3.75, 4.0}, 1e-6);
    check_values(
        nn::F::interpolate(x, {.size = {{4, 4}}, .mode = nn::kBilinear, .align_corners = true}),
        {1, 4.0 / 3, 5.0 / 3, 2, 5.0 / 3, 2, 7.0 / 3, 8.0 / 3, 7.0 / 3, 8.0 / 3, 3, 10.0 / 3, 3, 10.0 / 3, 11.0 / 3, 4},
        1e-6);
    const Tensor three = arange(3, kFloat32).view({1, 1, 3}), four = arange(4, kFloat32).view({1, 1, 4});
    check_values(nn::F::interpolate(three, {.size = {{5}}}), {0, 0, 1, 1, 2}, 0);
    check_values(nn::F::interpolate(arange(5, kFloat32).view({1, 1, 5}), {.size = {{3}}}), {0, 1, 3}, 0);
    check_values(nn::F::interpolate(three, {.size = {{5}}, .mode = nn::kLinear}), {0, 0.4, 1, 1.6, 2}, 1e-6);
    // A factor sets the source coordinates itself (1 / 1.5), as PyTorch's default does.
    check_values(nn::F::interpolate(four, {.scale_factor = {{1.5}}}), {0, 0, 1, 2, 2, 3}, 0);
    check_values(nn::F::interpolate(four, {.scale_factor = {{1.5}}, .mode = nn::kLinear}),
                 {0, 0.5, 7.0 / 6, 11.0 / 6, 2.5, 3}, 1e-6);
    // float64 positions come from PyTorch's float scale: 18 -> 66 reads pixel 15 at 55 (55 * 18 / 66
    // is 14.999... in double), and 35 x 1.3 reads 30 at 39.
    BOOST_TEST(nn::F::interpolate(arange(18, kFloat64).view({1, 1, 18}), {.size = {{66}}}).view({66})[55].item() ==
               15.0);
    BOOST_TEST(
        nn::F::interpolate(arange(35, kFloat64).view({1, 1, 35}), {.scale_factor = {{1.3}}}).view({45})[39].item() ==
        30.0);
    // A factor that leaves the size as it is copies the input (8 x 1.1 is still 8), as PyTorch.
    const Tensor eight = arange(8, kFloat32).view({1, 1, 8});
    BOOST_TEST(equal(nn::F::interpolate(eight, {.scale_factor = {{1.1}}, .mode = nn::kLinear}), eight));
    // Downsampling by a linear mode, and one output (align_corners reads position 0).
    check_values(nn::F::interpolate(arange(6, kFloat32).view({1, 1, 6}), {.size = {{3}}, .mode = nn::kLinear}),
                 {0.5, 2.5, 4.5}, 1e-6);
    check_values(nn::F::interpolate(four, {.size = {{1}}, .mode = nn::kLinear, .align_corners = true}), {0}, 0);
    // An empty batch: an empty result of the output's shape, whatever its size.
    BOOST_TEST(nn::F::interpolate(zeros({0, 2, 3}), {.scale_factor = {{1e12}}}).sizes() ==
               Shape({0, 2, 3000000000000}));
    // An output beyond what int64 counts is an error before any table is built.
    check_error([&] { nn::F::interpolate(x, {.scale_factor = {{3e9}}}); }, {"interpolate", "more elements"});
    // Per-dim sizes, and float64 kept.
    const Tensor wide = nn::F::interpolate(randn({2, 3, 4, 5}, kFloat64), {.size = {{6, 2}}, .mode = nn::kBilinear});
    BOOST_TEST(wide.sizes() == Shape({2, 3, 6, 2}));
    BOOST_TEST(wide.dtype() == kFloat64);
    // Nearest upsampling's gradient: each input receives the sum over the outputs that copy it.
    const Tensor leaf = ones({1, 1, 2, 2}).requires_grad_();
    nn::Upsample up({.scale_factor = {{2, 3}}});
    up(leaf).sum().backward();
    check_values(leaf.grad(), {6, 6, 6, 6}, 0);
    // Errors.
    check_error([&] { nn::F::interpolate(x, {}); }, {"interpolate", "exactly one of size and scale_factor"});
    check_error([&] { nn::F::interpolate(x, {.size = {{2}}, .mode = nn::kLinear}); }, {"interpolate", "'linear'"});
    check_error([&] { nn::F::interpolate(three, {.size = {{2}}, .mode = nn::kBilinear}); },
                {"interpolate", "'bilinear'", "[1, 1, 3]"});
    check_error([&] { nn::F::interpolate(x, {.size = {{2}}, .align_corners = false}); },
                {"interpolate", "align_corners", "nearest"});
    check_error([&] { nn::F::interpolate(x, {.size = {{1, 2, 3}}}); }, {"interpolate", "3 entries", "2 spatial"});
    check_error([&] { nn::F::interpolate(x, {.scale_factor = {{0.1}}}); }, {"interpolate", "scale_factor 0.1"});
    check_error([&] { nn::F::interpolate(x.view({1, 4}), {.size = {{2}}}); }, {"interpolate", "[1, 4]"});
    check_error(
        [&] {
            nn::F::interpolate(arange(4).view({1, 1, 4}), {.size = {{2}}});
        },
        {"interpolate", "floating-point"});
}

BOOST_AUTO_TEST_CASE(max_pooling_matches_the_definition) {
    const Tensor x = random_tensor({2, 3, 7, 8}, kFloat64, 7);
    check_values(nn::F::max_pool2d(x, 2), reference_max_pool2d(x, 2, 2, 0), 0);
    check_values(nn::F::max_pool2d(x, {3, 2}, {2, 1}, {1, 1}), reference_max_pool2d(x, {3, 2}, {2, 1}, {1, 1}), 0);
    check_values(nn::F::max_pool2d(noncontiguous(x), 3, 1), reference_max_pool2d(x, 3, 1, 0), 0);
    BOOST_TEST((nn::F::max_pool2d(x, 2).sizes() == Shape{2, 3, 3, 4}));
    const Tensor seq = random_tensor({2, 4, 9}, kFloat64, 8);
    check_values(nn::F::max_pool1d(seq, 3), reference_max_pool2d(seq.unsqueeze(2), {1, 3}, {1, 3}, 0), 0);
    // Max over the whole sequence ("max-over-time" pooling of a text CNN) is a reduction.
    check_values(amax(seq, {2}), reference_max_pool2d(seq.unsqueeze(2), {1, 9}, {1, 9}, 0), 0);
    // The gradient goes to the first maximum of each window only.
    Tensor ties = tensor({1.0, 1.0, 0.0, 1.0}, kFloat64).view({1, 1, 2, 2}).requires_grad_();
    nn::F::max_pool2d(ties, 2).sum().backward();
    check_values(ties.grad(), {1, 0, 0, 0});
}

BOOST_AUTO_TEST_CASE(max_pooling_with_ties_padding_and_dilation_matches_direct_loops) {
    // Small integers make many ties; overlapping windows send several gradients to one input.
    Generator gen(11);
    const Tensor base = randint(0, 3, {2, 3, 9, 10}, kInt64, &gen).to(kFloat64);
    const std::vector<Window2d> windows = {
        {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2},  // the fast 2 x 2 path
        {.kernel_h = 3, .kernel_w = 3, .stride_h = 1, .stride_w = 1, .padding_h = 1, .padding_w = 1},
        {.kernel_h = 3,
         .kernel_w = 2,
         .stride_h = 2,
         .stride_w = 1,
         .padding_h = 1,
         .padding_w = 1,
         .dilation_h = 2,
         .dilation_w = 3},
        {.kernel_h = 1, .kernel_w = 4, .stride_h = 1, .stride_w = 3},
    };
    for (const Window2d& win : windows) {
        for (const Tensor& input : {base, noncontiguous(base)}) {
            const Tensor x = input.detach().requires_grad_();
            const Tensor pooled = max_pool2d(x, win);
            const Tensor upstream = random_tensor(pooled.sizes(), kFloat64, 5);
            const auto [values, grad] = reference_pool_and_grad(x, win, upstream.to_vector<double>());
            check_values(pooled, values, 0);
            (pooled * upstream).sum().backward();
            check_values(x.grad(), grad, 1e-12);
        }
        // float32 finds the same maxima.
        check_values(max_pool2d(base.to(kFloat32), win), max_pool2d(base, win).to_vector<double>(), 0);
    }
    // Rows wide enough for the vectorized 2 x 2 path (several batches and a scalar tail), with
    // ties, negative values and NaN: NaN is the maximum of any window holding one, as in PyTorch.
    const Window2d two{.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2};
    Tensor wide = randint(-2, 2, {2, 2, 6, 75}, kInt64, &gen).to(kFloat64);
    wide[0][1][2][7].fill_(std::nan(""));
    wide[1][0][5][40].fill_(std::nan(""));
    wide[1][0][5][41].fill_(std::nan(""));
    for (DType dtype : {kFloat64, kFloat32}) {
        const Tensor x = wide.to(dtype).detach().requires_grad_();
        const Tensor pooled = max_pool2d(x, two);
        const Tensor upstream = random_tensor(pooled.sizes(), dtype, 6);
        const auto [values, grad] = reference_pool_and_grad(x.to(kFloat64), two, upstream.to_vector<double>());
        const auto got = pooled.to_vector<double>();
        for (std::size_t k = 0; k < values.size(); ++k)
            BOOST_TEST((got[k] == values[k] || (std::isnan(got[k]) && std::isnan(values[k]))), "output " << k);
        (pooled * upstream).sum().backward();
        check_values(x.grad(), grad, 1e-6);
    }
}

BOOST_AUTO_TEST_CASE(max_pooling_has_second_derivatives) {
    // The gradient is a scatter whose own gradient is a gather at the same positions.
    const Window2d win{.kernel_h = 2, .kernel_w = 3, .stride_h = 1, .stride_w = 2, .padding_w = 1};
    const Tensor x = random_tensor({2, 2, 5, 6}, kFloat64, 3).requires_grad_();
    const auto result = autograd::gradgradcheck(
        [&](const std::vector<Tensor>& a) { return max_pool2d(a[0], win) * a[0].sum(); }, {x}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
}

// float32 convolutions go through oneDNN when xgrad has it (XGRAD_CONV=im2col: the im2col form; the
// ctest entry conv_im2col runs this suite that way too). Either way they must agree with the
// float64 im2col form, whose gradients gradcheck covers, for batches that do not fill the
// 16-example slices, strides, padding, dilation, strided inputs and no bias.
BOOST_AUTO_TEST_CASE(float32_convolutions_match_the_float64_im2col_form) {
    struct Case {
        Shape x, w;
        Window2d win;
        bool bias;
    };
    const std::vector<Case> cases = {
        {{37, 3, 9, 8}, {5, 3, 3, 3}, {.kernel_h = 3, .kernel_w = 3, .padding_h = 1, .padding_w = 1}, true},
        {{16, 4, 11, 7},
         {6, 4, 3, 2},
         {.kernel_h = 3, .kernel_w = 2, .stride_h = 2, .stride_w = 1, .padding_h = 1},
         false},
        {{5, 2, 10, 10},
         {3, 2, 3, 3},
         {.kernel_h = 3, .kernel_w = 3, .padding_h = 2, .padding_w = 2, .dilation_h = 2, .dilation_w = 2},
         true},
        {{2, 1, 28, 28}, {32, 1, 3, 3}, {.kernel_h = 3, .kernel_w = 3, .padding_h = 1, .padding_w = 1}, true},
    };
    for (const Case& c : cases) {
        BOOST_TEST_CONTEXT("x " << c.x << ", w " << c.w) {
            const Tensor x64 = random_tensor(c.x, kFloat64, 40), w64 = random_tensor(c.w, kFloat64, 41, -0.5, 0.5);
            const Tensor b64 = c.bias ? random_tensor({c.w[0]}, kFloat64, 42) : Tensor();
            auto grads = [&](DType dtype, bool strided) {
                Tensor x = x64.to(dtype).detach();
                if (strided) x = noncontiguous(x);
                x.requires_grad_();
                const Tensor w = w64.to(dtype).detach().requires_grad_();
                const Tensor b = c.bias ? b64.to(dtype).detach().requires_grad_() : Tensor();
                const Tensor y = conv2d(x, w, b, c.win);
                (y * random_tensor(y.sizes(), kFloat64, 43).to(dtype)).sum().backward();
                return std::vector<Tensor>{y, x.grad(), w.grad(), c.bias ? b.grad() : zeros({1})};
            };
            const auto expected = grads(kFloat64, false);
            for (bool strided : {false, true}) {
                const auto got = grads(kFloat32, strided);
                for (std::size_t i = 0; i < got.size(); ++i)
                    check_values(got[i], expected[i].to_vector<double>(), 2e-4);
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(convolution_results_do_not_depend_on_the_thread_count) {
    const Tensor x = random_tensor({50, 3, 12, 12}, kFloat32, 44), w = random_tensor({8, 3, 3, 3}, kFloat32, 45);
    const Window2d win{.kernel_h = 3, .kernel_w = 3, .padding_h = 1, .padding_w = 1};
    auto run = [&](int threads) {
        set_num_threads(threads);
        detail::end_contention_backoff();
        const Tensor xl = x.detach().requires_grad_(), wl = w.detach().requires_grad_();
        const Tensor y = conv2d(xl, wl, Tensor(), win);
        y.square().sum().backward();
        return std::vector<Tensor>{y, xl.grad(), wl.grad()};
    };
    const int before = get_num_threads();
    const auto one = run(1), two = run(2);
    set_num_threads(before);
    for (std::size_t i = 0; i < one.size(); ++i) BOOST_TEST(equal(one[i], two[i]));
}

BOOST_AUTO_TEST_CASE(float32_convolution_has_second_derivatives) {
    // create_graph takes the differentiable im2col backward: the float32 double-backward agrees
    // with float64's (whose gradgradcheck is above).
    auto second = [](DType dtype) {
        const Tensor x = random_tensor({3, 2, 6, 5}, dtype, 46).requires_grad_();
        const Tensor w = random_tensor({4, 2, 3, 3}, dtype, 47).requires_grad_();
        const Tensor y = conv2d(x, w, Tensor(), {.kernel_h = 3, .kernel_w = 3, .padding_h = 1, .padding_w = 1});
        const auto g = autograd::grad({y.square().sum()}, {w}, {}, true, true);
        g[0].square().sum().backward();
        return x.grad();
    };
    check_values(second(kFloat32), second(kFloat64).to_vector<double>(), 2e-4);
}

BOOST_AUTO_TEST_CASE(a_small_cnn_trains) {
    // Conv -> ReLU -> pool -> linear learns to tell a vertical bar from a horizontal one.
    manual_seed(0);
    Tensor images = zeros({8, 1, 6, 6});
    Tensor labels = zeros({8}, kInt64);
    for (int64_t i = 0; i < 8; ++i) {
        const bool vertical = i % 2 == 0;
        Tensor img = images[i][0];
        if (vertical)
            img.select(1, 1 + i / 2).fill_(1.0);
        else
            img.select(0, 1 + i / 2).fill_(1.0);
        labels[i].fill_(vertical ? 1 : 0);
    }
    nn::Sequential model;
    model.emplace<nn::Conv2d>({.in_channels = 1, .out_channels = 4, .kernel_size = 3, .padding = 1});
    model.emplace<nn::ReLU>();
    model.emplace<nn::MaxPool2d>({.kernel_size = 2});
    model.emplace<nn::Flatten>();
    model.emplace<nn::Linear>({.in_features = 36, .out_features = 2});
    optim::Adam opt(model.parameters(), {.lr = 0.05});
    double first = 0, last = 0;
    for (int step = 0; step < 60; ++step) {
        opt.zero_grad();
        Tensor loss = nn::F::cross_entropy(model(images), labels);
        loss.backward();
        opt.step();
        (step == 0 ? first : last) = loss.item();
    }
    BOOST_TEST(last < 0.05 * first);
}

BOOST_AUTO_TEST_CASE(bad_shapes_are_reported) {
    check_error(
        [] {
            nn::F::conv2d(ones({2, 3, 5, 5}), ones({4, 2, 3, 3}));
        },
        {"conv2d", "3 channels", "[4, 2, 3, 3]"});
    check_error(
        [] {
            nn::F::conv2d(ones({5, 5}), ones({4, 3, 3, 3}));
        },
        {"conv2d", "[N, C, H, W] or [C, H, W]", "[5, 5]"});
    BOOST_TEST(
        (nn::F::conv2d(ones({3, 5, 5}), ones({4, 3, 3, 3})).sizes() == Shape{4, 3, 3}));  // unbatched, as in PyTorch
    check_error(
        [] {
            nn::F::conv2d(ones({1, 1, 2, 2}), ones({1, 1, 3, 3}));
        },
        {"conv2d", "larger than the padded input"});
    check_error(
        [] {
            nn::F::conv2d(ones({1, 1, 4, 4}), ones({2, 1, 3, 3}), ones({3}));
        },
        {"conv2d", "bias", "2 output channels"});
    check_error(
        [] {
            nn::F::conv2d(ones({1, 1, 4, 4}), ones({1, 1, 3, 3}), Tensor(), 0);
        },
        {"conv2d", "stride", "positive"});
    check_error([] { nn::F::conv1d(ones({2, 3, 5}), ones({4, 2, 3})); }, {"conv1d", "3 channels"});
    check_error([] { nn::F::max_pool2d(ones({1, 1, 4, 4}), 2, 2, 2); }, {"max_pool2d", "padding", "half the kernel"});
    check_error([] { nn::Conv2d({.in_channels = 0, .out_channels = 2, .kernel_size = 3}); }, {"Conv2d", "positive"});
    // Every convolution module checks its options in the same words (nn/conv_checks.hpp).
    check_error(
        [] {
            nn::Conv2d({.in_channels = 1, .out_channels = 2, .kernel_size = {3, 0}});
        },
        {"Conv2d", "positive", "kernel_size (3, 0)"});
    check_error([] { nn::Conv1d({.in_channels = 2, .out_channels = 2, .kernel_size = 0}); },
                {"Conv1d", "positive", "kernel_size 0"});
    check_error([] { nn::Conv1d({.in_channels = 4, .out_channels = 6, .kernel_size = 3, .groups = 4}); },
                {"Conv1d", "groups 4", "in_channels 4", "out_channels 6"});
    check_error([] { nn::ConvTranspose2d({.in_channels = 2, .out_channels = -1, .kernel_size = 3}); },
                {"ConvTranspose2d", "positive", "out_channels -1", "kernel_size (3, 3)"});
    check_error([] { nn::ConvTranspose1d({.in_channels = 2, .out_channels = 3, .kernel_size = 3, .groups = 0}); },
                {"ConvTranspose1d", "groups 0", "must be positive"});
    check_error(
        [] {
            fold2d(ones({1, 5, 4}), {1, 1, 3, 3}, {.kernel_h = 2, .kernel_w = 2});
        },
        {"fold2d", "[1, 4, 4]", "[1, 5, 4]"});
    // The op under nn::F::conv2d checks what it is given too.
    const Window2d three{.kernel_h = 3, .kernel_w = 3};
    check_error(
        [&] {
            xgrad::conv2d(ones({1, 2, 4, 4}), ones({1, 3, 3, 3}), Tensor(), three);
        },
        {"conv2d", "2 channels", "expects 3"});
    check_error(
        [&] {
            xgrad::conv2d(ones({1, 1, 4, 4}), ones({2, 1, 3, 3}), ones({3}), three);
        },
        {"conv2d", "bias", "[3]"});
    check_error([&] { xgrad::conv2d(ones({1, 4, 4}), ones({2, 1, 3, 3}), Tensor(), three); }, {"conv2d", "[1, 4, 4]"});
}

// An empty batch (or no output channels) gives an empty result and empty gradients, on every
// backend, as in PyTorch.
BOOST_AUTO_TEST_CASE(empty_batches_convolve_to_empty_results) {
    nn::Conv2d conv({.in_channels = 3, .out_channels = 4, .kernel_size = 3, .padding = 1});
    const Tensor x = zeros({0, 3, 8, 8}).requires_grad_();
    const Tensor y = conv(x);
    BOOST_TEST((y.sizes() == Shape{0, 4, 8, 8}));
    y.sum().backward();
    BOOST_TEST((x.grad().sizes() == Shape{0, 3, 8, 8}));
    check_values(conv.weight.grad(), std::vector<double>(4 * 3 * 9, 0.0), 0);
    check_values(conv.bias.grad(), std::vector<double>(4, 0.0), 0);
    nn::Conv2d depthwise({.in_channels = 3, .out_channels = 3, .kernel_size = 3, .groups = 3});
    BOOST_TEST((depthwise(zeros({0, 3, 5, 5})).sizes() == Shape{0, 3, 3, 3}));
    const Tensor none =
        xgrad::conv2d(ones({2, 3, 5, 5}), zeros({0, 3, 3, 3}), Tensor(), {.kernel_h = 3, .kernel_w = 3});
    BOOST_TEST((none.sizes() == Shape{2, 0, 3, 3}));
}

BOOST_AUTO_TEST_SUITE_END()
