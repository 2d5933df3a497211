#pragma once
/// Linear, Flatten and Identity.

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct LinearOptions {
    int64_t in_features = 0;
    int64_t out_features = 0;
    bool bias = true;
    DType dtype = kFloat32;
};

/// y = x W^T + b: [*, in_features] -> [*, out_features], one GEMM with the bias folded in.
/// Initialized as PyTorch does: W and b uniform in +-1/sqrt(in_features) (kaiming_uniform_ with
/// a = sqrt(5)); re-initialize with nn::init (e.g. kaiming_normal_ for ReLU networks).
class Linear : public Module {
public:
    using Options = LinearOptions;
    explicit Linear(LinearOptions options);
    /// LibTorch's positional form: Linear(784, 10).
    Linear(int64_t in_features, int64_t out_features)
        : Linear(LinearOptions{.in_features = in_features, .out_features = out_features}) {}
    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "Linear"; }
    std::string extra_repr() const override;
    /// Re-draws W and b with PyTorch's default initialization.
    void reset_parameters(Generator* generator = nullptr);

    const LinearOptions options;
    Tensor weight;  ///< [out_features, in_features]
    Tensor bias;    ///< [out_features], undefined without bias
};

struct FlattenOptions {
    int64_t start_dim = 1;
    int64_t end_dim = -1;
};

/// Flattens dims start_dim..end_dim into one: [N, 1, 28, 28] -> [N, 784] by default.
class Flatten : public Module {
public:
    using Options = FlattenOptions;
    explicit Flatten(FlattenOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& input) override { return input.flatten(options.start_dim, options.end_dim); }
    std::string type_name() const override { return "Flatten"; }
    std::string extra_repr() const override;
    const FlattenOptions options;
};

/// Returns its input.
class Identity : public Module {
public:
    using Options = NoOptions;
    explicit Identity(Options = {}) {}
    Tensor forward(const Tensor& input) override { return input; }
    std::string type_name() const override { return "Identity"; }
};

}  // namespace xgrad::nn
