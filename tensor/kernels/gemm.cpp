// The blocked matrix product (see gemm.hpp). The scheme is Goto's, as BLIS lays it out:
//
//   for each block of kDepth rows of B (and columns of A):
//     pack that block of B into column panels kPanelCols wide          (lives in L2/L3)
//     for each block of kHeight rows of A:
//       pack it into row panels kPanelRows tall                         (lives in L2)
//       for each B panel, for each A panel: a kPanelRows x kPanelCols tile of C is computed in
//       registers by the micro-kernel, from the two panels read front to back (B's from L1).
//
// Packing turns any strides into unit-stride panels and pads ragged edges with zeros, so the
// micro-kernel is a single loop with no edge cases; the tile of C on a ragged edge goes through
// a small buffer. An A whose rows or columns are contiguous is read where it lies instead, but
// for a ragged last panel (see PackedA).

#include <xgrad/tensor/kernels/gemm.hpp>

#include <xgrad/tensor/kernels/simd.hpp>
#include <xgrad/tensor/parallel.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdlib>
#include <memory>
#include <new>
#include <type_traits>
#include <xsimd/xsimd.hpp>
#if defined(__AVX512F__) || defined(__AVX2__)
#include <immintrin.h>
#endif

namespace xgrad::kernels::detail {
namespace {

// AVX-512 has 32 vector registers, the older sets 16. The tile is kPanelRows x two vectors:
// 2 * kPanelRows accumulators, two B vectors and one broadcast A value must fit the file.
constexpr bool kWideRegisterFile = std::is_base_of_v<xsimd::avx512f, Arch>;

template <class T>
struct Blocking {
    using Batch = detail::Batch<T>;
    static constexpr int64_t kLanes = static_cast<int64_t>(Batch::size);
    static constexpr int64_t kPanelRows = kWideRegisterFile ? 8 : 6;  // MR
    static constexpr int64_t kPanelCols = 2 * kLanes;                 // NR
    // KC: one B panel (kDepth x NR) stays in the 48 KiB L1 while A panels stream past it.
    static constexpr int64_t kDepth = 256 * 4 / static_cast<int64_t>(sizeof(T));
    static constexpr int64_t kHeight = 16 * kPanelRows;  // MC: an A block of ~200 KiB, in L2
    static constexpr int64_t kWidth = 2048;              // NC: a B block of ~2 MiB
};

template <class T>
struct AlignedFree {
    void operator()(T* p) const { std::free(p); }
};

// Packing space, one per thread: grows to the largest product seen and is then reused.
template <class T>
class PackBuffer {
public:
    T* get(int64_t elements) {
        if (elements > capacity_) {
            const std::size_t bytes = (static_cast<std::size_t>(elements) * sizeof(T) + 63) / 64 * 64;
            T* p = static_cast<T*>(std::aligned_alloc(64, bytes));
            if (p == nullptr) throw std::bad_alloc();
            data_.reset(p);
            capacity_ = elements;
        }
        return data_.get();
    }

private:
    std::unique_ptr<T, AlignedFree<T>> data_;
    int64_t capacity_ = 0;
};

#if defined(__AVX512F__)
// Transposes a 16 x 16 block of floats held in 16 registers (r[i] lane j -> r[j] lane i):
// pairs, then 2 x 2 blocks within each 128-bit lane, then the 4 x 4 grid of 128-bit lanes.
// Packing a panel whose runs go the other way is then 16 loads and 16 stores per 256 values,
// instead of one scalar store per value (the scalar loops ran at ~10 GB/s, ~20% of a product).
inline void transpose16(__m512 r[16]) {
    __m512 t[16];
    for (int i = 0; i < 8; ++i) {
        t[2 * i] = _mm512_unpacklo_ps(r[2 * i], r[2 * i + 1]);
        t[2 * i + 1] = _mm512_unpackhi_ps(r[2 * i], r[2 * i + 1]);
    }
    __m512 u[16];  // u[4g + c], lane L: column 4L + c of rows 4g .. 4g + 3
    for (int g = 0; g < 4; ++g) {
        const __m512d lo = _mm512_castps_pd(t[4 * g]), hi = _mm512_castps_pd(t[4 * g + 1]);
        const __m512d lo2 = _mm512_castps_pd(t[4 * g + 2]), hi2 = _mm512_castps_pd(t[4 * g + 3]);
        u[4 * g + 0] = _mm512_castpd_ps(_mm512_unpacklo_pd(lo, lo2));
        u[4 * g + 1] = _mm512_castpd_ps(_mm512_unpackhi_pd(lo, lo2));
        u[4 * g + 2] = _mm512_castpd_ps(_mm512_unpacklo_pd(hi, hi2));
        u[4 * g + 3] = _mm512_castpd_ps(_mm512_unpackhi_pd(hi, hi2));
    }
    for (int c = 0; c < 4; ++c) {
        const __m512 x01 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0x44), x23 = _mm512_shuffle_f32x4(u[c], u[4 + c], 0xEE);
        const __m512 y01 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0x44);
        const __m512 y23 = _mm512_shuffle_f32x4(u[8 + c], u[12 + c], 0xEE);
        r[c] = _mm512_shuffle_f32x4(x01, y01, 0x88);
        r[4 + c] = _mm512_shuffle_f32x4(x01, y01, 0xDD);
        r[8 + c] = _mm512_shuffle_f32x4(x23, y23, 0x88);
        r[12 + c] = _mm512_shuffle_f32x4(x23, y23, 0xDD);
    }
}

