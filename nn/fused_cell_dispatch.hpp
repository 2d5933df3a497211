#pragma once
/// Internal to the fused recurrent cells (fused_lstm_cell.cpp, fused_gru_cell.cpp): picks the
/// element type of a float32 or float64 array for their hand-written loops.

#include <xgrad/tensor/dtype.hpp>

namespace xgrad::nn::functional::detail {

/// f(T{}) for T float or double; the callers have checked that dtype is one of the two.
template <class F>
void with_element_type(DType dtype, F&& f) {
    if (dtype == kFloat32)
        f(float{});
    else
        f(double{});
}

}  // namespace xgrad::nn::functional::detail
