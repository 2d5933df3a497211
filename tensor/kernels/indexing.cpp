// Joining (cat, stack, split) and indexing (index_select, gather, scatter_add). Indices are checked
// against their bounds before any write, so a bad index throws and leaves nothing half-done.

#include <algorithm>
#include <sstream>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
using namespace detail;

NDArray cat(const std::vector<NDArray>& arrays, int64_t dim) {
    XGRAD_CHECK(!arrays.empty(), "cat: expected a non-empty list of tensors");
    // The input whose rank and sizes the result follows: the first that is not legacy empty.
    const auto found =
        std::find_if(arrays.begin(), arrays.end(), [](const NDArray& a) { return !is_legacy_empty(a.sizes()); });
    if (found == arrays.end()) {  // nothing but legacy empty ones: any dim, as PyTorch
        DType dtype = arrays[0].dtype();
        for (const NDArray& a : arrays) dtype = promote_types(dtype, a.dtype());
        return NDArray::empty({0}, dtype);
    }
    const std::size_t ref = static_cast<std::size_t>(found - arrays.begin());
    const NDArray& first = arrays[ref];
    XGRAD_CHECK(first.dim() > 0, "cat: zero-dimensional tensors cannot be concatenated (tensor ", ref, ")");
    const int64_t d = wrap_dim(dim, first.dim(), "cat");
    DType dtype = first.dtype();
    int64_t total = 0;
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        const NDArray& a = arrays[i];
        dtype = promote_types(dtype, a.dtype());
        if (cat_skips(a.sizes(), first.dim())) continue;
        XGRAD_CHECK(a.dim() == first.dim(), "cat: tensor ", i, " has shape ", a.sizes(), " but tensor ", ref,
                    " has shape ", first.sizes(), " (ranks differ)");
        for (int64_t j = 0; j < a.dim(); ++j)
            XGRAD_CHECK(j == d || a.sizes()[j] == first.sizes()[j], "cat: tensor ", i, " has shape ", a.sizes(),
                        " but tensor ", ref, " has shape ", first.sizes(), " (sizes must match except in dimension ", d,
                        ")");
        XGRAD_CHECK(!__builtin_add_overflow(total, a.sizes()[d], &total), "cat: the sizes along dimension ", d,
                    " add up to more than an int64 holds (at tensor ", i, ", shape ", a.sizes(), ")");
    }
    Shape sizes = first.sizes();
    sizes[d] = total;
    NDArray out = NDArray::empty(sizes, dtype);
    int64_t at = 0;
    for (const NDArray& a : arrays) {
        if (cat_skips(a.sizes(), first.dim())) continue;
        copy_(out.narrow(d, at, a.sizes()[d]), a);
        at += a.sizes()[d];
    }
    return out;
}

NDArray stack(const std::vector<NDArray>& arrays, int64_t dim) {
    XGRAD_CHECK(!arrays.empty(), "stack: expected a non-empty list of tensors");
    const int64_t d = wrap_dim(dim, arrays[0].dim() + 1, "stack");
    std::vector<NDArray> expanded;
    expanded.reserve(arrays.size());
    for (std::size_t i = 0; i < arrays.size(); ++i) {
        XGRAD_CHECK(arrays[i].sizes() == arrays[0].sizes(), "stack: tensor ", i, " has shape ", arrays[i].sizes(),
                    " but tensor 0 has shape ", arrays[0].sizes(), " (all must be equal)");
        expanded.push_back(arrays[i].unsqueeze(d));
    }
    return cat(expanded, d);
}

std::vector<NDArray> split_with_sizes(const NDArray& x, const std::vector<int64_t>& sizes, int64_t dim) {
    XGRAD_CHECK(x.dim() > 0, "split: a 0-d tensor has no dimension to split");
    const int64_t d = wrap_dim(dim, x.dim(), "split");
    int64_t total = 0;
    for (int64_t s : sizes) {
        XGRAD_CHECK(s >= 0, "split: negative split size ", s);
        XGRAD_CHECK(!__builtin_add_overflow(total, s, &total), "split: the sizes add up to more than an int64 holds");
    }
    XGRAD_CHECK(total == x.sizes()[d], "split: sizes add up to ", total, " but dimension ", d, " of shape ", x.sizes(),
                " has ", x.sizes()[d]);
    std::vector<NDArray> parts;
    int64_t at = 0;
    for (int64_t s : sizes) {
        parts.push_back(x.narrow(d, at, s));
        at += s;
    }
    return parts;
}