// Loads 16 runs of 16 floats (run i at src + i * stride; runs at or past `count` read as zero)
// and transposes them: r[q] then holds element q of every run.
inline void load_transposed(__m512 r[16], const float* src, int64_t stride, int64_t count) {
    for (int64_t i = 0; i < 16; ++i) r[i] = i < count ? _mm512_loadu_ps(src + i * stride) : _mm512_setzero_ps();
    transpose16(r);
}
#endif
#if defined(__AVX2__) && !defined(__AVX512F__)
// The AVX2 counterpart: loads 8 runs of 8 floats (run i at src + i * stride; runs at or past
// `count` read as zero) and transposes them in registers, r[q] then holding element q of every
// run. The scalar packing loops took ~18% of a training step on Zen 3.
inline void load_transposed8(__m256 r[8], const float* src, int64_t stride, int64_t count) {
    for (int64_t i = 0; i < 8; ++i) r[i] = i < count ? _mm256_loadu_ps(src + i * stride) : _mm256_setzero_ps();
    const __m256 t0 = _mm256_unpacklo_ps(r[0], r[1]), t1 = _mm256_unpackhi_ps(r[0], r[1]);
    const __m256 t2 = _mm256_unpacklo_ps(r[2], r[3]), t3 = _mm256_unpackhi_ps(r[2], r[3]);
    const __m256 t4 = _mm256_unpacklo_ps(r[4], r[5]), t5 = _mm256_unpackhi_ps(r[4], r[5]);
    const __m256 t6 = _mm256_unpacklo_ps(r[6], r[7]), t7 = _mm256_unpackhi_ps(r[6], r[7]);
    const __m256 u0 = _mm256_shuffle_ps(t0, t2, 0x44), u1 = _mm256_shuffle_ps(t0, t2, 0xEE);
    const __m256 u2 = _mm256_shuffle_ps(t1, t3, 0x44), u3 = _mm256_shuffle_ps(t1, t3, 0xEE);
    const __m256 u4 = _mm256_shuffle_ps(t4, t6, 0x44), u5 = _mm256_shuffle_ps(t4, t6, 0xEE);
    const __m256 u6 = _mm256_shuffle_ps(t5, t7, 0x44), u7 = _mm256_shuffle_ps(t5, t7, 0xEE);
    r[0] = _mm256_permute2f128_ps(u0, u4, 0x20);
    r[1] = _mm256_permute2f128_ps(u1, u5, 0x20);
    r[2] = _mm256_permute2f128_ps(u2, u6, 0x20);
    r[3] = _mm256_permute2f128_ps(u3, u7, 0x20);
    r[4] = _mm256_permute2f128_ps(u0, u4, 0x31);
    r[5] = _mm256_permute2f128_ps(u1, u5, 0x31);
    r[6] = _mm256_permute2f128_ps(u2, u6, 0x31);
    r[7] = _mm256_permute2f128_ps(u3, u7, 0x31);
}
#endif

// A panel of rows [i0, i0 + rows) x depth [p0, p0 + depth) of A, stored depth-major: for each p
// the kPanelRows values of that column, zero-padded below the last row.
template <class T>
void pack_a_panel(T* dst, const T* a, int64_t a_rs, int64_t a_cs, int64_t i0, int64_t rows, int64_t p0, int64_t depth) {
    constexpr int64_t MR = Blocking<T>::kPanelRows;
    const T* src = a + i0 * a_rs + p0 * a_cs;
    if (a_rs == 1) {  // A is column-major (a transposed view): each column is a contiguous run
        for (int64_t p = 0; p < depth; ++p, dst += MR) {
            const T* col = src + p * a_cs;
            int64_t r = 0;
            for (; r < rows; ++r) dst[r] = col[r];
            for (; r < MR; ++r) dst[r] = T(0);
        }
        return;
    }
    int64_t p = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && MR <= 16) {
        if (a_cs == 1) {  // row-major A: 16 steps of depth at a time, transposed in registers
            const __mmask16 keep = static_cast<__mmask16>((1u << MR) - 1);
            for (; p + 16 <= depth; p += 16, dst += 16 * MR) {
                __m512 r[16];
                load_transposed(r, src + p, a_rs, rows);
                for (int q = 0; q < 16; ++q) _mm512_mask_storeu_ps(dst + q * MR, keep, r[q]);
            }
        }
    }
#endif
#if defined(__AVX2__) && !defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && MR <= 8) {
        if (a_cs == 1) {  // row-major A: 8 steps of depth at a time, transposed in registers
            const __m256i keep = _mm256_setr_epi32(0 < MR ? -1 : 0, 1 < MR ? -1 : 0, 2 < MR ? -1 : 0, 3 < MR ? -1 : 0,
                                                   4 < MR ? -1 : 0, 5 < MR ? -1 : 0, 6 < MR ? -1 : 0, 7 < MR ? -1 : 0);
            for (; p + 8 <= depth; p += 8, dst += 8 * MR) {
                __m256 r[8];
                load_transposed8(r, src + p, a_rs, rows);
                for (int q = 0; q < 8; ++q) _mm256_maskstore_ps(dst + q * MR, keep, r[q]);
            }
        }
    }
