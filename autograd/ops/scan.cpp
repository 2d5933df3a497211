// Cumulative sums and products. Both backward passes are written with differentiable ops
// (reverse sums, products, a matrix product), so second derivatives follow.

#include "autograd/node.hpp"
#include "autograd/ops.hpp"
#include "tensor/kernels.hpp"

namespace xgrad {
namespace {
int64_t scan_dim(const Tensor& x, int64_t dim, const char* op) { return x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op); }

// out[i] = x[i] + ... + x[n - 1]: cumsum's adjoint (and cumsum is its).
Tensor reverse_cumsum(const Tensor& x, int64_t d) {
    return make_op("reverse_cumsum", {x}, kernels::cumulative(kernels::Scan::sum, x.data(), d, true),
                   [d](const Tensor& g, const BackwardContext&) -> Grads { return {cumsum(g, d)}; });
}

// d out_j / d x_k = prod_{i < k} x_i * prod_{k < i <= j} x_i for j >= k. Without zeros in x
// that is out_j / x_k, which gives the O(n) form reverse_cumsum(g out) / x. With a zero the
// division is undefined, so the products are formed explicitly: an [n, n] matrix per lane whose
// row k holds prod_{k < i <= j} x_i (a cumprod of x with the entries up to k replaced by 1),
// O(n^2) but exact.
Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& out, int64_t d) {
    if (x.numel() == 0) return zeros_like(x);
    const bool has_zero = sum(eq(x, scalar_like(x, 0))).item() > 0;
    if (!has_zero) return div(reverse_cumsum(mul(g, out), d), x);
    const Tensor xt = x.dim() == 0 ? x.reshape({1}) : x.transpose(d, -1);  // lanes last
    const Tensor gt = g.dim() == 0 ? g.reshape({1}) : g.transpose(d, -1);
    const Tensor ot = out.dim() == 0 ? out.reshape({1}) : out.transpose(d, -1);
    const int64_t n = xt.size(-1);
    const Tensor after_k = Tensor(kernels::triangle_mask(n, n, 1, true));   // j > k
    const Tensor from_k = Tensor(kernels::triangle_mask(n, n, 0, true));    // j >= k
    const Tensor rows = where(after_k, xt.unsqueeze(-2), ones({}, x.dtype()));  // [..., k, j]
    const Tensor partial = where(from_k, cumprod(rows, -1), zeros({}, x.dtype()));
    const Tensor suffix = matmul(partial, gt.unsqueeze(-1)).squeeze(-1);
    Shape first_sizes = xt.sizes();
    first_sizes.back() = 1;
    const Tensor before_k = cat({ones(first_sizes, x.dtype()), ot.narrow(-1, 0, n - 1)}, -1);  // prod_{i < k} x_i
    const Tensor grad = mul(before_k, suffix);
    return x.dim() == 0 ? grad.reshape({}) : grad.transpose(d, -1);
}
}  // namespace

Tensor cumsum(const Tensor& x, int64_t dim) {
    const int64_t d = scan_dim(x, dim, "cumsum");
    return make_op("cumsum", {x}, kernels::cumulative(kernels::Scan::sum, x.data(), d),
                   [d](const Tensor& g, const BackwardContext&) -> Grads { return {reverse_cumsum(g, d)}; });
}

Tensor cumprod(const Tensor& x, int64_t dim) {
    const int64_t d = scan_dim(x, dim, "cumprod");
    return make_op("cumprod", {x}, kernels::cumulative(kernels::Scan::prod, x.data(), d),
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {cumprod_backward(g, c.inputs[0], c.output, d)};
                   },
                   Saves::inputs_and_output);
}

}  // namespace xgrad
