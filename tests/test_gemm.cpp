// The blocked matrix-product kernel (tensor/kernels/gemm.cpp), called directly so that it is
// tested on every machine, whichever kernel matmul picks there: against a double-precision loop
// over ragged edges, several blocks in every dimension, transposed, strided and broadcast
// operands, and BLAS's alpha/beta rules.
#include <algorithm>
#include <limits>
#include <random>

#include <xgrad/tensor/kernels/gemm.hpp>
#include "helpers.hpp"

using xgrad::kernels::detail::gemm_blocked;
using xgrad::kernels::detail::gemm_blocked_parallel;

namespace {

// How an operand is laid out in memory, for a logical rows x cols matrix.
enum class Layout { row_major, column_major, strided, broadcast_rows };

const char* name(Layout layout) {
    switch (layout) {
        case Layout::row_major:
            return "row-major";
        case Layout::column_major:
            return "column-major";
        case Layout::strided:
            return "strided";
        case Layout::broadcast_rows:
            return "broadcast rows";
    }
    return "?";
}

// A logical rows x cols matrix stored in `storage` with element (i, j) at i * rs + j * cs.
template <class T>
struct Operand {
    std::vector<T> storage;
    int64_t rs = 0, cs = 0;
    T at(int64_t i, int64_t j) const { return storage[i * rs + j * cs]; }
};

template <class T>
Operand<T> make_operand(int64_t rows, int64_t cols, Layout layout, std::mt19937& gen) {
    std::uniform_real_distribution<double> uniform(-1, 1);
    Operand<T> op;
    switch (layout) {
        case Layout::row_major:
            op.rs = cols, op.cs = 1;
            break;
        case Layout::column_major:
            op.rs = 1, op.cs = rows;
            break;
        case Layout::strided:
            op.rs = 3 * cols + 1, op.cs = 3;
            break;  // every third value of wider rows
        case Layout::broadcast_rows:
            op.rs = 0, op.cs = 1;
            break;  // one row, expanded (stride 0)
    }
    const int64_t extent = (rows - 1) * op.rs + (cols - 1) * op.cs + 1;
    op.storage.resize(static_cast<size_t>(extent));
    for (T& v : op.storage) v = static_cast<T>(uniform(gen));
    return op;
}

template <class T>
void check_product(int64_t m, int64_t n, int64_t k, Layout la, Layout lb, T alpha, T beta) {
    std::mt19937 gen(static_cast<unsigned>(m * 131 + n * 17 + k));
    const Operand<T> a = make_operand<T>(m, k, la, gen), b = make_operand<T>(k, n, lb, gen);
    const int64_t ldc = n + 3;  // C has a gap after each row, which must stay untouched
    std::vector<T> c(static_cast<size_t>(m * ldc));
    std::uniform_real_distribution<double> uniform(-1, 1);
    for (T& v : c) v = static_cast<T>(uniform(gen));
    if (beta == T(0)) std::fill(c.begin(), c.end(), std::numeric_limits<T>::quiet_NaN());  // never read
    const std::vector<T> before = c;

    gemm_blocked<T>(m, n, k, alpha, a.storage.data(), a.rs, a.cs, b.storage.data(), b.rs, b.cs, beta, c.data(), ldc);

    const double tol = (std::is_same_v<T, float> ? 2e-6 : 1e-14) * static_cast<double>(k);
    int64_t wrong = 0;
    for (int64_t i = 0; i < m; ++i) {
        for (int64_t j = 0; j < n; ++j) {
            double sum = 0, magnitude = 0;
            for (int64_t p = 0; p < k; ++p) {
                sum += static_cast<double>(a.at(i, p)) * static_cast<double>(b.at(p, j));
                magnitude += std::abs(static_cast<double>(a.at(i, p)) * static_cast<double>(b.at(p, j)));
            }
            double expected = static_cast<double>(alpha) * sum;
            if (beta != T(0)) expected += static_cast<double>(beta) * static_cast<double>(before[i * ldc + j]);
            const double got = static_cast<double>(c[i * ldc + j]);
            if (!(std::abs(got - expected) <= tol * std::max(1.0, magnitude)) && wrong++ < 3)
                BOOST_ERROR("C[" << i << ", " << j << "] = " << got << ", expected " << expected);
        }
        for (int64_t j = n; j < ldc; ++j) {
            const T was = before[i * ldc + j], now = c[i * ldc + j];
            if (!(now == was || (std::isnan(now) && std::isnan(was))) && wrong++ < 3)
                BOOST_ERROR("C[" << i << ", " << j << "] past the last column was written");
        }
    }
    BOOST_TEST(wrong == 0);
}

struct Size {
    int64_t m, n, k;
};

}  // namespace

