#include "tensor/allocator.hpp"

#include <cstdlib>
#include <mutex>
#include <new>
#include <unordered_map>
#include <vector>

namespace xgrad::memory {
namespace {

constexpr std::size_t kAlignment = 64;
constexpr std::size_t kMiB = std::size_t(1) << 20;

// Size classes: powers of two up to 4 MiB (small buffers churn the most and waste little),
// then whole MiB above, so that a 100 MiB tensor does not take 128 MiB.
std::size_t size_class(std::size_t nbytes) {
    if (nbytes <= kAlignment) return kAlignment;
    if (nbytes <= 4 * kMiB) {
        std::size_t c = kAlignment;
        while (c < nbytes) c <<= 1;
        return c;
    }
    return (nbytes + kMiB - 1) / kMiB * kMiB;
}

struct Cache {
    std::mutex mutex;
    std::unordered_map<std::size_t, std::vector<void*>> bins;
    AllocatorStats stats;
    std::size_t limit = std::size_t(4) << 30;

    ~Cache() {
        for (auto& [size, blocks] : bins)
            for (void* p : blocks) std::free(p);
    }
};

Cache& cache() {
    // Leaked on purpose: tensors in static objects may be freed after main returns.
    static Cache* instance = new Cache();
    return *instance;
}

}  // namespace

void* allocate(std::size_t nbytes) {
    const std::size_t bytes = size_class(nbytes);
    Cache& c = cache();
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        auto& bin = c.bins[bytes];
        c.stats.bytes_in_use += bytes;
        if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use)
            c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
        if (!bin.empty()) {
            void* p = bin.back();
            bin.pop_back();
            c.stats.bytes_cached -= bytes;
            ++c.stats.cache_hits;
            return p;
        }
        ++c.stats.os_allocations;
    }
    void* p = std::aligned_alloc(kAlignment, bytes);
    if (!p) {
        std::lock_guard<std::mutex> lock(c.mutex);
        c.stats.bytes_in_use -= bytes;
        throw std::bad_alloc();
    }
    return p;
}

void deallocate(void* ptr, std::size_t nbytes) {
    if (!ptr) return;
    const std::size_t bytes = size_class(nbytes);
    Cache& c = cache();
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        c.stats.bytes_in_use -= bytes;
        if (c.stats.bytes_cached + bytes <= c.limit) {
            c.bins[bytes].push_back(ptr);
            c.stats.bytes_cached += bytes;
            return;
        }
    }
    std::free(ptr);
}

void empty_cache() {
    Cache& c = cache();
    std::vector<void*> release;
    {
        std::lock_guard<std::mutex> lock(c.mutex);
        for (auto& [size, blocks] : c.bins) {
            release.insert(release.end(), blocks.begin(), blocks.end());
            blocks.clear();
        }
        c.stats.bytes_cached = 0;
    }
    for (void* p : release) std::free(p);
}

AllocatorStats stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    return c.stats;
}

void reset_peak_stats() {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
}

void set_cache_limit(std::size_t bytes) {
    Cache& c = cache();
    std::lock_guard<std::mutex> lock(c.mutex);
    c.limit = bytes;
}

}  // namespace xgrad::memory