std::vector<NDArray> split(const NDArray& x, int64_t split_size, int64_t dim) {
    XGRAD_CHECK(split_size > 0, "split: split_size must be positive, got ", split_size);
    XGRAD_CHECK(x.dim() > 0, "split: a 0-d tensor has no dimension to split");
    const int64_t n = x.sizes()[wrap_dim(dim, x.dim(), "split")];
    std::vector<int64_t> sizes;
    for (int64_t at = 0; at < n; at += split_size) sizes.push_back(std::min(split_size, n - at));
    if (sizes.empty()) sizes.push_back(0);
    return split_with_sizes(x, sizes, dim);
}

std::vector<NDArray> chunk(const NDArray& x, int64_t chunks, int64_t dim) {
    XGRAD_CHECK(chunks > 0, "chunk: the number of chunks must be positive, got ", chunks);
    XGRAD_CHECK(x.dim() > 0, "chunk: a 0-d tensor has no dimension to chunk");
    const int64_t d = wrap_dim(dim, x.dim(), "chunk"), n = x.sizes()[d];
    // An empty dim gives `chunks` empty pieces, as in PyTorch (split would give one).
    if (n == 0) {
        XGRAD_CHECK(chunks <= (int64_t{1} << 20), "chunk: ", chunks,
                    " empty pieces of an empty dimension are more than a list can hold");
        return std::vector<NDArray>(static_cast<std::size_t>(chunks), x);
    }
    return split(x, n / chunks + (n % chunks != 0), dim);
}

namespace {
void check_index(const NDArray& index, const char* op) {
    XGRAD_CHECK(index.dtype() == kInt64, op, ": the index must be int64, got ", index.dtype());
}

// The indices as a contiguous int64 array, each checked to be in [0, n): as in PyTorch, index_select,
// index_add, gather and scatter_add take no negative indices (x[idx] does; index() wraps them
// before it gets here). Anything else throws naming op, the index and the dimension.
NDArray checked_indices(const NDArray& index, int64_t n, const char* op, int64_t dim, const Shape& shape) {
    NDArray idx = index.contiguous();
    const int64_t* p = idx.data<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i)
        XGRAD_CHECK(p[i] >= 0 && p[i] < n, op, ": index ", p[i], " is out of range for dimension ", dim, " of size ", n,
                    " (shape ", shape, ")");
    return idx;
}
}  // namespace

NDArray index_select(const NDArray& x, int64_t dim, const NDArray& index) {
    check_index(index, "index_select");
    XGRAD_CHECK(index.dim() <= 1, "index_select: the index must be 1-D, got shape ", index.sizes());
    XGRAD_CHECK(x.dim() >= 1, "index_select: expected a tensor with at least one dimension");
    const int64_t d = wrap_dim(dim, x.dim(), "index_select");
    const NDArray idx = checked_indices(index, x.sizes()[d], "index_select", d, x.sizes());
    Shape sizes = x.sizes();
    sizes[d] = idx.numel();
    NDArray out = NDArray::empty(sizes, x.dtype());
    const int64_t* p = idx.data<int64_t>();
    if (d == 0 && x.is_contiguous()) {  // rows of a table (embeddings): one memcpy each
        const std::size_t row_bytes =
            static_cast<std::size_t>(x.numel() / std::max<int64_t>(x.sizes()[0], 1)) * element_size(x.dtype());
        const char* src = static_cast<const char*>(x.raw_data());
        char* dst = static_cast<char*>(out.raw_data());
        // Rows picked at random from a table larger than the cache (a shuffled batch) each start
        // with a miss the hardware prefetcher cannot predict: the rows two ahead are requested
        // while this one is copied (the DataLoader's batches came out ~2x faster).
        constexpr int64_t kAhead = 2;
        const int64_t n = idx.numel(), stride = static_cast<int64_t>(row_bytes);
        const auto copy_rows = [&](int64_t begin, int64_t end) {
            for (int64_t i = begin; i < end; ++i) {
                if (i + kAhead < end) {
                    const char* next = src + p[i + kAhead] * stride;
                    for (int64_t line = 0; line < stride; line += 64) __builtin_prefetch(next + line);
                }
                std::copy_n(src + p[i] * stride, row_bytes, dst + i * stride);
            }
        };
        // Threads share the rows: each has its own misses in flight, and on two threads each
        // gathers the half of the batch that it goes on to work with in the first product.
        xgrad::detail::parallel_for(n, static_cast<double>(row_bytes) / 4, 1, copy_rows);
        return out;
    }
    for (int64_t i = 0; i < idx.numel(); ++i) copy_(out.select(d, i), x.select(d, p[i]));
    return out;
}

