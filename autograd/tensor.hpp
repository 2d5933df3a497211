#pragma once
/// xgrad::Tensor: what users hold. A handle to a raw NDArray plus autograd metadata
/// (requires_grad, grad, grad_fn, hooks). Copying a Tensor copies the handle: both refer to the
/// same tensor, as in PyTorch. Every differentiable op is in autograd/ops.hpp; the methods here
/// forward to those free functions.

#include <concepts>
#include <cstdint>
#include <functional>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <tuple>
#include <type_traits>
#include <vector>

#include <xgrad/tensor/device.hpp>
#include <xgrad/tensor/ndarray.hpp>
#include <xgrad/tensor/random.hpp>

namespace xgrad {
namespace indexing {
class TensorIndex;
}

class Node;
struct TensorImpl;

/// dtype and requires_grad for factory functions, LibTorch style:
/// zeros({2, 3}, kFloat64) or zeros({2, 3}, TensorOptions(kFloat64).requires_grad(true)).
class TensorOptions {
public:
    TensorOptions() = default;
    TensorOptions(DType dtype) : dtype_(dtype) {}  // NOLINT: implicit on purpose, like LibTorch
    /// zeros({2}, kCPU), randn({n}, device): accepted, as every tensor is on the CPU.
    TensorOptions(Device) {}                          // NOLINT: implicit on purpose, like LibTorch
    TensorOptions(DeviceType type) { Device{type}; }  // NOLINT: kCUDA throws, as Device(kCUDA) does
    TensorOptions dtype(DType d) const {
        auto o = *this;
        o.dtype_ = d;
        return o;
    }
    TensorOptions requires_grad(bool r) const {
        auto o = *this;
        o.requires_grad_ = r;
        return o;
    }
    /// Accepted for LibTorch's habits; a Device is always the CPU (see tensor/device.hpp).
    TensorOptions device(Device) const { return *this; }
    DType dtype() const { return dtype_; }
    Device device() const { return kCPU; }
    bool requires_grad() const { return requires_grad_; }

private:
    DType dtype_ = kFloat32;
    bool requires_grad_ = false;
};

/// The dims a reduction runs over: one dim (x.sum(1), as in LibTorch), a list (x.sum({0, 2})),
/// or none (every element). A bool is refused, so that x.var(false) cannot mean dim 0.
class Dims : public Shape {
public:
    Dims() = default;
    template <std::integral I>
    requires(!std::same_as<I, bool>) Dims(I dim)
        : Shape{static_cast<int64_t>(dim)} {}  // NOLINT: implicit on purpose, like LibTorch's IntArrayRef
    Dims(std::initializer_list<int64_t> dims) : Shape(dims) {}
    Dims(const Shape& dims) : Shape(dims) {}                 // NOLINT: implicit on purpose
    Dims(const std::vector<int64_t>& dims) : Shape(dims) {}  // NOLINT: implicit on purpose
};

class Tensor {
public:
    using Hook = std::function<Tensor(const Tensor&)>;
    using PostAccumulateGradHook = std::function<void(const Tensor&)>;

    /// An undefined tensor (defined() is false), e.g. the grad of a tensor that has none yet.
    Tensor() = default;
    /// Wraps a raw array (shares its storage).
    explicit Tensor(NDArray data, bool requires_grad = false);

    bool defined() const { return impl_ != nullptr; }
    /// The raw array (shares storage); kernels and interop work on it.
    const NDArray& data() const;

    // ---- metadata ------------------------------------------------------------------------
    DType dtype() const { return data().dtype(); }
    const Shape& sizes() const { return data().sizes(); }
    const Shape& shape() const { return data().sizes(); }
    const Shape& strides() const { return data().strides(); }
    int64_t size(int64_t d) const { return data().size(d); }
    int64_t dim() const { return data().dim(); }
    int64_t numel() const { return data().numel(); }
    bool is_contiguous() const { return data().is_contiguous(); }
    bool is_floating_point() const { return is_floating(dtype()); }
    /// The single element of a one-element tensor.
    double item() const { return data().item(); }
    /// ... converted to T; an integer T reads int64 tensors exactly (see NDArray::item_int64).
    template <class T>
    T item() const {
        if constexpr (std::is_integral_v<T> && !std::is_same_v<T, bool>)
            return static_cast<T>(data().item_int64());
        else
            return static_cast<T>(data().item());
    }
    /// Pointer to the first element (the tensor must hold T).
    template <class T>
    T* data_ptr() const {
        return data().data<T>();
    }
    /// The elements in row-major order, converted to T.
    template <class T>
    std::vector<T> to_vector() const;

