#include <xgrad/tensor/allocator.hpp>

#include <array>
#include <bit>
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

constexpr int kSmallClasses = 17;  // 64 B, 128 B, ..., 4 MiB

struct Cache {
    std::mutex mutex;
    // Power-of-two classes in an array (a hash lookup per op costs more than a small op);
    // the whole-MiB classes above in a map.
    std::array<std::vector<void*>, kSmallClasses> small_bins;
    std::unordered_map<std::size_t, std::vector<void*>> large_bins;

    std::vector<void*>& bin(std::size_t bytes) {
        if (bytes <= 4 * kMiB) return small_bins[static_cast<std::size_t>(std::countr_zero(bytes) - 6)];
        return large_bins[bytes];
    }
    AllocatorStats stats;
    std::size_t limit = std::size_t(4) << 30;

    template <class F>
    void for_each_bin(F&& f) {
        for (auto& blocks : small_bins) f(blocks);
        for (auto& [size, blocks] : large_bins) f(blocks);
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
        auto& bin = c.bin(bytes);
        c.stats.bytes_in_use += bytes;
        c.stats.bytes_allocated_total += bytes;
        if (c.stats.bytes_in_use > c.stats.peak_bytes_in_use) c.stats.peak_bytes_in_use = c.stats.bytes_in_use;
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
            c.bin(bytes).push_back(ptr);
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
        c.for_each_bin([&](std::vector<void*>& blocks) {
            release.insert(release.end(), blocks.begin(), blocks.end());
            blocks.clear();
        });
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
