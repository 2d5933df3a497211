// Factories: they make leaves (requires_grad from the options), never graph nodes.

#include <cmath>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {
Tensor leaf(NDArray data, const TensorOptions& options) {
    return Tensor(std::move(data), options.requires_grad());
}
// The user's shape, checked before any kernel sizes a buffer from it (so the error names the op
// the user called, and a count that overflows int64 never turns into a tiny allocation).
const Shape& shape_for(const char* op, const Shape& sizes) {
    checked_numel(sizes, op);
    return sizes;
}
}  // namespace

Tensor empty(const Shape& sizes, TensorOptions o) {
    return leaf(NDArray::empty(sizes, o.dtype(), "empty"), o);
}
Tensor zeros(const Shape& sizes, TensorOptions o) {
    return leaf(kernels::full(shape_for("zeros", sizes), 0, o.dtype()), o);
}
Tensor ones(const Shape& sizes, TensorOptions o) {
    return leaf(kernels::full(shape_for("ones", sizes), 1, o.dtype()), o);
}
Tensor full(const Shape& sizes, double v, TensorOptions o) {
    return leaf(kernels::full(shape_for("full", sizes), v, o.dtype()), o);
}
Tensor arange(double end, std::optional<TensorOptions> o) {
    return arange(0, end, 1, o);
}
Tensor arange(double start, double end, double step, std::optional<TensorOptions> o) {
    if (!o) {
        const bool whole = std::trunc(start) == start && std::trunc(end) == end && std::trunc(step) == step;
        o = whole ? kInt64 : kFloat32;
    }
    return leaf(kernels::arange(start, end, step, o->dtype()), *o);
}
Tensor arange(double start, double end, TensorOptions o) {
    return arange(start, end, 1.0, o);
}
Tensor linspace(double start, double end, int64_t steps, TensorOptions o) {
    return leaf(kernels::linspace(start, end, steps, o.dtype()), o);
}
Tensor eye(int64_t n, TensorOptions o) {
    return eye(n, n, o);
}
Tensor eye(int64_t n, int64_t m, TensorOptions o) {
    return leaf(kernels::eye(n, m, o.dtype()), o);
}
Tensor scalar_tensor(double v, TensorOptions o) {
    return leaf(kernels::full({}, v, o.dtype()), o);
}

Tensor tensor(std::initializer_list<ListValue> values, TensorOptions o) {
    std::vector<double> flat;
    for (const ListValue& v : values) flat.push_back(v.value);
    return from_vector(flat, {static_cast<int64_t>(values.size())}, o);
}

Tensor tensor(std::initializer_list<std::initializer_list<double>> values, TensorOptions o) {
    std::vector<double> flat;
    const int64_t cols = values.size() ? static_cast<int64_t>(values.begin()->size()) : 0;
    int64_t row = 0;
    for (const auto& r : values) {
        XGRAD_CHECK(static_cast<int64_t>(r.size()) == cols, "tensor: row ", row, " has ", r.size(),
                    " values but row 0 has ", cols, " (nested lists must be rectangular)");
        flat.insert(flat.end(), r.begin(), r.end());
        ++row;
    }
    return from_vector(flat, {static_cast<int64_t>(values.size()), cols}, o);
}

Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> values, TensorOptions o) {
    std::vector<Tensor> planes;
    for (const auto& p : values) planes.push_back(tensor(p, o.dtype()));
    XGRAD_CHECK(!planes.empty(), "tensor: empty nested list");
    for (std::size_t i = 1; i < planes.size(); ++i)
        XGRAD_CHECK(planes[i].sizes() == planes[0].sizes(), "tensor: block ", i, " has shape ", planes[i].sizes(),
                    " but block 0 has shape ", planes[0].sizes(), " (nested lists must be rectangular)");
    std::vector<NDArray> raw;
    for (const Tensor& p : planes) raw.push_back(p.data());
    return leaf(kernels::stack(raw, 0), o);
}

namespace {
template <class T>
Tensor from_values(const std::vector<T>& values, const Shape& sizes, const TensorOptions& o) {
    const int64_t count = checked_numel(sizes, "from_vector");
    XGRAD_CHECK(static_cast<int64_t>(values.size()) == count, "from_vector: ", values.size(),
                " values do not fill shape ", sizes, " (", count, " elements)");
    // Wrap the caller's values without copying, then convert into a fresh array of the dtype.
    NDArray view = NDArray::from_blob(const_cast<T*>(values.data()), sizes, dtype_of<T>());
    NDArray out = NDArray::empty(sizes, o.dtype());
    kernels::copy_(out, view);
    return leaf(out, o);
}
}  // namespace

Tensor from_vector(const std::vector<double>& v, const Shape& s, TensorOptions o) {
    return from_values(v, s, o);
}
Tensor from_vector(const std::vector<float>& v, const Shape& s, TensorOptions o) {
    return from_values(v, s, o);
}
Tensor from_vector(const std::vector<int64_t>& v, const Shape& s, TensorOptions o) {
    return from_values(v, s, o);
}
Tensor from_blob(void* data, const Shape& sizes, DType dtype) {
    return Tensor(NDArray::from_blob(data, sizes, dtype));
}

Tensor rand(const Shape& s, TensorOptions o, Generator* g) {
    return leaf(kernels::uniform(shape_for("rand", s), 0, 1, o.dtype(), generator_or_default(g)), o);
}
Tensor randn(const Shape& s, TensorOptions o, Generator* g) {
    return leaf(kernels::normal(shape_for("randn", s), 0, 1, o.dtype(), generator_or_default(g)), o);
}
Tensor uniform(const Shape& s, double lo, double hi, TensorOptions o, Generator* g) {
    return leaf(kernels::uniform(shape_for("uniform", s), lo, hi, o.dtype(), generator_or_default(g)), o);
}
Tensor normal(const Shape& s, double mean, double std, TensorOptions o, Generator* g) {
    return leaf(kernels::normal(shape_for("normal", s), mean, std, o.dtype(), generator_or_default(g)), o);
}
Tensor randint(int64_t lo, int64_t hi, const Shape& s, TensorOptions o, Generator* g) {
    return leaf(kernels::randint(lo, hi, shape_for("randint", s), o.dtype(), generator_or_default(g)), o);
}
Tensor bernoulli(const Shape& s, double p, TensorOptions o, Generator* g) {
    return leaf(kernels::bernoulli(shape_for("bernoulli", s), p, o.dtype(), generator_or_default(g)), o);
}
Tensor randperm(int64_t n, Generator* g) {
    return Tensor(kernels::randperm(n, generator_or_default(g)));
}

Tensor zeros_like(const Tensor& t) {
    return zeros(t.sizes(), t.dtype());
}
Tensor ones_like(const Tensor& t) {
    return ones(t.sizes(), t.dtype());
}
Tensor full_like(const Tensor& t, double v) {
    return full(t.sizes(), v, t.dtype());
}
Tensor empty_like(const Tensor& t) {
    return empty(t.sizes(), t.dtype());
}
Tensor rand_like(const Tensor& t, Generator* g) {
    return rand(t.sizes(), t.dtype(), g);
}
Tensor randn_like(const Tensor& t, Generator* g) {
    return randn(t.sizes(), t.dtype(), g);
}

}  // namespace xgrad
