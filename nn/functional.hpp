#pragma once
/// nn::functional: the stateless forms of the layers and losses (the modules call these).
/// Everything is composed from differentiable tensor ops, so no gradient here is written by hand.

#include <optional>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn::functional {

// ---- activations ------------------------------------------------------------------------------
/// x if x > 0 else negative_slope x; the gradient at 0 is negative_slope (PyTorch's choice).
Tensor leaky_relu(const Tensor& x, double negative_slope = 0.01);
/// Leaky ReLU with a learned slope: weight has 1 element (shared) or one per channel (dim 1 of x).
Tensor prelu(const Tensor& x, const Tensor& weight);
/// x if x > 0 else alpha (e^x - 1).
Tensor elu(const Tensor& x, double alpha = 1.0);
/// x Phi(x), with the exact erf form (approximate = false) or the tanh approximation.
Tensor gelu(const Tensor& x, bool approximate = false);
/// log(1 + e^(beta x)) / beta, a smooth ReLU; x itself where beta x > threshold (as PyTorch).
Tensor softplus(const Tensor& x, double beta = 1.0, double threshold = 20.0);
/// x sigmoid(x) (SiLU, also called swish).
Tensor silu(const Tensor& x);
/// x tanh(softplus(x)) (Misra 2019).
Tensor mish(const Tensor& x);
/// x clamped to [min_val, max_val]; the gradient is 1 strictly inside, 0 outside and at the edges.
Tensor hardtanh(const Tensor& x, double min_val = -1.0, double max_val = 1.0);
/// hardtanh(x, 0, 6).
Tensor relu6(const Tensor& x);
/// x / (1 + |x|).
Tensor softsign(const Tensor& x);
/// log sigmoid(x), exact and finite for any x (no threshold).
Tensor logsigmoid(const Tensor& x);
/// The piecewise-linear sigmoid: 0 below -3, 1 above 3, x / 6 + 1/2 between.
Tensor hardsigmoid(const Tensor& x);
/// x hardsigmoid(x) (Howard et al. 2019).
Tensor hardswish(const Tensor& x);

// ---- similarity -------------------------------------------------------------------------------
/// (x1 / max(|x1|, eps)) . (x2 / max(|x2|, eps)) along dim, x1 and x2 broadcast together (as
/// PyTorch 1.13).
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim = 1, double eps = 1e-8);
/// y = x W^T + b, and relu(y) in the same pass over the output (what nn::Sequential runs for a
/// Linear followed by a ReLU; a hand-written forward calls it for the same saving).
using xgrad::linear;
using xgrad::linear_relu;
using xgrad::log_softmax;
using xgrad::relu;
using xgrad::sigmoid;
using xgrad::softmax;
using xgrad::tanh;

// ---- dropout ----------------------------------------------------------------------------------
/// Inverted dropout (PyTorch's meaning): in training, each element is zeroed with probability p
/// and the survivors are scaled by 1 / (1 - p), so the expectation is unchanged and evaluation is
/// the identity. The lecture's retention probability is 1 - p.
Tensor dropout(const Tensor& x, double p, bool training, Generator* generator = nullptr);
/// Dropout of whole channels: for [N, C, ...] input each (sample, channel) slice is dropped together.
Tensor dropout2d(const Tensor& x, double p, bool training, Generator* generator = nullptr);

// ---- normalization ----------------------------------------------------------------------------
/// Batch normalization of x [N, C, ...] per channel, over every dim but 1, with per-channel
/// affine weight/bias.
/// training: normalize with the batch mean and biased variance, and update the running
/// statistics in place (mean, and the unbiased variance n / (n - 1) var), if given.
/// Otherwise: normalize with the running statistics.
Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum = 0.1, double eps = 1e-5);
/// Group normalization (Wu & He 2018): x [N, C, ...] normalized per sample over groups of
/// C / num_groups channels (biased variance), then scaled and shifted per channel.
Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight = Tensor(), const Tensor& bias = Tensor(),
                  double eps = 1e-5);
/// Normalizes over the last normalized_dims dims (biased variance), then the elementwise affine.
Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias,
                  double eps = 1e-5);

// ---- losses -----------------------------------------------------------------------------------
enum class Reduction { none, mean, sum };

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean);
/// Quadratic below beta, linear above: 0.5 d^2 / beta if |d| < beta else |d| - 0.5 beta.
Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean,
                      double beta = 1.0);

struct NLLOptions {
    Tensor weight;                          ///< [C] class weights (undefined: all 1)
    int64_t ignore_index = -100;            ///< targets equal to this contribute nothing
    Reduction reduction = Reduction::mean;  ///< mean divides by the summed weights of the targets
};
/// Negative log-likelihood of log-probabilities [N, C] for int64 class targets [N]; also
/// [N, C, d1, ...] with targets [N, d1, ...] (e.g. per-token or per-pixel classes; `none` gives
/// [N, d1, ...]) and an unbatched [C] with a 0-d target.
Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLOptions& options = {});

struct CrossEntropyOptions {
    Tensor weight;
    int64_t ignore_index = -100;
    Reduction reduction = Reduction::mean;
    /// Mixes the one-hot target with the uniform distribution: (1 - s) nll + s mean_c(-log p_c).
    double label_smoothing = 0.0;
};
/// Cross-entropy from logits [N, C] and class indices [N]: log_softmax and NLL fused, stable for
/// large logits. Takes the layouts of nll_loss too ([N, C, d1, ...] with [N, d1, ...]). A floating
/// target of the logits' shape holds class probabilities (soft labels): the loss is
/// -sum_c weight_c target_c log p_c per sample, and the mean divides by the number of samples.
Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& options = {});

/// -(y log p + (1 - y) log(1 - p)) for probabilities p; logs are clamped at -100 as in PyTorch.
Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const Tensor& weight = Tensor(),
                            Reduction reduction = Reduction::mean);
/// The same from logits, computed stably: max(x, 0) - x y + log(1 + e^-|x|); pos_weight scales
/// the positive term per class.
Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight = Tensor(),
                                        const Tensor& pos_weight = Tensor(), Reduction reduction = Reduction::mean);

/// Quadratic below delta, linear above: 0.5 d^2 if |d| < delta else delta (|d| - 0.5 delta).
/// (smooth_l1_loss divided by beta is the same curve scaled: huber = beta smooth_l1 at delta = beta.)
Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction = Reduction::mean, double delta = 1.0);

/// kl_div's reductions: batchmean (the sum divided by the batch size) is the KL divergence;
/// mean divides by the number of elements, as PyTorch's default does.
enum class KLDivReduction { none, batchmean, sum, mean };
struct KLDivOptions {
    KLDivReduction reduction = KLDivReduction::mean;
    bool log_target = false;  ///< the target holds log-probabilities too
};
/// Kullback-Leibler divergence of the distribution `input` (log-probabilities) from `target`
/// (probabilities, or log-probabilities with log_target): target (log target - input) pointwise,
/// 0 where the target is 0.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivOptions& options = {});

/// Applies a reduction to per-element losses.
Tensor reduce_loss(const Tensor& losses, Reduction reduction);

}  // namespace xgrad::nn::functional

namespace xgrad::nn {
namespace F = functional;
}
