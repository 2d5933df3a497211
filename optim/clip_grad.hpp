#pragma once
/// Gradient clipping and the max-norm weight constraint.

#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::optim {

/// Scales all gradients together so that their joint norm is at most max_norm; returns the norm
/// before clipping. norm_type: any p > 0, or infinity. A NaN norm turns every gradient into NaN (as
/// in PyTorch); with error_if_nonfinite a NaN or infinite norm throws instead, changing nothing.
double clip_grad_norm_(const std::vector<Tensor>& parameters, double max_norm, double norm_type = 2.0,
                       bool error_if_nonfinite = false);

/// Limits every gradient element to [-clip_value, clip_value].
void clip_grad_value_(const std::vector<Tensor>& parameters, double clip_value);

/// The max-norm constraint of Srivastava et al. (2014): every slice of `weight` along `dim` (for a
/// Linear weight [out, in] and dim 0, the incoming weight vector of each unit) whose L2 norm
/// exceeds max_norm is scaled back onto the ball of radius max_norm. Apply after each step.
void max_norm_(const Tensor& weight, double max_norm, int64_t dim = 0);

}  // namespace xgrad::optim
