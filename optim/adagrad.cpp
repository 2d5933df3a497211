#include <xgrad/optim/adagrad.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <cmath>

namespace xgrad::optim {

void AdagradOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_non_negative(kName, "lr_decay", lr_decay);
    detail::check_weight_decay(kName, weight_decay);
    detail::check_non_negative(kName, "initial_accumulator_value", initial_accumulator_value);
    detail::check_eps(kName, eps);
}

void Adagrad::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const AdagradOptions& o = options_[group];
    dispatch_floating(param.dtype(), "Adagrad", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* sum = state.buffers[0].data_ptr<T>();
        const T clr = T(o.lr / (1 + static_cast<double>(state.step - 1) * o.lr_decay));
        const T wd = T(o.weight_decay), eps = T(o.eps);
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            const T d = g[i] + wd * w[i];
            sum[i] += d * d;
            w[i] -= clr * d / (std::sqrt(sum[i]) + eps);
        });
    });
}

}  // namespace xgrad::optim
