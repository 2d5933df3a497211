#include <xgrad/nn/functional.hpp>

#include <algorithm>
#include <cmath>
#include <limits>
#include <vector>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn::functional {

Tensor leaky_relu(const Tensor& x, double negative_slope) {
    return where(x > 0.0, x, x * negative_slope);
}

Tensor prelu(const Tensor& x, const Tensor& weight) {
    XGRAD_CHECK(weight.dim() == 1, "prelu: the weight must be 1-D, got shape ", weight.sizes());
    // One slope is a scalar: viewed as [1] it would turn a 0-d input into [1].
    Tensor w = weight.numel() == 1 ? weight.reshape({}) : weight;
    if (weight.numel() > 1) {
        XGRAD_CHECK(x.dim() >= 2 && x.size(1) == weight.numel(), "prelu: ", weight.numel(),
                    " slopes need the input's dimension 1 to have that size, got shape ", x.sizes());
        Shape per_channel(static_cast<std::size_t>(x.dim() - 1), 1);
        per_channel[0] = weight.numel();
        w = weight.view(per_channel);  // [C, 1, ...] broadcasts along dim 1
    }
    return where(x > 0.0, x, x * w);
}

// expm1 of min(x, 0): the unselected branch of where() stays finite, so its (zero) gradient
// cannot turn into inf * 0 = NaN for large positive x.
Tensor elu(const Tensor& x, double alpha) {
    return where(x > 0.0, x, expm1(clamp_max(x, 0.0)) * alpha);
}

Tensor gelu(const Tensor& x, bool approximate) {
    if (approximate) {
        const double c = std::sqrt(2.0 / M_PI);
        return x * 0.5 * (tanh((x + pow(x, 3.0) * 0.044715) * c) + 1.0);
    }
    return x * 0.5 * (erf(x * (1.0 / std::sqrt(2.0))) + 1.0);
}

// beta x clamped at the threshold inside log1p(exp()): the branch where() does not take stays
// finite, so its zero gradient cannot become inf * 0 = NaN.
Tensor softplus(const Tensor& x, double beta, double threshold) {
    XGRAD_CHECK(beta != 0 && std::isfinite(beta), "softplus: beta must be finite and not 0, got ", beta);
    const Tensor scaled = x * beta;
    return where(scaled > threshold, x, log1p(exp(clamp_max(scaled, threshold))) * (1.0 / beta));
}

Tensor silu(const Tensor& x) {
    return x * sigmoid(x);
}

Tensor mish(const Tensor& x) {
    return x * tanh(softplus(x));
}

// Clamped by where(), not clamp(): PyTorch's hardtanh passes no gradient at the edges themselves.
Tensor hardtanh(const Tensor& x, double min_val, double max_val) {
    XGRAD_CHECK(min_val <= max_val, "hardtanh: min_val (", min_val, ") must not exceed max_val (", max_val, ")");
    const Tensor inside = (x > min_val) && (x < max_val);
    return where(inside, x, clamp(x, min_val, max_val).detach());
}

Tensor relu6(const Tensor& x) {
    return hardtanh(x, 0.0, 6.0);
}

Tensor softsign(const Tensor& x) {
    return x / (abs(x) + 1.0);
}

// x - log(1 + e^x) below 0 and -log(1 + e^-x) from 0 up, each exponent kept <= 0 (no overflow,
// no threshold: exact far out, as PyTorch's). The parts are cut with where(), which passes the
// gradient 1 to the part it selects, so the slope at 0 is sigmoid(0) = 1/2.
Tensor logsigmoid(const Tensor& x) {
    const Tensor zero = zeros_like(x), negative = x < 0.0;
    const Tensor below = where(negative, x, zero), above = where(negative, zero, x);
    return where(negative, below - log1p(exp(below)), -log1p(exp(-above)));
}

// The flat parts are picked by x <= -3 and x >= 3, so NaN falls to the middle and stays NaN.
Tensor hardsigmoid(const Tensor& x) {
    return where(x <= -3.0, zeros_like(x), where(x >= 3.0, ones_like(x), x * (1.0 / 6) + 0.5));
}

