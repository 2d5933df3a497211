// Matrix products on one thread: xgrad's blocked kernel (tensor/kernels/gemm.cpp) against the
// linked OpenBLAS, called with identical operands, on the products of the main example's training
// step (784-256-256-10, batch 128) and on squares. Run it twice to see both BLAS kernels:
//   build/benchmarks/bench_gemm                          # OpenBLAS as the environment pins it
//   env -u OPENBLAS_CORETYPE build/benchmarks/bench_gemm  # OpenBLAS's own choice (AVX-512 here)
#include <cblas.h>

#include <cstdio>
#include <cstdlib>
#include <vector>

#include <xgrad/tensor/kernels/gemm.hpp>
#include "timing.hpp"

extern "C" void openblas_set_num_threads(int);
extern "C" char* openblas_get_corename(void);

namespace {

struct Case {
    const char* name;
    int m, n, k;
    bool trans_a, trans_b;  // as the training step passes them: x @ w.t(), g.t() @ x, g @ w
};

double gflops(const Case& c, double seconds) {
    return 2.0 * c.m * c.n * c.k / seconds * 1e-9;
}

}  // namespace

int main() {
    openblas_set_num_threads(1);
    const Case cases[] = {
        {"forward x[128,784] @ w1.t()", 128, 256, 784, false, true},
        {"forward h[128,256] @ w2.t()", 128, 256, 256, false, true},
        {"grad w1 = g.t()[256,128] @ x", 256, 784, 128, true, false},
        {"grad w2 = g.t()[256,128] @ h", 256, 256, 128, true, false},
        {"grad h1 = g[128,256] @ w2", 128, 256, 256, false, false},
        {"forward h[128,256] @ w3.t()", 128, 10, 256, false, true},
        {"grad w3 = g.t()[10,128] @ h", 10, 256, 128, true, false},
        {"grad h2 = g[128,10] @ w3", 128, 256, 10, false, false},
        {"square 256", 256, 256, 256, false, false},
        {"square 1024", 1024, 1024, 1024, false, false},
    };
    std::printf("OpenBLAS core: %s, xgrad kernel: %s\n", openblas_get_corename(),
                xgrad::kernels::detail::gemm_blocked_arch());
    std::printf("%-32s %12s %12s %8s %10s\n", "product (one thread)", "xgrad GF/s", "OpenBLAS", "ratio", "xgrad us");
    for (const Case& c : cases) {
        // Stored shapes: A is m x k (k x m when transposed), B is k x n (n x k when transposed).
        std::vector<float> a(static_cast<size_t>(c.m) * c.k), b(static_cast<size_t>(c.k) * c.n),
            out(static_cast<size_t>(c.m) * c.n);
        for (size_t i = 0; i < a.size(); ++i) a[i] = static_cast<float>(i % 7) * 0.25f - 0.5f;
        for (size_t i = 0; i < b.size(); ++i) b[i] = static_cast<float>(i % 5) * 0.5f - 1.0f;
        const int lda = c.trans_a ? c.m : c.k, ldb = c.trans_b ? c.k : c.n;
        const long a_rs = c.trans_a ? 1 : lda, a_cs = c.trans_a ? lda : 1;
        const long b_rs = c.trans_b ? 1 : ldb, b_cs = c.trans_b ? ldb : 1;
        const int inner = std::max(1, static_cast<int>(2e8 / (2.0 * c.m * c.n * c.k)));
        const double ours = bench::median_seconds(
            [&] {
                xgrad::kernels::detail::gemm_blocked<float>(c.m, c.n, c.k, 1.0f, a.data(), a_rs, a_cs, b.data(), b_rs,
                                                            b_cs, 0.0f, out.data(), c.n);
            },
            inner);
        const double blas = bench::median_seconds(
            [&] {
                cblas_sgemm(CblasRowMajor, c.trans_a ? CblasTrans : CblasNoTrans, c.trans_b ? CblasTrans : CblasNoTrans,
                            c.m, c.n, c.k, 1.0f, a.data(), lda, b.data(), ldb, 0.0f, out.data(), c.n);
            },
            inner);
        std::printf("%-32s %12.1f %12.1f %7.2fx %10.1f\n", c.name, gflops(c, ours), gflops(c, blas), blas / ours,
                    ours * 1e6);
    }
    return 0;
}
