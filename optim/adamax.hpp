#pragma once
/// Adamax (Kingma & Ba 2015, section 7): Adam with the infinity norm in place of v.
///   u <- max(b2 u, |g| + eps);   theta <- theta - lr / (1 - b1^t) * m / u

#include <utility>

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct AdamaxOptions {
    static constexpr const char* kName = "Adamax";
    double lr = 2e-3;
    std::pair<double, double> betas = {0.9, 0.999};
    double eps = 1e-8;
    double weight_decay = 0.0;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("beta1", betas.first), f("beta2", betas.second), f("eps", eps), f("weight_decay", weight_decay),
            f("maximize", maximize);
    }
};

class Adamax : public OptimizerWithOptions<AdamaxOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override { return {"exp_avg", "exp_inf"}; }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
