// Element-wise ops and their derivatives. Each backward formula is written with differentiable
// ops, so that create_graph gives second derivatives. Broadcasting is undone by the engine
// (sum_to), so a formula returns gradients in the output's shape.

#include <cmath>
#include <limits>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
using kernels::Binary;
using kernels::Unary;

namespace {
Tensor binary_op(Binary kind, const Tensor& a, const Tensor& b, BackwardFn backward, OpSpec spec) {
    return make_op(kernels::binary_name(kind), {a, b}, kernels::binary(kind, a.data(), b.data()), std::move(backward),
                   spec);
}
Tensor unary_op(Unary kind, const Tensor& x, BackwardFn backward, OpSpec spec) {
    return make_op(kernels::unary_name(kind), {x}, kernels::unary(kind, x.data()), std::move(backward), spec);
}
}  // namespace

Tensor scalar_like(const Tensor& like, double value) {
    DType dtype = like.dtype();
    if (!is_floating(dtype)) dtype = value == std::floor(value) && std::isfinite(value) ? kInt64 : kFloat32;
    return Tensor(NDArray::scalar(value, dtype));
}

// d(a + b) = (g, g)
Tensor add(const Tensor& a, const Tensor& b) {
    return binary_op(Binary::add, a, b,
                     [](const Tensor& g, const BackwardContext&) -> Grads {
                         return {g, g};
                     },
                     {.saves = Saves::nothing});
}

// d(a - b) = (g, -g)
Tensor sub(const Tensor& a, const Tensor& b) {
    return binary_op(Binary::sub, a, b,
                     [](const Tensor& g, const BackwardContext& c) -> Grads {
                         return {g, c.needs(1) ? neg(g) : Tensor()};
                     },
                     {.saves = Saves::nothing});
}

// d(a b) = (g b, g a): each side needs only the other input.
Tensor mul(const Tensor& a, const Tensor& b) {
    return binary_op(
        Binary::mul, a, b,
        [](const Tensor& g, const BackwardContext& c) -> Grads {
            return {c.needs(0) ? mul(g, c.inputs[1]) : Tensor(), c.needs(1) ? mul(g, c.inputs[0]) : Tensor()};
        },
        {.saves = Saves::inputs, .save_inputs = {b.requires_grad(), a.requires_grad()}});
}

// d(a / b) = (g / b, -g a / b^2)
Tensor div(const Tensor& a, const Tensor& b) {
    return binary_op(Binary::div, a, b,
                     [](const Tensor& g, const BackwardContext& c) -> Grads {
                         const Tensor& b = c.inputs[1];
                         const Tensor ga = div(g, b);
                         return {c.needs(0) ? ga : Tensor(), c.needs(1) ? neg(div(mul(ga, c.inputs[0]), b)) : Tensor()};
                     },
                     {.saves = Saves::inputs, .save_inputs = {b.requires_grad(), true}});
}

// d(a^b) = (g b a^(b-1), g a^b log a); the first is 0 where b == 0 (a^0 is constant, also at
// a = 0 where b a^(b-1) would be 0 * inf), the second 0 where a == 0 and b >= 0 (the limit along
// a -> 0+), as PyTorch does.
Tensor pow(const Tensor& base, const Tensor& exponent) {
    return binary_op(Binary::pow, base, exponent,
                     [](const Tensor& g, const BackwardContext& c) -> Grads {
                         const Tensor &a = c.inputs[0], &b = c.inputs[1];
                         Tensor ga, gb;
                         if (c.needs(0)) {
                             const Tensor constant = eq(b, scalar_like(b, 0));
                             const Tensor safe_b = where(constant, ones_like(b), b);
                             ga = where(constant, zeros_like(g),
                                        mul(mul(g, b), pow(a, sub(safe_b, scalar_like(b, 1.0)))));
                         }
                         if (c.needs(1)) {
                             const Tensor zero_base = logical_and(eq(a, scalar_like(a, 0)), ge(b, scalar_like(b, 0)));
                             const Tensor safe_log = log(where(zero_base, ones_like(a), a));
                             gb = where(zero_base, zeros_like(c.output), mul(mul(g, c.output), safe_log));
                         }
                         return {ga, gb};
                     },
                     {.saves = Saves::inputs_and_output});
}

