#pragma once
/// One thread setting for everything, and the one place that decides how many threads a piece of
/// work gets. Kernels, reductions, matrix products and optimizer updates all run on xgrad's own
/// pool (tensor/parallel.cpp), never on a second one: OpenBLAS stays single-threaded and the
/// products are split here.
///
/// The pool is made for shared machines. The calling thread takes part in every job and the job
/// is cut into more tasks than threads, handed out one at a time: a worker that the OS has not
/// scheduled yet simply gets fewer tasks, and nobody waits for a thread that has not started.
/// Idle workers spin for at most 200 microseconds (longer than the gap between two kernels of a
/// training step) and then sleep on a futex, so no thread burns a core it is not working on.

#include <algorithm>
#include <cstdint>
#include <utility>

namespace xgrad {

/// Threads used by element-wise kernels, reductions, matrix products and optimizer updates,
/// counting the calling thread. Must be in [1, kMaxThreads]; throws xgrad::Error otherwise.
void set_num_threads(int n);
/// The current setting: set_num_threads, else XGRAD_NUM_THREADS, else default_num_threads().
int get_num_threads();
/// The CPUs this process may use: its affinity mask, capped by a cgroup CPU quota (a container
/// limited to 1.5 CPUs gets 2 threads, to 1 CPU gets 1).
int default_num_threads();
/// The largest accepted thread count.
inline constexpr int kMaxThreads = 1024;

namespace detail {
/// Element count below which kernels stay on one thread (a wake-up costs microseconds).
inline constexpr int64_t kParallelGrain = 32768;

/// Piece t of nt over [0, extent): inner edges rounded down to a multiple of align (a power of
/// two) so SIMD runs stay whole; the last piece ends at extent. A piece may be empty.
inline std::pair<int64_t, int64_t> aligned_piece(int64_t extent, int64_t t, int64_t nt, int64_t align) {
    const int64_t begin = (extent * t / nt) & ~(align - 1);
    const int64_t end = t + 1 == nt ? extent : (extent * (t + 1) / nt) & ~(align - 1);
    return {begin, end};
}

/// True on a pool worker or inside a job: work started there runs on the calling thread.
bool in_parallel();

/// How many threads `work` (in elements or a comparable unit) gets: 1 below `grain` (per extra
/// thread), inside a job, or when set to 1; at most get_num_threads(). The single rule every
/// parallel site asks.
/// Also 1 while the pool backs off after a stall (another process holding our cores).
int threads_for(double work, double grain = kParallelGrain);
/// Ends a back-off after a stall now, as if the machine had been seen idle (for tests of the
/// sizing rule, which other tests on a loaded machine may have sent into back-off).
void end_contention_backoff();
/// Reports that the caller waited far longer for a worker than it worked itself (a worker lost
/// its core mid-task). The first such stall is taken for a hiccup; a second within 50 ms for
/// another process sharing our cores, and the pool backs off. Called by the pool (and tests).
void note_stall();

/// A borrowed callable for run_tasks (no allocation, no std::function).
struct TaskRef {
    void* context;
    void (*call)(void* context, int64_t task);
};

/// Runs task(i) for every i in [0, tasks) on up to `threads` threads (the caller included) and
/// returns when all are done. Which thread runs which task is not fixed, so a task's result must
/// not depend on it; the caller takes tasks in order from the front and the workers from the back,
/// so that on two threads each tends to get the same half of a job every time (its cache still
/// holds that half's data). The first exception thrown by a task is rethrown here.
void run_tasks(int64_t tasks, int threads, TaskRef task);

/// body(i) for every i in [0, tasks), in parallel when threads > 1.
template <class Body>
void parallel_tasks(int64_t tasks, int threads, const Body& body) {
    if (threads <= 1 || tasks <= 1) {
        for (int64_t i = 0; i < tasks; ++i) body(i);
        return;
    }
    TaskRef ref{const_cast<void*>(static_cast<const void*>(&body)),
                [](void* context, int64_t i) { (*static_cast<const Body*>(context))(i); }};
    run_tasks(tasks, threads, ref);
}

/// Tasks per thread for dynamic splitting: enough that a descheduled thread holds back little.
inline constexpr int64_t kTasksPerThread = 4;

/// body(begin, end) over pieces covering [0, extent), each at least `min_piece` long where
/// possible and with inner edges on multiples of `align`; work is `extent * cost` units decided by
/// threads_for. Pieces are cut from the extent alone, never from the thread count in use beyond
/// their number, and body must only touch its own range.
template <class Body>
void parallel_for(int64_t extent, double cost_per_item, int64_t align, const Body& body) {
    if (extent <= 0) return;
    const int threads = threads_for(static_cast<double>(extent) * cost_per_item);
    if (threads <= 1) return body(int64_t{0}, extent);
    int64_t pieces = threads * kTasksPerThread;
    const int64_t max_pieces = std::max<int64_t>(1, extent / align);
    if (pieces > max_pieces) pieces = max_pieces;
    parallel_tasks(pieces, threads, [&](int64_t p) {
        const auto [begin, end] = aligned_piece(extent, p, pieces, align);
        if (end > begin) body(begin, end);
    });
}
}  // namespace detail

}  // namespace xgrad
