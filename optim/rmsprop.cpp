#include <xgrad/optim/rmsprop.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <cmath>

namespace xgrad::optim {

void RMSpropOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_between(kName, "alpha", alpha, 0, 1);
    detail::check_eps(kName, eps);
    detail::check_weight_decay(kName, weight_decay);
    detail::check_non_negative(kName, "momentum", momentum);
}

void RMSprop::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const RMSpropOptions& o = options_[group];
    dispatch_floating(param.dtype(), "RMSprop", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* sq = state.buffers[0].data_ptr<T>();
        T* mean = state.buffers[1].data_ptr<T>();
        T* buf = state.buffers[2].data_ptr<T>();
        const T lr = T(o.lr), alpha = T(o.alpha), eps = T(o.eps), wd = T(o.weight_decay), mu = T(o.momentum);
        const bool centered = o.centered, momentum = o.momentum > 0;
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            const T d = g[i] + wd * w[i];
            sq[i] = alpha * sq[i] + (1 - alpha) * d * d;
            T v = sq[i];
            if (centered) {
                mean[i] = alpha * mean[i] + (1 - alpha) * d;
                v -= mean[i] * mean[i];
            }
            const T scaled = d / (std::sqrt(v) + eps);
            if (momentum) {
                buf[i] = mu * buf[i] + scaled;
                w[i] -= lr * buf[i];
            } else {
                w[i] -= lr * scaled;
            }
        });
    });
}

}  // namespace xgrad::optim
