// Cumulative sums and products along a dim. Integer and bool inputs accumulate in int64, as in
// PyTorch; floating inputs keep their dtype (float32 accumulating in double), left to right
// (or right to left: reverse sums are cumsum's gradient).

#include <type_traits>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/lanes.hpp>
#include <xgrad/tensor/kernels/wrapping.hpp>

namespace xgrad::kernels {
using namespace detail;

NDArray cumulative(Scan op, const NDArray& x, int64_t dim, bool reverse) {
    const char* name = op == Scan::sum ? "cumsum" : "cumprod";
    const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
    const NDArray input = is_floating(x.dtype()) ? x : x.to(kInt64);
    NDArray lanes = lanes_last(input, d);  // a private copy, scanned in place
    const int64_t n = lane_length(lanes);
    if (n == 0) return lanes_back(lanes, x, d);
    const int64_t count = lanes.numel() / n;
    dispatch_numeric(lanes.dtype(), name, [&](auto tag) {
        using T = decltype(tag);
        T* p = static_cast<T*>(lanes.raw_data());
        // float32 runs in double, as PyTorch's CPU scans do: a float32 running total of ten million
        // 0.1s drifted to 1.09e6. int64 wraps on overflow, as its addition and multiplication do.
        using Acc = std::conditional_t<std::is_same_v<T, float>, double, T>;
        const auto combine = [op](Acc a, Acc b) { return op == Scan::sum ? wrapping_add(a, b) : wrapping_mul(a, b); };
        for (int64_t lane = 0; lane < count; ++lane, p += n) {
            if (reverse) {
                Acc acc = p[n - 1];
                for (int64_t i = n - 1; i-- > 0;) p[i] = static_cast<T>(acc = combine(acc, p[i]));
            } else {
                Acc acc = p[0];
                for (int64_t i = 1; i < n; ++i) p[i] = static_cast<T>(acc = combine(acc, p[i]));
            }
        }
    });
    return lanes_back(lanes, x, d);
}

}  // namespace xgrad::kernels
