// xgrad's thread pool and thread-count policy (see parallel.hpp for the contract).
//
// A job is published as one 64-bit word, epoch:32 | front:16 | back:16, the units not yet
// claimed being [front, back). Every participant claims units by compare-and-swap on that word,
// the caller from the front and the workers from the back, so a claim can only succeed while its
// job is current, and a thread that wakes late finds nothing left instead of waiting for or
// delaying anybody. The caller returns once `done_` reaches the job's unit count.
//
// Waiting: idle workers spin on the epoch for a bounded time and then sleep in a futex; the
// caller likewise spins, then sleeps, while the last units finish. A worker that finds itself
// preempted, or arrives after the caller has claimed everything (its core is busy with another
// process), stops spinning, so on a shared core it gives the time back instead of competing.

#include <xgrad/tensor/parallel.hpp>

#include <linux/futex.h>
#include <sched.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdlib>
#include <exception>
#include <fstream>
#include <mutex>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#endif

#include <xgrad/tensor/error.hpp>
#include <xgrad/tensor/parallel_config.hpp>

extern "C" void openblas_set_num_threads(int);

namespace xgrad {
namespace detail {
namespace {

using Clock = std::chrono::steady_clock;

// Sleeps while *word == expected (the kernel checks atomically, so a wake-up between our check
// and the sleep is not lost). Raw futexes: libstdc++ 12's std::atomic::wait lost a wake-up here.
inline void futex_wait(std::atomic<uint32_t>& word, uint32_t expected) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAIT_PRIVATE, expected, nullptr, nullptr, 0);
}
inline void futex_wake_all(std::atomic<uint32_t>& word) {
    syscall(SYS_futex, reinterpret_cast<uint32_t*>(&word), FUTEX_WAKE_PRIVATE, INT32_MAX, nullptr, nullptr, 0);
}
static_assert(sizeof(std::atomic<uint32_t>) == sizeof(uint32_t), "futex words are plain 32-bit integers");

inline void cpu_relax() {
#if defined(__x86_64__) || defined(__i386__)
    _mm_pause();
#else
    std::this_thread::yield();
#endif
}

// Spins until ready() or until `limit` has passed; returns ready()'s last value.
template <class Ready>
bool spin_until(const Ready& ready, std::chrono::nanoseconds limit) {
    if (limit.count() <= 0) return ready();
    const Clock::time_point deadline = Clock::now() + limit;
    for (unsigned i = 1;; ++i) {
        if (ready()) return true;
        cpu_relax();
        if ((i & 31) == 0 && Clock::now() >= deadline) return ready();
    }
}

// The longest a worker spins for the next job: longer than the gap between two kernels of a
// training step (so a quiet machine never pays a wake-up inside a step), short enough that an
// idle program gives its cores back at once.
constexpr std::chrono::nanoseconds kMaxWorkerSpin = std::chrono::microseconds(200);
constexpr std::chrono::nanoseconds kMinWorkerSpin = std::chrono::microseconds(2);
// The longest the caller spins for the last units before sleeping.
constexpr std::chrono::nanoseconds kCallerSpin = std::chrono::microseconds(100);
constexpr int64_t kMaxUnits = 0xFFFF;

thread_local bool tl_in_parallel = false;

// Times this thread was preempted (descheduled while runnable).
long involuntary_switches() {
    rusage usage{};
    getrusage(RUSAGE_THREAD, &usage);
    return usage.ru_nivcsw;
}

// Idle CPU time of the whole machine so far, in seconds summed over CPUs (/proc/stat's first
// line: idle + iowait, in clock ticks); negative when it cannot be read.
double machine_idle_seconds() {
    std::ifstream stat("/proc/stat");
    std::string cpu;
    double user, nice, system, idle, iowait;
    if (!(stat >> cpu >> user >> nice >> system >> idle >> iowait) || cpu != "cpu") return -1;
    static const double ticks_per_second = static_cast<double>(sysconf(_SC_CLK_TCK));
    return (idle + iowait) / ticks_per_second;
}

// Backing off to one thread while another process shares our cores. A worker preempted while it
// holds a task makes the caller wait for the rest of the other process's time slice (ms), so a
// 2-thread epoch ran 1.3x slower than a 1-thread one beside a busy process. After a second such
// stall within 50 ms, jobs stay on the calling thread; every back-off period (50 ms, doubling up
// to 1 s) the machine's idle time over that period tells whether a core has come free, and only
// then is the pool tried again. Probing by measurement rather than by another stall keeps the
// cost of a busy neighbour to two stalls per change of load: a single stall is not enough,
// because on a quiet machine a worker still loses its core for 0.4-2 ms about once a second (a
// kernel thread, the hypervisor), and each of those would cost 50 ms on one thread. A neighbour that
// shares our core stalls us again within a few time slices.
class ContentionBackoff {
public:
    bool active() {
        const int64_t until = solo_until_ns_.load(std::memory_order_relaxed);
        if (until == 0) return false;
        const int64_t now = now_ns();
        if (now < until) return true;
        std::lock_guard<std::mutex> lock(mutex_);
        if (solo_until_ns_.load(std::memory_order_relaxed) != until) return solo_until_ns_.load() != 0;
        const double idle = machine_idle_seconds();
        const double free_cores = idle < 0 ? 1.0 : (idle - idle_mark_) / (static_cast<double>(now - mark_ns_) * 1e-9);
        if (free_cores >= 0.5) {  // a core has come free: try the pool again
            solo_until_ns_.store(0, std::memory_order_relaxed);
            return false;
        }
        backoff_ns_ = std::min(backoff_ns_ * 2, kMaxBackoff);
        start_period(now, idle);
        return true;
    }

