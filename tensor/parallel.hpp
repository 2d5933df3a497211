#pragma once
/// One thread setting for everything: our OpenMP kernels and OpenBLAS.

#include <cstdint>

namespace xgrad {

/// Threads used by element-wise kernels, reductions and matrix products.
void set_num_threads(int n);
int get_num_threads();

namespace detail {
/// Element count below which kernels stay on one thread (a parallel region costs microseconds).
inline constexpr int64_t kParallelGrain = 32768;
/// Tells OpenBLAS to run single-threaded while we are inside our own parallel region.
void blas_set_num_threads(int n);
}  // namespace detail

}  // namespace xgrad
