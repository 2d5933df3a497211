#include <xgrad/tensor/ndarray.hpp>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <new>

#include <xgrad/tensor/kernels.hpp>

namespace xgrad {

Shape contiguous_strides(const Shape& sizes) {
    Shape strides(sizes.size(), 1);
    int64_t running = 1;
    for (std::size_t i = sizes.size(); i-- > 0;) {
        strides[i] = running;
        running *= std::max<int64_t>(sizes[i], 1);
    }
    return strides;
}

int64_t shape_numel(const Shape& sizes) {
    int64_t n = 1;
    for (int64_t s : sizes) n *= s;
    return n;
}

int64_t checked_numel(const Shape& sizes, const char* op) {
    for (int64_t s : sizes) XGRAD_CHECK(s >= 0, op, ": negative size in shape ", sizes);
    // The product of the sizes with zeros counted as 1 is what contiguous strides reach, so it must
    // fit too: [0, 2^62, 4] holds no element but its strides would overflow. Checking it makes the
    // answer independent of where the zero sits.
    int64_t reach = 1, n = 1;
    for (int64_t s : sizes) {
        XGRAD_CHECK(!__builtin_mul_overflow(reach, std::max<int64_t>(s, 1), &reach), op, ": shape ", sizes,
                    " has more elements than an int64 can count");
        n *= s;  // cannot overflow: n <= reach
    }
    return n;
}

int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op) {
    const int64_t lo = ndim == 0 ? -1 : -ndim;
    const int64_t hi = ndim == 0 ? 0 : ndim - 1;
    XGRAD_CHECK(dim >= lo && dim <= hi, op, ": dimension ", dim, " is out of range for a ", ndim,
                "-d tensor (expected a value in [", lo, ", ", hi, "])");
    return dim < 0 ? dim + std::max<int64_t>(ndim, 1) : dim;
}

Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op) {
    const std::size_t n = std::max(a.size(), b.size());
    Shape out(n, 1);
    for (std::size_t i = 0; i < n; ++i) {
        const int64_t sa = i < n - a.size() ? 1 : a[i - (n - a.size())];
        const int64_t sb = i < n - b.size() ? 1 : b[i - (n - b.size())];
        XGRAD_CHECK(sa == sb || sa == 1 || sb == 1, op, ": shapes ", a, " and ", b, " cannot be broadcast (dimension ",
                    i, ": ", sa, " vs ", sb, ")");
        out[i] = sa == 1 ? sb : sa;
    }
    return out;
}

NDArray::NDArray(std::shared_ptr<Storage> storage, DType dtype, Shape sizes, Shape strides, int64_t offset)
    : storage_(std::move(storage)),
      dtype_(dtype),
      sizes_(std::move(sizes)),
      strides_(std::move(strides)),
      offset_(offset) {
    XGRAD_INTERNAL_ASSERT(sizes_.size() == strides_.size(), "sizes and strides differ in length");
}

NDArray NDArray::empty(const Shape& sizes, DType dtype, const char* op) {
    const int64_t n = checked_numel(sizes, op);
    std::size_t bytes = 0;
    XGRAD_CHECK(!__builtin_mul_overflow(static_cast<std::size_t>(n), element_size(dtype), &bytes) &&
                    bytes <= static_cast<std::size_t>(PTRDIFF_MAX),
                op, ": a ", dtype, " tensor of shape ", sizes, " needs more bytes than memory can address");
    std::shared_ptr<Storage> storage;
    try {
        storage = std::make_shared<Storage>(bytes);
    } catch (const std::bad_alloc&) {
        fail(op, ": cannot allocate ", bytes, " bytes for a ", dtype, " tensor of shape ", sizes);
    }
    return NDArray(std::move(storage), dtype, sizes, contiguous_strides(sizes), 0);
}

NDArray NDArray::from_blob(void* data, const Shape& sizes, DType dtype, std::shared_ptr<void> keep_alive) {
    checked_numel(sizes, "from_blob");  // before its strides are computed
    return from_blob(data, sizes, contiguous_strides(sizes), dtype, std::move(keep_alive));
}