#endif
    // Row-major or general strides: MR rows are read side by side.
    for (; p < depth; ++p, dst += MR) {
        const T* col = src + p * a_cs;
        int64_t r = 0;
        for (; r < rows; ++r) dst[r] = col[r * a_rs];
        for (; r < MR; ++r) dst[r] = T(0);
    }
}

// A panel of depth [p0, p0 + depth) x columns [j0, j0 + cols) of B, stored depth-major: for each
// p the kPanelCols values of that row, zero-padded past the last column.
template <class T>
void pack_b_panel(T* dst, const T* b, int64_t b_rs, int64_t b_cs, int64_t p0, int64_t depth, int64_t j0, int64_t cols) {
    constexpr int64_t NR = Blocking<T>::kPanelCols;
    const T* src = b + p0 * b_rs + j0 * b_cs;
    if (b_cs == 1) {  // row-major B: each row of the panel is a contiguous run
        for (int64_t p = 0; p < depth; ++p, dst += NR) {
            const T* row = src + p * b_rs;
            int64_t j = 0;
            for (; j < cols; ++j) dst[j] = row[j];
            for (; j < NR; ++j) dst[j] = T(0);
        }
        return;
    }
    int64_t p0_tail = 0;
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && NR % 16 == 0) {
        if (b_rs == 1) {  // column-major B (x @ w.t() in a Linear layer): 16 x 16 blocks in registers
            for (; p0_tail + 16 <= depth; p0_tail += 16)
                for (int64_t j = 0; j < NR; j += 16) {
                    __m512 r[16];
                    load_transposed(r, src + j * b_cs + p0_tail, b_cs, cols - j);
                    for (int q = 0; q < 16; ++q) _mm512_store_ps(dst + (p0_tail + q) * NR + j, r[q]);
                }
        }
    }
#endif
#if defined(__AVX2__) && !defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float> && NR % 8 == 0) {
        if (b_rs == 1) {  // column-major B (x @ w.t() in a Linear layer): 8 x 8 blocks in registers
            for (; p0_tail + 8 <= depth; p0_tail += 8)
                for (int64_t j = 0; j < NR; j += 8) {
                    __m256 r[8];
                    load_transposed8(r, src + j * b_cs + p0_tail, b_cs, cols - j);
                    for (int q = 0; q < 8; ++q) _mm256_store_ps(dst + (p0_tail + q) * NR + j, r[q]);
                }
        }
    }
#endif
    // General strides, and the last steps of depth: each column of B is walked down its run and
    // scattered across the panel's rows, which stay in L1.
    for (int64_t j = 0; j < cols; ++j) {
        const T* col = src + j * b_cs;
        for (int64_t p = p0_tail; p < depth; ++p) dst[p * NR + j] = col[p * b_rs];
    }
    for (int64_t j = cols; j < NR; ++j)
        for (int64_t p = p0_tail; p < depth; ++p) dst[p * NR + j] = T(0);
}

// Where the micro-kernel reads a panel of A (MR rows x depth), value (r, p) of it:
//  - PackedA: packed by pack_a_panel, depth-major (p * MR + r);
//  - RowMajorA, ColumnMajorA: in place, when A's rows (or its columns: a transposed view) are
//    contiguous and the panel has all MR rows. Packing such an A buys little: its MR values at
//    one step of depth are MR broadcasts either way, from MR runs that stay in L1 while the
//    tile is computed. Not packing saves a pass over A, which on few threads every thread made
//    for the operand all blocks share: the main example's products in a training step took
//    1-7% less time on one thread, 4-8% on two (docs/benchmarks.md).
template <class T>
struct PackedA {
    const T* at;
    T operator[](int64_t r) const { return at[r]; }
    void next() { at += Blocking<T>::kPanelRows; }
};
template <class T>
struct RowMajorA {
    const T* at;
    int64_t row_stride;
    T operator[](int64_t r) const { return at[r * row_stride]; }
    void next() { ++at; }
};
template <class T>
struct ColumnMajorA {
    const T* at;
    int64_t column_stride;
    T operator[](int64_t r) const { return at[r]; }
    void next() { at += column_stride; }
};

// How a tile's sums S reach C: C = alpha S + beta C, or C = alpha S + bias without reading C when
// a bias row is given (a product's first depth block under GemmEpilogue::row_bias: the bits of
// filling C with the bias and taking beta = 1), then relu when asked (its last depth block). The
// epilogue thus costs no pass over C of its own: on two threads each such pass read and wrote
// rows whose other half the other core was writing (docs/benchmarks.md).
template <class T>
struct TileStore {
    T alpha = T(1), beta = T(0);
    const T* bias = nullptr;  // the bias of the tile's first column, or nullptr
    bool relu = false;

