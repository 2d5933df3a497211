#pragma once
/// Input preprocessing, as the lecture prescribes: statistics are fitted on the training data
/// only and then applied unchanged to validation and test data.
///
///     data::StandardScaler scaler;
///     Tensor x_train = scaler.fit_transform(train_features);   // [N, F]
///     Tensor x_test = scaler.transform(test_features);         // the training mean and std
///
/// Features are columns of a [N, F] tensor (or any [N, ...] tensor: statistics per trailing
/// element). A constant feature is left unscaled (divisor 1) instead of dividing by zero.

#include <map>
#include <string>
#include <utility>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::data {

/// Named state for saving with a model ("mean", "scale", ...).
using ScalerState = std::map<std::string, Tensor>;

struct StandardScalerOptions {
    bool with_mean = true;  ///< subtract the mean (zero-centering)
    bool with_std = true;   ///< divide by the (biased) standard deviation
};

/// z = (x - mean) / std per feature. with_std = false is plain zero-centering.
class StandardScaler {
public:
    explicit StandardScaler(StandardScalerOptions options = {}) : options_(options) {}
    StandardScaler& fit(const Tensor& x);
    Tensor transform(const Tensor& x) const;
    Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
    Tensor inverse_transform(const Tensor& z) const;
    bool fitted() const { return mean_.defined(); }
    const Tensor& mean() const { return mean_; }
    const Tensor& scale() const { return scale_; }
    ScalerState state_dict() const;
    void load_state_dict(const ScalerState& state);

private:
    StandardScalerOptions options_;
    Tensor mean_, scale_;
};

/// Zero-centering alone: StandardScaler without the division.
class Centerer : public StandardScaler {
public:
    Centerer() : StandardScaler({.with_mean = true, .with_std = false}) {}
};

struct MinMaxScalerOptions {
    std::pair<double, double> feature_range = {0.0, 1.0};  ///< e.g. {-1, 1} or {-0.5, 0.5}
};

/// x' = a + (x - min) (b - a) / (max - min) per feature, mapping the training range onto [a, b].
class MinMaxScaler {
public:
    explicit MinMaxScaler(MinMaxScalerOptions options = {});
    MinMaxScaler& fit(const Tensor& x);
    Tensor transform(const Tensor& x) const;
    Tensor fit_transform(const Tensor& x) { return fit(x).transform(x); }
    Tensor inverse_transform(const Tensor& z) const;
    bool fitted() const { return min_.defined(); }
    const Tensor& data_min() const { return min_; }
    const Tensor& data_max() const { return max_; }
    ScalerState state_dict() const;
    void load_state_dict(const ScalerState& state);

private:
    MinMaxScalerOptions options_;
    Tensor min_, max_, scale_;  // scale_ = (b - a) / (max - min), 1 where max == min
};

}  // namespace xgrad::data
