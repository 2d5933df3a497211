#pragma once
/// Activation functions as modules (the functions themselves are in nn/functional.hpp).
///
/// Derivatives, as the lecture gives them: sigmoid' = s (1 - s) <= 1/4 and tanh' = 1 - t^2 <= 1,
/// both near 0 once the unit saturates; stacked, they multiply into a vanishing gradient
/// (examples/vanishing_gradient.cpp). ReLU' is 1 for every active unit, so the product does not
/// shrink with depth.

#include <string>

#include <xgrad/nn/functional.hpp>
#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

class Sigmoid : public Module {
public:
    using Options = NoOptions;
    explicit Sigmoid(Options = {}) {}
    Tensor forward(const Tensor& x) override { return sigmoid(x); }
    std::string type_name() const override { return "Sigmoid"; }
};

class Tanh : public Module {
public:
    using Options = NoOptions;
    explicit Tanh(Options = {}) {}
    Tensor forward(const Tensor& x) override { return tanh(x); }
    std::string type_name() const override { return "Tanh"; }
};

class ReLU : public Module {
public:
    using Options = NoOptions;
    explicit ReLU(Options = {}) {}
    Tensor forward(const Tensor& x) override { return relu(x); }
    std::string type_name() const override { return "ReLU"; }
};

struct LeakyReLUOptions {
    double negative_slope = 0.01;
};
class LeakyReLU : public Module {
public:
    using Options = LeakyReLUOptions;
    explicit LeakyReLU(LeakyReLUOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return F::leaky_relu(x, options.negative_slope); }
    std::string type_name() const override { return "LeakyReLU"; }
    std::string extra_repr() const override { return "negative_slope=" + std::to_string(options.negative_slope); }
    const LeakyReLUOptions options;
};

struct PReLUOptions {
    int64_t num_parameters = 1;  ///< 1: one slope shared by all channels; C: one per channel (dim 1)
    double init = 0.25;
    DType dtype = kFloat32;
};
/// Leaky ReLU whose slope is learned (He et al. 2015).
class PReLU : public Module {
public:
    using Options = PReLUOptions;
    explicit PReLU(PReLUOptions options = {});
    Tensor forward(const Tensor& x) override { return F::prelu(x, weight); }
    std::string type_name() const override { return "PReLU"; }
    std::string extra_repr() const override { return "num_parameters=" + std::to_string(options.num_parameters); }
    const PReLUOptions options;
    Tensor weight;  ///< [num_parameters]
};

struct ELUOptions {
    double alpha = 1.0;
};
class ELU : public Module {
public:
    using Options = ELUOptions;
    explicit ELU(ELUOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return F::elu(x, options.alpha); }
    std::string type_name() const override { return "ELU"; }
    std::string extra_repr() const override { return "alpha=" + std::to_string(options.alpha); }
    const ELUOptions options;
};

struct GELUOptions {
    bool approximate = false;  ///< the tanh approximation instead of the exact erf form
};
class GELU : public Module {
public:
    using Options = GELUOptions;
    explicit GELU(GELUOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return F::gelu(x, options.approximate); }
    std::string type_name() const override { return "GELU"; }
    const GELUOptions options;
};

struct SoftplusOptions {
    double beta = 1.0;
    double threshold = 20.0;  ///< above beta x = threshold the output is x itself
};
class Softplus : public Module {
public:
    using Options = SoftplusOptions;
    explicit Softplus(SoftplusOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return F::softplus(x, options.beta, options.threshold); }
    std::string type_name() const override { return "Softplus"; }
    std::string extra_repr() const override {
        return "beta=" + std::to_string(options.beta) + ", threshold=" + std::to_string(options.threshold);
    }
    const SoftplusOptions options;
};

struct HardtanhOptions {
    double min_val = -1.0;
    double max_val = 1.0;
};
class Hardtanh : public Module {
public:
    using Options = HardtanhOptions;
    explicit Hardtanh(HardtanhOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return F::hardtanh(x, options.min_val, options.max_val); }
    std::string type_name() const override { return "Hardtanh"; }
    std::string extra_repr() const override {
        return "min_val=" + std::to_string(options.min_val) + ", max_val=" + std::to_string(options.max_val);
    }
    const HardtanhOptions options;
};

/// x sigmoid(x), also called swish.
class SiLU : public Module {
public:
    using Options = NoOptions;
    explicit SiLU(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::silu(x); }
    std::string type_name() const override { return "SiLU"; }
};

/// x tanh(softplus(x)).
class Mish : public Module {
public:
    using Options = NoOptions;
    explicit Mish(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::mish(x); }
    std::string type_name() const override { return "Mish"; }
};

/// min(max(x, 0), 6).
class ReLU6 : public Module {
public:
    using Options = NoOptions;
    explicit ReLU6(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::relu6(x); }
    std::string type_name() const override { return "ReLU6"; }
};

/// x / (1 + |x|).
class Softsign : public Module {
public:
    using Options = NoOptions;
    explicit Softsign(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::softsign(x); }
    std::string type_name() const override { return "Softsign"; }
};

/// log sigmoid(x), stable for large |x|.
class LogSigmoid : public Module {
public:
    using Options = NoOptions;
    explicit LogSigmoid(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::logsigmoid(x); }
    std::string type_name() const override { return "LogSigmoid"; }
};

/// The piecewise-linear sigmoid.
class Hardsigmoid : public Module {
public:
    using Options = NoOptions;
    explicit Hardsigmoid(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::hardsigmoid(x); }
    std::string type_name() const override { return "Hardsigmoid"; }
};

/// x hardsigmoid(x).
class Hardswish : public Module {
public:
    using Options = NoOptions;
    explicit Hardswish(Options = {}) {}
    Tensor forward(const Tensor& x) override { return F::hardswish(x); }
    std::string type_name() const override { return "Hardswish"; }
};

struct SoftmaxOptions {
    int64_t dim = -1;
};
class Softmax : public Module {
public:
    using Options = SoftmaxOptions;
    explicit Softmax(SoftmaxOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return softmax(x, options.dim); }
    std::string type_name() const override { return "Softmax"; }
    std::string extra_repr() const override { return "dim=" + std::to_string(options.dim); }
    const SoftmaxOptions options;
};

class LogSoftmax : public Module {
public:
    using Options = SoftmaxOptions;
    explicit LogSoftmax(SoftmaxOptions options = {}) : options(options) {}
    Tensor forward(const Tensor& x) override { return log_softmax(x, options.dim); }
    std::string type_name() const override { return "LogSoftmax"; }
    std::string extra_repr() const override { return "dim=" + std::to_string(options.dim); }
    const SoftmaxOptions options;
};

}  // namespace xgrad::nn