// d(x^e) = g e x^(e-1)
Tensor pow(const Tensor& x, double e) {
    return make_op("pow", {x}, kernels::pow_scalar(x.data(), e),
                   [e](const Tensor& g, const BackwardContext& c) -> Grads {
                       if (e == 0) return {zeros_like(g)};
                       return {mul(g, mul(pow(c.inputs[0], e - 1), scalar_like(g, e)))};
                   },
                   {.saves = Saves::inputs});
}

// maximum/minimum: the gradient goes to the larger (smaller) input; at ties it is split in half,
// and where either is NaN (the result is NaN) both get it all, as in PyTorch: the loser is masked
// out by a comparison that NaN never passes.
Tensor maximum(const Tensor& a, const Tensor& b) {
    return binary_op(Binary::maximum, a, b,
                     [](const Tensor& g, const BackwardContext& c) -> Grads {
                         const Tensor &x = c.inputs[0], &y = c.inputs[1];
                         const Tensor half = mul(g, scalar_like(g, 0.5));
                         const Tensor tie = eq(x, y);
                         return {where(tie, half, where(lt(x, y), zeros_like(g), g)),
                                 where(tie, half, where(gt(x, y), zeros_like(g), g))};
                     },
                     {.saves = Saves::inputs});
}

Tensor minimum(const Tensor& a, const Tensor& b) {
    return binary_op(Binary::minimum, a, b,
                     [](const Tensor& g, const BackwardContext& c) -> Grads {
                         const Tensor &x = c.inputs[0], &y = c.inputs[1];
                         const Tensor half = mul(g, scalar_like(g, 0.5));
                         const Tensor tie = eq(x, y);
                         return {where(tie, half, where(gt(x, y), zeros_like(g), g)),
                                 where(tie, half, where(lt(x, y), zeros_like(g), g))};
                     },
                     {.saves = Saves::inputs});
}

Tensor neg(const Tensor& x) {
    return unary_op(Unary::neg, x, [](const Tensor& g, const BackwardContext&) -> Grads { return {neg(g)}; },
                    {.saves = Saves::nothing});
}

// d exp(x) = g exp(x): reuses the output.
Tensor exp(const Tensor& x) {
    return unary_op(Unary::exp, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {mul(g, c.output)}; },
                    {.saves = Saves::output});
}

// d log(x) = g / x
Tensor log(const Tensor& x) {
    return unary_op(Unary::log, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {div(g, c.inputs[0])}; },
                    {.saves = Saves::inputs});
}

// d log1p(x) = g / (1 + x)
Tensor log1p(const Tensor& x) {
    return unary_op(Unary::log1p, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads {
                        return {div(g, add(c.inputs[0], scalar_like(g, 1.0)))};
                    },
                    {.saves = Saves::inputs});
}

// d expm1(x) = g (expm1(x) + 1)
Tensor expm1(const Tensor& x) {
    return unary_op(
        Unary::expm1, x,
        [](const Tensor& g, const BackwardContext& c) -> Grads { return {mul(g, add(c.output, scalar_like(g, 1.0)))}; },
        {.saves = Saves::output});
}

// d erf(x) = g 2/sqrt(pi) exp(-x^2)
Tensor erf(const Tensor& x) {
    return unary_op(Unary::erf, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads {
                        const Tensor& in = c.inputs[0];
                        return {mul(g, mul(exp(neg(square(in))), scalar_like(g, 2.0 / std::sqrt(M_PI))))};
                    },
                    {.saves = Saves::inputs});
}

