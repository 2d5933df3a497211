// Max pooling over [N, C, H, W]: the maxima and, for backward, where each one sits in its plane.
// The positions are kept as int32 offsets into the [H, W] plane (half of int64 indices, and no
// index validation on the way back, since they are made here); the gradient is scattered
// straight into the input's shape and, for second derivatives, gathered back the same way.

#include <algorithm>
#include <cstdint>
#include <limits>
#include <type_traits>
#include <vector>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/simd.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
namespace {

// The first maximum wins (as in PyTorch); NaN counts as the maximum. Branch-free: comparisons of
// data are unpredictable.
template <class T>
inline void take_if_larger(T v, int32_t at, T& best_value, int32_t& best) {
    const bool take = v > best_value || (v != v && best_value == best_value);  // NOLINT(misc-redundant-expression)
    best = take ? at : best;
    best_value = take ? v : best_value;
}

// "b wins over a" for a window scanned in row-major order: b comes later, so it must be strictly
// larger, or NaN where a is not (NaN is the maximum, and the first NaN stays).
template <class V>
auto later_wins(const V& b, const V& a) {
    return (b > a) || (xsimd::isnan(b) && !xsimd::isnan(a));
}

// The lecture's pooling (2 x 2, stride 2, no padding or dilation) in float32, a batch of outputs
// at a time with no scalar work per output: the four corners of each window gathered from the
// plane at `corners` (each output's top-left offset, the same for every plane), then scanned in
// row-major order, so ties go to the first maximum as in the scalar loop. Gathers rather than
// loads because the CNN's planes are narrow: a 14-wide output row fills no 16-lane batch, but
// the 196 outputs of a plane fill 12. (xsimd 8's gather inserts lane by lane: on Zen 5 that
// measured 2x faster than the AVX-512 gather instruction, 1.7 against 3.5 ms for the CNN's first
// pooling.) Offsets ride in float lanes (0, 1, w, w + 1: exact while the plane is narrower than
// 2^24). float64 takes the general loop below.
void max_pool_2x2(const float* plane, int64_t w, int64_t out_plane, const int32_t* corners, float* values,
                  int32_t* positions) {
    using Batch = detail::Batch<float>;
    using Offsets = detail::Batch<int32_t>;
    constexpr int64_t lanes = Batch::size;
    const Batch zero(0.0f), one(1.0f), width(static_cast<float>(w)), width_and_one(static_cast<float>(w + 1));
    const auto take = [](const auto& wins, const Batch& v, const Batch& at, Batch& best, Batch& best_at) {
        best = xsimd::select(wins, v, best);
        best_at = xsimd::select(wins, at, best_at);
    };
    int64_t j = 0;
    for (; j + lanes <= out_plane; j += lanes) {
        const Offsets corner = Offsets::load_unaligned(corners + j);
        Batch best = Batch::gather(plane, corner), best_at = zero;
        const Batch top_right = Batch::gather(plane + 1, corner);
        const Batch bottom_left = Batch::gather(plane + w, corner);
        const Batch bottom_right = Batch::gather(plane + w + 1, corner);
        take(later_wins(top_right, best), top_right, one, best, best_at);
        take(later_wins(bottom_left, best), bottom_left, width, best, best_at);
        take(later_wins(bottom_right, best), bottom_right, width_and_one, best, best_at);
        best.store_unaligned(values + j);
        (corner + xsimd::to_int(best_at)).store_unaligned(positions + j);
    }
    for (; j < out_plane; ++j) {
        const int32_t corner = corners[j];
        int32_t winner = corner;
        float winner_value = plane[corner];
        take_if_larger(plane[corner + 1], corner + 1, winner_value, winner);
        take_if_larger(plane[corner + w], corner + static_cast<int32_t>(w), winner_value, winner);
        take_if_larger(plane[corner + w + 1], corner + static_cast<int32_t>(w) + 1, winner_value, winner);
        values[j] = winner_value;
        positions[j] = winner;
    }
}

// The kernel taps [first, end) of a window starting at `start` that land inside [0, size), in
// divisions that cannot overflow (a dilation may be as large as int64 allows).
struct Taps {
    int64_t first, end;
};
Taps taps_inside(int64_t start, int64_t size, int64_t kernel, int64_t dilation) {
    const int64_t first = start >= 0 ? 0 : (-start - 1) / dilation + 1;
    const int64_t reaching = size - start <= 0 ? 0 : (size - start - 1) / dilation + 1;
    return {first, std::min(kernel, reaching)};
}

// Every window has to take at least one input element: with dilation, a window that starts in
// the padding can step over the input altogether (kernel 2, dilation 2, padding 1 on an input one
// wide), and a maximum of nothing has neither a value nor a position for the gradient.
void check_windows_reach_input(int64_t size, int64_t out, int64_t kernel, int64_t stride, int64_t padding,
                               int64_t dilation, const char* axis, const Window2d& win, const Shape& sizes) {
    for (int64_t o = 0; o < out; ++o) {
        const Taps taps = taps_inside(o * stride - padding, size, kernel, dilation);
        XGRAD_CHECK(taps.first < taps.end, "max_pool2d: output ", axis, " ", o, " has a window (kernel ", win.kernel_h,
                    "x", win.kernel_w, ", stride ", win.stride_h, "x", win.stride_w, ", padding ", win.padding_h, "x",
                    win.padding_w, ", dilation ", win.dilation_h, "x", win.dilation_w,
                    ") that covers only padding on the input of shape ", sizes);
    }
}

template <class T>
void max_pool_any(const T* plane, int64_t h, int64_t w, int64_t out_h, int64_t out_w, const Window2d& win, T* values,
                  int32_t* positions) {
    for (int64_t oh = 0; oh < out_h; ++oh) {
        // The kernel rows inside the input, found once per output row.
        const int64_t top = oh * win.stride_h - win.padding_h;
        const auto [ki_begin, ki_end] = taps_inside(top, h, win.kernel_h, win.dilation_h);
        for (int64_t ow = 0; ow < out_w; ++ow) {
            const int64_t left = ow * win.stride_w - win.padding_w;
            const auto [kj_begin, kj_end] = taps_inside(left, w, win.kernel_w, win.dilation_w);
            // Seeded with the window's first element inside the input.
            int32_t best =
                static_cast<int32_t>((top + ki_begin * win.dilation_h) * w + left + kj_begin * win.dilation_w);
            T best_value = plane[best];
            for (int64_t ki = ki_begin; ki < ki_end; ++ki) {
                const int64_t row = (top + ki * win.dilation_h) * w + left;
                for (int64_t kj = kj_begin; kj < kj_end; ++kj) {
                    const int32_t at = static_cast<int32_t>(row + kj * win.dilation_w);
                    take_if_larger(plane[at], at, best_value, best);
                }
            }
            values[oh * out_w + ow] = best_value;
            positions[oh * out_w + ow] = best;
        }
    }
}

// relu of a plane's maxima, as ReLU computes it (NaN stays NaN); a maximum that is not positive
// (NaN neither) passes no gradient, as relu's would not: its position p is stored as ~p (< 0).
// Branch-free: which maxima a ReLU blocks is data, unpredictable.
template <class T>
void relu_maxima(T* values, int32_t* at, int64_t count) {
    for (int64_t k = 0; k < count; ++k) {
        const T v = values[k];
        at[k] = v > T(0) ? at[k] : ~at[k];
        values[k] = v <= T(0) ? T(0) : v;
    }
}
}  // namespace

