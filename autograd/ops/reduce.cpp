// Reductions and their derivatives. A reduction's gradient is the output gradient put back in
// the reduced dims (unsqueezed when keepdim was false) and broadcast over the input.

#include <cmath>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {

// Reduced dims, wrapped and sorted; empty means all.
Shape normalized_dims(const Shape& dims, int64_t ndim, const char* op) {
    Shape out;
    if (dims.empty()) {
        for (int64_t d = 0; d < ndim; ++d) out.push_back(d);
        return out;
    }
    for (int64_t d : dims) out.push_back(ndim == 0 ? 0 : wrap_dim(d, ndim, op));
    std::sort(out.begin(), out.end());
    return ndim == 0 ? Shape{} : out;
}

// The gradient of a reduction, reshaped so it broadcasts against the input (keepdim form).
Tensor unsqueeze_reduced(const Tensor& g, const Shape& input_sizes, const Shape& dims, bool keepdim) {
    if (keepdim) return g;
    Shape kept = input_sizes;
    for (int64_t d : normalized_dims(dims, static_cast<int64_t>(input_sizes.size()), "reduce")) kept[d] = 1;
    return g.reshape(kept);
}

int64_t count_reduced(const Shape& sizes, const Shape& dims) {
    int64_t n = 1;
    for (int64_t d : normalized_dims(dims, static_cast<int64_t>(sizes.size()), "reduce")) n *= sizes[d];
    return n;
}

}  // namespace

// d sum = g broadcast back over the reduced dims.
Tensor sum(const Tensor& x, const Dims& dims, bool keepdim) {
    return make_op("sum", {x}, kernels::sum(x.data(), dims, keepdim),
                   [dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Shape& in = c.input_sizes(0);
                       return {expand(unsqueeze_reduced(g, in, dims, keepdim), in)};
                   });
}

// d mean = g / N broadcast back.
Tensor mean(const Tensor& x, const Dims& dims, bool keepdim) {
    return make_op("mean", {x}, kernels::mean(x.data(), dims, keepdim),
                   [dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Shape& in = c.input_sizes(0);
                       const double n = static_cast<double>(count_reduced(in, dims));
                       return {expand(div(unsqueeze_reduced(g, in, dims, keepdim), scalar_like(g, n)), in)};
                   });
}

namespace {
// amax/amin: the gradient is shared evenly by all elements equal to the extreme, so that the
// result does not depend on which of several ties a kernel happened to pick.
template <bool kMax>
Tensor extreme(const Tensor& x, const Shape& dims, bool keepdim, const char* name) {
    NDArray result = kMax ? kernels::amax(x.data(), dims, keepdim) : kernels::amin(x.data(), dims, keepdim);
    return make_op(name, {x}, result,
                   [dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor& in = c.inputs[0];
                       const Tensor out = unsqueeze_reduced(c.output, in.sizes(), dims, keepdim);
                       const Tensor hit = eq(in, out).to(g.dtype());
                       const Tensor count = sum(hit, dims, true);
                       return {mul(div(unsqueeze_reduced(g, in.sizes(), dims, keepdim), count), hit)};
                   },
                   {.saves = Saves::inputs_and_output});
}

template <bool kMax>
std::tuple<Tensor, Tensor> extreme_dim(const Tensor& x, int64_t dim, bool keepdim, const char* name) {
    kernels::ValuesIndices r =
        kMax ? kernels::max_dim(x.data(), dim, keepdim) : kernels::min_dim(x.data(), dim, keepdim);
    const int64_t d = x.dim() == 0 ? 0 : wrap_dim(dim, x.dim(), name);
    // The indices are plain data (no graph), so capturing them cannot form a cycle.
    Tensor indices(r.indices);
    Tensor values =
        make_op(name, {x}, r.values, [d, keepdim, idx = r.indices](const Tensor& g, const BackwardContext& c) -> Grads {
            const Shape& in = c.input_sizes(0);
            if (in.empty()) return {g};
            const Tensor gk = keepdim ? g : g.unsqueeze(d);
            const Tensor ik(keepdim ? idx : idx.unsqueeze(d));
            return {scatter_add(zeros(in, g.dtype()), d, ik, gk)};
        });
    return {values, indices};
}
}  // namespace

Tensor max(const Tensor& x) {
    XGRAD_CHECK(x.numel() > 0, "max: cannot take the max of an empty tensor");
    return extreme<true>(x, {}, false, "max");
}
Tensor min(const Tensor& x) {
    XGRAD_CHECK(x.numel() > 0, "min: cannot take the min of an empty tensor");
    return extreme<false>(x, {}, false, "min");
}
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim) {
    return extreme<true>(x, dims, keepdim, "amax");
}
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim) {
    return extreme<false>(x, dims, keepdim, "amin");
}
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim) {
    return extreme_dim<true>(x, dim, keepdim, "max");
}
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim) {
    return extreme_dim<false>(x, dim, keepdim, "min");
}
Tensor argmax(const Tensor& x) {
    return Tensor(kernels::argmax(x.data()));
}
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim) {
    return Tensor(kernels::argmax(x.data(), dim, keepdim));
}
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim) {
    return Tensor(kernels::argmin(x.data(), dim, keepdim));
}

