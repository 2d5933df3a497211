// Sorting and selection along a dim. Each picks positions without gradients and then gathers the
// values, so the values' gradient is gather's: it flows back to the positions they came from.

#include <cmath>
#include <limits>

#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {
// Values of x at the positions along dim (a 0-d x is treated as one element).
Tensor gathered(const Tensor& x, int64_t dim, const Tensor& positions) {
    if (x.dim() == 0) return gather(x.reshape({1}), 0, positions.reshape({1})).reshape({});
    return gather(x, dim, positions);
}
}  // namespace

std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim, bool descending) {
    Tensor positions(kernels::argsort(x.data(), dim, descending));
    return {gathered(x, dim, positions), positions};
}

Tensor argsort(const Tensor& x, int64_t dim, bool descending) {
    return Tensor(kernels::argsort(x.data(), dim, descending));
}

std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim, bool largest) {
    Tensor positions(kernels::topk_indices(x.data(), k, dim, largest));
    return {gathered(x, dim, positions), positions};
}

namespace {
void check_orderable(const Tensor& x, const char* op) {
    XGRAD_CHECK(x.dtype() != kBool, op, ": not supported for bool tensors (shape ", x.sizes(), ")");
}

// The values at one position per lane (positions keep dim with size 1) and those positions, the
// dim dropped unless keepdim.
std::tuple<Tensor, Tensor> picked(const Tensor& x, int64_t dim, const Tensor& positions, bool keepdim) {
    if (x.dim() == 0) return {gathered(x, 0, positions.reshape({})), positions.reshape({})};
    Tensor values = gather(x, dim, positions);
    if (keepdim) return {values, positions};
    return {values.squeeze(dim), positions.squeeze(dim)};
}

// The median of all elements: the one median_positions picks, the gradient shared by every element
// equal to it (amax over them shares it evenly), or sent to the first NaN.
Tensor median_of_all(const Tensor& x, bool ignore_nan, const char* op) {
    XGRAD_CHECK(x.numel() > 0, op, ": the median of an empty tensor (shape ", x.sizes(), ") is undefined");
    check_orderable(x, op);
    const Tensor flat = x.reshape({-1});
    const Tensor position(kernels::median_positions(flat.data(), 0, ignore_nan, op));
    const Tensor value = gathered(flat, 0, position).reshape({});
    if (!is_floating(x.dtype()) || std::isnan(value.item())) return value;
    const Tensor ties = flat.detach() == value.detach();
    return amax(where(ties, flat, full_like(flat, -std::numeric_limits<double>::infinity())), {0});
}
}  // namespace

std::tuple<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim, bool keepdim) {
    check_orderable(x, "kthvalue");
    return picked(x, dim, Tensor(kernels::kth_positions(x.data(), k, dim, "kthvalue")), keepdim);
}

Tensor median(const Tensor& x) {
    return median_of_all(x, false, "median");
}

std::tuple<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim) {
    check_orderable(x, "median");
    return picked(x, dim, Tensor(kernels::median_positions(x.data(), dim, false, "median")), keepdim);
}

Tensor nanmedian(const Tensor& x) {
    return median_of_all(x, true, "nanmedian");
}

std::tuple<Tensor, Tensor> nanmedian(const Tensor& x, int64_t dim, bool keepdim) {
    check_orderable(x, "nanmedian");
    return picked(x, dim, Tensor(kernels::median_positions(x.data(), dim, true, "nanmedian")), keepdim);
}

std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x) {
    kernels::Unique u = kernels::unique(x.data());
    return {Tensor(u.values), Tensor(u.inverse), Tensor(u.counts)};
}

}  // namespace xgrad
