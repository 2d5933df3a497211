#include <xgrad/autograd/node.hpp>

#include <atomic>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor_impl.hpp>
#include <xgrad/autograd/view_rebase.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {

namespace {
std::atomic<int64_t> live_nodes{0};
}  // namespace

detail::NodeCounter::NodeCounter() {
    ++live_nodes;
}
detail::NodeCounter::~NodeCounter() {
    --live_nodes;
}
int64_t live_node_count() {
    return live_nodes.load();
}

// A chain of nodes held by shared_ptr would be destroyed recursively, one stack frame per node.
// Instead, the outermost destructor collects the edges of every node that dies under it and
// releases them one at a time from a loop.
Node::~Node() {
    thread_local std::vector<std::shared_ptr<Node>>* pending = nullptr;
    std::vector<std::shared_ptr<Node>> local;
    const bool outermost = pending == nullptr;
    if (outermost) pending = &local;
    for (Edge& e : next_edges)
        if (e.function) pending->push_back(std::move(e.function));
    if (!outermost) return;
    while (!local.empty()) {
        std::shared_ptr<Node> next = std::move(local.back());
        local.pop_back();
        next.reset();  // may push that node's own edges onto `local`
    }
    pending = nullptr;
}

// ---- saved tensors ----------------------------------------------------------------------------
SavedTensor::SavedTensor(const Tensor& tensor, bool is_output)
    : data_(tensor.data()),
      version_(tensor.version()),
      is_output_(is_output),
      requires_grad_(tensor.requires_grad()),
      output_nr_(tensor.output_nr()) {
    // An output keeps only its data: holding its handle would hold its grad_fn, i.e. the very
    // node that saves it, a shared_ptr cycle. A view is kept without the tensor it views (whose
    // history may come to pass through this node after a write through another view: a cycle
    // too); the saved view is only read, at the version checked on unpacking.
    if (is_output) return;
    tensor_ = tensor;
    if (tensor.impl()->view_base) {
        tensor.grad_fn();  // brought up to date first
        tensor_ = Tensor(std::make_shared<TensorImpl>(*tensor.impl()));
        tensor_.impl()->view_base.reset();
    }
}

Tensor SavedTensor::unpack(const std::shared_ptr<Node>& owner, const char* op) const {
    if (!data_.defined()) return Tensor();
    XGRAD_CHECK(data_.version() == version_, op,
                ": one of the tensors needed for gradient computation has been modified by an in-place "
                "operation (a tensor of shape ",
                data_.sizes(), " was saved at version ", version_, " and is now at version ", data_.version(),
                "); modify a clone() instead");
    if (!is_output_) return tensor_;
    Tensor t(data_);
    if (requires_grad_) {
        t.impl()->requires_grad = true;
        t.impl()->grad_fn = owner;
        t.impl()->output_nr = output_nr_;
    }
    return t;
}

void SavedTensor::reset() {
    data_ = NDArray();
    tensor_ = Tensor();
}

// ---- the node behind every built-in op ---------------------------------------------------------
namespace {
class OpNode final : public Node, detail::NodeCounter {
public:
    OpNode(const char* name, BackwardFn backward, Saves saves)
        : name_(name), backward_(std::move(backward)), saves_(saves) {}

    const char* name() const override { return name_; }

    void check_before_backward() const override {
        XGRAD_CHECK(!released_ || saves_ == Saves::nothing, name_,
                    ": trying to backward through the graph a second time (or to use saved tensors after they "
                    "were freed); pass retain_graph=true to the first backward() if you need to");
    }

    Grads apply(Grads&& grads) override {
        check_before_backward();
        std::vector<Tensor> inputs;
        inputs.reserve(saved_inputs_.size());
        const auto self = shared_from_this();
        for (const SavedTensor& s : saved_inputs_) inputs.push_back(s.unpack(self, name_));
        const Tensor output = saved_output_.unpack(self, name_);
        BackwardContext ctx{inputs, output, input_meta, *this};
        Grads result = backward_(grads[0], ctx);
        XGRAD_INTERNAL_ASSERT(result.size() == next_edges.size(), "backward of ", name_, " returned ", result.size(),
                              " gradients for ", next_edges.size(), " inputs");
        return result;
    }

    void release_saved() override {
        saved_inputs_.clear();
        saved_output_.reset();
        released_ = true;
    }

    std::vector<SavedTensor> saved_inputs_;
    SavedTensor saved_output_;

private:
    const char* name_;
    BackwardFn backward_;
    Saves saves_;
    bool released_ = false;
};
}  // namespace

Edge gradient_edge(const Tensor& tensor) {
    const auto& impl = tensor.impl();
    if (detail::view_is_stale(*impl)) detail::refresh_view_history(tensor);
    if (impl->grad_fn) return Edge{impl->grad_fn, impl->output_nr};
    if (!impl->requires_grad) return Edge{};
    std::shared_ptr<Node> acc = impl->grad_accumulator.lock();
    if (!acc) {
        acc = std::make_shared<AccumulateGrad>(impl);
        impl->grad_accumulator = acc;
    }
    return Edge{acc, 0};
}

SavedInputs::SavedInputs(std::initializer_list<bool> which) : mask_(0) {
    XGRAD_INTERNAL_ASSERT(which.size() <= 32, "SavedInputs: at most 32 inputs");
    uint32_t bit = 1;
    for (bool keep : which) {
        if (keep) mask_ |= bit;
        bit <<= 1;
    }
}

