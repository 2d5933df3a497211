#pragma once
/// Internal to Tensor's in-place ops: what a recorded in-place write into a view does to the
/// history of the tensor it views (its base), as PyTorch's CopySlices. After `y[0].mul_(3)`, y is
/// "the old y with row 0 replaced by 3 * (old row 0)", and y[0] is row 0 of that, so the gradient
/// of anything computed from y (or from the view) reaches both the old y and the written value.

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::detail {

/// A view made while recording whose base requires grad, and whose history no longer describes
/// it: the base was written in place since (and has a history of its own), or gained a history
/// after the view was made. Its next use re-takes the view from the base's current history (as
/// PyTorch regenerates a view's grad_fn).
bool view_is_stale(const TensorImpl& impl);

/// Gives a stale view (see view_is_stale) its region of the base's current history.
void refresh_view_history(const Tensor& view);

/// After t's history moved on from output old_output of old_node (an in-place op, or a view
/// re-taken), as PyTorch: retain_grad() keeps the gradient of the new value (its hook moves to
/// t's new node); hooks registered with register_hook stay with the old value's.
void move_retained_grad(const Tensor& t, const std::shared_ptr<Node>& old_node, uint32_t old_output);

/// Before the write: refuses, naming op, a view whose base cannot take a new history (a leaf that
/// requires grad, as in PyTorch, or a base that is not contiguous).
void check_view_rebase(const Tensor& view, const char* op);

/// After `result` (computed out of place, with its history) was written into view's memory:
/// gives the base and the view their new histories.
void rebase_view_history(const Tensor& view, const Tensor& result);

}  // namespace xgrad::detail
