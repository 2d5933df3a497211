#pragma once
/// Element types, chosen at run time: one Tensor type serves float32 models and float64 gradchecks.

#include <cstddef>
#include <cstdint>
#include <ostream>

namespace xgrad {

enum class DType : uint8_t { float32, float64, int64, boolean };

inline constexpr DType kFloat32 = DType::float32;
inline constexpr DType kFloat64 = DType::float64;
inline constexpr DType kInt64 = DType::int64;
inline constexpr DType kBool = DType::boolean;
/// LibTorch's other names for the same types.
inline constexpr DType kFloat = kFloat32;
inline constexpr DType kDouble = kFloat64;
inline constexpr DType kLong = kInt64;

/// Bytes per element.
std::size_t element_size(DType dtype);
/// "float32", "float64", "int64", "bool".
const char* dtype_name(DType dtype);
bool is_floating(DType dtype);
/// The dtype two operands compute in (bool < int64 < float32 < float64), as in PyTorch.
DType promote_types(DType a, DType b);

std::ostream& operator<<(std::ostream& out, DType dtype);

/// The C++ type of each dtype, for kernels: dtype_of<float> == kFloat32.
template <class T>
constexpr DType dtype_of();
template <>
constexpr DType dtype_of<float>() {
    return kFloat32;
}
template <>
constexpr DType dtype_of<double>() {
    return kFloat64;
}
template <>
constexpr DType dtype_of<int64_t>() {
    return kInt64;
}
template <>
constexpr DType dtype_of<bool>() {
    return kBool;
}

}  // namespace xgrad
