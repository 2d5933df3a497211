#include <xgrad/distributed/sync_batch_norm.hpp>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/distributed/distributed.hpp>

namespace xgrad::nn {

void SyncBatchNorm::check_dims(const Tensor& x) const {
    XGRAD_CHECK(x.dim() >= 2, "SyncBatchNorm: expected input [N, C, ...], got shape ", x.sizes());
}

Tensor SyncBatchNorm::forward(const Tensor& x) {
    // Statistics are shared in training only (PyTorch's need_sync): in evaluation the running ones
    // are used, or without them each rank's own batch, with no collective (rank 0 may evaluate alone).
    if (distributed::world_size() == 1 || !is_training()) return BatchNormBase::forward(x);
    check_dims(x);
    const int64_t channels = options.num_features;
    XGRAD_CHECK(x.size(1) == channels, "SyncBatchNorm: the input has ", x.size(1), " channels (shape ", x.sizes(),
                ") but the layer was built for ", channels);
    Shape dims = {0}, channel_shape(static_cast<std::size_t>(x.dim()), 1);
    for (int64_t d = 2; d < x.dim(); ++d) dims.push_back(d);
    channel_shape[1] = channels;

    // Values per channel over all ranks (shards may differ in size: the last batch of an epoch).
    const Tensor count = full({1}, static_cast<double>(x.numel() / channels), kInt64);
    distributed::all_reduce(count);
    const auto n = count.item<int64_t>();
    XGRAD_CHECK(n > 1, "SyncBatchNorm: expected more than 1 value per channel over all ranks when training, got ", n,
                " (input shape on rank ", distributed::rank(), ": ", x.sizes(), ")");
    // Two passes, as BatchNorm's var does: the mean first, then the squared deviations from it
    // (the sum of squares minus n mean^2 cancels badly when the mean is large).
    const Tensor mean = (distributed::all_reduce_sum(x.sum(dims)) / static_cast<double>(n)).view(channel_shape);
    const Tensor centered = x - mean;
    const Tensor var =
        (distributed::all_reduce_sum(centered.square().sum(dims)) / static_cast<double>(n)).view(channel_shape);
    if (options.track_running_stats) {
        NoGradGuard no_grad;
        num_batches_tracked.add_(1.0);
        const double m = options.momentum;
        const Tensor unbiased =
            var.detach().reshape({channels}) * (static_cast<double>(n) / static_cast<double>(n - 1));
        running_mean.mul_(1 - m).add_(mean.detach().reshape({channels}).to(running_mean.dtype()) * m);
        running_var.mul_(1 - m).add_(unbiased.to(running_var.dtype()) * m);
    }
    Tensor y = centered * rsqrt(var + options.eps);
    if (weight.defined()) y = y * weight.view(channel_shape);
    if (bias.defined()) y = y + bias.view(channel_shape);
    return y;
}

}  // namespace xgrad::nn
