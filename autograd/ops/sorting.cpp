// Sorting and selection along a dim. Each picks positions without gradients and then gathers the
// values, so the values' gradient is gather's: it flows back to the positions they came from.

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

}  // namespace xgrad
