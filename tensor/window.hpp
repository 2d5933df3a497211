#pragma once
/// The geometry of a sliding window (convolution, pooling), shared by kernels and ops.

#include <cstdint>

namespace xgrad {

/// A 2-D window: kernel size, stride, zero padding on each side, dilation (PyTorch's meanings).
/// Output size per dimension: (size + 2 padding - dilation (kernel - 1) - 1) / stride + 1.
struct Window2d {
    int64_t kernel_h = 1, kernel_w = 1;
    int64_t stride_h = 1, stride_w = 1;
    int64_t padding_h = 0, padding_w = 0;
    int64_t dilation_h = 1, dilation_w = 1;
};

}  // namespace xgrad
