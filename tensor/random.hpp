#pragma once
/// Seedable random numbers: one global generator (manual_seed) plus explicit Generators.
///
/// The bits come from xoshiro256** and the distributions are written out here (not std::
/// distributions, whose output differs between standard libraries), so a seed gives the same
/// numbers on every platform.

#include <array>
#include <cstdint>
#include <mutex>

namespace xgrad {

/// Thread safety: every xgrad function that draws (randn, dropout, the init functions, samplers,
/// DataLoader shuffling) holds the generator's lock() for all of its draws, so several threads
/// may share one generator, the default one included. Code that calls next_*() itself from
/// several threads takes lock() around its draws. A copy continues from the same state, with a
/// lock of its own.
class Generator {
public:
    explicit Generator(uint64_t seed = 0x5eed) { seed_all(seed); }
    Generator(const Generator& other);
    Generator& operator=(const Generator& other);
    void manual_seed(uint64_t seed);
    uint64_t seed() const;

    /// Held while drawing a batch of numbers; recursive, so a function that holds it may call
    /// another that takes it too.
    [[nodiscard]] std::unique_lock<std::recursive_mutex> lock() const { return std::unique_lock(mutex_); }

    /// xoshiro256** (Blackman & Vigna). Inline: samplers and the init functions draw one per
    /// element.
    uint64_t next_u64() {
        const uint64_t result = rotl(s_[1] * 5, 7) * 9;
        const uint64_t t = s_[1] << 17;
        s_[2] ^= s_[0];
        s_[3] ^= s_[1];
        s_[1] ^= s_[2];
        s_[0] ^= s_[3];
        s_[2] ^= t;
        s_[3] = rotl(s_[3], 45);
        return result;
    }
    /// Uniform in [0, 1) with 53 random bits.
    double next_double() { return static_cast<double>(next_u64() >> 11) * 0x1.0p-53; }
    /// Standard normal (Box-Muller; the spare value is kept for the next call).
    double next_normal();
    /// Uniform integer in [0, n), without modulo bias.
    uint64_t next_below(uint64_t n);

    /// Everything that decides the numbers to come (the seed, the xoshiro words, a spare normal
    /// value), for checkpoints: after set_state(s) the generator continues as it did from s.
    using State = std::array<uint64_t, 7>;
    State get_state() const;
    void set_state(const State& state);

private:
    static uint64_t rotl(uint64_t x, int k) { return (x << k) | (x >> (64 - k)); }
    void seed_all(uint64_t seed);
    uint64_t seed_ = 0;
    uint64_t s_[4] = {};
    bool has_spare_ = false;
    double spare_ = 0;
    mutable std::recursive_mutex mutex_;
};

/// The generator used when none is given.
Generator& default_generator();
/// `g`, or the default generator when it is null: what every function taking an optional
/// `Generator*` draws from.
inline Generator& generator_or_default(Generator* g) {
    return g ? *g : default_generator();
}
/// Seeds the default generator: one seed makes a run reproducible.
void manual_seed(uint64_t seed);

}  // namespace xgrad
