// Softmax along a dim with some places excluded, in one pass per lane: the excluded places (and
// -inf scores) get weight 0, and a lane with nothing left gets all zeros instead of the NaN that
// exp(-inf - -inf) would give. Attention calls this on [batch heads, queries, keys] scores, where
// a composition of masked_fill, max, exp, sum and div would make eight passes over the largest
// tensor of the model. Softmax's backward, s (g - sum(g s)) along the dim, is one pass too.

#include <algorithm>
#include <cmath>
#include <limits>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/lanes.hpp>
#include <xgrad/tensor/kernels/simd.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
using namespace detail;

namespace {
template <class T>
void softmax_lane(const T* x, const bool* excluded, T* out, int64_t n) {
    using Batch = detail::Batch<T>;
    constexpr int64_t width = static_cast<int64_t>(Batch::size);
    const T lowest = -std::numeric_limits<T>::infinity();
    // The kept scores (a branch-free select the compiler vectorizes), then their maximum in SIMD
    // lanes; a NaN anywhere makes the maximum NaN, so that the lane comes out NaN, as softmax's.
    if (excluded)
        for (int64_t i = 0; i < n; ++i) out[i] = excluded[i] ? lowest : x[i];
    else
        std::copy(x, x + n, out);
    T best = lowest;
    bool nan = false;
    int64_t k = 0;
    if (n >= width) {
        Batch most(lowest);
        xsimd::batch_bool<T, Arch> any_nan(false);
        for (; k + width <= n; k += width) {
            const Batch v = Batch::load_unaligned(out + k);
            any_nan = any_nan || xsimd::isnan(v);
            most = xsimd::max(most, v);
        }
        alignas(Batch::arch_type::alignment()) T lanes[width];
        most.store_aligned(lanes);
        for (int64_t j = 0; j < width; ++j) best = std::max(best, lanes[j]);
        nan = xsimd::any(any_nan);
    }
    for (; k < n; ++k) {
        best = std::max(best, out[k]);
        nan = nan || std::isnan(out[k]);
    }
    if (nan) best = std::numeric_limits<T>::quiet_NaN();
    if (best == lowest) {  // nothing to attend: zeros, not NaN
        for (int64_t i = 0; i < n; ++i) out[i] = T(0);
        return;
    }
    const Batch shift(best);
    Batch partial(T(0));
    int64_t i = 0;
    for (; i + width <= n; i += width) {
        const Batch e = xsimd::exp(Batch::load_unaligned(out + i) - shift);
        e.store_unaligned(out + i);
        partial += e;
    }
    T total = xsimd::hadd(partial);
    for (; i < n; ++i) total += (out[i] = std::exp(out[i] - best));
    const Batch scale(T(1) / total);
    for (i = 0; i + width <= n; i += width) (Batch::load_unaligned(out + i) * scale).store_unaligned(out + i);
    for (; i < n; ++i) out[i] *= T(1) / total;
}

// One lane of softmax's backward: out = s (g - <g, s>). The dot product runs in SIMD lanes with
// a fixed order (the same bits at every optimization level and thread count); the lane, a row
// of attention weights, is still in cache for the second loop.
template <class T>
void softmax_backward_lane(const T* g, const T* s, T* out, int64_t n) {
    using Batch = detail::Batch<T>;
    constexpr int64_t width = static_cast<int64_t>(Batch::size);
    Batch partial(T(0));
    int64_t i = 0;
    for (; i + width <= n; i += width) partial += Batch::load_unaligned(g + i) * Batch::load_unaligned(s + i);
    T dot = xsimd::hadd(partial);
    for (; i < n; ++i) dot += g[i] * s[i];
    const Batch shift(dot);
    for (i = 0; i + width <= n; i += width)
        (Batch::load_unaligned(s + i) * (Batch::load_unaligned(g + i) - shift)).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = s[i] * (g[i] - dot);
}
}  // namespace

