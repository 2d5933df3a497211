#pragma once
// Helpers shared by the tutorials: command-line flags, CSV output and plots (through
// xgrad::training::plot and gnuplot), so that each tutorial can print its table and leave a CSV
// and a picture behind.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <vector>
#include <xgrad.hpp>

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

using Series = xgrad::training::Series;

/// Writes series sharing their x values as CSV columns: x_name, then one column per label.
inline void write_csv(const std::string& path, const std::string& x_name, const std::vector<Series>& series) {
    const std::filesystem::path folder = std::filesystem::path(path).parent_path();
    if (!folder.empty()) std::filesystem::create_directories(folder);
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

/// Plots series through gnuplot (base.png and base.svg beside base.dat and base.gp, see
/// xgrad::training::plot) and says what it wrote, or how to render it without gnuplot.
inline void plot(const std::string& base, const std::string& title, const std::string& x_label,
                 const std::string& y_label, const std::vector<Series>& series, bool log_y) {
    const auto result = xgrad::training::plot(
        base, series,
        {.title = title, .x_label = x_label, .y_label = y_label, .log_y = log_y, .points = series[0].x.size() <= 12});
    std::printf("%s\n", result.message.c_str());
}

}  // namespace tutorial
