// Pooling against direct loops over PyTorch's documented windows: ceil_mode overhangs,
// count_include_pad divisors, adaptive windows [floor(i n / m), ceil((i + 1) n / m)); gradients
// under gradcheck; unbatched inputs; errors naming the op and the sizes.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
using Args = std::vector<Tensor>;

namespace {
// One pooled dim: window starts and ends (clipped to the input), and the divisor that counts
// padding (clipped only at the padded edge).
struct Span {
    int64_t begin, end, with_padding;
};
std::vector<Span> fixed_windows(int64_t size, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode) {
    const int64_t room = size + 2 * padding - kernel;
    int64_t out = (ceil_mode ? (room + stride - 1) / stride : room / stride) + 1;
    if (ceil_mode && (out - 1) * stride >= size + padding) --out;
    std::vector<Span> spans;
    for (int64_t i = 0; i < out; ++i) {
        const int64_t b = i * stride - padding, e = std::min(b + kernel, size + padding);
        spans.push_back({std::max<int64_t>(b, 0), std::min(e, size), e - b});
    }
    return spans;
}
std::vector<Span> adaptive_windows(int64_t size, int64_t out) {
    std::vector<Span> spans;
    for (int64_t i = 0; i < out; ++i) {
        const int64_t b = static_cast<int64_t>(std::floor(static_cast<double>(i * size) / static_cast<double>(out)));
        const int64_t e =
            static_cast<int64_t>(std::ceil(static_cast<double>((i + 1) * size) / static_cast<double>(out)));
        spans.push_back({b, e, e - b});
    }
    return spans;
}

enum class Reduce { max, mean_with_padding, mean_inside };
// Pools [N, C, H, W] over the given row and column windows.
std::vector<double> reference_pool(const Tensor& x, const std::vector<Span>& rows, const std::vector<Span>& cols,
                                   Reduce reduce) {
    const auto v = x.contiguous().to_vector<double>();
    const int64_t NC = x.size(0) * x.size(1), H = x.size(2), W = x.size(3);
    std::vector<double> out;
    for (int64_t p = 0; p < NC; ++p)
        for (const Span& r : rows)
            for (const Span& c : cols) {
                double best = -std::numeric_limits<double>::infinity(), total = 0;
                for (int64_t h = r.begin; h < r.end; ++h)
                    for (int64_t w = c.begin; w < c.end; ++w) {
                        best = std::max(best, v[static_cast<std::size_t>((p * H + h) * W + w)]);
                        total += v[static_cast<std::size_t>((p * H + h) * W + w)];
                    }
                const double inside = static_cast<double>((r.end - r.begin) * (c.end - c.begin));
                out.push_back(reduce == Reduce::max ? best
                              : reduce == Reduce::mean_inside
                                  ? total / inside
                                  : total / static_cast<double>(r.with_padding * c.with_padding));
            }
    return out;
}

Tensor leaf(const Shape& shape, uint64_t seed) {
    return random_tensor(shape, kFloat64, seed).requires_grad_();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(pooling)

BOOST_AUTO_TEST_CASE(avg_pool_matches_the_windows_with_and_without_padding_in_the_count) {
    const Tensor x = random_tensor({2, 3, 7, 6}, kFloat64, 1);
    for (bool ceil_mode : {false, true})
        for (bool count_pad : {false, true}) {
            BOOST_TEST_CONTEXT("ceil_mode " << ceil_mode << ", count_include_pad " << count_pad) {
                const Tensor y = nn::F::avg_pool2d(x, {3, 2}, {2, 2}, {1, 1}, ceil_mode, count_pad);
                const auto rows = fixed_windows(7, 3, 2, 1, ceil_mode), cols = fixed_windows(6, 2, 2, 1, ceil_mode);
                BOOST_TEST(
                    (y.sizes() == Shape{2, 3, static_cast<int64_t>(rows.size()), static_cast<int64_t>(cols.size())}));
                check_values(y,
                             reference_pool(x, rows, cols, count_pad ? Reduce::mean_with_padding : Reduce::mean_inside),
                             1e-12);
            }
        }
    // ceil_mode adds a window that overhangs: 7 -> 4 windows of 2 instead of 3.
    BOOST_TEST((nn::F::avg_pool2d(x, 2, 0, 0, true).sizes() == Shape{2, 3, 4, 3}));
    nn::AvgPool1d pool({.kernel_size = 3, .stride = 2, .padding = 1, .ceil_mode = true, .count_include_pad = false});
    const Tensor seq = random_tensor({2, 4, 8}, kFloat64, 2);
    check_values(pool(seq),
                 reference_pool(seq.unsqueeze(2), fixed_windows(1, 1, 1, 0, false), fixed_windows(8, 3, 2, 1, true),
                                Reduce::mean_inside),
                 1e-12);
    check_values(pool(seq.select(0, 1)), pool(seq).select(0, 1).to_vector<double>(), 1e-12);  // unbatched
}

BOOST_AUTO_TEST_CASE(max_pool_ceil_mode_and_dilation) {
    const Tensor x = random_tensor({2, 2, 7, 5}, kFloat64, 3);
    nn::MaxPool2d pool({.kernel_size = 2, .stride = 2, .ceil_mode = true});
    const Tensor y = pool(x);
    BOOST_TEST((y.sizes() == Shape{2, 2, 4, 3}));
    check_values(y, reference_pool(x, fixed_windows(7, 2, 2, 0, true), fixed_windows(5, 2, 2, 0, true), Reduce::max),
                 0);
    check_values(nn::F::max_pool2d(x, 3, 2, 1, 1, true),
                 reference_pool(x, fixed_windows(7, 3, 2, 1, true), fixed_windows(5, 3, 2, 1, true), Reduce::max), 0);
    // A window that would start past the input and its padding is dropped (PyTorch's rule):
    // 6 with kernel 2, stride 2, ceil_mode gives 3 windows, not 4.
    BOOST_TEST(nn::F::max_pool1d(random_tensor({1, 1, 6}), 2, 2, 0, 1, true).size(2) == 3);
    BOOST_TEST(nn::F::max_pool1d(random_tensor({1, 1, 6}), 2, 2, 1, 1, true).size(2) == 4);
    // dilation 2, kernel 2 over a row: max of x[i] and x[i + 2].
    const Tensor row = tensor({{{1, 5, 2, 0, 7, 3}}}, kFloat64);
    check_values(nn::F::max_pool1d(row, 2, 1, 0, 2), {2, 5, 7, 3});
    check_values(nn::F::max_pool1d(row.select(0, 0), 2, 1, 0, 2), {2, 5, 7, 3});  // unbatched
}

BOOST_AUTO_TEST_CASE(adaptive_pools_use_pytorchs_windows) {
    const Tensor x = random_tensor({2, 3, 7, 5}, kFloat64, 4);
    const auto rows = adaptive_windows(7, 3), cols = adaptive_windows(5, 2);
    check_values(nn::F::adaptive_avg_pool2d(x, {3, 2}), reference_pool(x, rows, cols, Reduce::mean_inside), 1e-12);
    check_values(nn::F::adaptive_max_pool2d(x, {3, 2}), reference_pool(x, rows, cols, Reduce::max), 0);
    nn::AdaptiveAvgPool2d global({.output_size = 1});
    check_values(global(x), mean(x, {2, 3}).to_vector<double>(), 1e-12);
    // Divisible sizes take the max-pool kernel; the result is the same windows.
    check_values(nn::F::adaptive_max_pool2d(x.narrow(2, 0, 6), {3, 5}),
                 reference_pool(x.narrow(2, 0, 6), adaptive_windows(6, 3), adaptive_windows(5, 5), Reduce::max), 0);
    const Tensor seq = random_tensor({2, 4, 9}, kFloat64, 5);
    nn::AdaptiveMaxPool1d over_time({.output_size = 1});
    check_values(over_time(seq).squeeze(2), amax(seq, {2}).to_vector<double>(), 0);
    check_values(nn::F::adaptive_avg_pool1d(seq, 4),
                 reference_pool(seq.unsqueeze(2), adaptive_windows(1, 1), adaptive_windows(9, 4), Reduce::mean_inside),
                 1e-12);
    check_values(
        nn::F::adaptive_max_pool1d(seq.select(0, 0), 4),
        reference_pool(seq.narrow(0, 0, 1).unsqueeze(2), adaptive_windows(1, 1), adaptive_windows(9, 4), Reduce::max),
        0);
    // More outputs than inputs: windows repeat inputs.
    check_values(nn::F::adaptive_avg_pool1d(tensor({{{1, 3}}}, kFloat64), 3), {1, 2, 3}, 1e-12);
    // Divisible sizes: equal windows of 2 x 1.
    check_values(nn::F::adaptive_avg_pool2d(x.narrow(2, 0, 6), {3, 5}),
                 reference_pool(x.narrow(2, 0, 6), adaptive_windows(6, 3), adaptive_windows(5, 5), Reduce::mean_inside),
                 1e-12);
    // An inf stays in its own window: windows [0, 2) and [1, 3) of (1, 3, inf) give 2 and inf.
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor with_inf = tensor({{{1.0, 3.0, inf}}}, kFloat64);
    check_values(nn::F::adaptive_avg_pool1d(with_inf, 2), {2.0, inf}, 0);
    check_values(nn::F::adaptive_avg_pool2d(with_inf.unsqueeze(0), {1, 2}), {2.0, inf}, 0);
}

BOOST_AUTO_TEST_CASE(pooling_gradients_pass_gradcheck) {
    const std::vector<std::pair<std::string, autograd::TensorFunction>> cases = {
        {"avg_pool2d_ceil_exclude_pad",
         [](const Args& a) {
             return nn::F::avg_pool2d(a[0], {3, 2}, 2, 1, true, false);
         }},
        {"avg_pool2d_include_pad", [](const Args& a) { return nn::F::avg_pool2d(a[0], 3, 1, 1); }},
        {"max_pool2d_ceil", [](const Args& a) { return nn::F::max_pool2d(a[0], 2, 2, 0, 1, true); }},
        {"adaptive_avg_pool2d",
         [](const Args& a) {
             return nn::F::adaptive_avg_pool2d(a[0], {3, 2});
         }},
        {"adaptive_max_pool2d",
         [](const Args& a) {
             return nn::F::adaptive_max_pool2d(a[0], {3, 4});
         }},
        {"adaptive_max_pool2d_divisible",
         [](const Args& a) {
             return nn::F::adaptive_max_pool2d(a[0], {1, 1});
         }},
    };
    for (const auto& [name, fn] : cases)
        for (bool strided : {false, true}) {
            BOOST_TEST_CONTEXT(name << (strided ? " strided" : "")) {
                Tensor x = random_tensor({2, 2, 5, 5}, kFloat64, 6);
                if (strided) x = noncontiguous(x);
                const auto result = autograd::gradcheck(fn, {x.detach().requires_grad_()}, {.raise = false});
                BOOST_TEST(result.ok, result.message);
            }
        }
    const auto avg = [](const Args& a) { return nn::F::avg_pool1d(a[0], 2, 1, 1, true) * a[0].sum(); };
    const auto second = autograd::gradgradcheck(avg, {leaf({2, 3, 5}, 7)}, {.raise = false});
    BOOST_TEST(second.ok, second.message);
}

BOOST_AUTO_TEST_CASE(pooling_errors_name_the_op_and_sizes) {
    const Tensor x = random_tensor({1, 2, 4, 4});
    check_error([&] { nn::F::avg_pool2d(x, 2, 2, 2); }, {"avg_pool2d", "padding 2", "half the kernel (2)"});
    check_error([&] { nn::F::max_pool2d(x, 5); }, {"max_pool2d", "larger than the padded input (4)"});
    check_error([&] { nn::F::avg_pool1d(random_tensor({4}), 2); }, {"avg_pool1d", "[N, C, L] or [C, L]", "[4]"});
    // The 1-d pools run as 2-d ones on [N, C, 1, L] but name themselves in errors.
    check_error(
        [&] {
            nn::F::max_pool1d(random_tensor({1, 1, 3}), 5);
        },
        {"max_pool1d", "larger than the padded input"});
    check_error([&] { nn::F::avg_pool1d(random_tensor({1, 1, 4}), 2, 2, 2); }, {"avg_pool1d", "half the kernel"});
    check_error([&] { nn::F::adaptive_avg_pool2d(x, {0, 2}); }, {"adaptive_avg_pool2d", "output_size", "(0, 2)"});
    check_error([&] { nn::F::adaptive_max_pool2d(random_tensor({2, 4}), 2); }, {"adaptive_max_pool2d", "[2, 4]"});
}

BOOST_AUTO_TEST_SUITE_END()