    void end() {
        std::lock_guard<std::mutex> lock(mutex_);
        solo_until_ns_.store(0, std::memory_order_relaxed);
        last_stall_ns_ = 0;
    }

    void note_stall() {
        std::lock_guard<std::mutex> lock(mutex_);
        const int64_t now = now_ns();
        const bool repeated = last_stall_ns_ != 0 && now - last_stall_ns_ < kStallWindow;
        last_stall_ns_ = now;
        if (!repeated) return;
        backoff_ns_ = kFirstBackoff;
        start_period(now, machine_idle_seconds());
    }

private:
    static constexpr int64_t kFirstBackoff = 50'000'000, kMaxBackoff = 1'000'000'000;
    static constexpr int64_t kStallWindow = 50'000'000;  // two stalls this close: a neighbour
    static int64_t now_ns() {
        return std::chrono::duration_cast<std::chrono::nanoseconds>(Clock::now().time_since_epoch()).count();
    }
    void start_period(int64_t now, double idle) {
        mark_ns_ = now;
        idle_mark_ = idle;
        solo_until_ns_.store(now + backoff_ns_, std::memory_order_relaxed);
    }
    std::atomic<int64_t> solo_until_ns_{0};  // 0: the pool is in use
    std::mutex mutex_;
    int64_t backoff_ns_ = kFirstBackoff;
    int64_t mark_ns_ = 0;
    int64_t last_stall_ns_ = 0;  // 0: none yet
    double idle_mark_ = 0;
};

ContentionBackoff& contention() {
    static ContentionBackoff instance;
    return instance;
}

class ThreadPool {
public:
    ~ThreadPool() { stop_workers(); }

    // Workers besides the caller; started lazily by the first job that needs them.
    void resize(int threads) {
        acquire_job_slot();
        if (wanted_workers_ != threads - 1) stop_workers();
        wanted_workers_ = threads - 1;
        busy_.store(false, std::memory_order_release);
    }

