// Matrix products: xgrad's blocked kernel (gemm.cpp), or CBLAS on request (XGRAD_GEMM=blas).
// This is the only translation unit that includes <cblas.h> (it clashes with xtensor-blas,
// PLATFORM.md). The blocked kernel reads any strides;
// for BLAS, transposed 2-D views go with the transpose flag and other layouts are copied first.

#include <cblas.h>

#include <cstdlib>
#include <string_view>

extern "C" void openblas_set_num_threads(int);

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/gemm.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
namespace {

constexpr int64_t kTinyGemm = 2048;  // m * n * k below which the plain loop wins

// The blocked kernel is the default on every machine: split between threads it gives every
// element the same bits at any thread count (OpenBLAS does not: its Zen kernels round differently
// when a product is cut into column blocks), and it shares packed panels between the threads.
// On AVX-512 it runs the training step's products 1.7-1.9x faster than OpenBLAS pinned to AVX2
// and on par with OpenBLAS's AVX-512 kernels; on AVX2 (Zen 3) 0.85-1.1x OpenBLAS's Zen kernels
// (benchmarks/bench_gemm.cpp). XGRAD_GEMM=blas selects OpenBLAS.
bool use_blocked_gemm() {
    static const bool blocked = [] {
        if (const char* choice = std::getenv("XGRAD_GEMM")) {
            const std::string_view value(choice);
            XGRAD_CHECK(value == "blas" || value == "xgrad", "XGRAD_GEMM must be 'blas' or 'xgrad', got '", value, "'");
            return value == "xgrad";
        }
        return true;
    }();
    return blocked;
}

// Whether a product of `multiply_adds` (m n k) in `dtype` goes to the blocked kernel.
bool takes_blocked_kernel(DType dtype, int64_t multiply_adds) {
    return (dtype == kFloat32 || dtype == kFloat64) && use_blocked_gemm() && multiply_adds > kTinyGemm;
}

// How BLAS sees a 2-D operand: row-major with a leading dimension, possibly transposed.
struct BlasOperand {
    NDArray array;  // keeps a copy alive when one was needed
    CBLAS_TRANSPOSE trans;
    int64_t ld;
};

BlasOperand as_blas_operand(const NDArray& m) {
    const int64_t rows = m.sizes()[0], cols = m.sizes()[1];
    const int64_t s0 = m.strides()[0], s1 = m.strides()[1];
    if ((s1 == 1 || cols == 1) && s0 >= std::max<int64_t>(cols, 1)) return {m, CblasNoTrans, s0};
    if ((s0 == 1 || rows == 1) && s1 >= std::max<int64_t>(rows, 1)) return {m, CblasTrans, s1};
    NDArray c = m.clone();
    return {c, CblasNoTrans, std::max<int64_t>(cols, 1)};
}

template <class T>
void gemm_typed(const NDArray& out, const NDArray& a, const NDArray& b, double alpha, double beta) {
    const int64_t m = a.sizes()[0], k = a.sizes()[1], n = b.sizes()[1];
    if (m == 0 || n == 0) return;
    T* c = out.data<T>();
    const int64_t ldc = out.strides()[0];
    if (k == 0) {  // an empty sum: out = beta * out
        if (beta == 0)
            fill_(out, 0);
        else
            binary_out(Binary::mul, out, out, NDArray::scalar(beta, out.dtype()));
        return;
    }
    // Tiny products (a Linear(4, 4) on one sample) cost less as a plain loop than the ~1 us of
    // entering BLAS; the loop handles any strides, so no operand is copied either.
    if constexpr (std::is_floating_point_v<T>) {
        if (m * n * k <= kTinyGemm) {
            const T* p = a.data<T>();
            const T* q = b.data<T>();
            const int64_t as0 = a.strides()[0], as1 = a.strides()[1], bs0 = b.strides()[0], bs1 = b.strides()[1];
            for (int64_t i = 0; i < m; ++i)
                for (int64_t j = 0; j < n; ++j) {
                    T acc = 0;
                    for (int64_t kk = 0; kk < k; ++kk) acc += p[i * as0 + kk * as1] * q[kk * bs0 + j * bs1];
                    T& r = c[i * ldc + j];
                    r = static_cast<T>(alpha) * acc + (beta == 0 ? T(0) : static_cast<T>(beta) * r);
                }
            return;
        }
    }
    if constexpr (std::is_floating_point_v<T>) {
        if (use_blocked_gemm()) {
            detail::gemm_blocked<T>(m, n, k, static_cast<T>(alpha), a.data<T>(), a.strides()[0], a.strides()[1],
                                    b.data<T>(), b.strides()[0], b.strides()[1], static_cast<T>(beta), c, ldc);
            return;
        }
    }
    const BlasOperand x = as_blas_operand(a), y = as_blas_operand(b);
    if constexpr (std::is_same_v<T, float>) {
        cblas_sgemm(CblasRowMajor, x.trans, y.trans, m, n, k, static_cast<float>(alpha), x.array.data<float>(), x.ld,
                    y.array.data<float>(), y.ld, static_cast<float>(beta), c, ldc);
    } else if constexpr (std::is_same_v<T, double>) {
        cblas_dgemm(CblasRowMajor, x.trans, y.trans, m, n, k, alpha, x.array.data<double>(), x.ld,
                    y.array.data<double>(), y.ld, beta, c, ldc);
    } else {
        // Integers: BLAS has no integer product; a plain loop (i-k-j order for locality).
        const T* p = a.data<T>();
        const T* q = b.data<T>();
        for (int64_t i = 0; i < m; ++i) {
            T* row = c + i * ldc;
            for (int64_t j = 0; j < n; ++j) row[j] = beta == 0 ? T(0) : static_cast<T>(beta * row[j]);
            for (int64_t kk = 0; kk < k; ++kk) {
                const T v = static_cast<T>(alpha) * p[i * a.strides()[0] + kk * a.strides()[1]];
                for (int64_t j = 0; j < n; ++j) row[j] += v * q[kk * b.strides()[0] + j * b.strides()[1]];
            }
        }
    }
}

}  // namespace

