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
/// (Appended piece by piece: GCC 12 warns, wrongly, of an overlapping memcpy in `"(" + std::string`
/// once inlined, GCC bug 105329.)
inline std::string to_string(Size2 s) {
    std::string text = "(";
    text += std::to_string(s.h);
    text += ", ";
    text += std::to_string(s.w);
    text += ")";
    return text;
}

}  // namespace xgrad::nn
