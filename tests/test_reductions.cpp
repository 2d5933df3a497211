// Reductions against reference loops over every combination of reduced dims, keepdim, layouts
// and sizes that take the SIMD and threaded paths.
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
// Reference: reduce x (any layout) over dims with f(values) -> value, keeping dims as keepdim says.
std::vector<double> reference_reduce(const Tensor& x, const Shape& dims,
                                     const std::function<double(const std::vector<double>&)>& f) {
    const Shape out = kernels::reduced_shape(x.sizes(), dims, true, "reference");
    const std::vector<double> v = x.to_vector<double>();
    std::vector<std::vector<double>> groups(static_cast<std::size_t>(shape_numel(out)));
    for (int64_t i = 0; i < x.numel(); ++i) {
        const Shape idx = unravel(i, x.sizes());
        groups[static_cast<std::size_t>(broadcast_position(idx, out))].push_back(v[static_cast<std::size_t>(i)]);
    }
    std::vector<double> r;
    for (const auto& g : groups) r.push_back(f(g));
    return r;
}

double sum_of(const std::vector<double>& v) {
    double s = 0;
    for (double x : v) s += x;
    return s;
}
double mean_of(const std::vector<double>& v) {
    return sum_of(v) / static_cast<double>(v.size());
}
double var_of(const std::vector<double>& v, int correction) {
    const double m = mean_of(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return s / static_cast<double>(v.size() - correction);
}

const std::vector<std::pair<Shape, std::vector<Shape>>> reduction_cases = {
    {{}, {{}}},
    {{7}, {{}, {0}, {-1}}},
    {{5, 6}, {{}, {0}, {1}, {0, 1}}},
    {{3, 4, 5}, {{}, {0}, {1}, {2}, {0, 2}, {1, 2}, {0, 1}}},
    {{2, 3, 4, 5}, {{1, 3}, {0, 2}, {3}, {0}}},
    {{1000, 257}, {{0}, {1}, {}}},
    {{3, 100000}, {{1}, {0}}},
    {{200003}, {{}}},
};
}  // namespace

BOOST_AUTO_TEST_SUITE(reductions)

BOOST_AUTO_TEST_CASE(sum_mean_amax_amin_var_match_reference) {
    for (const auto& [shape, dim_sets] : reduction_cases) {
        for (const Shape& dims : dim_sets) {
            for (bool keepdim : {false, true}) {
                for (DType dtype : {kFloat32, kFloat64}) {
                    BOOST_TEST_CONTEXT("shape " << shape << " dims " << dims << " keepdim " << keepdim << " "
                                                << dtype) {
                        const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
                        for (const Tensor& x :
                             {random_tensor(shape, dtype, 3), noncontiguous(random_tensor(shape, dtype, 3))}) {
                            const Shape expect_shape = kernels::reduced_shape(shape, dims, keepdim, "test");
                            BOOST_TEST((sum(x, dims, keepdim).sizes() == expect_shape));
                            check_values(sum(x, dims, keepdim), reference_reduce(x, dims, sum_of), tol);
                            check_values(mean(x, dims, keepdim), reference_reduce(x, dims, mean_of), tol);
                            check_values(amax(x, dims, keepdim),
                                         reference_reduce(x, dims, [](const std::vector<double>& v) {
                                             return *std::max_element(v.begin(), v.end());
                                         }));
                            check_values(amin(x, dims, keepdim),
                                         reference_reduce(x, dims, [](const std::vector<double>& v) {
                                             return *std::min_element(v.begin(), v.end());
                                         }));
                            if (x.numel() > 1 && shape_numel(expect_shape) < x.numel()) {
                                check_values(var(x, dims, true, keepdim),
                                             reference_reduce(
                                                 x, dims, [](const std::vector<double>& v) { return var_of(v, 1); }),
                                             tol);
                                check_values(
                                    xgrad::std(x, dims, false, keepdim),
                                    reference_reduce(
                                        x, dims, [](const std::vector<double>& v) { return std::sqrt(var_of(v, 0)); }),
                                    tol);
                            }
                        }
                    }
                }
            }
        }
    }
}

// LibTorch's habit: one dim as a plain integer, x.sum(1), means the list {1}; a bool is no dim.
static_assert(std::is_convertible_v<int, Dims> && std::is_convertible_v<int64_t, Dims>);
static_assert(!std::is_convertible_v<bool, Dims>);

