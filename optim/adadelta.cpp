#include <xgrad/optim/adadelta.hpp>

#include <cmath>

namespace xgrad::optim {

void AdadeltaOptions::validate() const {
    if (lr < 0) detail::invalid(kName, "learning rate", lr);
    if (rho < 0 || rho > 1) detail::invalid(kName, "rho value", rho);
    if (eps < 0) detail::invalid(kName, "epsilon value", eps);
    if (weight_decay < 0) detail::invalid(kName, "weight_decay", weight_decay);
}

Adadelta::Adadelta(std::vector<Tensor> params, AdadeltaOptions options) : Adadelta({{std::move(params), std::nullopt}}, options) {}
Adadelta::Adadelta(std::vector<ParamGroup<AdadeltaOptions>> groups, AdadeltaOptions defaults)
    : OptimizerWithOptions(std::move(groups), defaults) {}

void Adadelta::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const AdadeltaOptions& o = options_[group];
    detail::dispatch_floating(param, "Adadelta", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* sq = state.buffers[0].data_ptr<T>();
        T* acc = state.buffers[1].data_ptr<T>();
        const T lr = T(o.lr), rho = T(o.rho), eps = T(o.eps), wd = T(o.weight_decay);
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            const T d = g[i] + wd * w[i];
            sq[i] = rho * sq[i] + (1 - rho) * d * d;
            const T delta = std::sqrt(acc[i] + eps) / std::sqrt(sq[i] + eps) * d;
            acc[i] = rho * acc[i] + (1 - rho) * delta * delta;
            w[i] -= lr * delta;
        });
    });
}

}  // namespace xgrad::optim