BOOST_AUTO_TEST_SUITE(gemm)

// Sizes around the micro-kernel's tile (8 or 12 rows x 2 vectors), the depth block (256 floats,
// 128 doubles), the height block and the width block (2048 columns).
const Size kSizes[] = {{1, 1, 1},       {3, 5, 7},      {8, 32, 16},    {9, 33, 17},  {17, 47, 300},
                       {128, 256, 784}, {130, 70, 257}, {200, 40, 100}, {5, 2100, 9}, {25, 16, 600}};

template <class T>
void check_all_sizes_and_layouts() {
    for (const Size& s : kSizes)
        for (Layout la : {Layout::row_major, Layout::column_major})
            for (Layout lb : {Layout::row_major, Layout::column_major}) {
                BOOST_TEST_CONTEXT(s.m << " x " << s.k << " @ " << s.k << " x " << s.n << ", A " << name(la) << ", B "
                                       << name(lb)) {
                    check_product<T>(s.m, s.n, s.k, la, lb, T(1), T(0));
                }
            }
}

BOOST_AUTO_TEST_CASE(float32_matches_reference_for_every_size_and_transpose) {
    check_all_sizes_and_layouts<float>();
}
BOOST_AUTO_TEST_CASE(float64_matches_reference_for_every_size_and_transpose) {
    check_all_sizes_and_layouts<double>();
}

BOOST_AUTO_TEST_CASE(strided_and_broadcast_operands_need_no_copy) {
    for (Layout la : {Layout::strided, Layout::broadcast_rows, Layout::column_major})
        for (Layout lb : {Layout::strided, Layout::row_major, Layout::column_major}) {
            BOOST_TEST_CONTEXT("A " << name(la) << ", B " << name(lb)) {
                check_product<float>(37, 45, 270, la, lb, 1.0f, 0.0f);
                check_product<double>(37, 45, 150, la, lb, 1.0, 0.0);
            }
        }
}

BOOST_AUTO_TEST_CASE(alpha_and_beta_follow_blas) {
    // beta = 0 never reads C (it holds NaN above); other betas scale it, over several depth blocks.
    for (auto [alpha, beta] : {std::pair{1.0, 0.0}, {0.5, 2.0}, {-1.0, 1.0}, {2.0, -0.5}}) {
        BOOST_TEST_CONTEXT("alpha " << alpha << ", beta " << beta) {
            check_product<float>(19, 50, 600, Layout::row_major, Layout::column_major, static_cast<float>(alpha),
                                 static_cast<float>(beta));
            check_product<double>(19, 50, 300, Layout::column_major, Layout::row_major, alpha, beta);
        }
    }
    // alpha = 0 reads neither operand: NaN in A does not reach C, which is only scaled.
    std::vector<float> a(6, std::numeric_limits<float>::quiet_NaN()), b(6, 1.0f), c = {1, 2, 3, 4};
    gemm_blocked<float>(2, 2, 3, 0.0f, a.data(), 3, 1, b.data(), 2, 1, 0.5f, c.data(), 2);
    BOOST_TEST((c == std::vector<float>{0.5f, 1.0f, 1.5f, 2.0f}));
    // k = 0 is an empty sum: C = beta * C, and beta = 0 clears garbage.
    std::vector<double> garbage(4, std::numeric_limits<double>::quiet_NaN());
    gemm_blocked<double>(2, 2, 0, 1.0, nullptr, 0, 1, nullptr, 2, 1, 0.0, garbage.data(), 2);
    BOOST_TEST((garbage == std::vector<double>{0, 0, 0, 0}));
}

BOOST_AUTO_TEST_CASE(matmul_split_between_threads_matches_reference) {
    // Large enough (15 MFLOP) for matmul to split the product between threads (ctest runs with 2),
    // by columns (C 128 x 300: B's 200 x 300 outweighs C) and by rows (C 300 x 128); the
    // transposed operand is a view.
    using namespace xgrad;
    for (auto [m, n] : {std::pair<int64_t, int64_t>{128, 300}, {300, 128}}) {
        Tensor a = test::random_tensor({m, 200}, kFloat32, 1), w = test::random_tensor({n, 200}, kFloat32, 2);
        Tensor out = matmul(a, w.t());
        Tensor expected = matmul(a.to(kFloat64), w.to(kFloat64).t());
        test::check_values(out, expected.to_vector<double>(), 1e-4);
    }
}

