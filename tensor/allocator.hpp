#pragma once
/// The caching allocator behind every tensor buffer.
///
/// A first-touched 4 KiB page costs ~12 us on our machines, so a framework that asks the OS for a
/// fresh buffer per op pays ~210 ms for every 64 MiB result. Freed buffers are kept in size-class
/// bins and handed out again; all buffers are 64-byte aligned (one AVX-512 register, one cache line).

#include <cstddef>

namespace xgrad::memory {

struct AllocatorStats {
    std::size_t bytes_in_use = 0;           ///< held by live buffers (rounded to size classes)
    std::size_t bytes_cached = 0;           ///< freed, kept for reuse
    std::size_t peak_bytes_in_use = 0;      ///< since start or the last reset_peak_stats()
    std::size_t os_allocations = 0;         ///< buffers obtained from the system
    std::size_t cache_hits = 0;             ///< requests served from the cache
    std::size_t bytes_allocated_total = 0;  ///< every request since start (rounded): the allocation traffic
};

/// A 64-byte-aligned buffer of at least nbytes; never null (a zero-byte request gets a minimal block).
void* allocate(std::size_t nbytes);
/// Returns a buffer obtained from allocate(nbytes) with the same nbytes.
void deallocate(void* ptr, std::size_t nbytes);

/// Gives every cached buffer back to the system.
void empty_cache();
AllocatorStats stats();
void reset_peak_stats();
/// Cached bytes above this limit are returned to the system instead (default 4 GiB).
void set_cache_limit(std::size_t bytes);

/// The same cache for standard containers (std::vector<int32_t, CachingAllocator<int32_t>>), for
/// per-step buffers that are not tensors.
template <class T>
struct CachingAllocator {
    using value_type = T;
    CachingAllocator() = default;
    template <class U>
    CachingAllocator(const CachingAllocator<U>&) {}  // NOLINT(google-explicit-constructor): rebinding
    T* allocate(std::size_t n) { return static_cast<T*>(memory::allocate(n * sizeof(T))); }
    void deallocate(T* p, std::size_t n) { memory::deallocate(p, n * sizeof(T)); }
    template <class U>
    bool operator==(const CachingAllocator<U>&) const {
        return true;
    }
};

}  // namespace xgrad::memory
