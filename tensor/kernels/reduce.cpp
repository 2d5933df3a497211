// Reductions. xtensor's own reductions run at scalar speed on these machines (PLATFORM.md), so
// the hot cases are written here: a reduction over a contiguous array is brought to the form
// [outer, r, inner] and summed either along contiguous rows (inner == 1, several SIMD
// accumulators) or by adding whole rows together (inner > 1). Long rows are summed in chunks of a
// fixed size whose partial results are combined in order, at any thread count, so a sum has the
// same bits whether one thread or several computed it.

#include <algorithm>
#include <cmath>
#include <limits>
#include <type_traits>
#include <vector>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/simd.hpp>
#include <xgrad/tensor/kernels/wrapping.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
using namespace detail;

namespace {

// Combines the lanes of a batch one by one (max and min have no single horizontal instruction).
template <class R, class T>
T combine_lanes(Batch<T> b) {
    alignas(64) T lanes[Batch<T>::size];
    b.store_aligned(lanes);
    T r = lanes[0];
    for (std::size_t i = 1; i < Batch<T>::size; ++i) r = R::combine(r, lanes[i]);
    return r;
}

struct SumReducer {
    template <class T>
    static T identity() {
        return T(0);
    }
    template <class V>
    static V combine(V a, V b) {
        return wrapping_add(a, b);  // an int64 sum wraps, as int64 addition does
    }
    template <class T>
    static T horizontal(Batch<T> b) {
        return xsimd::hadd(b);
    }
};
struct MaxReducer {
    template <class T>
    static T identity() {
        return std::numeric_limits<T>::lowest();
    }
    template <class V>
    static V combine(V a, V b) {
        return NanMax{}(a, b);
    }
    template <class T>
    static T horizontal(Batch<T> b) {
        return combine_lanes<MaxReducer>(b);
    }
};
struct MinReducer {
    template <class T>
    static T identity() {
        return std::numeric_limits<T>::max();
    }
    template <class V>
    static V combine(V a, V b) {
        return NanMin{}(a, b);
    }
    template <class T>
    static T horizontal(Batch<T> b) {
        return combine_lanes<MinReducer>(b);
    }
};

// Reduces n contiguous values with four independent SIMD accumulators.
template <class R, class T>
__attribute__((flatten)) T reduce_contiguous(const T* p, int64_t n) {
    T result = R::template identity<T>();
    int64_t i = 0;
    if constexpr (kVectorizable<T>) {
        using B = Batch<T>;
        constexpr int64_t W = B::size;
        if (n >= 4 * W) {
            B a0 = B::load_unaligned(p), a1 = B::load_unaligned(p + W), a2 = B::load_unaligned(p + 2 * W),
              a3 = B::load_unaligned(p + 3 * W);
            for (i = 4 * W; i + 4 * W <= n; i += 4 * W) {
                // One read stream: the hardware prefetcher alone kept a 64 MiB sum at 28 GB/s, under
                // the triad; requesting 32 vectors ahead brought it to ~45 GB/s.
                if (i + 33 * W <= n) __builtin_prefetch(p + i + 32 * W);
                a0 = R::combine(a0, B::load_unaligned(p + i));
                a1 = R::combine(a1, B::load_unaligned(p + i + W));
                a2 = R::combine(a2, B::load_unaligned(p + i + 2 * W));
                a3 = R::combine(a3, B::load_unaligned(p + i + 3 * W));
            }
            for (; i + W <= n; i += W) a0 = R::combine(a0, B::load_unaligned(p + i));
            result = R::template horizontal<T>(R::combine(R::combine(a0, a1), R::combine(a2, a3)));
        }
    }
    for (; i < n; ++i) result = R::combine(result, p[i]);
    return result;
}

// acc[j] = combine(acc[j], row[j]) for j < n.
template <class R, class T>
__attribute__((flatten)) void combine_rows(T* acc, const T* row, int64_t n) {
    int64_t j = 0;
    if constexpr (kVectorizable<T>) {
        using B = Batch<T>;
        constexpr int64_t W = B::size;
        for (; j + W <= n; j += W)
            R::combine(B::load_unaligned(acc + j), B::load_unaligned(row + j)).store_unaligned(acc + j);
    }
    for (; j < n; ++j) acc[j] = R::combine(acc[j], row[j]);
}

// Chunk of a long row reduced on its own; the chunks' results are combined in order.
constexpr int64_t kReduceChunk = 16384;

// Rows added one after another up to this many; above, a sum of rows is split in halves added
// pairwise. Adding four million float32 rows of 0.1 in order lost 4% (the running total outgrows
// what each addend can change); pairwise, the rounding error grows with log2 of the count. A batch
// of up to 128 rows (a bias gradient) is still added in order, with the bits it always had.
constexpr int64_t kSequentialRows = 128;

// acc[0, width) = the sum of `count` rows of `width` elements, `stride` apart, from `rows`.
// scratch holds one row of `width` per level of halving below this one.
template <class T>
void sum_rows(T* acc, const T* rows, int64_t stride, int64_t width, int64_t count, T* scratch) {
    if (count <= kSequentialRows) {
        std::copy(rows, rows + width, acc);
        for (int64_t k = 1; k < count; ++k) combine_rows<SumReducer>(acc, rows + k * stride, width);
        return;
    }
    const int64_t half = count / 2;
    sum_rows(acc, rows, stride, width, half, scratch + width);
    sum_rows(scratch, rows + half * stride, stride, width, count - half, scratch + width);
    combine_rows<SumReducer>(acc, scratch, width);
}

// Rows of scratch sum_rows needs for `count` rows.
int64_t sum_rows_levels(int64_t count) {
    int64_t levels = 0;
    for (; count > kSequentialRows; count -= count / 2) ++levels;
    return levels;
}

// out[o, j] = reduce over k of in[o, k, j], all contiguous.
template <class R, class T>
void reduce_3d(const T* in, T* out, int64_t outer, int64_t r, int64_t inner) {
    const int threads = ::xgrad::detail::threads_for(static_cast<double>(outer) * r * inner);
    if (inner == 1) {
        if (r <= kReduceChunk) {
            ::xgrad::detail::parallel_for(outer, static_cast<double>(r), 1, [&](int64_t o0, int64_t o1) {
                for (int64_t o = o0; o < o1; ++o) out[o] = reduce_contiguous<R>(in + o * r, r);
            });
            return;
        }
        // Long rows (e.g. a full sum): fixed chunks, each reduced alone, then combined in order.
        const int64_t chunks = (r + kReduceChunk - 1) / kReduceChunk;
        std::vector<T> partial(static_cast<std::size_t>(outer * chunks));
        ::xgrad::detail::parallel_tasks(outer * chunks, threads, [&](int64_t task) {
            const int64_t o = task / chunks, c = task % chunks;
            const auto [b, e] = ::xgrad::detail::aligned_piece(r, c, chunks, 64);
            partial[task] = e > b ? reduce_contiguous<R>(in + o * r + b, e - b) : R::template identity<T>();
        });
        for (int64_t o = 0; o < outer; ++o) {
            T acc = partial[o * chunks];
            for (int64_t c = 1; c < chunks; ++c) acc = R::combine(acc, partial[o * chunks + c]);
            out[o] = acc;
        }
        return;
    }
    auto reduce_columns = [&](int64_t o, int64_t j0, int64_t j1) {
        T* acc = out + o * inner + j0;
        const T* base = in + o * r * inner + j0;
        if constexpr (std::is_same_v<R, SumReducer>) {
            if (r > kSequentialRows) {
                std::vector<T> scratch(static_cast<std::size_t>(sum_rows_levels(r) * (j1 - j0)));
                sum_rows(acc, base, inner, j1 - j0, r, scratch.data());
                return;
            }
        }
        std::copy(base, base + (j1 - j0), acc);
        for (int64_t k = 1; k < r; ++k) combine_rows<R>(acc, base + k * inner, j1 - j0);
    };
    // Each column is reduced front to back by one thread, whatever the split.
    const int64_t tasks = threads * ::xgrad::detail::kTasksPerThread;
    if (outer >= tasks || threads <= 1) {
        ::xgrad::detail::parallel_for(outer, static_cast<double>(r) * inner, 1, [&](int64_t o0, int64_t o1) {
            for (int64_t o = o0; o < o1; ++o) reduce_columns(o, 0, inner);
        });
        return;
    }
    const int64_t pieces = std::max<int64_t>(1, std::min((tasks + outer - 1) / outer, inner / 16));
    ::xgrad::detail::parallel_tasks(outer * pieces, threads, [&](int64_t task) {
        const int64_t o = task / pieces, piece = task % pieces;
        const auto [j0, j1] = ::xgrad::detail::aligned_piece(inner, piece, pieces, 16);
        if (j1 > j0) reduce_columns(o, j0, j1);
    });
}

// Sorted, de-duplicated, wrapped dims; empty input means every dim.
std::vector<bool> reduced_mask(int64_t ndim, const Shape& dims, const char* op) {
    std::vector<bool> mask(static_cast<std::size_t>(ndim), dims.empty());
    for (int64_t d : dims) {
        const int64_t w = wrap_dim(d, ndim, op);
        if (ndim == 0) continue;
        XGRAD_CHECK(!mask[w] || dims.empty(), op, ": dimension ", d, " appears more than once in ", dims);
        mask[w] = true;
    }
    return mask;
}

template <class R>
NDArray reduce(const NDArray& x, const Shape& dims, bool keepdim, const char* op, DType dtype) {
    const Shape out_sizes = reduced_shape(x.sizes(), dims, keepdim, op);
    const std::vector<bool> mask = reduced_mask(x.dim(), dims, op);
    NDArray in = x.to(dtype).contiguous();
    // Groups of adjacent dims that are all reduced or all kept, size-1 dims dropped.
    std::vector<std::pair<int64_t, bool>> groups;
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (x.sizes()[d] == 1) continue;
        if (!groups.empty() && groups.back().second == mask[d])
            groups.back().first *= x.sizes()[d];
        else
            groups.push_back({x.sizes()[d], mask[d]});
    }
    NDArray current = in;
    return dispatch_numeric(dtype, op, [&](auto tag) -> NDArray {
        using T = decltype(tag);
        if (x.numel() == 0) {
            // A max over no elements has no value; an empty result needs none (softmax of an empty
            // batch reduces each of its zero rows).
            XGRAD_CHECK((std::is_same_v<R, SumReducer>) || shape_numel(out_sizes) == 0, op,
                        ": cannot reduce over an empty dim, in a tensor of shape ", x.sizes());
            NDArray out = NDArray::empty(out_sizes, dtype);
            fill_(out, 0);
            return out;
        }
        // Reduce the innermost reduced group, again and again, until none is left.
        while (true) {
            int64_t at = -1;
            for (int64_t g = static_cast<int64_t>(groups.size()) - 1; g >= 0; --g)
                if (groups[g].second) {
                    at = g;
                    break;
                }
            if (at < 0) break;
            int64_t outer = 1, inner = 1;
            for (int64_t g = 0; g < at; ++g) outer *= groups[g].first;
            for (std::size_t g = at + 1; g < groups.size(); ++g) inner *= groups[g].first;
            NDArray next = NDArray::empty({outer * inner}, dtype);
            reduce_3d<R>(current.data<T>(), next.data<T>(), outer, groups[at].first, inner);
            current = next;
            groups.erase(groups.begin() + at);
        }
        if (current.storage() == x.storage()) current = current.clone();  // never alias the input
        return current.view(out_sizes);
    });
}

