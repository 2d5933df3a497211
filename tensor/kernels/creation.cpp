// Creation kernels: constants, ranges and random arrays, and dropout's masked product. A seed fixes
// every random array regardless of the thread count: most are filled in element order from one
// generator, and the Bernoulli masks, drawn in bulk every training step, from a counter
// (kernels/counter_random.hpp).

#include <cmath>
#include <limits>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/counter_random.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
using namespace detail;

NDArray full(const Shape& sizes, double value, DType dtype) {
    NDArray out = NDArray::empty(sizes, dtype);
    fill_(out, value);
    return out;
}

NDArray arange(double start, double end, double step, DType dtype) {
    XGRAD_CHECK(step != 0, "arange: step must be non-zero");
    XGRAD_CHECK(std::isfinite(start) && std::isfinite(end), "arange: bounds must be finite, got ", start, " and ", end);
    const double count = std::ceil((end - start) / step);
    XGRAD_CHECK(count >= 0, "arange: the range [", start, ", ", end, ") is empty in the direction of step ", step,
                " (it would be negative)");
    XGRAD_CHECK(count < 0x1p63, "arange: the range [", start, ", ", end, ") in steps of ", step, " has ", count,
                " elements, more than an int64 can count");
    const auto n = static_cast<int64_t>(count);
    // An integer dtype must hold every value (a cast of a double beyond int64 is undefined).
    if (!is_floating(dtype) && n > 0) {
        const double last = start + static_cast<double>(n - 1) * step;
        for (double v : {start, last})
            XGRAD_CHECK(v >= -0x1p63 && v < 0x1p63, "arange: the value ", v, " of [", start, ", ", end,
                        ") in steps of ", step, " does not fit ", dtype);
    }
    NDArray out = NDArray::empty({n}, dtype, "arange");
    dispatch_numeric(dtype, "arange", [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(start + static_cast<double>(i) * step);
    });
    return out;
}

NDArray linspace(double start, double end, int64_t steps, DType dtype) {
    XGRAD_CHECK(steps >= 0, "linspace: the number of steps must be non-negative, got ", steps);
    NDArray out = NDArray::empty({steps}, dtype, "linspace");
    dispatch_numeric(dtype, "linspace", [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        const double step = steps > 1 ? (end - start) / static_cast<double>(steps - 1) : 0.0;
        // Fill from both ends so that the last point is exactly end.
        for (int64_t i = 0; i < steps; ++i)
            p[i] = static_cast<T>(i < steps / 2 ? start + step * static_cast<double>(i)
                                                : end - step * static_cast<double>(steps - 1 - i));
    });
    return out;
}

NDArray eye(int64_t n, int64_t m, DType dtype) {
    XGRAD_CHECK(n >= 0 && m >= 0, "eye: sizes must be non-negative, got ", n, " and ", m);
    checked_numel({n, m}, "eye");
    NDArray out = full({n, m}, 0, dtype);
    for (int64_t i = 0; i < std::min(n, m); ++i) fill_(out.select(0, i).narrow(0, i, 1), 1);
    return out;
}

namespace {
template <class Draw>
NDArray random_fill(const Shape& sizes, DType dtype, const char* op, Draw draw) {
    NDArray out = NDArray::empty(sizes, dtype);
    dispatch_numeric(dtype, op, [&](auto tag) {
        using T = decltype(tag);
        T* p = out.data<T>();
        const int64_t n = out.numel();
        for (int64_t i = 0; i < n; ++i) p[i] = static_cast<T>(draw());
    });
    return out;
}
}  // namespace

NDArray uniform(const Shape& sizes, double low, double high, DType dtype, Generator& gen) {
    auto hold = gen.lock();
    XGRAD_CHECK(low <= high, "uniform: low (", low, ") must not exceed high (", high, ")");
    XGRAD_CHECK(std::isfinite(low) && std::isfinite(high) && std::isfinite(high - low),
                "uniform: expected a finite range, got [", low, ", ", high, ")");
    XGRAD_CHECK(is_floating(dtype), "uniform: expected a floating-point dtype, got ", dtype);
    const double largest = dtype == kFloat32 ? std::numeric_limits<float>::max() : std::numeric_limits<double>::max();
    XGRAD_CHECK(std::abs(low) <= largest && std::abs(high) <= largest, "uniform: the range [", low, ", ", high,
                ") does not fit ", dtype);
    // low + (high - low) * u, stored in the dtype, can round up to high (in float32 once in about
    // 2^25 draws of [-1, 1)): such a draw becomes the largest value of the dtype below high, so
    // that values stay in [low, high) without a redraw, which could loop forever on a range that
    // holds no float32 at all (then the value is the float32 just below it).
    double below_high = std::nextafter(high, -INFINITY);
    if (dtype == kFloat32) {
        const auto high32 = static_cast<float>(high);
        below_high = static_cast<double>(high32) < high ? high32 : std::nextafter(high32, -INFINITY);
    }
    return random_fill(sizes, dtype, "uniform", [&] {
        const double v = low + (high - low) * gen.next_double();
        const double stored = dtype == kFloat32 ? static_cast<double>(static_cast<float>(v)) : v;
        return low < high && stored >= high ? below_high : v;
    });
}