// d sqrt(x) = g / (2 sqrt(x))
Tensor sqrt(const Tensor& x) {
    return unary_op(
        Unary::sqrt, x,
        [](const Tensor& g, const BackwardContext& c) -> Grads { return {div(g, mul(c.output, scalar_like(g, 2.0)))}; },
        {.saves = Saves::output});
}

// d x^(-1/2) = -g x^(-3/2) / 2 = -g out^3 / 2
Tensor rsqrt(const Tensor& x) {
    return unary_op(Unary::rsqrt, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads {
                        return {mul(g, mul(pow(c.output, 3.0), scalar_like(g, -0.5)))};
                    },
                    {.saves = Saves::output});
}

// d |x| = g sign(x); 0 at x = 0 (the subgradient PyTorch picks).
Tensor abs(const Tensor& x) {
    return unary_op(Unary::abs, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {mul(g, sign(c.inputs[0]))}; },
                    {.saves = Saves::inputs});
}

// Piecewise constant ops (sign, floor, ceil, trunc, round): a zero gradient, also at the steps
// by convention, as in PyTorch.
namespace {
Tensor step_op(Unary op, const Tensor& x) {
    return unary_op(op, x, [](const Tensor& g, const BackwardContext&) -> Grads { return {zeros_like(g)}; },
                    {.saves = Saves::nothing});
}
}  // namespace
Tensor sign(const Tensor& x) {
    return step_op(Unary::sign, x);
}

Tensor floor(const Tensor& x) {
    return step_op(Unary::floor, x);
}
Tensor ceil(const Tensor& x) {
    return step_op(Unary::ceil, x);
}
Tensor trunc(const Tensor& x) {
    return step_op(Unary::trunc, x);
}
Tensor round(const Tensor& x) {
    return step_op(Unary::round, x);
}

Tensor sin(const Tensor& x) {
    return unary_op(Unary::sin, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {mul(g, cos(c.inputs[0]))}; },
                    {.saves = Saves::inputs});
}

Tensor cos(const Tensor& x) {
    return unary_op(Unary::cos, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {neg(mul(g, sin(c.inputs[0])))}; },
                    {.saves = Saves::inputs});
}

// d tanh(x) = g (1 - tanh(x)^2): reuses the output.
Tensor tanh(const Tensor& x) {
    return unary_op(Unary::tanh, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {tanh_backward(g, c.output)}; },
                    {.saves = Saves::output});
}

// tanh_backward(g, y) = g (1 - y^2): d/dg = 1 - y^2, d/dy = -2 g y.
Tensor tanh_backward(const Tensor& grad, const Tensor& y) {
    return binary_op(Binary::tanh_backward, grad, y,
                     [](const Tensor& gg, const BackwardContext& c) -> Grads {
                         const Tensor &g = c.inputs[0], &out = c.inputs[1];
                         return {c.needs(0) ? tanh_backward(gg, out) : Tensor(),
                                 c.needs(1) ? mul(mul(gg, g), mul(out, scalar_like(out, -2.0))) : Tensor()};
                     },
                     {.saves = Saves::inputs});
}

// d sigmoid(x) = g s (1 - s) with s the output.
Tensor sigmoid(const Tensor& x) {
    return unary_op(Unary::sigmoid, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {sigmoid_backward(g, c.output)}; },
                    {.saves = Saves::output});
}

// sigmoid_backward(g, y) = g y (1 - y): d/dg = y (1 - y), d/dy = g (1 - 2 y).
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y) {
    return binary_op(Binary::sigmoid_backward, grad, y,
                     [](const Tensor& gg, const BackwardContext& c) -> Grads {
                         const Tensor &g = c.inputs[0], &out = c.inputs[1];
                         return {c.needs(0) ? sigmoid_backward(gg, out) : Tensor(),
                                 c.needs(1)
                                     ? mul(mul(gg, g), sub(scalar_like(out, 1.0), mul(out, scalar_like(out, 2.0))))
                                     : Tensor()};
                     },
                     {.saves = Saves::inputs});
}