// d var = g 2 (x - mean) / (N - correction)
Tensor var(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
    const int64_t correction = unbiased ? 1 : 0;
    return make_op(
        "var", {x}, kernels::var(x.data(), dims, correction, keepdim),
        [dims, keepdim, correction](const Tensor& g, const BackwardContext& c) -> Grads {
            const Tensor& in = c.inputs[0];
            const double n = static_cast<double>(count_reduced(in.sizes(), dims) - correction);
            const Tensor centered = sub(in, mean(in, dims, true));
            return {mul(unsqueeze_reduced(g, in.sizes(), dims, keepdim), mul(centered, scalar_like(g, 2.0 / n)))};
        },
        {.saves = Saves::inputs});
}

// d std = g (x - mean) / ((N - correction) std), written with differentiable ops (second
// derivatives follow). Where std is 0 (a constant input) that is 0 / 0: the gradient there is 0,
// as in PyTorch, not the NaN that sqrt(var) would give.
Tensor std(const Tensor& x, const Dims& dims, bool unbiased, bool keepdim) {
    const int64_t correction = unbiased ? 1 : 0;
    NDArray out = kernels::unary(kernels::Unary::sqrt, kernels::var(x.data(), dims, correction, keepdim));
    return make_op("std", {x}, std::move(out),
                   [dims, keepdim, correction](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor& in = c.inputs[0];
                       const double n = static_cast<double>(count_reduced(in.sizes(), dims) - correction);
                       const Tensor s = unsqueeze_reduced(c.output, in.sizes(), dims, keepdim);
                       const Tensor flat = eq(s, scalar_like(s, 0));
                       const Tensor safe = where(flat, ones_like(s), s);
                       const Tensor centered = sub(in, mean(in, dims, true));
                       const Tensor slope = where(flat, zeros_like(s), div(centered, mul(safe, scalar_like(s, n))));
                       return {mul(unsqueeze_reduced(g, in.sizes(), dims, keepdim), slope)};
                   },
                   {.saves = Saves::inputs_and_output});
}

// d logsumexp = g exp(x - out) = g softmax(x)
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim) {
    return make_op("logsumexp", {x}, kernels::logsumexp(x.data(), dims, keepdim),
                   [dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor& in = c.inputs[0];
                       const Tensor out = unsqueeze_reduced(c.output, in.sizes(), dims, keepdim);
                       return {mul(unsqueeze_reduced(g, in.sizes(), dims, keepdim), exp(sub(in, out)))};
                   },
                   {.saves = Saves::inputs_and_output});
}

// p-norms: 1 and inf composed from abs, sum and amax (their derivatives inherited); for p = 2 the
// gradient g x / ||x|| and for other p PyTorch's are written out, with 0 where x = 0 or the norm is
// 0 (the subgradient PyTorch uses) instead of the 0/0 or 0 * inf a composition would give.
Tensor norm(const Tensor& x, double p, const Dims& dims, bool keepdim) {
    XGRAD_CHECK(is_floating(x.dtype()), "norm: expected a floating-point tensor, got ", x.dtype());
    XGRAD_CHECK(p > 0, "norm: p must be positive, got ", p);
    if (std::isinf(p)) return amax(abs(x), dims, keepdim);
    if (p == 1) return sum(abs(x), dims, keepdim);
    if (p == 2)
        return make_op("norm", {x}, kernels::norm(x.data(), 2.0, dims, keepdim),
                       [dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                           const Tensor& in = c.inputs[0];
                           const Tensor out = unsqueeze_reduced(c.output, in.sizes(), dims, keepdim);
                           const Tensor zero = eq(out, scalar_like(out, 0));
                           const Tensor safe = where(zero, ones_like(out), out);
                           const Tensor scaled = div(unsqueeze_reduced(g, in.sizes(), dims, keepdim), safe);
                           return {where(zero, zeros_like(in), mul(in, scaled))};
                       },
                       {.saves = Saves::inputs_and_output});
    // Other p: PyTorch's gradient, sgn(x) |x|^(p-1) g / ||x||^(p-1), written so that zeros give 0
    // rather than 0 * inf (the composition pow(sum(pow(|x|, p)), 1 / p) gave NaN at zeros).
    return make_op("norm", {x}, kernels::norm(x.data(), p, dims, keepdim),
                   [p, dims, keepdim](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor& in = c.inputs[0];
                       const Tensor out = unsqueeze_reduced(c.output, in.sizes(), dims, keepdim);
                       const Tensor grad = unsqueeze_reduced(g, in.sizes(), dims, keepdim);
                       const Tensor zero_in = eq(in, scalar_like(in, 0));
                       const Tensor safe_abs = where(zero_in, ones_like(in), abs(in));
                       if (p < 1) {
                           // |x|^(p-1) is infinite at 0: the element passes nothing there.
                           const Tensor scaled = where(zero_in, zeros_like(in), mul(sign(in), pow(safe_abs, p - 1)));
                           return {mul(mul(scaled, grad), pow(out, 1 - p))};
                       }
                       const Tensor scaled =
                           p < 2 ? mul(sign(in), pow(safe_abs, p - 1)) : mul(in, pow(safe_abs, p - 2));
                       const Tensor zero_norm = eq(out, scalar_like(out, 0));
                       const Tensor safe_out = where(zero_norm, ones_like(out), out);
                       return {mul(scaled, where(zero_norm, zeros_like(out), div(grad, pow(safe_out, p - 1))))};
                   },
                   {.saves = Saves::inputs_and_output});
}