DType sum_dtype(DType in) {
    return is_floating(in) ? in : kInt64;
}

}  // namespace

Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim, const char* op) {
    const std::vector<bool> mask = reduced_mask(static_cast<int64_t>(sizes.size()), dims, op);
    Shape out;
    for (std::size_t d = 0; d < sizes.size(); ++d) {
        if (!mask[d])
            out.push_back(sizes[d]);
        else if (keepdim)
            out.push_back(1);
    }
    return out;
}

NDArray sum(const NDArray& x, const Shape& dims, bool keepdim) {
    return reduce<SumReducer>(x, dims, keepdim, "sum", sum_dtype(x.dtype()));
}

// The extremes of bools are bools (any / all), as PyTorch's, computed as 0/1 integers.
NDArray amax(const NDArray& x, const Shape& dims, bool keepdim) {
    if (x.dtype() == kBool) return reduce<MaxReducer>(x, dims, keepdim, "amax", kInt64).to(kBool);
    return reduce<MaxReducer>(x, dims, keepdim, "amax", x.dtype());
}

NDArray amin(const NDArray& x, const Shape& dims, bool keepdim) {
    if (x.dtype() == kBool) return reduce<MinReducer>(x, dims, keepdim, "amin", kInt64).to(kBool);
    return reduce<MinReducer>(x, dims, keepdim, "amin", x.dtype());
}