// Written out rather than as x hardsigmoid(x), for PyTorch's gradient at the kinks: -1/2 at -3 and
// 3/2 at 3, the middle piece's slope (2x + 3) / 6 taken at both ends.
// The middle piece reads x only where it is selected (0 elsewhere), so an infinite input cannot
// give it inf * 0 = NaN in the gradient. (NaN is in neither flat part, so it reaches the middle and stays NaN.)
Tensor hardswish(const Tensor& x) {
    const Tensor low = x<-3.0, high = x> 3.0;
    const Tensor m = where(low || high, zeros_like(x), x);
    return where(high, x, where(low, zeros_like(x), m * (m + 3.0) * (1.0 / 6)));
}

// PyTorch 1.13's form: each vector divided by its norm (at least eps), then the dot product.
Tensor cosine_similarity(const Tensor& x1, const Tensor& x2, int64_t dim, double eps) {
    const Shape sizes = broadcast_shapes(x1.sizes(), x2.sizes(), "cosine_similarity");
    if (sizes.empty()) return cosine_similarity(x1.reshape({1}), x2.reshape({1}), dim, eps).reshape({});
    const int64_t d = wrap_dim(dim, static_cast<int64_t>(sizes.size()), "cosine_similarity");
    const Tensor a = x1.expand(sizes), b = x2.expand(sizes);
    const Tensor unit_a = a / clamp_min(norm(a, 2.0, {d}, true), eps);
    const Tensor unit_b = b / clamp_min(norm(b, 2.0, {d}, true), eps);
    return sum(unit_a * unit_b, {d});
}

namespace {
// Checked before a mask takes its number from the generator. (An integer tensor could not hold
// the scale 1 / keep.)
void check_floating(const char* op, const Tensor& x) {
    XGRAD_CHECK(x.is_floating_point(), op, ": expected a floating-point input, got ", x.dtype());
}

// 1 / keep with probability keep, else 0, in x's dtype: inverted dropout's mask, a constant of
// the graph.
Tensor scaled_mask(const char* op, const Tensor& x, const Shape& sizes, double keep, Generator* generator) {
    check_floating(op, x);
    return Tensor(kernels::bernoulli(sizes, keep, x.dtype(), generator_or_default(generator), 1.0 / keep));
}

void check_p(const char* op, double p) {
    XGRAD_CHECK(p >= 0 && p <= 1, op, ": dropout probability has to be between 0 and 1, but got ", p);
}
}  // namespace

Tensor dropout(const Tensor& x, double p, bool training, Generator* generator) {
    check_p("dropout", p);
    if (!training || p == 0) return x;
    if (p == 1) return x * 0.0;
    check_floating("dropout", x);
    // One pass, no mask kept: its key is enough for the backward (and the bits are those of
    // x * scaled_mask with the same draw).
    return dropout_with_key(x, 1 - p, kernels::draw_key(generator_or_default(generator)));
}

Tensor dropout2d(const Tensor& x, double p, bool training, Generator* generator) {
    check_p("dropout2d", p);
    XGRAD_CHECK(x.dim() >= 3, "dropout2d: expected input [N, C, ...] with at least 3 dims, got shape ", x.sizes(),
                " (features without channels want Dropout, as PyTorch advises)");
    if (!training || p == 0) return x;
    Shape mask_shape(static_cast<std::size_t>(x.dim()), 1);
    mask_shape[0] = x.size(0);
    mask_shape[1] = x.size(1);
    if (p == 1) return x * 0.0;
    return x * scaled_mask("dropout2d", x, mask_shape, 1 - p, generator);
}