NDArray NDArray::from_blob(void* data, const Shape& sizes, const Shape& strides, DType dtype,
                           std::shared_ptr<void> keep_alive) {
    XGRAD_CHECK(sizes.size() == strides.size(), "from_blob: sizes ", sizes, " and strides ", strides,
                " differ in length");
    int64_t extent = 1;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        XGRAD_CHECK(sizes[i] >= 0 && strides[i] >= 0, "from_blob: negative size or stride in ", sizes, " / ", strides);
        if (sizes[i] == 0) extent = 0;
    }
    checked_numel(sizes, "from_blob");
    bool overflow = false;
    if (extent != 0)
        for (std::size_t i = 0; i < sizes.size(); ++i) {
            int64_t reach = 0;
            overflow = overflow || __builtin_mul_overflow(sizes[i] - 1, strides[i], &reach) ||
                       __builtin_add_overflow(extent, reach, &extent);
        }
    XGRAD_CHECK(!overflow, "from_blob: sizes ", sizes, " with strides ", strides, " reach beyond int64");
    auto storage =
        std::make_shared<Storage>(data, static_cast<std::size_t>(extent) * element_size(dtype), std::move(keep_alive));
    return NDArray(std::move(storage), dtype, sizes, strides, 0);
}

NDArray NDArray::scalar(double value, DType dtype) {
    return kernels::full({}, value, dtype);
}

int64_t NDArray::numel() const {
    return shape_numel(sizes_);
}

int64_t NDArray::size(int64_t d) const {
    return sizes_[wrap_dim(d, dim(), "size")];
}
int64_t NDArray::stride(int64_t d) const {
    return strides_[wrap_dim(d, dim(), "stride")];
}

bool NDArray::has_shared_elements() const {
    if (numel() == 0) return false;
    for (std::size_t i = 0; i < sizes_.size(); ++i)
        if (strides_[i] == 0 && sizes_[i] > 1) return true;
    return false;
}

bool NDArray::is_contiguous() const {
    int64_t expected = 1;
    for (std::size_t i = sizes_.size(); i-- > 0;) {
        if (sizes_[i] == 1) continue;
        if (sizes_[i] == 0) return true;
        if (strides_[i] != expected) return false;
        expected *= sizes_[i];
    }
    return true;
}

void* NDArray::raw_data() const {
    XGRAD_CHECK(defined(), "data: the array is undefined");
    return static_cast<char*>(storage_->data()) + offset_ * static_cast<int64_t>(element_size(dtype_));
}

int64_t NDArray::item_int64() const {
    XGRAD_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", sizes_);
    if (dtype_ == DType::int64) return *static_cast<const int64_t*>(raw_data());
    const double value = item();
    // -2^63 is exact in double; 2^63 is the first value past the range.
    XGRAD_CHECK(std::isfinite(value) && value >= -0x1p63 && value < 0x1p63, "item: ", value, " (", dtype_,
                ") does not fit in an integer");
    return static_cast<int64_t>(value);
}

double NDArray::item() const {
    XGRAD_CHECK(numel() == 1, "item: expected a tensor with one element, got shape ", sizes_);
    const void* p = raw_data();
    switch (dtype_) {
        case DType::float32:
            return *static_cast<const float*>(p);
        case DType::float64:
            return *static_cast<const double*>(p);
        case DType::int64:
            return static_cast<double>(*static_cast<const int64_t*>(p));
        case DType::boolean:
            return *static_cast<const bool*>(p) ? 1.0 : 0.0;
    }
    return 0;
}

