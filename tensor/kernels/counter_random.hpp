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

/// "u < p" for the draw u = k * 2^-53 made of an output's top 53 bits, decided on k:
/// k * 2^-53 < p exactly when k < ceil(p * 2^53) (both sides exact), which saves a conversion
/// per element.
struct BernoulliDraw {
    explicit BernoulliDraw(uint64_t key, double p) : key(key), bound(static_cast<uint64_t>(std::ceil(p * 0x1.0p53))) {}
    bool operator()(int64_t i) const { return (splitmix64_at(key, static_cast<uint64_t>(i)) >> 11) < bound; }
    uint64_t key;
    uint64_t bound;
};

}  // namespace xgrad::kernels::detail