namespace {
int64_t reduced_count(const NDArray& x, const Shape& dims, const char* op) {
    const std::vector<bool> mask = reduced_mask(x.dim(), dims, op);
    int64_t n = 1;
    for (int64_t d = 0; d < x.dim(); ++d)
        if (mask[d]) n *= x.sizes()[d];
    return n;
}
}  // namespace

NDArray mean(const NDArray& x, const Shape& dims, bool keepdim) {
    XGRAD_CHECK(is_floating(x.dtype()), "mean: expected a floating-point tensor, got ", x.dtype());
    const int64_t n = reduced_count(x, dims, "mean");
    NDArray total = sum(x, dims, keepdim);
    return binary(Binary::div, total, NDArray::scalar(static_cast<double>(n), x.dtype()));
}

NDArray var(const NDArray& x, const Shape& dims, int64_t correction, bool keepdim) {
    XGRAD_CHECK(is_floating(x.dtype()), "var: expected a floating-point tensor, got ", x.dtype());
    XGRAD_CHECK(correction >= 0, "var: correction must be non-negative, got ", correction);
    const int64_t n = reduced_count(x, dims, "var");
    // Two passes (mean, then squared deviations): stable where E[x^2] - E[x]^2 cancels badly.
    NDArray centered = binary(Binary::sub, x, mean(x, dims, true));
    unary_out(Unary::square, centered, centered);  // in place: no second full-size temporary
    NDArray squares = sum(centered, dims, keepdim);
    const double denom = static_cast<double>(std::max<int64_t>(n - correction, 0));
    return binary(Binary::div, squares, NDArray::scalar(denom, x.dtype()));
}

