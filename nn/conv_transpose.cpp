#include <xgrad/nn/conv_transpose.hpp>

#include <algorithm>
#include <limits>
#include <string>
#include <vector>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/conv_checks.hpp>
#include <xgrad/nn/init.hpp>

namespace xgrad::nn {
namespace {

Tensor zeros_appended(const Tensor& x, int64_t dim, int64_t count) {
    if (count == 0) return x;
    Shape sizes = x.sizes();
    sizes[static_cast<std::size_t>(dim)] = count;
    return cat({x, zeros(sizes, x.dtype())}, dim);
}

// What errors name: the op the user called, with the shapes and numbers as given (a 1-D call runs
// as a 2-D one over a height of 1, whose shapes and pairs it should not see).
struct Call {
    const char* op;
    Shape input, weight;
    bool one_d;
    std::string text(Size2 v) const { return one_d ? std::to_string(v.w) : to_string(v); }
};

// Along one dim: the extent every patch covers, unpadded ((in - 1) stride + dilation (kernel - 1) + 1).
int64_t canvas_size(const Call& call, int64_t in, int64_t kernel, int64_t stride, int64_t dilation) {
    constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 4;
    XGRAD_CHECK(in <= kLimit / stride && kernel - 1 <= kLimit / dilation, call.op, ": input ", call.input,
                " with stride ", stride, ", kernel ", kernel, " and dilation ", dilation, " overflows int64");
    return (in - 1) * stride + dilation * (kernel - 1) + 1;
}

// The output along dim: the canvas without `padding` on both sides, plus output_padding at the
// end, which may take in part of the right padding and, past it, positions only the bias reaches.
// (With padding beyond the canvas itself nothing of it is kept, only bias positions.)
Tensor cropped(const Call& call, const Tensor& canvas, int64_t dim, int64_t padding, int64_t output_padding,
               const char* axis) {
    const int64_t size = canvas.size(dim) - 2 * padding + output_padding;
    XGRAD_CHECK(size > 0, call.op, ": the output ", axis, " count of input ", call.input, " would be ", size,
                " (padding ", padding, " removes more than the kernel adds)");
    const int64_t start = std::min(padding, canvas.size(dim));
    const int64_t kept = std::max<int64_t>(0, std::min(size, canvas.size(dim) - padding));
    return zeros_appended(canvas.narrow(dim, start, kept), dim, size - kept);
}

// Each input position spreads weight-times-value over a kernel-sized patch of the output: the
// patches are the columns of W^T x (one product per example), and fold2d sums them into place on
// an unpadded canvas (fold2d without padding has exactly H x W windows on it); then the padding
// is cropped from both sides. x [N, C, H, W], weight [C, O / groups, kh, kw].
Tensor transposed_conv(const Call& call, const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride,
                       Size2 padding, Size2 output_padding, int64_t groups, Size2 dilation) {
    constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 4;
    XGRAD_CHECK(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0 && padding.h >= 0 && padding.w >= 0 &&
                    output_padding.h >= 0 && output_padding.w >= 0 && padding.h <= kLimit && padding.w <= kLimit &&
                    output_padding.h <= kLimit && output_padding.w <= kLimit,
                call.op,
                ": stride and dilation must be positive and padding and output_padding non-negative, got stride ",
                call.text(stride), ", padding ", call.text(padding), ", output_padding ", call.text(output_padding),
                ", dilation ", call.text(dilation));
    XGRAD_CHECK((output_padding.h < stride.h || output_padding.h < dilation.h) &&
                    (output_padding.w < stride.w || output_padding.w < dilation.w),
                call.op, ": output_padding ", call.text(output_padding), " must be smaller than either the stride ",
                call.text(stride), " or the dilation ", call.text(dilation));
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    XGRAD_CHECK(groups > 0 && C % groups == 0, call.op, ": groups ", groups,
                " must be positive and divide the input channels ", C);
    XGRAD_CHECK(weight.size(0) == C, call.op, ": the input ", call.input, " has ", C, " channels but the weight ",
                call.weight, " expects ", weight.size(0));
    const int64_t kh = weight.size(2), kw = weight.size(3), O = weight.size(1) * groups;
    XGRAD_CHECK(kh > 0 && kw > 0, call.op, ": the weight ", call.weight, " has an empty kernel");
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == O), call.op, ": bias of shape ",
                bias.defined() ? bias.sizes() : Shape{}, " does not match ", O, " output channels");
    const int64_t canvas_h = canvas_size(call, H, kh, stride.h, dilation.h);
    const int64_t canvas_w = canvas_size(call, W, kw, stride.w, dilation.w);
    const Window2d window{kh, kw, stride.h, stride.w, 0, 0, dilation.h, dilation.w};

