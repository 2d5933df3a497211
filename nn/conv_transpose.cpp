#include <xgrad/nn/conv_transpose.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/init.hpp>

namespace xgrad::nn {
namespace {

Tensor zeros_appended(const Tensor& x, int64_t dim, int64_t count) {
    if (count == 0) return x;
    Shape sizes = x.sizes();
    sizes[static_cast<std::size_t>(dim)] = count;
    return cat({x, zeros(sizes, x.dtype())}, dim);
}

// Along one dim: the extent every patch covers, unpadded ((in - 1) stride + dilation (kernel - 1) + 1).
int64_t canvas_size(int64_t in, int64_t kernel, int64_t stride, int64_t dilation, const char* axis,
                    const Shape& input_sizes) {
    constexpr int64_t kLimit = std::numeric_limits<int64_t>::max() / 4;
    XGRAD_CHECK(in <= kLimit / stride && kernel - 1 <= kLimit / dilation, "conv_transpose2d: the ", axis,
                " sizes of input ", input_sizes, " with stride ", stride, ", kernel ", kernel, " and dilation ",
                dilation, " overflow int64");
    return (in - 1) * stride + dilation * (kernel - 1) + 1;
}

// The output along dim: the canvas without `padding` on both sides, plus output_padding at the
// end, which may take in part of the right padding and, past it, rows that only the bias reaches.
Tensor cropped(const Tensor& canvas, int64_t dim, int64_t padding, int64_t output_padding, const char* axis,
               const Shape& input_sizes) {
    const int64_t size = canvas.size(dim) - 2 * padding + output_padding;
    XGRAD_CHECK(size > 0, "conv_transpose2d: the output ", axis, " count of input ", input_sizes, " would be ", size,
                " (padding ", padding, " removes more than the kernel adds)");
    const int64_t kept = std::min(size, canvas.size(dim) - padding);
    return zeros_appended(canvas.narrow(dim, padding, kept), dim, size - kept);
}

}  // namespace

namespace functional {

// Each input position spreads weight-times-value over a kernel-sized patch of the output: the
// patches are the columns of W^T x (one product per example), and fold2d sums them into place,
// dropping what lands in the padding.
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
    XGRAD_CHECK(stride.h > 0 && stride.w > 0 && dilation.h > 0 && dilation.w > 0 && padding.h >= 0 && padding.w >= 0 &&
                    output_padding.h >= 0 && output_padding.w >= 0,
                "conv_transpose2d: stride and dilation must be positive and padding and output_padding "
                "non-negative, got stride ",
                to_string(stride), ", padding ", to_string(padding), ", output_padding ", to_string(output_padding),
                ", dilation ", to_string(dilation));
    XGRAD_CHECK((output_padding.h < stride.h || output_padding.h < dilation.h) &&
                    (output_padding.w < stride.w || output_padding.w < dilation.w),
                "conv_transpose2d: output_padding ", to_string(output_padding),
                " must be smaller than either the stride ", to_string(stride), " or the dilation ",
                to_string(dilation));
    const int64_t N = x.size(0), C = x.size(1), H = x.size(2), W = x.size(3);
    XGRAD_CHECK(groups > 0 && C % groups == 0, "conv_transpose2d: groups ", groups,
                " must be positive and divide the input channels ", C);
    XGRAD_CHECK(weight.size(0) == C, "conv_transpose2d: the input ", x.sizes(), " has ", C, " channels but the weight ",
                weight.sizes(), " expects ", weight.size(0));
    const int64_t kh = weight.size(2), kw = weight.size(3), O = weight.size(1) * groups;
    XGRAD_CHECK(kh > 0 && kw > 0, "conv_transpose2d: the weight ", weight.sizes(), " has an empty kernel");
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == O), "conv_transpose2d: bias of shape ",
                bias.defined() ? bias.sizes() : Shape{}, " does not match ", O, " output channels");
    // Patches are summed onto an unpadded canvas (fold2d without padding has exactly H x W windows
    // on it), then the padding is cropped from both sides.
    const int64_t canvas_h = canvas_size(H, kh, stride.h, dilation.h, "row", x.sizes());
    const int64_t canvas_w = canvas_size(W, kw, stride.w, dilation.w, "column", x.sizes());
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
    out = cropped(out, 2, padding.h, output_padding.h, "row", x.sizes());
    out = cropped(out, 3, padding.w, output_padding.w, "column", x.sizes());
    if (bias.defined()) out = out + bias.view({O, 1, 1});
    return out;
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
    return conv_transpose2d(x.unsqueeze(2), weight.unsqueeze(2), bias, {1, stride}, {0, padding}, {0, output_padding},
                            groups, {1, dilation})
        .squeeze(2);
}

}  // namespace functional

namespace {
void check_options(const char* module, int64_t in_channels, int64_t out_channels, int64_t groups, bool kernel_ok) {
    XGRAD_CHECK(in_channels > 0 && out_channels > 0 && kernel_ok, module,
                ": channels and kernel size must be positive, got in_channels ", in_channels, ", out_channels ",
                out_channels);
    XGRAD_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, module, ": groups ", groups,
                " must be positive and divide in_channels ", in_channels, " and out_channels ", out_channels);
}

// PyTorch's default: U(+-1/sqrt(fan_in)) for weight (kaiming_uniform_ with a = sqrt 5) and bias,
// fan_in taken from the weight's dim 1 and kernel.
void default_init(const Tensor& weight, const Tensor& bias, Generator* generator) {
    init::kaiming_uniform_(weight, std::sqrt(5.0), init::FanMode::fan_in, init::Nonlinearity::leaky_relu, generator);
    if (bias.defined()) {
        const double bound = 1.0 / std::sqrt(static_cast<double>(weight.numel() / weight.size(0)));
        init::uniform_(bias, -bound, bound, generator);
    }
}
}  // namespace

ConvTranspose2d::ConvTranspose2d(ConvTranspose2dOptions o) : options(o) {
    check_options("ConvTranspose2d", o.in_channels, o.out_channels, o.groups,
                  o.kernel_size.h > 0 && o.kernel_size.w > 0);
    weight = register_parameter(
        "weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size.h, o.kernel_size.w}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void ConvTranspose2d::reset_parameters(Generator* generator) {
    default_init(weight, bias, generator);
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
           (options.bias ? "" : ", bias=false");
}

ConvTranspose1d::ConvTranspose1d(ConvTranspose1dOptions o) : options(o) {
    check_options("ConvTranspose1d", o.in_channels, o.out_channels, o.groups, o.kernel_size > 0);
    weight = register_parameter("weight", empty({o.in_channels, o.out_channels / o.groups, o.kernel_size}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_channels}, o.dtype));
    reset_parameters();
}

void ConvTranspose1d::reset_parameters(Generator* generator) {
    default_init(weight, bias, generator);
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
           (options.bias ? "" : ", bias=false");
}

}  // namespace xgrad::nn