namespace {
// Resolves one -1 in a requested shape against numel, checking that the counts agree.
Shape infer_size(const Shape& requested, int64_t numel, const char* op, const Shape& from) {
    Shape sizes = requested;
    int64_t known = 1;
    int infer_at = -1;
    for (std::size_t i = 0; i < sizes.size(); ++i) {
        if (sizes[i] == -1) {
            XGRAD_CHECK(infer_at < 0, op, ": only one dimension can be -1, got ", requested);
            infer_at = static_cast<int>(i);
        } else {
            XGRAD_CHECK(sizes[i] >= 0, op, ": invalid size ", sizes[i], " in ", requested);
            XGRAD_CHECK(!__builtin_mul_overflow(known, sizes[i], &known), op, ": shape ", requested,
                        " has more elements than an int64 can count");
        }
    }
    if (infer_at >= 0) {
        XGRAD_CHECK(known != 0 && numel % known == 0, op, ": shape ", requested, " is invalid for input of shape ",
                    from, " (", numel, " elements)");
        sizes[infer_at] = numel / known;
    } else {
        XGRAD_CHECK(known == numel, op, ": shape ", requested, " is invalid for input of shape ", from, " (", numel,
                    " elements)");
    }
    checked_numel(sizes, op);  // [0, 2^62, 4] matches an empty input, but its strides would overflow
    return sizes;
}

// Strides for viewing (sizes, strides) as new_sizes without a copy, if any exist (PyTorch's
// computeStride): each chunk of old dims that is contiguous in memory can be re-split freely.
bool view_strides(const Shape& sizes, const Shape& strides, const Shape& new_sizes, Shape& out) {
    out = Shape(new_sizes.size(), 1);
    if (sizes.empty()) {
        for (std::size_t i = 0; i < new_sizes.size(); ++i) out[i] = 1;
        return true;
    }
    if (shape_numel(sizes) == 0) {
        out = contiguous_strides(new_sizes);
        return true;
    }
    int64_t view_d = static_cast<int64_t>(new_sizes.size()) - 1;
    int64_t chunk_base_stride = strides.back();
    int64_t tensor_numel = 1, view_numel = 1;
    for (int64_t d = static_cast<int64_t>(sizes.size()) - 1; d >= 0; --d) {
        tensor_numel *= sizes[d];
        if (d == 0 || (sizes[d - 1] != 1 && strides[d - 1] != tensor_numel * chunk_base_stride)) {
            while (view_d >= 0 && (view_numel < tensor_numel || new_sizes[view_d] == 1)) {
                out[view_d] = view_numel * chunk_base_stride;
                view_numel *= new_sizes[view_d];
                --view_d;
            }
            if (view_numel != tensor_numel) return false;
            if (d > 0) {
                chunk_base_stride = strides[d - 1];
                tensor_numel = 1;
                view_numel = 1;
            }
        }
    }
    return view_d == -1;
}
}  // namespace

