#pragma once
/// Batch normalization (Ioffe & Szegedy 2015) and layer normalization (Ba et al. 2016).

#include <string>

#include "nn/module.hpp"

namespace xgrad::nn {

struct BatchNormOptions {
    int64_t num_features = 0;
    double eps = 1e-5;
    double momentum = 0.1;  ///< running = (1 - momentum) running + momentum batch
    bool affine = true;     ///< learn a per-channel scale gamma (weight) and shift beta (bias)
    bool track_running_stats = true;
    DType dtype = kFloat32;
};

/// For [N, C] or [N, C, L] input. Training (Algorithm 1): normalize each channel with the
/// mini-batch mean and biased variance, then scale and shift; the running mean and the running
/// *unbiased* variance are updated. Evaluation (Algorithm 2): normalize with the running
/// statistics. Without track_running_stats, batch statistics are used in both modes.
class BatchNorm1d : public Module {
public:
    using Options = BatchNormOptions;
    explicit BatchNorm1d(BatchNormOptions options);
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "BatchNorm1d"; }
    std::string extra_repr() const override;
    void reset_running_stats();

    const BatchNormOptions options;
    Tensor weight, bias;                                       ///< gamma, beta: [C]
    Tensor running_mean, running_var, num_batches_tracked;     ///< buffers
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
