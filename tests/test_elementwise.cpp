// Element-wise kernels against plain reference loops, over broadcasting pairs, non-contiguous
// views, empty tensors, dtypes, sizes that take the SIMD and threaded paths, and bad inputs.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include <limits>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace bdata = boost::unit_test::data;

namespace {
struct ShapePair {
    Shape a, b;
};
std::ostream& operator<<(std::ostream& out, const ShapePair& p) {
    return out << p.a << " with " << p.b;
}

// Scalars, row and column broadcasts, both sides broadcasting, rank changes, empties, and sizes
// large enough for the SIMD body, its tail, and the multi-threaded path.
const std::vector<ShapePair> shape_pairs = {
    {{}, {}},         {{5}, {}},          {{}, {4, 3}},        {{4, 3}, {4, 3}},       {{4, 3}, {3}},
    {{4, 3}, {4, 1}}, {{4, 1}, {1, 3}},   {{2, 1, 3}, {5, 1}}, {{0, 3}, {3}},          {{37}, {37}},
    {{3, 70}, {70}},  {{70, 3}, {70, 1}}, {{300, 257}, {257}}, {{300, 257}, {300, 1}}, {{2, 3, 4, 5}, {1, 3, 1, 5}},
};

struct BinaryCase {
    const char* name;
    Tensor (*op)(const Tensor&, const Tensor&);
    double (*ref)(double, double);
    bool positive_b;
};
std::ostream& operator<<(std::ostream& out, const BinaryCase& c) {
    return out << c.name;
}
const std::vector<BinaryCase> binary_cases = {
    {"add", &add, [](double a, double b) { return a + b; }, false},
    {"sub", &sub, [](double a, double b) { return a - b; }, false},
    {"mul", &mul, [](double a, double b) { return a * b; }, false},
    {"div", &div, [](double a, double b) { return a / b; }, true},
    {"pow", &pow, [](double a, double b) { return std::pow(a, b); }, false},
    {"maximum", &maximum, [](double a, double b) { return std::max(a, b); }, false},
    {"minimum", &minimum, [](double a, double b) { return std::min(a, b); }, false},
};

struct UnaryCase {
    const char* name;
    Tensor (*op)(const Tensor&);
    double (*ref)(double);
    double low, high;
};
std::ostream& operator<<(std::ostream& out, const UnaryCase& c) {
    return out << c.name;
}
const std::vector<UnaryCase> unary_cases = {
    {"neg", &neg, [](double x) { return -x; }, -3, 3},
    {"exp", &exp, [](double x) { return std::exp(x); }, -5, 5},
    {"log", &log, [](double x) { return std::log(x); }, 0.01, 5},
    {"log1p", &log1p, [](double x) { return std::log1p(x); }, -0.9, 5},
    {"expm1", &expm1, [](double x) { return std::expm1(x); }, -3, 3},
    {"erf", &erf, [](double x) { return std::erf(x); }, -3, 3},
    {"sqrt", &sqrt, [](double x) { return std::sqrt(x); }, 0, 5},
    {"rsqrt", &rsqrt, [](double x) { return 1 / std::sqrt(x); }, 0.1, 5},
    {"abs", &abs, [](double x) { return std::abs(x); }, -3, 3},
    {"sign", &sign, [](double x) { return double((x > 0) - (x < 0)); }, -3, 3},
    {"sin", &sin, [](double x) { return std::sin(x); }, -6, 6},
    {"cos", &cos, [](double x) { return std::cos(x); }, -6, 6},
    {"tanh", &tanh, [](double x) { return std::tanh(x); }, -6, 6},
    {"sigmoid", &sigmoid, [](double x) { return 1 / (1 + std::exp(-x)); }, -10, 10},
    {"relu", &relu, [](double x) { return x > 0 ? x : 0.0; }, -3, 3},
    {"square", &square, [](double x) { return x * x; }, -3, 3},
    {"reciprocal", &reciprocal, [](double x) { return 1 / x; }, 0.1, 3},
};
}  // namespace

BOOST_AUTO_TEST_SUITE(elementwise)