NDArray index_add(const NDArray& x, int64_t dim, const NDArray& index, const NDArray& source) {
    check_index(index, "index_add");
    XGRAD_CHECK(index.dim() <= 1, "index_add: the index must be 1-D, got shape ", index.sizes());
    XGRAD_CHECK(x.dim() >= 1, "index_add: expected a tensor with at least one dimension");
    const int64_t d = wrap_dim(dim, x.dim(), "index_add");
    Shape expected = x.sizes();
    expected[d] = index.numel();
    XGRAD_CHECK(source.sizes() == expected, "index_add: the source has shape ", source.sizes(), " but shape ", expected,
                " was expected for an index of ", index.numel(), " entries into shape ", x.sizes());
    const NDArray idx = checked_indices(index, x.sizes()[d], "index_add", d, x.sizes());
    NDArray out = x.clone();
    const int64_t* p = idx.data<int64_t>();
    if (x.dim() == 1 && x.dtype() != kBool) {  // single elements (advanced indexing's backward): no per-row op
        const NDArray values = source.to(x.dtype()).contiguous();
        dispatch_all(x.dtype(), [&](auto tag) {
            using T = decltype(tag);
            T* to = out.data<T>();
            const T* from = values.data<T>();
            for (int64_t i = 0; i < idx.numel(); ++i) to[p[i]] += from[i];
        });
        return out;
    }
    for (int64_t i = 0; i < idx.numel(); ++i) {
        NDArray row = out.select(d, p[i]);
        binary_out(Binary::add, row, row, source.select(d, i));
    }
    return out;
}

namespace {
// Visits every position of index (any layout), giving the offsets (in elements) of the matching
// element of index, of "other" (src or out, laid out like index) and of x with dim replaced.
template <class F>
void for_each_index_position(const NDArray& index, const NDArray& x, const NDArray& other, int64_t d, F&& f) {
    const int64_t nd = index.dim(), n = index.numel();
    if (n == 0) return;
    if (nd == 0) {
        f(0, 0, 0);
        return;
    }
    // Rows along the last dimension: offsets computed once per row, then stepped by strides.
    const int64_t last = nd - 1, inner = index.sizes()[last];
    const int64_t is = index.strides()[last], os = other.strides()[last], xs = last == d ? 0 : x.strides()[last];
    Shape pos(static_cast<std::size_t>(last), 0);
    for (int64_t row = 0, rows = n / inner; row < rows; ++row) {
        int64_t io = 0, oo = 0, xo = 0;
        for (int64_t k = 0; k < last; ++k) {
            io += pos[k] * index.strides()[k];
            oo += pos[k] * other.strides()[k];
            if (k != d) xo += pos[k] * x.strides()[k];
        }
        for (int64_t j = 0; j < inner; ++j) f(io + j * is, oo + j * os, xo + j * xs);
        for (int64_t k = last; k-- > 0;) {
            if (++pos[k] < index.sizes()[k]) break;
            pos[k] = 0;
        }
    }
}

void check_gather_shapes(const char* op, const NDArray& x, const NDArray& index, int64_t d, const NDArray* src) {
    XGRAD_CHECK(index.dim() == x.dim(), op, ": the index has shape ", index.sizes(), " but the input has shape ",
                x.sizes(), " (ranks must match)");
    for (int64_t k = 0; k < x.dim(); ++k) {
        XGRAD_CHECK(k == d || index.sizes()[k] <= x.sizes()[k], op, ": the index has shape ", index.sizes(),
                    ", larger than the input's ", x.sizes(), " in dimension ", k);
        if (src)
            XGRAD_CHECK(index.sizes()[k] <= src->sizes()[k], op, ": the index has shape ", index.sizes(),
                        ", larger than the source's ", src->sizes(), " in dimension ", k);
    }
}
}  // namespace

