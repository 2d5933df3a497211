#pragma once
/// Batch normalization (Ioffe & Szegedy 2015) and layer normalization (Ba et al. 2016).

#include <string>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct BatchNormOptions {
    int64_t num_features = 0;
    double eps = 1e-5;
    double momentum = 0.1;  ///< running = (1 - momentum) running + momentum batch
    bool affine = true;     ///< learn a per-channel scale gamma (weight) and shift beta (bias)
    bool track_running_stats = true;
    DType dtype = kFloat32;
};

namespace detail {
/// Training (Algorithm 1): normalize each channel with the mini-batch mean and biased variance,
/// then scale and shift; the running mean and the running *unbiased* variance are updated.
/// Evaluation (Algorithm 2): normalize with the running statistics. Without track_running_stats,
/// batch statistics are used in both modes. Parameters and buffers are named as in PyTorch.
class BatchNormBase : public Module {
public:
    using Options = BatchNormOptions;
    Tensor forward(const Tensor& x) override;
    std::string extra_repr() const override;
    void reset_running_stats();

    const BatchNormOptions options;
    Tensor weight, bias;                                    ///< gamma, beta: [C]
    Tensor running_mean, running_var, num_batches_tracked;  ///< buffers

protected:
    BatchNormBase(BatchNormOptions options, const char* name);
    /// Throws unless x has the dims this layer takes.
    virtual void check_dims(const Tensor& x) const = 0;
    const char* name_;
};
}  // namespace detail

/// For [N, C] or [N, C, L] input: statistics per channel over N (and L).
class BatchNorm1d : public detail::BatchNormBase {
public:
    explicit BatchNorm1d(BatchNormOptions options) : BatchNormBase(options, "BatchNorm1d") {}
    /// LibTorch's positional form: BatchNorm1d(256).
    explicit BatchNorm1d(int64_t num_features) : BatchNorm1d(BatchNormOptions{.num_features = num_features}) {}
    std::string type_name() const override { return "BatchNorm1d"; }

private:
    void check_dims(const Tensor& x) const override;
};

/// For images [N, C, H, W]: statistics per channel over N, H and W (as after a convolution).
class BatchNorm2d : public detail::BatchNormBase {
public:
    explicit BatchNorm2d(BatchNormOptions options) : BatchNormBase(options, "BatchNorm2d") {}
    explicit BatchNorm2d(int64_t num_features) : BatchNorm2d(BatchNormOptions{.num_features = num_features}) {}
    std::string type_name() const override { return "BatchNorm2d"; }

private:
    void check_dims(const Tensor& x) const override;
};

struct GroupNormOptions {
    int64_t num_groups = 0;
    int64_t num_channels = 0;
    double eps = 1e-5;
    bool affine = true;  ///< per-channel weight (ones) and bias (zeros)
    DType dtype = kFloat32;
};

/// Group normalization (Wu & He 2018) of [N, C, ...]: each sample's channels in num_groups groups,
/// each group normalized over its channels and positions. No batch statistics, so it behaves the
/// same in training and evaluation and with a batch of one; num_groups = 1 normalizes each sample
/// over all its features, num_groups = C each channel alone (instance normalization).
class GroupNorm : public Module {
public:
    using Options = GroupNormOptions;
    explicit GroupNorm(GroupNormOptions options);
    /// LibTorch's positional form: GroupNorm(4, 32).
    GroupNorm(int64_t num_groups, int64_t num_channels)
        : GroupNorm(GroupNormOptions{.num_groups = num_groups, .num_channels = num_channels}) {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "GroupNorm"; }
    std::string extra_repr() const override;

    const GroupNormOptions options;
    Tensor weight, bias;
};

struct LayerNormOptions {
    Shape normalized_shape;  ///< the trailing dims to normalize over, e.g. {hidden}
    double eps = 1e-5;
    bool elementwise_affine = true;
    DType dtype = kFloat32;
};

/// Normalizes each sample over its trailing normalized_shape dims (no batch statistics, so train
/// and eval behave the same).
class LayerNorm : public Module {
public:
    using Options = LayerNormOptions;
    explicit LayerNorm(LayerNormOptions options);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "LayerNorm"; }
    const LayerNormOptions options;
    Tensor weight, bias;
};

}  // namespace xgrad::nn
