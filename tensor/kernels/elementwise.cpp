// Element-wise kernels: every one runs through detail::make_loop / for_each_run, so broadcasting,
// non-contiguous views and threading are handled in one place.

#include <algorithm>
#include <cmath>
#include <cstring>
#include <limits>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/kernels/loops.hpp>
#include <xgrad/tensor/kernels/simd.hpp>
#include <xgrad/tensor/kernels/wrapping.hpp>

namespace xgrad::kernels {
using namespace detail;

namespace {

// ---- op functors: one body for scalars and SIMD batches ----------------------------------------
// Signed integers wrap on overflow, as in PyTorch (wrapping.hpp).
struct NegOp {
    template <class V>
    V operator()(V x) const {
        if constexpr (kWraps<V>)
            return wrapping_neg(x);
        else
            return -x;
    }
};
struct AbsOp {
    template <class V>
    V operator()(V x) const {
        if constexpr (kWraps<V>)
            return x < 0 ? wrapping_neg(x) : x;
        else {
            using std::abs;
            return abs(x);
        }
    }
};
struct SquareOp {
    template <class V>
    V operator()(V x) const {
        if constexpr (kWraps<V>)
            return wrapping_mul(x, x);
        else
            return x * x;
    }
};
#define XGRAD_UNARY_FUNCTOR(Name, expr) \
    struct Name {                       \
        template <class V>              \
        V operator()(V x) const {       \
            using std::exp;             \
            using std::log;             \
            using std::sqrt;            \
            using std::abs;             \
            using std::sin;             \
            using std::cos;             \
            using std::tanh;            \
            using std::log1p;           \
            using std::expm1;           \
            using std::erf;             \
            return expr;                \
        }                               \
    };
// exp(x) and 1 / (1 + e^-x) through full_range_exp on vectors (simd.hpp), std::exp on scalars.
template <class V>
V exp_over_full_range(V x) {
    if constexpr (std::is_arithmetic_v<V>)
        return std::exp(x);
    else
        return full_range_exp(x);
}
struct ExpOp {
    template <class V>
    V operator()(V x) const {
        return exp_over_full_range(x);
    }
};
// For very negative x, e^-x overflows to inf and the result is a clean 0.
struct SigmoidOp {
    template <class V>
    V operator()(V x) const {
        return V(1) / (V(1) + exp_over_full_range(-x));
    }
};
XGRAD_UNARY_FUNCTOR(LogOp, log(x))
XGRAD_UNARY_FUNCTOR(SqrtOp, sqrt(x))
XGRAD_UNARY_FUNCTOR(RsqrtOp, V(1) / sqrt(x))
XGRAD_UNARY_FUNCTOR(SinOp, sin(x))
XGRAD_UNARY_FUNCTOR(CosOp, cos(x))
XGRAD_UNARY_FUNCTOR(TanhOp, tanh(x))
XGRAD_UNARY_FUNCTOR(ReciprocalOp, V(1) / x)
XGRAD_UNARY_FUNCTOR(Log1pOp, log1p(x))
XGRAD_UNARY_FUNCTOR(Expm1Op, expm1(x))
XGRAD_UNARY_FUNCTOR(ErfOp, erf(x))
#undef XGRAD_UNARY_FUNCTOR

// Rounding to whole numbers: integers are whole already. round is nearbyint, half to even, as
// torch.round (2.5 -> 2, 3.5 -> 4).
#define XGRAD_ROUNDING_FUNCTOR(Name, fn)         \
    struct Name {                                \
        template <class V>                       \
        V operator()(V x) const {                \
            if constexpr (std::is_integral_v<V>) \
                return x;                        \
            else {                               \
                using std::fn;                   \
                return fn(x);                    \
            }                                    \
        }                                        \
    };
XGRAD_ROUNDING_FUNCTOR(FloorOp, floor)
XGRAD_ROUNDING_FUNCTOR(CeilOp, ceil)
XGRAD_ROUNDING_FUNCTOR(TruncOp, trunc)
XGRAD_ROUNDING_FUNCTOR(RoundOp, nearbyint)
#undef XGRAD_ROUNDING_FUNCTOR

struct SignOp {
    template <class V>
    V operator()(V x) const {
        if constexpr (kIsBatch<V>)
            return xsimd::select(x > V(0), V(1), xsimd::select(x < V(0), V(-1), V(0)));
        else
            return static_cast<V>((x > V(0)) - (x < V(0)));
    }
};

// ReluOp is in simd.hpp: the matrix product applies it too (gemm.cpp, a fused Linear + ReLU).

struct ClampOp {
    double lo, hi;
    template <class V>
    V operator()(V x) const {
        if constexpr (kIsBatch<V>) {
            using T = typename V::value_type;
            // min(max(x, lo), hi), as PyTorch: hi wins when lo > hi; NaN stays NaN.
            const V l(static_cast<T>(lo)), h(static_cast<T>(hi));
            const V raised = xsimd::select(x < l, l, x);
            return xsimd::select(raised > h, h, raised);
        } else {
            const V l = static_cast<V>(lo), h = static_cast<V>(hi);
            const V raised = x < l ? l : x;
            return raised > h ? h : raised;
        }
    }
};

// xsimd's pow agrees with IEEE pow (std::pow) to an ulp or two for finite non-zero bases and
// exponents below 2^24, but not at the edges: pow(0, 0), pow(inf, 0), pow(nan, 0) and pow(1, inf)
// come out NaN or 0 instead of 1, pow(-1, 1e30) as -1. Those lanes take std::pow. A single element
// goes through the same batch, so a result does not depend on whether its element sat in a SIMD
// run or in a tail or a strided walk. Kept out of line: xsimd's pow is a long polynomial, and
// inlined into every loop of every layout it made this file take half an hour to compile with the
// sanitizers (one call per 16 floats costs nothing beside the pow itself).
template <class T>
[[gnu::noinline]] Batch<T> ieee_pow(Batch<T> a, Batch<T> b) {
    using B = Batch<T>;
    const auto ordinary = xsimd::isfinite(a) & (a != B(T(0))) & (xsimd::abs(b) < B(T(16777216)));
    const B fast = xsimd::pow(a, b);
    if (xsimd::all(ordinary)) return fast;
    alignas(B::arch_type::alignment()) T base[B::size], exponent[B::size], result[B::size], is_fast[B::size];
    a.store_aligned(base);
    b.store_aligned(exponent);
    fast.store_aligned(result);
    xsimd::select(ordinary, B(T(1)), B(T(0))).store_aligned(is_fast);
    for (std::size_t i = 0; i < B::size; ++i)
        if (is_fast[i] == T(0)) result[i] = std::pow(base[i], exponent[i]);
    return B::load_aligned(result);
}
template <class T>
[[gnu::noinline]] T ieee_pow(T a, T b) {
    return ieee_pow(Batch<T>(a), Batch<T>(b)).get(0);
}

struct PowScalarOp {
    double e;
    template <class V>
    V operator()(V x) const {
        if constexpr (kIsBatch<V>)
            return ieee_pow(x, V(static_cast<typename V::value_type>(e)));
        else
            return ieee_pow(x, static_cast<V>(e));
    }
};

struct AddOp {
    template <class V>
    V operator()(V a, V b) const {
        return wrapping_add(a, b);
    }
};
struct SubOp {
    template <class V>
    V operator()(V a, V b) const {
        return wrapping_sub(a, b);
    }
};
struct MulOp {
    template <class V>
    V operator()(V a, V b) const {
        if constexpr (kWraps<V>)
            return wrapping_mul(a, b);
        else
            return a * b;
    }
};
struct DivOp {
    template <class V>
    V operator()(V a, V b) const {
        return a / b;
    }
};
struct PowOp {
    template <class V>
    V operator()(V a, V b) const {
        if constexpr (kIsBatch<V>)
            return ieee_pow(a, b);
        else if constexpr (std::is_integral_v<V>) {
            if constexpr (std::is_signed_v<V>) {
                // 1 / a^-b in integers, as PyTorch: 1 for a = 1, +-1 for a = -1 by the exponent's
                // parity, else 0 (0 also for a = 0, where PyTorch does not divide by zero either).
                if (b < 0) return a == 1 ? V(1) : a == -1 ? V((b & 1) ? -1 : 1) : V(0);
            }
            V result = 1, base = a;
            for (V e = b; e > 0; e >>= 1, base = wrapping_mul(base, base))
                if (e & 1) result = wrapping_mul(result, base);
            return result;
        } else
            return ieee_pow(a, b);
    }
};
struct TanhBackwardOp {
    template <class V>
    V operator()(V g, V y) const {
        return g * (V(1) - y * y);
    }
};
struct SigmoidBackwardOp {
    template <class V>
    V operator()(V g, V y) const {
        return g * y * (V(1) - y);
    }
};
// d relu: pass the gradient where the input was positive (0 at the kink, as PyTorch).
struct ThresholdBackwardOp {
    template <class V>
    V operator()(V g, V x) const {
        if constexpr (kIsBatch<V>)
            return xsimd::select(x > V(0), g, V(0));
        else
            return x > V(0) ? g : V(0);
    }
};

// ---- loops -------------------------------------------------------------------------------------
template <class T, class Op>
__attribute__((flatten)) void unary_loop(const NDArray& out, const NDArray& x, const Op& op) {
    auto loop = make_loop<2>({&out, &x});
    for_each_run(loop, [&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
        T* o = reinterpret_cast<T*>(p[0]);
        const T* a = reinterpret_cast<const T*>(p[1]);
        if constexpr (kVectorizable<T>) {
            if (s[0] == 1 && s[1] == 1) return simd_map(o, n, op, Contiguous<T>{a});
        }
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = op(a[i * s[1]]);
    });
}

template <class T, class Op>
__attribute__((flatten)) void binary_loop(const NDArray& out, const NDArray& a, const NDArray& b, const Op& op) {
    auto loop = make_loop<3>({&out, &a, &b});
    for_each_run(loop, [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
        T* o = reinterpret_cast<T*>(p[0]);
        const T* x = reinterpret_cast<const T*>(p[1]);
        const T* y = reinterpret_cast<const T*>(p[2]);
        if constexpr (kVectorizable<T>) {
            if (s[0] == 1) {
                if (s[1] == 1 && s[2] == 1) return simd_map(o, n, op, Contiguous<T>{x}, Contiguous<T>{y});
                if (s[1] == 1 && s[2] == 0) return simd_map(o, n, op, Contiguous<T>{x}, Broadcast<T>{*y});
                if (s[1] == 0 && s[2] == 1) return simd_map(o, n, op, Broadcast<T>{*x}, Contiguous<T>{y});
            }
        }
        for (int64_t i = 0; i < n; ++i) o[i * s[0]] = op(x[i * s[1]], y[i * s[2]]);
    });
}

// Byte range [first, last] that an array's elements span in its storage.
std::pair<int64_t, int64_t> byte_extent(const NDArray& x) {
    int64_t lo = x.offset(), hi = x.offset();
    for (int64_t d = 0; d < x.dim(); ++d) {
        if (x.sizes()[d] == 0) return {0, -1};
        const int64_t span = (x.sizes()[d] - 1) * x.strides()[d];
        (span < 0 ? lo : hi) += span;
    }
    const auto item = static_cast<int64_t>(element_size(x.dtype()));
    return {lo * item, hi * item + item - 1};
}

// An output may be exactly an input (in place) or disjoint from it; a partial overlap would read
// values the kernel has already overwritten.
void check_no_partial_overlap(const char* op, const NDArray& out, const NDArray& in) {
    if (out.storage() != in.storage()) return;
    if (out.offset() == in.offset() && out.sizes() == in.sizes() && out.strides() == in.strides() &&
        out.dtype() == in.dtype())
        return;
    const auto [a0, a1] = byte_extent(out);
    const auto [b0, b1] = byte_extent(in);
    XGRAD_CHECK(a1 < b0 || b1 < a0, op, ": the output overlaps an input partially (shapes ", out.sizes(), " and ",
                in.sizes(), "); write to a separate tensor or clone() the input");
}

void check_out(const char* op, const NDArray& out, const Shape& sizes, DType dtype) {
    XGRAD_CHECK(out.sizes() == sizes, op, ": the output has shape ", out.sizes(), " but the result has shape ", sizes);
    XGRAD_CHECK(out.dtype() == dtype, op, ": the output has dtype ", out.dtype(), " but the result has dtype ", dtype);
}

bool keeps_integers(Unary op) {
    switch (op) {
#define XGRAD_UNARY_KEEPS_INTEGERS(name, functor, integers) \
    case Unary::name:                                       \
        return integers;
        XGRAD_UNARY_OPS(XGRAD_UNARY_KEEPS_INTEGERS)
#undef XGRAD_UNARY_KEEPS_INTEGERS
    }
    return false;
}

DType unary_result_dtype(Unary op, DType in) {
    if (in == kBool) return keeps_integers(op) ? kInt64 : kFloat32;
    if (in == kInt64 && !keeps_integers(op)) return kFloat32;
    return in;
}

// The functor of op on T; integer T only reaches the ops whose row keeps integers (the others
// compute in float32, see unary_result_dtype).
template <class T>
void unary_typed(Unary op, const NDArray& out, const NDArray& x) {
    switch (op) {
#define XGRAD_UNARY_CASE(name, Functor, integers)                                                       \
    case Unary::name:                                                                                   \
        if constexpr (std::is_floating_point_v<T> || integers) return unary_loop<T>(out, x, Functor{}); \
        break;
        XGRAD_UNARY_OPS(XGRAD_UNARY_CASE)
#undef XGRAD_UNARY_CASE
    }
    XGRAD_INTERNAL_ASSERT(false, "unary op ", unary_name(op), " has no kernel for ", dtype_of<T>());
}

// The common type of two operands, with PyTorch's rule for a 0-d tensor beside a dimensioned one:
// it cannot raise the other's type within its category (bool < integer < floating), only from a
// lower one. float32 [n] with a float64 0-d tensor computes in float32; int64 [n] with a float64
// 0-d tensor in float64, as in PyTorch.
DType promote_operands(const NDArray& a, const NDArray& b) {
    if ((a.dim() == 0) != (b.dim() == 0)) {
        const auto category = [](DType d) { return d == kBool ? 0 : (is_floating(d) ? 2 : 1); };
        const DType dimensioned = a.dim() == 0 ? b.dtype() : a.dtype(), zero_dim = a.dim() == 0 ? a.dtype() : b.dtype();
        if (category(zero_dim) <= category(dimensioned)) return dimensioned;
    }
    return promote_types(a.dtype(), b.dtype());
}

DType binary_compute_dtype(Binary op, const NDArray& a, const NDArray& b) {
    DType t = promote_operands(a, b);
    if (t == kBool) t = kInt64;
    if ((op == Binary::div) && t == kInt64) t = kFloat32;
    return t;
}

}  // namespace

const char* unary_name(Unary op) {
    switch (op) {
#define XGRAD_UNARY_NAME(name, functor, integers) \
    case Unary::name:                             \
        return #name;
        XGRAD_UNARY_OPS(XGRAD_UNARY_NAME)
#undef XGRAD_UNARY_NAME
    }
    return "unary";
}

const char* binary_name(Binary op) {
    static const char* names[] = {
        "add", "sub", "mul", "div", "pow", "maximum", "minimum", "tanh_backward", "sigmoid_backward"};
    return names[static_cast<int>(op)];
}

void unary_out(Unary op, const NDArray& out, const NDArray& x) {
    const DType dtype = unary_result_dtype(op, x.dtype());
    check_out(unary_name(op), out, x.sizes(), dtype);
    check_no_partial_overlap(unary_name(op), out, x);
    const NDArray in = x.to(dtype);
    dispatch_numeric(dtype, unary_name(op), [&](auto tag) { unary_typed<decltype(tag)>(op, out, in); });
}

NDArray unary(Unary op, const NDArray& x) {
    if (x.dtype() == kBool) {
        // As PyTorch: a bool's sign is itself; negating or taking the magnitude of a mask is refused.
        if (op == Unary::sign) return x.clone();
        XGRAD_CHECK(op != Unary::neg,
                    "neg: negating a bool tensor is not supported; to invert a mask use "
                    "logical_not (or !mask)");
        XGRAD_CHECK(op != Unary::abs, "abs: not supported for a bool tensor; convert it with to(kInt64) first");
    }
    NDArray out = NDArray::empty(x.sizes(), unary_result_dtype(op, x.dtype()));
    unary_out(op, out, x);
    return out;
}

void binary_out(Binary op, const NDArray& out, const NDArray& a, const NDArray& b) {
    const char* name = binary_name(op);
    const Shape sizes = broadcast_shapes(a.sizes(), b.sizes(), name);
    const DType dtype = binary_compute_dtype(op, a, b);
    check_out(name, out, sizes, dtype);
    check_no_partial_overlap(name, out, a);
    check_no_partial_overlap(name, out, b);
    const NDArray x = a.to(dtype), y = b.to(dtype);
    dispatch_numeric(dtype, name, [&](auto tag) {
        using T = decltype(tag);
        switch (op) {
            case Binary::add:
                return binary_loop<T>(out, x, y, AddOp{});
            case Binary::sub:
                return binary_loop<T>(out, x, y, SubOp{});
            case Binary::mul:
                return binary_loop<T>(out, x, y, MulOp{});
            case Binary::div:
                return binary_loop<T>(out, x, y, DivOp{});
            case Binary::pow:
                return binary_loop<T>(out, x, y, PowOp{});
            case Binary::maximum:
                return binary_loop<T>(out, x, y, NanMax{});
            case Binary::minimum:
                return binary_loop<T>(out, x, y, NanMin{});
            case Binary::tanh_backward:
            case Binary::sigmoid_backward:
                if constexpr (std::is_floating_point_v<T>) {
                    if (op == Binary::tanh_backward) return binary_loop<T>(out, x, y, TanhBackwardOp{});
                    return binary_loop<T>(out, x, y, SigmoidBackwardOp{});
                }
                fail(name, ": expected floating-point tensors, got ", dtype);
        }
    });
}

NDArray binary(Binary op, const NDArray& a, const NDArray& b) {
    const Shape sizes = broadcast_shapes(a.sizes(), b.sizes(), binary_name(op));
    if (a.dtype() == kBool && b.dtype() == kBool) {
        // As PyTorch: two bools add as "or", multiply as "and", and keep bool (also maximum and
        // minimum); their difference is refused, since 1 - 1 and 0 - 1 would leave bool.
        XGRAD_CHECK(op != Binary::sub,
                    "sub: subtracting two bool tensors is not supported; use logical_xor, or "
                    "convert them with to(kInt64) first");
        if (op == Binary::add || op == Binary::mul || op == Binary::maximum || op == Binary::minimum)
            return binary(op, a.to(kInt64), b.to(kInt64)).to(kBool);
    }
    NDArray out = NDArray::empty(sizes, binary_compute_dtype(op, a, b));
    binary_out(op, out, a, b);
    return out;
}

NDArray compare(Compare op, const NDArray& a, const NDArray& b) {
    static const char* names[] = {"eq", "ne", "lt", "le", "gt", "ge"};
    const char* name = names[static_cast<int>(op)];
    const Shape sizes = broadcast_shapes(a.sizes(), b.sizes(), name);
    const DType dtype = promote_operands(a, b);
    const NDArray x = a.to(dtype), y = b.to(dtype);
    NDArray out = NDArray::empty(sizes, kBool);
    dispatch_all(dtype, [&](auto tag) {
        using T = decltype(tag);
        auto loop = make_loop<3>({&out, &x, &y});
        for_each_run(loop, [&](const std::array<char*, 3>& p, const std::array<int64_t, 3>& s, int64_t n) {
            bool* o = reinterpret_cast<bool*>(p[0]);
            const T* u = reinterpret_cast<const T*>(p[1]);
            const T* v = reinterpret_cast<const T*>(p[2]);
            for (int64_t i = 0; i < n; ++i) {
                const T l = u[i * s[1]], r = v[i * s[2]];
                bool result = false;
                switch (op) {
                    case Compare::eq:
                        result = l == r;
                        break;
                    case Compare::ne:
                        result = l != r;
                        break;
                    case Compare::lt:
                        result = l < r;
                        break;
                    case Compare::le:
                        result = l <= r;
                        break;
                    case Compare::gt:
                        result = l > r;
                        break;
                    case Compare::ge:
                        result = l >= r;
                        break;
                }
                o[i * s[0]] = result;
            }
        });
    });
    return out;
}

NDArray where(const NDArray& cond, const NDArray& a, const NDArray& b) {
    XGRAD_CHECK(cond.dtype() == kBool, "where: the condition must be a bool tensor, got ", cond.dtype());
    const Shape sizes = broadcast_shapes(broadcast_shapes(cond.sizes(), a.sizes(), "where"), b.sizes(), "where");
    const DType dtype = promote_operands(a, b);
    const NDArray x = a.to(dtype), y = b.to(dtype);
    NDArray out = NDArray::empty(sizes, dtype);
    dispatch_all(dtype, [&](auto tag) {
        using T = decltype(tag);
        auto loop = make_loop<4>({&out, &cond, &x, &y});
        for_each_run(loop, [&](const std::array<char*, 4>& p, const std::array<int64_t, 4>& s, int64_t n) {
            T* o = reinterpret_cast<T*>(p[0]);
            const bool* c = reinterpret_cast<const bool*>(p[1]);
            const T* u = reinterpret_cast<const T*>(p[2]);
            const T* v = reinterpret_cast<const T*>(p[3]);
            for (int64_t i = 0; i < n; ++i) o[i * s[0]] = c[i * s[1]] ? u[i * s[2]] : v[i * s[3]];
        });
    });
    return out;
}

NDArray clamp(const NDArray& x, double low, double high) {
    const double lo = std::isnan(low) ? -std::numeric_limits<double>::infinity() : low;
    const double hi = std::isnan(high) ? std::numeric_limits<double>::infinity() : high;
    // Integers clamped to a bound that is not a whole number (fractional or infinite) come out as
    // float32, as PyTorch promotes them (clamp(arange(3), 0.5, 1.5) is 0.5, 1, 1.5). A whole bound
    // keeps int64: a C++ double cannot say whether it was written 2 or 2.0 (xgrad's rule for
    // scalars, see the README); PyTorch would give float32 for 2.0. NaN means no bound.
    const auto not_whole = [](double bound) {
        return !std::isnan(bound) && (!std::isfinite(bound) || bound != std::floor(bound));
    };
    const bool fractional = not_whole(low) || not_whole(high);
    const DType dtype = is_floating(x.dtype()) ? x.dtype() : (fractional ? kFloat32 : kInt64);
    const NDArray in = x.to(dtype);
    NDArray out = NDArray::empty(x.sizes(), dtype);
    dispatch_numeric(dtype, "clamp", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T>) {
            const double l = std::max(lo, -9.2e18), h = std::min(hi, 9.2e18);
            // min(max(v, l), h): h wins when l > h.
            unary_loop<T>(out, in, [=](T v) {
                const T raised = static_cast<double>(v) < l ? static_cast<T>(std::ceil(l)) : v;
                return static_cast<double>(raised) > h ? static_cast<T>(std::floor(h)) : raised;
            });
        } else {
            unary_loop<T>(out, in, ClampOp{lo, hi});
        }
    });
    return out;
}

