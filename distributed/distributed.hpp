#pragma once
/// xgrad::distributed: processes that train one model together over MPI (Open MPI from Debian),
/// the engine HPC schedulers already launch. One process per rank; each holds a full copy of the
/// model and a shard of every batch (nn::DistributedDataParallel, data::DistributedSampler).
///
///     int main(int argc, char** argv) {
///         distributed::Guard mpi(argc, argv);          // MPI_Init ... MPI_Finalize
///         Tensor t = full({3}, double(distributed::rank()));
///         distributed::all_reduce(t, distributed::ReduceOp::sum);   // 0 + 1 + ... on every rank
///     }
///
///     mpirun -np 2 ./program
///
/// Started without mpirun (or in a build without MPI) the program is a world of one process:
/// rank() is 0, world_size() is 1 and every collective returns its input, so the same code runs
/// both ways. Collectives are called from one thread (the one that called init), in the same order
/// on every rank, as MPI requires. Errors name the op and the rank ("all_reduce on rank 1 of 2: ...").

#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::distributed {

/// True when xgrad was built with MPI (the CMake option XGRAD_WITH_MPI and Open MPI installed).
bool is_available();
/// True when this process was started by an MPI launcher (mpirun, srun with PMI), whether or not
/// MPI is initialized yet: what a program checks to decide to train data-parallel.
bool launched_by_mpi();

/// Initializes MPI (once per process) on the calling thread, which makes the collectives from then
/// on. argc and argv may be null. An uncaught exception afterwards ends the whole job (MPI_Abort)
/// with the rank and the error printed, so no rank is left waiting in a collective forever.
void init(int* argc = nullptr, char*** argv = nullptr);
/// Finalizes MPI; a no-op when init was not called. Every rank must call it.
void finalize();
bool is_initialized();
/// Throws naming `what` when the process was started by an MPI launcher but init() has not run:
/// the job would otherwise train as several unconnected "rank 0 of 1" processes (PyTorch: "Default
/// process group has not been initialized").
void check_initialized_if_launched(const char* what);

/// init() on construction, finalize() on destruction; while an exception is unwinding, the other
/// ranks may be waiting in a collective, so the destructor leaves MPI running and the process's
/// non-zero exit makes mpirun end the job.
class Guard {
public:
    Guard();
    Guard(int& argc, char**& argv);
    ~Guard();
    Guard(const Guard&) = delete;
    Guard& operator=(const Guard&) = delete;
};

/// This process's rank in [0, world_size()): 0 outside an MPI job.
int rank();
/// The number of processes in the job: 1 outside an MPI job.
int world_size();

enum class ReduceOp { sum, mean, max, min };

/// Combines tensor element-wise across ranks, in place, so every rank ends with the result.
/// Every dtype; mean needs a floating-point tensor, and on bool sum and max are "any", min "all".
/// Every rank must pass the same shape and dtype.
void all_reduce(const Tensor& tensor, ReduceOp op = ReduceOp::sum);
/// Copies root's tensor into tensor on every other rank, in place.
void broadcast(const Tensor& tensor, int root = 0);
/// Every rank's tensor, in rank order (a fresh tensor per rank; the local one is a copy too).
std::vector<Tensor> all_gather(const Tensor& tensor);
/// Waits until every rank has reached it.
void barrier();
/// The string of every rank, in rank order (lengths may differ).
std::vector<std::string> all_gather_string(const std::string& text);

/// all_reduce with sum as a differentiable op: the result is the sum of every rank's input, and
/// since every rank's loss depends on every rank's input, the gradient of each input is the sum
/// of the gradients of every rank's result (another all_reduce, made in backward). SyncBatchNorm's
/// statistics are built from it, so their gradients follow by the chain rule.
Tensor all_reduce_sum(const Tensor& input);

/// Ends the whole job at once: prints "rank R of N: message" on stderr and calls MPI_Abort (or
/// std::exit when MPI is not running). For an error one rank cannot recover from while the others
/// would wait for it.
[[noreturn]] void abort_job(const std::string& message, int status = 1);

}  // namespace xgrad::distributed