NDArray NDArray::view(const Shape& requested) const {
    const Shape sizes = infer_size(requested, numel(), "view", sizes_);
    Shape strides;
    XGRAD_CHECK(view_strides(sizes_, strides_, sizes, strides), "view: cannot view a tensor of shape ", sizes_,
                " with strides ", strides_, " as ", sizes,
                " without copying (it is not contiguous); use reshape() instead");
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::reshape(const Shape& requested) const {
    const Shape sizes = infer_size(requested, numel(), "reshape", sizes_);
    Shape strides;
    if (view_strides(sizes_, strides_, sizes, strides)) return NDArray(storage_, dtype_, sizes, strides, offset_);
    return clone().view(sizes);
}

NDArray NDArray::transpose(int64_t d0, int64_t d1) const {
    const int64_t a = wrap_dim(d0, dim(), "transpose"), b = wrap_dim(d1, dim(), "transpose");
    if (dim() == 0) return *this;
    Shape sizes = sizes_, strides = strides_;
    std::swap(sizes[a], sizes[b]);
    std::swap(strides[a], strides[b]);
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::permute(const Shape& dims) const {
    XGRAD_CHECK(static_cast<int64_t>(dims.size()) == dim(), "permute: expected ", dim(),
                " dimensions for a tensor of shape ", sizes_, ", got ", dims);
    Shape sizes(dims.size()), strides(dims.size());
    SmallVector<bool, 8> seen(dims.size(), false);
    for (std::size_t i = 0; i < dims.size(); ++i) {
        const int64_t d = wrap_dim(dims[i], dim(), "permute");
        XGRAD_CHECK(!seen[d], "permute: dimension ", dims[i], " repeats in ", dims);
        seen[d] = true;
        sizes[i] = sizes_[d];
        strides[i] = strides_[d];
    }
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::narrow(int64_t d, int64_t start, int64_t length) const {
    XGRAD_CHECK(dim() > 0, "narrow: cannot narrow a 0-d tensor");
    d = wrap_dim(d, dim(), "narrow");
    if (start < 0) start += sizes_[d];
    // length <= size - start, not start + length <= size: the sum can overflow for a huge length.
    XGRAD_CHECK(start >= 0 && start <= sizes_[d] && length >= 0 && length <= sizes_[d] - start, "narrow: ", length,
                " elements from ", start, " are out of bounds for dimension ", d, " of size ", sizes_[d], " (shape ",
                sizes_, ")");
    Shape sizes = sizes_;
    sizes[d] = length;
    return NDArray(storage_, dtype_, sizes, strides_, offset_ + start * strides_[d]);
}

NDArray NDArray::slice(int64_t d, int64_t start, int64_t end, int64_t step) const {
    XGRAD_CHECK(dim() > 0, "slice: cannot slice a 0-d tensor");
    d = wrap_dim(d, dim(), "slice");
    XGRAD_CHECK(step > 0, "slice: step must be positive, got ", step);
    const int64_t n = sizes_[d];
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
    Shape sizes = sizes_, strides = strides_;
    // Written so that nothing overflows for a step near 2^63: with two or more elements the step
    // is below the dimension's size, so stride * step stays within the storage's reach.
    sizes[d] = end == start ? 0 : (end - start - 1) / step + 1;
    if (sizes[d] > 1) strides[d] *= step;
    return NDArray(storage_, dtype_, sizes, strides, offset_ + start * strides_[d]);
}

NDArray NDArray::select(int64_t d, int64_t index) const {
    XGRAD_CHECK(dim() > 0, "select: cannot select from a 0-d tensor");
    d = wrap_dim(d, dim(), "select");
    const int64_t n = sizes_[d];
    XGRAD_CHECK(index >= -n && index < n, "select: index ", index, " is out of range for dimension ", d, " of size ", n,
                " (shape ", sizes_, ")");
    if (index < 0) index += n;
    Shape sizes = sizes_, strides = strides_;
    sizes.erase(d);
    strides.erase(d);
    return NDArray(storage_, dtype_, sizes, strides, offset_ + index * strides_[d]);
}

NDArray NDArray::unsqueeze(int64_t d) const {
    d = wrap_dim(d, dim() + 1, "unsqueeze");
    Shape sizes = sizes_, strides = strides_;
    const int64_t stride = d < dim() ? sizes_[d] * strides_[d] : 1;
    sizes.insert(d, 1);
    strides.insert(d, stride);
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::squeeze() const {
    Shape sizes, strides;
    for (int64_t i = 0; i < dim(); ++i)
        if (sizes_[i] != 1) {
            sizes.push_back(sizes_[i]);
            strides.push_back(strides_[i]);
        }
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::squeeze(int64_t d) const {
    if (dim() == 0) return *this;
    d = wrap_dim(d, dim(), "squeeze");
    if (sizes_[d] != 1) return *this;
    Shape sizes = sizes_, strides = strides_;
    sizes.erase(d);
    strides.erase(d);
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::expand(const Shape& target) const {
    XGRAD_CHECK(target.size() >= sizes_.size(), "expand: the target ", target, " has fewer dimensions than the shape ",
                sizes_);
    const std::size_t lead = target.size() - sizes_.size();
    Shape sizes(target.size()), strides(target.size());
    for (std::size_t i = 0; i < target.size(); ++i) {
        if (i < lead) {
            XGRAD_CHECK(target[i] >= 0, "expand: a new leading dimension cannot be ", target[i], " in ", target);
            sizes[i] = target[i];
            strides[i] = 0;
            continue;
        }
        const int64_t have = sizes_[i - lead];
        const int64_t want = target[i] == -1 ? have : target[i];
        XGRAD_CHECK(have == want || have == 1, "expand: cannot expand shape ", sizes_, " to ", target, " (dimension ",
                    i, ": ", have, " vs ", want, "; only size-1 dimensions expand)");
        sizes[i] = want;
        strides[i] = have == want ? strides_[i - lead] : 0;
    }
    checked_numel(sizes, "expand");
    return NDArray(storage_, dtype_, sizes, strides, offset_);
}

NDArray NDArray::contiguous() const {
    return is_contiguous() ? *this : clone();
}

NDArray NDArray::clone() const {
    NDArray out = empty(sizes_, dtype_);
    kernels::copy_(out, *this);
    return out;
}

NDArray NDArray::to(DType dtype) const {
    if (dtype == dtype_) return *this;
    NDArray out = empty(sizes_, dtype);
    kernels::copy_(out, *this);
    return out;
}

}  // namespace xgrad
