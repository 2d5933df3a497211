#include <xgrad/data/scaler.hpp>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::data {
namespace {
void check_input(const char* op, const Tensor& x, const Tensor& fitted_stat) {
    XGRAD_CHECK(x.dim() >= 2, op, ": expected samples in rows, [N, F] (or [N, ...]), got shape ", x.sizes());
    XGRAD_CHECK(is_floating(x.dtype()), op, ": expected floating-point features, got ", x.dtype());
    if (!fitted_stat.defined()) return;
    const Shape features(x.sizes().begin() + 1, x.sizes().end());
    XGRAD_CHECK(features == fitted_stat.sizes(), op, ": the scaler was fitted on features of shape ",
                fitted_stat.sizes(), " but got samples of shape ", features);
}

// Statistics of NaN or infinite features would turn whole columns into NaN: refuse them, naming
// the first such sample and feature.
void check_finite(const char* op, const Tensor& x) {
    const Tensor finite = isfinite(x).flatten();
    if (finite.all().item<bool>()) return;
    const int64_t at = argmin(finite.to(kInt64), 0).item<int64_t>();
    const int64_t features = x.numel() / x.size(0);
    XGRAD_CHECK(false, op, ": sample ", at / features, ", feature ", at % features, " is ",
                x.flatten().select(0, at).item(), " (only finite values can be fitted)");
}

// 1 where the spread is 0 (a constant feature): such a feature is shifted but not scaled.
Tensor safe_divisor(const Tensor& spread) {
    return where(spread == 0.0, ones_like(spread), spread);
}

const Tensor& entry(const ScalerState& state, const std::string& key, const char* op) {
    auto it = state.find(key);
    XGRAD_CHECK(it != state.end(), op, ": the saved state has no entry \"", key, "\"");
    return it->second;
}
}  // namespace

StandardScaler& StandardScaler::fit(const Tensor& x) {
    check_input("StandardScaler.fit", x, Tensor());
    XGRAD_CHECK(x.size(0) > 0, "StandardScaler.fit: no samples to fit on");
    NoGradGuard no_grad;
    check_finite("StandardScaler.fit", x);
    const Tensor mean = x.mean({0});
    mean_ = options_.with_mean ? mean : zeros_like(mean);
    if (!options_.with_std) {
        scale_ = ones_like(mean);
        return *this;
    }
    // A constant column's computed spread is rarely exactly 0 (the mean is rounded: seven 0.1s give
    // 1.4e-17) and dividing by it would blow rounding noise up to +-1. Constant is decided exactly,
    // by the column's extremes, not by a bound on the rounding error (scikit-learn's bound, with
    // float32's epsilon, would call a float32 column of mean 300 and std 1 over 100k rows constant).
    const Tensor std = x.std({0}, /*unbiased=*/false);
    const Tensor constant = logical_or(amax(x, {0}) == amin(x, {0}), std == 0.0);  // (a spread that underflowed)
    scale_ = where(constant, ones_like(std), std);
    return *this;
}

Tensor StandardScaler::transform(const Tensor& x) const {
    XGRAD_CHECK(fitted(), "StandardScaler.transform: call fit() on the training data first");
    check_input("StandardScaler.transform", x, mean_);
    Tensor z = x - mean_.to(x.dtype());
    // Divide in place when no graph is recorded: one full-size temporary instead of two.
    if (!GradMode::is_enabled() || !z.requires_grad()) return z.div_(scale_.to(x.dtype())), z;
    return z / scale_.to(x.dtype());
}

Tensor StandardScaler::inverse_transform(const Tensor& z) const {
    XGRAD_CHECK(fitted(), "StandardScaler.inverse_transform: call fit() first");
    check_input("StandardScaler.inverse_transform", z, mean_);
    return z * scale_.to(z.dtype()) + mean_.to(z.dtype());
}

ScalerState StandardScaler::state_dict() const {
    XGRAD_CHECK(fitted(), "StandardScaler.state_dict: the scaler is not fitted");
    return {{"mean", mean_.clone()}, {"scale", scale_.clone()}};
}

void StandardScaler::load_state_dict(const ScalerState& state) {
    const Tensor& mean = entry(state, "mean", "StandardScaler.load_state_dict");
    const Tensor& scale = entry(state, "scale", "StandardScaler.load_state_dict");
    XGRAD_CHECK(mean.sizes() == scale.sizes(), "StandardScaler.load_state_dict: mean ", mean.sizes(), " and scale ",
                scale.sizes(), " differ in shape");
    mean_ = mean.clone();
    scale_ = scale.clone();
}

MinMaxScaler::MinMaxScaler(MinMaxScalerOptions options) : options_(options) {
    XGRAD_CHECK(options.feature_range.first < options.feature_range.second, "MinMaxScaler: the feature range [",
                options.feature_range.first, ", ", options.feature_range.second, "] is empty");
}

MinMaxScaler& MinMaxScaler::fit(const Tensor& x) {
    check_input("MinMaxScaler.fit", x, Tensor());
    XGRAD_CHECK(x.size(0) > 0, "MinMaxScaler.fit: no samples to fit on");
    NoGradGuard no_grad;
    check_finite("MinMaxScaler.fit", x);
    min_ = amin(x, {0});
    max_ = amax(x, {0});
    const auto [a, b] = options_.feature_range;
    scale_ = scalar_like(min_, b - a) / safe_divisor(max_ - min_);
    return *this;
}

Tensor MinMaxScaler::transform(const Tensor& x) const {
    XGRAD_CHECK(fitted(), "MinMaxScaler.transform: call fit() on the training data first");
    check_input("MinMaxScaler.transform", x, min_);
    return (x - min_.to(x.dtype())) * scale_.to(x.dtype()) + options_.feature_range.first;
}

Tensor MinMaxScaler::inverse_transform(const Tensor& z) const {
    XGRAD_CHECK(fitted(), "MinMaxScaler.inverse_transform: call fit() first");
    check_input("MinMaxScaler.inverse_transform", z, min_);
    return (z - options_.feature_range.first) / scale_.to(z.dtype()) + min_.to(z.dtype());
}

ScalerState MinMaxScaler::state_dict() const {
    XGRAD_CHECK(fitted(), "MinMaxScaler.state_dict: the scaler is not fitted");
    return {{"data_min", min_.clone()},
            {"data_max", max_.clone()},
            {"feature_range", tensor({options_.feature_range.first, options_.feature_range.second}, kFloat64)}};
}

void MinMaxScaler::load_state_dict(const ScalerState& state) {
    const Tensor& lo = entry(state, "data_min", "MinMaxScaler.load_state_dict");
    const Tensor& hi = entry(state, "data_max", "MinMaxScaler.load_state_dict");
    const std::vector<double> range = entry(state, "feature_range", "MinMaxScaler.load_state_dict").to_vector<double>();
    XGRAD_CHECK(range.size() == 2 && range[0] < range[1], "MinMaxScaler.load_state_dict: invalid feature_range");
    XGRAD_CHECK(lo.sizes() == hi.sizes(), "MinMaxScaler.load_state_dict: data_min ", lo.sizes(), " and data_max ",
                hi.sizes(), " differ in shape");
    options_.feature_range = {range[0], range[1]};
    min_ = lo.clone();
    max_ = hi.clone();
    NoGradGuard no_grad;
    scale_ = scalar_like(min_, range[1] - range[0]) / safe_divisor(max_ - min_);
}

}  // namespace xgrad::data
