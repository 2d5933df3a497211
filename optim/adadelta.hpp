#pragma once
/// Adadelta (Zeiler 2012): steps sized by the ratio of running RMS of past updates to running RMS
/// of gradients, so the units match and no global learning rate is strictly needed (lr = 1).
///   v <- rho v + (1 - rho) g^2
///   dx = sqrt(u + eps) / sqrt(v + eps) * g
///   u <- rho u + (1 - rho) dx^2;   theta <- theta - lr dx

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct AdadeltaOptions {
    static constexpr const char* kName = "Adadelta";
    double lr = 1.0;
    double rho = 0.9;
    double eps = 1e-6;
    double weight_decay = 0.0;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("rho", rho), f("eps", eps), f("weight_decay", weight_decay), f("maximize", maximize);
    }
};

class Adadelta : public OptimizerWithOptions<AdadeltaOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override { return {"square_avg", "acc_delta"}; }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