BOOST_AUTO_TEST_CASE(one_dim_as_a_plain_integer) {
    const Tensor x = random_tensor({3, 4, 5}, kFloat64);
    const auto same = [](const Tensor& a, const Tensor& b) {
        BOOST_TEST((a.sizes() == b.sizes()));
        BOOST_TEST((a.to_vector<double>() == b.to_vector<double>()));
    };
    same(x.sum(1), x.sum({1}));
    same(x.sum(-1, true), x.sum({2}, true));
    same(x.mean(0), x.mean({0}));
    same(x.var(2), x.var({2}));
    same(x.std(1, false), x.std({1}, false));
    same(sum(x, 1), sum(x, {1}));
    same(amax(x, 2), amax(x, {2}));
    same(amin(x, 0, true), amin(x, {0}, true));
    same(logsumexp(x, 1), logsumexp(x, {1}));
    same(norm(x, 2.0, 1), norm(x, 2.0, {1}));
    same(x.sum(std::vector<int64_t>{0, 2}), x.sum({0, 2}));  // a std::vector, as a Shape converts from
    BOOST_TEST(x.sum(1).sizes() == (Shape{3, 5}));
    BOOST_TEST(x.var().dim() == 0);  // no dims: every element
}

BOOST_AUTO_TEST_CASE(prod_over_all_and_along_a_dim) {
    const Tensor x = tensor({{1.0, 2.0, 3.0}, {4.0, 0.0, 6.0}}, kFloat64).requires_grad_();
    BOOST_TEST(prod(x).item() == 0.0);
    const Tensor rows = x.prod(1);
    check_values(rows, {6, 0}, 0);
    BOOST_TEST(x.prod(0, true).sizes() == Shape({1, 3}));
    check_values(x.prod(-2), {4, 0, 18}, 0);
    // d prod / d x_i is the product of the others, also at the zero: row 2 gives (0, 24, 0).
    rows.sum().backward();
    check_values(x.grad(), {6, 3, 2, 0, 24, 0}, 0);
    // Integers multiply in int64 and wrap as int64 does; bools count as 0 and 1.
    // (2^32 + 1)^2 = 2^64 + 2^33 + 1, which wraps to 2^33 + 1.
    const Tensor big = full({2}, 4294967297.0, kInt64);
    BOOST_TEST(prod(big).dtype() == kInt64);
    BOOST_TEST(prod(big).item() == 8589934593.0);
    const Tensor flags = tensor({1.0, 1.0, 0.0}) > 0.5;
    BOOST_TEST(prod(flags.narrow(0, 0, 2)).item() == 1.0);
    BOOST_TEST(prod(flags).item() == 0.0);
    BOOST_TEST(prod(flags).dtype() == kInt64);
    // A long lane with one zero: the zero's gradient is the product of the others, the rest 0, in
    // O(n) (a lane of 100,000 would need 10^10 elements in cumprod's exact form); two zeros: all 0.
    const Tensor lane = ones({100000}, kFloat64);
    lane.narrow(0, 5, 1).fill_(0.0);
    lane.narrow(0, 7, 1).fill_(2.0);
    lane.requires_grad_();
    prod(lane).backward();
    BOOST_TEST(lane.grad().sum().item() == 2.0);
    BOOST_TEST(lane.grad().narrow(0, 5, 1).item() == 2.0);
    const Tensor two_zeros = tensor({0.0, 3.0, 0.0}, kFloat64).requires_grad_();
    prod(two_zeros).backward();
    check_values(two_zeros.grad(), {0, 0, 0}, 0);
    // Second derivatives, at a lane with one zero and one without.
    const auto second = autograd::gradgradcheck(
        [](const std::vector<Tensor>& a) { return prod(a[0], 1); },
        {tensor({{0.5, 0.0, 2.0}, {1.5, -0.7, 1.2}}, kFloat64).requires_grad_()}, {.raise = false});
    BOOST_TEST(second.ok, second.message);
    // Over nothing: 1, in the product's shape.
    check_values(prod(zeros({2, 0}), 1), {1, 1}, 0);
    BOOST_TEST(prod(zeros({0})).item() == 1.0);
    BOOST_TEST(prod(scalar_tensor(2.5)).item() == 2.5);
    check_error([&] { x.prod(2); }, {"prod", "dim"});
}

