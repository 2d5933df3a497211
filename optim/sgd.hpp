#pragma once
/// Stochastic gradient descent, with momentum and Nesterov momentum. Full-batch gradient descent
/// is the same optimizer fed the whole data set at each step.
///
/// PyTorch's form, used here:   b <- mu b + (1 - dampening) g;   theta <- theta - lr b
/// The lecture's form:          v <- gamma v + eta g;            theta <- theta - v
/// With a constant learning rate and no dampening these give the same trajectory: v = lr b at
/// every step (tests/test_optim.cpp checks it). They differ when lr changes during training: the
/// lecture's v keeps the old lr inside it, PyTorch's b does not.
/// Nesterov: theta <- theta - lr (g + mu b), the gradient at the look-ahead point rewritten so
/// that it needs only the current parameters (Sutskever et al. 2013).

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct SGDOptions {
    static constexpr const char* kName = "SGD";
    double lr = 0.01;
    double momentum = 0.0;
    double dampening = 0.0;
    double weight_decay = 0.0;  ///< coupled L2: adds weight_decay * theta to the gradient
    bool nesterov = false;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("momentum", momentum), f("dampening", dampening), f("weight_decay", weight_decay),
            f("nesterov", nesterov), f("maximize", maximize);
    }
};

class SGD : public OptimizerWithOptions<SGDOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t group) const override;
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
