#pragma once
/// nn::SyncBatchNorm: batch normalization whose batch statistics come from the whole global batch,
/// every rank's shard together (torch.nn.SyncBatchNorm). With DistributedDataParallel each rank
/// otherwise normalizes with the statistics of its own shard only, which for small per-rank
/// batches are noisy estimates (Ioffe & Szegedy's argument for large enough batches).
///
/// A drop-in for BatchNorm1d/BatchNorm2d (same options, parameters and buffers, so checkpoints
/// load either way) for input [N, C, ...]. In training the per-channel sums and the sums of squared
/// deviations are all-reduced with distributed::all_reduce_sum, a differentiable op, so the
/// gradient across ranks follows by the chain rule. Evaluation uses the running statistics, and a
/// world of one process is plain batch normalization.

#include <xgrad/nn/normalization.hpp>

namespace xgrad::nn {

class SyncBatchNorm : public detail::BatchNormBase {
public:
    explicit SyncBatchNorm(BatchNormOptions options) : BatchNormBase(options, "SyncBatchNorm") {}
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "SyncBatchNorm"; }

private:
    void check_dims(const Tensor& x) const override;
};

}  // namespace xgrad::nn