NDArray gather(const NDArray& x, int64_t dim, const NDArray& index) {
    check_index(index, "gather");
    XGRAD_CHECK(x.dim() >= 1, "gather: expected a tensor with at least one dimension");
    const int64_t d = wrap_dim(dim, x.dim(), "gather");
    check_gather_shapes("gather", x, index, d, nullptr);
    const NDArray idx = checked_indices(index, x.sizes()[d], "gather", d, x.sizes());
    NDArray out = NDArray::empty(index.sizes(), x.dtype());
    dispatch_all(x.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T* src = static_cast<const T*>(x.raw_data());
        T* dst = static_cast<T*>(out.raw_data());
        const int64_t* p = idx.data<int64_t>();
        const int64_t step = x.strides()[d];
        for_each_index_position(idx, x, out, d,
                                [&](int64_t io, int64_t oo, int64_t xo) { dst[oo] = src[xo + p[io] * step]; });
    });
    return out;
}

NDArray scatter_add(const NDArray& x, int64_t dim, const NDArray& index, const NDArray& src) {
    check_index(index, "scatter_add");
    XGRAD_CHECK(x.dim() >= 1, "scatter_add: expected a tensor with at least one dimension");
    XGRAD_CHECK(src.dim() == x.dim(), "scatter_add: the source has shape ", src.sizes(), " but the input has shape ",
                x.sizes(), " (ranks must match)");
    const int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
    check_gather_shapes("scatter_add", x, index, d, &src);
    const NDArray idx = checked_indices(index, x.sizes()[d], "scatter_add", d, x.sizes());
    NDArray out = x.clone();
    const NDArray values = src.to(x.dtype());
    dispatch_numeric(x.dtype(), "scatter_add", [&](auto tag) {
        using T = decltype(tag);
        const T* s = static_cast<const T*>(values.raw_data());
        T* o = static_cast<T*>(out.raw_data());
        const int64_t* p = idx.data<int64_t>();
        const int64_t step = out.strides()[d];
        for_each_index_position(idx, out, values, d,
                                [&](int64_t io, int64_t so, int64_t oo) { o[oo + p[io] * step] += s[so]; });
    });
    return out;
}

NDArray one_hot(const NDArray& index, int64_t num_classes, DType dtype) {
    check_index(index, "one_hot");
    XGRAD_CHECK(num_classes > 0, "one_hot: num_classes must be positive, got ", num_classes);
    const NDArray idx = index.contiguous();
    // Class values, unlike indices elsewhere, do not count from the end: -1 is an error, as in PyTorch.
    for (int64_t i = 0; i < idx.numel(); ++i) {
        const int64_t v = idx.data<int64_t>()[i];
        XGRAD_CHECK(v >= 0 && v < num_classes, "one_hot: class index ", v, " at position ", i, " of an index of shape ",
                    index.sizes(), " lies outside [0, ", num_classes, ")");
    }
    Shape sizes = index.sizes();
    sizes.push_back(num_classes);
    NDArray out = full(sizes, 0, dtype);
    NDArray flat = out.view({-1, num_classes});
    const int64_t* p = idx.data<int64_t>();
    for (int64_t i = 0; i < idx.numel(); ++i) fill_(flat.select(0, i).narrow(0, p[i], 1), 1);
    return out;
}

}  // namespace xgrad::kernels

