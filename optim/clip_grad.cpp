#include <xgrad/optim/clip_grad.hpp>

#include <cmath>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::optim {

double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type,
                       bool error_if_nonfinite) {
    XGRAD_CHECK(max_norm >= 0, "clip_grad_norm_: max_norm must be non-negative, got ", max_norm);
    XGRAD_CHECK(norm_type > 0, "clip_grad_norm_: norm_type must be positive, got ", norm_type);
    NoGradGuard no_grad;
    double total = 0;
    const bool inf = std::isinf(norm_type);
    for (const Tensor& p : parameters) {
        if (!p.grad().defined()) continue;
        const double n = norm(p.grad().to(kFloat64), norm_type).item();
        // std::max would drop a NaN norm; the largest of a NaN and anything is NaN, as in PyTorch.
        total = inf ? (std::isnan(n) || n > total ? n : total) : total + std::pow(n, norm_type);
    }
    if (!inf) total = std::pow(total, 1.0 / norm_type);
    XGRAD_CHECK(!error_if_nonfinite || std::isfinite(total), "clip_grad_norm_: the total norm of order ", norm_type,
                " of the gradients is ", total, "; they cannot be clipped (error_if_nonfinite = true)");
    // A NaN norm scales every gradient by NaN, as PyTorch's clamp(max_norm / norm, max = 1) does, so
    // that a step on it shows at once instead of leaving the other gradients as they were.
    const double scale = max_norm / (total + 1e-6);
    if (std::isnan(scale) || scale < 1)
        for (const Tensor& p : parameters)
            if (p.grad().defined()) p.grad().mul_(scale);
    return total;
}

void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value) {
    XGRAD_CHECK(clip_value >= 0, "clip_grad_value_: clip_value must be non-negative, got ", clip_value);
    NoGradGuard no_grad;
    for (const Tensor& p : parameters)
        if (p.grad().defined()) p.grad().clamp_(-clip_value, clip_value);
}

void max_norm_(const Tensor& weight, double max_norm, int64_t dim) {
    XGRAD_CHECK(max_norm > 0, "max_norm_: max_norm must be positive, got ", max_norm);
    XGRAD_CHECK(weight.dim() >= 1, "max_norm_: expected a tensor with at least one dimension");
    NoGradGuard no_grad;
    const int64_t d = wrap_dim(dim, weight.dim(), "max_norm_");
    Shape others;
    for (int64_t k = 0; k < weight.dim(); ++k)
        if (k != d) others.push_back(k);
    const Tensor norms = others.empty() ? abs(weight) : norm(weight, 2.0, others, true);
    // Slices inside the ball keep scale 1; the others are scaled to norm max_norm exactly.
    const Tensor scale = where(norms > max_norm, scalar_like(norms, max_norm) / norms, ones_like(norms));
    weight.mul_(scale);
}

}  // namespace xgrad::optim
