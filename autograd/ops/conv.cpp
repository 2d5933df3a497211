// Sliding-window ops. unfold2d and fold2d are each other's adjoints, so each one's backward is
// the other (and second derivatives come for free); max pooling is a gather at the windows'
// arg-max positions, so its gradient is gather's.

#include "autograd/node.hpp"
#include "autograd/ops.hpp"
#include "tensor/kernels.hpp"

namespace xgrad {

Tensor unfold2d(const Tensor& x, const Window2d& window) {
    NDArray result = kernels::unfold2d(x.data(), window);
    return make_op("unfold2d", {x}, result, [window](const Tensor& g, const BackwardContext& c) -> Grads {
        return {fold2d(g, c.input_sizes(0), window)};
    });
}

Tensor fold2d(const Tensor& cols, const Shape& input_sizes, const Window2d& window) {
    NDArray result = kernels::fold2d(cols.data(), input_sizes, window);
    return make_op("fold2d", {cols}, result, [window](const Tensor& g, const BackwardContext&) -> Grads {
        return {unfold2d(g, window)};
    });
}

Tensor max_pool2d(const Tensor& x, const Window2d& window) {
    const Tensor indices(kernels::max_pool2d_indices(x.data(), window));
    const int64_t n = x.size(0), c = x.size(1);
    const Tensor picked = gather(x.reshape({n, c, x.size(2) * x.size(3)}), 2, indices.view({n, c, -1}));
    return picked.view(indices.sizes());
}

}  // namespace xgrad
