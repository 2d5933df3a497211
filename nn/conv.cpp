#include "nn/conv.hpp"

#include <cmath>
#include <string>

#include "autograd/ops.hpp"
#include "nn/init.hpp"
#include "tensor/kernels.hpp"

namespace xgrad::nn {
namespace {

std::string pair_text(Size2 s) { return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")"; }

Window2d window(Size2 kernel, Size2 stride, Size2 padding, Size2 dilation) {
    return {kernel.h, kernel.w, stride.h, stride.w, padding.h, padding.w, dilation.h, dilation.w};
}

// PyTorch's default for convolutions and linear layers: U(+-1/sqrt(fan_in)) for both.
void default_init(const Tensor& weight, const Tensor& bias, Generator* generator) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, init::Nonlinearity::leaky_relu, generator);
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(weight.numel() / weight.size(0)));
        init::uniform_(bias, -bound, bound, generator);
    }
}

}  // namespace

namespace functional {

Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding, Size2 dilation) {
    XGRAD_CHECK(x.dim() == 4, "conv2d: expected input [N, C, H, W], got shape ", x.sizes());
    XGRAD_CHECK(weight.dim() == 4, "conv2d: expected weight [out_channels, in_channels, kh, kw], got shape ",
                weight.sizes());
    XGRAD_CHECK(x.size(1) == weight.size(1), "conv2d: the input ", x.sizes(), " has ", x.size(1),
                " channels but the weight ", weight.sizes(), " expects ", weight.size(1));
    const int64_t out_channels = weight.size(0);
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out_channels), "conv2d: bias of shape ",
                bias.defined() ? bias.sizes() : Shape{}, " does not match ", out_channels, " output channels");
    const Window2d win = window({weight.size(2), weight.size(3)}, stride, padding, dilation);
    const Shape out_hw = kernels::window_output_size(x.sizes(), win, "conv2d");
    // [O, C kh kw] @ [N, C kh kw, out_h out_w]: one product per example.
    Tensor out = matmul(weight.reshape({out_channels, -1}), unfold2d(x, win));
    if (bias.defined()) out = out + bias.view({out_channels, 1});
    return out.view({x.size(0), out_channels, out_hw[0], out_hw[1]});
}

Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
              int64_t dilation) {
    XGRAD_CHECK(x.dim() == 3, "conv1d: expected input [N, C, L], got shape ", x.sizes());
    XGRAD_CHECK(weight.dim() == 3, "conv1d: expected weight [out_channels, in_channels, k], got shape ", weight.sizes());
    XGRAD_CHECK(x.size(1) == weight.size(1), "conv1d: the input ", x.sizes(), " has ", x.size(1),
                " channels but the weight ", weight.sizes(), " expects ", weight.size(1));
    // A 1-D convolution is a 2-D one over a height of 1.
    return conv2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {1, dilation}).squeeze(2);
}

Tensor max_pool2d(const Tensor& x, Size2 kernel_size, Size2 stride, Size2 padding) {
    XGRAD_CHECK(x.dim() == 4, "max_pool2d: expected input [N, C, H, W], got shape ", x.sizes());
    if (stride.h == 0) stride.h = kernel_size.h;
    if (stride.w == 0) stride.w = kernel_size.w;
    return xgrad::max_pool2d(x, window(kernel_size, stride, padding, 1));
}

Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride, int64_t padding) {
    XGRAD_CHECK(x.dim() == 3, "max_pool1d: expected input [N, C, L], got shape ", x.sizes());
    return max_pool2d(x.unsqueeze(2), {1, kernel_size}, {1, stride == 0 ? kernel_size : stride}, {0, padding})
        .squeeze(2);
}

}  // namespace functional

Conv2d::Conv2d(Conv2dOptions o) : options(o) {
    XGRAD_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size.h > 0 && o.kernel_size.w > 0,
                "Conv2d: channels and kernel size must be positive, got in_channels ", o.in_channels,
                ", out_channels ", o.out_channels, ", kernel_size ", pair_text(o.kernel_size));
    weight = register_parameter(
        "weight", empty({o.out_channels, o.in_channels, o.kernel_size.h, o.kernel_size.w}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void Conv2d::reset_parameters(Generator* generator) { default_init(weight, bias, generator); }

Tensor Conv2d::forward(const Tensor& input) {
    return functional::conv2d(input, weight, bias, options.stride, options.padding, options.dilation);
}

std::string Conv2d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + pair_text(options.kernel_size) + ", stride=" + pair_text(options.stride) +
           ", padding=" + pair_text(options.padding) + (options.bias ? "" : ", bias=false");
}

Conv1d::Conv1d(Conv1dOptions o) : options(o) {
    XGRAD_CHECK(o.in_channels > 0 && o.out_channels > 0 && o.kernel_size > 0,
                "Conv1d: channels and kernel size must be positive, got in_channels ", o.in_channels,
                ", out_channels ", o.out_channels, ", kernel_size ", o.kernel_size);
    weight = register_parameter("weight", empty({o.out_channels, o.in_channels, o.kernel_size}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void Conv1d::reset_parameters(Generator* generator) { default_init(weight, bias, generator); }

Tensor Conv1d::forward(const Tensor& input) {
    return functional::conv1d(input, weight, bias, options.stride, options.padding, options.dilation);
}

std::string Conv1d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + std::to_string(options.kernel_size) + ", stride=" + std::to_string(options.stride) +
           ", padding=" + std::to_string(options.padding) + (options.bias ? "" : ", bias=false");
}

Tensor MaxPool2d::forward(const Tensor& input) {
    return functional::max_pool2d(input, options.kernel_size, options.stride, options.padding);
}

std::string MaxPool2d::extra_repr() const {
    const Size2 stride = {options.stride.h == 0 ? options.kernel_size.h : options.stride.h,
                          options.stride.w == 0 ? options.kernel_size.w : options.stride.w};
    return "kernel_size=" + pair_text(options.kernel_size) + ", stride=" + pair_text(stride) +
           ", padding=" + pair_text(options.padding);
}

Tensor MaxPool1d::forward(const Tensor& input) {
    return functional::max_pool1d(input, options.kernel_size, options.stride, options.padding);
}

std::string MaxPool1d::extra_repr() const {
    return "kernel_size=" + std::to_string(options.kernel_size) +
           ", stride=" + std::to_string(options.stride == 0 ? options.kernel_size : options.stride) +
           ", padding=" + std::to_string(options.padding);
}

}  // namespace xgrad::nn
