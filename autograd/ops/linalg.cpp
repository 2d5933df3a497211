// Matrix products. The backward passes transposed views to matmul, which hands them to BLAS with
// a transpose flag: no copies.

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {

// For C = A B: dA = dC B^T, dB = A^T dC. Vectors are treated as matrices with a size-1 dim, which
// is removed again; batch broadcasting is undone by the engine's sum_to.
Tensor matmul(const Tensor& a, const Tensor& b) {
    return make_op("matmul", {a, b}, kernels::matmul(a.data(), b.data()),
                   [](const Tensor& g, const BackwardContext& c) -> Grads {
                       // Only the inputs the other side needs were saved: shapes come from the meta.
                       const Tensor &a = c.inputs[0], &b = c.inputs[1];
                       const bool a_vec = c.input_sizes(0).size() == 1, b_vec = c.input_sizes(1).size() == 1;
                       if (a_vec && b_vec) {  // dot product: g is a scalar
                           return {c.needs(0) ? mul(g, b) : Tensor(), c.needs(1) ? mul(g, a) : Tensor()};
                       }
                       Tensor g2 = g;
                       if (a_vec) g2 = g2.unsqueeze(-2);
                       if (b_vec) g2 = g2.unsqueeze(-1);
                       Tensor ga, gb;
                       if (c.needs(0)) {
                           const Tensor b2 = b_vec ? b.unsqueeze(-1) : b;
                           ga = matmul(g2, b2.transpose(-1, -2));
                           if (a_vec) ga = ga.squeeze(-2);
                       }
                       if (c.needs(1)) {
                           const Tensor a2 = a_vec ? a.unsqueeze(0) : a;
                           gb = matmul(a2.transpose(-1, -2), g2);
                           if (b_vec) gb = gb.squeeze(-1);
                       }
                       return {ga, gb};
                   },
                   {.saves = Saves::inputs, .save_inputs = {b.requires_grad(), a.requires_grad()}});
}

Tensor bmm(const Tensor& a, const Tensor& b) {
    XGRAD_CHECK(a.dim() == 3 && b.dim() == 3, "bmm: expected 3-D tensors [B, n, m] and [B, m, p], got shapes ",
                a.sizes(), " and ", b.sizes());
    XGRAD_CHECK(a.size(0) == b.size(0) && a.size(2) == b.size(1), "bmm: shapes ", a.sizes(), " and ", b.sizes(),
                " do not match (need [B, n, m] and [B, m, p])");
    return matmul(a, b);
}

namespace {
// beta input + alpha product; with beta = 0 the input is not read (NaN in it does not spread), as
// in PyTorch.
Tensor scaled_sum(const char* op, const Tensor& input, Tensor product, double beta, double alpha) {
    const Shape sizes = product.sizes();
    XGRAD_CHECK(broadcast_shapes(input.sizes(), sizes, op) == sizes, op, ": the input of shape ", input.sizes(),
                " does not broadcast to the product's shape ", sizes);
    if (alpha != 1.0) product = mul(product, scalar_like(product, alpha));
    if (beta == 0.0) return product;
    return add(beta == 1.0 ? input : mul(input, scalar_like(input, beta)), product);
}
}  // namespace

Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta, double alpha) {
    return scaled_sum("baddbmm", input, bmm(batch1, batch2), beta, alpha);
}

Tensor mm(const Tensor& a, const Tensor& b) {
    XGRAD_CHECK(a.dim() == 2 && b.dim() == 2, "mm: expected 2-D tensors [n, m] and [m, p], got shapes ", a.sizes(),
                " and ", b.sizes());
    XGRAD_CHECK(a.size(1) == b.size(0), "mm: shapes ", a.sizes(), " and ", b.sizes(), " cannot be multiplied (",
                a.size(1), " columns against ", b.size(0), " rows)");
    return matmul(a, b);
}

Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, double beta, double alpha) {
    return scaled_sum("addmm", input, mm(mat1, mat2), beta, alpha);
}

