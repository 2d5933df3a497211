#pragma once
// Helpers shared by the tutorials: command-line flags (CLI11), CSV output and plots (through
// xgrad::training::plot and gnuplot), so that each tutorial can print its table and leave a CSV
// and a picture behind.
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <functional>
#include <map>
#include <set>
#include <sstream>
#include <string>
#include <type_traits>
#include <vector>

#include <CLI/CLI.hpp>
#include <xgrad/xgrad.hpp>

namespace tutorial {

/// The examples' command line, parsed by CLI11 (Debian's libcli11-dev): each program declares
/// its flags with their defaults and --help lists them; a mistyped flag, a stray argument or a
/// value that does not parse stops the program with a message naming it (a typo must not run
/// with the default instead). Every program takes --quick, the small run the test suite makes;
/// a default that --quick changes is declared with both values.
///
///     int epochs = 0;
///     std::string out = ".";
///     tutorial::Cli cli("Tutorial: dropout.");
///     cli.option("--epochs", epochs, 30, 12, "training epochs").at_least(1);  // 30, or 12 with --quick
///     cli.option("--out", out, "folder for the CSV and the plot");
///     const bool quick = cli.parse(argc, argv);
class Cli {
public:
    explicit Cli(const std::string& description) : app_(description) {
        app_.add_flag("--quick", quick_, "a small, fast run (what the test suite runs)");
    }

    /// A flag whose default stays whatever `value` holds.
    template <class T>
    Cli& option(const std::string& name, T& value, const std::string& help) {
        last_ = app_.add_option(name, value, help)->capture_default_str();
        return *this;
    }

    /// The option declared just before must be at least `minimum` (--epochs 0 or -1 is refused
    /// with a message, not run as an empty loop). Values beyond the option's type (--epochs 1e12
    /// into an int) are refused by CLI11 itself.
    Cli& at_least(double minimum) {
        const std::string bound = text(minimum);
        last_->check(CLI::Validator(
            [minimum, bound](std::string& value) -> std::string {
                char* end = nullptr;
                const double v = std::strtod(value.c_str(), &end);
                if (end == value.c_str()) return "";  // not a number: the conversion reports it
                return v >= minimum ? "" : "must be at least " + bound + ", got " + value;
            },
            ">=" + bound));
        return *this;
    }

    /// A flag whose default is `normal`, or `quick` with --quick.
    template <class T>
    Cli& option(const std::string& name, T& value, std::type_identity_t<T> normal, std::type_identity_t<T> quick,
                const std::string& help) {
        value = normal;
        CLI::Option* option =
            app_.add_option(name, value, help + " (default " + text(normal) + "; " + text(quick) + " with --quick)");
        last_ = option;
        quick_defaults_.push_back([option, &value, quick] {
            if (option->count() == 0) value = quick;
        });
        return *this;
    }

    /// A switch, false unless given.
    Cli& flag(const std::string& name, bool& value, const std::string& help) {
        app_.add_flag(name, value, help);
        return *this;
    }

    /// Parses the command line; --help prints the flags and exits 0, an error prints its
    /// message and exits with CLI11's non-zero status. Returns whether --quick was given.
    bool parse(int argc, char** argv) {
        try {
            app_.parse(argc, argv);
        } catch (const CLI::ParseError& e) {
            std::exit(app_.exit(e));
        }
        if (quick_)
            for (auto& apply : quick_defaults_) apply();
        return quick_;
    }

private:
    template <class T>
    static std::string text(const T& v) {
        std::ostringstream out;
        out << v;
        return out.str();
    }
    CLI::App app_;
    CLI::Option* last_ = nullptr;
    bool quick_ = false;
    std::vector<std::function<void()>> quick_defaults_;
};

/// What every example's main ends with when something throws (a missing data file, an
/// unwritable --out, a bad value): the message on stderr and exit status 2, never an abort.
/// In an MPI job the message names the rank, and the non-zero exit makes mpirun end the others.
inline int fail(const std::exception& e) {
    if (xgrad::distributed::world_size() > 1)
        std::fprintf(stderr, "rank %d of %d: error: %s\n", xgrad::distributed::rank(), xgrad::distributed::world_size(),
                     e.what());
    else
        std::fprintf(stderr, "error: %s\n", e.what());
    return 2;
}

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
