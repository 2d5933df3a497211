#include <xgrad/tensor/error.hpp>

namespace xgrad::detail {

void throw_internal(const char* file, int line, const std::string& what) {
    throw std::logic_error(
        concat("xgrad internal error at ", file, ":", line, ": ", what, " (this is a bug in xgrad, please report it)"));
}

}  // namespace xgrad::detail