BOOST_DATA_TEST_CASE(binary_ops_match_reference_with_broadcasting, bdata::make(binary_cases) * bdata::make(shape_pairs),
                     c, shapes) {
    for (DType dtype : {kFloat32, kFloat64}) {
        const double tol = dtype == kFloat32 ? 2e-6 : 1e-12;
        Tensor a = random_tensor(shapes.a, dtype, 11, c.positive_b || std::string(c.name) == "pow" ? 0.5 : -2, 2);
        Tensor b = random_tensor(shapes.b, dtype, 12, c.positive_b ? 0.5 : -2, 2);
        check_values(c.op(a, b), reference_binary(a, b, c.ref), tol);
        // The same values through non-contiguous views.
        check_values(c.op(noncontiguous(a), noncontiguous(b)), reference_binary(a, b, c.ref), tol);
    }
}

BOOST_DATA_TEST_CASE(unary_ops_match_reference, bdata::make(unary_cases), c) {
    for (const Shape& shape : {Shape{}, Shape{0}, Shape{7}, Shape{33, 17}, Shape{2, 3, 4}, Shape{100003}}) {
        for (DType dtype : {kFloat32, kFloat64}) {
            Tensor x = random_tensor(shape, dtype, 5, c.low, c.high);
            std::vector<double> expected = x.to_vector<double>();
            for (double& v : expected) v = c.ref(v);
            const double tol = dtype == kFloat32 ? 3e-6 : 1e-12;
            check_values(c.op(x), expected, tol);
            check_values(c.op(noncontiguous(x)), expected, tol);
        }
    }
}

BOOST_AUTO_TEST_CASE(scalar_operands_and_type_promotion) {
    Tensor i = arange(4);  // int64
    BOOST_TEST((i * 2).dtype() == kInt64);
    BOOST_TEST((i * 0.5).dtype() == kFloat32);
    BOOST_TEST((i / 2).dtype() == kFloat32);  // true division
    check_values(i / 2, {0, 0.5, 1, 1.5});
    Tensor f = ones({2}, kFloat32);
    BOOST_TEST((f + ones({2}, kFloat64)).dtype() == kFloat64);
    BOOST_TEST((f + i.narrow(0, 0, 2)).dtype() == kFloat32);
    BOOST_TEST(exp(i).dtype() == kFloat32);
    check_values(2.0 - f * 3.0, {-1, -1});
    check_values(pow(arange(4), 2.0), {0, 1, 4, 9});
    BOOST_TEST(pow(arange(4), 2.0).dtype() == kInt64);
}

// int64 arithmetic wraps on overflow as in PyTorch (two's complement), on the SIMD path and on
// the scalar one (a strided view), without undefined behaviour (the sanitizer build checks).
BOOST_AUTO_TEST_CASE(int64_overflow_wraps) {
    const int64_t big = std::numeric_limits<int64_t>::max(), small = std::numeric_limits<int64_t>::min();
    const Tensor a = full({4, 2}, static_cast<double>(0), kInt64);
    a.fill_(1);
    const Tensor top = from_vector(std::vector<int64_t>(8, big), {4, 2});
    const Tensor bottom = from_vector(std::vector<int64_t>(8, small), {4, 2});
    for (const Tensor& view : {top, top.t().contiguous().t()}) {  // contiguous, then strided
        BOOST_TEST((add(view, a).to_vector<int64_t>() == std::vector<int64_t>(8, small)));
        BOOST_TEST((mul(view, full({4, 2}, 2.0, kInt64)).to_vector<int64_t>() == std::vector<int64_t>(8, -2)));
    }
    BOOST_TEST((sub(bottom.narrow(1, 0, 1), a.narrow(1, 0, 1)).to_vector<int64_t>() == std::vector<int64_t>(4, big)));
    BOOST_TEST(pow(full({1}, 3.0, kInt64), full({1}, 41.0, kInt64)).to_vector<int64_t>()[0] ==
               static_cast<int64_t>(0xfa2a1cf67b5fb863ULL));  // 3^41 mod 2^64, as a signed value
}

