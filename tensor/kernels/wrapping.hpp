#pragma once
/// Integer arithmetic that wraps on overflow, as PyTorch's int64 ops do (abs(INT64_MIN) is
/// INT64_MIN, a sum past INT64_MAX comes round from INT64_MIN). Signed overflow is undefined
/// behaviour in C++, so signed values are computed in unsigned arithmetic; floating-point values
/// and SIMD batches (which wrap in hardware) pass through as plain operators.

#include <type_traits>

namespace xgrad::kernels::detail {

template <class V>
constexpr bool kWraps = std::is_integral_v<V>&& std::is_signed_v<V>;

template <class V>
V wrapping_add(V a, V b) {
    if constexpr (kWraps<V>)
        return static_cast<V>(static_cast<std::make_unsigned_t<V>>(a) + static_cast<std::make_unsigned_t<V>>(b));
    else
        return a + b;
}
template <class V>
V wrapping_sub(V a, V b) {
    if constexpr (kWraps<V>)
        return static_cast<V>(static_cast<std::make_unsigned_t<V>>(a) - static_cast<std::make_unsigned_t<V>>(b));
    else
        return a - b;
}
template <class V>
V wrapping_mul(V a, V b) {
    if constexpr (kWraps<V>) {
        using U = std::make_unsigned_t<V>;
        return static_cast<V>(static_cast<U>(static_cast<U>(a) * static_cast<U>(b)));
    } else {
        return a * b;
    }
}
template <class V>
V wrapping_neg(V x) {
    if constexpr (kWraps<V>)
        return static_cast<V>(std::make_unsigned_t<V>(0) - static_cast<std::make_unsigned_t<V>>(x));
    else
        return -x;
}

}  // namespace xgrad::kernels::detail