    // The store of a tile in one depth block of a product C = alpha A B + beta C with a bias row
    // (at the tile's first column, or nullptr) and relu: beta and the bias with the first depth
    // block, which later ones add to (beta 1), relu with the last.
    static TileStore for_depth_block(bool first, bool last, T alpha, T beta, const T* bias, bool relu) {
        return {alpha, first ? beta : T(1), first ? bias : nullptr, last && relu};
    }
};

// C_tile = alpha * (A panel)(B panel) + beta * C_tile (or as `out` says) for one full MR x NR
// tile, accumulated in registers: per step of depth, two B vectors, MR broadcasts of A and
// 2 * MR fused multiply-adds.
template <class T, class APanel>
__attribute__((always_inline)) inline void micro_kernel(int64_t depth, APanel pa, const T* __restrict pb,
                                                        T* __restrict c, int64_t ldc, const TileStore<T>& out) {
    using B = Blocking<T>;
    using Batch = typename B::Batch;
    constexpr int64_t MR = B::kPanelRows, W = B::kLanes;
    Batch lo[MR], hi[MR];
#pragma GCC unroll 16
    for (int64_t r = 0; r < MR; ++r) lo[r] = hi[r] = Batch(T(0));
    for (int64_t p = 0; p < depth; ++p, pa.next(), pb += 2 * W) {
        const Batch b0 = Batch::load_aligned(pb), b1 = Batch::load_aligned(pb + W);
#pragma GCC unroll 16
        for (int64_t r = 0; r < MR; ++r) {
            const Batch ar(pa[r]);
            lo[r] = xsimd::fma(ar, b0, lo[r]);
            hi[r] = xsimd::fma(ar, b1, hi[r]);
        }
    }
    const Batch va(out.alpha);
    const bool relu = out.relu;
    const auto put = [relu](T* at, Batch value) { (relu ? ReluOp{}(value) : value).store_unaligned(at); };
    if (out.bias != nullptr) {
        const Batch bias_lo = Batch::load_unaligned(out.bias), bias_hi = Batch::load_unaligned(out.bias + W);
#pragma GCC unroll 16
        for (int64_t r = 0; r < MR; ++r) {
            put(c + r * ldc, xsimd::fma(va, lo[r], bias_lo));
            put(c + r * ldc + W, xsimd::fma(va, hi[r], bias_hi));
        }
    } else if (out.beta == T(0)) {
#pragma GCC unroll 16
        for (int64_t r = 0; r < MR; ++r) {
            put(c + r * ldc, va * lo[r]);
            put(c + r * ldc + W, va * hi[r]);
        }
    } else {
        const Batch vb(out.beta);
#pragma GCC unroll 16
        for (int64_t r = 0; r < MR; ++r) {
            T* row = c + r * ldc;
            put(row, xsimd::fma(va, lo[r], vb * Batch::load_unaligned(row)));
            put(row + W, xsimd::fma(va, hi[r], vb * Batch::load_unaligned(row + W)));
        }
    }
}

// A ragged tile (rows < MR or cols < NR): computed whole into a buffer, then the valid part is
// merged into C, so nothing outside C is read or written.
template <class T, class APanel>
void edge_tile(int64_t depth, APanel pa, const T* pb, T* c, int64_t ldc, int64_t rows, int64_t cols,
               const TileStore<T>& out) {
    constexpr int64_t MR = Blocking<T>::kPanelRows, NR = Blocking<T>::kPanelCols;
    alignas(64) T tile[MR * NR];
    micro_kernel<T>(depth, pa, pb, tile, NR, TileStore<T>{});
    const T alpha = out.alpha, beta = out.beta;
    for (int64_t r = 0; r < rows; ++r)
        for (int64_t j = 0; j < cols; ++j) {
            T& to = c[r * ldc + j];
            const T sum = tile[r * NR + j];
            // The micro-kernel's operations, one by one: a bias row has the bits of the same
            // product with C = bias and beta = 1 (tested).
            const T value = out.bias != nullptr ? multiply_add(alpha, sum, out.bias[j])
                            : beta == T(0)      ? alpha * sum
                                                : multiply_add(alpha, sum, beta * to);
            to = out.relu ? ReluOp{}(value) : value;
        }
}

// The panels of one A: each read in place where it can be (see PackedA), else from its packed copy.
template <class T>
class APanels {
public:
    APanels(const T* a, int64_t a_rs, int64_t a_cs) : a_(a), rs_(a_rs), cs_(a_cs), in_place_(a_cs == 1 || a_rs == 1) {}
    // Whether the panel of `rows` rows must be packed before compute_tile reads it.
    bool packs(int64_t rows) const { return !in_place_ || rows < Blocking<T>::kPanelRows; }
    // One tile of C from the panel of `rows` rows from row i at depth pc (its packed copy at
    // `packed` when packs(rows)) and a packed B panel.
    void compute_tile(int64_t i, int64_t pc, int64_t depth, const T* packed, const T* pb, T* c, int64_t ldc,
                      int64_t rows, int64_t cols, const TileStore<T>& out) const {
        if (packs(rows))
            tile(depth, PackedA<T>{packed}, pb, c, ldc, rows, cols, out);
        else if (cs_ == 1)
            tile(depth, RowMajorA<T>{a_ + i * rs_ + pc, rs_}, pb, c, ldc, rows, cols, out);
        else
            tile(depth, ColumnMajorA<T>{a_ + i + pc * cs_, cs_}, pb, c, ldc, rows, cols, out);
    }

private:
    template <class APanel>
    static void tile(int64_t depth, APanel pa, const T* pb, T* c, int64_t ldc, int64_t rows, int64_t cols,
                     const TileStore<T>& out) {
        if (rows == Blocking<T>::kPanelRows && cols == Blocking<T>::kPanelCols)
            micro_kernel<T>(depth, pa, pb, c, ldc, out);
        else
            edge_tile<T>(depth, pa, pb, c, ldc, rows, cols, out);
    }
    const T* a_;
    int64_t rs_, cs_;
    bool in_place_;
};

