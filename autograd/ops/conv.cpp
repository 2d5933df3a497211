// Sliding-window ops. unfold2d and fold2d are each other's adjoints, so each one's backward is
// the other (and second derivatives come for free); max pooling keeps the positions of its maxima,
// its gradient scatters to them and the scatter's gradient gathers from them, each the other's
// adjoint as unfold and fold are.

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

namespace {

using Positions = std::shared_ptr<const kernels::PoolPositions>;

Tensor max_pool2d_scatter(const Tensor& grad_out, const Positions& at);

// Picks the gradient of the input at the maxima: the adjoint of the scatter below.
Tensor max_pool2d_gather(const Tensor& grad_in, const Positions& at) {
    return make_op("max_pool2d_gather", {grad_in}, kernels::max_pool2d_gather(grad_in.data(), *at),
                   [at](const Tensor& g, const BackwardContext&) -> Grads { return {max_pool2d_scatter(g, at)}; });
}

Tensor max_pool2d_scatter(const Tensor& grad_out, const Positions& at) {
    return make_op("max_pool2d_backward", {grad_out}, kernels::max_pool2d_scatter(grad_out.data(), *at),
                   [at](const Tensor& g, const BackwardContext&) -> Grads { return {max_pool2d_gather(g, at)}; });
}

}  // namespace

Tensor max_pool2d(const Tensor& x, const Window2d& window) {
    kernels::MaxPool2dResult pooled = kernels::max_pool2d(x.data(), window);
    const Positions at = std::move(pooled.positions);
    return make_op("max_pool2d", {x}, std::move(pooled.values),
                   [at](const Tensor& g, const BackwardContext&) -> Grads { return {max_pool2d_scatter(g, at)}; });
}

}  // namespace xgrad
