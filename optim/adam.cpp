#include <xgrad/optim/adam.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

#include <algorithm>
#include <cmath>
#include <type_traits>

namespace xgrad::optim {

template <class Kind>
void detail::AdamFamilyOptions<Kind>::validate() const {
    detail::check_lr(kName, lr);
    detail::check_eps(kName, eps);
    detail::check_betas(kName, betas);
    detail::check_weight_decay(kName, weight_decay);
}
template struct detail::AdamFamilyOptions<detail::AdamKind>;
template struct detail::AdamFamilyOptions<detail::AdamWKind>;

namespace {
// One Adam step; `decoupled` selects AdamW's weight decay.
template <class Options>
void adam_step(const Options& o, bool decoupled, const Tensor& param, const Tensor& grad, std::vector<Tensor>& buffers,
               int64_t step) {
    dispatch_floating(param.dtype(), Options::kName, [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* m = buffers[0].data_ptr<T>();
        T* v = buffers[1].data_ptr<T>();
        T* vmax = buffers[2].data_ptr<T>();
        const double t = static_cast<double>(step);
        const T b1 = T(o.betas.first), b2 = T(o.betas.second), eps = T(o.eps);
        const T step_size = T(o.lr / (1 - std::pow(o.betas.first, t)));
        const T root_bc2 = T(std::sqrt(1 - std::pow(o.betas.second, t)));
        const T coupled = decoupled ? T(0) : T(o.weight_decay);
        const T shrink = decoupled ? T(1 - o.lr * o.weight_decay) : T(1);
        const int64_t n = param.numel();
        // Two copies of the loop, so that neither carries a branch that blocks vectorization.
        auto run = [&](auto amsgrad) {
            detail::for_each_element(n, [=](int64_t i) {
                w[i] *= shrink;
                const T d = g[i] + coupled * w[i];
                m[i] = b1 * m[i] + (1 - b1) * d;
                v[i] = b2 * v[i] + (1 - b2) * d * d;
                T second = v[i];
                if constexpr (decltype(amsgrad)::value) second = vmax[i] = std::max(vmax[i], v[i]);
                w[i] -= step_size * m[i] / (std::sqrt(second) / root_bc2 + eps);
            });
        };
        if (o.amsgrad)
            run(std::true_type{});
        else
            run(std::false_type{});
    });
}
}  // namespace

void Adam::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    adam_step(options_[group], false, param, grad, state.buffers, state.step);
}

void AdamW::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    adam_step(options_[group], true, param, grad, state.buffers, state.step);
}

}  // namespace xgrad::optim
