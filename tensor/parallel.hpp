#pragma once
/// One thread setting for everything: our OpenMP kernels, which also split matrix products into
/// single-threaded BLAS calls (so that OpenBLAS's own threads never compete with ours).

#include <cstdint>

namespace xgrad {

/// Threads used by element-wise kernels, reductions and matrix products.
void set_num_threads(int n);
int get_num_threads();

namespace detail {
/// Element count below which kernels stay on one thread (a parallel region costs microseconds).
inline constexpr int64_t kParallelGrain = 32768;
}  // namespace detail

}  // namespace xgrad