NDArray std(const NDArray& x, const Shape& dims, int64_t correction, bool keepdim) {
    return unary(Unary::sqrt, var(x, dims, correction, keepdim));
}

namespace {
// Values and first indices of the extreme along one dim; NaN counts as the extreme, as in PyTorch.
template <bool kMax>
ValuesIndices extreme_dim(const NDArray& x, int64_t dim, bool keepdim, const char* op) {
    const int64_t d = wrap_dim(dim, x.dim(), op);
    if (x.dim() == 0) return {x.clone(), kernels::full({}, 0, kInt64)};
    const int64_t r = x.sizes()[d];
    XGRAD_CHECK(r > 0, op, ": cannot reduce over an empty dimension ", dim, " of shape ", x.sizes());
    const DType dtype = x.dtype() == kBool ? kInt64 : x.dtype();
    NDArray moved = x.to(dtype).transpose(d, -1).contiguous();
    const int64_t outer = moved.numel() / r;
    const Shape out_sizes = reduced_shape(x.sizes(), {d}, keepdim, op);
    NDArray values = NDArray::empty(out_sizes, dtype), indices = NDArray::empty(out_sizes, kInt64);
    int64_t* idx = indices.data<int64_t>();
    dispatch_numeric(dtype, op, [&](auto tag) {
        using T = decltype(tag);
        const T* in = moved.data<T>();
        T* val = values.data<T>();
        for (int64_t o = 0; o < outer; ++o) {
            const T* row = in + o * r;
            int64_t best = 0;
            for (int64_t k = 1; k < r; ++k) {
                if constexpr (std::is_floating_point_v<T>)
                    if (std::isnan(row[best])) break;
                bool better;
                if constexpr (std::is_floating_point_v<T>)
                    better = std::isnan(row[k]) || (kMax ? row[k] > row[best] : row[k] < row[best]);
                else
                    better = kMax ? row[k] > row[best] : row[k] < row[best];
                if (better) best = k;
            }
            val[o] = row[best];
            idx[o] = best;
        }
    });
    if (x.dtype() == kBool) values = values.to(kBool);
    return {values, indices};
}
}  // namespace

ValuesIndices max_dim(const NDArray& x, int64_t dim, bool keepdim) {
    return extreme_dim<true>(x, dim, keepdim, "max");
}
ValuesIndices min_dim(const NDArray& x, int64_t dim, bool keepdim) {
    return extreme_dim<false>(x, dim, keepdim, "min");
}

NDArray argmax(const NDArray& x) {
    XGRAD_CHECK(x.numel() > 0, "argmax: cannot take the argmax of an empty tensor");
    return max_dim(x.reshape({-1}), 0, false).indices;
}
NDArray argmax(const NDArray& x, int64_t dim, bool keepdim) {
    return max_dim(x, dim, keepdim).indices;
}
NDArray argmin(const NDArray& x, int64_t dim, bool keepdim) {
    return min_dim(x, dim, keepdim).indices;
}

