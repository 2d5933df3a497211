#pragma once
/// SIMD building blocks for kernels (internal to tensor/): xsimd behind one header.
///
/// An op is a functor whose call operator is a template, so the same code runs on a scalar T and
/// on Batch<T>. Operands are read through a "lane source": a contiguous pointer or one
/// broadcast value.

#include <immintrin.h>
#include <xsimd/xsimd.hpp>

#include <cmath>
#include <cstdint>
#include <type_traits>

// The kernels' batches: xsimd's best architecture for this machine, and on AVX-512 one of
// xgrad's own derived from it. The library is compiled with -ffp-contract=off (CMakeLists.txt):
// a * b + c is rounded twice whatever the optimization level, so a result has the same bits in
// the Release, Debug and sanitizer builds, and an operation is fused only where the code says so
// (xsimd::fma, fms, fnma, fnms). xsimd 8 has no AVX-512 kernels for those four: it computes
// x * y + z, which only GCC's contraction used to fuse, and its exp, log, tanh and the rest
// evaluate their polynomials with them. The derived architecture (xsimd's registers, all its
// other kernels inherited) gets the four instructions: exp, sigmoid and tanh over 1M floats run
// 25-30% faster than with contraction (which fused only some), 30% slower with neither. xsimd's
// own architecture is left alone: specializing its functions would change them for every other
// user of xsimd in the program.
namespace xgrad::kernels::detail {
#if defined(__AVX512F__)
struct Avx512WithFma : xsimd::default_arch {
    static constexpr char const* name() noexcept { return "avx512+fma"; }
};
using Arch = Avx512WithFma;
#else
using Arch = xsimd::default_arch;  // with FMA3, xsimd's fma is the instruction already
#endif
template <class T>
using Batch = xsimd::batch<T, Arch>;

/// e^x over the whole range. xsimd's exp gives 0 from about -87.68 down in float (e^x is still a
/// subnormal down to -103.97: 3.8e-44 at -100) and from -708.39 in double (subnormal to -745.13),
/// and inf from 88.38 in float (finite to 88.72). Lanes in those bands are recomputed with
/// std::exp, so a value's result does not depend on whether it sits in a vector or in a loop's
/// scalar tail; lanes beyond them (-inf, a -1e9 mask, overflow) are already right and stay in the
/// vector, so masked softmax rows cost nothing extra. With the band test (abs, two compares) an
/// in-cache float32 exp of 1M elements took what xsimd's alone took (Zen 5: 214-225 µs both,
/// also with a third of the lanes at -1e9).
template <class T>
struct ExpBand {  // |x| in (low, high): xsimd's exp may differ from std::exp there
    static constexpr T low = std::is_same_v<T, float> ? T(87.5) : T(708.0);
    static constexpr T high = std::is_same_v<T, float> ? T(104.0) : T(746.0);
};

// The lanes of x in the band recomputed with std::exp; out of line, as it is rarely taken.
template <class T>
[[gnu::noinline, gnu::cold]] Batch<T> exp_in_band(Batch<T> x, Batch<T> result) {
    alignas(64) T in[Batch<T>::size], out[Batch<T>::size];
    x.store_aligned(in);
    result.store_aligned(out);
    for (std::size_t i = 0; i < Batch<T>::size; ++i)
        if (std::abs(in[i]) > ExpBand<T>::low && std::abs(in[i]) < ExpBand<T>::high) out[i] = std::exp(in[i]);
    return Batch<T>::load_aligned(out);
}

template <class T>
inline Batch<T> full_range_exp(Batch<T> x) {
    const Batch<T> result = xsimd::exp(x), magnitude = xsimd::abs(x);
    if (xsimd::any((magnitude > Batch<T>(ExpBand<T>::low)) & (magnitude < Batch<T>(ExpBand<T>::high)))) [[unlikely]]
        return exp_in_band(x, result);
    return result;
}

/// a * b + c on scalars as xsimd::fma computes it on Batch<T>: rounded once where the machine has
/// a fused multiply-add, else twice. A scalar edge of a vector loop then has the vector's bits.
template <class T>
inline T multiply_add(T a, T b, T c) {
#if defined(__FMA__) || defined(__AVX512F__)
    return std::fma(a, b, c);
#else
    return a * b + c;
#endif
}
}  // namespace xgrad::kernels::detail

#if defined(__AVX512F__)
namespace xsimd {
namespace types {
XSIMD_DECLARE_SIMD_REGISTER_ALIAS(xgrad::kernels::detail::Avx512WithFma, default_arch);
template <class T>
struct get_bool_simd_register<T, xgrad::kernels::detail::Avx512WithFma> : get_bool_simd_register<T, default_arch> {};
}  // namespace types
// fma: x * y + z, fms: x * y - z, fnma: -(x * y) + z, fnms: -(x * y) - z, each rounded once.
#define XGRAD_AVX512_FUSED(op, instruction)                                       \
    template <>                                                                   \
    inline batch<float, xgrad::kernels::detail::Avx512WithFma> op(                \
        batch<float, xgrad::kernels::detail::Avx512WithFma> const& x,             \
        batch<float, xgrad::kernels::detail::Avx512WithFma> const& y,             \
        batch<float, xgrad::kernels::detail::Avx512WithFma> const& z) noexcept {  \
        return _mm512_##instruction##_ps(x, y, z);                                \
    }                                                                             \
    template <>                                                                   \
    inline batch<double, xgrad::kernels::detail::Avx512WithFma> op(               \
        batch<double, xgrad::kernels::detail::Avx512WithFma> const& x,            \
        batch<double, xgrad::kernels::detail::Avx512WithFma> const& y,            \
        batch<double, xgrad::kernels::detail::Avx512WithFma> const& z) noexcept { \
        return _mm512_##instruction##_pd(x, y, z);                                \
    }
XGRAD_AVX512_FUSED(fma, fmadd)
XGRAD_AVX512_FUSED(fms, fmsub)
XGRAD_AVX512_FUSED(fnma, fnmadd)
XGRAD_AVX512_FUSED(fnms, fnmsub)
#undef XGRAD_AVX512_FUSED
}  // namespace xsimd
#endif

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
    Batch<T> batch(int64_t i) const { return Batch<T>::load_unaligned(p + i); }
    T scalar(int64_t i) const { return p[i]; }
};

template <class T>
struct Broadcast {
    T v;
    Batch<T> b = Batch<T>(v);  // not b{v}: brace-init fills lane 0 only
    Batch<T> batch(int64_t) const { return b; }
    T scalar(int64_t) const { return v; }
};

/// Runs whose output is at least this many bytes are written with non-temporal stores: such a
/// result cannot stay in cache anyway, and skipping the read-for-ownership of every output line
/// raised a 16M-element add from ~36 to ~51 GB/s on one core here.
inline constexpr int64_t kStreamingBytes = int64_t(4) << 20;

/// Stores a batch to 64-byte-aligned memory, bypassing the cache.
template <class T>
__attribute__((always_inline)) inline void stream_store(T* p, const Batch<T>& v) {
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
    using B = Batch<T>;
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
