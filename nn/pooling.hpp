#pragma once
/// Pooling with PyTorch's options: max and average pooling over fixed windows (ceil_mode lets the
/// last window overhang the input; count_include_pad decides whether padding counts in an
/// average), and adaptive pooling, which picks the windows for a requested output size
/// (window i of n inputs to m outputs spans [floor(i n / m), ceil((i + 1) n / m))).
///
/// The 2-d forms take [N, C, H, W] or unbatched [C, H, W]; the 1-d forms [N, C, L] or [C, L].
/// Not supported: return_indices, divisor_override, fractional and LP pooling.

#include <string>

#include <xgrad/nn/module.hpp>
#include <xgrad/nn/size2.hpp>

namespace xgrad::nn {

namespace functional {
/// Max over windows; stride 0 means the kernel size. Each window's first maximum takes the gradient.
Tensor max_pool2d(const Tensor& x, Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, Size2 dilation = 1,
                  bool ceil_mode = false);
/// max_pool2d(relu(x), ...) in one pass, the same values and gradients bit for bit (what a
/// Sequential runs for a ReLU followed by a MaxPool2d).
Tensor relu_max_pool2d(const Tensor& x, Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, Size2 dilation = 1,
                       bool ceil_mode = false);
Tensor max_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0, int64_t dilation = 1,
                  bool ceil_mode = false);
/// Mean over windows; with count_include_pad the zero padding counts in the divisor (never the
/// part of a ceil_mode window that hangs past the padding, as in PyTorch).
Tensor avg_pool2d(const Tensor& x, Size2 kernel_size, Size2 stride = 0, Size2 padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
Tensor avg_pool1d(const Tensor& x, int64_t kernel_size, int64_t stride = 0, int64_t padding = 0, bool ceil_mode = false,
                  bool count_include_pad = true);
/// Average pooling to a fixed output size: two products with averaging matrices, exact.
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size);
Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size);
/// Max pooling to a fixed output size.
Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size);
Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size);
}  // namespace functional

struct MaxPool2dOptions {
    Size2 kernel_size;
    Size2 stride = 0;  ///< 0: the kernel size
    Size2 padding = 0;
    Size2 dilation = 1;
    bool ceil_mode = false;
};

class MaxPool2d : public Module {
public:
    using Options = MaxPool2dOptions;
    explicit MaxPool2d(MaxPool2dOptions options) : options(options) {}
    /// LibTorch's positional form: MaxPool2d(2), the stride the kernel size.
    explicit MaxPool2d(int64_t kernel_size) : MaxPool2d(MaxPool2dOptions{.kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "MaxPool2d"; }
    std::string extra_repr() const override;
    const MaxPool2dOptions options;
};

struct MaxPool1dOptions {
    int64_t kernel_size = 1;
    int64_t stride = 0;  ///< 0: the kernel size
    int64_t padding = 0;
    int64_t dilation = 1;
    bool ceil_mode = false;
};

class MaxPool1d : public Module {
public:
    using Options = MaxPool1dOptions;
    explicit MaxPool1d(MaxPool1dOptions options) : options(options) {}
    explicit MaxPool1d(int64_t kernel_size) : MaxPool1d(MaxPool1dOptions{.kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "MaxPool1d"; }
    std::string extra_repr() const override;
    const MaxPool1dOptions options;
};

struct AvgPool2dOptions {
    Size2 kernel_size;
    Size2 stride = 0;  ///< 0: the kernel size
    Size2 padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
};

class AvgPool2d : public Module {
public:
    using Options = AvgPool2dOptions;
    explicit AvgPool2d(AvgPool2dOptions options) : options(options) {}
    explicit AvgPool2d(int64_t kernel_size) : AvgPool2d(AvgPool2dOptions{.kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "AvgPool2d"; }
    std::string extra_repr() const override;
    const AvgPool2dOptions options;
};

struct AvgPool1dOptions {
    int64_t kernel_size = 1;
    int64_t stride = 0;  ///< 0: the kernel size
    int64_t padding = 0;
    bool ceil_mode = false;
    bool count_include_pad = true;
};

class AvgPool1d : public Module {
public:
    using Options = AvgPool1dOptions;
    explicit AvgPool1d(AvgPool1dOptions options) : options(options) {}
    explicit AvgPool1d(int64_t kernel_size) : AvgPool1d(AvgPool1dOptions{.kernel_size = kernel_size}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "AvgPool1d"; }
    std::string extra_repr() const override;
    const AvgPool1dOptions options;
};

struct AdaptivePool2dOptions {
    Size2 output_size;
};
struct AdaptivePool1dOptions {
    int64_t output_size = 1;
};

/// Global average pooling is AdaptiveAvgPool2d({.output_size = 1}).
class AdaptiveAvgPool2d : public Module {
public:
    using Options = AdaptivePool2dOptions;
    explicit AdaptiveAvgPool2d(Options options) : options(options) {}
    Tensor forward(const Tensor& input) override { return functional::adaptive_avg_pool2d(input, options.output_size); }
    std::string type_name() const override { return "AdaptiveAvgPool2d"; }
    std::string extra_repr() const override;
    const Options options;
};

class AdaptiveAvgPool1d : public Module {
public:
    using Options = AdaptivePool1dOptions;
    explicit AdaptiveAvgPool1d(Options options) : options(options) {}
    Tensor forward(const Tensor& input) override { return functional::adaptive_avg_pool1d(input, options.output_size); }
    std::string type_name() const override { return "AdaptiveAvgPool1d"; }
    std::string extra_repr() const override;
    const Options options;
};

class AdaptiveMaxPool2d : public Module {
public:
    using Options = AdaptivePool2dOptions;
    explicit AdaptiveMaxPool2d(Options options) : options(options) {}
    Tensor forward(const Tensor& input) override { return functional::adaptive_max_pool2d(input, options.output_size); }
    std::string type_name() const override { return "AdaptiveMaxPool2d"; }
    std::string extra_repr() const override;
    const Options options;
};

/// Max over time for text CNNs (Kim 2014) is AdaptiveMaxPool1d({.output_size = 1}).
class AdaptiveMaxPool1d : public Module {
public:
    using Options = AdaptivePool1dOptions;
    explicit AdaptiveMaxPool1d(Options options) : options(options) {}
    Tensor forward(const Tensor& input) override { return functional::adaptive_max_pool1d(input, options.output_size); }
    std::string type_name() const override { return "AdaptiveMaxPool1d"; }
    std::string extra_repr() const override;
    const Options options;
};

}  // namespace xgrad::nn
