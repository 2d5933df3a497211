#pragma once
/// One thread setting for everything: our OpenMP kernels, which also split matrix products into
/// single-threaded BLAS calls (so that OpenBLAS's own threads never compete with ours).

#include <cstdint>
#include <utility>

namespace xgrad {

/// Threads used by element-wise kernels, reductions and matrix products.
void set_num_threads(int n);
int get_num_threads();

namespace detail {
/// Element count below which kernels stay on one thread (a parallel region costs microseconds).
inline constexpr int64_t kParallelGrain = 32768;

/// Piece t of nt over [0, extent): inner edges rounded down to a multiple of align (a power of
/// two) so SIMD runs stay whole; the last piece ends at extent. A piece may be empty.
inline std::pair<int64_t, int64_t> aligned_piece(int64_t extent, int64_t t, int64_t nt, int64_t align) {
    const int64_t begin = (extent * t / nt) & ~(align - 1);
    const int64_t end = t + 1 == nt ? extent : (extent * (t + 1) / nt) & ~(align - 1);
    return {begin, end};
}
}  // namespace detail

}  // namespace xgrad
