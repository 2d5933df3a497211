#include <xgrad/autograd/view_rebase.hpp>

#include <algorithm>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor_impl.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::detail {
namespace {

// Where a view lies in its (contiguous) base: its sizes and strides, and the offset of its first
// element from the base's, in elements.
struct Region {
    Shape sizes, strides;
    int64_t offset = 0;
};

// The region of a contiguous array `whole`, sharing its memory.
NDArray region_of(const NDArray& whole, const Region& r) {
    return NDArray(whole.storage(), whole.dtype(), r.sizes, r.strides, whole.offset() + r.offset);
}

Tensor region_into_zeros(const Tensor& g, const Shape& whole_sizes, const Region& r);

// The region of `whole` as a view, differentiable: its gradient goes into zeros of whole's shape.
Tensor take_region(const Tensor& whole, const Region& r) {
    const Tensor c = whole.contiguous();
    return make_op("view_of_base", {c}, region_of(c.data(), r),
                   [r](const Tensor& g, const BackwardContext& ctx) -> Grads {
                       return {region_into_zeros(g, ctx.input_sizes(0), r)};
                   },
                   {.is_view = true});
}

// g placed into the region of zeros of shape whole_sizes; differentiable in g.
Tensor region_into_zeros(const Tensor& g, const Shape& whole_sizes, const Region& r) {
    NDArray out = kernels::full(whole_sizes, 0, g.dtype());
    kernels::copy_(region_of(out, r), g.data());
    return make_op("view_of_base_backward", {g}, out,
                   [r](const Tensor& gg, const BackwardContext&) -> Grads { return {take_region(gg, r)}; });
}

// The base after the write, `value` (its memory, already written): old_base outside the region,
// src inside it. The gradient splits the same way, exactly: g with the region zeroed to old_base
// (g - g is 0 there, g - 0 is g elsewhere), the region of g to src.
Tensor with_region_replaced(const Tensor& old_base, const Tensor& src, NDArray value, const Region& r) {
    return make_op("copy_slices", {old_base, src}, std::move(value),
                   [r](const Tensor& g, const BackwardContext& ctx) -> Grads {
                       const Tensor in_region = take_region(g, r);
                       return {g - region_into_zeros(in_region, ctx.input_sizes(0), r), in_region};
                   });
}

Region region_in_base(const Tensor& view, const Tensor& base) {
    return {view.sizes(), view.data().strides(), view.data().offset() - base.data().offset()};
}

// The view's history becomes its region of the base's current one.
void set_region_history(const Tensor& view, const Tensor& base, const Region& r) {
    const Tensor view_again = take_region(base, r);
    auto& impl = *view.impl();
    impl.grad_fn = view_again.grad_fn();
    impl.output_nr = 0;
    impl.requires_grad = true;
    impl.view_version = view.version();
}

}  // namespace

void check_view_rebase(const Tensor& view, const char* op) {
    const Tensor base(view.impl()->view_base);
    XGRAD_CHECK(view.impl()->differentiable_view, op,
                ": a view made under NoGradGuard (or from such a view) is modified in place while recording; its "
                "base would not see the write in its gradient. Make the view while recording, or write under "
                "NoGradGuard");
    XGRAD_CHECK(!(base.is_leaf() && base.requires_grad()), op,
                ": a view of a leaf tensor that requires grad is used in an in-place operation; do it under "
                "NoGradGuard (as optimizers do) or on a clone()");
    XGRAD_CHECK(base.data().is_contiguous(), op, ": an in-place operation on a view of a non-contiguous tensor (shape ",
                base.sizes(), ", strides ", base.data().strides(),
                ") cannot be recorded for autograd; write into a view of a contiguous() copy");
}

void rebase_view_history(const Tensor& view, const Tensor& result) {
    const Tensor base(view.impl()->view_base);
    const Region r = region_in_base(view, base);
    // The base as it was (its history), without the hooks that belong to the tensor itself.
    Tensor old_base(std::make_shared<TensorImpl>(*base.impl()));
    old_base.impl()->leaf_hooks.clear();
    old_base.impl()->post_accumulate_hooks.clear();
    const Tensor new_base = with_region_replaced(old_base, result, base.data(), r);
    auto& base_impl = *base.impl();
    base_impl.grad_fn = new_base.grad_fn();
    base_impl.output_nr = 0;
    base_impl.requires_grad = true;
    set_region_history(view, base, r);
}

bool view_is_stale(const TensorImpl& impl) {
    if (!impl.view_base || !impl.differentiable_view || !impl.view_base->requires_grad) return false;
    // A base that is a leaf keeps its one history; a written non-leaf base has a new one.
    return !impl.grad_fn || (impl.view_base->grad_fn && impl.data.version() != impl.view_version);
}

void refresh_view_history(const Tensor& view) {
    const Tensor base(view.impl()->view_base);
    XGRAD_CHECK(base.data().is_contiguous() && !view.data().has_shared_elements(), "a view (shape ", view.sizes(),
                ", strides ", view.data().strides(), ") of a tensor of shape ", base.sizes(),
                " that was changed in place after the view was made is used, and its gradient cannot be brought up to "
                "date (the tensor is not contiguous, or the view is a broadcast); take the view again after the "
                "change");
    // Re-taken while recording even when asked under NoGradGuard (is_leaf(), grad_fn()), so that
    // the view's flags stay true.
    AutoGradMode recording(true);
    const std::shared_ptr<Node> old_node = view.impl()->grad_fn;
    const uint32_t old_output = view.impl()->output_nr;
    set_region_history(view, base, region_in_base(view, base));
    move_retained_grad(view, old_node, old_output);
}

void move_retained_grad(const Tensor& t, const std::shared_ptr<Node>& old_node, uint32_t old_output) {
    const TensorImpl& impl = *t.impl();
    if (!impl.retains_grad || !old_node || !impl.grad_fn || old_node->output_hooks.size() <= old_output) return;
    auto& old_hooks = old_node->output_hooks[old_output];
    // retain_grad's hook is the one registered under handle -1 (Tensor::retain_grad).
    const auto retained = std::find_if(old_hooks.begin(), old_hooks.end(), [](const auto& h) { return h.first == -1; });
    if (retained == old_hooks.end()) return;
    auto& new_hooks = impl.grad_fn->output_hooks;
    if (new_hooks.size() <= impl.output_nr) new_hooks.resize(impl.output_nr + 1);
    new_hooks[impl.output_nr].push_back(std::move(*retained));
    old_hooks.erase(retained);
}

}  // namespace xgrad::detail