namespace {
// d softmax = s (g - sum(g s)) along dim d, with s the output: one kernel pass, or (while a graph
// of the backward is recorded, for second derivatives) the same formula in differentiable ops,
// whose sum adds in another order (the two may differ in the last bits). A hook may have handed
// g over in another dtype: the kernel takes it in the output's.
Grads softmax_backward(const Tensor& g, const Tensor& s, int64_t d) {
    if (!GradMode::is_enabled()) return {Tensor(kernels::softmax_backward(g.data().to(s.dtype()), s.data(), d))};
    return {mul(s, sub(g, sum(mul(g, s), {d}, true)))};
}
}  // namespace

Tensor softmax(const Tensor& x, int64_t dim) {
    const int64_t d = wrap_dim(dim, x.dim(), "softmax");
    return make_op("softmax", {x}, kernels::softmax(x.data(), d),
                   [d](const Tensor& g, const BackwardContext& c) -> Grads { return softmax_backward(g, c.output, d); },
                   {.saves = Saves::output});
}

// d log_softmax = g - softmax(x) sum(g) along dim; softmax = exp(out) (no overflow: out <= 0).
Tensor log_softmax(const Tensor& x, int64_t dim) {
    const int64_t d = wrap_dim(dim, x.dim(), "log_softmax");
    return make_op("log_softmax", {x}, kernels::log_softmax(x.data(), d),
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {sub(g, mul(exp(c.output), sum(g, {d}, true)))};
                   },
                   {.saves = Saves::output});
}

// One kernel pass forward; the backward is softmax's, s (g - sum(g s)) with s the output, which
// is 0 for excluded places and for empty lanes (so they pass no gradient), and is itself
// differentiable.
Tensor masked_softmax(const Tensor& x, const Tensor& excluded, int64_t dim) {
    const int64_t d = wrap_dim(dim, x.dim(), "masked_softmax");
    return make_op("masked_softmax", {x},
                   kernels::masked_softmax(x.data(), excluded.defined() ? excluded.data() : NDArray(), d),
                   [d](const Tensor& g, const BackwardContext& c) -> Grads { return softmax_backward(g, c.output, d); },
                   {.saves = Saves::output});
}

// d loss_i / d logits_i = (softmax(logits_i) - onehot(t_i)) g_i, and 0 for ignored rows. A plain
// backward runs it as one kernel; while a graph of the backward is being recorded (create_graph,
// for second derivatives) it is made of differentiable ops. The targets are saved like any input
// (and freed with the graph).
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, int64_t ignore_index) {
    return make_op(
        "cross_entropy", {logits, target}, kernels::cross_entropy_rows(logits.data(), target.data(), ignore_index),
        [ignore_index](const Tensor& g, const BackwardContext& c) -> Grads {
            const Tensor &x = c.inputs[0], &t = c.inputs[1];
            if (!GradMode::is_enabled())
                return {Tensor(kernels::cross_entropy_rows_backward(x.data(), t.data(), ignore_index, g.data())),
                        Tensor()};
            const Tensor ignored = t == scalar_tensor(static_cast<double>(ignore_index), kInt64);
            const Tensor keep = logical_not(ignored).to(x.dtype()).unsqueeze(1);
            const Tensor onehot = one_hot(where(ignored, zeros_like(t), t), x.size(1)).to(x.dtype());
            return {mul(sub(mul(softmax(x, 1), keep), mul(onehot, keep)), g.unsqueeze(1)), Tensor()};
        },
        {.saves = Saves::inputs});
}

}  // namespace xgrad
