#pragma once
/// The backward engine and the functional autograd API.
///
/// One thread at a time per graph: a pass keeps its bookkeeping in the nodes it runs (which makes
/// it fast), so two passes that share a node, even only a leaf such as a model's weight, must not
/// run at the same time on different threads (PyTorch allows that; here run them one after the
/// other, or give each thread its own copy of the model, as data-parallel training does).

#include <functional>
#include <optional>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::autograd {

/// Backpropagates from outputs (each seeded with its grad_outputs entry, or ones for a one-element
/// output) and accumulates into the grad() of every leaf reached.
void backward(const std::vector<Tensor>& outputs, const std::vector<Tensor>& grad_outputs = {},
              bool retain_graph = false, bool create_graph = false);

/// Runs fn once the backward pass running on this thread has finished its graph, before
/// backward() returns (PyTorch's Variable._execution_engine.queue_callback): a hook that started
/// work during the pass (a data-parallel gradient reduction) waits for it here. Callbacks run in
/// the order queued; one may queue more. Throws outside a backward pass.
void queue_callback(std::function<void()> fn);

/// Gradients of outputs with respect to inputs, returned instead of accumulated into grad().
/// With create_graph the results carry a graph of their own (for second derivatives); then
/// retain_graph defaults to true. allow_unused: an input the outputs do not depend on gives an
/// undefined tensor instead of an error.
std::vector<Tensor> grad(const std::vector<Tensor>& outputs, const std::vector<Tensor>& inputs,
                         const std::vector<Tensor>& grad_outputs = {}, std::optional<bool> retain_graph = std::nullopt,
                         bool create_graph = false, bool allow_unused = false);

}  // namespace xgrad::autograd