namespace {
// The max with non-finite entries replaced by 0, so that x - max stays finite where it matters
// (an all -inf row gives log(0) = -inf, as it should, instead of NaN).
NDArray finite_max(const NDArray& x, const Shape& dims) {
    NDArray m = amax(x, dims, true);
    NDArray finite =
        compare(Compare::eq, unary(Unary::abs, m), NDArray::scalar(std::numeric_limits<double>::infinity(), m.dtype()));
    return where(finite, NDArray::scalar(0, m.dtype()), m);
}

// The max each softmax lane is shifted by: an all -inf lane is shifted by 0 (its exps are all 0
// and the result NaN, as PyTorch's), a lane holding +inf by +inf (x - max is NaN there, so the
// whole lane is NaN, as PyTorch's; logsumexp instead shifts it by 0 to give +inf).
NDArray softmax_shift(const NDArray& x, const Shape& dims) {
    NDArray m = amax(x, dims, true);
    NDArray all_minus_inf =
        compare(Compare::eq, m, NDArray::scalar(-std::numeric_limits<double>::infinity(), m.dtype()));
    return where(all_minus_inf, NDArray::scalar(0, m.dtype()), m);
}
}  // namespace

NDArray logsumexp(const NDArray& x_in, const Shape& dims, bool keepdim) {
    // Integers and bools in float32, as PyTorch computes them.
    const NDArray x = is_floating(x_in.dtype()) ? x_in : x_in.to(kFloat32);
    // log of an empty sum: -inf for every result, with no maximum to shift by.
    if (x.numel() == 0)
        return full(reduced_shape(x.sizes(), dims, keepdim, "logsumexp"), -std::numeric_limits<double>::infinity(),
                    x.dtype());
    NDArray m = finite_max(x, dims);
    NDArray s = sum(unary(Unary::exp, binary(Binary::sub, x, m)), dims, true);
    NDArray out = binary(Binary::add, unary(Unary::log, s), m);
    return keepdim ? out : out.view(reduced_shape(x.sizes(), dims, false, "logsumexp"));
}

NDArray norm(const NDArray& x, double p, const Shape& dims, bool keepdim) {
    XGRAD_CHECK(is_floating(x.dtype()), "norm: expected a floating-point tensor, got ", x.dtype());
    XGRAD_CHECK(p > 0, "norm: p must be positive, got ", p);
    if (std::isinf(p)) return amax(unary(Unary::abs, x), dims, keepdim);
    if (p == 1) return sum(unary(Unary::abs, x), dims, keepdim);
    if (p == 2) return unary(Unary::sqrt, sum(unary(Unary::square, x), dims, keepdim));
    return pow_scalar(sum(pow_scalar(unary(Unary::abs, x), p), dims, keepdim), 1.0 / p);
}

NDArray softmax(const NDArray& x, int64_t dim) {
    XGRAD_CHECK(is_floating(x.dtype()), "softmax: expected a floating-point tensor, got ", x.dtype());
    const Shape d = {wrap_dim(dim, x.dim(), "softmax")};
    if (x.numel() == 0) return NDArray::empty(x.sizes(), x.dtype());  // no lane has a maximum to shift by
    NDArray e = unary(Unary::exp, binary(Binary::sub, x, softmax_shift(x, d)));
    return binary(Binary::div, e, sum(e, d, true));
}

NDArray log_softmax(const NDArray& x, int64_t dim) {
    XGRAD_CHECK(is_floating(x.dtype()), "log_softmax: expected a floating-point tensor, got ", x.dtype());
    const Shape d = {wrap_dim(dim, x.dim(), "log_softmax")};
    if (x.numel() == 0) return NDArray::empty(x.sizes(), x.dtype());
    // (x - max) - log(sum(exp(x - max))): subtracting the max first keeps the digits that
    // x - logsumexp(x) would lose when both are large.
    NDArray shifted = binary(Binary::sub, x, softmax_shift(x, d));
    NDArray log_total = unary(Unary::log, sum(unary(Unary::exp, shifted), d, true));
    return binary(Binary::sub, shifted, log_total);
}

}  // namespace xgrad::kernels
