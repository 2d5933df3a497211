#pragma once
/// The option checks every convolution module's constructor makes (Conv1d, Conv2d and the
/// transposed ConvTranspose1d, ConvTranspose2d), in one wording: positive channels and kernel,
/// and groups that divide both channel counts.

#include <cstdint>
#include <string>

#include <xgrad/tensor/error.hpp>

namespace xgrad::nn::detail {

/// `kernel` is the kernel size as the error shows it ("3" or "[3, 5]").
inline void check_conv_module(const char* module, int64_t in_channels, int64_t out_channels, int64_t groups,
                              bool kernel_positive, const std::string& kernel) {
    XGRAD_CHECK(in_channels > 0 && out_channels > 0 && kernel_positive, module,
                ": channels and kernel size must be positive, got in_channels ", in_channels, ", out_channels ",
                out_channels, ", kernel_size ", kernel);
    XGRAD_CHECK(groups > 0 && in_channels % groups == 0 && out_channels % groups == 0, module, ": groups ", groups,
                " must be positive and divide in_channels ", in_channels, " and out_channels ", out_channels);
}

}  // namespace xgrad::nn::detail