NDArray normal(const Shape& sizes, double mean, double std, DType dtype, Generator& gen) {
    auto hold = gen.lock();
    XGRAD_CHECK(std >= 0, "normal: std must be non-negative, got ", std);
    XGRAD_CHECK(is_floating(dtype), "normal: expected a floating-point dtype, got ", dtype);
    return random_fill(sizes, dtype, "normal", [&] { return mean + std * gen.next_normal(); });
}

NDArray randint(int64_t low, int64_t high, const Shape& sizes, DType dtype, Generator& gen) {
    auto hold = gen.lock();
    XGRAD_CHECK(low < high, "randint: expected low < high, got [", low, ", ", high, ")");
    // In uint64, where high - low cannot overflow and low + draw wraps back into [low, high); the
    // value stays an integer until the cast to the dtype (a double would round above 2^53).
    const uint64_t span = static_cast<uint64_t>(high) - static_cast<uint64_t>(low);
    return random_fill(sizes, dtype, "randint",
                       [&] { return static_cast<int64_t>(static_cast<uint64_t>(low) + gen.next_below(span)); });
}

NDArray bernoulli(const Shape& sizes, double p, DType dtype, Generator& gen, double value) {
    XGRAD_CHECK(p >= 0 && p <= 1, "bernoulli: p must be in [0, 1], got ", p);
    // Dropout draws masks as large as its input every step (a Transformer's attention weights:
    // millions of elements), so a mask is computed in parallel and in SIMD lanes from a counter:
    // one key drawn from the generator, then element i from the key and i alone.
    const BernoulliDraws draws(draw_key(gen), p);
    NDArray out = NDArray::empty(sizes, dtype);
    dispatch_numeric(dtype, "bernoulli", [&](auto tag) {
        using T = decltype(tag);
        const T hit = static_cast<T>(value), miss = static_cast<T>(0);
        T* const data = out.data<T>();
        // A draw costs a few multiply-adds' worth of integer work per element.
        ::xgrad::detail::parallel_for(out.numel(), 2.0, 64, [=](int64_t begin, int64_t end) {
            draws.for_range(begin, end, [=](int64_t i, bool kept) { data[i] = kept ? hit : miss; });
        });
    });
    return out;
}

uint64_t draw_key(Generator& gen) {
    auto hold = gen.lock();
    return gen.next_u64();
}

NDArray dropout(const NDArray& x_in, double keep, uint64_t key) {
    XGRAD_CHECK(keep > 0 && keep <= 1, "dropout: the retention probability must be in (0, 1], got ", keep);
    XGRAD_CHECK(is_floating(x_in.dtype()), "dropout: expected a floating-point input, got ", x_in.dtype());
    const NDArray x = x_in.contiguous();  // the mask follows the logical (row-major) order
    NDArray out = NDArray::empty(x.sizes(), x.dtype());
    const BernoulliDraws draws(key, keep);
    dispatch_floating(x.dtype(), "dropout", [&](auto tag) {
        using T = decltype(tag);
        // The same scale as bernoulli's value 1 / keep, so x * that mask gives these bits too.
        const T scale = static_cast<T>(1.0 / keep), zero = static_cast<T>(0);
        const T* const in = x.data<T>();
        T* const data = out.data<T>();
        ::xgrad::detail::parallel_for(x.numel(), 3.0, 64, [=](int64_t begin, int64_t end) {
            draws.for_range(begin, end, [=](int64_t i, bool kept) { data[i] = in[i] * (kept ? scale : zero); });
        });
    });
    return out;
}

NDArray randperm(int64_t n, Generator& gen) {
    auto hold = gen.lock();
    XGRAD_CHECK(n >= 0, "randperm: n must be non-negative, got ", n);
    NDArray out = arange(0, static_cast<double>(n), 1, kInt64);
    int64_t* p = out.data<int64_t>();
    for (int64_t i = n - 1; i > 0; --i) std::swap(p[i], p[gen.next_below(static_cast<uint64_t>(i + 1))]);
    return out;
}

NDArray triangle_mask(int64_t rows, int64_t cols, int64_t diagonal, bool upper) {
    XGRAD_CHECK(rows >= 0 && cols >= 0, "triangle_mask: sizes must be non-negative, got ", rows, " x ", cols);
    NDArray out = NDArray::empty({rows, cols}, kBool);
    bool* p = out.data<bool>();
    for (int64_t i = 0; i < rows; ++i)
        for (int64_t j = 0; j < cols; ++j) p[i * cols + j] = upper ? j - i >= diagonal : j - i <= diagonal;
    return out;
}

}  // namespace xgrad::kernels
