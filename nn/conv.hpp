#pragma once
/// Convolution and pooling: Conv1d (text: filters sliding over word embeddings, Kim 2014),
/// Conv2d (images), MaxPool1d, MaxPool2d. A convolution is computed as im2col (unfold2d) and one
/// matrix product per example, so its gradient comes from unfold2d's and matmul's by the chain rule.
/// As in PyTorch these are cross-correlations (the kernel is not flipped); groups are not supported.

#include "nn/module.hpp"

namespace xgrad::nn {

/// A size or step per spatial dimension; one number means the same for both (.kernel_size = 3).
struct Size2 {
    int64_t h = 1, w = 1;
    Size2() = default;
    Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose, as in PyTorch
    Size2(int64_t h, int64_t w) : h(h), w(w) {}
};

namespace functional {
/// x [N, C, H, W], weight [O, C, kh, kw], bias [O] or undefined -> [N, O, out_h, out_w].
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), Size2 stride = 1,
              Size2 padding = 0, Size2 dilation = 1);
/// x [N, C, L], weight [O, C, k], bias [O] or undefined -> [N, O, out_L].
Tensor conv1d(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor(), int64_t stride = 1,
              int64_t padding = 0, int64_t dilation = 1);
/// Max over kernel windows of [N, C, H, W]; stride defaults to the kernel size (0 = kernel).
Tensor max_pool2d(const Tensor& x, Size2 kernel_size, Size2 stride = 0, Size2 padding = 0);
/// Max over kernel windows of [N, C, L]; stride defaults to the kernel size (0 = kernel).
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0);
}  // namespace functional

struct Conv2dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    Size2 kernel_size;
    Size2 stride = 1;
    Size2 padding = 0;
    Size2 dilation = 1;
    bool bias = true;
    DType dtype = kFloat32;
};

/// [N, in_channels, H, W] -> [N, out_channels, out_h, out_w]. Initialized as PyTorch does: weight
/// and bias uniform in +-1/sqrt(fan_in), fan_in = in_channels * kh * kw.
class Conv2d : public Module {
public:
    using Options = Conv2dOptions;
    explicit Conv2d(Conv2dOptions options);
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "Conv2d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const Conv2dOptions options;
    Tensor weight;  ///< [out_channels, in_channels, kh, kw]
    Tensor bias;    ///< [out_channels], undefined without bias
};

struct Conv1dOptions {
    int64_t in_channels = 0;
    int64_t out_channels = 0;
    int64_t kernel_size = 1;
    int64_t stride = 1;
    int64_t padding = 0;
    int64_t dilation = 1;
    bool bias = true;
    DType dtype = kFloat32;
};

/// [N, in_channels, L] -> [N, out_channels, out_L]: for text, channels are embedding dimensions
/// and a filter of width k detects a k-gram. Initialized like Conv2d.
class Conv1d : public Module {
public:
    using Options = Conv1dOptions;
    explicit Conv1d(Conv1dOptions options);
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "Conv1d"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const Conv1dOptions options;
    Tensor weight;  ///< [out_channels, in_channels, kernel_size]
    Tensor bias;    ///< [out_channels], undefined without bias
};

struct MaxPool2dOptions {
    Size2 kernel_size;
    Size2 stride = 0;  ///< 0: the kernel size
    Size2 padding = 0;
};

class MaxPool2d : public Module {
public:
    using Options = MaxPool2dOptions;
    explicit MaxPool2d(MaxPool2dOptions options) : options(options) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "MaxPool2d"; }
    std::string extra_repr() const override;
    const MaxPool2dOptions options;
};

struct MaxPool1dOptions {
    int64_t kernel_size = 1;
    int64_t stride = 0;  ///< 0: the kernel size
    int64_t padding = 0;
};

class MaxPool1d : public Module {
public:
    using Options = MaxPool1dOptions;
    explicit MaxPool1d(MaxPool1dOptions options) : options(options) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "MaxPool1d"; }
    std::string extra_repr() const override;
    const MaxPool1dOptions options;
};

}  // namespace xgrad::nn