BOOST_AUTO_TEST_CASE(parallel_product_has_the_single_thread_bits) {
    // gemm_blocked_parallel shares one packed operand between threads (or has each thread pack it,
    // as for the main example's products on 2 threads) and splits the other; every element must
    // come out exactly as gemm_blocked computes it, at any thread count, on ragged edges,
    // transposed operands, beta != 0, and the fallback for operands too large to share.
    struct Shape3 {
        int64_t m, n, k;
        bool ta, tb;
    };
    const Shape3 shapes[] = {{128, 300, 200, false, true}, {300, 128, 200, true, false}, {37, 95, 531, false, false},
                             {95, 37, 17, true, true},     {1, 500, 64, false, false},   {500, 1, 64, false, true},
                             {700, 800, 900, false, true}, {128, 256, 784, false, true}, {256, 784, 128, true, false}};
    for (const Shape3& s : shapes) {
        std::vector<float> a(static_cast<size_t>(s.m * s.k)), b(static_cast<size_t>(s.k * s.n));
        for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7919) % 1000) / 333.0f - 1.5f;
        for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 104729) % 1000) / 250.0f - 2.0f;
        const int64_t a_rs = s.ta ? 1 : s.k, a_cs = s.ta ? s.m : 1, b_rs = s.tb ? 1 : s.n, b_cs = s.tb ? s.k : 1;
        for (float beta : {0.0f, 0.5f}) {
            std::vector<float> one(static_cast<size_t>(s.m * s.n), 1.0f);
            gemm_blocked<float>(s.m, s.n, s.k, 1.25f, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs, beta, one.data(),
                                s.n);
            for (int threads : {2, 3}) {
                std::vector<float> many(static_cast<size_t>(s.m * s.n), 1.0f);
                gemm_blocked_parallel<float>(s.m, s.n, s.k, 1.25f, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs, beta,
                                             many.data(), s.n, threads);
                BOOST_TEST((one == many), s.m << "x" << s.n << "x" << s.k << " beta " << beta << ", " << threads
                                              << " threads: not the single-thread bits");
            }
        }
    }
}

BOOST_AUTO_TEST_CASE(epilogue_has_the_bits_of_separate_passes_at_any_thread_count) {
    // The bias and relu are applied as the tiles of C are stored; every element must come out as
    // filling C with the bias, multiplying with beta = 1 and applying relu in a pass of its own, at
    // 1, 2 and 3 threads, through each of the parallel paths (each thread repacking the shared
    // operand, packing it once together, independent column blocks), with A read in place and
    // with A packed (every other column of wider rows).
    struct Shape3 {
        int64_t m, n, k;
        bool tb;
    };
    // {603, 70, 520}: C split by rows (B's k x n no more than C's m x n) over three depth blocks,
    // the bias with the first and relu with the last, ragged rows and columns. {9, 2100, 40}: two
    // width blocks of 2048 columns on one thread, the second's bias from column 2048.
    const Shape3 shapes[] = {{128, 300, 200, true}, {300, 128, 200, false}, {37, 95, 531, true},  {700, 800, 900, true},
                             {128, 256, 784, true}, {603, 70, 520, true},   {9, 2100, 40, false}, {5, 3, 0, false}};
    using xgrad::kernels::detail::GemmEpilogue;
    for (const Shape3& s : shapes)
        for (const bool a_packed : {false, true}) {
            // A(i, p) at a[i * a_rs + p * a_cs]: contiguous rows, or every other value of rows twice as long.
            const int64_t a_cs = a_packed ? 2 : 1, a_rs = a_cs * std::max<int64_t>(s.k, 1);
            std::vector<float> a(static_cast<size_t>(s.m * a_rs)), b(static_cast<size_t>(s.k * s.n));
            std::vector<float> bias(static_cast<size_t>(s.n));
            for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>((i * 7919) % 1000) / 333.0f - 1.5f;
            for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>((i * 104729) % 1000) / 250.0f - 2.0f;
            for (size_t j = 0; j < bias.size(); ++j) bias[j] = static_cast<float>(j % 7) - 3.0f;
            const int64_t b_rs = s.tb ? 1 : s.n, b_cs = s.tb ? s.k : 1;
            for (const bool with_bias : {false, true})
                for (const bool relu : {false, true}) {
                    std::vector<float> expected(static_cast<size_t>(s.m * s.n), -7.0f);
                    if (with_bias)
                        for (int64_t i = 0; i < s.m; ++i)
                            std::copy(bias.begin(), bias.end(), expected.begin() + i * s.n);
                    gemm_blocked<float>(s.m, s.n, s.k, 1.25f, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs,
                                        with_bias ? 1.0f : 0.0f, expected.data(), s.n);
                    if (relu)
                        for (float& v : expected) v = v <= 0.0f ? 0.0f : v;
                    int64_t clipped = 0;
                    for (float v : expected) clipped += v == 0.0f;
                    BOOST_TEST((!relu || s.k == 0 || (clipped > 0 && clipped < s.m * s.n)), "relu clips some, not all");
                    for (int threads : {1, 2, 3}) {
                        std::vector<float> fused(static_cast<size_t>(s.m * s.n), -7.0f);
                        gemm_blocked_parallel<float>(s.m, s.n, s.k, 1.25f, a.data(), a_rs, a_cs, b.data(), b_rs, b_cs,
                                                     0.0f, fused.data(), s.n, threads,
                                                     GemmEpilogue<float>{with_bias ? bias.data() : nullptr, relu});
                        BOOST_TEST((fused == expected), s.m << "x" << s.n << "x" << s.k << " A packed " << a_packed
                                                            << " bias " << with_bias << " relu " << relu << ", "
                                                            << threads << " threads: not the bits of separate passes");
                    }
                }
        }
}