template <class Inputs>
Tensor make_op_impl(const char* name, const Inputs& inputs, NDArray result, BackwardFn backward, const OpSpec& spec) {
    const Saves saves = spec.saves;
    Tensor out(std::move(result));
    // A view op that had to copy (reshape of a non-contiguous tensor) made no view.
    const auto& viewed = inputs.begin()->impl();
    if (spec.is_view && out.data().storage() == viewed->data.storage()) {
        auto& impl = *out.impl();
        impl.view_base = viewed->view_base ? viewed->view_base : viewed;
        // A view of a view made under NoGradGuard does not follow the base either, as PyTorch.
        impl.differentiable_view = GradMode::is_enabled() && (!viewed->view_base || viewed->differentiable_view);
        impl.view_version = out.version();
    }
    if (!GradMode::is_enabled() || !is_floating(out.dtype())) return out;
    bool any = false;
    for (const Tensor& t : inputs) any = any || (t.defined() && t.requires_grad());
    if (!any) return out;

    auto node = std::make_shared<OpNode>(name, std::move(backward), saves);
    node->next_edges.reserve(inputs.size());
    node->input_meta.reserve(inputs.size());
    for (const Tensor& t : inputs) {
        const bool needs = t.defined() && t.requires_grad();
        node->next_edges.push_back(needs ? gradient_edge(t) : Edge{});
        node->input_meta.push_back(t.defined() ? TensorMeta{t.sizes(), t.dtype()} : TensorMeta{});
    }
    node->output_meta.push_back({out.sizes(), out.dtype()});
    if (static_cast<uint8_t>(saves) & static_cast<uint8_t>(Saves::inputs)) {
        std::size_t i = 0;
        for (const Tensor& t : inputs)
            node->saved_inputs_.emplace_back(t.defined() && spec.save_inputs.includes(i++) ? SavedTensor(t, false)
                                                                                           : SavedTensor());
    }
    auto& impl = *out.impl();
    impl.requires_grad = true;
    impl.grad_fn = node;
    impl.output_nr = 0;
    if (static_cast<uint8_t>(saves) & static_cast<uint8_t>(Saves::output)) node->saved_output_ = SavedTensor(out, true);
    return out;
}

Tensor make_op(const char* name, std::initializer_list<Tensor> inputs, NDArray result, BackwardFn backward,
               OpSpec spec) {
    return make_op_impl(name, inputs, std::move(result), std::move(backward), spec);
}

Tensor make_op(const char* name, const std::vector<Tensor>& inputs, NDArray result, BackwardFn backward, OpSpec spec) {
    return make_op_impl(name, inputs, std::move(result), std::move(backward), spec);
}

bool sums_down_to(const Shape& grad, const Shape& meta) {
    const int64_t lead = static_cast<int64_t>(grad.size()) - static_cast<int64_t>(meta.size());
    if (lead < 0) return false;
    for (std::size_t d = 0; d < meta.size(); ++d)
        if (meta[d] != grad[static_cast<std::size_t>(lead) + d] && meta[d] != 1) return false;
    return true;
}

const Tensor& checked_hook_result(const Tensor& replaced, const TensorMeta& meta) {
    XGRAD_CHECK(replaced.sizes() == meta.sizes, "register_hook: a hook returned a gradient of shape ", replaced.sizes(),
                " for a gradient of shape ", meta.sizes, " (a hook may change the values, not the shape)");
    XGRAD_CHECK(replaced.dtype() == meta.dtype, "register_hook: a hook returned a ", replaced.dtype(),
                " gradient for a ", meta.dtype, " one (a hook may change the values, not the dtype)");
    return replaced;
}

// ---- leaves ----------------------------------------------------------------------------------------
AccumulateGrad::AccumulateGrad(std::shared_ptr<TensorImpl> leaf) : leaf_(std::move(leaf)) {
    output_meta.push_back({leaf_->data.sizes(), leaf_->data.dtype()});
}

Grads AccumulateGrad::apply(Grads&& grads) {
    Tensor g = std::move(grads[0]);
    for (auto& [handle, hook] : leaf_->leaf_hooks) {
        Tensor replaced = hook(g);
        if (replaced.defined()) g = checked_hook_result(replaced, output_meta[0]);
    }
    if (!g.defined()) return {};
    accumulate(std::move(g));
    if (!leaf_->post_accumulate_hooks.empty()) {
        const Tensor leaf(leaf_);
        // A copy: a hook may remove itself.
        const auto hooks = leaf_->post_accumulate_hooks;
        for (const auto& [handle, hook] : hooks) hook(leaf);
    }
    return {};
}

void AccumulateGrad::accumulate(Tensor g) {
    Tensor& grad = leaf_->grad;
    if (GradMode::is_enabled()) {
        // create_graph: the gradient keeps its own graph, so it is never modified in place here.
        // The first one is cloned (differentiably) into memory of its own: the incoming tensor
        // may be another leaf's gradient too (add's backward hands both inputs the same g), the
        // user's `gradient`, or a broadcast view (sum's backward expands), and grad() may later
        // be written in place (zero_grad, clipping, a backward without create_graph).
        grad = grad.defined() ? add(grad, g) : g.clone();
        return;
    }
    if (!grad.defined()) {
        // Keep the incoming buffer when nothing else can see it; otherwise copy, since grad() is
        // later accumulated in place and must not write into another tensor's memory.
        const bool exclusive = g.impl().use_count() == 1 && g.data().storage().use_count() == 1 &&
                               g.data().is_contiguous() && !g.requires_grad();
        grad = exclusive ? g : Tensor(g.data().clone());
    } else if (grad.requires_grad()) {
        grad = Tensor(kernels::binary(kernels::Binary::add, grad.data(), g.data()));
    } else {
        kernels::binary_out(kernels::Binary::add, grad.data(), grad.data(), g.data());
    }
}

}  // namespace xgrad
