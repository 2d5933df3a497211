#pragma once
// The fuzzers' random choices: sizes, dims and arguments that are mostly valid and small, with a
// steady share of wrong ones (negative, out of range, overflowing int64), all drawn from one
// xgrad::Generator per case so that a case number replays it.
#include <xgrad/xgrad.hpp>

#include <cstdint>
#include <initializer_list>
#include <limits>
#include <sstream>
#include <string>

namespace fuzz {

class Random {
public:
    Random(uint64_t seed, uint64_t number) : gen_(seed * 0x100000001b3ULL + number) {}

    uint64_t below(uint64_t n) { return n == 0 ? 0 : gen_.next_below(n); }
    bool chance(double p) { return gen_.next_double() < p; }
    double real() { return gen_.next_double() * 4 - 1; }
    template <class T>
    T pick(std::initializer_list<T> values) {
        return values.begin()[below(values.size())];
    }

    /// A size for a tensor that is allocated: 0 to 5, 0 often enough to exercise empty tensors.
    int64_t small_size() { return pick<int64_t>({0, 1, 1, 2, 2, 3, 3, 4, 5}); }
    /// A size as an op argument: mostly small, sometimes negative or huge.
    int64_t size_any() {
        if (chance(0.05)) return pick<int64_t>({-1, -3, std::numeric_limits<int64_t>::min()});
        if (chance(0.05))
            return pick<int64_t>({int64_t(1) << 40, int64_t(1) << 62, std::numeric_limits<int64_t>::max()});
        return small_size();
    }
    xgrad::Shape shape_any() {
        xgrad::Shape s;
        const uint64_t rank = below(5);
        for (uint64_t i = 0; i < rank; ++i) s.push_back(size_any());
        return s;
    }
    xgrad::Shape shape_small() {
        xgrad::Shape s;
        const uint64_t rank = below(4);
        for (uint64_t i = 0; i < rank; ++i) s.push_back(small_size());
        return s;
    }
    /// A target for view/reshape: small sizes and at times one (or two) -1.
    xgrad::Shape shape_view() {
        xgrad::Shape s = shape_small();
        if (!s.empty() && chance(0.4)) s[below(s.size())] = -1;
        if (!s.empty() && chance(0.05)) s[below(s.size())] = -1;
        if (chance(0.05)) s.push_back(size_any());
        return s;
    }
    /// A dim for an ndim-d tensor: usually in range (either sign), sometimes just outside.
    int64_t axis(int64_t ndim) {
        if (chance(0.1)) return pick<int64_t>({ndim, -ndim - 1, 1000, -1000});
        const int64_t n = ndim == 0 ? 1 : ndim;
        const auto d = static_cast<int64_t>(below(static_cast<uint64_t>(n)));
        return chance(0.5) ? d : d - n;
    }
    /// An index, a start or a count: small, sometimes negative or huge.
    int64_t index() {
        if (chance(0.1)) return pick<int64_t>({-1, -5, int64_t(1) << 62, std::numeric_limits<int64_t>::max()});
        return static_cast<int64_t>(below(5));
    }
    xgrad::Shape permutation(int64_t n) {
        xgrad::Shape p;
        for (int64_t i = 0; i < n; ++i) p.push_back(i);
        for (int64_t i = n - 1; i > 0; --i)
            std::swap(p[i], p[static_cast<int64_t>(below(static_cast<uint64_t>(i + 1)))]);
        if (n > 0 && chance(0.1)) p[0] = p[n - 1];  // a repeated dim
        if (chance(0.05)) p.push_back(0);           // one too many
        return p;
    }
    /// A kernel size or stride.
    int64_t window() {
        return chance(0.05) ? pick<int64_t>({0, -1, int64_t(1) << 40}) : 1 + static_cast<int64_t>(below(3));
    }
    int64_t padding() { return chance(0.05) ? pick<int64_t>({-1, int64_t(1) << 40}) : static_cast<int64_t>(below(2)); }

private:
    xgrad::Generator gen_;
};

/// "float32 [2, 0, 3] (strides [..])" for the trace of a case.
inline std::string describe(const xgrad::Tensor& t) {
    if (!t.defined()) return "undefined";
    std::ostringstream out;
    out << t.dtype() << ' ' << t.sizes();
    if (!t.is_contiguous()) out << " strides " << t.strides();
    if (t.requires_grad()) out << " grad";
    return out.str();
}

}  // namespace fuzz
