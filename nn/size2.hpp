#pragma once
/// Sizes and steps per spatial dimension for convolution and pooling options.

#include <cstdint>
#include <string>

namespace xgrad::nn {

/// A size or step per spatial dimension; one number means the same for both (.kernel_size = 3).
struct Size2 {
    int64_t h = 1, w = 1;
    Size2() = default;
    Size2(int64_t both) : h(both), w(both) {}  // NOLINT: implicit on purpose, as in PyTorch
    Size2(int64_t h, int64_t w) : h(h), w(w) {}
};

/// "(h, w)" for printing options.
inline std::string to_string(Size2 s) {
    return "(" + std::to_string(s.h) + ", " + std::to_string(s.w) + ")";
}

}  // namespace xgrad::nn