    void run(int64_t tasks, int threads, TaskRef task) {
        if (tl_in_parallel || busy_.exchange(true, std::memory_order_acquire)) {
            // Nested, or another user thread has the pool: this thread does the work alone.
            run_inline(tasks, task);
            return;
        }
        if (static_cast<int>(workers_.size()) != wanted_workers_) start_workers();
        per_unit_ = (tasks + kMaxUnits - 1) / kMaxUnits;
        const int64_t units = (tasks + per_unit_ - 1) / per_unit_;
        task_ = task;
        total_ = tasks;
        units_ = static_cast<uint32_t>(units);
        limit_.store(threads, std::memory_order_relaxed);
        joined_.store(1, std::memory_order_relaxed);
        done_.store(0, std::memory_order_relaxed);
        error_ = nullptr;
        const uint32_t epoch = ++last_epoch_;
        claims_.store((static_cast<uint64_t>(epoch) << 32) | static_cast<uint64_t>(units), std::memory_order_release);
        epoch_.store(epoch, std::memory_order_seq_cst);
        if (sleepers_.load(std::memory_order_seq_cst) > 0) futex_wake_all(epoch_);

        const Clock::time_point start = Clock::now();
        tl_in_parallel = true;
        work_on(epoch, false);
        tl_in_parallel = false;

        const auto finished = [&] { return done_.load(std::memory_order_acquire) == units; };
        if (!spin_until(finished, kCallerSpin)) {
            const Clock::time_point waiting = Clock::now();
            caller_sleeping_.store(true, std::memory_order_seq_cst);
            for (uint32_t d; (d = done_.load(std::memory_order_seq_cst)) != units;) futex_wait(done_, d);
            caller_sleeping_.store(false, std::memory_order_relaxed);
            // Balanced work leaves us waiting at most about one task, a fraction of what we did
            // ourselves; waiting far longer means a worker lost its core mid-task.
            const Clock::time_point end = Clock::now();
            if (end - waiting > 2 * (waiting - start) + kCallerSpin) note_stall();
        }
        std::exception_ptr error = error_;
        busy_.store(false, std::memory_order_release);
        if (error) std::rethrow_exception(error);
    }

private:
    void run_inline(int64_t tasks, TaskRef task) {
        const bool outer = tl_in_parallel;
        tl_in_parallel = true;
        try {
            for (int64_t i = 0; i < tasks; ++i) task.call(task.context, i);
        } catch (...) {
            tl_in_parallel = outer;
            throw;
        }
        tl_in_parallel = outer;
    }

    void acquire_job_slot() {
        while (busy_.exchange(true, std::memory_order_acquire)) std::this_thread::yield();
    }

    void start_workers() {
        stop_workers();
        stopping_.store(false, std::memory_order_relaxed);
        // A worker starts from the epoch of its creation, so it cannot miss a job or a stop that
        // was published before its thread got to run.
        const uint32_t epoch = epoch_.load(std::memory_order_acquire);
        for (int i = 0; i < wanted_workers_; ++i) workers_.emplace_back([this, epoch] { worker_main(epoch); });
    }

    void stop_workers() {
        if (workers_.empty()) return;
        stopping_.store(true, std::memory_order_seq_cst);
        epoch_.store(++last_epoch_, std::memory_order_seq_cst);
        futex_wake_all(epoch_);
        for (std::thread& w : workers_) w.join();
        workers_.clear();
    }

    void worker_main(uint32_t seen) {
        tl_in_parallel = true;
        std::chrono::nanoseconds spin = kMaxWorkerSpin;
        long last_preempted = involuntary_switches();
        for (;;) {
            const auto changed = [&] { return epoch_.load(std::memory_order_acquire) != seen; };
            if (!spin_until(changed, spin)) {
                sleepers_.fetch_add(1, std::memory_order_seq_cst);
                while (epoch_.load(std::memory_order_seq_cst) == seen) futex_wait(epoch_, seen);
                sleepers_.fetch_sub(1, std::memory_order_relaxed);
            }
            if (stopping_.load(std::memory_order_acquire)) return;
            seen = epoch_.load(std::memory_order_acquire);
            if (joined_.fetch_add(1, std::memory_order_relaxed) >= limit_.load(std::memory_order_relaxed)) continue;
            const bool worked = work_on(seen, true);
            // Spinning pays only on a core nobody else wants. Being preempted (another runnable
            // thread took this core) or arriving to find every unit claimed (the core was slow to
            // get to us) means another process shares it: then spin hardly at all, so the core
            // goes to that process while we wait and our wake-ups find us a fresh time slice.
            // A quiet stretch restores the full spin step by step.
            const long preempted = involuntary_switches();
            if (preempted != last_preempted || !worked)
                spin = kMinWorkerSpin;
            else
                spin = std::min(kMaxWorkerSpin, spin * 2);
            last_preempted = preempted;
        }
    }

