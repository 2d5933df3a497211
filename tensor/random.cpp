#include <xgrad/tensor/random.hpp>

#include <cmath>
#include <cstring>

#include <xgrad/tensor/error.hpp>
#include <xgrad/tensor/kernels/counter_random.hpp>

namespace xgrad {

Generator::Generator(const Generator& other) {
    set_state(other.get_state());
}

Generator& Generator::operator=(const Generator& other) {
    if (this != &other) set_state(other.get_state());
    return *this;
}

void Generator::manual_seed(uint64_t seed) {
    auto hold = lock();
    seed_all(seed);
}

uint64_t Generator::seed() const {
    auto hold = lock();
    return seed_;
}

void Generator::seed_all(uint64_t seed) {
    seed_ = seed;
    // xoshiro's words: SplitMix64's first four outputs from the seed, as its authors advise.
    for (uint64_t i = 0; i < 4; ++i) s_[i] = kernels::detail::splitmix64_at(seed, i);
    has_spare_ = false;
}

double Generator::next_normal() {
    if (has_spare_) {
        has_spare_ = false;
        return spare_;
    }
    // 1 - u lies in (0, 1], so the log is finite.
    const double u1 = 1.0 - next_double();
    const double u2 = next_double();
    const double radius = std::sqrt(-2.0 * std::log(u1));
    const double angle = 2.0 * M_PI * u2;
    spare_ = radius * std::sin(angle);
    has_spare_ = true;
    return radius * std::cos(angle);
}

uint64_t Generator::next_below(uint64_t n) {
    // Rejection keeps every value equally likely.
    const uint64_t limit = UINT64_MAX - UINT64_MAX % n;
    uint64_t x;
    do x = next_u64();
    while (x >= limit);
    return x % n;
}

Generator::State Generator::get_state() const {
    auto hold = lock();
    uint64_t spare_bits = 0;
    std::memcpy(&spare_bits, &spare_, sizeof spare_bits);
    return {seed_, s_[0], s_[1], s_[2], s_[3], has_spare_ ? 1u : 0u, spare_bits};
}

void Generator::set_state(const State& state) {
    // xoshiro's all-zero state is a fixed point: it can only come from a corrupt checkpoint.
    XGRAD_CHECK(state[1] | state[2] | state[3] | state[4], "Generator::set_state: the state words are all zero");
    XGRAD_CHECK(state[5] <= 1, "Generator::set_state: invalid spare flag ", state[5]);
    auto hold = lock();
    seed_ = state[0];
    for (int i = 0; i < 4; ++i) s_[i] = state[static_cast<std::size_t>(i + 1)];
    has_spare_ = state[5] == 1;
    std::memcpy(&spare_, &state[6], sizeof spare_);
}

Generator& default_generator() {
    static Generator generator;
    return generator;
}

void manual_seed(uint64_t seed) {
    default_generator().manual_seed(seed);
}

}  // namespace xgrad
