#pragma once
/// Picks the C++ element type for a run-time dtype (internal to tensor/): f(T{}) for the dtype's T.

#include <cstdint>

#include <xgrad/tensor/dispatch_floating.hpp>
#include <xgrad/tensor/dtype.hpp>
#include <xgrad/tensor/error.hpp>

namespace xgrad::kernels::detail {

template <class F>
decltype(auto) dispatch_all(DType dtype, F&& f) {
    switch (dtype) {
        case DType::float32:
            return f(float{});
        case DType::float64:
            return f(double{});
        case DType::int64:
            return f(int64_t{});
        case DType::boolean:
            return f(bool{});
    }
    XGRAD_INTERNAL_ASSERT(false, "unknown dtype");
}

/// float32, float64 or int64; bool inputs are rejected with op's name.
template <class F>
decltype(auto) dispatch_numeric(DType dtype, const char* op, F&& f) {
    switch (dtype) {
        case DType::float32:
            return f(float{});
        case DType::float64:
            return f(double{});
        case DType::int64:
            return f(int64_t{});
        default:
            fail(op, ": not supported for dtype ", dtype);
    }
}

/// float32 or float64, as everywhere else.
using xgrad::dispatch_floating;

}  // namespace xgrad::kernels::detail
