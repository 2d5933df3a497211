#pragma once
/// Picks the C++ element type of a floating dtype at run time, for hand-written loops in every
/// layer (tensor kernels, nn's fused cells, optimizers): f(float{}) or f(double{}).

#include <xgrad/tensor/dtype.hpp>
#include <xgrad/tensor/error.hpp>

namespace xgrad {

/// f(T{}) for the dtype's T; any other dtype fails with op's name.
template <class F>
decltype(auto) dispatch_floating(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case DType::float32:
            return f(float{});
        case DType::float64:
            return f(double{});
        default:
            fail(op, ": expected a floating-point tensor, got ", dtype);
    }
}

}  // namespace xgrad
