// Sorting along a dim (sort, argsort, topk) and nonzero. Orders follow PyTorch: NaN counts as
// larger than every number, so it sorts last ascending and first descending; ties keep their
// input order (a stable sort), which also makes topk's choice among equal values deterministic.

#include <algorithm>
#include <cmath>
#include <numeric>
#include <vector>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/lanes.hpp>

namespace xgrad::kernels {
using namespace detail;

namespace {
template <class T>
bool is_nan(T v) {
    if constexpr (std::is_floating_point_v<T>)
        return std::isnan(v);
    else
        return false;
}

// Strict "a comes before b" for values at lane positions i and j, ties broken by position.
template <class T>
auto lane_order(const T* lane, bool descending) {
    return [lane, descending](int64_t i, int64_t j) {
        const T a = lane[i], b = lane[j];
        const bool a_nan = is_nan(a), b_nan = is_nan(b);
        if (a_nan || b_nan) {
            if (a_nan && b_nan) return i < j;
            return descending ? a_nan : b_nan;  // NaN is the largest value
        }
        if (a != b) return descending ? a > b : a < b;
        return i < j;
    };
}

// For each lane along d, k positions that pick(lane, n, order, out) writes to out; order is
// scratch of n positions.
template <class Pick>
NDArray lane_positions(const NDArray& x, int64_t d, int64_t k, const Pick& pick) {
    const NDArray lanes = lanes_last(x, d);
    const int64_t n = lane_length(lanes), count = n == 0 ? 0 : lanes.numel() / n;
    Shape out_sizes = lanes.sizes();
    out_sizes[out_sizes.size() - 1] = k;
    NDArray out = NDArray::empty(out_sizes, kInt64);
    int64_t* dst = out.data<int64_t>();
    dispatch_all(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = static_cast<const T*>(lanes.raw_data());
        std::vector<int64_t> order(static_cast<std::size_t>(n));
        for (int64_t lane = 0; lane < count; ++lane) pick(src + lane * n, n, order, dst + lane * k);
    });
    return lanes_back(out, x, d);
}

// For each lane, the first k positions in order (k = n: a full argsort).
NDArray ordered_positions(const NDArray& x, int64_t d, int64_t k, bool descending) {
    return lane_positions(x, d, k, [k, descending](const auto* lane, int64_t n, auto& order, int64_t* out) {
        std::iota(order.begin(), order.end(), int64_t{0});
        const auto before = lane_order(lane, descending);
        if (k == n)
            std::sort(order.begin(), order.end(), before);
        else
            std::partial_sort(order.begin(), order.begin() + k, order.end(), before);
        std::copy(order.begin(), order.begin() + k, out);
    });
}
}  // namespace

NDArray argsort(const NDArray& x, int64_t dim, bool descending) {
    const int64_t d = wrap_dim(dim, x.dim(), "argsort");
    return ordered_positions(x, d, x.dim() == 0 ? 1 : x.size(d), descending);
}

NDArray topk_indices(const NDArray& x, int64_t k, int64_t dim, bool largest) {
    const int64_t d = wrap_dim(dim, x.dim(), "topk");
    const int64_t n = x.dim() == 0 ? 1 : x.size(d);
    XGRAD_CHECK(k >= 0 && k <= n, "topk: k = ", k, " is out of range for dimension ", d, " of size ", n, " (shape ",
                x.sizes(), ")");
    return ordered_positions(x, d, k, largest);
}

namespace {
// The k-th (from 0) of positions [0, n) in lane order.
template <class T>
int64_t kth_in_order(const T* lane, int64_t k, std::vector<int64_t>& order) {
    std::iota(order.begin(), order.end(), int64_t{0});
    std::nth_element(order.begin(), order.begin() + k, order.end(), lane_order(lane, false));
    return order[static_cast<std::size_t>(k)];
}

// x with at least one dim (a 0-d x as one element), dim wrapped, and the length of its lanes,
// which must have an element to reduce over.
struct ReducedLanes {
    NDArray x;
    int64_t d, n;
};
ReducedLanes reduced_lanes(const NDArray& x, int64_t dim, const char* op) {
    const NDArray viewed = x.dim() == 0 ? x.reshape({1}) : x;
    const int64_t d = wrap_dim(dim, x.dim(), op), n = viewed.size(d);  // a 0-d x takes dim 0 or -1
    XGRAD_CHECK(n > 0, op, ": cannot reduce over dimension ", d, " of size 0 (shape ", x.sizes(), ")");
    return {viewed, d, n};
}
}  // namespace