NDArray softmax_backward(const NDArray& grad, const NDArray& output, int64_t dim) {
    XGRAD_CHECK(grad.sizes() == output.sizes(), "softmax backward: the gradient's shape ", grad.sizes(),
                " differs from the output's ", output.sizes());
    XGRAD_CHECK(grad.dtype() == output.dtype(), "softmax backward: dtypes differ (gradient ", grad.dtype(), ", output ",
                output.dtype(), ")");
    const int64_t d = wrap_dim(dim, std::max<int64_t>(output.dim(), 1), "softmax backward");
    const bool last = output.dim() == 0 || d == output.dim() - 1;
    const NDArray g = last ? grad.contiguous() : lanes_last(grad, d);
    const NDArray s = last ? output.contiguous() : lanes_last(output, d);
    NDArray out = NDArray::empty(g.sizes(), g.dtype());
    const int64_t n = output.dim() == 0 ? 1 : lane_length(s);
    if (n > 0 && s.numel() > 0) {
        dispatch_floating(s.dtype(), "softmax backward", [&](auto tag) {
            using T = decltype(tag);
            const T* gp = g.data<T>();
            const T* sp = s.data<T>();
            T* dst = out.data<T>();
            xgrad::detail::parallel_for(s.numel() / n, static_cast<double>(3 * n), 1, [&](int64_t begin, int64_t end) {
                for (int64_t lane = begin; lane < end; ++lane)
                    softmax_backward_lane(gp + lane * n, sp + lane * n, dst + lane * n, n);
            });
        });
    }
    return last ? out : lanes_back(out, output, d);
}

NDArray masked_softmax(const NDArray& x, const NDArray& excluded, int64_t dim) {
    XGRAD_CHECK(x.dim() >= 1, "masked_softmax: expected a tensor with at least one dimension, got a 0-d tensor");
    const int64_t d = wrap_dim(dim, x.dim(), "masked_softmax");
    const bool has_mask = excluded.defined();
    if (has_mask) {
        XGRAD_CHECK(excluded.dtype() == kBool, "masked_softmax: the mask must be bool, got ", excluded.dtype());
        XGRAD_CHECK(broadcast_shapes(x.sizes(), excluded.sizes(), "masked_softmax") == x.sizes(),
                    "masked_softmax: the mask of shape ", excluded.sizes(), " does not broadcast to the input's shape ",
                    x.sizes());
    }
    const bool in_place_lanes = d == x.dim() - 1 && x.is_contiguous();
    const NDArray lanes = in_place_lanes ? x : lanes_last(x, d);
    // Attention's key-padding mask is [N, 1, 1, T] against scores [N, heads, T, T]: read it
    // through the broadcast view (each lane finds its mask row by the view's strides) rather than
    // copying it out to the scores' size, a copy as large as the scores. Any other layout is
    // copied lane by lane as the scores are.
    const NDArray mask_view = has_mask ? excluded.expand(x.sizes()) : NDArray();
    const bool mask_by_strides = has_mask && in_place_lanes && mask_view.stride(d) == 1;
    const NDArray mask_lanes = has_mask && !mask_by_strides ? lanes_last(mask_view, d) : NDArray();
    NDArray out = NDArray::empty(lanes.sizes(), x.dtype());
    const int64_t n = lane_length(lanes);
    if (n > 0) {
        const int64_t count = lanes.numel() / n;
        // Offset of a lane's mask row: the lane index split over the leading dims, times the
        // view's strides (0 on broadcast dims).
        auto mask_row = [&](int64_t lane) {
            if (!mask_by_strides) return lane * n;
            int64_t offset = 0;
            for (int64_t k = x.dim() - 2; k >= 0; --k) {
                offset += (lane % x.size(k)) * mask_view.stride(k);
                lane /= x.size(k);
            }
            return offset;
        };
        dispatch_floating(x.dtype(), "masked_softmax", [&](auto tag) {
            using T = decltype(tag);
            const T* src = static_cast<const T*>(lanes.raw_data());
            const bool* mask = !has_mask         ? nullptr
                               : mask_by_strides ? static_cast<const bool*>(mask_view.raw_data())
                                                 : mask_lanes.data<bool>();
            T* dst = out.data<T>();
            xgrad::detail::parallel_for(count, static_cast<double>(4 * n), 1, [&](int64_t begin, int64_t end) {
                for (int64_t lane = begin; lane < end; ++lane)
                    softmax_lane(src + lane * n, mask ? mask + mask_row(lane) : nullptr, dst + lane * n, n);
            });
        });
    }
    return in_place_lanes ? out : lanes_back(out, x, d);
}

}  // namespace xgrad::kernels
