#pragma once
/// NDArray: the raw n-dimensional array of the tensor layer. A view onto a shared Storage:
/// dtype, sizes, strides (in elements) and an offset. It knows nothing of gradients; autograd's
/// Tensor wraps one. Copying an NDArray copies the view, never the data.

#include <cstdint>
#include <memory>
#include <ostream>

#include <xgrad/tensor/dtype.hpp>
#include <xgrad/tensor/error.hpp>
#include <xgrad/tensor/small_vector.hpp>
#include <xgrad/tensor/storage.hpp>

namespace xgrad {

class NDArray {
public:
    /// An undefined array (no storage); defined() is false.
    NDArray() = default;
    NDArray(std::shared_ptr<Storage> storage, DType dtype, Shape sizes, Shape strides, int64_t offset);

    /// A fresh contiguous array with uninitialized contents. A negative size, an element count
    /// beyond int64 or a failed allocation throws naming op and the shape.
    static NDArray empty(const Shape& sizes, DType dtype = kFloat32, const char* op = "empty");
    /// Wraps external memory without copying; keep_alive is held while any view lives.
    static NDArray from_blob(void* data, const Shape& sizes, DType dtype, std::shared_ptr<void> keep_alive = nullptr);
    static NDArray from_blob(void* data, const Shape& sizes, const Shape& strides, DType dtype,
                             std::shared_ptr<void> keep_alive = nullptr);
    /// A 0-d array holding value converted to dtype.
    static NDArray scalar(double value, DType dtype = kFloat32);

    bool defined() const { return storage_ != nullptr; }
    DType dtype() const { return dtype_; }
    int64_t dim() const { return static_cast<int64_t>(sizes_.size()); }
    int64_t numel() const;
    const Shape& sizes() const { return sizes_; }
    const Shape& strides() const { return strides_; }
    /// Size of dimension d; negative d counts from the end.
    int64_t size(int64_t d) const;
    int64_t stride(int64_t d) const;
    int64_t offset() const { return offset_; }
    const std::shared_ptr<Storage>& storage() const { return storage_; }
    /// Row-major with no gaps.
    bool is_contiguous() const;
    /// Whether two of its elements are one memory location: a broadcast view (expand), with a
    /// stride of 0 along a dim of size > 1. Writing into it would write those elements many times.
    bool has_shared_elements() const;

    /// Address of the first element (offset applied).
    void* raw_data() const;
    template <class T>
    T* data() const {
        XGRAD_CHECK(dtype_of<T>() == dtype_, "data<", dtype_name(dtype_of<T>()), ">: the array holds ", dtype_);
        return static_cast<T*>(raw_data());
    }
    /// The single element of a one-element array, converted to double.
    double item() const;
    /// The single element as an integer: exact for int64 (beyond 2^53, where a double would round
    /// it), truncated toward zero for floating values, which must be finite and within int64's
    /// range (an error naming the value otherwise: the conversion would be undefined).
    int64_t item_int64() const;

    // Views: share storage, copy nothing. Negative dims count from the end.
    /// A view with new sizes (one may be -1); throws if the strides do not allow it.
    NDArray view(const Shape& sizes) const;
    /// view() when possible, otherwise a contiguous copy.
    NDArray reshape(const Shape& sizes) const;
    NDArray transpose(int64_t d0, int64_t d1) const;
    NDArray permute(const Shape& dims) const;
    /// Elements [start, start + length) along dim.
    NDArray narrow(int64_t dim, int64_t start, int64_t length) const;
    /// Elements start, start + step, ... before end along dim (Python slicing, clamped).
    NDArray slice(int64_t dim, int64_t start, int64_t end, int64_t step = 1) const;
    /// Drops dim by picking one index.
    NDArray select(int64_t dim, int64_t index) const;
    NDArray unsqueeze(int64_t dim) const;
    /// Drops every size-1 dim, or only dim (a no-op when its size is not 1, as in PyTorch).
    NDArray squeeze() const;
    NDArray squeeze(int64_t dim) const;
    /// Broadcasts size-1 dims to sizes (-1 keeps a size) with stride 0; may add leading dims.
    NDArray expand(const Shape& sizes) const;
    /// Same data in row-major order: itself when already contiguous, else a copy.
    NDArray contiguous() const;
    /// A contiguous copy.
    NDArray clone() const;
    /// Converted to dtype (a copy), or itself when the dtype already matches.
    NDArray to(DType dtype) const;

    /// Records an in-place write (for autograd's saved-tensor checks).
    void bump_version() const { storage_->bump_version(); }
    uint64_t version() const { return storage_->version(); }

private:
    std::shared_ptr<Storage> storage_;
    DType dtype_ = kFloat32;
    Shape sizes_;
    Shape strides_;
    int64_t offset_ = 0;
};

/// Row-major strides for sizes.
Shape contiguous_strides(const Shape& sizes);
/// Product of sizes (1 for a 0-d shape), for shapes already known to be valid.
int64_t shape_numel(const Shape& sizes);
/// Product of sizes for a shape from outside: throws naming op and the shape when a size is
/// negative or the count overflows int64 (a wrapped count would allocate too little).
int64_t checked_numel(const Shape& sizes, const char* op);
/// Wraps a possibly negative dim into [0, ndim); throws naming op when out of range.
int64_t wrap_dim(int64_t dim, int64_t ndim, const char* op);
/// The broadcast of two shapes (NumPy rules); throws naming op when they are incompatible.
Shape broadcast_shapes(const Shape& a, const Shape& b, const char* op);

/// Prints like PyTorch: values (elided when large), then size and dtype.
std::ostream& operator<<(std::ostream& out, const NDArray& array);

}  // namespace xgrad
