#include <xgrad/nn/conv.hpp>

#include <string>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/conv_checks.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn {
namespace {

std::string padding_text(Padding2 p) {
    return p.mode == PaddingMode::same ? "'same'" : p.mode == PaddingMode::valid ? "'valid'" : to_string(p);
}
std::string padding_text(Padding1 p) {
    return p.mode == PaddingMode::same ? "'same'" : p.mode == PaddingMode::valid ? "'valid'" : std::to_string(p.size);
}

Window2d window(Size2 kernel, Size2 stride, Size2 padding, Size2 dilation) {
    return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w};
}

}  // namespace

namespace functional {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Padding2 padding, Size2 dilation,
              int64_t groups) {
    XGRAD_CHECK(x.dim() == 4 || x.dim() == 3, "conv2d: expected input [N, C, H, W] or [C, H, W], got shape ",
                x.sizes());
    if (x.dim() == 3) return conv2d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
    XGRAD_CHECK(weight.dim() == 4, "conv2d: expected weight [out_channels, in_channels / groups, kh, kw], got shape ",
                weight.sizes());
    const int64_t N = x.size(0), C = x.size(1), O = weight.size(0);
    XGRAD_CHECK(groups > 0 && C % groups == 0 && O % groups == 0, "conv2d: groups ", groups,
                " must be positive and divide the input channels ", C, " and the output channels ", O);
    XGRAD_CHECK(weight.size(1) * groups == C, "conv2d: the input ", x.sizes(), " has ", C, " channels but the weight ",
                weight.sizes(), " with groups ", groups, " expects ", weight.size(1) * groups);
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == O), "conv2d: bias of shape ",
                bias.defined() ? bias.sizes() : Shape{}, " does not match ", O, " output channels");
    // "same": pad by the larger half on both sides, then drop the first output row (column) when
    // the total is odd, which is PyTorch's smaller left and larger right padding.
    Size2 pad = padding, trim = 0;
    if (padding.mode == PaddingMode::same) {
        XGRAD_CHECK(stride.h == 1 && stride.w == 1, "conv2d: padding 'same' needs stride 1, got stride ",
                    to_string(stride));
        const int64_t total_h = dilation.h * (weight.size(2) - 1), total_w = dilation.w * (weight.size(3) - 1);
        pad = {(total_h + 1) / 2, (total_w + 1) / 2};
        trim = {total_h % 2, total_w % 2};
    } else if (padding.mode == PaddingMode::valid) {
        pad = 0;
    }
    const Window2d win = window({weight.size(2), weight.size(3)}, stride, pad, dilation);
    const Shape out_hw = kernels::window_output_size(x.sizes(), win, "conv2d");
    Tensor out;
    if (groups == 1) {
        out = xgrad::conv2d(x, weight, bias, win);
    } else {
        // The rows of each group are consecutive in the columns [N, C kh kw, P]:
        // [g, O / g, C / g kh kw] x [N, g, C / g kh kw, P].
        const int64_t positions = out_hw[0] * out_hw[1];
        const int64_t patch = (C / groups) * weight.size(2) * weight.size(3);  // explicit: N may be 0
        const Tensor cols = unfold2d(x, win).view({N, groups, patch, positions});
        out = matmul(weight.reshape({groups, O / groups, patch}), cols).reshape({N, O, positions});
        if (bias.defined()) out = out + bias.view({O, 1});
        out = out.view({N, O, out_hw[0], out_hw[1]});
    }
    if (trim.h) out = out.narrow(2, 1, out_hw[0] - 1);
    if (trim.w) out = out.narrow(3, 1, out_hw[1] - 1);
    return out;
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, Padding1 padding,
              int64_t dilation, int64_t groups) {
    XGRAD_CHECK(x.dim() == 3 || x.dim() == 2, "conv1d: expected input [N, C, L] or [C, L], got shape ", x.sizes());
    if (x.dim() == 2) return conv1d(x.unsqueeze(0), weight, bias, stride, padding, dilation, groups).squeeze(0);
    XGRAD_CHECK(weight.dim() == 3, "conv1d: expected weight [out_channels, in_channels / groups, k], got shape ",
                weight.sizes());
    XGRAD_CHECK(groups > 0 && x.size(1) == weight.size(1) * groups, "conv1d: the input ", x.sizes(), " has ", x.size(1),
                " channels but the weight ", weight.sizes(), " with groups ", groups, " expects ",
                weight.size(1) * groups);
    // A 1-D convolution is a 2-D one over a height of 1.
    const Padding2 pad = padding.mode == PaddingMode::sizes ? Padding2(0, padding.size) : Padding2(padding.mode);
    return conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, pad, {1, dilation}, groups).squeeze(2);
}

}  // namespace functional

Conv2d::Conv2d(Conv2dOptions o) : options(o) {
    detail::check_conv_module("Conv2d", o.in_channels, o.out_channels, o.groups,
                              o.kernel_size.h > 0 && o.kernel_size.w > 0, to_string(o.kernel_size));
    weight = register_parameter(
        "weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size.h, o.kernel_size.w}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void Conv2d::reset_parameters(Generator* generator) {
    init::layer_default_(weight, bias, generator);
}

Tensor Conv2d::forward(const Tensor& input) {
    return functional::conv2d(input, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

std::string Conv2d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + to_string(options.kernel_size) + ", stride=" + to_string(options.stride) +
           ", padding=" + padding_text(options.padding) +
           (options.groups != 1 ? ", groups=" + std::to_string(options.groups) : "") +
           (options.bias ? "" : ", bias=false");
}

Conv1d::Conv1d(Conv1dOptions o) : options(o) {
    detail::check_conv_module("Conv1d", o.in_channels, o.out_channels, o.groups, o.kernel_size > 0,
                              std::to_string(o.kernel_size));
    weight = register_parameter("weight", empty({o.out_channels, o.in_channels / o.groups, o.kernel_size}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void Conv1d::reset_parameters(Generator* generator) {
    init::layer_default_(weight, bias, generator);
}

Tensor Conv1d::forward(const Tensor& input) {
    return functional::conv1d(input, weight, bias, options.stride, options.padding, options.dilation, options.groups);
}

std::string Conv1d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + std::to_string(options.kernel_size) + ", stride=" + std::to_string(options.stride) +
           ", padding=" + padding_text(options.padding) +
           (options.groups != 1 ? ", groups=" + std::to_string(options.groups) : "") +
           (options.bias ? "" : ", bias=false");
}

}  // namespace xgrad::nn
