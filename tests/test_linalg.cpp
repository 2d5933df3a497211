// Matrix products against a naive triple loop, in every torch.matmul form, with transposed and
// strided operands.
#include <algorithm>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
// out[..., i, j] = sum_k a[..., i, k] b[..., k, j] with batch broadcasting, vectors promoted.
std::vector<double> reference_matmul(const Tensor& a_in, const Tensor& b_in) {
    Tensor a = a_in.dim() == 1 ? a_in.unsqueeze(0) : a_in;
    Tensor b = b_in.dim() == 1 ? b_in.unsqueeze(1) : b_in;
    const int64_t m = a.size(-2), k = a.size(-1), n = b.size(-1);
    const Shape ab(a.sizes().begin(), a.sizes().end() - 2), bb(b.sizes().begin(), b.sizes().end() - 2);
    const Shape batch = broadcast_shapes(ab, bb, "reference");
    const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
    std::vector<double> out;
    for (int64_t t = 0; t < shape_numel(batch); ++t) {
        const Shape idx = unravel(t, batch);
        const int64_t pa = broadcast_position(idx, ab) * m * k, pb = broadcast_position(idx, bb) * k * n;
        for (int64_t i = 0; i < m; ++i)
            for (int64_t j = 0; j < n; ++j) {
                double s = 0;
                for (int64_t q = 0; q < k; ++q) s += x[pa + i * k + q] * y[pb + q * n + j];
                out.push_back(s);
            }
    }
    return out;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(linalg)

BOOST_AUTO_TEST_CASE(matmul_matches_reference_in_every_form) {
    const std::vector<std::pair<Shape, Shape>> cases = {
        {{5}, {5}},
        {{3, 5}, {5}},
        {{5}, {5, 4}},
        {{3, 5}, {5, 4}},
        {{1, 1}, {1, 1}},
        {{2, 3, 5}, {5, 4}},
        {{5}, {2, 5, 4}},
        {{2, 3, 5}, {2, 5, 4}},
        {{2, 1, 3, 5}, {4, 5, 2}},
        {{65, 130}, {130, 33}},
        {{0, 5}, {5, 3}},
        {{3, 0}, {0, 4}},
    };
    for (const auto& [sa, sb] : cases) {
        for (DType dtype : {kFloat32, kFloat64}) {
            BOOST_TEST_CONTEXT(sa << " @ " << sb << " " << dtype) {
                Tensor a = random_tensor(sa, dtype, 1), b = random_tensor(sb, dtype, 2);
                const double tol = dtype == kFloat32 ? 1e-4 : 1e-10;
                const std::vector<double> expected = reference_matmul(a, b);
                check_values(matmul(a, b), expected, tol);
                check_values(matmul(noncontiguous(a), noncontiguous(b)), expected, tol);
            }
        }
    }
    BOOST_TEST((matmul(ones({2, 3, 5}), ones({5, 4})).sizes() == Shape{2, 3, 4}));
    BOOST_TEST((matmul(ones({5}), ones({5})).sizes() == Shape{}));
    BOOST_TEST(matmul(zeros({3, 0}), zeros({0, 4})).sum().item() == 0.0);
    check_values(matmul(arange(6).view({2, 3}), arange(3)), {5, 14});  // int64: plain loop
}

BOOST_AUTO_TEST_CASE(mm_and_addmm_take_matrices_only) {
    const Tensor a = tensor({{1.0, 2.0}, {3.0, 4.0}}), b = tensor({{1.0, 0.0, 2.0}, {0.0, 1.0, 1.0}});
    check_values(mm(a, b), {1, 2, 4, 3, 4, 10}, 0);
    check_values(a.mm(b), {1, 2, 4, 3, 4, 10}, 0);
    // 0.5 [10, 20, 30] + 2 a b, the input broadcast over the rows.
    check_values(addmm(tensor({10.0, 20.0, 30.0}), a, b, 0.5, 2.0), {7, 14, 23, 11, 18, 35}, 0);
    // beta = 0: the input is not read, so a NaN in it does not spread.
    check_values(full({2, 3}, std::nan("")).addmm(a, b, 0.0), {1, 2, 4, 3, 4, 10}, 0);
    check_error([&] { mm(a, tensor({1.0, 2.0})); }, {"mm", "2-D", "[2, 2]", "[2]"});
    check_error([&] { mm(b, a); }, {"mm", "3 columns against 2 rows"});
    check_error([&] { addmm(zeros({3, 3}), a, b); }, {"addmm", "[3, 3]", "[2, 3]"});
}

BOOST_AUTO_TEST_CASE(transposed_and_sliced_operands) {
    Tensor a = random_tensor({6, 8}, kFloat64, 3), b = random_tensor({6, 4}, kFloat64, 4);
    check_values(matmul(a.t(), b), reference_matmul(a.t().contiguous(), b), 1e-12);
    Tensor wide = random_tensor({8, 10}, kFloat64, 5);
    Tensor cols = wide.narrow(1, 2, 5);  // rows with a gap: leading dimension 10
    check_values(matmul(a, cols), reference_matmul(a, cols.contiguous()), 1e-12);
    Tensor strided = wide.slice(1, 0, 10, 2);  // neither layout: copied first
    check_values(matmul(a, strided), reference_matmul(a, strided.contiguous()), 1e-12);
}

BOOST_AUTO_TEST_CASE(linear_is_x_times_weight_transposed_plus_bias) {
    Tensor x = random_tensor({4, 3, 5}, kFloat64, 1), w = random_tensor({2, 5}, kFloat64, 2),
           b = tensor({10, -10}, kFloat64);
    Tensor y = linear(x, w, b);
    BOOST_TEST((y.sizes() == Shape{4, 3, 2}));
    check_values(y, (matmul(x, w.t()) + b).to_vector<double>(), 1e-12);
    check_values(linear(x, w), matmul(x, w.t()).to_vector<double>(), 1e-12);
    check_error([&] { linear(x, w.t()); }, {"linear", "[5, 2]", "2 features"});
    check_error([&] { linear(x, w, tensor({1, 2, 3}, kFloat64)); }, {"linear", "bias", "[3]"});
}

BOOST_AUTO_TEST_CASE(linear_relu_is_relu_of_linear_bit_for_bit) {
    // Through the blocked kernel (a product larger than the tiny-product loop) and the plain loop,
    // with batch dims and a non-contiguous input, with and without a bias.
    // The largest is split between threads when there are two (also run with XGRAD_GEMM=blas).
    for (const Shape& x_shape : {Shape{4, 3, 5}, Shape{2, 40, 64}, Shape{4, 64, 512}}) {
        const int64_t in = x_shape.back(), out = in == 512 ? 300 : 48;
        Tensor x = random_tensor({x_shape[0], x_shape[1], in * 2}, kFloat64, 3).narrow(2, 1, in);
        Tensor w = random_tensor({out, in}, kFloat64, 4), b = random_tensor({out}, kFloat64, 5);
        const Tensor fused = linear_relu(x, w, b), separate = relu(linear(x, w, b));
        BOOST_TEST((fused.sizes() == separate.sizes()));
        BOOST_TEST((fused.to_vector<double>() == separate.to_vector<double>()));
        BOOST_TEST((linear_relu(x, w).to_vector<double>() == relu(linear(x, w)).to_vector<double>()));
        const std::vector<double> values = fused.to_vector<double>();
        BOOST_TEST(std::count(values.begin(), values.end(), 0.0) > 0);  // relu clipped some
    }
    Tensor x = random_tensor({4, 5}, kFloat64, 1), w = random_tensor({2, 5}, kFloat64, 2);
    check_error([&] { linear_relu(x, w.t()); }, {"linear_relu", "[5, 2]", "2 features"});
    check_error([&] { linear_relu(x, w, tensor({1, 2, 3}, kFloat64)); }, {"linear_relu", "bias", "[3]"});
    check_error([&] { linear_relu(x.to(kFloat32), w); }, {"linear_relu", "dtypes differ"});
}

BOOST_AUTO_TEST_CASE(inner_dimension_mismatch_is_reported) {
    check_error([] { matmul(ones({2, 3}), ones({4, 5})); }, {"matmul", "[2, 3]", "[4, 5]", "inner dimensions 3 and 4"});
    check_error([] { matmul(ones({2, 2, 3}), ones({3, 3, 2})); }, {"matmul", "cannot be broadcast"});
    check_error([] { matmul(scalar_tensor(1), ones({2})); }, {"matmul", "at least 1 dimension"});
}

BOOST_AUTO_TEST_SUITE_END()
