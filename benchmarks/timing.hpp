#pragma once
// Timing for benchmarks: the median of several repetitions, each long enough to time reliably.
#include <algorithm>
#include <chrono>
#include <vector>

namespace bench {

/// Median seconds per call of f over `reps` repetitions of `inner` calls, after a warm-up.
template <class F>
double median_seconds(F&& f, int inner, int reps = 9) {
    for (int i = 0; i < inner; ++i) f();  // warm-up: caches, allocator, page faults
    std::vector<double> times;
    for (int r = 0; r < reps; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int i = 0; i < inner; ++i) f();
        const auto stop = std::chrono::steady_clock::now();
        times.push_back(std::chrono::duration<double>(stop - start).count() / inner);
    }
    std::sort(times.begin(), times.end());
    return times[times.size() / 2];
}

}  // namespace bench
