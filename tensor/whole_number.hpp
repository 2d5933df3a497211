#pragma once
/// Counts read back from saved state (a step, an epoch, a patience) arrive as doubles; casting
/// NaN, a fraction or 1e300 to int64 is wrong or undefined, so they are checked first.

#include <cmath>
#include <cstdint>
#include <string>

#include <xgrad/tensor/error.hpp>

namespace xgrad {

/// value as an int64 when it is a whole number in [lowest, 2^53); otherwise an Error that starts
/// with what (e.g. "load_state_dict: \"state.0.0.step\"").
inline int64_t whole_number(double value, double lowest, const std::string& what) {
    XGRAD_CHECK(value >= lowest && value <= 9.0e15 && value == std::floor(value), what,
                " must be a whole number of at least ", lowest, ", got ", value);
    return static_cast<int64_t>(value);
}

}  // namespace xgrad
