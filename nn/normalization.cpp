#include <xgrad/nn/normalization.hpp>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/functional.hpp>

namespace xgrad::nn {

namespace detail {

BatchNormBase::BatchNormBase(BatchNormOptions o, const char* name) : options(o), name_(name) {
    XGRAD_CHECK(o.num_features > 0, name, ": num_features must be positive, got ", o.num_features);
    XGRAD_CHECK(o.momentum >= 0 && o.momentum <= 1, name, ": momentum must be in [0, 1], got ", o.momentum);
    if (o.affine) {
        weight = register_parameter("weight", ones({o.num_features}, o.dtype));
        bias = register_parameter("bias", zeros({o.num_features}, o.dtype));
    }
    if (o.track_running_stats) {
        running_mean = register_buffer("running_mean", zeros({o.num_features}, o.dtype));
        running_var = register_buffer("running_var", ones({o.num_features}, o.dtype));
        num_batches_tracked = register_buffer("num_batches_tracked", zeros({}, kInt64));
    }
}

void BatchNormBase::reset_running_stats() {
    if (!options.track_running_stats) return;
    NoGradGuard no_grad;
    running_mean.zero_();
    running_var.fill_(1.0);
    num_batches_tracked.zero_();
}

Tensor BatchNormBase::forward(const Tensor& x) {
    check_dims(x);
    XGRAD_CHECK(x.size(1) == options.num_features, name_, ": the input has ", x.size(1), " channels (shape ", x.sizes(),
                ") but the layer was built for ", options.num_features);
    const bool use_batch_stats = is_training() || !options.track_running_stats;
    if (is_training() && options.track_running_stats) {
        NoGradGuard no_grad;
        num_batches_tracked.add_(1.0);
    }
    const bool update = is_training() && options.track_running_stats;
    return F::batch_norm(x, update || !use_batch_stats ? running_mean : Tensor(),
                         update || !use_batch_stats ? running_var : Tensor(), weight, bias, use_batch_stats,
                         options.momentum, options.eps);
}

std::string BatchNormBase::extra_repr() const {
    return std::to_string(options.num_features) + ", eps=" + std::to_string(options.eps) +
           ", momentum=" + std::to_string(options.momentum) + ", affine=" + (options.affine ? "true" : "false") +
           ", track_running_stats=" + (options.track_running_stats ? "true" : "false");
}

}  // namespace detail

void BatchNorm1d::check_dims(const Tensor& x) const {
    XGRAD_CHECK(x.dim() == 2 || x.dim() == 3, "BatchNorm1d: expected input [N, C] or [N, C, L], got shape ", x.sizes());
}

void BatchNorm2d::check_dims(const Tensor& x) const {
    XGRAD_CHECK(x.dim() == 4, "BatchNorm2d: expected input [N, C, H, W], got shape ", x.sizes());
}

GroupNorm::GroupNorm(GroupNormOptions o) : options(o) {
    XGRAD_CHECK(o.num_groups > 0 && o.num_channels > 0 && o.num_channels % o.num_groups == 0,
                "GroupNorm: num_channels (", o.num_channels, ") must be a positive multiple of num_groups (",
                o.num_groups, ")");
    if (o.affine) {
        weight = register_parameter("weight", ones({o.num_channels}, o.dtype));
        bias = register_parameter("bias", zeros({o.num_channels}, o.dtype));
    }
}

Tensor GroupNorm::forward(const Tensor& x) {
    XGRAD_CHECK(x.dim() >= 2 && x.size(1) == options.num_channels, "GroupNorm: expected input [N, ",
                options.num_channels, ", ...], got shape ", x.sizes());
    return F::group_norm(x, options.num_groups, weight, bias, options.eps);
}

std::string GroupNorm::extra_repr() const {
    return std::to_string(options.num_groups) + ", " + std::to_string(options.num_channels) +
           ", eps=" + std::to_string(options.eps) + ", affine=" + (options.affine ? "true" : "false");
}

LayerNorm::LayerNorm(LayerNormOptions o) : options(o) {
    XGRAD_CHECK(!o.normalized_shape.empty(), "LayerNorm: normalized_shape must not be empty");
    if (o.elementwise_affine) {
        weight = register_parameter("weight", ones(o.normalized_shape, o.dtype));
        bias = register_parameter("bias", zeros(o.normalized_shape, o.dtype));
    }
}

Tensor LayerNorm::forward(const Tensor& x) {
    const auto k = static_cast<int64_t>(options.normalized_shape.size());
    XGRAD_CHECK(x.dim() >= k, "LayerNorm: the input has shape ", x.sizes(), ", fewer dims than normalized_shape ",
                options.normalized_shape);
    const Shape trailing(x.sizes().end() - k, x.sizes().end());
    XGRAD_CHECK(trailing == options.normalized_shape, "LayerNorm: the input's trailing dims ", trailing,
                " differ from normalized_shape ", options.normalized_shape);
    return F::layer_norm(x, k, weight, bias, options.eps);
}

}  // namespace xgrad::nn
