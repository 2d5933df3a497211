#pragma once
/// Explicit penalties for Cost = Loss + Penalty (the lecture's regularization), differentiable,
/// on any selection of parameters: usually the weights and not the biases, e.g.
///
///     std::vector<Tensor> weights;
///     for (auto& [name, p] : model.named_parameters())
///         if (name.ends_with("weight")) weights.push_back(p);
///     Tensor cost = loss + nn::l2_penalty(weights, 1e-4);
///
/// l2_penalty(w, lambda) adds lambda * w to each gradient, the same as an optimizer's
/// weight_decay = lambda (see optim/optimizer.hpp), but only on the parameters you pass.

#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn {

/// lambda / 2 * sum of squared elements (weight decay).
Tensor l2_penalty(const std::vector<Tensor>& params, double lambda);
/// lambda * sum of absolute values (sparsity).
Tensor l1_penalty(const std::vector<Tensor>& params, double lambda);
/// l1 * sum |w| + l2 / 2 * sum w^2 (Zou & Hastie 2005).
Tensor elastic_net_penalty(const std::vector<Tensor>& params, double l1, double l2);
/// Parameters whose dotted name ends with suffix ("weight"): the usual selection for penalties.
std::vector<Tensor> parameters_named(const std::vector<std::pair<std::string, Tensor>>& named,
                                     const std::string& suffix);

}  // namespace xgrad::nn
