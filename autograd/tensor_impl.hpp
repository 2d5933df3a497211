#pragma once
/// The state behind a Tensor handle (internal to autograd/).

#include <memory>
#include <vector>

#include <xgrad/autograd/node.hpp>

namespace xgrad {

struct TensorImpl {
    NDArray data;
    bool requires_grad = false;
    bool retains_grad = false;
    uint32_t output_nr = 0;
    /// The result of a view op (it shares storage with the tensor it views): an in-place op on it
    /// is refused while recording, as the viewed tensor's history would not see the write.
    bool is_view = false;
    std::shared_ptr<Node> grad_fn;
    Tensor grad;
    /// A leaf's AccumulateGrad node, weakly: the node holds the leaf, never the other way round.
    std::weak_ptr<Node> grad_accumulator;
    /// Hooks of a leaf (non-leaf hooks live on the grad_fn's output_hooks).
    std::vector<std::pair<int, Tensor::Hook>> leaf_hooks;
    /// A leaf's hooks that run after its grad() is updated.
    std::vector<std::pair<int, Tensor::PostAccumulateGradHook>> post_accumulate_hooks;
};

/// The node that adds incoming gradients into a leaf's grad().
class AccumulateGrad : public Node, detail::NodeCounter {
public:
    explicit AccumulateGrad(std::shared_ptr<TensorImpl> leaf);
    const char* name() const override { return "AccumulateGrad"; }
    Grads apply(Grads&& grads) override;
    const std::shared_ptr<TensorImpl>& leaf() const { return leaf_; }

private:
    /// Adds g into the leaf's grad().
    void accumulate(Tensor g);
    std::shared_ptr<TensorImpl> leaf_;
};

}  // namespace xgrad
