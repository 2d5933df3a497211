#pragma once
/// SIMD building blocks for kernels (internal to tensor/): xsimd behind one header.
///
/// An op is a functor whose call operator is a template, so the same code runs on a scalar T and
/// on xsimd::batch<T>. Operands are read through a "lane source": a contiguous pointer or one
/// broadcast value.

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>
#include <type_traits>

namespace xgrad::kernels::detail {

template <class T>
inline constexpr bool kVectorizable = std::is_same_v<T, float> || std::is_same_v<T, double>;

template <class V>
inline constexpr bool kIsBatch = !std::is_arithmetic_v<V>;

/// max and min that propagate NaN, as PyTorch does (for maximum/minimum and amax/amin alike).
struct NanMax {
    template <class V>
    V operator()(V a, V b) const {
        if constexpr (kIsBatch<V>)
            return xsimd::select(xsimd::isnan(a) || a > b, a, b);
        else if constexpr (std::is_floating_point_v<V>)
            return (std::isnan(a) || a > b) ? a : b;
        else
            return a > b ? a : b;
    }
};
struct NanMin {
    template <class V>
    V operator()(V a, V b) const {
        if constexpr (kIsBatch<V>)
            return xsimd::select(xsimd::isnan(a) || a < b, a, b);
        else if constexpr (std::is_floating_point_v<V>)
            return (std::isnan(a) || a < b) ? a : b;
        else
            return a < b ? a : b;
    }
};

/// relu(x) = x > 0 ? x : 0. NaN stays NaN, as in PyTorch: the zero branch is taken only for
/// x <= 0, which is false for NaN. Shared by the element-wise kernel and the matrix product's
/// epilogue, so a fused Linear + ReLU has the bits of the two ops.
struct ReluOp {
    template <class V>
    V operator()(V x) const {
        if constexpr (kIsBatch<V>)
            return xsimd::select(x <= V(0), V(0), x);
        else
            return x <= V(0) ? V(0) : x;
    }
};

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

/// Runs whose output is at least this many bytes are written with non-temporal stores: such a
/// result cannot stay in cache anyway, and skipping the read-for-ownership of every output line
/// raised a 16M-element add from ~36 to ~51 GB/s on one core here.
inline constexpr int64_t kStreamingBytes = int64_t(4) << 20;

/// Stores a batch to 64-byte-aligned memory, bypassing the cache.
template <class T>
__attribute__((always_inline)) inline void stream_store(T* p, const xsimd::batch<T>& v) {
#if defined(__AVX512F__)
    if constexpr (std::is_same_v<T, float>)
        _mm512_stream_ps(p, v);
    else
        _mm512_stream_pd(p, v);
#elif defined(__AVX__)
    if constexpr (std::is_same_v<T, float>)
        _mm256_stream_ps(p, v);
    else
        _mm256_stream_pd(p, v);
#elif defined(__SSE2__)
    if constexpr (std::is_same_v<T, float>)
        _mm_stream_ps(p, v);
    else
        _mm_stream_pd(p, v);
#else
    v.store_aligned(p);
#endif
}

/// out[i] = op(src[i]...) for i < n, vectorized with a scalar tail.
template <class T, class Op, class... Sources>
__attribute__((always_inline)) inline void simd_map(T* out, int64_t n, const Op& op, const Sources&... src) {
    using B = xsimd::batch<T>;
    constexpr int64_t W = B::size;
    int64_t i = 0;
    if (n * static_cast<int64_t>(sizeof(T)) >= kStreamingBytes) {
        // Scalar head up to a 64-byte boundary of the output, then aligned streaming stores.
        for (; i < n && reinterpret_cast<std::uintptr_t>(out + i) % 64 != 0; ++i) out[i] = op(src.scalar(i)...);
        for (; i + W <= n; i += W) stream_store(out + i, op(src.batch(i)...));
#if defined(__SSE2__)
        _mm_sfence();  // order the streaming stores before anything that reads the result
#endif
        for (; i < n; ++i) out[i] = op(src.scalar(i)...);
        return;
    }
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
