// Printing in PyTorch's layout: nested brackets, aligned columns, "..." past 1000 elements, and
// the shape and dtype at the end.

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <string>
#include <vector>

#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {

constexpr int64_t kSummarizeAbove = 1000;
constexpr int64_t kEdgeItems = 3;

struct Format {
    bool integral = true;  // every value is a whole number: print "3." for floats
    bool scientific = false;
    bool is_float = true;
    int width = 1;
};

std::string format_value(double v, const Format& f) {
    char buf[64];
    if (!f.is_float)
        std::snprintf(buf, sizeof buf, "%lld", static_cast<long long>(v));
    else if (std::isnan(v))
        std::snprintf(buf, sizeof buf, "nan");
    else if (std::isinf(v))
        std::snprintf(buf, sizeof buf, v > 0 ? "inf" : "-inf");
    else if (f.scientific)
        std::snprintf(buf, sizeof buf, "%.4e", v);
    else if (f.integral)
        std::snprintf(buf, sizeof buf, "%.0f.", v);
    else
        std::snprintf(buf, sizeof buf, "%.4f", v);
    return buf;
}

// The indices printed along a dim of size n: all, or the first and last few.
std::vector<int64_t> shown(int64_t n, bool summarize) {
    std::vector<int64_t> idx;
    if (!summarize || n <= 2 * kEdgeItems) {
        for (int64_t i = 0; i < n; ++i) idx.push_back(i);
    } else {
        for (int64_t i = 0; i < kEdgeItems; ++i) idx.push_back(i);
        idx.push_back(-1);  // the ellipsis
        for (int64_t i = n - kEdgeItems; i < n; ++i) idx.push_back(i);
    }
    return idx;
}

void print_rec(std::string& out, const NDArray& a, const Format& f, bool summarize, int indent) {
    if (a.dim() == 0) {
        std::string s = format_value(a.item(), f);
        out += std::string(static_cast<std::size_t>(std::max<int>(0, f.width - static_cast<int>(s.size()))), ' ') + s;
        return;
    }
    out += '[';
    const auto idx = shown(a.sizes()[0], summarize);
    for (std::size_t k = 0; k < idx.size(); ++k) {
        if (k > 0) {
            out += ',';
            if (a.dim() == 1)
                out += ' ';
            else
                out += std::string(static_cast<std::size_t>(a.dim() - 1), '\n') +
                       std::string(static_cast<std::size_t>(indent + 1), ' ');
        }
        if (idx[k] < 0)
            out += "...";
        else
            print_rec(out, a.select(0, idx[k]), f, summarize, indent + 1);
    }
    out += ']';
}

}  // namespace

std::ostream& operator<<(std::ostream& os, const NDArray& a) {
    if (!a.defined()) return os << "tensor(undefined)";
    const bool summarize = a.numel() > kSummarizeAbove;
    Format f;
    f.is_float = is_floating(a.dtype());
    if (a.dtype() == kBool) f.is_float = false;
    // Pick the number format from the values (all of them: cheap next to printing).
    NDArray values = a.to(kFloat64).contiguous();
    const double* p = values.numel() ? values.data<double>() : nullptr;
    double max_abs = 0, min_abs = INFINITY;
    for (int64_t i = 0; i < values.numel(); ++i) {
        const double v = p[i];
        if (!std::isfinite(v)) continue;
        if (v != std::floor(v)) f.integral = false;
        max_abs = std::max(max_abs, std::abs(v));
        if (v != 0) min_abs = std::min(min_abs, std::abs(v));
    }
    if (f.is_float && (max_abs >= 1e8 || (!f.integral && min_abs < 1e-4))) f.scientific = true;
    for (int64_t i = 0; i < values.numel(); ++i)
        f.width = std::max<int>(f.width, static_cast<int>(format_value(p[i], f).size()));
    std::string body;
    print_rec(body, a, f, summarize, 7);
    if (a.dtype() == kBool) {
        std::string mapped;
        for (std::size_t i = 0; i < body.size(); ++i) {
            if (body[i] == '1')
                mapped += " True";
            else if (body[i] == '0')
                mapped += "False";
            else
                mapped += body[i];
        }
        body = mapped;
    }
    return os << "tensor(" << body << ", size=" << a.sizes() << ", dtype=" << a.dtype() << ")";
}

}  // namespace xgrad
