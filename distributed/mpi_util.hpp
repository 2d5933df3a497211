#pragma once
/// Internal to distributed/*.cpp (never included by a public header): the few MPI helpers its
/// files share. In a build without MPI it declares nothing.

#ifdef XGRAD_HAVE_MPI
#include <mpi.h>

#include <xgrad/tensor/dtype.hpp>

namespace xgrad::distributed::mpi {

/// MPI is initialized and not yet finalized.
bool running();
/// The MPI type of a dtype's elements (bool as one byte).
MPI_Datatype type_of(DType dtype);
/// Throws xgrad::Error "op on rank R of N: MPI error: ..." unless code is MPI_SUCCESS.
void check(int code, const char* op);

}  // namespace xgrad::distributed::mpi
#endif
