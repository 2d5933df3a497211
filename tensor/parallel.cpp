#include "tensor/parallel.hpp"

#include <omp.h>

#include "tensor/error.hpp"

extern "C" void openblas_set_num_threads(int);

namespace xgrad {

void set_num_threads(int n) {
    XGRAD_CHECK(n >= 1, "set_num_threads: expected a positive thread count, got ", n);
    omp_set_num_threads(n);
    openblas_set_num_threads(n);
}

int get_num_threads() { return omp_get_max_threads(); }

namespace detail {
void blas_set_num_threads(int n) { openblas_set_num_threads(n); }
}  // namespace detail

}  // namespace xgrad
