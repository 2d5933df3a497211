#pragma once
/// Custom differentiable functions, as torch::autograd::Function:
///
///     struct Cube : autograd::Function<Cube> {
///         static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x) {
///             ctx->save_for_backward({x});
///             return x * x * x;
///         }
///         static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
///             const Tensor x = ctx->get_saved_variables()[0];
///             return {grads[0] * 3.0 * x * x};   // one gradient per Tensor argument
///         }
///     };
///     Tensor y = Cube::apply(x);
///
/// forward runs without recording; backward may use any differentiable op (so create_graph works
/// through it). Saved tensors are version-checked like the built-in ops' ones. A struct that
/// declares `static constexpr const char* name = "Cube";` is named so in errors and in the graph.

#include <string>
#include <type_traits>
#include <unordered_map>
#include <vector>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/tensor_impl.hpp>

namespace xgrad::autograd {

class AutogradContext {
public:
    void save_for_backward(std::vector<Tensor> tensors) { to_save_ = std::move(tensors); }
    /// The saved tensors (throws if one was modified in place since it was saved).
    std::vector<Tensor> get_saved_variables() const {
        XGRAD_CHECK(!released_, name_,
                    ": trying to backward through the graph a second time (the saved tensors were freed); pass "
                    "retain_graph=true the first time");
        std::vector<Tensor> out;
        for (const SavedTensor& s : saved_) out.push_back(s.unpack(owner_.lock(), name_));
        return out;
    }
    /// Non-tensor values the backward needs (scales, sizes, flags).
    std::unordered_map<std::string, double> saved_data;
    /// Whether the i-th Tensor argument of forward needs a gradient.
    bool needs_input_grad(std::size_t i) const { return i < needs_.size() && needs_[i]; }

private:
    template <class>
    friend struct Function;
    template <class>
    friend class CustomNode;
    std::vector<Tensor> to_save_;
    std::vector<SavedTensor> saved_;
    std::vector<bool> needs_;
    std::weak_ptr<Node> owner_;
    const char* name_ = "custom function";
    bool released_ = false;  ///< the saved tensors were freed by a backward pass without retain_graph
};

template <class Derived>
class CustomNode final : public Node, xgrad::detail::NodeCounter {
public:
    const char* name() const override { return ctx.name_; }
    Grads apply(Grads&& grads) override {
        Grads result = Derived::backward(&ctx, std::move(grads));
        if (result.size() == all_args_ && all_args_ != next_edges.size()) {
            Grads picked;
            for (std::size_t pos : tensor_positions_) picked.push_back(result[pos]);
            result = std::move(picked);
        }
        XGRAD_CHECK(result.size() == next_edges.size(), ctx.name_, ": backward returned ", result.size(),
                    " gradients but forward took ", next_edges.size(), " tensor arguments");
        // A gradient the argument broadcasts to is summed down to it (the engine does), as PyTorch's.
        for (std::size_t i = 0; i < result.size(); ++i)
            if (result[i].defined() && next_edges[i].valid())
                XGRAD_CHECK(sums_down_to(result[i].sizes(), input_meta[i].sizes), ctx.name_,
                            ": backward returned a gradient of shape ", result[i].sizes(), " for argument ", i,
                            " of shape ", input_meta[i].sizes);
        return result;
    }
    // A backward that saved nothing may run again, as PyTorch's; one that reads its saved tensors
    // after they were freed gets the error from get_saved_variables.
    void release_saved() override {
        if (ctx.saved_.empty()) return;
        ctx.saved_.clear();
        ctx.released_ = true;
    }

    AutogradContext ctx;
    std::size_t all_args_ = 0;
    std::vector<std::size_t> tensor_positions_;
};

template <class Derived>
struct Function {
    template <class... Args>
    static auto apply(Args&&... args) {
        auto node = std::make_shared<CustomNode<Derived>>();
        if constexpr (requires { Derived::name; }) node->ctx.name_ = Derived::name;
        std::vector<Tensor> tensor_args;
        std::size_t position = 0;
        auto collect = [&](const auto& arg) {
            if constexpr (std::is_same_v<std::decay_t<decltype(arg)>, Tensor>) {
                tensor_args.push_back(arg);
                node->tensor_positions_.push_back(position);
            }
            ++position;
        };
        (collect(args), ...);
        node->all_args_ = sizeof...(Args);

        using Output = decltype(Derived::forward(&node->ctx, std::forward<Args>(args)...));
        Output outputs;
        std::vector<uint64_t> versions;
        for (const Tensor& t : tensor_args) versions.push_back(t.defined() ? t.data().version() : 0);
        {
            NoGradGuard no_grad;
            outputs = Derived::forward(&node->ctx, std::forward<Args>(args)...);
        }
        // An argument written in place by forward would keep a history that no longer describes
        // it (PyTorch's mark_dirty hands it to the function; not supported here): refused.
        for (std::size_t i = 0; i < tensor_args.size(); ++i)
            XGRAD_CHECK(!tensor_args[i].defined() || !tensor_args[i].requires_grad() || !GradMode::is_enabled() ||
                            tensor_args[i].data().version() == versions[i],
                        node->ctx.name_, ": forward modified tensor argument ", i,
                        " in place; return a new tensor instead (mark_dirty is not supported)");
        std::vector<Tensor*> out_refs;
        if constexpr (std::is_same_v<Output, Tensor>)
            out_refs.push_back(&outputs);
        else
            for (Tensor& t : outputs) out_refs.push_back(&t);

        bool any = false;
        for (const Tensor& t : tensor_args) any = any || (t.defined() && t.requires_grad());
        if (!GradMode::is_enabled() || !any) return outputs;

        for (const Tensor& t : tensor_args) {
            const bool needs = t.defined() && t.requires_grad();
            node->ctx.needs_.push_back(needs);
            node->next_edges.push_back(needs ? gradient_edge(t) : Edge{});
            node->input_meta.push_back(t.defined() ? TensorMeta{t.sizes(), t.dtype()} : TensorMeta{});
        }
        // Outputs get fresh handles: forward may return an input as it is, whose own history
        // must not be overwritten.
        std::vector<const TensorImpl*> original;
        for (uint32_t k = 0; k < out_refs.size(); ++k) {
            Tensor& out = *out_refs[k];
            original.push_back(out.impl().get());
            Tensor wrapped(out.data());
            if (is_floating(out.dtype())) {
                wrapped.impl()->requires_grad = true;
                wrapped.impl()->grad_fn = node;
                wrapped.impl()->output_nr = k;
            }
            node->output_meta.push_back({out.sizes(), out.dtype()});
            out = wrapped;
        }
        for (const Tensor& s : node->ctx.to_save_) {
            std::size_t k = 0;
            while (k < original.size() && original[k] != s.impl().get()) ++k;
            node->ctx.saved_.push_back(k < original.size() ? SavedTensor(*out_refs[k], true) : SavedTensor(s, false));
        }
        node->ctx.to_save_.clear();
        node->ctx.owner_ = node;
        return outputs;
    }
};

}  // namespace xgrad::autograd