namespace {
// Rows counted, not inferred with -1: a dimension of 0 (no features in or out) is legal.
int64_t rows_of(const Shape& sizes) {
    int64_t rows = 1;
    for (std::size_t d = 0; d + 1 < sizes.size(); ++d) rows *= sizes[d];
    return rows;
}

// The gradients of y = x W^T + b from g = dL/dy: g W for x, g^T x for W, g summed over rows for b.
Grads linear_backward(const Tensor& g, const BackwardContext& c) {
    const Tensor &x = c.inputs[0], &w = c.inputs[1];
    const Tensor g2 = g.reshape({rows_of(g.sizes()), g.size(-1)});
    const Tensor gb = c.needs(2) ? sum(g2, {0}) : Tensor();
    if (c.needs(0) && c.needs(1) && !GradMode::is_enabled()) {
        // Both products at once, one per thread (kernels::linear_grads); a backward that builds a
        // graph of its own (create_graph) goes through the ops below instead.
        const Tensor x2 = x.reshape({rows_of(x.sizes()), x.size(-1)});
        auto [gx, gw] = kernels::linear_grads(g2.data(), w.data(), x2.data());
        return {Tensor(std::move(gx)).reshape(c.input_sizes(0)), Tensor(std::move(gw)), gb};
    }
    Tensor gx, gw;
    if (c.needs(0)) gx = matmul(g2, w).reshape(c.input_sizes(0));
    if (c.needs(1)) gw = matmul(g2.t(), x.reshape({rows_of(x.sizes()), x.size(-1)}));
    return {gx, gw, gb};
}

// y = x W^T + b, then max(y, 0) with relu, as one GEMM: each thread starts its block of the output
// from the bias, adds the product onto it and applies relu while the block is in its cache, which
// saves two passes over the output (and on two threads, reading half of it from the other core).
Tensor linear_op(const Tensor& x, const Tensor& weight, const Tensor& bias, bool relu) {
    const char* name = relu ? "linear_relu" : "linear";
    XGRAD_CHECK(weight.dim() == 2, name, ": the weight must be 2-D [out, in], got shape ", weight.sizes());
    XGRAD_CHECK(x.dim() >= 1, name, ": the input must have at least 1 dimension");
    const int64_t in = weight.size(1), out_features = weight.size(0);
    XGRAD_CHECK(x.size(-1) == in, name, ": the input has shape ", x.sizes(), " but the weight ", weight.sizes(),
                " expects ", in, " features in the last dimension");
    XGRAD_CHECK(!bias.defined() || (bias.dim() == 1 && bias.size(0) == out_features), name, ": the bias has shape ",
                bias.defined() ? bias.sizes() : Shape{}, " but the weight ", weight.sizes(), " needs [", out_features,
                "]");
    XGRAD_CHECK(x.dtype() == weight.dtype() && (!bias.defined() || bias.dtype() == weight.dtype()), name,
                ": dtypes differ (input ", x.dtype(), ", weight ", weight.dtype(), ")");
    const NDArray x2 = x.data().reshape({rows_of(x.sizes()), in});
    NDArray out = NDArray::empty({x2.size(0), out_features}, x.dtype());
    kernels::linear_out(out, x2, weight.data().transpose(0, 1), bias.defined() ? bias.data() : NDArray(), relu);
    Shape out_sizes = x.sizes();
    out_sizes.back() = out_features;
    // x for the weight's gradient, the weight for x's; the bias's needs neither. relu's gradient
    // is g where the output is positive, as in relu's own backward.
    OpSpec spec{.saves = relu ? Saves::inputs_and_output : Saves::inputs,
                .save_inputs = {weight.requires_grad(), x.requires_grad(), false}};
    if (!relu) return make_op(name, {x, weight, bias}, out.view(out_sizes), linear_backward, spec);
    return make_op(
        name, {x, weight, bias}, out.view(out_sizes),
        [](const Tensor& g, const BackwardContext& c) { return linear_backward(threshold_backward(g, c.output), c); },
        spec);
}
}  // namespace

Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return linear_op(x, weight, bias, false);
}

Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias) {
    return linear_op(x, weight, bias, true);
}

}  // namespace xgrad