Tensor batch_norm(const Tensor& x, const Tensor& running_mean, const Tensor& running_var, const Tensor& weight,
                  const Tensor& bias, bool training, double momentum, double eps) {
    XGRAD_CHECK(x.dim() >= 2, "batch_norm: expected input [N, C, ...], got shape ", x.sizes());
    const int64_t channels = x.size(1);
    XGRAD_CHECK(channels > 0, "batch_norm: expected at least one channel (dim 1), got shape ", x.sizes());
    // Statistics per channel over every other dim; per-channel tensors broadcast as [1, C, 1, ...].
    Shape dims = {0}, channel_shape(static_cast<std::size_t>(x.dim()), 1);
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    channel_shape[1] = channels;
    for (const Tensor* t : {&running_mean, &running_var, &weight, &bias})
        XGRAD_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == channels),
                    "batch_norm: per-channel tensors must "
                    "have shape [",
                    channels, "], got ", t->sizes());
    Tensor mean, var;
    if (training) {
        const int64_t n = x.numel() / channels;
        // One value per channel has no spread to normalize by; none (an empty batch) gives an
        // empty output and leaves the running statistics alone, as in PyTorch.
        XGRAD_CHECK(n != 1, "batch_norm: expected more than 1 value per channel when training, got input shape ",
                    x.sizes());
        mean = x.mean(dims, true);
        var = x.var(dims, /*unbiased=*/false, true);
        if (n > 0 && running_mean.defined() && running_var.defined()) {
            // Ioffe & Szegedy, Algorithm 2: the inference variance is the unbiased estimate.
            NoGradGuard no_grad;
            const Tensor batch_mean = mean.detach().reshape({channels}).to(running_mean.dtype());
            const Tensor unbiased = (var.detach() * (static_cast<double>(n) / static_cast<double>(n - 1)))
                                        .reshape({channels})
                                        .to(running_var.dtype());
            running_mean.mul_(1 - momentum).add_(batch_mean * momentum);
            running_var.mul_(1 - momentum).add_(unbiased * momentum);
        }
    } else {
        XGRAD_CHECK(running_mean.defined() && running_var.defined(),
                    "batch_norm: evaluation without batch statistics needs running_mean and running_var");
        mean = running_mean.view(channel_shape);
        var = running_var.view(channel_shape);
    }
    Tensor y = (x - mean) * rsqrt(var + eps);
    if (weight.defined()) y = y * weight.view(channel_shape);
    if (bias.defined()) y = y + bias.view(channel_shape);
    return y;
}

Tensor group_norm(const Tensor& x, int64_t num_groups, const Tensor& weight, const Tensor& bias, double eps) {
    XGRAD_CHECK(x.dim() >= 2, "group_norm: expected input [N, C, ...], got shape ", x.sizes());
    const int64_t n = x.size(0), channels = x.size(1);
    XGRAD_CHECK(num_groups > 0 && channels % num_groups == 0, "group_norm: ", channels, " channels (input shape ",
                x.sizes(), ") cannot be split into ", num_groups, " groups");
    for (const Tensor* t : {&weight, &bias})
        XGRAD_CHECK(!t->defined() || (t->dim() == 1 && t->size(0) == channels),
                    "group_norm: per-channel tensors must "
                    "have shape [",
                    channels, "], got ", t->sizes());
    // Each sample's group of C / G channels (and all their positions) is normalized together.
    // The group size from the shape, not -1: an empty batch has no elements to infer it from.
    int64_t group_size = channels / num_groups;
    for (int64_t d = 2; d < x.dim(); ++d) group_size *= x.size(d);
    const Tensor grouped = x.reshape({n, num_groups, group_size});
    const Tensor mean = grouped.mean({2}, true), var = grouped.var({2}, false, true);
    Tensor y = ((grouped - mean) * rsqrt(var + eps)).reshape(x.sizes());
    Shape channel_shape(static_cast<std::size_t>(x.dim()), 1);
    channel_shape[1] = channels;
    if (weight.defined()) y = y * weight.view(channel_shape);
    if (bias.defined()) y = y + bias.view(channel_shape);
    return y;
}

Tensor layer_norm(const Tensor& x, int64_t normalized_dims, const Tensor& weight, const Tensor& bias, double eps) {
    XGRAD_CHECK(normalized_dims >= 1 && normalized_dims <= x.dim(), "layer_norm: cannot normalize the last ",
                normalized_dims, " dims of shape ", x.sizes());
    Shape dims;
    for (int64_t d = x.dim() - normalized_dims; d < x.dim(); ++d) dims.push_back(d);
    const Tensor mean = x.mean(dims, true);
    const Tensor var = x.var(dims, false, true);
    Tensor y = (x - mean) * rsqrt(var + eps);
    if (weight.defined()) y = y * weight;
    if (bias.defined()) y = y + bias;
    return y;
}

