// Cumulative sums and products. Both backward passes are written with differentiable ops
// (reverse sums, products, a matrix product), so second derivatives follow.

#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {
int64_t scan_dim(const Tensor& x, int64_t dim, const char* op) {
    return x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), op);
}

// out[i] = x[i] + ... + x[n - 1]: cumsum's adjoint (and cumsum is its).
Tensor reverse_cumsum(const Tensor& x, int64_t d) {
    return make_op("reverse_cumsum", {x}, kernels::cumulative(kernels::Scan::sum, x.data(), d, true),
                   [d](const Tensor& g, const BackwardContext&) -> Grads { return {cumsum(g, d)}; });
}

// d out_j / d x_k = prod_{i < k} x_i * prod_{k < i <= j} x_i for j >= k. Without zeros in a
// lane that is out_j / x_k, which gives the O(n) form reverse_cumsum(g out) / x. With a zero the
// division is undefined, so for the lanes that hold one the products are formed explicitly: an
// [n, n] matrix per lane whose row k holds prod_{k < i <= j} x_i (a cumprod of x with the
// entries up to k replaced by 1), O(n^2) but exact, and only where needed.
Tensor cumprod_backward_with_zeros(const Tensor& g, const Tensor& x, const Tensor& out) {  // [L, n] lanes
    const int64_t n = x.size(-1);
    const Tensor after_k = Tensor(kernels::triangle_mask(n, n, 1, true));      // j > k
    const Tensor from_k = Tensor(kernels::triangle_mask(n, n, 0, true));       // j >= k
    const Tensor rows = where(after_k, x.unsqueeze(-2), ones({}, x.dtype()));  // [L, k, j]
    const Tensor partial = where(from_k, cumprod(rows, -1), zeros({}, x.dtype()));
    const Tensor suffix = matmul(partial, g.unsqueeze(-1)).squeeze(-1);
    const Tensor before_k = cat({ones({x.size(0), 1}, x.dtype()), out.narrow(-1, 0, n - 1)}, -1);  // prod_{i < k} x_i
    return mul(before_k, suffix);
}

Tensor cumprod_backward(const Tensor& g, const Tensor& x, const Tensor& out, int64_t d) {
    if (x.numel() == 0) return zeros_like(x);
    const Tensor xt = x.dim() == 0 ? x.reshape({1}) : x.transpose(d, -1);  // lanes last
    const Shape lane_sizes = xt.sizes();
    const int64_t n = lane_sizes.back();
    const Tensor xl = xt.reshape({-1, n}), gl = (g.dim() == 0 ? g.reshape({1}) : g.transpose(d, -1)).reshape({-1, n}),
                 ol = (out.dim() == 0 ? out.reshape({1}) : out.transpose(d, -1)).reshape({-1, n});
    const Tensor is_zero = eq(xl, scalar_like(xl, 0));
    const Tensor zeros_per_lane = sum(is_zero, {1});
    const Tensor lane_has_zero = gt(zeros_per_lane, scalar_like(zeros_per_lane, 0));  // [L]
    Tensor grad = div(reverse_cumsum(mul(gl, ol), 1), where(is_zero, ones({}, x.dtype()), xl));
    if (sum(lane_has_zero).item() > 0) {
        const Tensor lanes = nonzero(lane_has_zero).squeeze(1);
        const Tensor exact = cumprod_backward_with_zeros(index_select(gl, 0, lanes), index_select(xl, 0, lanes),
                                                         index_select(ol, 0, lanes));
        grad = index_add(where(lane_has_zero.unsqueeze(1), zeros({}, x.dtype()), grad), 0, lanes, exact);
    }
    grad = grad.reshape(lane_sizes);
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
                   {.saves = Saves::inputs_and_output});
}

namespace {
// x's running product along d shifted by one: out[i] = x[0] ... x[i - 1], and 1 first.
Tensor exclusive_cumprod(const Tensor& x, int64_t d) {
    const int64_t n = x.size(d);
    Shape one = x.sizes();
    one[static_cast<std::size_t>(d)] = 1;
    return cat({ones(one, x.dtype()), narrow(cumprod(x, d), d, 0, n - 1)}, d);
}

// d prod / d x_i is the product of the others: the product before i times the product after it,
// two running products (O(n), exact with any number of zeros, unlike prod / x_i). Written with
// differentiable ops, so second derivatives follow (through cumprod's exact form).
Tensor prod_backward(const Tensor& g, const Tensor& x, int64_t d, bool keepdim) {
    const Tensor before = exclusive_cumprod(x, d);
    const Tensor after = flip(exclusive_cumprod(flip(x, {d}), d), {d});
    return mul(keepdim ? g : g.unsqueeze(d), mul(before, after));
}
}  // namespace

// The value is the last running product (one pass, in x's type: integers wrap as int64 does).
Tensor prod(const Tensor& x, int64_t dim, bool keepdim) {
    if (x.dim() == 0) {
        wrap_dim(dim, 1, "prod");
        return prod(x.reshape({1}), 0).reshape({});
    }
    if (x.dtype() == kBool) return prod(x.to(kInt64), dim, keepdim);  // as PyTorch: bools multiply in int64
    const int64_t d = wrap_dim(dim, x.dim(), "prod");
    const int64_t n = x.size(d);
    // Over nothing: 1, in the dtype and shape the product would have (and still in the graph).
    if (n == 0) return sum(x, {d}, keepdim) * 0.0 + 1.0;
    NDArray last = kernels::cumulative(kernels::Scan::prod, x.data(), d).narrow(d, n - 1, 1);
    if (!keepdim) last = last.squeeze(d);
    return make_op("prod", {x}, last.contiguous(),
                   [d, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {prod_backward(g, c.inputs[0], d, keepdim)};
                   },
                   {.saves = Saves::inputs});
}

Tensor prod(const Tensor& x) {
    return prod(x.reshape({-1}), 0);
}

}  // namespace xgrad