MaxPool2dResult max_pool2d(const NDArray& x_in, const Window2d& win, bool relu) {
    const Shape out_hw = window_output_size(x_in.sizes(), win, "max_pool2d");
    XGRAD_CHECK(win.padding_h <= win.kernel_h / 2 && win.padding_w <= win.kernel_w / 2, "max_pool2d: padding (",
                win.padding_h, ", ", win.padding_w, ") must be at most half the kernel (", win.kernel_h, ", ",
                win.kernel_w, ")");
    const int64_t n = x_in.size(0), c = x_in.size(1), h = x_in.size(2), w = x_in.size(3);
    XGRAD_CHECK(h * w <= std::numeric_limits<int32_t>::max(), "max_pool2d: a plane of ", h, " x ", w,
                " has more positions than int32 indices hold");
    const int64_t out_h = out_hw[0], out_w = out_hw[1], out_plane = out_h * out_w;
    check_windows_reach_input(h, out_h, win.kernel_h, win.stride_h, win.padding_h, win.dilation_h, "row", win,
                              x_in.sizes());
    check_windows_reach_input(w, out_w, win.kernel_w, win.stride_w, win.padding_w, win.dilation_w, "column", win,
                              x_in.sizes());
    const NDArray x = x_in.contiguous();
    MaxPool2dResult result{NDArray::empty({n, c, out_h, out_w}, x.dtype()),
                           std::make_shared<PoolPositions>(PoolPositions{{n, c, out_h, out_w}, {h, w}, {}})};
    auto& positions = result.positions->at;
    positions.resize(static_cast<std::size_t>(n * c * out_plane));
    const bool two_by_two = win.kernel_h == 2 && win.kernel_w == 2 && win.stride_h == 2 && win.stride_w == 2 &&
                            win.padding_h == 0 && win.padding_w == 0 && win.dilation_h == 1 && win.dilation_w == 1;
    // float32's 2 x 2 path: each output's window corner, the same in every plane.
    const bool fast_2x2 = two_by_two && x.dtype() == kFloat32 && w < (int64_t{1} << 24);
    std::vector<int32_t> corners;
    if (fast_2x2) {
        corners.resize(static_cast<std::size_t>(out_plane));
        for (int64_t oh = 0; oh < out_h; ++oh)
            for (int64_t ow = 0; ow < out_w; ++ow)
                corners[static_cast<std::size_t>(oh * out_w + ow)] = static_cast<int32_t>(2 * oh * w + 2 * ow);
    }
    detail::dispatch_numeric(x.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        const T* src = x.data<T>();
        T* values = result.values.data<T>();
        const double cost = static_cast<double>(out_plane * win.kernel_h * win.kernel_w);
        xgrad::detail::parallel_for(n * c, cost, 1, [&](int64_t begin, int64_t end) {
            for (int64_t p = begin; p < end; ++p) {
                int32_t* at = positions.data() + p * out_plane;
                T* out = values + p * out_plane;
                bool done = false;
                if constexpr (std::is_same_v<T, float>) {
                    if (fast_2x2) {
                        max_pool_2x2(src + p * h * w, w, out_plane, corners.data(), out, at);
                        done = true;
                    }
                }
                if (!done) max_pool_any(src + p * h * w, h, w, out_h, out_w, win, out, at);
                if (relu) relu_maxima(out, at, out_plane);  // while the plane's maxima are in cache
            }
        });
    });
    return result;
}