    // ---- autograd ------------------------------------------------------------------------
    bool requires_grad() const;
    /// Marks a leaf so that backward() fills its grad(). Only floating-point tensors can.
    const Tensor& requires_grad_(bool requires_grad = true) const;
    /// Accumulated gradient (undefined until a backward pass reaches this tensor).
    const Tensor& grad() const;
    /// Replaces the gradient (an undefined Tensor releases it), e.g. to reset between steps.
    void set_grad(const Tensor& grad) const;
    /// The node that created this tensor (null for leaves).
    const std::shared_ptr<Node>& grad_fn() const;
    uint32_t output_nr() const;
    /// Leaves are tensors the user made (or that do not require grad): grads accumulate there.
    bool is_leaf() const;
    /// Backpropagates from this tensor. A non-scalar needs an explicit gradient of its shape.
    void backward(const Tensor& gradient = Tensor(), bool retain_graph = false, bool create_graph = false) const;
    /// Same data, cut from the graph (shares storage).
    Tensor detach() const;
    /// Makes backward() fill grad() of this non-leaf tensor too.
    void retain_grad() const;
    bool retains_grad() const;
    /// fn(grad) runs when the gradient for this tensor is computed; a defined return value
    /// replaces the gradient. Returns a handle for remove_hook.
    int register_hook(Hook fn) const;
    /// fn(leaf) runs on a leaf after backward has added this pass's gradient into its grad()
    /// (torch.Tensor.register_post_accumulate_grad_hook): where data-parallel training starts
    /// reducing a gradient that is complete. Returns a handle for remove_hook.
    int register_post_accumulate_grad_hook(PostAccumulateGradHook fn) const;
    void remove_hook(int handle) const;
    /// Replaces the data behind this handle (and every copy of it), e.g. to convert a parameter's
    /// dtype in place; the gradient is released when the shape or dtype changes.
    void set_data(const NDArray& data) const;
    /// In-place write counter of the underlying storage.
    uint64_t version() const { return data().version(); }

    // ---- views and shape (see ops.hpp for the meaning of each) -----------------------------
    Tensor view(const Shape& sizes) const;
    Tensor reshape(const Shape& sizes) const;
    Tensor flatten(int64_t start_dim = 0, int64_t end_dim = -1) const;
    Tensor transpose(int64_t d0, int64_t d1) const;
    Tensor t() const;
    Tensor permute(const Shape& dims) const;
    Tensor narrow(int64_t dim, int64_t start, int64_t length) const;
    Tensor slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
    Tensor select(int64_t dim, int64_t index) const;
    Tensor operator[](int64_t index) const { return select(0, index); }
    /// x[...] as LibTorch's Tensor::index: x.index({Slice(), 0}), x.index({mask}) (see
    /// autograd/indexing.hpp for every kind of index).
    Tensor index(const std::vector<indexing::TensorIndex>& indices) const;
    /// x[...] = values (same dtype, broadcast to the indexed shape), or x[...] += values with
    /// `accumulate` (repeated places add up); in place, recorded like any in-place op.
    const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                             bool accumulate = false) const;
    const Tensor& index_put_(const std::vector<indexing::TensorIndex>& indices, double value) const;
    Tensor unsqueeze(int64_t dim) const;
    Tensor squeeze() const;
    Tensor squeeze(int64_t dim) const;
    Tensor expand(const Shape& sizes) const;
    Tensor expand_as(const Tensor& other) const { return expand(other.sizes()); }
    Tensor contiguous() const;
    Tensor clone() const;
    Tensor to(DType dtype) const;
    /// The tensor itself: it is on the CPU, the only device (LibTorch returns self when nothing changes).
    Tensor to(Device device) const;
    Tensor to(Device device, DType dtype) const;
    Device device() const { return kCPU; }
    bool is_cpu() const { return true; }
    bool is_cuda() const { return false; }

