#include <xgrad/distributed/mpi_util.hpp>

#ifdef XGRAD_HAVE_MPI
#include <string>

#include <xgrad/distributed/distributed.hpp>
#include <xgrad/tensor/error.hpp>

namespace xgrad::distributed::mpi {

bool running() {
    int initialized = 0, finalized = 0;
    MPI_Initialized(&initialized);
    MPI_Finalized(&finalized);
    return initialized && !finalized;
}

MPI_Datatype type_of(DType dtype) {
    switch (dtype) {
        case DType::float32:
            return MPI_FLOAT;
        case DType::float64:
            return MPI_DOUBLE;
        case DType::int64:
            return MPI_INT64_T;
        case DType::boolean:
            return MPI_UINT8_T;
    }
    fail("distributed: no MPI type for dtype ", dtype);
}

void check(int code, const char* op) {
    if (code == MPI_SUCCESS) return;
    char text[MPI_MAX_ERROR_STRING];
    int length = 0;
    MPI_Error_string(code, text, &length);
    fail(op, " on rank ", rank(), " of ", world_size(),
         ": MPI error: ", std::string(text, static_cast<std::size_t>(length)));
}

}  // namespace xgrad::distributed::mpi
#endif