Tensor reduce_loss(const Tensor& losses, Reduction reduction) {
    switch (reduction) {
        case Reduction::none:
            return losses;
        case Reduction::sum:
            return losses.sum();
        case Reduction::mean:
            return losses.mean();
    }
    return losses;
}

namespace {
void check_same_shape(const char* op, const Tensor& input, const Tensor& target) {
    XGRAD_CHECK(input.sizes() == target.sizes(), op, ": the input has shape ", input.sizes(),
                " but the target has shape ", target.sizes());
}
}  // namespace

Tensor mse_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check_same_shape("mse_loss", input, target);
    return reduce_loss(square(input - target), reduction);
}

Tensor l1_loss(const Tensor& input, const Tensor& target, Reduction reduction) {
    check_same_shape("l1_loss", input, target);
    return reduce_loss(abs(input - target), reduction);
}

Tensor smooth_l1_loss(const Tensor& input, const Tensor& target, Reduction reduction, double beta) {
    check_same_shape("smooth_l1_loss", input, target);
    XGRAD_CHECK(beta >= 0, "smooth_l1_loss: beta must be non-negative, got ", beta);
    const Tensor d = abs(input - target);
    if (beta == 0) return reduce_loss(d, reduction);
    const Tensor quadratic = d < beta, small = where(quadratic, d, zeros_like(d));  // as in huber_loss
    return reduce_loss(where(quadratic, square(small) * (0.5 / beta), d - 0.5 * beta), reduction);
}

Tensor huber_loss(const Tensor& input, const Tensor& target, Reduction reduction, double delta) {
    check_same_shape("huber_loss", input, target);
    XGRAD_CHECK(delta > 0, "huber_loss: delta must be positive, got ", delta);
    const Tensor d = abs(input - target), quadratic = d < delta;
    // The square reads d only where it is selected, so an infinite d cannot make its gradient NaN.
    const Tensor small = where(quadratic, d, zeros_like(d));
    return reduce_loss(where(quadratic, square(small) * 0.5, (d - 0.5 * delta) * delta), reduction);
}

// target log target is taken as 0 where the target is 0 (xlogy), through a log of 1 there, so
// neither value nor gradient turns into NaN; a negative target gives NaN, as in PyTorch.
Tensor kl_div(const Tensor& input, const Tensor& target, const KLDivOptions& options) {
    check_same_shape("kl_div", input, target);
    Tensor pointwise;
    if (options.log_target) {
        pointwise = exp(target) * (target - input);
    } else {
        const Tensor nonzero = target != 0.0;
        const Tensor log_target = log(where(nonzero, target, ones_like(target)));
        pointwise = where(nonzero, target * log_target, zeros_like(target)) - target * input;
    }
    if (options.reduction == KLDivReduction::batchmean)  // an empty batch gives 0 / 0, NaN, as in PyTorch
        return div(pointwise.sum(), scalar_like(pointwise, input.dim() == 0 ? 1.0 : double(input.size(0))));
    return reduce_loss(pointwise, options.reduction == KLDivReduction::none  ? Reduction::none
                                  : options.reduction == KLDivReduction::sum ? Reduction::sum
                                                                             : Reduction::mean);
}

