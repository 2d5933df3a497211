#pragma once
/// RMSprop (Hinton, lecture 6e): divide the step by a running root mean square of the gradient.
///   v <- alpha v + (1 - alpha) g^2;   theta <- theta - lr g / (sqrt(v) + eps)
/// centered: subtract the squared running mean of g from v first (an estimate of the variance);
/// momentum: accumulate g / (sqrt(v) + eps) in a buffer and step by lr times the buffer.

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

struct RMSpropOptions {
    static constexpr const char* kName = "RMSprop";
    double lr = 0.01;
    double alpha = 0.99;
    double eps = 1e-8;
    double weight_decay = 0.0;
    double momentum = 0.0;
    bool centered = false;
    bool maximize = false;  ///< ascend the objective: step along +grad, as PyTorch's maximize

    void validate() const;
    template <class F>
    void fields(F&& f) {
        f("lr", lr), f("alpha", alpha), f("eps", eps), f("weight_decay", weight_decay), f("momentum", momentum),
            f("centered", centered), f("maximize", maximize);
    }
};

class RMSprop : public OptimizerWithOptions<RMSpropOptions> {
public:
    using OptimizerWithOptions::OptimizerWithOptions;

protected:
    std::vector<std::string> buffer_names(std::size_t) const override {
        return {"square_avg", "grad_avg", "momentum_buffer"};
    }
    void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) override;
};

}  // namespace xgrad::optim