namespace {
// OpenBLAS starts with one thread per core; ours split the products instead (parallel.cpp), so
// it is made single-threaded as soon as the library that calls it is loaded. Its own pool would
// spin beside ours (a 2-thread epoch took 2.3 s instead of 1.1 s).
const bool blas_single_threaded = (openblas_set_num_threads(1), true);

constexpr double kGemmFlopsPerThread = 1 << 20;  // below this a second thread costs more than it saves
// Blocks per thread: each block repacks the shared operand, so few; more than one, so that a
// thread the OS has descheduled holds back only part of its share.
constexpr int64_t kGemmBlocksPerThread = 2;

// The epilogue done as separate passes: for the paths that cannot do it inside the product.
void start_out(const NDArray& out, const NDArray* bias) {
    if (bias != nullptr) copy_(out, *bias);
}
void finish_out(const NDArray& out, bool relu) {
    if (relu) unary_out(Unary::relu, out, out);
}

// C = alpha op(A) op(B) + beta C (+ bias, then relu) as the blocked kernel takes it.
template <class T>
detail::GemmProblem<T> blocked_problem(const NDArray& out, const NDArray& a, const NDArray& b, double alpha,
                                       double beta, const NDArray* bias, bool relu) {
    return {a.sizes()[0],         b.sizes()[1],
            a.sizes()[1],         static_cast<T>(alpha),
            a.data<T>(),          a.strides()[0],
            a.strides()[1],       b.data<T>(),
            b.strides()[0],       b.strides()[1],
            static_cast<T>(beta), out.data<T>(),
            out.strides()[0],     {bias != nullptr ? bias->data<T>() : nullptr, relu}};
}

// Splits C = op(A) op(B) (+ bias, then relu) between the pool's threads. The blocked kernel
// shares the packed operand between them (gemm_blocked_parallel) and applies the bias and relu
// to each block on the thread that computed it; BLAS gets column blocks (or row blocks when C is
// tall), each a single-threaded call taken by whichever thread is free. Blocks are views.
template <class T>
void gemm_parallel(const NDArray& out, const NDArray& a, const NDArray& b, double alpha, double beta,
                   const NDArray* bias, bool relu) {
    const int64_t m = a.sizes()[0], k = a.sizes()[1], n = b.sizes()[1];
    const int threads = ::xgrad::detail::threads_for(2.0 * static_cast<double>(m) * n * k, kGemmFlopsPerThread);
    if constexpr (std::is_floating_point_v<T>) {
        if (takes_blocked_kernel(a.dtype(), m * n * k)) {
            const detail::GemmProblem<T> problem = blocked_problem<T>(out, a, b, alpha, beta, bias, relu);
            detail::gemm_blocked_parallel<T>(&problem, 1, threads);
            return;
        }
    }
    start_out(out, bias);
    if (bias != nullptr) beta = 1;
    if (threads <= 1) {
        gemm_typed<T>(out, a, b, alpha, beta);
    } else {
        const bool by_columns = n >= m;
        const int64_t extent = by_columns ? n : m;
        const int64_t align = 16;  // the SIMD width of BLAS's micro-kernels
        const int64_t blocks = std::clamp<int64_t>(extent / align, 1, threads * kGemmBlocksPerThread);
        ::xgrad::detail::parallel_tasks(blocks, threads, [&](int64_t block) {
            const auto [begin, end] = ::xgrad::detail::aligned_piece(extent, block, blocks, align);
            if (end <= begin) return;
            if (by_columns)
                gemm_typed<T>(out.narrow(1, begin, end - begin), a, b.narrow(1, begin, end - begin), alpha, beta);
            else
                gemm_typed<T>(out.narrow(0, begin, end - begin), a.narrow(0, begin, end - begin), b, alpha, beta);
        });
    }
    finish_out(out, relu);
}

void check_gemm_operands(const NDArray& out, const NDArray& a, const NDArray& b) {
    XGRAD_CHECK(a.dim() == 2 && b.dim() == 2 && out.dim() == 2, "gemm: expected 2-D operands, got ", a.sizes(), ", ",
                b.sizes(), " and ", out.sizes());
    XGRAD_CHECK(a.sizes()[1] == b.sizes()[0], "gemm: cannot multiply ", a.sizes(), " by ", b.sizes(),
                " (inner dimensions ", a.sizes()[1], " and ", b.sizes()[0], " differ)");
    XGRAD_CHECK(out.sizes()[0] == a.sizes()[0] && out.sizes()[1] == b.sizes()[1], "gemm: the output has shape ",
                out.sizes(), " but the product has shape [", a.sizes()[0], ", ", b.sizes()[1], "]");
    XGRAD_CHECK(a.dtype() == b.dtype() && a.dtype() == out.dtype(), "gemm: dtypes ", a.dtype(), ", ", b.dtype(),
                " and ", out.dtype(), " differ");
    XGRAD_CHECK(out.strides()[1] == 1 && out.strides()[0] >= out.sizes()[1],
                "gemm: the output must have contiguous rows");
}
}  // namespace