namespace {
// Per-sample weights w[target] (0 for ignored samples) and the targets made safe to gather.
std::pair<Tensor, Tensor> target_weights(const char* op, const Tensor& scores, const Tensor& target,
                                         const Tensor& weight, int64_t ignore_index) {
    XGRAD_CHECK(scores.dim() == 2, op, ": expected input [N, C], got shape ", scores.sizes());
    XGRAD_CHECK(target.dtype() == kInt64, op, ": the target must hold int64 class indices, got ", target.dtype());
    XGRAD_CHECK(target.dim() == 1 && target.size(0) == scores.size(0), op, ": the target has shape ", target.sizes(),
                " but the input has shape ", scores.sizes(), " (expected [", scores.size(0), "])");
    const int64_t classes = scores.size(1);
    XGRAD_CHECK(!weight.defined() || (weight.dim() == 1 && weight.size(0) == classes), op,
                ": the class weight has shape ", weight.defined() ? weight.sizes() : Shape{}, " but there are ",
                classes, " classes");
    const Tensor ignored = target == scalar_tensor(static_cast<double>(ignore_index), kInt64);
    const Tensor safe = where(ignored, zeros_like(target), target);
    for (int64_t t : safe.to_vector<int64_t>())
        XGRAD_CHECK(t >= 0 && t < classes, op, ": target ", t, " is out of bounds for ", classes, " classes");
    Tensor w =
        weight.defined() ? index_select(weight.to(scores.dtype()), 0, safe) : ones({target.size(0)}, scores.dtype());
    w = where(ignored, zeros_like(w), w);
    return {w, safe};
}

// A weighted mean: total / sum of the targets' weights. When every target is ignored the loss is
// PyTorch's 0/0 = NaN with a gradient of zeros: dividing by the zero sum would send inf * 0 = NaN
// back into every logit, and one such batch (all padding) would poison the weights. A deliberate
// difference: when the targets are not ignored but all of classes weighted 0, PyTorch's gradient
// is NaN; here it is zeros too.
Tensor divide_by_weight(const Tensor& total, const Tensor& w) {
    const Tensor denominator = w.sum();
    if (denominator.item() == 0) return total * 0.0 + std::numeric_limits<double>::quiet_NaN();
    return total / denominator;
}

Tensor weighted_reduction(const Tensor& per_sample, const Tensor& w, Reduction reduction) {
    if (reduction == Reduction::mean) return divide_by_weight(per_sample.sum(), w);
    return reduce_loss(per_sample, reduction);
}

// Class scores in any of PyTorch's layouts as rows [M, C] with targets [M]: [N, C, d1, ...] with
// targets [N, d1, ...] (one row per position, the class dim moved last), or an unbatched [C]
// with a 0-d target. The means over rows are the same; `none` reshapes back to target_sizes.
struct ClassRows {
    Tensor scores, target;
    Shape target_sizes;
};
ClassRows class_rows(const char* op, const Tensor& scores, const Tensor& target) {
    XGRAD_CHECK(scores.dim() >= 1, op, ": expected input [N, C], [N, C, d1, ...] or [C], got a 0-d tensor");
    Shape expected = scores.sizes();
    expected.erase(scores.dim() == 1 ? 0 : 1);
    XGRAD_CHECK(target.sizes() == expected, op, ": the target has shape ", target.sizes(), " but the input has shape ",
                scores.sizes(), " (expected ", expected, ")");
    if (scores.dim() == 1) return {scores.unsqueeze(0), target.reshape({1}), expected};
    Shape class_last = {0};
    for (int64_t d = 2; d < scores.dim(); ++d) class_last.push_back(d);
    class_last.push_back(1);
    return {scores.permute(class_last).reshape({-1, scores.size(1)}), target.reshape({-1}), expected};
}

template <class Loss>
Tensor over_class_rows(const char* op, const Tensor& scores, const Tensor& target, Reduction reduction, Loss&& loss) {
    const ClassRows rows = class_rows(op, scores, target);
    const Tensor result = loss(rows.scores, rows.target);
    return reduction == Reduction::none ? result.reshape(rows.target_sizes) : result;
}

// Class-probability targets (soft labels, the same shape as the logits): -sum_c w_c t_c log p_c
// per sample; label smoothing mixes t with the uniform distribution. The mean divides by the
// number of samples, not by the weights (PyTorch's definition for this form).
Tensor cross_entropy_with_probabilities(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& o) {
    XGRAD_CHECK(target.sizes() == logits.sizes(),
                "cross_entropy: class-probability targets must have the input's shape ", logits.sizes(), ", got ",
                target.sizes());
    XGRAD_CHECK(logits.dim() >= 1, "cross_entropy: expected input [N, C], [N, C, d1, ...] or [C], got a 0-d tensor");
    const int64_t class_dim = logits.dim() == 1 ? 0 : 1, classes = logits.size(class_dim);
    XGRAD_CHECK(!o.weight.defined() || (o.weight.dim() == 1 && o.weight.size(0) == classes),
                "cross_entropy: the class weight has shape ", o.weight.defined() ? o.weight.sizes() : Shape{},
                " but there are ", classes, " classes");
    Tensor t = target.to(logits.dtype());
    if (o.label_smoothing > 0) t = t * (1 - o.label_smoothing) + o.label_smoothing / static_cast<double>(classes);
    Tensor per_class = log_softmax(logits, class_dim) * t;
    if (o.weight.defined()) {
        Shape along_classes(static_cast<std::size_t>(logits.dim() - class_dim), 1);
        along_classes[0] = classes;
        per_class = per_class * o.weight.to(logits.dtype()).reshape(along_classes);
    }
    return reduce_loss(-per_class.sum({class_dim}), o.reduction);
}
}  // namespace