BOOST_AUTO_TEST_CASE(comparisons_give_bool_masks_and_where_selects) {
    Tensor a = tensor({1, 5, 3});
    Tensor b = tensor({2, 5, 1});
    Tensor m = a < b;
    BOOST_TEST(m.dtype() == kBool);
    check_values(m, {1, 0, 0});
    check_values(a == b, {0, 1, 0});
    check_values(a >= b, {0, 1, 1});
    check_values(a != b, {1, 0, 1});
    check_values(where(a > b, a, b), {2, 5, 3});
    check_values(where(tensor({1, 0}).to(kBool), tensor({{1, 2}, {3, 4}}), scalar_tensor(-1)), {1, -1, 3, -1});
    check_values(logical_and(a > 1.0, b > 1.0), {0, 1, 0});
    check_values(logical_or(a > 4.0, b > 4.0), {0, 1, 0});
    check_values(!(a > 2.0), {1, 0, 0});
    check_error([&] { where(a, a, b); }, {"where", "bool", "float32"});
}

BOOST_AUTO_TEST_CASE(clamp_limits_values) {
    Tensor x = tensor({-3, -1, 0, 2, 5});
    check_values(clamp(x, -1, 2), {-1, -1, 0, 2, 2});
    check_values(clamp_min(x, 0), {0, 0, 0, 2, 5});
    check_values(clamp_max(x, 0), {-3, -1, 0, 0, 0});
    check_values(clamp(arange(5), 1, 3), {1, 1, 2, 3, 3});
    BOOST_TEST(clamp(arange(5), 1, 3).dtype() == kInt64);
    // min(max(x, lo), hi) as PyTorch: with lo > hi every element is hi, and no gradient passes.
    check_values(clamp(x, 2, 1), {1, 1, 1, 1, 1});
    check_values(clamp(arange(5), 3, 1), {1, 1, 1, 1, 1});
    const Tensor w = tensor({-3.0, 0.0, 5.0}, kFloat64).requires_grad_();
    clamp(w, 2, 1).sum().backward();
    check_values(w.grad(), {0, 0, 0});
    // Integers with a fractional bound come out as float32, as PyTorch promotes them.
    const Tensor fractional = clamp(tensor({-5, 0, 5}, kInt64), -1.5, 2.5);
    BOOST_TEST(fractional.dtype() == kFloat32);
    check_values(fractional, {-1.5, 0, 2.5});
    check_values(clamp_min(tensor({-5, 0, 5}, kInt64), 0.5), {0.5, 0.5, 5});
    // An infinite bound is no whole number either (it was cast to int64: undefined behaviour).
    const Tensor infinite = clamp_min(tensor({-5, 0, 5}, kInt64), std::numeric_limits<double>::infinity());
    BOOST_TEST(infinite.dtype() == kFloat32);
    for (const double v : infinite.to_vector<double>()) BOOST_TEST(std::isinf(v));
}

BOOST_AUTO_TEST_CASE(nan_propagates_through_max_and_relu) {
    const double nan = std::numeric_limits<double>::quiet_NaN();
    Tensor x = tensor({nan, 1.0, -1.0});
    std::vector<double> r = relu(x).to_vector<double>();
    BOOST_TEST(std::isnan(r[0]));
    BOOST_TEST(std::isnan(maximum(x, zeros({3})).to_vector<double>()[0]));
}