    // Claims and runs units of job `epoch` until none is left; false if it got none. The caller
    // takes units from the front, the workers from the back: on two threads each keeps the same
    // half of every evenly split job, step after step, so the data it wrote last time (a layer's
    // rows, an optimizer's slice of the moments) is still in its own cache.
    bool work_on(uint32_t epoch, bool from_back) {
        bool worked = false;
        uint64_t c = claims_.load(std::memory_order_acquire);
        for (;;) {
            if (static_cast<uint32_t>(c >> 32) != epoch) return worked;
            const uint64_t front = (c >> 16) & 0xFFFF, back = c & 0xFFFF;
            if (front >= back) return worked;
            const uint64_t claimed = from_back ? c - 1 : c + (uint64_t{1} << 16);
            if (!claims_.compare_exchange_weak(c, claimed, std::memory_order_acq_rel, std::memory_order_acquire))
                continue;
            worked = true;
            // Read before our unit can complete the job: the caller may then publish the next one.
            const uint32_t units = units_;
            run_unit(static_cast<int64_t>(from_back ? back - 1 : front));
            if (done_.fetch_add(1, std::memory_order_seq_cst) + 1 == units &&
                caller_sleeping_.load(std::memory_order_seq_cst))
                futex_wake_all(done_);
            c = claims_.load(std::memory_order_acquire);
        }
    }

    void run_unit(int64_t unit) {
        const int64_t begin = unit * per_unit_, end = std::min(total_, begin + per_unit_);
        try {
            for (int64_t i = begin; i < end; ++i) task_.call(task_.context, i);
        } catch (...) {
            std::lock_guard<std::mutex> lock(error_mutex_);
            if (!error_) error_ = std::current_exception();
        }
    }

    std::vector<std::thread> workers_;
    int wanted_workers_ = 0;
    uint32_t last_epoch_ = 0;        // written by the job's owner only
    std::atomic<bool> busy_{false};  // one job at a time
    std::atomic<bool> stopping_{false};
    std::atomic<uint32_t> epoch_{0};            // what idle workers wait on
    std::atomic<uint64_t> claims_{0};           // epoch:32 | front:16 | back:16
    std::atomic<uint32_t> done_{0};             // units finished in the current job
    std::atomic<uint32_t> sleepers_{0};         // workers asleep on epoch_
    std::atomic<bool> caller_sleeping_{false};  // the job's owner asleep on done_
    std::atomic<int> limit_{1};                 // threads the current job may use
    std::atomic<int> joined_{1};                // threads that joined it
    TaskRef task_{};
    int64_t total_ = 0, per_unit_ = 1;
    uint32_t units_ = 0;  // units in the current job
    std::mutex error_mutex_;
    std::exception_ptr error_;
};

ThreadPool& pool() {
    static ThreadPool instance;
    return instance;
}

// 0 until the first read; then the thread count in force.
std::atomic<int> g_threads{0};
std::once_flag g_threads_init;

void check_thread_count(int64_t n, const char* source) {
    XGRAD_CHECK(n >= 1 && n <= kMaxThreads, source, ": expected a thread count in [1, ", kMaxThreads, "], got ", n);
}

int initial_thread_count() {
    // OpenBLAS starts one thread per core; ours split the products instead, so it stays at one.
    openblas_set_num_threads(1);
    if (const char* value = std::getenv("XGRAD_NUM_THREADS")) {
        const int64_t n = parse_thread_count(value, "XGRAD_NUM_THREADS");
        return static_cast<int>(n);
    }
    return default_num_threads();
}

std::string read_first_line(const std::string& path) {
    std::ifstream in(path);
    std::string line;
    if (in) std::getline(in, line);
    return line;
}

}  // namespace

int64_t parse_thread_count(const std::string& text, const char* source) {
    std::size_t used = 0;
    int64_t n = 0;
    bool ok = !text.empty() && text.find_first_not_of("+-0123456789") == std::string::npos;
    if (ok) {
        try {
            n = std::stoll(text, &used);
        } catch (const std::exception&) {
            ok = false;
        }
    }
    XGRAD_CHECK(ok && used == text.size() && n >= 1 && n <= kMaxThreads, source, ": expected a thread count in [1, ",
                kMaxThreads, "], got '", text, "'");
    return n;
}

