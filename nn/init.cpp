#include <xgrad/nn/init.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn::init {
namespace {

// Fills t from a per-element draw, in element order (a seed fixes the result).
template <class Draw>
void fill_from(const Tensor& t, Draw draw) {
    XGRAD_CHECK(is_floating(t.dtype()), "init: expected a floating-point tensor, got ", t.dtype());
    std::vector<double> values(static_cast<std::size_t>(t.numel()));
    for (double& v : values) v = draw();
    NoGradGuard no_grad;
    t.copy_(from_vector(values, t.sizes(), kFloat64));
}

// A tensor of at least 2 dims without elements: the fan-based initializers leave it alone (its fan
// may be 0), as PyTorch's do.
bool nothing_to_fill(const Tensor& t) {
    return t.dim() >= 2 && t.numel() == 0;
}

double fan(const Tensor& t, FanMode mode) {
    const auto [in, out] = calculate_fan_in_and_fan_out(t);
    switch (mode) {
        case FanMode::fan_in:
            return static_cast<double>(in);
        case FanMode::fan_out:
            return static_cast<double>(out);
        case FanMode::fan_avg:
            return (in + out) / 2.0;
    }
    return static_cast<double>(in);
}
}  // namespace

double calculate_gain(Nonlinearity nonlinearity, double param) {
    switch (nonlinearity) {
        case Nonlinearity::linear:
        case Nonlinearity::conv:
        case Nonlinearity::sigmoid:
            return 1.0;
        case Nonlinearity::tanh:
            return 5.0 / 3;
        case Nonlinearity::relu:
            return std::sqrt(2.0);
        case Nonlinearity::leaky_relu:
            return std::sqrt(2.0 / (1 + param * param));
        case Nonlinearity::selu:
            return 3.0 / 4;
    }
    return 1.0;
}

std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight) {
    XGRAD_CHECK(weight.dim() >= 2, "init: fan in and fan out need a tensor with at least 2 dims, got shape ",
                weight.sizes());
    int64_t receptive = 1;
    for (int64_t d = 2; d < weight.dim(); ++d) receptive *= weight.size(d);
    return {weight.size(1) * receptive, weight.size(0) * receptive};
}

void zeros_(const Tensor& t) {
    constant_(t, 0.0);
}
void ones_(const Tensor& t) {
    constant_(t, 1.0);
}
void constant_(const Tensor& t, double value) {
    NoGradGuard no_grad;
    t.fill_(value);
}

void uniform_(const Tensor& t, double a, double b, Generator* g) {
    XGRAD_CHECK(a <= b, "uniform_: a (", a, ") must not exceed b (", b, ")");
    Generator& gen = generator_or_default(g);
    auto hold = gen.lock();
    fill_from(t, [&] { return a + (b - a) * gen.next_double(); });
}

void normal_(const Tensor& t, double mean, double std, Generator* g) {
    XGRAD_CHECK(std >= 0, "normal_: std must be non-negative, got ", std);
    Generator& gen = generator_or_default(g);
    auto hold = gen.lock();
    fill_from(t, [&] { return mean + std * gen.next_normal(); });
}

namespace {
// P(Z > x) for a standard normal Z, accurate far into the tail (erfc keeps its relative precision).
double upper_tail(double x) {
    return 0.5 * std::erfc(x / std::sqrt(2.0));
}

// Z restricted to [lo, hi] by inversion: u in [0, 1) picks a tail probability q between
// P(Z > hi) and P(Z > lo), and Newton's method on P(Z > x) = q, kept inside the bracket by
// bisection, finds x. Intervals below 0 are mirrored so that the tail computed is the small one.
double truncated_standard_normal(double lo, double hi, double u) {
    if (hi <= 0) return -truncated_standard_normal(-hi, -lo, u);
    const double q = upper_tail(hi) + u * (upper_tail(lo) - upper_tail(hi));
    double left = lo, right = hi, x = lo + u * (hi - lo);
    for (int i = 0; i < 200; ++i) {
        const double excess = upper_tail(x) - q;  // decreasing in x: positive left of the root
        if (excess == 0) break;
        (excess > 0 ? left : right) = x;
        double next = x + excess * std::sqrt(2 * M_PI) * std::exp(0.5 * x * x);  // - excess / (d/dx P(Z > x))
        if (!(next > left && next < right)) next = 0.5 * (left + right);
        const bool converged = std::abs(next - x) <= 1e-14 * std::max(1.0, std::abs(x));
        x = next;
        if (converged || right - left <= 1e-14 * std::max(1.0, std::abs(x))) break;
    }
    return x;
}
}  // namespace

void trunc_normal_(const Tensor& t, double mean, double std, double a, double b, Generator* g) {
    XGRAD_CHECK(a < b, "trunc_normal_: the bounds [", a, ", ", b, "] are empty");
    XGRAD_CHECK(std > 0, "trunc_normal_: std must be positive, got ", std);
    // Beyond 30 std the tail probabilities underflow a double and no draw can be placed.
    XGRAD_CHECK(b > mean - 30 * std && a < mean + 30 * std, "trunc_normal_: the bounds [", a, ", ", b,
                "] lie more than 30 std from the mean, beyond what a double can place a draw in");
    Generator& gen = generator_or_default(g);
    auto hold = gen.lock();
    const double lo = (a - mean) / std, hi = (b - mean) / std;
    // Redrawing until a value lands inside is exact and cheap while most draws do (+-2 std keeps
    // 95%); for a narrow or far interval (5 to 6 std keeps 3 in 10 million) it would never end,
    // and the inverse of the distribution function takes over.
    if (upper_tail(lo) - upper_tail(hi) >= 0.25) {
        fill_from(t, [&] {
            double v;
            do v = mean + std * gen.next_normal();
            while (v < a || v > b);
            return v;
        });
        return;
    }
    fill_from(t, [&] { return std::clamp(mean + std * truncated_standard_normal(lo, hi, gen.next_double()), a, b); });
}