BOOST_AUTO_TEST_CASE(in_place_ops_write_through_views) {
    Tensor x = zeros({3, 4});
    Tensor col = x.select(1, 2);
    col.add_(tensor({1, 2, 3}));
    check_values(x.select(1, 2), {1, 2, 3});
    x.mul_(2.0);
    check_values(col, {2, 4, 6});
    x.t().add_(1.0);  // through a transposed view
    check_values(col, {3, 5, 7});
    const uint64_t before = x.version();
    x.zero_();
    BOOST_TEST(x.version() == before + 1);
    check_error([&] { zeros({3}).add_(ones({2, 3})); }, {"add_", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(partial_overlap_is_rejected) {
    Tensor x = arange(10, kFloat32);
    check_error([&] { x.narrow(0, 1, 5).copy_(x.narrow(0, 0, 5)); }, {"copy_", "overlaps"});
    // Disjoint parts of one storage are fine.
    x.narrow(0, 5, 5).copy_(x.narrow(0, 0, 5));
    check_values(x, {0, 1, 2, 3, 4, 0, 1, 2, 3, 4});
}

BOOST_AUTO_TEST_CASE(out_variants_write_into_existing_tensors) {
    Tensor a = tensor({1, 2, 3}), b = tensor({4, 5, 6});
    Tensor out = empty({3});
    const float* before = out.data_ptr<float>();
    add_out(out, a, b);
    BOOST_TEST(out.data_ptr<float>() == before);
    check_values(out, {5, 7, 9});
    mul_out(out, a, b);
    check_values(out, {4, 10, 18});
    relu_out(out, a - 2.0);
    check_values(out, {0, 0, 1});
    exp_out(out, zeros({3}));
    check_values(out, {1, 1, 1});
    add_out(out, out, a);  // in place
    check_values(out, {2, 3, 4});
    check_error([&] { add_out(empty({2}), a, b); }, {"add", "[2]", "[3]"});
    check_error([&] { add_out(out, a.clone().requires_grad_(), b); }, {"add_out", "NoGradGuard"});
}

BOOST_AUTO_TEST_CASE(integers_to_negative_integer_powers_as_pytorch) {
    // 1 / a^n in integers: 1 for a = 1, -1 or 1 for a = -1 by the parity of n, else 0 (also for
    // a = 0: no division by zero).
    const Tensor base = tensor({0, 1, -1, -1, 2, -3}).to(kInt64);
    const Tensor exponent = tensor({-1, -5, -3, -2, -1, -2}).to(kInt64);
    BOOST_TEST((pow(base, exponent).to_vector<int64_t>() == std::vector<int64_t>{0, 1, -1, 1, 0, 0}));
    BOOST_TEST((pow(arange(3), scalar_tensor(-1, kInt64)).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0}));
}

BOOST_AUTO_TEST_CASE(bad_shapes_and_dtypes_name_the_op) {
    check_error([] { add(ones({2, 3}), ones({4})); }, {"add", "[2, 3]", "[4]", "cannot be broadcast"});
    check_error([] { mul(ones({2, 3}), ones({3, 2})); }, {"mul", "[2, 3]", "[3, 2]"});
    check_error([] { ones({2}).to(kInt64).requires_grad_(); }, {"requires_grad_", "floating"});
}

BOOST_AUTO_TEST_CASE(operators_as_methods_and_compound_assignment) {
    const Tensor a = tensor({1.0, 2.0, 3.0}), b = tensor({3.0, 2.0, 1.0});
    BOOST_TEST(equal(a.add(b), a + b));
    BOOST_TEST(equal(a.sub(b), a - b));
    BOOST_TEST(equal(a.mul(b), a * b));
    BOOST_TEST(equal(a.div(b), a / b));
    BOOST_TEST(equal(a.add(1.5), a + 1.5));
    BOOST_TEST(equal(a.div(2.0), a / 2.0));
    BOOST_TEST(a.eq(b).sum().item<int64_t>() == 1);  // LibTorch's accuracy line: pred.eq(target).sum()
    BOOST_TEST((a.ne(b).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1}));
    BOOST_TEST((a.lt(b).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0}));
    BOOST_TEST((a.le(b).to_vector<int64_t>() == std::vector<int64_t>{1, 1, 0}));
    BOOST_TEST((a.gt(2.0).to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1}));
    BOOST_TEST((a.ge(2.0).to_vector<int64_t>() == std::vector<int64_t>{0, 1, 1}));
    BOOST_TEST((a.ne(2.0).to_vector<int64_t>() == (a != 2.0).to_vector<int64_t>()));
    BOOST_TEST(a.argmin(0).item<int64_t>() == 0);
    // x op= y writes into x, as add_ and the others do.
    Tensor c = a.clone();
    c += b;    // 4 4 4
    c *= 2.0;  // 8 8 8
    c -= 1.0;  // 7 7 7
    c /= b;    // 7/3 3.5 7
    c -= a;    // 4/3 1.5 4
    check_values(c, {7.0 / 3 - 1, 1.5, 4}, 1e-6);
    c *= b;
    check_values(c, {4, 3, 4}, 1e-6);
}