double cgroup_cpu_limit(const std::string& cgroup_root, const std::string& proc_self_cgroup) {
    double limit = 0;  // none found
    const auto take = [&](double cpus) {
        if (cpus > 0 && (limit == 0 || cpus < limit)) limit = cpus;
    };
    std::istringstream lines(proc_self_cgroup);
    for (std::string line; std::getline(lines, line);) {
        // "hierarchy-id:controllers:path"; cgroup v2 has the single line "0::path".
        const std::size_t c1 = line.find(':'), c2 = line.find(':', c1 + 1);
        if (c1 == std::string::npos || c2 == std::string::npos) continue;
        const std::string controllers = line.substr(c1 + 1, c2 - c1 - 1);
        std::string path = line.substr(c2 + 1);
        if (controllers.empty()) {
            // v2: every cgroup from ours up to the root may carry "quota period" or "max period".
            for (;;) {
                std::istringstream max(read_first_line(cgroup_root + path + "/cpu.max"));
                std::string quota;
                double period = 0;
                if (max >> quota >> period && quota != "max" && period > 0) take(std::atof(quota.c_str()) / period);
                if (path.empty() || path == "/") break;
                path = path.substr(0, path.find_last_of('/'));
            }
            continue;
        }
        // v1: the cpu controller's quota and period, in its own hierarchy.
        std::istringstream names(controllers);
        bool cpu = false;
        for (std::string name; std::getline(names, name, ',');) cpu = cpu || name == "cpu";
        if (!cpu) continue;
        for (const std::string& mount : {cgroup_root + "/cpu,cpuacct", cgroup_root + "/cpu"}) {
            for (const std::string& dir : {mount + path, mount}) {
                const std::string quota = read_first_line(dir + "/cpu.cfs_quota_us");
                const std::string period = read_first_line(dir + "/cpu.cfs_period_us");
                if (!quota.empty() && !period.empty() && std::atof(period.c_str()) > 0 && std::atof(quota.c_str()) > 0)
                    take(std::atof(quota.c_str()) / std::atof(period.c_str()));
            }
        }
    }
    return limit;
}

bool in_parallel() {
    return tl_in_parallel;
}

int threads_for(double work, double grain) {
    if (tl_in_parallel) return 1;
    const int threads = get_num_threads();
    if (threads <= 1 || work < 2 * grain || contention().active()) return 1;
    // Every thread gets at least `grain` of the work.
    return static_cast<int>(std::min<double>(threads, std::floor(work / grain)));
}

void end_contention_backoff() {
    contention().end();
}

void note_stall() {
    contention().note_stall();
}

void run_tasks(int64_t tasks, int threads, TaskRef task) {
    if (tasks <= 0) return;
    if (threads <= 1 || tasks == 1) {
        for (int64_t i = 0; i < tasks; ++i) task.call(task.context, i);
        return;
    }
    pool().run(tasks, threads, task);
}

}  // namespace detail

int default_num_threads() {
    int cpus = static_cast<int>(std::thread::hardware_concurrency());
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) == 0) cpus = CPU_COUNT(&set);
    std::ifstream self("/proc/self/cgroup");
    std::stringstream text;
    text << self.rdbuf();
    const double quota = detail::cgroup_cpu_limit("/sys/fs/cgroup", text.str());
    if (quota > 0) cpus = std::min(cpus, static_cast<int>(std::ceil(quota - 1e-9)));
    return std::clamp(cpus, 1, kMaxThreads);
}

void set_num_threads(int n) {
    detail::check_thread_count(n, "set_num_threads");
    XGRAD_CHECK(!detail::in_parallel(),
                "set_num_threads: cannot change the thread count from inside a parallel region");
    // Wins over XGRAD_NUM_THREADS, even a malformed one.
    std::call_once(detail::g_threads_init, [n] { detail::g_threads.store(n); });
    detail::g_threads.store(n);
    detail::pool().resize(n);
    openblas_set_num_threads(1);
}

int get_num_threads() {
    if (int n = detail::g_threads.load(std::memory_order_relaxed); n > 0) return n;
    std::call_once(detail::g_threads_init, [] { detail::g_threads.store(detail::initial_thread_count()); });
    return detail::g_threads.load();
}

}  // namespace xgrad
