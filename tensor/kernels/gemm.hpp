#pragma once
// xgrad's own matrix product for float32 and float64: packed panels and an xsimd register-blocked
// micro-kernel (the Goto/BLIS scheme). It exists because the machines pin OpenBLAS to its AVX2
// kernels (OPENBLAS_CORETYPE=Haswell, read when the library loads, PLATFORM.md) while the CPU
// has AVX-512: compiled for AVX-512, this kernel runs the main example's products ~1.5x faster
// than the pinned BLAS. linalg.cpp decides which of the two a product goes to.

#include <cstdint>

namespace xgrad::kernels::detail {

/// C = alpha * A B + beta * C on one thread. A is m x k with A(i, p) = a[i * a_rs + p * a_cs], B
/// is k x n with B(p, j) = b[p * b_rs + j * b_cs] (any strides: transposed and sliced operands
/// need no copy), C is row-major with leading dimension ldc. As in BLAS, C is not read when
/// beta == 0, so it may hold garbage.
template <class T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                  int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc);

/// What a product does to C besides the sum of products, applied as the micro-kernel stores each
/// tile of C, so it costs no pass over C of its own (a separate pass after a split product would
/// read half of C from the other core's cache). With `row_bias`, C starts as that row (n values)
/// repeated and beta is ignored: C = alpha A B + bias, with the bits of filling C with the bias
/// and calling with beta = 1. With `relu`, every element ends as max(C, 0).
template <class T>
struct GemmEpilogue {
    const T* row_bias = nullptr;
    bool relu = false;
};

/// One product C = alpha A B + beta C with the operands as gemm_blocked takes them, and what is
/// done to C around it.
template <class T>
struct GemmProblem {
    int64_t m = 0, n = 0, k = 0;
    T alpha = T(1);
    const T* a = nullptr;
    int64_t a_rs = 0, a_cs = 0;
    const T* b = nullptr;
    int64_t b_rs = 0, b_cs = 0;
    T beta = T(0);
    T* c = nullptr;
    int64_t ldc = 0;
    GemmEpilogue<T> epilogue{};
};

/// The same product on up to `threads` threads of xgrad's pool. C is cut into blocks of columns,
/// each reading all of A, or of rows, each reading all of B (rows when B has no more elements
/// than C: two cores writing the two halves of the same rows slow each other down). That shared
/// operand is packed by every thread itself when that costs little next to its share of the
/// products (few threads, the main example's products on two), else once, by all threads
/// together; an A with contiguous rows or columns is not packed at all. Each block packs its own
/// part of the other operand. Blocks start on micro-tile edges and sum the depth blocks in
/// gemm_blocked's order, so every element of C has the same bits at any thread count.
template <class T>
void gemm_blocked_parallel(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                           int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, int threads,
                           GemmEpilogue<T> epilogue = {});

/// Independent products (no C overlaps another's operands) on up to `threads` threads, with the
/// bits of computing each alone. Products for which every thread packs the shared operand itself
/// run as one job of small blocks: a thread packs a product's shared operand when it takes its
/// first block of it, so on two threads each tends to keep to one product (a linear layer's two
/// gradients), and a thread that runs slower (a busy sibling core, another process) takes fewer
/// blocks instead of holding up the other. The rest run one after another, each split as above.
template <class T>
void gemm_blocked_parallel(const GemmProblem<T>* problems, int64_t count, int threads);

/// The instruction set the blocked kernel was compiled for ("avx512+fma", "fma3+avx2", ...).
const char* gemm_blocked_arch();

/// Column width of the micro-kernel for T: thread splits of a product stay multiples of it.
template <class T>
int64_t gemm_panel_width();

}  // namespace xgrad::kernels::detail