NDArray kth_positions(const NDArray& x, int64_t k, int64_t dim, const char* op) {
    const ReducedLanes r = reduced_lanes(x, dim, op);
    XGRAD_CHECK(k >= 1 && k <= r.n, op, ": k = ", k, " is out of range for dimension ", r.d, " of size ", r.n,
                " (shape ", x.sizes(), ")");
    return lane_positions(r.x, r.d, 1, [k](const auto* lane, int64_t, auto& order, int64_t* out) {
        *out = kth_in_order(lane, k - 1, order);
    });
}

namespace {
// The position of the lane's median (see median_positions).
template <class T>
int64_t median_in_lane(const T* lane, int64_t n, bool ignore_nan, std::vector<int64_t>& order) {
    int64_t nans = 0, first_nan = -1;
    for (int64_t i = 0; i < n; ++i)
        if (is_nan(lane[i])) {
            if (first_nan < 0) first_nan = i;
            ++nans;
        }
    if (nans > 0 && !ignore_nan) return first_nan;
    if (nans == n) return 0;
    // NaN sorts last, so the median of the others is the ((n - nans - 1) / 2)-th of all.
    return kth_in_order(lane, (n - nans - 1) / 2, order);
}
}  // namespace

NDArray median_positions(const NDArray& x, int64_t dim, bool ignore_nan, const char* op) {
    const ReducedLanes r = reduced_lanes(x, dim, op);
    return lane_positions(r.x, r.d, 1, [ignore_nan](const auto* lane, int64_t n, auto& order, int64_t* out) {
        *out = median_in_lane(lane, n, ignore_nan, order);
    });
}

Unique unique(const NDArray& x) {
    const NDArray flat = x.contiguous();
    const int64_t n = flat.numel();
    Unique out;
    out.inverse = NDArray::empty(x.sizes(), kInt64);
    std::vector<int64_t> order(static_cast<std::size_t>(n)), counts;
    dispatch_all(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = static_cast<const T*>(flat.raw_data());
        std::iota(order.begin(), order.end(), int64_t{0});
        std::sort(order.begin(), order.end(), lane_order(src, false));
        std::vector<T> values;
        int64_t* inverse = out.inverse.data<int64_t>();
        for (int64_t i = 0; i < n; ++i) {
            const T v = src[order[static_cast<std::size_t>(i)]];
            const bool same = !values.empty() && (values.back() == v || (is_nan(values.back()) && is_nan(v)));
            if (!same) {
                values.push_back(v);
                counts.push_back(0);
            }
            ++counts.back();
            inverse[order[static_cast<std::size_t>(i)]] = static_cast<int64_t>(values.size()) - 1;
        }
        out.values = NDArray::empty({static_cast<int64_t>(values.size())}, x.dtype());
        std::copy(values.begin(), values.end(), out.values.data<T>());
    });
    out.counts = NDArray::empty({static_cast<int64_t>(counts.size())}, kInt64);
    std::copy(counts.begin(), counts.end(), out.counts.data<int64_t>());
    return out;
}

NDArray nonzero(const NDArray& x) {
    const NDArray c = x.contiguous();
    const int64_t nd = x.dim();
    if (nd == 0) {
        NDArray out = NDArray::empty({c.item() != 0 ? 1 : 0, 0}, kInt64);
        return out;
    }
    // Two passes: count, then write each coordinate row straight into the result, walking the
    // last dimension in a plain loop (an odometer step per row, not per element).
    return dispatch_all(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* p = static_cast<const T*>(c.raw_data());
        const int64_t n = c.numel();
        int64_t count = 0;
        for (int64_t i = 0; i < n; ++i) count += p[i] != T{0};
        NDArray out = NDArray::empty({count, nd}, kInt64);
        if (count == 0) return out;
        int64_t* at = out.data<int64_t>();
        const int64_t inner = x.size(nd - 1);
        Shape outer(static_cast<std::size_t>(nd - 1), 0);
        for (int64_t row = 0; row < n / inner; ++row, p += inner) {
            for (int64_t j = 0; j < inner; ++j) {
                if (p[j] == T{0}) continue;
                for (int64_t k = 0; k < nd - 1; ++k) *at++ = outer[k];
                *at++ = j;
            }
            for (int64_t k = nd - 1; k-- > 0;) {  // row-major odometer over the outer dimensions
                if (++outer[k] < x.size(k)) break;
                outer[k] = 0;
            }
        }
        return out;
    });
}

}  // namespace xgrad::kernels