// An empty sum (k = 0 or alpha = 0), as BLAS has it: A and B are not read, C = beta * C; or
// C = bias rows, under an epilogue; then relu.
template <class T>
void product_without_sums(int64_t m, int64_t n, T beta, T* c, int64_t ldc, const T* bias, bool relu) {
    for (int64_t i = 0; i < m; ++i)
        for (int64_t j = 0; j < n; ++j) {
            T& to = c[i * ldc + j];
            to = bias != nullptr ? bias[j] : beta == T(0) ? T(0) : beta * to;
            if (relu) to = ReluOp{}(to);
        }
}

// gemm_blocked with an epilogue: `bias` (n values, or nullptr) and `relu` as in GemmEpilogue.
template <class T>
void blocked_product(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                     int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, const T* bias, bool relu) {
    using B = Blocking<T>;
    constexpr int64_t MR = B::kPanelRows, NR = B::kPanelCols;
    if (m <= 0 || n <= 0) return;
    if (k <= 0 || alpha == T(0)) {
        product_without_sums(m, n, beta, c, ldc, bias, relu);
        return;
    }
    // Depth blocks of equal size (784 = 4 x 196 rather than 3 x 256 + 16), a multiple of 8.
    const int64_t depth_blocks = (k + B::kDepth - 1) / B::kDepth;
    const int64_t depth_step = ((k + depth_blocks - 1) / depth_blocks + 7) / 8 * 8;
    const int64_t width_max = std::min(B::kWidth, (n + NR - 1) / NR * NR);
    const int64_t height_max = std::min(B::kHeight, (m + MR - 1) / MR * MR);

    thread_local PackBuffer<T> a_space, b_space;
    T* const packed_b = b_space.get(depth_step * width_max);
    T* const packed_a = a_space.get(depth_step * height_max);
    const APanels<T> a_panels(a, a_rs, a_cs);

    for (int64_t jc = 0; jc < n; jc += B::kWidth) {
        const int64_t width = std::min(B::kWidth, n - jc);
        for (int64_t pc = 0; pc < k; pc += depth_step) {
            const int64_t depth = std::min(depth_step, k - pc);
            const bool first = pc == 0, last = pc + depth == k;
            for (int64_t jr = 0; jr < width; jr += NR)
                pack_b_panel(packed_b + jr * depth, b, b_rs, b_cs, pc, depth, jc + jr, std::min(NR, width - jr));
            for (int64_t ic = 0; ic < m; ic += B::kHeight) {
                const int64_t height = std::min(B::kHeight, m - ic);
                for (int64_t ir = 0; ir < height; ir += MR) {
                    const int64_t rows = std::min(MR, height - ir);
                    if (a_panels.packs(rows))
                        pack_a_panel(packed_a + ir * depth, a, a_rs, a_cs, ic + ir, rows, pc, depth);
                }
                for (int64_t jr = 0; jr < width; jr += NR) {
                    const int64_t cols = std::min(NR, width - jr);
                    const T* pb = packed_b + jr * depth;
                    const auto out =
                        TileStore<T>::for_depth_block(first, last, alpha, beta, bias ? bias + jc + jr : nullptr, relu);
                    for (int64_t ir = 0; ir < height; ir += MR)
                        a_panels.compute_tile(ic + ir, pc, depth, packed_a + ir * depth, pb,
                                              c + (ic + ir) * ldc + jc + jr, ldc, std::min(MR, height - ir), cols, out);
                }
            }
        }
    }
}

}  // namespace

template <class T>
void gemm_blocked(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                  int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc) {
    blocked_product(m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, static_cast<const T*>(nullptr), false);
}