// Linear in x with a fixed mask: the gradient is the same masked product of g, the mask
// recomputed from the key (nothing is saved), and differentiable again the same way.
Tensor dropout_with_key(const Tensor& x, double keep, uint64_t key) {
    return make_op(
        "dropout", {x}, kernels::dropout(x.data(), keep, key),
        [keep, key](const Tensor& g, const BackwardContext&) -> Grads { return {dropout_with_key(g, keep, key)}; });
}

// relu's gradient is g where the output is positive. Using the output (out > 0 exactly when
// x > 0) lets relu run in place; at x = 0 the gradient is 0, PyTorch's choice at the kink.
Tensor relu(const Tensor& x) {
    return unary_op(
        Unary::relu, x,
        [](const Tensor& g, const BackwardContext& c) -> Grads { return {threshold_backward(g, c.output)}; },
        {.saves = Saves::output});
}

// threshold_backward(g, x) is linear in g with a mask that is constant almost everywhere, so its
// own derivative is the same mask for g and zero for x.
Tensor threshold_backward(const Tensor& grad, const Tensor& x) {
    return make_op("threshold_backward", {grad, x}, kernels::threshold_backward(grad.data(), x.data()),
                   [](const Tensor& gg, const BackwardContext& c) -> Grads {
                       return {threshold_backward(gg, c.inputs[1]), c.needs(1) ? zeros_like(c.inputs[1]) : Tensor()};
                   },
                   {.saves = Saves::inputs, .save_inputs = {false, true}});
}

// d x^2 = 2 g x
Tensor square(const Tensor& x) {
    return unary_op(Unary::square, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads {
                        return {mul(g, mul(c.inputs[0], scalar_like(g, 2.0)))};
                    },
                    {.saves = Saves::inputs});
}

// d (1/x) = -g / x^2 = -g out^2
Tensor reciprocal(const Tensor& x) {
    return unary_op(Unary::reciprocal, x,
                    [](const Tensor& g, const BackwardContext& c) -> Grads { return {neg(mul(g, square(c.output)))}; },
                    {.saves = Saves::output});
}

// The gradient passes where low <= x <= high (bounds included, as PyTorch).
Tensor clamp(const Tensor& x, double low, double high) {
    return make_op("clamp", {x}, kernels::clamp(x.data(), low, high),
                   [low, high](const Tensor& g, const BackwardContext& c) -> Grads {
                       const Tensor& in = c.inputs[0];
                       Tensor inside = ones_like(in).to(kBool);
                       if (!std::isnan(low)) inside = logical_and(inside, ge(in, scalar_like(in, low)));
                       if (!std::isnan(high)) inside = logical_and(inside, le(in, scalar_like(in, high)));
                       return {where(inside, g, zeros_like(g))};
                   },
                   {.saves = Saves::inputs});
}

Tensor clamp_min(const Tensor& x, double low) {
    return clamp(x, low, std::numeric_limits<double>::quiet_NaN());
}
Tensor clamp_max(const Tensor& x, double high) {
    return clamp(x, std::numeric_limits<double>::quiet_NaN(), high);
}

// d where(c, a, b) = (g where c, g where not c); the condition gets no gradient.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b) {
    return make_op(
        "where", {cond, a, b}, kernels::where(cond.data(), a.data(), b.data()),
        [](const Tensor& g, const BackwardContext& c) -> Grads {
            const Tensor& m = c.inputs[0];
            const Tensor z = zeros_like(g);
            return {Tensor(), c.needs(1) ? where(m, g, z) : Tensor(), c.needs(2) ? where(m, z, g) : Tensor()};
        },
        {.saves = Saves::inputs, .save_inputs = {true, false, false}});
}

