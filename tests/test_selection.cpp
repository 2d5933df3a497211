// Sorting, scans, masks and the batched products: values against hand-worked cases (NaN, ties,
// integers, empty results), and errors that name the op and the shapes. Gradients are in
// test_gradients.cpp.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
const double nan_value = std::nan("");
std::vector<double> as_doubles(const Tensor& t) {
    return t.to_vector<double>();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(selection)

BOOST_AUTO_TEST_CASE(sort_is_stable_and_puts_nan_last_ascending_first_descending) {
    const Tensor x = tensor({1.0, nan_value, 3.0, 2.0, 2.0});
    auto [up, up_at] = sort(x);
    check_values(up, {1, 2, 2, 3, nan_value});
    BOOST_TEST((as_doubles(up_at) == std::vector<double>{0, 3, 4, 2, 1}));
    auto [down, down_at] = sort(x, 0, true);
    check_values(down, {nan_value, 3, 2, 2, 1});
    BOOST_TEST((as_doubles(down_at) == std::vector<double>{1, 2, 3, 4, 0}));  // ties keep their order
    BOOST_TEST(down_at.dtype() == kInt64);
}

BOOST_AUTO_TEST_CASE(sort_along_any_dim_of_a_strided_view) {
    const Tensor x = tensor({{3, 1, 2}, {0, 5, 4}}).t();  // [3, 2], non-contiguous
    auto [values, at] = sort(x, 0);
    check_values(values, {1, 0, 2, 4, 3, 5});
    check_values(at, {1, 0, 2, 2, 0, 1});
    check_values(argsort(x, 1, true), {0, 1, 1, 0, 1, 0});
    auto [ints, ints_at] = sort(tensor({5, -1, 3}, kInt64));
    BOOST_TEST(ints.dtype() == kInt64);
    check_values(ints, {-1, 3, 5});
    auto [scalar, scalar_at] = sort(scalar_tensor(4.0));
    BOOST_TEST(scalar.dim() == 0);
    BOOST_TEST(scalar.item() == 4.0);
    BOOST_TEST(scalar_at.item() == 0.0);
}

BOOST_AUTO_TEST_CASE(topk_picks_the_largest_or_smallest_and_the_first_among_ties) {
    const Tensor x = tensor({{4, 9, 9, 1}, {2, 2, 7, 0}});
    auto [best, best_at] = topk(x, 2);
    check_values(best, {9, 9, 7, 2});
    check_values(best_at, {1, 2, 2, 0});
    auto [low, low_at] = topk(x, 1, 1, false);
    BOOST_TEST((low.sizes() == Shape{2, 1}));
    check_values(low, {1, 0});
    check_values(low_at, {3, 3});
    auto [none, none_at] = topk(x, 0, 0);
    BOOST_TEST((none.sizes() == Shape{0, 4}));
    check_error([&] { topk(x, 5); }, {"topk", "k = 5", "size 4"});
    check_error([&] { topk(x, 1, 2); }, {"topk", "2"});
}

BOOST_AUTO_TEST_CASE(kthvalue_median_and_nanmedian_as_in_pytorch) {
    const Tensor x = tensor({{3.0, nan_value, 1.0, nan_value}, {2.0, 2.0, 5.0, 1.0}});
    // A NaN makes the median NaN, at its first position; nanmedian leaves NaNs out.
    auto [m, m_at] = median(x, 1);
    check_values(m, {nan_value, 2});
    check_values(m_at, {1, 0});
    auto [nm, nm_at] = nanmedian(x, 1);
    check_values(nm, {1, 2});  // the lower middle of {3, 1}
    check_values(nm_at, {2, 0});
    BOOST_TEST(std::isnan(median(x).item()));
    BOOST_TEST(nanmedian(x).item() == 2.0);  // {3, 1, 2, 2, 5, 1}: the lower middle of six
    auto [kept, kept_at] = median(tensor({4.0, 1.0, 3.0, 2.0}).reshape({1, 4}), 1, true);
    BOOST_TEST((kept.sizes() == Shape{1, 1}));
    check_values(kept, {2});
    check_values(kept_at, {3});
    auto [only_nan, only_nan_at] = nanmedian(tensor({{nan_value, nan_value}}), 1);
    BOOST_TEST(std::isnan(only_nan.item()));
    BOOST_TEST(only_nan_at.item() == 0.0);
    // kthvalue counts from 1; NaN is the largest value.
    auto [k2, k2_at] = kthvalue(tensor({4.0, nan_value, 3.0, 2.0}), 2);
    BOOST_TEST(k2.item() == 3.0);
    BOOST_TEST(k2_at.item() == 2.0);
    auto [k4, k4_at] = kthvalue(tensor({4.0, nan_value, 3.0, 2.0}), 4);
    BOOST_TEST(std::isnan(k4.item()));
    BOOST_TEST(k4_at.item() == 1.0);
    auto [cols, cols_at] = kthvalue(tensor({{5, 1}, {3, 9}, {4, 2}}, kInt64), 2, 0);
    BOOST_TEST(cols.dtype() == kInt64);
    check_values(cols, {4, 2});
    check_values(cols_at, {2, 2});
    BOOST_TEST(median(tensor({7, 1, 4}, kInt64)).item() == 4.0);
    BOOST_TEST(median(scalar_tensor(2.5)).item() == 2.5);
    // The median of all elements shares its gradient between the elements equal to it.
    const Tensor ties = tensor({2.0, 2.0, 2.0, 9.0}, kFloat64).requires_grad_(true);
    median(ties).backward();
    check_values(ties.grad(), {1.0 / 3, 1.0 / 3, 1.0 / 3, 0}, 1e-15);
    // ... a NaN median between the NaNs; -inf as a median between the -infs only.
    const Tensor nans = tensor({nan_value, 1.0, nan_value}, kFloat64).requires_grad_(true);
    median(nans).backward();
    check_values(nans.grad(), {0.5, 0, 0.5});
    const Tensor only_nans = tensor({nan_value, nan_value}, kFloat64).requires_grad_(true);
    nanmedian(only_nans).backward();
    check_values(only_nans.grad(), {0.5, 0.5});
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor low = tensor({-inf, -inf, 1.0}, kFloat64).requires_grad_(true);
    median(low).backward();
    check_values(low.grad(), {0.5, 0.5, 0});
    // ... along a dim, it goes to the position returned.
    const Tensor rows = tensor({{1.0, 5.0, 3.0}}).requires_grad_(true);
    std::get<0>(median(rows, 1)).sum().backward();
    check_values(rows.grad(), {0, 0, 1});
    check_error([&] { kthvalue(x, 5); }, {"kthvalue", "k = 5", "size 4"});
    check_error([&] { kthvalue(x, 0, 0); }, {"kthvalue", "k = 0", "size 2"});
    check_error([&] { median(zeros({2, 0}), 1); }, {"median", "dimension 1 of size 0", "[2, 0]"});
    BOOST_TEST(std::isnan(median(zeros({0})).item()));  // as PyTorch: NaN for a floating type
    check_error([] { median(zeros({0}, kInt64)); }, {"median", "empty", "int64", "[0]"});
    check_error([&] { median(x, 2); }, {"median", "2"});
    // A 0-d tensor takes dim 0 or -1 only, and the error says it is 0-d (sort and topk too).
    check_error([] { kthvalue(scalar_tensor(2.0), 1, 1); }, {"kthvalue", "dimension 1", "0-d"});
    check_error([] { sort(scalar_tensor(2.0), 1); }, {"argsort", "0-d"});
    check_error([] { topk(scalar_tensor(2.0), 1, 3); }, {"topk", "dimension 3", "0-d"});
    BOOST_TEST(std::get<0>(kthvalue(scalar_tensor(2.0), 1, -1)).item() == 2.0);
    check_error([] { median(tensor({1.0}) > 0.0, 0); }, {"median", "bool"});
}

BOOST_AUTO_TEST_CASE(unique_sorts_counts_and_maps_back) {
    auto [values, inverse, counts] = unique(tensor({{3, 1}, {1, 2}}, kInt64));
    BOOST_TEST(values.dtype() == kInt64);
    check_values(values, {1, 2, 3});
    BOOST_TEST((inverse.sizes() == Shape{2, 2}));
    check_values(inverse, {2, 0, 0, 1});
    check_values(counts, {2, 1, 1});
    // All NaNs are one value, sorted last; a view is read in its own order.
    auto [f, f_inverse, f_counts] = unique(tensor({{3.0, nan_value}, {1.0, nan_value}, {3.0, -0.0}}).t());
    check_values(f, {-0.0, 1, 3, nan_value});
    check_values(f_inverse, {2, 1, 2, 3, 3, 0});
    check_values(f_counts, {1, 1, 2, 2});
    auto [b, b_inverse, b_counts] = unique(tensor({1.0, 0.0, 1.0}) > 0.5);
    BOOST_TEST(b.dtype() == kBool);
    check_values(b_counts, {1, 2});
    auto [none, none_inverse, none_counts] = unique(zeros({0, 3}));
    BOOST_TEST(none.numel() == 0);
    BOOST_TEST((none_inverse.sizes() == Shape{0, 3}));
    BOOST_TEST(!std::get<0>(unique(ones({2}).requires_grad_(true))).requires_grad());
}

BOOST_AUTO_TEST_CASE(cumsum_and_cumprod_along_a_dim) {
    const Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
    check_values(cumsum(x, 1), {1, 3, 6, 4, 9, 15});
    check_values(cumsum(x, 0), {1, 2, 3, 5, 7, 9});
    check_values(cumprod(x, -1), {1, 2, 6, 4, 20, 120});
    check_values(x.t().cumprod(1), {1, 4, 2, 10, 3, 18});
    const Tensor counts = cumsum(tensor({1, 0, 1, 1}) > 0.5, 0);
    BOOST_TEST(counts.dtype() == kInt64);  // bools count in int64, as in PyTorch
    check_values(counts, {1, 1, 2, 3});
    BOOST_TEST(cumsum(tensor({2, 3}, kInt64), 0).dtype() == kInt64);
    check_values(cumsum(scalar_tensor(2.5), 0), {2.5});
    BOOST_TEST((cumsum(zeros({2, 0}), 1).sizes() == Shape{2, 0}));
    check_error([&] { cumsum(x, 2); }, {"cumsum", "2"});
    check_error([&] { cumprod(x, -3); }, {"cumprod", "-3"});
}

BOOST_AUTO_TEST_CASE(masked_fill_broadcasts_like_pytorch) {
    const Tensor x = tensor({1, 2, 3});
    const Tensor mask = tensor({{1, 0, 0}, {0, 0, 1}}) > 0.5;
    const Tensor filled = x.masked_fill(mask, -1.0);
    BOOST_TEST((filled.sizes() == Shape{2, 3}));
    check_values(filled, {-1, 2, 3, 1, 2, -1});
    check_values(masked_fill(tensor({1, 2}, kInt64), tensor({0, 1}) > 0.5, 7.9), {1, 7});  // keeps int64
    BOOST_TEST(masked_fill(tensor({1, 2}, kInt64), tensor({0, 1}) > 0.5, 7.9).dtype() == kInt64);
    check_values(masked_fill(x, tensor({0, 1, 0}) > 0.5, -std::numeric_limits<double>::infinity()),
                 {1, -std::numeric_limits<double>::infinity(), 3});
    check_error([&] { masked_fill(x, tensor({1, 0, 0}), 0.0); }, {"masked_fill", "bool", "float32"});
    check_error([&] { masked_fill(x, tensor({1, 0}) > 0.5, 0.0); }, {"masked_fill", "[3]", "[2]"});
    check_error([&] { masked_fill(x, x > 1.0, tensor({1, 2})); }, {"masked_fill", "0-d", "[2]"});
}

BOOST_AUTO_TEST_CASE(masked_select_and_nonzero) {
    const Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
    check_values(masked_select(x, x > 2.5), {3, 4, 5, 6});
    check_values(masked_select(x, tensor({1, 0, 1}) > 0.5), {1, 3, 4, 6});  // the mask broadcasts
    BOOST_TEST((masked_select(x, x > 10.0).sizes() == Shape{0}));
    const Tensor at = nonzero(tensor({{0, 1.5}, {nan_value, 0}}));
    BOOST_TEST((at.sizes() == Shape{2, 2}));
    BOOST_TEST(at.dtype() == kInt64);
    check_values(at, {0, 1, 1, 0});  // NaN is non-zero
    BOOST_TEST((nonzero(scalar_tensor(3.0)).sizes() == Shape{1, 0}));
    BOOST_TEST((nonzero(scalar_tensor(0.0)).sizes() == Shape{0, 0}));
    BOOST_TEST((nonzero(zeros({2, 2})).sizes() == Shape{0, 2}));
    check_error([&] { masked_select(x, tensor({1, 0})); }, {"masked_select", "bool"});
}

BOOST_AUTO_TEST_CASE(tril_and_triu_keep_a_triangle_of_the_last_two_dims) {
    const Tensor x = arange(1, 13, 1, kFloat32).reshape({3, 4});
    check_values(tril(x), {1, 0, 0, 0, 5, 6, 0, 0, 9, 10, 11, 0});
    check_values(triu(x), {1, 2, 3, 4, 0, 6, 7, 8, 0, 0, 11, 12});
    check_values(triu(x, 2), {0, 0, 3, 4, 0, 0, 0, 8, 0, 0, 0, 0});
    check_values(tril(x, -1), {0, 0, 0, 0, 5, 0, 0, 0, 9, 10, 0, 0});
    const Tensor batched = x.unsqueeze(0).expand({2, 3, 4}).triu(1);
    BOOST_TEST((batched.sizes() == Shape{2, 3, 4}));
    check_values(batched.select(0, 1), {0, 2, 3, 4, 0, 0, 7, 8, 0, 0, 0, 12});
    check_error([] { tril(tensor({1, 2})); }, {"tril", "2 dimensions", "[2]"});
}

BOOST_AUTO_TEST_CASE(repeat_tiles_and_adds_leading_dims) {
    const Tensor x = tensor({{1, 2}, {3, 4}});
    check_values(x.repeat({1, 2}), {1, 2, 1, 2, 3, 4, 3, 4});
    const Tensor r = x.repeat({2, 2, 1});
    BOOST_TEST((r.sizes() == Shape{2, 4, 2}));
    check_values(r.select(0, 1), {1, 2, 3, 4, 1, 2, 3, 4});
    BOOST_TEST((x.repeat({0, 3}).sizes() == Shape{0, 6}));
    check_error([&] { x.repeat({2}); }, {"repeat", "1 repeat counts", "[2, 2]"});
}

BOOST_AUTO_TEST_CASE(bmm_and_baddbmm) {
    const Tensor a = arange(0, 12, 1, kFloat64).reshape({2, 2, 3});
    const Tensor b = ones({2, 3, 1}, kFloat64);
    check_values(bmm(a, b), {3, 12, 21, 30});
    const Tensor input = tensor({{1.0}, {nan_value}}, kFloat64);  // [2, 1], broadcast
    check_values(baddbmm(ones({2, 1, 1}, kFloat64), a, b, 2, 0.5), {3.5, 8, 12.5, 17});
    check_values(baddbmm(input, a, b, 0.0, 1.0), {3, 12, 21, 30});  // beta = 0: NaN in input ignored
    check_error([&] { bmm(a, a); }, {"bmm", "[2, 2, 3]"});
    check_error([&] { bmm(a.select(0, 0), b); }, {"bmm", "3-D", "[2, 3]"});
    check_error([&] { baddbmm(ones({3, 3}, kFloat64), a, b); }, {"baddbmm", "[3, 3]", "[2, 2, 1]"});
}

BOOST_AUTO_TEST_SUITE_END()
