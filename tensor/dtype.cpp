#include <xgrad/tensor/dtype.hpp>

#include <algorithm>

#include <xgrad/tensor/small_vector.hpp>

namespace xgrad {

std::size_t element_size(DType dtype) {
    switch (dtype) {
        case DType::float32:
            return 4;
        case DType::float64:
            return 8;
        case DType::int64:
            return 8;
        case DType::boolean:
            return 1;
    }
    return 0;
}

const char* dtype_name(DType dtype) {
    switch (dtype) {
        case DType::float32:
            return "float32";
        case DType::float64:
            return "float64";
        case DType::int64:
            return "int64";
        case DType::boolean:
            return "bool";
    }
    return "unknown";
}

bool is_floating(DType dtype) {
    return dtype == kFloat32 || dtype == kFloat64;
}

DType promote_types(DType a, DType b) {
    auto rank = [](DType d) {
        switch (d) {
            case DType::boolean:
                return 0;
            case DType::int64:
                return 1;
            case DType::float32:
                return 2;
            case DType::float64:
                return 3;
        }
        return 0;
    };
    return rank(a) >= rank(b) ? a : b;
}

std::ostream& operator<<(std::ostream& out, DType dtype) {
    return out << dtype_name(dtype);
}

std::ostream& operator<<(std::ostream& out, const Shape& shape) {
    out << '[';
    for (std::size_t i = 0; i < shape.size(); ++i) out << (i ? ", " : "") << shape[i];
    return out << ']';
}

}  // namespace xgrad
