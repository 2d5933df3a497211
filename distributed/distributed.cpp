// The process group over MPI, and a world of one process when xgrad is built without MPI or the
// program was not started by an MPI launcher. mpi.h stays in this file and communicator.cpp.
#include <xgrad/distributed/distributed.hpp>

#include <climits>
#include <cstdio>
#include <cstdlib>
#include <exception>

#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/distributed/mpi_util.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::distributed {

namespace {
#ifdef XGRAD_HAVE_MPI
bool we_initialized = false;  // init() started MPI, so finalize() ends it
#endif
bool set_up = false;  // init() has run (error handler and terminate handler in place)

// An exception nobody caught: with other ranks possibly waiting in a collective, the only safe end
// is to take the whole job down, saying which rank failed and why.
[[noreturn]] void terminate_job() {
    std::string what = "std::terminate was called without an exception";
    if (const std::exception_ptr e = std::current_exception()) {
        try {
            std::rethrow_exception(e);
        } catch (const std::exception& x) {
            what = std::string("uncaught exception: ") + x.what();
        } catch (...) {
            what = "uncaught exception of a type not derived from std::exception";
        }
    }
    abort_job(what, 1);
}

#ifdef XGRAD_HAVE_MPI
MPI_Op mpi_op(ReduceOp op, DType dtype) {
    // bool holds 0 or 1: "sum" and "max" are any, "min" is all.
    switch (op) {
        case ReduceOp::sum:
        case ReduceOp::mean:
            return dtype == kBool ? MPI_MAX : MPI_SUM;
        case ReduceOp::max:
            return MPI_MAX;
        case ReduceOp::min:
            return MPI_MIN;
    }
    return MPI_SUM;
}

// Optional checks that every rank calls the same collective with the same element count and dtype
// (mismatches are undefined behaviour in MPI: a hang or a truncation). XGRAD_DISTRIBUTED_DEBUG=1
// turns them on, at the cost of one more small collective per call.
bool debug_checks() {
    static const bool on = [] {
        const char* v = std::getenv("XGRAD_DISTRIBUTED_DEBUG");
        return v != nullptr && std::string(v) != "0" && std::string(v) != "";
    }();
    return on;
}

// code names the collective and its reduction; root is broadcast's root (0 for the others).
void check_same_everywhere(const char* op, int code, int root, const Tensor& t) {
    if (!debug_checks()) return;
    const int64_t mine[4] = {code, root, static_cast<int64_t>(t.dtype()), t.numel()};
    std::vector<int64_t> all(4 * static_cast<std::size_t>(world_size()));
    mpi::check(MPI_Allgather(mine, 4, MPI_INT64_T, all.data(), 4, MPI_INT64_T, MPI_COMM_WORLD), op);
    for (int r = 0; r < world_size(); ++r) {
        const int64_t* theirs = &all[4 * static_cast<std::size_t>(r)];
        XGRAD_CHECK(theirs[2] == mine[2] && theirs[3] == mine[3], op, " on rank ", rank(), " of ", world_size(),
                    ": this rank passes ", t.numel(), " elements of ", t.dtype(), " but rank ", r, " passes ",
                    theirs[3], " elements of ", static_cast<DType>(theirs[2]));
        XGRAD_CHECK(theirs[0] == mine[0] && theirs[1] == mine[1], op, " on rank ", rank(), " of ", world_size(),
                    ": rank ", r, " is in a different collective (or one with another reduction or root)");
    }
}

// Runs fn(pointer, count) over the tensor's elements in chunks MPI's int counts can hold, on a
// contiguous buffer that is written back when the tensor is a strided view.
template <class Fn>
void over_contiguous(const Tensor& t, bool write_back, Fn fn) {
    const NDArray buffer = t.is_contiguous() ? t.data() : t.data().contiguous();
    auto* p = static_cast<char*>(buffer.raw_data());
    const int64_t element = static_cast<int64_t>(element_size(t.dtype()));
    for (int64_t done = 0; done < t.numel();) {
        const int64_t count = std::min<int64_t>(t.numel() - done, INT_MAX / 2);
        fn(p + done * element, static_cast<int>(count));
        done += count;
    }
    if (write_back && !t.is_contiguous()) kernels::copy_(t.data(), buffer);
    if (write_back) t.data().bump_version();
}
#endif

void check_tensor(const Tensor& t, const char* op) {
    XGRAD_CHECK(t.defined(), op, " on rank ", rank(), " of ", world_size(), ": the tensor is undefined");
}
}  // namespace

