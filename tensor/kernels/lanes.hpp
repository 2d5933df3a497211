#pragma once
/// Lane-wise kernels (internal to tensor/): sorting and scans work along one dim, one lane at a
/// time. The dim is moved last and the array made contiguous, so each lane is a plain run of n
/// elements; the result is moved back.

#include <cstdint>

#include <xgrad/tensor/ndarray.hpp>

namespace xgrad::kernels::detail {

/// x with dim d moved last, as a private contiguous copy that a kernel may overwrite (a 0-d x
/// becomes one lane of one element).
inline NDArray lanes_last(const NDArray& x, int64_t d) {
    if (x.dim() == 0) return x.reshape({1}).clone();
    return x.transpose(d, x.dim() - 1).clone();
}

/// The inverse of lanes_last for a result with the same lane layout, made contiguous.
inline NDArray lanes_back(const NDArray& lanes, const NDArray& like, int64_t d) {
    if (like.dim() == 0) return lanes.reshape({});
    return lanes.transpose(d, like.dim() - 1).contiguous();
}

/// Number of elements along the lanes' last dim (1 for an empty shape).
inline int64_t lane_length(const NDArray& lanes) {
    return lanes.size(lanes.dim() - 1);
}

}  // namespace xgrad::kernels::detail
