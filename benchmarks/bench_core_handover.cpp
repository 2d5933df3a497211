// How far apart the two cores a 2-thread run gets are: the one-way latency of handing a cache line
// from one to the other (a ping-pong on one atomic word), and how fast one core reads 512 KiB that
// the other has just written, against reading what it wrote itself.
//
// Why it exists: on a virtual machine the hypervisor places the two vCPUs on physical cores that
// may share a last-level cache (a hand-over of ~60-70 ns on AMD Zen 5) or sit on different dies
// (~200-300 ns), and it moves them while a program runs. Every product and element-wise op split
// between two threads hands data from one core to the other, so the 2-thread speed-up of the
// training step follows this placement (docs/benchmarks.md). run_threads.sh probes it around each
// timed run so that its table can tell placement from code.
//
// Prints name<TAB>cpus<TAB>value<TAB>unit lines, as the other benchmarks.
//   bench_core_handover [--rounds 200000]

#include <pthread.h>
#include <sched.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <thread>
#include <vector>

namespace {

using Clock = std::chrono::steady_clock;

// The first two CPUs of the process's affinity mask; false if it has fewer than two.
bool two_cpus(int& first, int& second) {
    cpu_set_t set;
    CPU_ZERO(&set);
    if (sched_getaffinity(0, sizeof set, &set) != 0) return false;
    first = second = -1;
    for (int cpu = 0; cpu < CPU_SETSIZE && second < 0; ++cpu) {
        if (!CPU_ISSET(cpu, &set)) continue;
        (first < 0 ? first : second) = cpu;
    }
    return second >= 0;
}

// False if the OS refused (the CPU is outside our mask).
bool pin_to(int cpu) {
    cpu_set_t set;
    CPU_ZERO(&set);
    CPU_SET(cpu, &set);
    return pthread_setaffinity_np(pthread_self(), sizeof set, &set) == 0;
}

// One word alone on its cache line, so that nothing else moves with it.
struct alignas(64) Turn {
    std::atomic<int64_t> value{0};
    char padding[64 - sizeof(std::atomic<int64_t>)];
};

// The caller (on `mine`) and a thread on `other` take turns incrementing one word; each turn is
// one hand-over of its cache line. The clock starts once the partner is pinned and waiting.
// Returns nanoseconds per hand-over, or a negative number if a thread could not be pinned.
double handover_ns(int mine, int other, int64_t rounds) {
    Turn turn;
    std::atomic<int> partner_pinned{0};  // 1: yes, -1: the OS refused
    std::atomic<int> go{0};              // 1: start, -1: give up
    std::thread partner([&] {
        partner_pinned.store(pin_to(other) ? 1 : -1, std::memory_order_release);
        int start;
        while ((start = go.load(std::memory_order_acquire)) == 0) {
        }
        if (start < 0) return;
        for (int64_t i = 0; i < rounds; ++i) {
            while (turn.value.load(std::memory_order_acquire) != 2 * i + 1) {
            }
            turn.value.store(2 * i + 2, std::memory_order_release);
        }
    });
    const bool pinned = pin_to(mine);
    while (partner_pinned.load(std::memory_order_acquire) == 0) {
    }
    if (!pinned || partner_pinned.load() < 0) {
        go.store(-1, std::memory_order_release);
        partner.join();
        return -1;
    }
    go.store(1, std::memory_order_release);
    const Clock::time_point start = Clock::now();
    for (int64_t i = 0; i < rounds; ++i) {
        turn.value.store(2 * i + 1, std::memory_order_release);
        while (turn.value.load(std::memory_order_acquire) != 2 * i + 2) {
        }
    }
    const double seconds = std::chrono::duration<double>(Clock::now() - start).count();
    partner.join();
    return seconds * 1e9 / (2.0 * static_cast<double>(rounds));
}

// Sums `data` with independent lanes (the compiler vectorizes it): a read at the cache's rate.
float sum_of(const std::vector<float>& data) {
    float lanes[16] = {};
    for (std::size_t i = 0; i + 16 <= data.size(); i += 16)
        for (int l = 0; l < 16; ++l) lanes[l] += data[i + l];
    float total = 0;
    for (float lane : lanes) total += lane;
    return total;
}

// GB/s of the caller reading `data` after `writer_cpu` wrote it (best of `repeats`).
double read_rate_gbs(std::vector<float>& data, int writer_cpu, int repeats, float& sink) {
    double best = 1e30;
    for (int r = 0; r < repeats; ++r) {
        std::thread writer([&] {
            pin_to(writer_cpu);
            for (std::size_t i = 0; i < data.size(); ++i) data[i] = static_cast<float>(r + static_cast<int>(i & 1023));
        });
        writer.join();
        const Clock::time_point start = Clock::now();
        sink += sum_of(data);
        best = std::min(best, std::chrono::duration<double>(Clock::now() - start).count());
    }
    return static_cast<double>(data.size() * sizeof(float)) / best / 1e9;
}

}  // namespace

int main(int argc, char** argv) {
    long long rounds = 200000;
    for (int i = 1; i + 1 < argc; ++i)
        if (!std::strcmp(argv[i], "--rounds")) rounds = std::atoll(argv[++i]);
    if (rounds < 1 || rounds > (1LL << 40)) {
        std::fprintf(stderr, "bench_core_handover: --rounds must be in [1, 2^40]\n");
        return 2;
    }
    int first = 0, second = 0;
    if (!two_cpus(first, second)) {
        std::fprintf(stderr, "bench_core_handover: this process may use only one CPU; nothing to measure\n");
        return 0;
    }
    const double ns = handover_ns(first, second, rounds);
    if (ns < 0) {
        std::fprintf(stderr, "bench_core_handover: could not pin threads to CPUs %d and %d\n", first, second);
        return 1;
    }
    std::printf("core_handover_ns\t2\t%.0f\tns\n", ns);
    std::vector<float> data(512 * 1024 / sizeof(float));
    float sink = 0;
    pin_to(first);
    const double from_other = read_rate_gbs(data, second, 20, sink);
    const double from_self = read_rate_gbs(data, first, 20, sink);
    std::printf("read_512k_written_by_other_core_gbs\t2\t%.1f\tGB/s\n", from_other);
    std::printf("read_512k_written_by_this_core_gbs\t2\t%.1f\tGB/s\n", from_self);
    if (sink == 0.125f) std::printf("\n");  // keeps the sums from being optimized away
    return 0;
}