bool is_available() {
#ifdef XGRAD_HAVE_MPI
    return true;
#else
    return false;
#endif
}

bool launched_by_mpi() {
    // Open MPI's mpirun, then PMI/PMIx launchers (MPICH's hydra, Slurm's srun).
    for (const char* name : {"OMPI_COMM_WORLD_SIZE", "PMIX_RANK", "PMI_SIZE", "PMI_RANK"})
        if (std::getenv(name) != nullptr) return true;
    return false;
}

void init(int* argc, char*** argv) {
    if (set_up && is_initialized()) return;
#ifdef XGRAD_HAVE_MPI
    int already = 0;
    MPI_Initialized(&already);
    // FUNNELED: xgrad's own threads compute but never call MPI; this thread makes every call.
    int provided = 0;
    if (!already) {
        const int code = MPI_Init_thread(argc, argv, MPI_THREAD_FUNNELED, &provided);
        XGRAD_CHECK(code == MPI_SUCCESS, "distributed::init: MPI_Init_thread failed with code ", code);
        we_initialized = true;
    } else {
        MPI_Query_thread(&provided);  // the program started MPI itself
    }
    XGRAD_CHECK(provided >= MPI_THREAD_FUNNELED, "distributed::init: the MPI library offers thread level ", provided,
                ", below MPI_THREAD_FUNNELED, which xgrad's thread pool needs");
    // Errors come back as codes, which become exceptions naming the op and the rank.
    MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
#else
    // Under mpirun every process would otherwise train alone as "rank 0 of 1", all writing the
    // same files.
    XGRAD_CHECK(!launched_by_mpi(),
                "distributed::init: this program was started by an MPI launcher, but xgrad was built without MPI "
                "(install libopenmpi-dev and rebuild with -DXGRAD_WITH_MPI=ON)");
#endif
    set_up = true;
    std::set_terminate(terminate_job);
}

void finalize() {
#ifdef XGRAD_HAVE_MPI
    if (we_initialized && mpi::running()) MPI_Finalize();
    we_initialized = false;
#endif
    set_up = false;
}

void check_initialized_if_launched(const char* what) {
    XGRAD_CHECK(!launched_by_mpi() || is_initialized(), what,
                ": this program was started by an MPI launcher, but distributed::init() (or a distributed::Guard) has "
                "not run yet; call it first, or every process trains alone as rank 0 of 1");
}

bool is_initialized() {
#ifdef XGRAD_HAVE_MPI
    return mpi::running();
#else
    return set_up;
#endif
}

Guard::Guard() {
    init();
}
Guard::Guard(int& argc, char**& argv) {
    init(&argc, &argv);
}
Guard::~Guard() {
    if (std::uncaught_exceptions() == 0) finalize();
}

int rank() {
#ifdef XGRAD_HAVE_MPI
    if (mpi::running()) {
        int r = 0;
        MPI_Comm_rank(MPI_COMM_WORLD, &r);
        return r;
    }
#endif
    return 0;
}

int world_size() {
#ifdef XGRAD_HAVE_MPI
    if (mpi::running()) {
        int n = 1;
        MPI_Comm_size(MPI_COMM_WORLD, &n);
        return n;
    }
#endif
    return 1;
}

void all_reduce(const Tensor& tensor, ReduceOp op) {
    check_tensor(tensor, "all_reduce");
    XGRAD_CHECK(op != ReduceOp::mean || tensor.is_floating_point(), "all_reduce on rank ", rank(), " of ", world_size(),
                ": mean needs a floating-point tensor, got ", tensor.dtype());
#ifdef XGRAD_HAVE_MPI
    if (world_size() == 1) return;
    check_same_everywhere("all_reduce", 1 + static_cast<int>(op), 0, tensor);
    const MPI_Datatype type = mpi::type_of(tensor.dtype());
    over_contiguous(tensor, true, [&](void* p, int count) {
        mpi::check(MPI_Allreduce(MPI_IN_PLACE, p, count, type, mpi_op(op, tensor.dtype()), MPI_COMM_WORLD),
                   "all_reduce");
    });
    if (op == ReduceOp::mean)
        kernels::binary_out(kernels::Binary::div, tensor.data(), tensor.data(),
                            NDArray::scalar(world_size(), tensor.dtype()));
#endif
}

