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

struct AdamOptions {
    static constexpr const char* kName = "Adam";
    double lr = 1e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool amsgrad = false;

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("beta1", betas.first), f("beta2", betas.second), f("eps", eps), f("weight_decay", weight_decay),
            f("amsgrad", amsgrad);
    }
};

struct AdamWOptions : AdamOptions {
    static constexpr const char* kName = "AdamW";
    AdamWOptions() { weight_decay = 1e-2; }
};

class Adam : public OptimizerWithOptions<AdamOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

class AdamW : public OptimizerWithOptions<AdamOptions> {
public:
    /// Defaults to weight_decay = 1e-2, as PyTorch's AdamW.
    AdamW(std::vector<Tensor> params, AdamOptions options = AdamWOptions());
    AdamW(std::vector<ParamGroup<AdamOptions>> groups, AdamOptions defaults = AdamWOptions());

protected:
    std::vector<std::string> buffer_names(std::size_t) const override {
        return {"exp_avg", "exp_avg_sq", "max_exp_avg_sq"};
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
