#include "tensor/parallel.hpp"

#include <omp.h>

#include "tensor/error.hpp"

extern "C" void openblas_set_num_threads(int);

namespace xgrad {

void set_num_threads(int n) {
    XGRAD_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got ", n);
    omp_set_num_threads(n);
    // One pool of threads: OpenBLAS runs single-threaded and our OpenMP team splits large
    // products (kernels/linalg.cpp). With both pools active, their spinning threads fought over
    // the 2 cores and a training epoch at 2 threads took 2.3 s instead of 1.1 s.
    openblas_set_num_threads(1);
}

int get_num_threads() { return omp_get_max_threads(); }


}  // namespace xgrad
