#pragma once
/// Weight initialization, in place (as torch.nn.init). Every function takes an optional
/// Generator; without one it draws from the default generator (manual_seed).
///
/// Why it matters (the lecture): all-equal weights (zeros_, constant_) make every unit of a layer
/// compute the same function and receive the same gradient, so they never differentiate. Random
/// weights must also have the right scale: Xavier/Glorot keeps the variance of activations and
/// gradients constant across layers for symmetric activations (Var w = 2 / (fan_in + fan_out)),
/// He/Kaiming for ReLU (Var w = 2 / fan_in).

#include <optional>
#include <utility>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn::init {

enum class FanMode { fan_in, fan_out, fan_avg };
enum class Nonlinearity { linear, conv, sigmoid, tanh, relu, leaky_relu, selu };
enum class Distribution { normal, truncated_normal, uniform };

/// The recommended gain for a nonlinearity: 1 (linear, sigmoid), 5/3 (tanh), sqrt(2) (relu),
/// sqrt(2 / (1 + a^2)) (leaky_relu with slope a), 3/4 (selu).
double calculate_gain(Nonlinearity nonlinearity, double param = 0.01);
/// fan_in and fan_out of a weight: [out, in] for Linear, [out, in, k...] for convolutions.
std::pair<int64_t, int64_t> calculate_fan_in_and_fan_out(const Tensor& weight);

void zeros_(const Tensor& t);
void ones_(const Tensor& t);
void constant_(const Tensor& t, double value);
void uniform_(const Tensor& t, double a = 0.0, double b = 1.0, Generator* generator = nullptr);
void normal_(const Tensor& t, double mean = 0.0, double std = 1.0, Generator* generator = nullptr);
/// Normal(mean, std) redrawn until inside [a, b] (absolute bounds, as PyTorch).
void trunc_normal_(const Tensor& t, double mean = 0.0, double std = 1.0, double a = -2.0, double b = 2.0,
                   Generator* generator = nullptr);
/// U(-bound, bound), bound = gain sqrt(6 / (fan_in + fan_out)) (Glorot & Bengio 2010).
void xavier_uniform_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);
/// N(0, std), std = gain sqrt(2 / (fan_in + fan_out)).
void xavier_normal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);
/// U(-bound, bound), bound = gain sqrt(3 / fan), gain = calculate_gain(nonlinearity, a) (He et al. 2015).
void kaiming_uniform_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                      Nonlinearity nonlinearity = Nonlinearity::leaky_relu, Generator* generator = nullptr);
/// N(0, std), std = gain / sqrt(fan).
void kaiming_normal_(const Tensor& t, double a = 0.0, FanMode mode = FanMode::fan_in,
                     Nonlinearity nonlinearity = Nonlinearity::leaky_relu, Generator* generator = nullptr);
/// PyTorch's default for Linear and the convolutions (their reset_parameters): the weight
/// kaiming_uniform_ with a = sqrt(5), which is U(+-1/sqrt(fan_in)), and the bias (if defined)
/// U(+-1/sqrt(fan_in)), fan_in taken from the weight's dim 1 and kernel.
void layer_default_(const Tensor& weight, const Tensor& bias, Generator* generator = nullptr);
/// PyTorch's default for Embedding and EmbeddingBag: N(0, 1), the padding row (if any) zero.
void embedding_default_(const Tensor& weight, std::optional<int64_t> padding_idx, Generator* generator = nullptr);
/// Keras/TensorFlow's VarianceScaling: variance scale / n, n = fan_in, fan_out or their mean.
/// normal: N(0, sqrt(scale / n)); truncated_normal: the same variance after truncation at two
/// standard deviations; uniform: U(-sqrt(3 scale / n), sqrt(3 scale / n)).
void variance_scaling_(const Tensor& t, double scale = 1.0, FanMode mode = FanMode::fan_in,
                       Distribution distribution = Distribution::truncated_normal, Generator* generator = nullptr);
/// A (semi-)orthogonal matrix scaled by gain (Saxe et al. 2014), from the QR decomposition of a
/// Gaussian matrix; tensors with more than 2 dims are flattened to [size(0), rest].
void orthogonal_(const Tensor& t, double gain = 1.0, Generator* generator = nullptr);

}  // namespace xgrad::nn::init
