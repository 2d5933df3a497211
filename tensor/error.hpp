#pragma once
/// Errors: caller mistakes throw xgrad::Error; broken invariants of our own say "internal error".

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

namespace xgrad {

/// A mistake of the caller: bad shapes, dtypes, indices or files. The message names the op.
class Error : public std::invalid_argument {
public:
    using std::invalid_argument::invalid_argument;
};

namespace detail {
template <class... Args>
std::string concat(Args&&... args) {
    std::ostringstream out;
    (out << ... << std::forward<Args>(args));
    return out.str();
}
[[noreturn]] void throw_internal(const char* file, int line, const std::string& what);
}  // namespace detail

/// Throw xgrad::Error built from the streamed arguments: fail("add: shapes ", a, " and ", b).
template <class... Args>
[[noreturn]] void fail(Args&&... args) {
    throw Error(detail::concat(std::forward<Args>(args)...));
}

}  // namespace xgrad

/// Check a caller's input in every build; the message is only built on failure.
#define XGRAD_CHECK(cond, ...)                   \
    do {                                         \
        if (!(cond)) ::xgrad::fail(__VA_ARGS__); \
    } while (false)

/// Check an invariant of xgrad itself; failing means a bug of ours, and the message says so.
#define XGRAD_INTERNAL_ASSERT(cond, ...)                                                                          \
    do {                                                                                                          \
        if (!(cond))                                                                                              \
            ::xgrad::detail::throw_internal(__FILE__, __LINE__, ::xgrad::detail::concat(#cond " ", __VA_ARGS__)); \
    } while (false)