NDArray max_pool2d_scatter(const NDArray& grad_out, const PoolPositions& positions) {
    XGRAD_CHECK(grad_out.sizes() == positions.out_sizes, "max_pool2d backward: expected a gradient of shape ",
                positions.out_sizes, ", got ", grad_out.sizes());
    const Shape& o = positions.out_sizes;
    const int64_t planes = o[0] * o[1], out_plane = o[2] * o[3], in_plane = positions.in_hw[0] * positions.in_hw[1];
    const NDArray g = grad_out.contiguous();
    NDArray grad_in = full({o[0], o[1], positions.in_hw[0], positions.in_hw[1]}, 0, g.dtype());
    detail::dispatch_numeric(g.dtype(), "max_pool2d backward", [&](auto tag) {
        using T = decltype(tag);
        const T* src = g.data<T>();
        T* dst = grad_in.data<T>();
        xgrad::detail::parallel_for(planes, static_cast<double>(out_plane), 1, [&](int64_t begin, int64_t end) {
            for (int64_t p = begin; p < end; ++p) {
                const int32_t* at = positions.at.data() + p * out_plane;
                T* plane = dst + p * in_plane;
                // Overlaps add up. A maximum that relu blocked (~p) adds +0 at its own place p,
                // branch-free: x <= 0 (or NaN) there, so relu's gradient, which this replaces, is
                // +0 at p anyway. Blocked windows add where their maxima are, not all at one
                // element (a chain of dependent adds).
                for (int64_t k = 0; k < out_plane; ++k) {
                    const int32_t a = at[k];
                    const T added[2] = {src[p * out_plane + k], T(0)};
                    plane[a ^ (a >> 31)] += added[a < 0];  // ~a for a < 0 (arithmetic shift)
                }
            }
        });
    });
    return grad_in;
}

NDArray max_pool2d_gather(const NDArray& grad_in, const PoolPositions& positions) {
    const Shape& o = positions.out_sizes;
    XGRAD_CHECK(grad_in.sizes() == Shape({o[0], o[1], positions.in_hw[0], positions.in_hw[1]}),
                "max_pool2d double backward: expected a gradient of the input's shape, got ", grad_in.sizes());
    const int64_t planes = o[0] * o[1], out_plane = o[2] * o[3], in_plane = positions.in_hw[0] * positions.in_hw[1];
    const NDArray g = grad_in.contiguous();
    NDArray out = NDArray::empty(o, g.dtype());
    detail::dispatch_numeric(g.dtype(), "max_pool2d double backward", [&](auto tag) {
        using T = decltype(tag);
        const T* src = g.data<T>();
        T* dst = out.data<T>();
        for (int64_t p = 0; p < planes; ++p) {
            const int32_t* at = positions.at.data() + p * out_plane;
            for (int64_t k = 0; k < out_plane; ++k)
                dst[p * out_plane + k] = at[k] >= 0 ? src[p * in_plane + at[k]] : T(0);
        }
    });
    return out;
}

}  // namespace xgrad::kernels
