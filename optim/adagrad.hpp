#pragma once
/// Adagrad (Duchi et al. 2011): each parameter's step is scaled by the root of the sum of its
/// squared gradients, so frequently updated parameters slow down.
///   s <- s + g^2;   theta <- theta - lr_t g / (sqrt(s) + eps),   lr_t = lr / (1 + (t - 1) lr_decay)

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct AdagradOptions {
    static constexpr const char* kName = "Adagrad";
    double lr = 0.01;
    double lr_decay = 0.0;
    double weight_decay = 0.0;
    double initial_accumulator_value = 0.0;
    double eps = 1e-10;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("lr_decay", lr_decay), f("weight_decay", weight_decay),
            f("initial_accumulator_value", initial_accumulator_value), f("eps", eps), f("maximize", maximize);
    }
};

class Adagrad : public OptimizerWithOptions<AdagradOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override { return {"sum"}; }
    double buffer_initial_value(std::size_t group, std::size_t) const override {
        return options_[group].initial_accumulator_value;
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
