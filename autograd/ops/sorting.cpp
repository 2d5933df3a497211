// Sorting and selection along a dim. Each picks positions without gradients and then gathers the
// values, so the values' gradient is gather's: it flows back to the positions they came from.

#include <cmath>
#include <limits>

#include <xgrad/autograd/function.hpp>
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

// The median of all elements of a non-empty x (the one median_positions picks), 0-d.
Tensor median_value(const Tensor& x, bool ignore_nan, const char* op) {
    const Tensor flat = x.reshape({-1});
    return gathered(flat, 0, Tensor(kernels::median_positions(flat.data(), 0, ignore_nan, op))).reshape({});
}

// The median of all elements; its gradient is shared evenly by every element equal to it, or by
// every NaN when it is NaN, as in PyTorch.
struct MedianOfAll : autograd::Function<MedianOfAll> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, bool ignore_nan, const char* op) {
        const Tensor values = x.detach();
        const Tensor value = median_value(values, ignore_nan, op);
        const Tensor shares = std::isnan(value.item()) ? isnan(values) : values == value;
        ctx->save_for_backward({shares});
        return value;
    }
    // Differentiable in the incoming gradient, so second derivatives pass through.
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const Tensor shares = ctx->get_saved_variables()[0];
        const double count = shares.sum().item();
        return {where(shares, grads[0] / count, zeros({}, grads[0].dtype()))};
    }
};

Tensor median_of_all(const Tensor& x, bool ignore_nan, const char* op) {
    check_orderable(x, op);
    if (x.numel() == 0) {  // as PyTorch: NaN for floating types, an error for integers
        XGRAD_CHECK(is_floating(x.dtype()), op, ": the median of an empty ", x.dtype(), " tensor (shape ", x.sizes(),
                    ") is undefined");
        return full({}, std::numeric_limits<double>::quiet_NaN(), x.dtype());
    }
    if (!is_floating(x.dtype())) return median_value(x, ignore_nan, op);
    return MedianOfAll::apply(x, ignore_nan, op);
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
