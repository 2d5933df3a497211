#include <xgrad/optim/adagrad.hpp>

#include <cmath>

namespace xgrad::optim {

void AdagradOptions::validate() const {
    if (lr < 0) detail::invalid(kName, "learning rate", lr);
    if (lr_decay < 0) detail::invalid(kName, "lr_decay", lr_decay);
    if (weight_decay < 0) detail::invalid(kName, "weight_decay", weight_decay);
    if (initial_accumulator_value < 0) detail::invalid(kName, "initial_accumulator_value", initial_accumulator_value);
    if (eps < 0) detail::invalid(kName, "epsilon value", eps);
}

Adagrad::Adagrad(std::vector<Tensor> params, AdagradOptions options) : Adagrad({{std::move(params), std::nullopt}}, options) {}
Adagrad::Adagrad(std::vector<ParamGroup<AdagradOptions>> groups, AdagradOptions defaults)
    : OptimizerWithOptions(std::move(groups), defaults) {}

void Adagrad::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const AdagradOptions& o = options_[group];
    detail::dispatch_floating(param, "Adagrad", [&](auto tag) {
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
