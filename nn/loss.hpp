#pragma once
/// Losses as modules (call them as loss(input, target)); the functions are in nn/functional.hpp.

#include <string>

#include <xgrad/nn/functional.hpp>
#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

/// The shared shape of a loss module: reduction plus a call with (input, target).
class Loss : public Module {
public:
    virtual Tensor operator()(const Tensor& input, const Tensor& target) = 0;
    using Module::operator();
};

struct LossOptions {
    F::Reduction reduction = F::Reduction::mean;
};

class MSELoss : public Loss {
public:
    using Options = LossOptions;
    explicit MSELoss(LossOptions o = {}) : options(o) {}
    Tensor operator()(const Tensor& input, const Tensor& target) override {
        return F::mse_loss(input, target, options.reduction);
    }
    std::string type_name() const override { return "MSELoss"; }
    const LossOptions options;
};

class L1Loss : public Loss {
public:
    using Options = LossOptions;
    explicit L1Loss(LossOptions o = {}) : options(o) {}
    Tensor operator()(const Tensor& input, const Tensor& target) override {
        return F::l1_loss(input, target, options.reduction);
    }
    std::string type_name() const override { return "L1Loss"; }
    const LossOptions options;
};

struct SmoothL1LossOptions {
    F::Reduction reduction = F::Reduction::mean;
    double beta = 1.0;
};
class SmoothL1Loss : public Loss {
public:
    using Options = SmoothL1LossOptions;
    explicit SmoothL1Loss(SmoothL1LossOptions o = {}) : options(o) {}
    Tensor operator()(const Tensor& input, const Tensor& target) override {
        return F::smooth_l1_loss(input, target, options.reduction, options.beta);
    }
    std::string type_name() const override { return "SmoothL1Loss"; }
    const SmoothL1LossOptions options;
};

struct HuberLossOptions {
    F::Reduction reduction = F::Reduction::mean;
    double delta = 1.0;
};
class HuberLoss : public Loss {
public:
    using Options = HuberLossOptions;
    explicit HuberLoss(HuberLossOptions o = {}) : options(o) {}
    Tensor operator()(const Tensor& input, const Tensor& target) override {
        return F::huber_loss(input, target, options.reduction, options.delta);
    }
    std::string type_name() const override { return "HuberLoss"; }
    const HuberLossOptions options;
};

/// KL divergence of log-probabilities (input) from a target distribution; see F::kl_div.
class KLDivLoss : public Loss {
public:
    using Options = F::KLDivOptions;
    explicit KLDivLoss(F::KLDivOptions o = {}) : options(o) {}
    Tensor operator()(const Tensor& input, const Tensor& target) override { return F::kl_div(input, target, options); }
    std::string type_name() const override { return "KLDivLoss"; }
    const F::KLDivOptions options;
};

class NLLLoss : public Loss {
public:
    using Options = F::NLLOptions;
    explicit NLLLoss(F::NLLOptions o = {}) : options(std::move(o)) {}
    Tensor operator()(const Tensor& log_probs, const Tensor& target) override {
        return F::nll_loss(log_probs, target, options);
    }
    std::string type_name() const override { return "NLLLoss"; }
    const F::NLLOptions options;
};

class CrossEntropyLoss : public Loss {
public:
    using Options = F::CrossEntropyOptions;
    explicit CrossEntropyLoss(F::CrossEntropyOptions o = {}) : options(std::move(o)) {}
    Tensor operator()(const Tensor& logits, const Tensor& target) override {
        return F::cross_entropy(logits, target, options);
    }
    std::string type_name() const override { return "CrossEntropyLoss"; }
    const F::CrossEntropyOptions options;
};

struct BCELossOptions {
    Tensor weight;
    F::Reduction reduction = F::Reduction::mean;
};
class BCELoss : public Loss {
public:
    using Options = BCELossOptions;
    explicit BCELoss(BCELossOptions o = {}) : options(std::move(o)) {}
    Tensor operator()(const Tensor& probs, const Tensor& target) override {
        return F::binary_cross_entropy(probs, target, options.weight, options.reduction);
    }
    std::string type_name() const override { return "BCELoss"; }
    const BCELossOptions options;
};

struct BCEWithLogitsLossOptions {
    Tensor weight;
    Tensor pos_weight;
    F::Reduction reduction = F::Reduction::mean;
};
class BCEWithLogitsLoss : public Loss {
public:
    using Options = BCEWithLogitsLossOptions;
    explicit BCEWithLogitsLoss(BCEWithLogitsLossOptions o = {}) : options(std::move(o)) {}
    Tensor operator()(const Tensor& logits, const Tensor& target) override {
        return F::binary_cross_entropy_with_logits(logits, target, options.weight, options.pos_weight,
                                                   options.reduction);
    }
    std::string type_name() const override { return "BCEWithLogitsLoss"; }
    const BCEWithLogitsLossOptions options;
};

}  // namespace xgrad::nn
