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
    /// For the result of a view op, the tensor it views (the first that is no view itself): a
    /// recorded in-place write into the view gives that base a new history, and a view whose base
    /// was written since its history was set takes a fresh one when next used (view_rebase.hpp).
    std::shared_ptr<TensorImpl> view_base;
    /// The view was made while recording (views made under NoGradGuard never follow their base).
    bool differentiable_view = false;
    /// The storage's version when the view's history was last set.
    uint64_t view_version = 0;
    std::shared_ptr<Node> grad_fn;
    Tensor grad;
    /// A leaf's AccumulateGrad node, weakly: the node holds the leaf, never the other way round.
    std::weak_ptr<Node> grad_accumulator;
    /// Hooks of a leaf (non-leaf hooks live on the grad_fn's output_hooks).
    std::vector<std::pair<int, Tensor::Hook>> leaf_hooks;
    /// Every (grad_fn, output) a non-leaf hook was registered on: an in-place op moves the tensor
    /// to a new grad_fn while its earlier hooks stay on the old one, where remove_hook finds them.
    std::vector<std::pair<std::weak_ptr<Node>, uint32_t>> hook_sites;
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