BOOST_AUTO_TEST_CASE(integer_sums_are_exact_int64) {
    Tensor x = arange(1000000);
    Tensor s = x.sum();
    BOOST_TEST(s.dtype() == kInt64);
    BOOST_TEST(s.item<int64_t>() == int64_t(999999) * 1000000 / 2);
    BOOST_TEST((ones({3, 4}).to(kBool).sum({1}).to_vector<int64_t>() == std::vector<int64_t>{4, 4, 4}));
}

BOOST_AUTO_TEST_CASE(max_min_along_a_dim_return_values_and_first_indices) {
    Tensor x = tensor({{1, 7, 7, 2}, {9, 0, 9, -1}, {3, 3, 3, 3}});
    auto [values, indices] = max(x, 1);
    check_values(values, {7, 9, 3});
    BOOST_TEST((indices.to_vector<int64_t>() == std::vector<int64_t>{1, 0, 0}));
    auto [mins, where_min] = min(x, 0, true);
    BOOST_TEST((mins.sizes() == Shape{1, 4}));
    check_values(mins, {1, 0, 3, -1});
    BOOST_TEST((where_min.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 1}));
    BOOST_TEST(argmax(x).item<int64_t>() == 4);
    BOOST_TEST((argmax(x, 0).to_vector<int64_t>() == std::vector<int64_t>{1, 0, 1, 2}));
    BOOST_TEST((argmin(x, 1).to_vector<int64_t>() == std::vector<int64_t>{0, 3, 0}));
    BOOST_TEST(max(x).item() == 9.0);
    BOOST_TEST(min(x).item() == -1.0);
}

BOOST_AUTO_TEST_CASE(extremes_of_bools_are_bools) {
    // As PyTorch: max is "any", min is "all", and their indices are the first hit.
    const Tensor b = tensor({{1, 0, 1}, {0, 0, 0}}).to(kBool);
    BOOST_TEST(amax(b, {1}).dtype() == kBool);
    BOOST_TEST((amax(b, {1}).to_vector<bool>() == std::vector<bool>{true, false}));
    BOOST_TEST((amin(b, {0}).to_vector<bool>() == std::vector<bool>{false, false, false}));
    BOOST_TEST(max(b).dtype() == kBool);
    BOOST_TEST(max(b).item() == 1.0);
    BOOST_TEST(min(b).item() == 0.0);
    auto [values, indices] = max(b, 1);
    BOOST_TEST(values.dtype() == kBool);
    BOOST_TEST((values.to_vector<bool>() == std::vector<bool>{true, false}));
    BOOST_TEST((indices.to_vector<int64_t>() == std::vector<int64_t>{0, 0}));
    auto [lows, where_low] = min(b, 1);
    BOOST_TEST(lows.dtype() == kBool);
    BOOST_TEST((where_low.to_vector<int64_t>() == std::vector<int64_t>{1, 0}));
}

BOOST_AUTO_TEST_CASE(logsumexp_softmax_are_stable_for_large_values) {
    Tensor x = tensor({{1000, 1000, 999}, {-1000, -1001, -1002}});
    const double l0 = 1000 + std::log(2 + std::exp(-1.0));
    const double l1 = -1000 + std::log(1 + std::exp(-1.0) + std::exp(-2.0));
    check_values(logsumexp(x, {1}), {l0, l1}, 1e-6);
    Tensor s = softmax(x, 1);
    check_values(s.sum({1}), {1, 1}, 1e-6);
    check_values(log_softmax(x, 1), {1000 - l0, 1000 - l0, 999 - l0, -1000 - l1, -1001 - l1, -1002 - l1}, 1e-6);
    // All -inf row: logsumexp is -inf, not NaN.
    const double inf = std::numeric_limits<double>::infinity();
    BOOST_TEST(std::isinf(logsumexp(tensor({-inf, -inf}), {0}).item()));
}

BOOST_AUTO_TEST_CASE(norms) {
    Tensor x = tensor({{3, -4}, {0, 0}});
    check_values(norm(x, 2, {1}), {5, 0});
    check_values(norm(x, 1, {1}), {7, 0});
    check_values(norm(x, std::numeric_limits<double>::infinity(), {1}), {4, 0});
    check_values(norm(x, 3, {1}), {std::cbrt(27.0 + 64.0), 0}, 1e-6);
    BOOST_TEST(norm(x).item() == 5.0);
}