    // ---- math ----------------------------------------------------------------------------
    Tensor neg() const;
    Tensor exp() const;
    Tensor log() const;
    Tensor sqrt() const;
    Tensor abs() const;
    Tensor sign() const;
    Tensor sin() const;
    Tensor cos() const;
    Tensor tanh() const;
    Tensor sigmoid() const;
    Tensor relu() const;
    Tensor square() const;
    Tensor pow(double exponent) const;
    Tensor pow(const Tensor& exponent) const;
    Tensor clamp(double low, double high) const;
    Tensor matmul(const Tensor& other) const;
    Tensor bmm(const Tensor& other) const;
    Tensor mm(const Tensor& other) const;
    Tensor addmm(const Tensor& mat1, const Tensor& mat2, double beta = 1.0, double alpha = 1.0) const;
    Tensor masked_fill(const Tensor& mask, double value) const;
    Tensor masked_fill(const Tensor& mask, const Tensor& value) const;
    Tensor cumsum(int64_t dim) const;
    Tensor cumprod(int64_t dim) const;
    Tensor prod() const;
    Tensor prod(int64_t dim, bool keepdim = false) const;
    Tensor flip(const Dims& dims) const;
    Tensor tril(int64_t diagonal = 0) const;
    Tensor triu(int64_t diagonal = 0) const;
    Tensor repeat(const Shape& repeats) const;
    Tensor sum() const;
    Tensor sum(const Dims& dims, bool keepdim = false) const;
    Tensor mean() const;
    Tensor mean(const Dims& dims, bool keepdim = false) const;
    Tensor max() const;
    std::tuple<Tensor, Tensor> max(int64_t dim, bool keepdim = false) const;
    Tensor min() const;
    std::tuple<Tensor, Tensor> min(int64_t dim, bool keepdim = false) const;
    Tensor argmax() const;
    Tensor argmax(int64_t dim, bool keepdim = false) const;
    Tensor var(const Dims& dims = {}, bool unbiased = true, bool keepdim = false) const;
    Tensor std(const Dims& dims = {}, bool unbiased = true, bool keepdim = false) const;
    Tensor norm(double p = 2.0) const;
    Tensor softmax(int64_t dim) const;
    Tensor log_softmax(int64_t dim) const;
    Tensor argmin(int64_t dim, bool keepdim = false) const;
    Tensor logsumexp(const Dims& dims, bool keepdim = false) const;
    /// True where an element is NaN, +-inf, or neither (bool masks); any / all of a whole tensor
    /// as a 0-d bool (an element counts as true when it is not 0).
    Tensor isnan() const;
    Tensor isinf() const;
    Tensor isfinite() const;
    Tensor any() const;
    Tensor all() const;

    // ---- the operators as methods, LibTorch's spelling: pred.eq(target).sum() -------------
    Tensor add(const Tensor& other) const;
    Tensor sub(const Tensor& other) const;
    Tensor mul(const Tensor& other) const;
    Tensor div(const Tensor& other) const;
    Tensor add(double other) const;
    Tensor sub(double other) const;
    Tensor mul(double other) const;
    Tensor div(double other) const;
    Tensor eq(const Tensor& other) const;
    Tensor ne(const Tensor& other) const;
    Tensor lt(const Tensor& other) const;
    Tensor le(const Tensor& other) const;
    Tensor gt(const Tensor& other) const;
    Tensor ge(const Tensor& other) const;
    Tensor eq(double other) const;
    Tensor ne(double other) const;
    Tensor lt(double other) const;
    Tensor le(double other) const;
    Tensor gt(double other) const;
    Tensor ge(double other) const;

    // ---- in place (bump the version; rejected on leaves that require grad while recording) --
    const Tensor& add_(const Tensor& other, double alpha = 1.0) const;
    const Tensor& add_(double value) const;
    const Tensor& sub_(const Tensor& other) const;
    const Tensor& mul_(const Tensor& other) const;
    const Tensor& mul_(double value) const;
    const Tensor& div_(const Tensor& other) const;
    const Tensor& div_(double value) const;
    const Tensor& sub_(double value) const;
    /// x += y is x.add_(y), as in LibTorch (in place: it bumps the version, and while recording
    /// it is refused on a leaf that requires grad).
    const Tensor& operator+=(const Tensor& other) const { return add_(other); }
    const Tensor& operator-=(const Tensor& other) const { return sub_(other); }
    const Tensor& operator*=(const Tensor& other) const { return mul_(other); }
    const Tensor& operator/=(const Tensor& other) const { return div_(other); }
    const Tensor& operator+=(double value) const { return add_(value); }
    const Tensor& operator-=(double value) const { return sub_(value); }
    const Tensor& operator*=(double value) const { return mul_(value); }
    const Tensor& operator/=(double value) const { return div_(value); }
    const Tensor& clamp_(double low, double high) const;
    const Tensor& copy_(const Tensor& src) const;
    const Tensor& fill_(double value) const;
    const Tensor& zero_() const;
    /// Refilled in place with draws from U[from, to) or N(mean, std) (from `generator`, else the
    /// default one), as copy_ of the matching factory's result: a leaf that requires grad is
    /// refused outside NoGradGuard, as in LibTorch. Floating-point tensors only.
    const Tensor& uniform_(double from = 0.0, double to = 1.0, Generator* generator = nullptr) const;
    const Tensor& normal_(double mean = 0.0, double std = 1.0, Generator* generator = nullptr) const;

    /// Internal: the shared state behind this handle.
    const std::shared_ptr<TensorImpl>& impl() const { return impl_; }
    explicit Tensor(std::shared_ptr<TensorImpl> impl) : impl_(std::move(impl)) {}

private:
    std::shared_ptr<TensorImpl> impl_;
};

std::ostream& operator<<(std::ostream& out, const Tensor& t);

template <class T>
std::vector<T> Tensor::to_vector() const {
    const NDArray c = data().to(dtype_of<T>()).contiguous();
    const T* p = c.template data<T>();
    return std::vector<T>(p, p + c.numel());
}

}  // namespace xgrad
