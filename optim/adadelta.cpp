#include <xgrad/optim/adadelta.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <cmath>

namespace xgrad::optim {

void AdadeltaOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_between(kName, "rho", rho, 0, 1);
    detail::check_eps(kName, eps);
    detail::check_weight_decay(kName, weight_decay);
}

void Adadelta::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const AdadeltaOptions& o = options_[group];
    dispatch_floating(param.dtype(), "Adadelta", [&](auto tag) {
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
