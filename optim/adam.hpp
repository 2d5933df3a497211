#pragma once
/// Adam (Kingma & Ba 2015) and AdamW (Loshchilov & Hutter 2019).
///   m <- b1 m + (1 - b1) g;   v <- b2 v + (1 - b2) g^2
///   theta <- theta - lr / (1 - b1^t) * m / (sqrt(v / (1 - b2^t)) + eps)
/// amsgrad: use the running maximum of v (Reddi et al. 2018).
/// Adam's weight_decay is coupled (added to g, i.e. an L2 penalty that the adaptive scaling then
/// distorts); AdamW decays the weights directly, theta <- theta (1 - lr weight_decay), outside the
/// adaptive step.

#include <utility>

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

namespace detail {
/// Adam's and AdamW's options: the same fields, with each optimizer's own name (in its error
/// messages) and default weight decay. Two types rather than one, so that AdamW's braced
/// options, `optim::AdamW opt(params, {.lr = 1e-3})`, keep PyTorch's default decay of 1e-2.
template <class Kind>
struct AdamFamilyOptions {
    static constexpr const char* kName = Kind::kName;
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = Kind::kWeightDecay;
    bool amsgrad = false;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("beta1", betas.first), f("beta2", betas.second), f("eps", eps), f("weight_decay", weight_decay),
            f("amsgrad", amsgrad), f("maximize", maximize);
    }
};
struct AdamKind {
    static constexpr const char* kName = "Adam";
    static constexpr double kWeightDecay = 0.0;
};
struct AdamWKind {
    static constexpr const char* kName = "AdamW";
    static constexpr double kWeightDecay = 1e-2;  // PyTorch's default for AdamW
};
}  // namespace detail

using AdamOptions = detail::AdamFamilyOptions<detail::AdamKind>;
using AdamWOptions = detail::AdamFamilyOptions<detail::AdamWKind>;

class Adam : public OptimizerWithOptions<AdamOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

class AdamW : public OptimizerWithOptions<AdamWOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