namespace {
constexpr int64_t round_up(int64_t x, int64_t multiple) {
    return (x + multiple - 1) / multiple * multiple;
}
// Above this the shared operand is not packed whole (it would not stay in cache anyway); the
// product is then split into independent column blocks.
constexpr int64_t kMaxSharedPackBytes = int64_t{2} << 20;
// What packing one element costs, in flops of the micro-kernel (a strided gather into panels
// against 2 x 16 fused multiply-adds per cycle on AVX-512: an element in a few cycles).
constexpr int64_t kPackCostInFlops = 32;
// A thread may spend up to this fraction of its products repacking the operand the others also pack.
constexpr int64_t kRepackShare = 8;  // 1/8
// Blocks per thread when every thread packs the shared operand itself: the blocks then cost no
// extra packing, and small ones let a thread that runs slower take fewer of them.
constexpr int64_t kRepackBlocksPerThread = 8;
// Products in one job of blocks: each needs a packing buffer per thread.
constexpr int64_t kMaxProductsPerJob = 4;

// The product's block of C at rows [row0, row0 + rows) and columns [col0, col0 + cols), on this
// thread, epilogue included.
template <class T>
void gemm_block(const GemmProblem<T>& p, int64_t row0, int64_t rows, int64_t col0, int64_t cols) {
    const T* bias = p.epilogue.row_bias != nullptr ? p.epilogue.row_bias + col0 : nullptr;
    blocked_product(rows, cols, p.k, p.alpha, p.a + row0 * p.a_rs, p.a_rs, p.a_cs, p.b + col0 * p.b_cs, p.b_rs, p.b_cs,
                    p.beta, p.c + row0 * p.ldc + col0, p.ldc, bias, p.epilogue.relu);
}

// How a product is cut between threads: C into blocks of columns, each reading all of A, or of
// rows, each reading all of B; that "shared" operand is packed whole (A only where it cannot be
// read in place), and blocks start on micro-tile edges, so that every element is computed by the
// same kernel calls as on one thread (same bits).
template <class T>
struct Split {
    using B = Blocking<T>;
    Split() = default;
    explicit Split(const GemmProblem<T>& problem) : p(problem) {
        depth_blocks = (p.k + B::kDepth - 1) / B::kDepth;
        depth_step = ((p.k + depth_blocks - 1) / depth_blocks + 7) / 8 * 8;  // as gemm_blocked
        // Column blocks interleave in every row of C: two cores writing them side by side pull
        // each other's lines back and forth (their prefetchers reach past a block's edge), and
        // whatever reads C next by rows (an optimizer's slice, an element-wise op's range) finds
        // half of each row in the other core's cache. Row blocks cost packing all of B instead,
        // so they are taken when B's k x n elements are no more than C's m x n (plus A's m x k
        // when column blocks would have to pack A): a layer's weight gradient g^T x (Adam's step
        // on two cores far apart 79 -> 59 µs, docs/benchmarks.md), not its forward x w^T, whose
        // weight is larger than its output.
        const bool a_packed = a_panels().packs(B::kPanelRows);
        share_a = p.k * p.n > p.m * p.n + (a_packed ? p.m * p.k : 0);
        panel = share_a ? B::kPanelRows : B::kPanelCols;
        block_stride = round_up(share_a ? p.m : p.n, panel) * depth_step;
        own_extent = share_a ? p.n : p.m;
        own_align = share_a ? B::kPanelCols : B::kPanelRows;
        own_panels = (own_extent + own_align - 1) / own_align;
    }
    int64_t shared_elements() const { return block_stride * depth_blocks; }
    // Cheap enough for each of `threads` threads to pack the shared operand itself: it has
    // (shared extent) x k elements, a thread's products 2 m n k / threads flops, and repacking
    // costs at most 1/kRepackShare of them when the other extent is at least
    // kPackCostInFlops * kRepackShare * threads / 2 (m and k cancel): 128 per thread here.
    bool each_thread_packs(int threads) const { return 2 * own_extent >= kPackCostInFlops * kRepackShare * threads; }
    // Block blk of `blocks`: [begin, end) of the own dimension, on micro-tile edges.
    std::pair<int64_t, int64_t> block(int64_t blk, int64_t blocks) const {
        return {own_panels * blk / blocks * own_align,
                std::min(own_extent, own_panels * (blk + 1) / blocks * own_align)};
    }

    // Packs panels [first, last) of depth block d of the shared operand into `shared`, laid out
    // as one depth block after another, block_stride apart.
    void pack_shared(T* shared, int64_t d, int64_t first, int64_t last) const {
        const int64_t pc = d * depth_step, depth = std::min(depth_step, p.k - pc);
        T* block = shared + d * block_stride;
        for (int64_t q = first; q < last; ++q) {
            const int64_t at = q * panel;
            if (share_a) {
                const int64_t rows = std::min(B::kPanelRows, p.m - at);
                if (a_panels().packs(rows)) pack_a_panel(block + at * depth, p.a, p.a_rs, p.a_cs, at, rows, pc, depth);
            } else
                pack_b_panel(block + at * depth, p.b, p.b_rs, p.b_cs, pc, depth, at, std::min(B::kPanelCols, p.n - at));
        }
    }
    int64_t shared_panels() const { return block_stride / depth_step / panel; }
    // Packs the whole shared operand on this thread; of an A read in place, only its last panel
    // (the one that may be ragged: pack_shared skips it when it is not).
    void pack_all_shared(T* shared) const {
        const int64_t first = shared_packing_is_work() ? 0 : shared_panels() - 1;
        for (int64_t d = 0; d < depth_blocks; ++d) pack_shared(shared, d, first, shared_panels());
    }
    APanels<T> a_panels() const { return APanels<T>(p.a, p.a_rs, p.a_cs); }
    // Whether packing the shared operand is work worth sharing out (A read in place leaves at
    // most its last, ragged panel to pack).
    bool shared_packing_is_work() const { return !share_a || a_panels().packs(B::kPanelRows); }

