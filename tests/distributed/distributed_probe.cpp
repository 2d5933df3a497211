// How a distributed job fails, for the tests in tests/CMakeLists.txt (run under mpirun -np 2):
//   distributed_probe throw      rank 1 throws and nobody catches it, while rank 0 waits in a
//                                barrier: the job must end, naming rank 1 and the error, not hang
//   distributed_probe caught     rank 1's error is caught by main's handler, which prints it and
//                                returns 2, as the examples do: mpirun must still end the job
//   distributed_probe mismatch   the ranks all-reduce tensors of different sizes; with
//                                XGRAD_DISTRIBUTED_DEBUG=1 each rank gets an error naming both
#include <cstdio>
#include <stdexcept>
#include <string>

#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main(int argc, char** argv) try {
    distributed::Guard mpi(argc, argv);
    const std::string mode = argc > 1 ? argv[1] : "";
    if (mode == "caught") {
        if (distributed::rank() == 1) throw Error("probe failure on rank 1");
        distributed::barrier();
        std::printf("rank %d: the barrier completed, which it must not\n", distributed::rank());
        return 0;
    }
    if (mode == "throw") {
        // Not an xgrad::Error, so main's handler below does not catch it.
        if (distributed::rank() == 1) throw std::runtime_error("probe failure on rank 1");
        distributed::barrier();  // never completes: rank 1 is gone
        std::printf("rank %d: the barrier completed, which it must not\n", distributed::rank());
        return 0;
    }
    if (mode == "mismatch") {
        try {
            distributed::all_reduce(zeros({distributed::rank() + 1}));
            std::printf("rank %d: no error\n", distributed::rank());
        } catch (const Error& e) {
            std::printf("rank %d: %s\n", distributed::rank(), e.what());
        }
        return 0;
    }
    std::fprintf(stderr, "usage: distributed_probe throw|caught|mismatch\n");
    return 2;
} catch (const Error& e) {
    // The Guard has left MPI running (an exception was unwinding): this exit is not a clean one,
    // which is what makes mpirun stop the other ranks.
    std::fprintf(stderr, "rank %d of %d: error: %s\n", distributed::rank(), distributed::world_size(), e.what());
    return 2;
}