// ---- out= variants: no graph ---------------------------------------------------------------------
namespace {
void check_out_allowed(const char* op, std::initializer_list<Tensor> tensors) {
    if (!GradMode::is_enabled()) return;
    for (const Tensor& t : tensors)
        XGRAD_CHECK(!t.requires_grad(), op,
                    ": out= variants do not record gradients; call it under NoGradGuard or "
                    "use the ordinary op");
}
const Tensor& binary_out(const char* op, Binary kind, const Tensor& out, const Tensor& a, const Tensor& b) {
    check_out_allowed(op, {out, a, b});
    kernels::binary_out(kind, out.data(), a.data(), b.data());
    out.data().bump_version();
    return out;
}
const Tensor& unary_out(const char* op, Unary kind, const Tensor& out, const Tensor& x) {
    check_out_allowed(op, {out, x});
    kernels::unary_out(kind, out.data(), x.data());
    out.data().bump_version();
    return out;
}
}  // namespace

const Tensor& add_out(const Tensor& o, const Tensor& a, const Tensor& b) {
    return binary_out("add_out", Binary::add, o, a, b);
}
const Tensor& sub_out(const Tensor& o, const Tensor& a, const Tensor& b) {
    return binary_out("sub_out", Binary::sub, o, a, b);
}
const Tensor& mul_out(const Tensor& o, const Tensor& a, const Tensor& b) {
    return binary_out("mul_out", Binary::mul, o, a, b);
}
const Tensor& div_out(const Tensor& o, const Tensor& a, const Tensor& b) {
    return binary_out("div_out", Binary::div, o, a, b);
}
const Tensor& exp_out(const Tensor& o, const Tensor& x) {
    return unary_out("exp_out", Unary::exp, o, x);
}
const Tensor& tanh_out(const Tensor& o, const Tensor& x) {
    return unary_out("tanh_out", Unary::tanh, o, x);
}
const Tensor& sigmoid_out(const Tensor& o, const Tensor& x) {
    return unary_out("sigmoid_out", Unary::sigmoid, o, x);
}
const Tensor& relu_out(const Tensor& o, const Tensor& x) {
    return unary_out("relu_out", Unary::relu, o, x);
}

// ---- comparisons: masks, no gradient -------------------------------------------------------------
Tensor eq(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::eq, a.data(), b.data()));
}
Tensor ne(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::ne, a.data(), b.data()));
}
Tensor lt(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::lt, a.data(), b.data()));
}
Tensor le(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::le, a.data(), b.data()));
}
Tensor gt(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::gt, a.data(), b.data()));
}
Tensor ge(const Tensor& a, const Tensor& b) {
    return Tensor(kernels::compare(kernels::Compare::ge, a.data(), b.data()));
}

Tensor logical_and(const Tensor& a, const Tensor& b) {
    const NDArray x = a.data().to(kBool), y = b.data().to(kBool);
    return Tensor(
        kernels::compare(kernels::Compare::eq, kernels::binary(Binary::mul, x, y), NDArray::scalar(1, kInt64)));
}
Tensor logical_or(const Tensor& a, const Tensor& b) {
    const NDArray x = a.data().to(kBool), y = b.data().to(kBool);
    return Tensor(
        kernels::compare(kernels::Compare::gt, kernels::binary(Binary::add, x, y), NDArray::scalar(0, kInt64)));
}
Tensor logical_not(const Tensor& a) {
    return Tensor(kernels::compare(kernels::Compare::eq, a.data().to(kBool), NDArray::scalar(0, kBool)));
}

bool allclose(const Tensor& a, const Tensor& b, double rtol, double atol) {
    XGRAD_CHECK(a.sizes() == b.sizes(), "allclose: shapes ", a.sizes(), " and ", b.sizes(), " differ");
    const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
    for (std::size_t i = 0; i < x.size(); ++i) {
        if (std::isnan(x[i]) || std::isnan(y[i])) return false;
        if (x[i] == y[i]) continue;  // equal infinities
        if (std::abs(x[i] - y[i]) > atol + rtol * std::abs(y[i])) return false;
    }
    return true;
}

bool equal(const Tensor& a, const Tensor& b) {
    return a.sizes() == b.sizes() && a.to_vector<double>() == b.to_vector<double>();
}

