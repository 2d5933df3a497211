#pragma once
/// Transposed convolutions (ConvTranspose2d, ConvTranspose1d): the adjoint of a convolution with
/// the same window, which maps each input position to a kernel-sized patch of the output and sums
/// where patches overlap. With stride 2 they double a feature map's size, as a U-Net's decoder
/// does for biomedical image segmentation. Computed as one matrix product per example and fold2d
/// (col2im), so the gradient follows by the chain rule from those two.
///
/// Output size per spatial dim, as in PyTorch:
///     (in - 1) stride - 2 padding + dilation (kernel - 1) + output_padding + 1

#include <xgrad/nn/module.hpp>
#include <xgrad/nn/size2.hpp>

namespace xgrad::nn {

namespace functional {
/// x [N, C, H, W] (or [C, H, W]), weight [C, O / groups, kh, kw], bias [O] or undefined ->
/// [N, O, out_h, out_w]. output_padding (smaller than the stride or the dilation) adds rows and
/// columns at the bottom and right, which only the bias reaches.
Tensor conv_transpose2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
                        Size2 padding = 0, Size2 output_padding = 0, int64_t groups = 1, Size2 dilation = 1);
/// x [N, C, L] (or [C, L]), weight [C, O / groups, k] -> [N, O, out_L].
Tensor conv_transpose1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
                        int64_t padding = 0, int64_t output_padding = 0, int64_t groups = 1, int64_t dilation = 1);
}  // namespace functional

struct ConvTranspose2dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    Size2 kernel_size;
    Size2 stride = 1;
    Size2 padding = 0;
    Size2 output_padding = 0;
    int64_t groups = 1;
    bool bias = true;
    Size2 dilation = 1;
    DType dtype = kFloat32;
};

/// [N, in_channels, H, W] -> [N, out_channels, out_h, out_w]. Initialized as PyTorch does: weight
/// and bias uniform in +-1/sqrt(fan_in), fan_in = out_channels / groups * kh * kw (the weight's
/// dim 1, as PyTorch computes it for transposed convolutions too).
class ConvTranspose2d : public Module {
public:
    using Options = ConvTranspose2dOptions;
    explicit ConvTranspose2d(ConvTranspose2dOptions options);
    /// LibTorch's positional form: ConvTranspose2d(64, 32, 2).
    ConvTranspose2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
        : ConvTranspose2d(ConvTranspose2dOptions{
              .in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "ConvTranspose2d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const ConvTranspose2dOptions options;
    Tensor weight;  ///< [in_channels, out_channels / groups, kh, kw]
    Tensor bias;    ///< [out_channels], undefined without bias
};

struct ConvTranspose1dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    int64_t kernel_size = 1;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t output_padding = 0;
    int64_t groups = 1;
    bool bias = true;
    int64_t dilation = 1;
    DType dtype = kFloat32;
};

/// [N, in_channels, L] -> [N, out_channels, out_L]; initialized like ConvTranspose2d.
class ConvTranspose1d : public Module {
public:
    using Options = ConvTranspose1dOptions;
    explicit ConvTranspose1d(ConvTranspose1dOptions options);
    ConvTranspose1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
        : ConvTranspose1d(ConvTranspose1dOptions{
              .in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "ConvTranspose1d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const ConvTranspose1dOptions options;
    Tensor weight;  ///< [in_channels, out_channels / groups, kernel_size]
    Tensor bias;    ///< [out_channels], undefined without bias
};

}  // namespace xgrad::nn