BOOST_AUTO_TEST_CASE(products_run_together_have_the_bits_of_each_alone) {
    // Several independent products in one call (a linear layer's two gradients): those whose
    // shared operand every thread packs itself go out as one job of small blocks, taken by
    // whichever thread is free, more than four in successive jobs; the others run one after
    // another through their own paths (shared packing, independent column blocks, tall C). Every
    // C must come out as that product computed alone by gemm_blocked, epilogue included.
    using xgrad::kernels::detail::GemmEpilogue;
    using xgrad::kernels::detail::GemmProblem;
    struct Shape3 {
        int64_t m, n, k;
        bool tb, bias, relu;
    };
    const Shape3 shapes[] = {{128, 256, 784, true, true, true},    {256, 784, 128, false, false, false},
                             {37, 95, 531, true, false, false},    {700, 800, 900, true, false, true},
                             {300, 128, 200, false, true, false},  {128, 256, 256, true, false, false},
                             {256, 256, 128, false, false, false}, {128, 300, 200, true, true, true},
                             {1, 500, 64, false, false, false},    {5, 3, 0, false, true, true}};
    constexpr int64_t count = sizeof(shapes) / sizeof(shapes[0]);
    std::vector<std::vector<float>> as(count), bs(count), biases(count), expected(count);
    for (int64_t q = 0; q < count; ++q) {
        const Shape3& s = shapes[q];
        as[q].resize(static_cast<size_t>(s.m * s.k));
        bs[q].resize(static_cast<size_t>(s.k * s.n));
        biases[q].resize(static_cast<size_t>(s.n));
        for (size_t i = 0; i < as[q].size(); ++i) as[q][i] = static_cast<float>((i * 7919 + q) % 1000) / 333.0f - 1.5f;
        for (size_t i = 0; i < bs[q].size(); ++i) bs[q][i] = static_cast<float>((i * 104729) % 1000) / 250.0f - 2.0f;
        for (size_t j = 0; j < biases[q].size(); ++j) biases[q][j] = static_cast<float>((j + q) % 7) - 3.0f;
        expected[q].assign(static_cast<size_t>(s.m * s.n), -7.0f);
        if (s.bias)
            for (int64_t i = 0; i < s.m; ++i)
                std::copy(biases[q].begin(), biases[q].end(), expected[q].begin() + i * s.n);
        const int64_t b_rs = s.tb ? 1 : s.n, b_cs = s.tb ? s.k : 1;
        gemm_blocked<float>(s.m, s.n, s.k, 1.25f, as[q].data(), s.k, 1, bs[q].data(), b_rs, b_cs, s.bias ? 1.0f : 0.0f,
                            expected[q].data(), s.n);
        if (s.relu)
            for (float& v : expected[q]) v = v <= 0.0f ? 0.0f : v;
    }
    for (int threads : {1, 2, 3}) {
        std::vector<std::vector<float>> outs(count);
        std::vector<GemmProblem<float>> problems;
        for (int64_t q = 0; q < count; ++q) {
            const Shape3& s = shapes[q];
            outs[q].assign(static_cast<size_t>(s.m * s.n), -7.0f);
            const int64_t b_rs = s.tb ? 1 : s.n, b_cs = s.tb ? s.k : 1;
            problems.push_back({s.m, s.n, s.k, 1.25f, as[q].data(), s.k, 1, bs[q].data(), b_rs, b_cs, 0.0f,
                                outs[q].data(), s.n, GemmEpilogue<float>{s.bias ? biases[q].data() : nullptr, s.relu}});
        }
        gemm_blocked_parallel<float>(problems.data(), count, threads);
        for (int64_t q = 0; q < count; ++q)
            BOOST_TEST((outs[q] == expected[q]), "product " << q << " (" << shapes[q].m << "x" << shapes[q].n << "x"
                                                            << shapes[q].k << "), " << threads
                                                            << " threads: not the bits of the product alone");
    }
}

BOOST_AUTO_TEST_SUITE_END()
