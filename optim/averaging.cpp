#include <xgrad/optim/averaging.hpp>

#include <algorithm>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/optim/optimizer.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

namespace xgrad::optim {

ExponentialMovingAverage::ExponentialMovingAverage(std::vector<Tensor> parameters,
                                                   ExponentialMovingAverageOptions options)
    : parameters_(std::move(parameters)), options_(options) {
    XGRAD_CHECK(options.decay >= 0 && options.decay <= 1, "ExponentialMovingAverage: decay must be in [0, 1], got ",
                options.decay);
    NoGradGuard no_grad;
    averages_.reserve(parameters_.size());
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        const Tensor& p = parameters_[i];
        XGRAD_CHECK(p.defined(), "ExponentialMovingAverage: parameter ", i, " is undefined");
        XGRAD_CHECK(p.is_floating_point(), "ExponentialMovingAverage: parameter ", i,
                    " must be a floating tensor, got ", p.dtype());
        averages_.push_back(p.detach().clone());
    }
}

double ExponentialMovingAverage::next_decay() const {
    if (!options_.warmup) return options_.decay;
    const auto n = static_cast<double>(updates_);
    return std::min(options_.decay, (1 + n) / (10 + n));
}

void ExponentialMovingAverage::update() {
    NoGradGuard no_grad;
    const double decay = next_decay();
    for (std::size_t i = 0; i < parameters_.size(); ++i) {
        XGRAD_CHECK(parameters_[i].sizes() == averages_[i].sizes(), "ExponentialMovingAverage::update: parameter ", i,
                    " changed shape from ", averages_[i].sizes(), " to ", parameters_[i].sizes());
        const Tensor& p = parameters_[i];
        if (!p.is_contiguous() || !averages_[i].is_contiguous() || p.dtype() != averages_[i].dtype()) {
            // a view, or data swapped in of another dtype: two passes through the general ops
            averages_[i].mul_(decay).add_(p, 1 - decay);
            continue;
        }
        dispatch_floating(p.dtype(), "ExponentialMovingAverage", [&](auto tag) {  // one pass
            using T = decltype(tag);
            T* average = averages_[i].data_ptr<T>();
            const T* value = p.data_ptr<T>();
            const T d = T(decay), rest = T(1 - decay);
            detail::for_each_element(p.numel(), [=](int64_t k) { average[k] = d * average[k] + rest * value[k]; });
        });
        averages_[i].data().bump_version();  // written in place, as mul_ and add_ would have marked it
    }
    ++updates_;
}

void ExponentialMovingAverage::copy_to() {
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].copy_(averages_[i]);
}

void ExponentialMovingAverage::store() {
    NoGradGuard no_grad;
    stored_.clear();
    for (const Tensor& p : parameters_) stored_.push_back(p.detach().clone());
}

void ExponentialMovingAverage::restore() {
    XGRAD_CHECK(!stored_.empty() || parameters_.empty(),
                "ExponentialMovingAverage::restore: nothing stored (call store() first)");
    NoGradGuard no_grad;
    for (std::size_t i = 0; i < parameters_.size(); ++i) parameters_[i].copy_(stored_[i]);
    stored_.clear();
}

}  // namespace xgrad::optim