BOOST_AUTO_TEST_CASE(nan_and_inf_masks_and_any_all) {
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor x = tensor({0.0, std::nan(""), inf, -inf, -2.5}, kFloat64);
    BOOST_TEST((x.isnan().to_vector<int64_t>() == std::vector<int64_t>{0, 1, 0, 0, 0}));
    BOOST_TEST((x.isinf().to_vector<int64_t>() == std::vector<int64_t>{0, 0, 1, 1, 0}));
    BOOST_TEST((x.isfinite().to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0, 0, 1}));
    BOOST_TEST(isfinite(arange(3)).all().item<bool>());  // integers are always finite
    BOOST_TEST(!isnan(arange(3)).any().item<bool>());
    BOOST_TEST(x.isnan().any().item<bool>());
    BOOST_TEST(!x.isnan().all().item<bool>());
    BOOST_TEST(x.any().item<bool>());   // NaN is not 0
    BOOST_TEST(!x.all().item<bool>());  // 0 is
    BOOST_TEST((x.any().dtype() == kBool && x.all().dim() == 0));
    BOOST_TEST(zeros({0}).all().item<bool>());  // as in PyTorch: all of nothing is true, any false
    BOOST_TEST(!zeros({0}).any().item<bool>());
    // Masks take no part in the graph.
    const Tensor w = tensor({1.0, 2.0}, TensorOptions(kFloat64).requires_grad(true));
    BOOST_TEST(!w.isnan().requires_grad());
    BOOST_TEST(!w.all().requires_grad());
}

BOOST_AUTO_TEST_CASE(rounding_to_whole_numbers) {
    const Tensor x = tensor({-2.5, -1.5, -0.5, 0.5, 1.5, 2.5, -1.7, 1.2}, kFloat64);
    check_values(floor(x), {-3, -2, -1, 0, 1, 2, -2, 1});
    check_values(ceil(x), {-2, -1, -0.0, 1, 2, 3, -1, 2});
    check_values(trunc(x), {-2, -1, -0.0, 0, 1, 2, -1, 1});
    check_values(round(x), {-2, -2, -0.0, 0, 2, 2, -2, 1});  // half to even, as torch.round
    // float32 through the SIMD path (more elements than a batch holds), against std::nearbyint.
    const Tensor y = random_tensor({37}, kFloat32, 7, -50, 50);
    const std::vector<float> yv = y.to_vector<float>(), rounded = round(y).to_vector<float>();
    for (std::size_t i = 0; i < yv.size(); ++i) BOOST_TEST(rounded[i] == std::nearbyint(yv[i]));
    // Integers are whole already and keep their dtype; a non-contiguous view rounds in place order.
    const Tensor n = arange(6).view({2, 3});
    BOOST_TEST(floor(n).dtype() == kInt64);
    BOOST_TEST((round(n.t()).to_vector<int64_t>() == std::vector<int64_t>{0, 3, 1, 4, 2, 5}));
    // The gradient is 0.
    const Tensor w = tensor({0.3, 1.7}, TensorOptions(kFloat64).requires_grad(true));
    (floor(w) + ceil(w) + trunc(w) + round(w)).sum().backward();
    check_values(w.grad(), {0, 0});
}

BOOST_AUTO_TEST_CASE(exp_and_sigmoid_have_the_same_range_in_vectors_and_tails) {
    // xsimd's vector exp gave inf from 88.38 and 0 below -88.38 in float32 (e^x is finite to 88.72
    // and subnormal down to -103.9); a lane now gives what the scalar tail gives.
    for (const double v : {88.5, -100.0, 709.0 /* float64 below */}) {
        BOOST_TEST_CONTEXT(v) {
            const DType dtype = v > 700 ? kFloat64 : kFloat32;
            const std::vector<double> lanes = exp(full({16}, v, dtype)).to_vector<double>();
            const double scalar =
                dtype == kFloat32 ? static_cast<double>(std::exp(static_cast<float>(v))) : std::exp(v);
            for (const double e : lanes) BOOST_TEST(e == scalar);
            BOOST_TEST((std::isfinite(scalar) && scalar > 0));
        }
    }
    // Just below xsimd's float cutoff (-87.68) and far beyond the band (-inf, a -1e9 mask: 0).
    for (const double v : {-87.7, -1e9, -std::numeric_limits<double>::infinity()}) {
        const float scalar = std::exp(static_cast<float>(v));
        for (const double e : exp(full({16}, v, kFloat32)).to_vector<double>()) BOOST_TEST(e == scalar);
    }
    const std::vector<double> sig = sigmoid(full({16}, -88.5, kFloat32)).to_vector<double>();
    for (const double s : sig) BOOST_TEST(s > 0);
}

