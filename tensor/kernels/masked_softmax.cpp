// Softmax along a dim with some places excluded, in one pass per lane: the excluded places (and
// -inf scores) get weight 0, and a lane with nothing left gets all zeros instead of the NaN that
// exp(-inf - -inf) would give. Attention calls this on [batch heads, queries, keys] scores, where
// a composition of masked_fill, max, exp, sum and div would make eight passes over the largest
// tensor of the model.

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
    using Batch = xsimd::batch<T>;
    constexpr int64_t width = static_cast<int64_t>(Batch::size);
    const T lowest = -std::numeric_limits<T>::infinity();
    T best = lowest;
    for (int64_t i = 0; i < n; ++i) {
        const T v = excluded && excluded[i] ? lowest : x[i];
        out[i] = v;
        best = v > best || std::isnan(v) ? v : best;
    }
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
}  // namespace

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
    const NDArray mask_lanes = has_mask ? lanes_last(excluded.expand(x.sizes()), d) : NDArray();
    NDArray out = NDArray::empty(lanes.sizes(), x.dtype());
    const int64_t n = lane_length(lanes);
    if (n > 0) {
        const int64_t count = lanes.numel() / n;
        dispatch_floating(x.dtype(), "masked_softmax", [&](auto tag) {
            using T = decltype(tag);
            const T* src = static_cast<const T*>(lanes.raw_data());
            const bool* mask = has_mask ? mask_lanes.data<bool>() : nullptr;
            T* dst = out.data<T>();
            xgrad::detail::parallel_for(count, static_cast<double>(4 * n), 1, [&](int64_t begin, int64_t end) {
                for (int64_t lane = begin; lane < end; ++lane)
                    softmax_lane(src + lane * n, mask ? mask + lane * n : nullptr, dst + lane * n, n);
            });
        });
    }
    return in_place_lanes ? out : lanes_back(out, x, d);
}

}  // namespace xgrad::kernels
