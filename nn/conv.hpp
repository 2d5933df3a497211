#pragma once
/// Convolutions: Conv1d (text: filters sliding over word embeddings, Kim 2014) and Conv2d
/// (images). A convolution is computed as im2col (unfold2d) and one matrix product per example, so
/// its gradient comes from unfold2d's and matmul's by the chain rule. As in PyTorch these are
/// cross-correlations (the kernel is not flipped). Pooling is in nn/pooling.hpp.
///
/// groups splits the channels into groups convolved separately (groups = in_channels: a depthwise
/// convolution); padding = nn::kSame pads so that the output keeps the input's size (stride 1; an
/// odd total goes to the right and bottom, as in PyTorch), nn::kValid means no padding.

#include <xgrad/nn/module.hpp>
#include <xgrad/nn/size2.hpp>

namespace xgrad::nn {

enum class PaddingMode { sizes, same, valid };
inline constexpr PaddingMode kSame = PaddingMode::same;
inline constexpr PaddingMode kValid = PaddingMode::valid;

/// Explicit padding per side for each spatial dim, or "same" / "valid".
struct Padding2 : Size2 {
    PaddingMode mode = PaddingMode::sizes;
    Padding2(int64_t both = 0) : Size2(both) {}  // NOLINT: implicit on purpose, as in PyTorch
    Padding2(int64_t h, int64_t w) : Size2(h, w) {}
    Padding2(Size2 sizes) : Size2(sizes) {}               // NOLINT
    Padding2(PaddingMode mode) : Size2(0), mode(mode) {}  // NOLINT
};

/// Explicit padding per side, or "same" / "valid", for 1-d convolutions.
struct Padding1 {
    int64_t size = 0;
    PaddingMode mode = PaddingMode::sizes;
    Padding1(int64_t size = 0) : size(size) {}  // NOLINT: implicit on purpose
    Padding1(PaddingMode mode) : mode(mode) {}  // NOLINT
};

namespace functional {
/// x [N, C, H, W] (or [C, H, W]), weight [O, C / groups, kh, kw], bias [O] or undefined ->
/// [N, O, out_h, out_w].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Padding2 padding = 0, Size2 dilation = 1, int64_t groups = 1);
/// x [N, C, L] (or [C, L]), weight [O, C / groups, k], bias [O] or undefined -> [N, O, out_L].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              Padding1 padding = 0, int64_t dilation = 1, int64_t groups = 1);
}  // namespace functional

struct Conv2dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    Size2 kernel_size;
    Size2 stride = 1;
    Padding2 padding = 0;
    Size2 dilation = 1;
    int64_t groups = 1;
    bool bias = true;
    DType dtype = kFloat32;
};

/// [N, in_channels, H, W] -> [N, out_channels, out_h, out_w]. Initialized as PyTorch does: weight
/// and bias uniform in +-1/sqrt(fan_in), fan_in = in_channels / groups * kh * kw.
class Conv2d : public Module {
public:
    using Options = Conv2dOptions;
    explicit Conv2d(Conv2dOptions options);
    /// LibTorch's positional form: Conv2d(1, 32, 3).
    Conv2d(int64_t in_channels, int64_t out_channels, Size2 kernel_size)
        : Conv2d(Conv2dOptions{.in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "Conv2d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const Conv2dOptions options;
    Tensor weight;  ///< [out_channels, in_channels / groups, kh, kw]
    Tensor bias;    ///< [out_channels], undefined without bias
};

struct Conv1dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    int64_t kernel_size = 1;
    int64_t stride = 1;
    Padding1 padding = 0;
    int64_t dilation = 1;
    int64_t groups = 1;
    bool bias = true;
    DType dtype = kFloat32;
};

/// [N, in_channels, L] -> [N, out_channels, out_L]: for text, channels are embedding dimensions
/// and a filter of width k detects a k-gram. Initialized like Conv2d.
class Conv1d : public Module {
public:
    using Options = Conv1dOptions;
    explicit Conv1d(Conv1dOptions options);
    /// LibTorch's positional form: Conv1d(300, 100, 3).
    Conv1d(int64_t in_channels, int64_t out_channels, int64_t kernel_size)
        : Conv1d(Conv1dOptions{.in_channels = in_channels, .out_channels = out_channels, .kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "Conv1d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const Conv1dOptions options;
    Tensor weight;  ///< [out_channels, in_channels / groups, kernel_size]
    Tensor bias;    ///< [out_channels], undefined without bias
};

}  // namespace xgrad::nn