    // The block [begin, end) of the own dimension against the packed shared operand: packs its own
    // part and computes its tiles in the order gemm_blocked does (depth blocks outermost), so every
    // element gets the same bits.
    void compute(const T* shared, int64_t begin, int64_t end) const;

    GemmProblem<T> p;
    bool share_a = true;
    int64_t depth_blocks = 0, depth_step = 0, panel = 0, block_stride = 0, own_extent = 0, own_align = 0,
            own_panels = 0;
};

template <class T>
void Split<T>::compute(const T* shared, int64_t begin, int64_t end) const {
    constexpr int64_t MR = B::kPanelRows, NR = B::kPanelCols;
    thread_local PackBuffer<T> own_space;
    T* const own = own_space.get(depth_step * round_up(end - begin, own_align));
    T* const c = p.c;
    const int64_t m = p.m, n = p.n, ldc = p.ldc;
    const APanels<T> a_reader = a_panels();
    const T* const bias = p.epilogue.row_bias;
    for (int64_t d = 0; d < depth_blocks; ++d) {
        const int64_t pc = d * depth_step, depth = std::min(depth_step, p.k - pc);
        const bool first = d == 0, last = d == depth_blocks - 1;
        const auto store = [&](int64_t j) {  // the tile store at column j
            return TileStore<T>::for_depth_block(first, last, p.alpha, p.beta, bias ? bias + j : nullptr,
                                                 p.epilogue.relu);
        };
        const T* block = shared + d * block_stride;
        if (share_a) {  // columns [begin, end) of B against all of A
            for (int64_t jr = begin; jr < end; jr += NR)
                pack_b_panel(own + (jr - begin) * depth, p.b, p.b_rs, p.b_cs, pc, depth, jr, std::min(NR, end - jr));
            for (int64_t ic = 0; ic < m; ic += B::kHeight) {
                const int64_t ic_end = std::min(m, ic + B::kHeight);
                for (int64_t jr = begin; jr < end; jr += NR) {
                    const int64_t cols = std::min(NR, end - jr);
                    const T* pb = own + (jr - begin) * depth;
                    const TileStore<T> out = store(jr);
                    for (int64_t ir = ic; ir < ic_end; ir += MR)
                        a_reader.compute_tile(ir, pc, depth, block + ir * depth, pb, c + ir * ldc + jr, ldc,
                                              std::min(MR, m - ir), cols, out);
                }
            }
        } else {  // rows [begin, end) of A against all of B
            for (int64_t ir = begin; ir < end; ir += MR) {
                const int64_t rows = std::min(MR, end - ir);
                if (a_reader.packs(rows))
                    pack_a_panel(own + (ir - begin) * depth, p.a, p.a_rs, p.a_cs, ir, rows, pc, depth);
            }
            for (int64_t jr = 0; jr < n; jr += NR) {
                const int64_t cols = std::min(NR, n - jr);
                const T* pb = block + jr * depth;
                const TileStore<T> out = store(jr);
                for (int64_t ir = begin; ir < end; ir += MR)
                    a_reader.compute_tile(ir, pc, depth, own + (ir - begin) * depth, pb, c + ir * ldc + jr, ldc,
                                          std::min(MR, end - ir), cols, out);
            }
        }
    }
}

// Huge operands: independent column blocks, each packing what it reads.
template <class T>
void run_column_blocks(const GemmProblem<T>& p, int threads) {
    constexpr int64_t NR = Blocking<T>::kPanelCols;
    const int64_t col_blocks = std::clamp<int64_t>(p.n / NR, 1, threads * ::xgrad::detail::kTasksPerThread);
    const int64_t col_panels = (p.n + NR - 1) / NR;
    ::xgrad::detail::parallel_tasks(col_blocks, threads, [&](int64_t blk) {
        const int64_t j0 = col_panels * blk / col_blocks * NR,
                      j1 = std::min(p.n, col_panels * (blk + 1) / col_blocks * NR);
        if (j1 > j0) gemm_block(p, 0, p.m, j0, j1 - j0);
    });
}

// Many threads: the shared operand packed once, by all threads together (job 1), then the blocks
// of the other dimension (job 2), each thread reading panels the others packed.
template <class T>
void run_with_shared_packing(const Split<T>& split, int threads) {
    // The caller's buffer; the pool's threads read it through this pointer while the caller waits.
    thread_local PackBuffer<T> shared_space;
    T* const shared = shared_space.get(split.shared_elements());
    const int64_t panels = split.shared_panels();
    if (split.shared_packing_is_work()) {
        const int64_t groups =
            std::max<int64_t>(1, std::min<int64_t>(panels, threads * ::xgrad::detail::kTasksPerThread));
        ::xgrad::detail::parallel_tasks(split.depth_blocks * groups, threads, [&](int64_t task) {
            const int64_t d = task / groups, g = task % groups;
            split.pack_shared(shared, d, panels * g / groups, panels * (g + 1) / groups);
        });
    } else {
        split.pack_all_shared(shared);
    }
    const int64_t blocks =
        std::clamp<int64_t>(split.own_extent / split.own_align, 1, threads * ::xgrad::detail::kTasksPerThread);
    ::xgrad::detail::parallel_tasks(blocks, threads, [&](int64_t blk) {
        const auto [begin, end] = split.block(blk, blocks);
        if (end > begin) split.compute(shared, begin, end);
    });
}

// Few threads: every thread packs the shared operand of a product itself when it takes its first
// block of that product, and the blocks of all products go out as one job. Packing once together
// takes a job of its own (one more hand-over between the threads) and leaves each thread reading
// the half the other packed from the other core's cache: on 2 threads, the main example's products
// against the shared packing in the same run: 1.48-2.0x faster than one thread against
// 1.23-1.81x (docs/benchmarks.md). The blocks are small because they cost no extra packing: the
// pool hands them out one at a time, the caller from the front and the workers from the back, so
// on two equal cores each gets the same half of every product (or one product each, of two)
// step after step, and a core that runs slower (on the project's cloud machine one vCPU took
// 1.2-1.6x as long as the other for stretches, another tenant slowing its memory accesses) takes
// fewer blocks instead of the other waiting for its half.
template <class T>
void run_each_thread_packing(const Split<T>* splits, int64_t count, int threads) {
    int64_t first_block[kMaxProductsPerJob + 1] = {0};
    int64_t blocks[kMaxProductsPerJob];
    for (int64_t i = 0; i < count; ++i) {
        blocks[i] = std::clamp<int64_t>(splits[i].own_panels, 1, threads * kRepackBlocksPerThread);
        first_block[i + 1] = first_block[i] + blocks[i];
    }
    // Which job a thread's packed copies belong to: a copy is reused only within its own job.
    static std::atomic<uint64_t> jobs{0};
    const uint64_t job = jobs.fetch_add(1, std::memory_order_relaxed) + 1;
    ::xgrad::detail::parallel_tasks(first_block[count], threads, [&](int64_t task) {
        thread_local PackBuffer<T> copies[kMaxProductsPerJob];
        thread_local uint64_t copy_job[kMaxProductsPerJob] = {0};
        int64_t i = 0;
        while (task >= first_block[i + 1]) ++i;
        const Split<T>& split = splits[i];
        T* const shared = copies[i].get(split.shared_elements());
        if (copy_job[i] != job) {
            split.pack_all_shared(shared);
            copy_job[i] = job;
        }
        const auto [begin, end] = split.block(task - first_block[i], blocks[i]);
        if (end > begin) split.compute(shared, begin, end);
    });
}

}  // namespace