    const int64_t c = C / groups, o = O / groups, patch = o * kh * kw;
    std::vector<Tensor> outputs;
    for (int64_t g = 0; g < groups; ++g) {
        // [patch, c] @ [N, c, H W] -> [N, patch, H W]: each column one input position's patch.
        const Tensor w = weight.narrow(0, g * c, c).reshape({c, patch}).t();
        const Tensor in = (groups == 1 ? x : x.narrow(1, g * c, c)).reshape({N, c, H * W});
        outputs.push_back(fold2d(matmul(w, in), {N, o, canvas_h, canvas_w}, window));
    }
    Tensor out = groups == 1 ? outputs[0] : cat(outputs, 1);
    out = cropped(call, out, 2, padding.h, output_padding.h, "row");
    out = cropped(call, out, 3, padding.w, output_padding.w, call.one_d ? "position" : "column");
    if (bias.defined()) out = out + bias.view({O, 1, 1});
    return out;
}

}  // namespace

namespace functional {

Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias, Size2 stride, Size2 padding,
                        Size2 output_padding, int64_t groups, Size2 dilation) {
    XGRAD_CHECK(x.dim() == 4 || x.dim() == 3, "conv_transpose2d: expected input [N, C, H, W] or [C, H, W], got shape ",
                x.sizes());
    if (x.dim() == 3)
        return conv_transpose2d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
            .squeeze(0);
    XGRAD_CHECK(weight.dim() == 4,
                "conv_transpose2d: expected weight [in_channels, out_channels / groups, kh, kw], got shape ",
                weight.sizes());
    const Call call{"conv_transpose2d", x.sizes(), weight.sizes(), false};
    return transposed_conv(call, x, weight, bias, stride, padding, output_padding, groups, dilation);
}

Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias, int64_t stride, int64_t padding,
                        int64_t output_padding, int64_t groups, int64_t dilation) {
    XGRAD_CHECK(x.dim() == 3 || x.dim() == 2, "conv_transpose1d: expected input [N, C, L] or [C, L], got shape ",
                x.sizes());
    if (x.dim() == 2)
        return conv_transpose1d(x.unsqueeze(0), weight, bias, stride, padding, output_padding, groups, dilation)
            .squeeze(0);
    XGRAD_CHECK(weight.dim() == 3,
                "conv_transpose1d: expected weight [in_channels, out_channels / groups, k], got shape ",
                weight.sizes());
    // A 1-D transposed convolution is a 2-D one over a height of 1.
    const Call call{"conv_transpose1d", x.sizes(), weight.sizes(), true};
    return transposed_conv(call, x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding},
                           {0, output_padding}, groups, {1, dilation})
        .squeeze(2);
}

}  // namespace functional

ConvTranspose2d::ConvTranspose2d(ConvTranspose2dOptions o) : options(o) {
    detail::check_conv_module("ConvTranspose2d", o.in_channels, o.out_channels, o.groups,
                              o.kernel_size.h > 0 && o.kernel_size.w > 0, to_string(o.kernel_size));
    weight = register_parameter(
        "weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void ConvTranspose2d::reset_parameters(Generator* generator) {
    init::layer_default_(weight, bias, generator);
}

Tensor ConvTranspose2d::forward(const Tensor& input) {
    return functional::conv_transpose2d(input, weight, bias, options.stride, options.padding, options.output_padding,
                                        options.groups, options.dilation);
}

std::string ConvTranspose2d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + to_string(options.kernel_size) + ", stride=" + to_string(options.stride) +
           ", padding=" + to_string(options.padding) +
           (options.output_padding.h || options.output_padding.w
                ? ", output_padding=" + to_string(options.output_padding)
                : "") +
           (options.groups != 1 ? ", groups=" + std::to_string(options.groups) : "") +
           (options.dilation.h != 1 || options.dilation.w != 1 ? ", dilation=" + to_string(options.dilation) : "") +
           (options.bias ? "" : ", bias=false");
}

ConvTranspose1d::ConvTranspose1d(ConvTranspose1dOptions o) : options(o) {
    detail::check_conv_module("ConvTranspose1d", o.in_channels, o.out_channels, o.groups, o.kernel_size > 0,
                              std::to_string(o.kernel_size));
    weight = register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void ConvTranspose1d::reset_parameters(Generator* generator) {
    init::layer_default_(weight, bias, generator);
}

Tensor ConvTranspose1d::forward(const Tensor& input) {
    return functional::conv_transpose1d(input, weight, bias, options.stride, options.padding, options.output_padding,
                                        options.groups, options.dilation);
}

std::string ConvTranspose1d::extra_repr() const {
    return std::to_string(options.in_channels) + ", " + std::to_string(options.out_channels) +
           ", kernel_size=" + std::to_string(options.kernel_size) + ", stride=" + std::to_string(options.stride) +
           ", padding=" + std::to_string(options.padding) +
           (options.output_padding ? ", output_padding=" + std::to_string(options.output_padding) : "") +
           (options.groups != 1 ? ", groups=" + std::to_string(options.groups) : "") +
           (options.dilation != 1 ? ", dilation=" + std::to_string(options.dilation) : "") +
           (options.bias ? "" : ", bias=false");
}

}  // namespace xgrad::nn