Tensor operator+(const Tensor& a, const Tensor& b) {
    return add(a, b);
}
Tensor operator-(const Tensor& a, const Tensor& b) {
    return sub(a, b);
}
Tensor operator*(const Tensor& a, const Tensor& b) {
    return mul(a, b);
}
Tensor operator/(const Tensor& a, const Tensor& b) {
    return div(a, b);
}
Tensor operator-(const Tensor& a) {
    return neg(a);
}
Tensor operator+(const Tensor& a, double b) {
    return add(a, scalar_like(a, b));
}
Tensor operator-(const Tensor& a, double b) {
    return sub(a, scalar_like(a, b));
}
Tensor operator*(const Tensor& a, double b) {
    return mul(a, scalar_like(a, b));
}
Tensor operator/(const Tensor& a, double b) {
    return div(a, scalar_like(a, b));
}
Tensor operator+(double a, const Tensor& b) {
    return add(scalar_like(b, a), b);
}
Tensor operator-(double a, const Tensor& b) {
    return sub(scalar_like(b, a), b);
}
Tensor operator*(double a, const Tensor& b) {
    return mul(scalar_like(b, a), b);
}
Tensor operator/(double a, const Tensor& b) {
    return div(scalar_like(b, a), b);
}
Tensor operator==(const Tensor& a, const Tensor& b) {
    return eq(a, b);
}
Tensor operator!=(const Tensor& a, const Tensor& b) {
    return ne(a, b);
}
Tensor operator<(const Tensor& a, const Tensor& b) {
    return lt(a, b);
}
Tensor operator<=(const Tensor& a, const Tensor& b) {
    return le(a, b);
}
Tensor operator>(const Tensor& a, const Tensor& b) {
    return gt(a, b);
}
Tensor operator>=(const Tensor& a, const Tensor& b) {
    return ge(a, b);
}
Tensor operator<(const Tensor& a, double b) {
    return lt(a, scalar_like(a, b));
}
Tensor operator<=(const Tensor& a, double b) {
    return le(a, scalar_like(a, b));
}
Tensor operator>(const Tensor& a, double b) {
    return gt(a, scalar_like(a, b));
}
Tensor operator>=(const Tensor& a, double b) {
    return ge(a, scalar_like(a, b));
}
Tensor operator==(const Tensor& a, double b) {
    return eq(a, scalar_like(a, b));
}
Tensor operator!=(const Tensor& a, double b) {
    return ne(a, scalar_like(a, b));
}
Tensor isnan(const Tensor& x) {
    return ne(x, x);  // NaN is the one value unequal to itself
}
Tensor isinf(const Tensor& x) {
    if (!x.is_floating_point()) return zeros(x.sizes(), kBool);
    NoGradGuard no_grad;  // a mask: abs need not save x for a backward
    return eq(abs(x), scalar_like(x, std::numeric_limits<double>::infinity()));
}
Tensor isfinite(const Tensor& x) {
    if (!x.is_floating_point()) return ones(x.sizes(), kBool);
    NoGradGuard no_grad;
    return lt(abs(x), scalar_like(x, std::numeric_limits<double>::infinity()));  // false for NaN too
}
Tensor any(const Tensor& x) {
    NoGradGuard no_grad;
    return gt(sum(ne(x, scalar_like(x, 0))), scalar_tensor(0, kInt64));
}
Tensor all(const Tensor& x) {
    NoGradGuard no_grad;
    return eq(sum(ne(x, scalar_like(x, 0))), scalar_tensor(static_cast<double>(x.numel()), kInt64));
}
Tensor operator&&(const Tensor& a, const Tensor& b) {
    return logical_and(a, b);
}
Tensor operator||(const Tensor& a, const Tensor& b) {
    return logical_or(a, b);
}
Tensor operator!(const Tensor& a) {
    return logical_not(a);
}

}  // namespace xgrad