template <class T>
void gemm_blocked_parallel(const GemmProblem<T>* problems, int64_t count, int threads) {
    // Products split in small blocks, gathered into one job; the others run as they come.
    Split<T> pending[kMaxProductsPerJob] = {};
    int64_t pending_count = 0;
    const auto flush = [&] {
        if (pending_count > 0) run_each_thread_packing(pending, pending_count, threads);
        pending_count = 0;
    };
    for (int64_t i = 0; i < count; ++i) {
        const GemmProblem<T>& p = problems[i];
        if (p.m <= 0 || p.n <= 0) continue;
        if (threads <= 1 || p.k <= 0 || p.alpha == T(0)) {
            gemm_block(p, 0, p.m, 0, p.n);
            continue;
        }
        const Split<T> split(p);
        if (split.shared_elements() * static_cast<int64_t>(sizeof(T)) > kMaxSharedPackBytes) {
            run_column_blocks(p, threads);
        } else if (!split.each_thread_packs(threads)) {
            run_with_shared_packing(split, threads);
        } else {
            pending[pending_count++] = split;
            if (pending_count == kMaxProductsPerJob) flush();
        }
    }
    flush();
}

template <class T>
void gemm_blocked_parallel(int64_t m, int64_t n, int64_t k, T alpha, const T* a, int64_t a_rs, int64_t a_cs, const T* b,
                           int64_t b_rs, int64_t b_cs, T beta, T* c, int64_t ldc, int threads,
                           GemmEpilogue<T> epilogue) {
    const GemmProblem<T> problem{m, n, k, alpha, a, a_rs, a_cs, b, b_rs, b_cs, beta, c, ldc, epilogue};
    gemm_blocked_parallel(&problem, 1, threads);
}

template void gemm_blocked_parallel<float>(const GemmProblem<float>*, int64_t, int);
template void gemm_blocked_parallel<double>(const GemmProblem<double>*, int64_t, int);

template void gemm_blocked_parallel<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t,
                                           const float*, int64_t, int64_t, float, float*, int64_t, int,
                                           GemmEpilogue<float>);
template void gemm_blocked_parallel<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t,
                                            const double*, int64_t, int64_t, double, double*, int64_t, int,
                                            GemmEpilogue<double>);

template void gemm_blocked<float>(int64_t, int64_t, int64_t, float, const float*, int64_t, int64_t, const float*,
                                  int64_t, int64_t, float, float*, int64_t);
template void gemm_blocked<double>(int64_t, int64_t, int64_t, double, const double*, int64_t, int64_t, const double*,
                                   int64_t, int64_t, double, double*, int64_t);

const char* gemm_blocked_arch() {
    return Arch::name();
}

template <class T>
int64_t gemm_panel_width() {
    return Blocking<T>::kPanelCols;
}
template int64_t gemm_panel_width<float>();
template int64_t gemm_panel_width<double>();

}  // namespace xgrad::kernels::detail
