#pragma once
/// NAdam (Dozat 2016): Adam with Nesterov momentum. The momentum coefficient follows a warm-up
/// schedule mu_t = b1 (1 - 0.5 * 0.96^(t * momentum_decay)), and the step mixes the current
/// gradient (weight (1 - mu_t) / (1 - prod mu)) with the look-ahead momentum
/// (weight mu_{t+1} / (1 - prod mu incl. mu_{t+1})), as PyTorch implements it. PyTorch 1.13's
/// default (single-tensor) path multiplies mu_t into that last product twice, a bug fixed in
/// PyTorch 2.0 (pytorch#92699); xgrad follows the paper, 1.13's foreach=True path and 2.0.

#include <utility>

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct NAdamOptions {
    static constexpr const char* kName = "NAdam";
    double lr = 2e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum_decay = 4e-3;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("beta1", betas.first), f("beta2", betas.second), f("eps", eps), f("weight_decay", weight_decay),
            f("momentum_decay", momentum_decay), f("maximize", maximize);
    }
};

class NAdam : public OptimizerWithOptions<NAdamOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override { return {"exp_avg", "exp_avg_sq"}; }
    /// The running product of the momentum schedule, prod_{i <= t} mu_i.
    std::vector<std::string> scalar_names(std::size_t) const override { return {"mu_product"}; }
    double scalar_initial_value(std::size_t, std::size_t) const override { return 1.0; }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
