// Masks: filling, selecting and the triangular parts of matrices. All are compositions of where,
// index_select and reshapes, so their gradients come from those ops' rules.

#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {
void check_mask(const char* op, const Tensor& x, const Tensor& mask) {
    XGRAD_CHECK(mask.dtype() == kBool, op, ": the mask must be a bool tensor, got ", mask.dtype());
    broadcast_shapes(x.sizes(), mask.sizes(), op);  // throws naming op and both shapes
}

Tensor triangle(const char* op, const Tensor& x, int64_t diagonal, bool upper) {
    XGRAD_CHECK(x.dim() >= 2, op, ": expected a tensor with at least 2 dimensions, got shape ", x.sizes());
    const Tensor keep(kernels::triangle_mask(x.size(-2), x.size(-1), diagonal, upper));
    return where(keep, x, zeros({}, x.dtype()));
}
}  // namespace

Tensor masked_fill(const Tensor& x, const Tensor& mask, double value) {
    return masked_fill(x, mask, full({}, value, x.dtype()));
}

Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value) {
    check_mask("masked_fill", x, mask);
    XGRAD_CHECK(value.dim() == 0, "masked_fill: the value must be a 0-d tensor, got shape ", value.sizes());
    return where(mask, to(value, x.dtype()), x);
}

// The broadcast elements where mask is true, flattened in row-major order.
Tensor masked_select(const Tensor& x, const Tensor& mask) {
    XGRAD_CHECK(mask.dtype() == kBool, "masked_select: the mask must be a bool tensor, got ", mask.dtype());
    const Shape sizes = broadcast_shapes(x.sizes(), mask.sizes(), "masked_select");
    const Tensor flat_mask = mask.expand(sizes).reshape({-1});
    const Tensor picked = nonzero(flat_mask).reshape({-1});
    return index_select(x.expand(sizes).reshape({-1}), 0, picked);
}

Tensor nonzero(const Tensor& x) {
    return Tensor(kernels::nonzero(x.data()));
}

Tensor tril(const Tensor& x, int64_t diagonal) {
    return triangle("tril", x, diagonal, false);
}
Tensor triu(const Tensor& x, int64_t diagonal) {
    return triangle("triu", x, diagonal, true);
}

}  // namespace xgrad