Tensor nll_loss(const Tensor& log_probs, const Tensor& target, const NLLOptions& o) {
    if (log_probs.dim() != 2)
        return over_class_rows("nll_loss", log_probs, target, o.reduction,
                               [&](const Tensor& rows, const Tensor& targets) { return nll_loss(rows, targets, o); });
    auto [w, safe] = target_weights("nll_loss", log_probs, target, o.weight, o.ignore_index);
    const Tensor picked = gather(log_probs, 1, safe.unsqueeze(1)).squeeze(1);
    return weighted_reduction(-(picked * w), w, o.reduction);
}

Tensor cross_entropy(const Tensor& logits, const Tensor& target, const CrossEntropyOptions& o) {
    XGRAD_CHECK(o.label_smoothing >= 0 && o.label_smoothing <= 1,
                "cross_entropy: label_smoothing must be in [0, 1], got ", o.label_smoothing);
    if (is_floating(target.dtype())) return cross_entropy_with_probabilities(logits, target, o);
    if (logits.dim() != 2)
        return over_class_rows(
            "cross_entropy", logits, target, o.reduction,
            [&](const Tensor& rows, const Tensor& targets) { return cross_entropy(rows, targets, o); });
    if (!o.weight.defined() && o.label_smoothing == 0 && logits.dim() == 2 && is_floating(logits.dtype()) &&
        target.dtype() == kInt64 && target.dim() == 1 && target.size(0) == logits.size(0)) {
        int64_t kept = 0;
        for (int64_t v : target.to_vector<int64_t>()) {
            XGRAD_CHECK(v == o.ignore_index || (v >= 0 && v < logits.size(1)), "cross_entropy: target ", v,
                        " is out of bounds for ", logits.size(1), " classes");
            kept += v != o.ignore_index;
        }
        // All targets ignored with mean reduction is 0/0: the composed path gives PyTorch's NaN.
        if (kept > 0 || o.reduction != Reduction::mean) {
            const Tensor losses = cross_entropy_rows(logits, target, o.ignore_index);
            if (o.reduction == Reduction::none) return losses;
            return o.reduction == Reduction::sum ? losses.sum() : losses.sum() / static_cast<double>(kept);
        }
    }
    auto [w, safe] = target_weights("cross_entropy", logits, target, o.weight, o.ignore_index);
    const Tensor logp = log_softmax(logits, 1);
    const Tensor nll = -(gather(logp, 1, safe.unsqueeze(1)).squeeze(1) * w);
    if (o.label_smoothing == 0) return weighted_reduction(nll, w, o.reduction);
    // The smoothing term: -sum_c w_c log p_c / C per sample (zero for ignored samples).
    const int64_t classes = logits.size(1);
    const Tensor class_w = o.weight.defined() ? o.weight.to(logits.dtype()) : ones({classes}, logits.dtype());
    // Only ignored targets drop the smoothing term, as in PyTorch: a target whose class has weight 0
    // keeps -sum_c w_c log p_c / C (the other classes' weights are not 0).
    const Tensor kept =
        where(target == scalar_tensor(static_cast<double>(o.ignore_index), kInt64), zeros_like(w), ones_like(w));
    Tensor smooth = -(logp * class_w).sum({1}) * kept * (1.0 / static_cast<double>(classes));
    const double s = o.label_smoothing;
    if (o.reduction == Reduction::mean) return divide_by_weight(nll.sum() * (1 - s) + smooth.sum() * s, w);
    return reduce_loss(nll * (1 - s) + smooth * s, o.reduction);
}

