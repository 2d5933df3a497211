// Sliding-window ops. unfold2d and fold2d are each other's adjoints, so each one's backward is
// the other (and second derivatives come for free); max pooling keeps the positions of its maxima,
// its gradient scatters to them and the scatter's gradient gathers from them, each the other's
// adjoint as unfold and fold are.

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {

Tensor unfold2d(const Tensor& x, const Window2d& window) {
    NDArray result = kernels::unfold2d(x.data(), window);
    return make_op("unfold2d", {x}, result, [window](const Tensor& g, const BackwardContext& c) -> Grads {
        return {fold2d(g, c.input_sizes(0), window)};
    });
}

Tensor fold2d(const Tensor& cols, const Shape& input_sizes, const Window2d& window) {
    NDArray result = kernels::fold2d(cols.data(), input_sizes, window);
    return make_op("fold2d", {cols}, result,
                   [window](const Tensor& g, const BackwardContext&) -> Grads { return {unfold2d(g, window)}; });
}

namespace {
// The im2col form: [O, C kh kw] @ [N, C kh kw, out_h out_w], one product per example; its
// gradients follow from unfold2d's and matmul's.
Tensor im2col_conv2d(const Tensor& x, const Tensor& w, const Tensor& b, const Window2d& window) {
    const int64_t O = w.size(0), patch = w.size(1) * w.size(2) * w.size(3);  // explicit: O or N may be 0
    const Shape out_hw = kernels::window_output_size(x.sizes(), window, "conv2d");
    Tensor out = matmul(w.reshape({O, patch}), unfold2d(x, window));
    if (b.defined()) out = out + b.view({O, 1});
    return out.view({x.size(0), O, out_hw[0], out_hw[1]});
}

// The same gradients written with differentiable ops, for backward passes that record a graph.
Grads im2col_conv2d_backward(const Tensor& g, const Tensor& x, const Tensor& w, const Window2d& window,
                             const BackwardContext& c) {
    const int64_t N = x.size(0), O = w.size(0), patch = w.size(1) * w.size(2) * w.size(3);
    const Tensor g3 = g.reshape({N, O, g.size(2) * g.size(3)});  // [N, O, P]
    Tensor gx, gw, gb;
    if (c.needs(0)) gx = fold2d(matmul(w.reshape({O, patch}).t(), g3), x.sizes(), window);
    if (c.needs(1)) gw = sum(matmul(g3, unfold2d(x, window).transpose(1, 2)), {0}).reshape(w.sizes());
    if (c.needs(2)) gb = sum(g, {0, 2, 3});
    return {gx, gw, gb};
}
}  // namespace

// One node through oneDNN for float32 when xgrad has it (kernels/conv_onednn.cpp), else the
// im2col form. Under create_graph the backward is the im2col form's, so second derivatives work.
// Empty batches and empty filters take the im2col form too: oneDNN's slices would divide by them.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window2d& window) {
    XGRAD_CHECK(x.dim() == 4 && weight.dim() == 4,
                "conv2d: expected input [N, C, H, W] and weight [O, C, kh, kw], got ", x.sizes(), " and ",
                weight.sizes());
    XGRAD_CHECK(weight.size(1) == x.size(1), "conv2d: the input ", x.sizes(), " has ", x.size(1),
                " channels but the weight ", weight.sizes(), " expects ", weight.size(1));
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == weight.size(0)), "conv2d: bias of shape ",
                bias.defined() ? bias.sizes() : Shape{}, " does not match the weight ", weight.sizes());
    const bool onednn = kernels::convolution_backend() == kernels::ConvolutionBackend::onednn && x.numel() > 0 &&
                        weight.numel() > 0 && x.dtype() == kFloat32 && weight.dtype() == kFloat32 &&
                        (!bias.defined() || bias.dtype() == kFloat32);
    if (!onednn) return im2col_conv2d(x, weight, bias, window);
    NDArray out = kernels::onednn_conv2d(x.data(), weight.data(), bias.defined() ? bias.data() : NDArray(), window);
    return make_op("conv2d", {x, weight, bias}, std::move(out),
                   [window](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor &x = c.inputs[0], &w = c.inputs[1];
                       if (GradMode::is_enabled()) return im2col_conv2d_backward(g, x, w, window, c);
                       kernels::Conv2dGrads grads = kernels::onednn_conv2d_backward(
                           g.data(), x.data(), w.data(), window, c.needs(0), c.needs(1), c.needs(2));
                       auto wrap = [](NDArray a) { return a.defined() ? Tensor(std::move(a)) : Tensor(); };
                       return {wrap(grads.input), wrap(grads.weight), wrap(grads.bias)};
                   },
                   {.saves = Saves::inputs});
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

namespace {
Tensor pool_op(const char* name, const Tensor& x, const Window2d& window, bool relu) {
    kernels::MaxPool2dResult pooled = kernels::max_pool2d(x.data(), window, relu);
    const Positions at = std::move(pooled.positions);
    return make_op(name, {x}, std::move(pooled.values),
                   [at](const Tensor& g, const BackwardContext&) -> Grads { return {max_pool2d_scatter(g, at)}; });
}
}  // namespace

Tensor max_pool2d(const Tensor& x, const Window2d& window) {
    return pool_op("max_pool2d", x, window, false);
}

// The gradient flows to a window's maximum when it is positive, as relu's would: the others'
// positions are marked (kernels::PoolPositions), and the scatter and the gather skip them.
Tensor relu_max_pool2d(const Tensor& x, const Window2d& window) {
    return pool_op("relu_max_pool2d", x, window, true);
}

}  // namespace xgrad
