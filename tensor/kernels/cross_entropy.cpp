// Cross-entropy's rows in one pass each: the log-sum-exp (shifted by the row's max, so large
// logits cannot overflow) minus the target's logit, accumulated in double whatever the dtype.

#include <algorithm>
#include <cmath>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>

namespace xgrad::kernels {

namespace {
template <class T>
void rows_loss(const T* x, const int64_t* t, int64_t n, int64_t c, int64_t ignore, T* losses) {
    for (int64_t i = 0; i < n; ++i) {
        const T* row = x + i * c;
        if (t[i] == ignore) {
            losses[i] = 0;
            continue;
        }
        double m = row[0];
        for (int64_t j = 1; j < c; ++j) m = std::max(m, static_cast<double>(row[j]));
        double total = 0;
        for (int64_t j = 0; j < c; ++j) total += std::exp(static_cast<double>(row[j]) - m);
        losses[i] = static_cast<T>(m + std::log(total) - static_cast<double>(row[t[i]]));
    }
}
}  // namespace

NDArray cross_entropy_rows(const NDArray& logits, const NDArray& target, int64_t ignore_index) {
    XGRAD_CHECK(logits.dim() == 2 && logits.size(1) > 0, "cross_entropy: expected logits [N, C] with C > 0, got ",
                logits.sizes());
    XGRAD_CHECK(target.dtype() == kInt64 && target.dim() == 1 && target.size(0) == logits.size(0),
                "cross_entropy: expected int64 targets [", logits.size(0), "], got ", target.dtype(), " ",
                target.sizes());
    const int64_t n = logits.size(0), c = logits.size(1);
    const NDArray x = logits.contiguous(), t = target.contiguous();
    const int64_t* targets = t.data<int64_t>();
    for (int64_t i = 0; i < n; ++i)
        XGRAD_CHECK(targets[i] == ignore_index || (targets[i] >= 0 && targets[i] < c), "cross_entropy: target ",
                    targets[i], " (row ", i, ") is out of bounds for ", c, " classes");
    NDArray losses = NDArray::empty({n}, logits.dtype());
    detail::dispatch_floating(logits.dtype(), "cross_entropy", [&](auto tag) {
        using T = decltype(tag);
        rows_loss(x.data<T>(), targets, n, c, ignore_index, losses.data<T>());
    });
    return losses;
}

}  // namespace xgrad::kernels