void xavier_uniform_(const Tensor& t, double gain, Generator* g) {
    if (nothing_to_fill(t)) return;
    const auto [in, out] = calculate_fan_in_and_fan_out(t);
    const double bound = gain * std::sqrt(6.0 / static_cast<double>(in + out));
    uniform_(t, -bound, bound, g);
}

void xavier_normal_(const Tensor& t, double gain, Generator* g) {
    if (nothing_to_fill(t)) return;
    const auto [in, out] = calculate_fan_in_and_fan_out(t);
    normal_(t, 0.0, gain * std::sqrt(2.0 / static_cast<double>(in + out)), g);
}

void kaiming_uniform_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* g) {
    if (nothing_to_fill(t)) return;
    const double bound = calculate_gain(nonlinearity, a) * std::sqrt(3.0 / fan(t, mode));
    uniform_(t, -bound, bound, g);
}

void kaiming_normal_(const Tensor& t, double a, FanMode mode, Nonlinearity nonlinearity, Generator* g) {
    if (nothing_to_fill(t)) return;
    normal_(t, 0.0, calculate_gain(nonlinearity, a) / std::sqrt(fan(t, mode)), g);
}

void layer_default_(const Tensor& weight, const Tensor& bias, Generator* g) {
    kaiming_uniform_(weight, std::sqrt(5.0), FanMode::fan_in, Nonlinearity::leaky_relu, g);
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(fan(weight, FanMode::fan_in));
        uniform_(bias, -bound, bound, g);
    }
}

void embedding_default_(const Tensor& weight, std::optional<int64_t> padding_idx, Generator* g) {
    normal_(weight, 0.0, 1.0, g);
    if (padding_idx) {
        NoGradGuard no_grad;
        weight[*padding_idx].zero_();
    }
}

void variance_scaling_(const Tensor& t, double scale, FanMode mode, Distribution distribution, Generator* g) {
    XGRAD_CHECK(scale > 0, "variance_scaling_: scale must be positive, got ", scale);
    if (nothing_to_fill(t)) return;
    const double variance = scale / fan(t, mode);
    switch (distribution) {
        case Distribution::normal:
            return normal_(t, 0.0, std::sqrt(variance), g);
        case Distribution::uniform: {
            const double limit = std::sqrt(3.0 * variance);
            return uniform_(t, -limit, limit, g);
        }
        case Distribution::truncated_normal: {
            // A normal truncated at +-2 sigma has 0.87962566 sigma of standard deviation; widen it so
            // the result has the requested variance (as Keras does).
            const double std = std::sqrt(variance) / 0.87962566103423978;
            return trunc_normal_(t, 0.0, std, -2 * std, 2 * std, g);
        }
    }
}

void orthogonal_(const Tensor& t, double gain, Generator* g) {
    XGRAD_CHECK(t.dim() >= 2, "orthogonal_: expected a tensor with at least 2 dims, got shape ", t.sizes());
    if (nothing_to_fill(t)) return;  // (rows would divide by 0 below)
    const int64_t rows = t.size(0), cols = t.numel() / rows;
    // Orthonormalize the columns of a tall Gaussian matrix [big, small] by modified Gram-Schmidt,
    // then transpose if the tensor is wide. Signs follow R's diagonal, as in PyTorch's QR route.
    const int64_t big = std::max(rows, cols), small = std::min(rows, cols);
    Generator& gen = generator_or_default(g);
    auto hold = gen.lock();
    std::vector<double> a(static_cast<std::size_t>(big * small));
    for (double& v : a) v = gen.next_normal();
    auto at = [&](int64_t i, int64_t j) -> double& { return a[static_cast<std::size_t>(i * small + j)]; };
    for (int64_t j = 0; j < small; ++j) {
        for (int64_t k = 0; k < j; ++k) {
            double dot = 0;
            for (int64_t i = 0; i < big; ++i) dot += at(i, k) * at(i, j);
            for (int64_t i = 0; i < big; ++i) at(i, j) -= dot * at(i, k);
        }
        double norm = 0;
        for (int64_t i = 0; i < big; ++i) norm += at(i, j) * at(i, j);
        norm = std::sqrt(norm);
        XGRAD_INTERNAL_ASSERT(norm > 0, "orthogonal_: degenerate Gaussian draw");
        for (int64_t i = 0; i < big; ++i) at(i, j) /= norm;
    }
    std::vector<double> out(static_cast<std::size_t>(rows * cols));
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j)
            out[static_cast<std::size_t>(i * cols + j)] = gain * (rows >= cols ? at(i, j) : at(j, i));
    NoGradGuard no_grad;
    t.copy_(from_vector(out, t.sizes(), kFloat64));
}

}  // namespace xgrad::nn::init