void gemm_out(const NDArray& out, const NDArray& a, const NDArray& b, double alpha, double beta) {
    check_gemm_operands(out, a, b);
    detail::dispatch_numeric(a.dtype(), "matmul",
                             [&](auto tag) { gemm_parallel<decltype(tag)>(out, a, b, alpha, beta, nullptr, false); });
}

void linear_out(const NDArray& out, const NDArray& a, const NDArray& b, const NDArray& bias, bool relu) {
    check_gemm_operands(out, a, b);
    const bool has_bias = bias.defined();
    if (has_bias) {
        XGRAD_CHECK(bias.dim() == 1 && bias.sizes()[0] == out.sizes()[1] && bias.dtype() == out.dtype(),
                    "linear: the bias has shape ", bias.sizes(), " and dtype ", bias.dtype(), " but the output ",
                    out.sizes(), " and ", out.dtype());
    }
    // The blocked kernel reads the bias as a contiguous row.
    const NDArray row = has_bias && bias.strides()[0] != 1 ? bias.clone() : bias;
    detail::dispatch_numeric(a.dtype(), "linear", [&](auto tag) {
        gemm_parallel<decltype(tag)>(out, a, b, 1.0, 0.0, has_bias ? &row : nullptr, relu);
    });
}

std::pair<NDArray, NDArray> linear_grads(const NDArray& g, const NDArray& w, const NDArray& x) {
    XGRAD_CHECK(g.dim() == 2 && w.dim() == 2 && x.dim() == 2 && g.sizes()[1] == w.sizes()[0] &&
                    g.sizes()[0] == x.sizes()[0] && w.sizes()[1] == x.sizes()[1],
                "linear backward: expected g [N, out], weight [out, in] and x [N, in], got ", g.sizes(), ", ",
                w.sizes(), " and ", x.sizes());
    NDArray gx = NDArray::empty({g.sizes()[0], w.sizes()[1]}, g.dtype());
    NDArray gw = NDArray::empty({w.sizes()[0], w.sizes()[1]}, g.dtype());
    const NDArray gt = g.transpose(0, 1);
    // Both products have N out in multiply-adds.
    const double flops = 2.0 * static_cast<double>(g.sizes()[0]) * g.sizes()[1] * w.sizes()[1];
    const int pair_threads = ::xgrad::detail::threads_for(2 * flops, kGemmFlopsPerThread);
    const int64_t multiply_adds = g.sizes()[0] * g.sizes()[1] * w.sizes()[1];
    if (takes_blocked_kernel(g.dtype(), multiply_adds) && g.dtype() == w.dtype() && g.dtype() == x.dtype()) {
        // One job for the pair: on two threads each tends to compute one product whole, and a
        // thread that runs slower takes fewer blocks of it.
        detail::dispatch_floating(g.dtype(), "linear backward", [&](auto tag) {
            using T = decltype(tag);
            const detail::GemmProblem<T> problems[] = {blocked_problem<T>(gx, g, w, 1.0, 0.0, nullptr, false),
                                                       blocked_problem<T>(gw, gt, x, 1.0, 0.0, nullptr, false)};
            detail::gemm_blocked_parallel<T>(problems, 2, pair_threads);
        });
        return {gx, gw};
    }
    // Elsewhere side by side when the pair gets at least two threads and a product alone would get
    // at most two: the caller takes x's gradient and a worker the weight's (or the caller both, if
    // no worker comes). With more threads for each, each is split between all of them in turn
    // (work inside a job runs on one thread, so side by side would leave the others idle).
    const bool side_by_side = pair_threads >= 2 && ::xgrad::detail::threads_for(flops, kGemmFlopsPerThread) <= 2;
    if (!side_by_side) {
        gemm_out(gx, g, w, 1.0, 0.0);
        gemm_out(gw, gt, x, 1.0, 0.0);
    } else {
        ::xgrad::detail::parallel_tasks(2, 2, [&](int64_t task) {
            if (task == 0)
                gemm_out(gx, g, w, 1.0, 0.0);
            else
                gemm_out(gw, gt, x, 1.0, 0.0);
        });
    }
    return {gx, gw};
}