namespace {
// -(t log p + (1 - t) log(1 - p)) element by element, the logs clamped at -100 as in PyTorch, with
// PyTorch's gradient for p: (p - t) / max(p (1 - p), 1e-12), finite at p = 0 or 1 where the
// clamped logs' chain rule would give inf * 0 = NaN. For t: log(1 - p) - log p with the forward's
// clamps, so +-100 at p = 0 or 1 where PyTorch's (-logit(p)) is infinite.
struct BinaryCrossEntropy : autograd::Function<BinaryCrossEntropy> {
    static Tensor clamped_logs_difference(const Tensor& p) {
        return clamp_min(log(1.0 - p), -100.0) - clamp_min(log(p), -100.0);
    }
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& p, const Tensor& t) {
        ctx->save_for_backward({p, t});
        return -(t * clamp_min(log(p), -100.0) + (1.0 - t) * clamp_min(log(1.0 - p), -100.0));
    }
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const std::vector<Tensor> saved = ctx->get_saved_variables();
        const Tensor &p = saved[0], &t = saved[1], &g = grads[0];
        Tensor grad_p, grad_t;
        if (ctx->needs_input_grad(0)) grad_p = g * (p - t) / clamp_min((1.0 - p) * p, 1e-12);
        if (ctx->needs_input_grad(1)) grad_t = g * clamped_logs_difference(p);
        return {grad_p, grad_t};
    }
};
// A weight (or pos_weight) must broadcast to the input's shape without growing it; the error names
// the loss, not the multiplication inside it.
void check_weight_shape(const char* op, const char* name, const Tensor& weight, const Tensor& input) {
    if (!weight.defined()) return;
    XGRAD_CHECK(broadcast_shapes(weight.sizes(), input.sizes(), op) == input.sizes(), op, ": the ", name, " of shape ",
                weight.sizes(), " does not broadcast to the input's shape ", input.sizes());
}
}  // namespace

Tensor binary_cross_entropy(const Tensor& probs, const Tensor& target, const Tensor& weight, Reduction reduction) {
    check_same_shape("binary_cross_entropy", probs, target);
    check_weight_shape("binary_cross_entropy", "weight", weight, probs);
    XGRAD_CHECK(is_floating(probs.dtype()) && probs.dtype() == target.dtype(),
                "binary_cross_entropy: expected probabilities and targets of one floating type, got ", probs.dtype(),
                " and ", target.dtype());
    {
        NoGradGuard no_grad;
        XGRAD_CHECK(logical_and(probs >= 0.0, probs <= 1.0).all().item<bool>(),
                    "binary_cross_entropy: every probability must be in [0, 1] (apply sigmoid first, or use "
                    "binary_cross_entropy_with_logits on the scores)");
    }
    Tensor losses = BinaryCrossEntropy::apply(probs, target);
    if (weight.defined()) losses = losses * weight;
    return reduce_loss(losses, reduction);
}

Tensor binary_cross_entropy_with_logits(const Tensor& logits, const Tensor& target, const Tensor& weight,
                                        const Tensor& pos_weight, Reduction reduction) {
    check_same_shape("binary_cross_entropy_with_logits", logits, target);
    check_weight_shape("binary_cross_entropy_with_logits", "weight", weight, logits);
    check_weight_shape("binary_cross_entropy_with_logits", "pos_weight", pos_weight, logits);
    // log(1 + e^-|x|) + max(-x, 0) = -log sigmoid(x), never exponentiating a large positive number.
    const Tensor log_sigmoid_neg = log1p(exp(-abs(logits))) + clamp_min(-logits, 0.0);
    Tensor losses;
    if (pos_weight.defined()) {
        const Tensor coefficient = (pos_weight - 1.0) * target + 1.0;
        losses = (1.0 - target) * logits + coefficient * log_sigmoid_neg;
    } else {
        losses = (1.0 - target) * logits + log_sigmoid_neg;
    }
    if (weight.defined()) losses = losses * weight;
    return reduce_loss(losses, reduction);
}

}  // namespace xgrad::nn::functional
