#include <xgrad/optim/nadam.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <algorithm>
#include <cmath>

namespace xgrad::optim {

void NAdamOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_eps(kName, eps);
    detail::check_betas(kName, betas);
    detail::check_weight_decay(kName, weight_decay);
    detail::check_non_negative(kName, "momentum_decay", momentum_decay);
}

void NAdam::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const NAdamOptions& o = options_[group];
    const double t = static_cast<double>(state.step);
    const double b1 = o.betas.first;
    const double mu = b1 * (1 - 0.5 * std::pow(0.96, t * o.momentum_decay));
    const double mu_next = b1 * (1 - 0.5 * std::pow(0.96, (t + 1) * o.momentum_decay));
    const double mu_product = state.scalars[0] * mu;
    const double mu_product_next = mu_product * mu_next;
    state.scalars[0] = mu_product;
    const double bc2 = 1 - std::pow(o.betas.second, t);
    dispatch_floating(param.dtype(), "NAdam", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* m = state.buffers[0].data_ptr<T>();
        T* v = state.buffers[1].data_ptr<T>();
        const T b1t = T(b1), b2 = T(o.betas.second), eps = T(o.eps), wd = T(o.weight_decay);
        const T grad_weight = T(o.lr * (1 - mu) / (1 - mu_product));
        const T momentum_weight = T(o.lr * mu_next / (1 - mu_product_next));
        const T inv_bc2 = T(1 / bc2);
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            const T d = g[i] + wd * w[i];
            m[i] = b1t * m[i] + (1 - b1t) * d;
            v[i] = b2 * v[i] + (1 - b2) * d * d;
            const T denom = std::sqrt(v[i] * inv_bc2) + eps;
            w[i] -= grad_weight * d / denom + momentum_weight * m[i] / denom;
        });
    });
}

}  // namespace xgrad::optim