void broadcast(const Tensor& tensor, int root) {
    check_tensor(tensor, "broadcast");
    XGRAD_CHECK(root >= 0 && root < world_size(), "broadcast on rank ", rank(), " of ", world_size(), ": root ", root,
                " is not a rank");
#ifdef XGRAD_HAVE_MPI
    if (world_size() == 1) return;
    check_same_everywhere("broadcast", 10, root, tensor);
    const MPI_Datatype type = mpi::type_of(tensor.dtype());
    over_contiguous(tensor, true, [&](void* p, int count) {
        mpi::check(MPI_Bcast(p, count, type, root, MPI_COMM_WORLD), "broadcast");
    });
#endif
}

std::vector<Tensor> all_gather(const Tensor& tensor) {
    check_tensor(tensor, "all_gather");
    const int n = world_size();
    if (n == 1) return {Tensor(tensor.data().clone())};
    std::vector<Tensor> out;
#ifdef XGRAD_HAVE_MPI
    check_same_everywhere("all_gather", 20, 0, tensor);
    XGRAD_CHECK(tensor.numel() <= INT_MAX / 2, "all_gather on rank ", rank(), " of ", n, ": ", tensor.numel(),
                " elements are more than one call can gather");
    const NDArray send = tensor.data().contiguous();
    NDArray receive = NDArray::empty({n * tensor.numel()}, tensor.dtype(), "all_gather");
    const MPI_Datatype type = mpi::type_of(tensor.dtype());
    const int count = static_cast<int>(tensor.numel());
    mpi::check(MPI_Allgather(send.raw_data(), count, type, receive.raw_data(), count, type, MPI_COMM_WORLD),
               "all_gather");
    for (int r = 0; r < n; ++r)
        out.emplace_back(receive.slice(0, r * tensor.numel(), (r + 1) * tensor.numel()).reshape(tensor.sizes()));
#endif
    return out;
}

void barrier() {
#ifdef XGRAD_HAVE_MPI
    if (world_size() > 1) mpi::check(MPI_Barrier(MPI_COMM_WORLD), "barrier");
#endif
}

std::vector<std::string> all_gather_string(const std::string& text) {
    const int n = world_size();
    if (n == 1) return {text};
    std::vector<std::string> out(static_cast<std::size_t>(n));
#ifdef XGRAD_HAVE_MPI
    const int length = static_cast<int>(text.size());
    std::vector<int> lengths(out.size()), offsets(out.size());
    mpi::check(MPI_Allgather(&length, 1, MPI_INT, lengths.data(), 1, MPI_INT, MPI_COMM_WORLD), "all_gather_string");
    int total = 0;
    for (int r = 0; r < n; ++r) {
        offsets[r] = total;
        total += lengths[r];
    }
    std::string all(static_cast<std::size_t>(total), '\0');
    mpi::check(MPI_Allgatherv(text.data(), length, MPI_CHAR, all.data(), lengths.data(), offsets.data(), MPI_CHAR,
                              MPI_COMM_WORLD),
               "all_gather_string");
    for (int r = 0; r < n; ++r) out[r] = all.substr(offsets[r], lengths[r]);
#endif
    return out;
}

Tensor all_reduce_sum(const Tensor& input) {
    check_tensor(input, "all_reduce_sum");
    Tensor result(input.data().clone());
    all_reduce(result, ReduceOp::sum);
    // d(sum over ranks of every rank's loss) / d(input on this rank) = the sum over ranks of each
    // rank's gradient of its result: every rank's result depends on this rank's input.
    return make_op("all_reduce_sum", {input}, result.data(),
                   [](const Tensor& grad, const BackwardContext&) -> Grads { return {all_reduce_sum(grad)}; });
}

void abort_job(const std::string& message, int status) {
    std::fprintf(stderr, "rank %d of %d: %s\n", rank(), world_size(), message.c_str());
    std::fflush(stderr);
    std::fflush(stdout);
#ifdef XGRAD_HAVE_MPI
    if (mpi::running()) MPI_Abort(MPI_COMM_WORLD, status);
#endif
    std::_Exit(status);
}

}  // namespace xgrad::distributed
