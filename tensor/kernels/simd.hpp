#pragma once
/// SIMD building blocks for kernels (internal to tensor/): xsimd behind one header.
///
/// An op is a functor whose call operator is a template, so the same code runs on a scalar T and
/// on xsimd::batch<T>. Operands are read through a "lane source": a contiguous pointer or one
/// broadcast value.

#include <xsimd/xsimd.hpp>

#include <cstdint>
#include <type_traits>

namespace xgrad::kernels::detail {

template <class T>
inline constexpr bool kVectorizable = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class V>
inline constexpr bool kIsBatch = !std::is_arithmetic_v<V>;

template <class T>
struct Contiguous {
    const T* p;
    xsimd::batch<T> batch(int64_t i) const { return xsimd::batch<T>::load_unaligned(p + i); }
    T scalar(int64_t i) const { return p[i]; }
};

template <class T>
struct Broadcast {
    T v;
    xsimd::batch<T> b = xsimd::broadcast<T>(v);  // not b{v}: brace-init fills lane 0 only
    xsimd::batch<T> batch(int64_t) const { return b; }
    T scalar(int64_t) const { return v; }
};

/// out[i] = op(src[i]...) for i < n, vectorized with a scalar tail.
template <class T, class Op, class... Sources>
__attribute__((always_inline)) inline void simd_map(T* out, int64_t n, const Op& op, const Sources&... src) {
    using B = xsimd::batch<T>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    for (; i + 2 * W <= n; i += 2 * W) {
        B r0 = op(src.batch(i)...);
        B r1 = op(src.batch(i + W)...);
        r0.store_unaligned(out + i);
        r1.store_unaligned(out + i + W);
    }
    for (; i + W <= n; i += W) op(src.batch(i)...).store_unaligned(out + i);
    for (; i < n; ++i) out[i] = op(src.scalar(i)...);
}

}  // namespace xgrad::kernels::detail