BOOST_AUTO_TEST_CASE(sums_of_empty_tensors_are_zero_and_maxima_throw) {
    check_values(zeros({0, 4}).sum({0}), {0, 0, 0, 0});
    check_error([] { amax(zeros({0, 4}), {0}); }, {"amax", "empty"});
    check_error([] { max(zeros({3, 0}), 1); }, {"max", "empty"});
}

BOOST_AUTO_TEST_CASE(bad_dims_are_reported) {
    check_error([] { sum(ones({2, 3}), {2}); }, {"sum", "dimension 2", "out of range"});
    check_error([] { sum(ones({2, 3}), {1, -1}); }, {"sum", "more than once"});
    check_error([] { mean(arange(3)); }, {"mean", "floating-point", "int64"});
}

BOOST_AUTO_TEST_CASE(float32_sums_down_long_columns_and_scans_stay_accurate) {
    // A million float32 rows of 0.1 added in order drifted to about 1.009e5 (the running total
    // outgrows what 0.1 can change); pairwise sums of rows and double running totals in scans keep
    // float32's few units of rounding.
    const Tensor rows = full({1000000, 2}, 0.1, kFloat32);
    for (const double s : sum(rows, {0}).to_vector<double>()) BOOST_TEST(std::abs(s - 1e5) < 0.1);
    BOOST_TEST(std::abs(mean(rows, {0}).to_vector<double>()[1] - 0.1) < 1e-6);
    BOOST_TEST(var(rows, {0}).to_vector<double>()[0] < 1e-9);
    const Tensor scanned = cumsum(full({1000000}, 0.1, kFloat32), 0);
    BOOST_TEST(std::abs(scanned[-1].item() - 1e5) < 0.1);
    // Up to 128 rows are still added in order: a bias gradient keeps its bits.
    const Tensor few = randn({128, 7});
    Tensor in_order = few[0].clone();
    for (int64_t k = 1; k < 128; ++k) in_order = in_order + few[k];
    BOOST_TEST(equal(sum(few, {0}), in_order));
}

BOOST_AUTO_TEST_CASE(logsumexp_of_nothing_and_of_integers) {
    const std::vector<double> empty = logsumexp(zeros({0, 2}), {0}).to_vector<double>();
    BOOST_TEST(empty.size() == 2u);
    for (const double v : empty) BOOST_TEST((std::isinf(v) && v < 0));
    const Tensor ints = logsumexp(tensor({1, 2}, kInt64), {0});
    BOOST_TEST(ints.dtype() == kFloat32);
    check_values(ints, {std::log(std::exp(1.0) + std::exp(2.0))}, 1e-6);
}

BOOST_AUTO_TEST_CASE(norm_gradients_are_zero_at_zeros_for_every_p) {
    // PyTorch's subgradient: 0 where an element (or the whole norm) is 0, not 0 * inf = NaN.
    const Tensor x = tensor({1.0, 4.0, 0.0}, kFloat64).requires_grad_();
    norm(x, 0.5).backward();  // (1 + 2 + 0)^2 = 9; d/dx = 3 / sqrt(|x|)
    check_values(x.grad(), {3, 1.5, 0}, 1e-12);
    for (const double p : {0.5, 1.5, 3.0}) {
        BOOST_TEST_CONTEXT("p " << p) {
            const Tensor z = zeros({2}, kFloat64).requires_grad_();
            norm(z, p).backward();
            check_values(z.grad(), {0, 0}, 0);
        }
    }
}

BOOST_AUTO_TEST_CASE(softmax_of_infinities_follows_pytorch) {
    const double inf = std::numeric_limits<double>::infinity();
    for (const Tensor& lane : {softmax(tensor({inf, 1.0}, kFloat64), 0), log_softmax(tensor({inf, 1.0}, kFloat64), 0),
                               softmax(tensor({-inf, -inf}, kFloat64), 0)})
        for (const double v : lane.to_vector<double>()) BOOST_TEST(std::isnan(v));
    check_values(softmax(tensor({-inf, 0.0}, kFloat64), 0), {0, 1}, 0);
    BOOST_TEST(logsumexp(tensor({inf, 1.0}, kFloat64), {0}).item() == inf);
    // chunk of an empty dim: as many empty pieces as asked for.
    const std::vector<Tensor> pieces = chunk(zeros({0, 2}), 3);
    BOOST_TEST(pieces.size() == 3u);
    for (const Tensor& p : pieces) BOOST_TEST((p.sizes() == Shape{0, 2}));
}

BOOST_AUTO_TEST_SUITE_END()
