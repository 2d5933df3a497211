#include <xgrad/optim/adamax.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <algorithm>
#include <cmath>

namespace xgrad::optim {

void AdamaxOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_eps(kName, eps);
    detail::check_betas(kName, betas);
    detail::check_weight_decay(kName, weight_decay);
}

void Adamax::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const AdamaxOptions& o = options_[group];
    dispatch_floating(param.dtype(), "Adamax", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* m = state.buffers[0].data_ptr<T>();
        T* u = state.buffers[1].data_ptr<T>();
        const T b1 = T(o.betas.first), b2 = T(o.betas.second), eps = T(o.eps), wd = T(o.weight_decay);
        const T step_size = T(o.lr / (1 - std::pow(o.betas.first, static_cast<double>(state.step))));
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            const T d = g[i] + wd * w[i];
            m[i] = b1 * m[i] + (1 - b1) * d;
            u[i] = std::max(b2 * u[i], std::abs(d) + eps);
            w[i] -= step_size * m[i] / u[i];
        });
    });
}

}  // namespace xgrad::optim
