#include <xgrad/optim/sgd.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

namespace xgrad::optim {

void SGDOptions::validate() const {
    detail::check_lr(kName, lr);
    detail::check_non_negative(kName, "momentum", momentum);
    detail::check_weight_decay(kName, weight_decay);
    XGRAD_CHECK(!nesterov || (momentum > 0 && dampening == 0),
                "SGD: Nesterov momentum requires a momentum above 0 and zero dampening");
}

std::vector<std::string> SGD::buffer_names(std::size_t group) const {
    return options_[group].momentum != 0 ? std::vector<std::string>{"momentum_buffer"} : std::vector<std::string>{};
}

void SGD::update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) {
    const SGDOptions& o = options_[group];
    dispatch_floating(param.dtype(), "SGD", [&](auto tag) {
        using T = decltype(tag);
        T* w = param.data_ptr<T>();
        const T* g = grad.data_ptr<T>();
        T* buf = o.momentum != 0 ? state.buffers[0].data_ptr<T>() : nullptr;
        const T lr = T(o.lr), mu = T(o.momentum), keep = T(1 - o.dampening), wd = T(o.weight_decay);
        const bool first = state.step == state.buffers_created_at, nesterov = o.nesterov;
        const int64_t n = param.numel();
        detail::for_each_element(n, [=](int64_t i) {
            T d = g[i] + wd * w[i];
            if (buf) {
                buf[i] = first ? d : mu * buf[i] + keep * d;  // the buffer starts as its first gradient
                d = nesterov ? d + mu * buf[i] : buf[i];
            }
            w[i] -= lr * d;
        });
    });
}

}  // namespace xgrad::optim
