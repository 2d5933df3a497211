#pragma once
// Random draws addressed by a counter: element i of a mask is decided by SplitMix64's i-th output
// from a key (Steele, Lea & Flood 2014), computed without the draws before it. So a mask is
// filled in parallel pieces and SIMD lanes with the same bits at any thread count, and a
// backward pass can recompute the forward's mask from its key instead of keeping it.
// The sequence passes BigCrush; it is also what seeds xoshiro256** in Generator.

#include <cmath>
#include <cstdint>

namespace xgrad::kernels::detail {

inline constexpr uint64_t kSplitMixGamma = 0x9e3779b97f4a7c15;

/// SplitMix64's output i (from 0) for seed `key`: the mix of key + (i + 1) * gamma.
inline uint64_t splitmix64_at(uint64_t key, uint64_t i) {
    uint64_t z = key + (i + 1) * kSplitMixGamma;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
    z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
    return z ^ (z >> 31);
}

/// Bernoulli draws from `key`: element i is kept when u < p, for u = k * 2^-32 with k the low
/// (i even) or high (i odd) 32 bits of SplitMix64's output i / 2, so one 64-bit mix serves two
/// elements. Decided on k itself: k * 2^-32 < p exactly when k < ceil(p * 2^32) (both sides
/// exact), so p = 1 keeps every element and p = 0 none; otherwise p counts to within 2^-32.
struct BernoulliDraws {
    BernoulliDraws(uint64_t key, double p) : key(key), bound(static_cast<uint64_t>(std::ceil(p * 0x1.0p32))) {}
    /// f(i, kept) for every i in [begin, end). Pairs share a mix, so a range should start on an
    /// even index (parallel pieces start on multiples of 64); an odd start takes its first
    /// element from the pair's high half alone.
    template <class F>
    void for_range(int64_t begin, int64_t end, F f) const {
        int64_t i = begin;
        if (i % 2 != 0 && i < end) {
            f(i, (splitmix64_at(key, static_cast<uint64_t>(i / 2)) >> 32) < bound);
            ++i;
        }
        for (; i + 2 <= end; i += 2) {
            const uint64_t bits = splitmix64_at(key, static_cast<uint64_t>(i / 2));
            f(i, (bits & 0xffffffff) < bound);
            f(i + 1, (bits >> 32) < bound);
        }
        if (i < end) f(i, (splitmix64_at(key, static_cast<uint64_t>(i / 2)) & 0xffffffff) < bound);
    }
    uint64_t key;
    uint64_t bound;
};

}  // namespace xgrad::kernels::detail