NDArray pow_scalar(const NDArray& x, double exponent) {
    if (exponent == 1.0) return x.to(x.dtype() == kBool ? kInt64 : x.dtype()).clone();
    if (exponent == 2.0) return unary(Unary::square, x);
    const bool integral = exponent >= 0 && exponent == std::floor(exponent);
    DType dtype = x.dtype() == kBool ? kInt64 : x.dtype();
    if (dtype == kInt64 && !integral) dtype = kFloat32;
    if (dtype == kFloat32 && exponent == 0.5) return unary(Unary::sqrt, x);
    const NDArray in = x.to(dtype);
    NDArray out = NDArray::empty(x.sizes(), dtype);
    dispatch_numeric(dtype, "pow", [&](auto tag) {
        using T = decltype(tag);
        if constexpr (std::is_integral_v<T>) {
            const T e = static_cast<T>(exponent);
            unary_loop<T>(out, in, [e](T v) { return PowOp{}(v, e); });
        } else {
            unary_loop<T>(out, in, PowScalarOp{exponent});
        }
    });
    return out;
}

NDArray threshold_backward(const NDArray& grad, const NDArray& x) {
    XGRAD_CHECK(grad.dtype() == x.dtype(), "threshold_backward: dtypes ", grad.dtype(), " and ", x.dtype(), " differ");
    const Shape sizes = broadcast_shapes(grad.sizes(), x.sizes(), "threshold_backward");
    NDArray out = NDArray::empty(sizes, grad.dtype());
    dispatch_numeric(grad.dtype(), "threshold_backward",
                     [&](auto tag) { binary_loop<decltype(tag)>(out, grad, x, ThresholdBackwardOp{}); });
    return out;
}

