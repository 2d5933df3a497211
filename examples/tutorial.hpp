#pragma once
// Helpers shared by the tutorials: command-line flags, CSV output and a small SVG line plot, so
// that each tutorial can print its table and leave a CSV and a picture behind.
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <cstdlib>
#include <map>
#include <set>
#include <string>
#include <vector>

namespace tutorial {

/// --name value pairs and --flag switches. A flag no one asked for, a stray argument or a number
/// that does not parse ends the program with a message naming it: a typo must not silently run
/// with the default instead.
class Flags {
public:
    Flags(int argc, char** argv) : program_(argc > 0 ? argv[0] : "program") {
        for (int i = 1; i < argc; ++i) {
            std::string arg = argv[i];
            if (arg.rfind("--", 0) != 0) {
                stray_.push_back(arg);
                continue;
            }
            const bool has_value = i + 1 < argc && std::strncmp(argv[i + 1], "--", 2) != 0;
            values_[arg.substr(2)] = has_value ? argv[++i] : "1";
        }
    }
    bool has(const std::string& name) const {
        asked_.insert(name);
        return values_.count(name) > 0;
    }
    std::string get(const std::string& name, const std::string& fallback) const {
        asked_.insert(name);
        auto it = values_.find(name);
        return it == values_.end() ? fallback : it->second;
    }
    double number(const std::string& name, double fallback) const {
        asked_.insert(name);
        auto it = values_.find(name);
        if (it == values_.end()) return fallback;
        char* end = nullptr;
        const double value = std::strtod(it->second.c_str(), &end);
        if (it->second.empty() || *end != '\0') fail("--" + name + " expects a number, got '" + it->second + "'");
        return value;
    }
    /// Call after reading every flag the program knows.
    void reject_unknown() const {
        if (!stray_.empty()) fail("unexpected argument '" + stray_.front() + "'");
        for (const auto& [name, value] : values_)
            if (asked_.count(name) == 0) fail("unknown flag --" + name);
    }

private:
    [[noreturn]] void fail(const std::string& message) const {
        std::fprintf(stderr, "%s: %s (see the comment at the top of its source, or --help where offered)\n",
                     program_.c_str(), message.c_str());
        std::exit(2);
    }

    std::string program_;
    std::map<std::string, std::string> values_;
    std::vector<std::string> stray_;
    mutable std::set<std::string> asked_;
};

/// printf into a std::string.
template <class... Args>
std::string format(const char* pattern, Args... args) {
    char buffer[256];
    std::snprintf(buffer, sizeof buffer, pattern, args...);
    return buffer;
}

struct Series {
    std::string label;
    std::vector<double> x, y;
};

/// Writes series sharing their x values as CSV columns: x_name, then one column per label.
inline void write_csv(const std::string& path, const std::string& x_name, const std::vector<Series>& series) {
    std::ofstream out(path);
    out << x_name;
    for (const Series& s : series) out << ',' << s.label;
    out << '\n';
    for (std::size_t i = 0; !series.empty() && i < series[0].x.size(); ++i) {
        out << series[0].x[i];
        for (const Series& s : series) out << ',' << s.y[i];
        out << '\n';
    }
}

/// Writes series as a line plot (log10 y when log_y) to an SVG file.
inline void write_svg_plot(const std::string& path, const std::string& title, const std::string& x_label,
                           const std::string& y_label, const std::vector<Series>& series, bool log_y) {
    const double W = 640, H = 400, left = 70, right = 150, top = 40, bottom = 50;
    double x0 = 1e300, x1 = -1e300, y0 = 1e300, y1 = -1e300;
    auto ty = [&](double v) { return log_y ? std::log10(std::max(v, 1e-300)) : v; };
    for (const Series& s : series)
        for (std::size_t i = 0; i < s.x.size(); ++i) {
            x0 = std::min(x0, s.x[i]), x1 = std::max(x1, s.x[i]);
            y0 = std::min(y0, ty(s.y[i])), y1 = std::max(y1, ty(s.y[i]));
        }
    if (x1 == x0) x1 = x0 + 1;
    if (y1 == y0) y1 = y0 + 1;
    auto px = [&](double v) { return left + (v - x0) / (x1 - x0) * (W - left - right); };
    auto py = [&](double v) { return H - bottom - (ty(v) - y0) / (y1 - y0) * (H - top - bottom); };
    const char* colors[] = {"#1f77b4", "#d62728", "#2ca02c", "#9467bd", "#ff7f0e"};
    std::ofstream out(path);
    out << "<svg xmlns='http://www.w3.org/2000/svg' width='" << W << "' height='" << H << "' font-family='sans-serif' font-size='12'>\n";
    out << "<rect width='100%' height='100%' fill='white'/>\n";
    out << "<text x='" << W / 2 << "' y='20' text-anchor='middle' font-size='14'>" << title << "</text>\n";
    out << "<line x1='" << left << "' y1='" << H - bottom << "' x2='" << W - right << "' y2='" << H - bottom << "' stroke='black'/>\n";
    out << "<line x1='" << left << "' y1='" << top << "' x2='" << left << "' y2='" << H - bottom << "' stroke='black'/>\n";
    out << "<text x='" << (left + W - right) / 2 << "' y='" << H - 12 << "' text-anchor='middle'>" << x_label << "</text>\n";
    out << "<text x='16' y='" << (top + H - bottom) / 2 << "' transform='rotate(-90 16 " << (top + H - bottom) / 2
        << ")' text-anchor='middle'>" << y_label << (log_y ? " (log10)" : "") << "</text>\n";
    for (int t = 0; t <= 4; ++t) {
        const double v = y0 + (y1 - y0) * t / 4, y = H - bottom - (v - y0) / (y1 - y0) * (H - top - bottom);
        char label[32];
        std::snprintf(label, sizeof label, "%.3g", v);
        out << "<text x='" << left - 6 << "' y='" << y + 4 << "' text-anchor='end'>" << label << "</text>\n";
    }
    for (int t = 0; t <= 4; ++t) {
        const double v = x0 + (x1 - x0) * t / 4;
        char label[32];
        std::snprintf(label, sizeof label, "%.3g", v);
        out << "<text x='" << px(v) << "' y='" << H - bottom + 16 << "' text-anchor='middle'>" << label << "</text>\n";
    }
    for (std::size_t k = 0; k < series.size(); ++k) {
        const Series& s = series[k];
        out << "<polyline fill='none' stroke-width='2' stroke='" << colors[k % 5] << "' points='";
        for (std::size_t i = 0; i < s.x.size(); ++i) out << px(s.x[i]) << ',' << py(s.y[i]) << ' ';
        out << "'/>\n";
        out << "<text x='" << W - right + 10 << "' y='" << top + 18 * (k + 1) << "' fill='" << colors[k % 5] << "'>"
            << s.label << "</text>\n";
    }
    out << "</svg>\n";
}

}  // namespace tutorial