NDArray matmul(const NDArray& a_in, const NDArray& b_in) {
    XGRAD_CHECK(a_in.dim() >= 1 && b_in.dim() >= 1, "matmul: both arguments need at least 1 dimension, got shapes ",
                a_in.sizes(), " and ", b_in.sizes());
    const DType dtype = promote_types(a_in.dtype(), b_in.dtype());
    XGRAD_CHECK(dtype != kBool, "matmul: not supported for dtype bool");
    NDArray a = a_in.to(dtype), b = b_in.to(dtype);
    // Vectors become matrices ([k] -> [1, k] on the left, [k, 1] on the right); the added dim
    // is dropped from the result, as in torch.matmul.
    const bool a_vec = a.dim() == 1, b_vec = b.dim() == 1;
    if (a_vec) a = a.unsqueeze(0);
    if (b_vec) b = b.unsqueeze(1);
    const int64_t m = a.size(-2), k = a.size(-1), k2 = b.size(-2), n = b.size(-1);
    XGRAD_CHECK(k == k2, "matmul: cannot multiply ", a_in.sizes(), " by ", b_in.sizes(), " (inner dimensions ", k,
                " and ", k2, " differ)");
    Shape a_batch(a.sizes().begin(), a.sizes().end() - 2), b_batch(b.sizes().begin(), b.sizes().end() - 2);
    const Shape batch = broadcast_shapes(a_batch, b_batch, "matmul");
    Shape out_sizes = batch;
    out_sizes.push_back(m);
    out_sizes.push_back(n);
    NDArray out = NDArray::empty(out_sizes, dtype);
    const int64_t batch_count = shape_numel(batch);
    if (batch.empty()) {
        gemm_out(out, a, b, 1.0, 0.0);
    } else {
        Shape ea = batch, eb = batch;
        ea.push_back(m), ea.push_back(k);
        eb.push_back(k), eb.push_back(n);
        NDArray av = a.expand(ea), bv = b.expand(eb);
        NDArray out3 = out.view({batch_count, m, n});
        Shape index(batch.size(), 0);
        for (int64_t i = 0; i < batch_count; ++i) {
            NDArray x = av, y = bv;
            for (std::size_t d = 0; d < batch.size(); ++d) {
                x = x.select(0, index[d]);
                y = y.select(0, index[d]);
            }
            gemm_out(out3.select(0, i), x, y, 1.0, 0.0);
            for (std::size_t d = batch.size(); d-- > 0;) {
                if (++index[d] < batch[d]) break;
                index[d] = 0;
            }
        }
    }
    if (a_vec) out = out.squeeze(-2);
    if (b_vec) out = out.squeeze(-1);
    return out;
}

}  // namespace xgrad::kernels