namespace xgrad::kernels {
namespace {
// Offsets of every element of the dimensions `dims` of an array with these sizes and strides, in
// row-major order of those dimensions (one 0 when `dims` is empty).
std::vector<int64_t> offsets_over(const Shape& sizes, const Shape& strides, const std::vector<int64_t>& dims) {
    std::vector<int64_t> offsets{0};
    for (int64_t d : dims) {
        std::vector<int64_t> next;
        next.reserve(offsets.size() * static_cast<std::size_t>(sizes[d]));
        for (int64_t base : offsets)
            for (int64_t i = 0; i < sizes[d]; ++i) next.push_back(base + i * strides[d]);
        offsets = std::move(next);
    }
    return offsets;
}
}  // namespace

NDArray advanced_index_positions(const Shape& sizes, const Shape& strides, int64_t offset,
                                 const std::vector<int64_t>& dims, const std::vector<NDArray>& indices,
                                 const char* op) {
    XGRAD_CHECK(dims.size() == indices.size(), op, ": expected one index tensor per indexed dimension");
    Shape b;
    for (const NDArray& index : indices) {
        try {
            b = broadcast_shapes(b, index.sizes(), op);
        } catch (const Error&) {
            std::ostringstream shapes;
            for (std::size_t k = 0; k < indices.size(); ++k) shapes << (k ? ", " : "") << indices[k].sizes();
            XGRAD_CHECK(false, op, ": the index tensors cannot be broadcast together (shapes ", shapes.str(), ")");
        }
    }
    const int64_t picks = shape_numel(b);
    // Where each pick starts: the offset of its place in the indexed dimensions.
    std::vector<int64_t> start(static_cast<std::size_t>(picks), offset);
    for (std::size_t k = 0; k < dims.size(); ++k) {
        const int64_t d = dims[k], size = sizes[d];
        const NDArray values = indices[k].to(kInt64).expand(b).contiguous();
        const int64_t* v = values.data<int64_t>();
        for (int64_t i = 0; i < picks; ++i) {
            int64_t at = v[i];
            XGRAD_CHECK(at >= -size && at < size, op, ": index ", at, " is out of bounds for dimension ", d,
                        " with size ", size);
            if (at < 0) at += size;
            start[static_cast<std::size_t>(i)] += at * strides[d];
        }
    }
    bool adjacent = true;
    for (std::size_t k = 1; k < dims.size(); ++k) adjacent = adjacent && dims[k] == dims[k - 1] + 1;
    std::vector<int64_t> before, after;  // the other dimensions, before and after B's in the result
    Shape out_sizes;
    for (int64_t d = 0; d < static_cast<int64_t>(sizes.size()); ++d) {
        if (std::find(dims.begin(), dims.end(), d) != dims.end()) continue;
        (adjacent && !dims.empty() && d < dims.front() ? before : after).push_back(d);
    }
    for (int64_t d : before) out_sizes.push_back(sizes[d]);
    for (int64_t s : b) out_sizes.push_back(s);
    for (int64_t d : after) out_sizes.push_back(sizes[d]);
    NDArray positions = NDArray::empty(out_sizes, kInt64);
    int64_t* out = positions.data<int64_t>();
    const std::vector<int64_t> outer = offsets_over(sizes, strides, before),
                               inner = offsets_over(sizes, strides, after);
    if (positions.numel() == 0) return positions;
    for (int64_t o : outer)
        for (int64_t s : start)
            for (int64_t i : inner) *out++ = o + s + i;
    return positions;
}

void check_values_fit_index(const Shape& values, const Shape& indexed, const char* op) {
    bool fits = values.size() <= indexed.size();
    for (std::size_t k = 1; fits && k <= values.size(); ++k)
        fits = values[values.size() - k] == 1 || values[values.size() - k] == indexed[indexed.size() - k];
    XGRAD_CHECK(fits, op, ": values of shape ", values, " cannot be broadcast to the indexed shape ", indexed);
}

void put_at_positions(const NDArray& target, const NDArray& positions, const NDArray& values, bool accumulate,
                      const char* op) {
    XGRAD_CHECK(positions.dtype() == kInt64, op, ": positions must be int64");
    check_values_fit_index(values.sizes(), positions.sizes(), op);
    const NDArray where = positions.contiguous();
    // Values that share memory with the target are read from a copy: writing in order would
    // otherwise read places this call has already written.
    const NDArray source = values.storage() == target.storage() ? values.clone() : values;
    const NDArray what = source.to(target.dtype()).expand(positions.sizes()).contiguous();
    const int64_t* p = where.data<int64_t>();
    const int64_t n = where.numel();
    dispatch_all(target.dtype(), [&](auto tag) {
        using T = decltype(tag);
        T* base = static_cast<T*>(target.raw_data());
        const T* v = what.data<T>();
        // In order, on one thread: repeated places take the last value, or the sum in order.
        if (accumulate) {
            if constexpr (std::is_same_v<T, bool>) {
                for (int64_t i = 0; i < n; ++i) base[p[i]] = base[p[i]] || v[i];
            } else {
                for (int64_t i = 0; i < n; ++i) base[p[i]] += v[i];
            }
        } else {
            for (int64_t i = 0; i < n; ++i) base[p[i]] = v[i];
        }
    });
}

}  // namespace xgrad::kernels
