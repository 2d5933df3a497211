#include <xgrad/distributed/communicator.hpp>

#include <climits>
#include <string>

#include <xgrad/distributed/distributed.hpp>
#include <xgrad/distributed/mpi_util.hpp>
#include <xgrad/tensor/error.hpp>

namespace xgrad::distributed::detail {

struct Request::Impl {
#ifdef XGRAD_HAVE_MPI
    MPI_Request request = MPI_REQUEST_NULL;
#endif
    const char* op = "";
};

Request::Request() = default;
Request::~Request() {
    // A request dropped in flight (an exception unwinding past it) is still waited for: MPI would
    // otherwise write into a buffer that may already be freed.
    if (pending()) {
        try {
            wait();
        } catch (...) {
        }
    }
}
Request::Request(Request&&) noexcept = default;
Request& Request::operator=(Request&& other) noexcept {
    if (this != &other) {
        if (pending()) {
            try {
                wait();
            } catch (...) {
            }
        }
        impl_ = std::move(other.impl_);
    }
    return *this;
}

bool Request::pending() const {
#ifdef XGRAD_HAVE_MPI
    return impl_ && impl_->request != MPI_REQUEST_NULL;
#else
    return false;
#endif
}

bool Request::test() {
#ifdef XGRAD_HAVE_MPI
    if (!pending()) return true;
    int done = 0;
    mpi::check(MPI_Test(&impl_->request, &done, MPI_STATUS_IGNORE), impl_->op);
    return done != 0;
#else
    return true;
#endif
}

void Request::wait() {
#ifdef XGRAD_HAVE_MPI
    if (!pending()) return;
    mpi::check(MPI_Wait(&impl_->request, MPI_STATUS_IGNORE), impl_->op);
#endif
}

struct Communicator::Impl {
#ifdef XGRAD_HAVE_MPI
    MPI_Comm comm = MPI_COMM_NULL;
#endif
    int rank = 0, size = 1;
};

Communicator::Communicator() : impl_(std::make_unique<Impl>()) {
#ifdef XGRAD_HAVE_MPI
    if (!mpi::running()) return;
    mpi::check(MPI_Comm_dup(MPI_COMM_WORLD, &impl_->comm), "Communicator");
    MPI_Comm_set_errhandler(impl_->comm, MPI_ERRORS_RETURN);
    MPI_Comm_rank(impl_->comm, &impl_->rank);
    MPI_Comm_size(impl_->comm, &impl_->size);
#endif
}

Communicator::~Communicator() {
#ifdef XGRAD_HAVE_MPI
    if (impl_->comm != MPI_COMM_NULL && mpi::running()) MPI_Comm_free(&impl_->comm);
#endif
}

int Communicator::rank() const {
    return impl_->rank;
}
int Communicator::size() const {
    return impl_->size;
}

Request Communicator::iall_reduce_sum(void* buffer, int64_t count, DType dtype, const char* op) {
    Request r;
#ifdef XGRAD_HAVE_MPI
    if (impl_->size == 1) return r;
    XGRAD_CHECK(count <= INT_MAX, op, " on rank ", impl_->rank, " of ", impl_->size, ": ", count,
                " elements are more than one call can reduce");
    r.impl_ = std::make_unique<Request::Impl>();
    r.impl_->op = op;
    mpi::check(MPI_Iallreduce(MPI_IN_PLACE, buffer, static_cast<int>(count), mpi::type_of(dtype), MPI_SUM, impl_->comm,
                              &r.impl_->request),
               op);
#endif
    return r;
}

Request Communicator::iall_gather(const void* send, void* receive, int64_t count, DType dtype, const char* op) {
    Request r;
#ifdef XGRAD_HAVE_MPI
    if (impl_->size == 1) return r;
    XGRAD_CHECK(count <= INT_MAX, op, " on rank ", impl_->rank, " of ", impl_->size, ": ", count,
                " elements are more than one call can gather");
    r.impl_ = std::make_unique<Request::Impl>();
    r.impl_->op = op;
    const MPI_Datatype type = mpi::type_of(dtype);
    mpi::check(MPI_Iallgather(send, static_cast<int>(count), type, receive, static_cast<int>(count), type, impl_->comm,
                              &r.impl_->request),
               op);
#endif
    return r;
}

void Communicator::all_reduce_sum(void* buffer, int64_t count, DType dtype, const char* op) {
#ifdef XGRAD_HAVE_MPI
    if (impl_->size == 1) return;
    XGRAD_CHECK(count <= INT_MAX, op, " on rank ", impl_->rank, " of ", impl_->size, ": ", count,
                " elements are more than one call can reduce");
    mpi::check(MPI_Allreduce(MPI_IN_PLACE, buffer, static_cast<int>(count), mpi::type_of(dtype), MPI_SUM, impl_->comm),
               op);
#endif
}

void Communicator::all_gather(const void* send, void* receive, int64_t count, DType dtype, const char* op) {
#ifdef XGRAD_HAVE_MPI
    if (impl_->size == 1) return;
    XGRAD_CHECK(count <= INT_MAX, op, " on rank ", impl_->rank, " of ", impl_->size, ": ", count,
                " elements are more than one call can gather");
    const MPI_Datatype type = mpi::type_of(dtype);
    mpi::check(MPI_Allgather(send, static_cast<int>(count), type, receive, static_cast<int>(count), type, impl_->comm),
               op);
#endif
}

}  // namespace xgrad::distributed::detail