namespace {
// Converts one value between element types without undefined behaviour: NaN and out-of-range
// floats going to int64 saturate (NaN gives 0).
template <class To, class From>
To convert(From v) {
    if constexpr (std::is_same_v<To, bool>)
        return v != From(0);
    else if constexpr (std::is_integral_v<To> && std::is_floating_point_v<From>) {
        if (std::isnan(v)) return 0;
        if (v >= 9.2233720368547758e18) return std::numeric_limits<To>::max();
        if (v <= -9.2233720368547758e18) return std::numeric_limits<To>::min();
        return static_cast<To>(v);
    } else
        return static_cast<To>(v);
}
}  // namespace

void copy_(const NDArray& dst, const NDArray& src) {
    broadcast_shapes(dst.sizes(), src.sizes(), "copy_");
    XGRAD_CHECK(src.dim() <= dst.dim(), "copy_: cannot copy shape ", src.sizes(), " into shape ", dst.sizes());
    for (int64_t i = 0; i < src.dim(); ++i) {
        const int64_t s = src.sizes()[i], d = dst.sizes()[i + dst.dim() - src.dim()];
        XGRAD_CHECK(s == d || s == 1, "copy_: cannot broadcast shape ", src.sizes(), " into shape ", dst.sizes());
    }
    check_no_partial_overlap("copy_", dst, src);
    dispatch_all(dst.dtype(), [&](auto dst_tag) {
        using To = decltype(dst_tag);
        dispatch_all(src.dtype(), [&](auto src_tag) {
            using From = decltype(src_tag);
            auto loop = make_loop<2>({&dst, &src});
            for_each_run(loop, [&](const std::array<char*, 2>& p, const std::array<int64_t, 2>& s, int64_t n) {
                To* o = reinterpret_cast<To*>(p[0]);
                const From* a = reinterpret_cast<const From*>(p[1]);
                if constexpr (std::is_same_v<To, From>) {
                    if (s[0] == 1 && s[1] == 1) {
                        if (o != a) std::memcpy(o, a, static_cast<std::size_t>(n) * sizeof(To));
                        return;
                    }
                }
                for (int64_t i = 0; i < n; ++i) o[i * s[0]] = convert<To>(a[i * s[1]]);
            });
        });
    });
}

void fill_(const NDArray& dst, double value) {
    dispatch_all(dst.dtype(), [&](auto tag) {
        using T = decltype(tag);
        const T v = convert<T>(value);
        auto loop = make_loop<1>({&dst});
        for_each_run(loop, [&](const std::array<char*, 1>& p, const std::array<int64_t, 1>& s, int64_t n) {
            T* o = reinterpret_cast<T*>(p[0]);
            if (s[0] == 1)
                std::fill(o, o + n, v);
            else
                for (int64_t i = 0; i < n; ++i) o[i * s[0]] = v;
        });
    });
}

}  // namespace xgrad::kernels
