#pragma once
/// Interop with xtensor: copy to and from xt::xarray, or look at an NDArray's memory as an xtensor
/// expression without copying. Include it only where needed: xtensor's headers are heavy, which
/// is why no other xgrad header includes them.
///
///     xt::xarray<float> a = {{1, 2}, {3, 4}};
///     xgrad::Tensor t(xgrad::from_xarray(a));          // a copy
///     auto v = xgrad::as_xtensor<float>(t.data());      // a view: xt::sum(v)() etc.

#include <algorithm>
#include <xtensor/xadapt.hpp>
#include <xtensor/xarray.hpp>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/ndarray.hpp>

namespace xgrad {

/// A contiguous copy of an xarray (any layout) as an NDArray of the matching dtype.
template <class T>
NDArray from_xarray(const xt::xarray<T>& a) {
    const Shape sizes(a.shape().begin(), a.shape().end());
    NDArray out = NDArray::empty(sizes, dtype_of<T>());
    std::copy(a.begin(), a.end(), out.data<T>());  // xarray iterates in row-major order
    return out;
}

/// Shares the xarray's memory (no copy): the xarray must outlive the result and every view of it.
template <class T>
NDArray adapt(xt::xarray<T>& a) {
    const Shape sizes(a.shape().begin(), a.shape().end());
    Shape strides(a.strides().begin(), a.strides().end());
    for (std::size_t d = 0; d < strides.size(); ++d)
        XGRAD_CHECK(strides[d] >= 0, "adapt: negative strides are not supported");
    return NDArray::from_blob(a.data(), sizes, strides, dtype_of<T>());
}

/// A view of x's elements as an xtensor expression, without copying (x must outlive it).
template <class T>
auto as_xtensor(const NDArray& x) {
    std::vector<std::size_t> shape(x.sizes().begin(), x.sizes().end());
    std::vector<std::ptrdiff_t> strides(x.strides().begin(), x.strides().end());
    std::size_t extent = x.numel() == 0 ? 0 : 1;
    for (std::size_t d = 0; d < shape.size() && extent; ++d)
        extent += (shape[d] - 1) * static_cast<std::size_t>(strides[d]);
    return xt::adapt(x.data<T>(), extent, xt::no_ownership(), shape, strides);
}

/// A copy of x as an xarray<T> (converting the dtype if needed).
template <class T>
xt::xarray<T> to_xarray(const NDArray& x) {
    const NDArray c = x.to(dtype_of<T>()).contiguous();
    std::vector<std::size_t> shape(c.sizes().begin(), c.sizes().end());
    xt::xarray<T> out = xt::xarray<T>::from_shape(shape);
    std::copy(c.data<T>(), c.data<T>() + c.numel(), out.data());
    return out;
}

}  // namespace xgrad