BOOST_AUTO_TEST_CASE(pow_and_maximum_gradients_at_their_edges) {
    // d(a^b)/da at b = 0 is 0, also at a = 0 (b a^(b-1) would be 0 * inf).
    const Tensor a = tensor({0.0, 2.0}, kFloat64).requires_grad_(), b = tensor({0.0, 0.0}, kFloat64);
    pow(a, b).sum().backward();
    check_values(a.grad(), {0, 0}, 0);
    // Where one side is NaN, both get the whole gradient (PyTorch masks only a strict loser).
    const double nan = std::nan("");
    const Tensor x = tensor({1.0, nan}, kFloat64).requires_grad_(), y = tensor({1.0, 1.0}, kFloat64).requires_grad_();
    maximum(x, y).sum().backward();
    check_values(x.grad(), {0.5, 1}, 0);
    check_values(y.grad(), {0.5, 1}, 0);
}

BOOST_AUTO_TEST_CASE(a_zero_dim_tensor_does_not_raise_the_type_within_its_category) {
    // PyTorch's rule: float32 [n] with a float64 0-d tensor is float32; a 0-d tensor of a higher
    // category (float beside int64) still decides.
    const Tensor f = tensor({1.0, 2.0}, kFloat32), d0 = scalar_tensor(0.5, kFloat64);
    BOOST_TEST((f + d0).dtype() == kFloat32);
    BOOST_TEST((d0 * f).dtype() == kFloat32);
    BOOST_TEST(where(tensor({1.0, 0.0}) > 0.5, d0, f).dtype() == kFloat32);
    BOOST_TEST((tensor({1, 2}, kInt64) + d0).dtype() == kFloat64);
    BOOST_TEST((tensor({1, 2}, kInt64) + scalar_tensor(3, kInt64)).dtype() == kInt64);
    BOOST_TEST((f + tensor({0.5}, kFloat64)).dtype() == kFloat64);      // both dimensioned: the wider
    BOOST_TEST((d0 + scalar_tensor(1, kFloat32)).dtype() == kFloat64);  // both 0-d: the wider
    // The 0-d operand's gradient comes back in its own dtype.
    const Tensor x = f.clone().requires_grad_(), s = d0.clone().requires_grad_();
    (x * s).sum().backward();
    BOOST_TEST(s.grad().dtype() == kFloat64);
    check_values(s.grad(), {3.0}, 1e-6);
    check_values(x.grad(), {0.5, 0.5}, 0);
}

BOOST_AUTO_TEST_CASE(bools_add_as_or_and_multiply_as_and) {
    const Tensor a = tensor({1.0, 1.0, 0.0}) > 0.5, b = tensor({1.0, 0.0, 0.0}) > 0.5;
    const Tensor sum_ab = a + b, product = a * b;
    BOOST_TEST(sum_ab.dtype() == kBool);
    BOOST_TEST(product.dtype() == kBool);
    check_values(sum_ab, {1, 1, 0}, 0);
    check_values(product, {1, 0, 0}, 0);
    check_values(maximum(a, b), {1, 1, 0}, 0);
    check_error([&] { a - b; }, {"sub", "bool", "logical_xor"});
    // A bool's sign is itself; negating a mask or taking its magnitude is refused, as in PyTorch.
    BOOST_TEST(sign(a).dtype() == kBool);
    check_values(sign(a), {1, 1, 0}, 0);
    check_error([&] { neg(a); }, {"neg", "bool", "logical_not"});
    check_error([&] { abs(a); }, {"abs", "bool"});
    // With an integer operand the bools count as 0 and 1.
    check_values(a + tensor({1, 1, 1}, kInt64), {2, 2, 1}, 0);
}

BOOST_AUTO_TEST_SUITE_END()
