#include <xgrad/training/plot.hpp>

#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmath>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iomanip>
#include <limits>
#include <sstream>

#include <xgrad/tensor/error.hpp>

namespace xgrad::training {
namespace {
// Ten colours that stay apart on screen and in print (the "tab10" palette); after ten, the
// colours repeat with dashes.
const char* const kPalette[] = {"#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd",
                                "#8c564b", "#e377c2", "#7f7f7f", "#bcbd22", "#17becf"};
constexpr int kColours = 10;

// A gnuplot string literal: double quotes, with backslashes and quotes escaped and line breaks
// as \n (a raw one would end the script's line inside the string).
std::string quoted(const std::string& text) {
    std::string out = "\"";
    for (char c : text) {
        if (c == '\n') {
            out += "\\n";
            continue;
        }
        if (c == '\r') continue;
        if (c == '"' || c == '\\') out += '\\';
        out += c;
    }
    return out + "\"";
}

// A label on one line, for the "# label" comment that heads each block of the data file.
std::string one_line(std::string text) {
    for (char& c : text)
        if (c == '\n' || c == '\r') c = ' ';
    return text;
}

// A shell word: single quotes, with single quotes spliced in.
std::string shell_word(const std::string& text) {
    std::string out = "'";
    for (char c : text) out += c == '\'' ? std::string("'\\''") : std::string(1, c);
    return out + "'";
}

bool all_whole(const std::vector<Series>& series) {
    for (const Series& s : series)
        for (double x : s.x)
            if (!std::isfinite(x) || x != std::round(x)) return false;
    return true;
}

// Whole-number ticks about ten apart over [lo, hi], at 1, 2 or 5 times a power of ten.
double whole_tick_step(double lo, double hi) {
    const double raw = std::max(1.0, (hi - lo) / 10);
    const double power = std::pow(10, std::floor(std::log10(raw)));
    for (double m : {1.0, 2.0, 5.0, 10.0})
        if (m * power >= raw) return m * power;
    return 10 * power;
}
}  // namespace

std::string find_program(const std::string& name) {
    auto executable = [](const std::string& path) {
        struct stat st {};
        return ::stat(path.c_str(), &st) == 0 && S_ISREG(st.st_mode) && ::access(path.c_str(), X_OK) == 0;
    };
    if (name.empty()) return "";
    if (name.find('/') != std::string::npos) return executable(name) ? name : "";
    const char* path = std::getenv("PATH");
    std::stringstream dirs(path ? path : "/usr/bin:/bin");
    std::string dir;
    while (std::getline(dirs, dir, ':'))
        if (!dir.empty() && executable(dir + "/" + name)) return dir + "/" + name;
    return "";
}

PlotResult plot(const std::string& base, const std::vector<Series>& series, const PlotOptions& options) {
    XGRAD_CHECK(!series.empty(), "plot: ", base, ": no series to plot");
    XGRAD_CHECK(options.width > 0 && options.height > 0, "plot: ", base, ": the size ", options.width, "x",
                options.height, " is not positive");
    for (const Series& s : series)
        XGRAD_CHECK(s.x.size() == s.y.size(), "plot: ", base, ": series \"", s.label, "\" has ", s.x.size(),
                    " x values but ", s.y.size(), " y values");
    PlotResult result{base + ".dat", base + ".gp", base + ".png", base + ".svg", false, ""};
    const std::filesystem::path folder = std::filesystem::path(base).parent_path();
    std::error_code ec;
    if (!folder.empty()) std::filesystem::create_directories(folder, ec);  // a failure shows when writing

    // The data: one block per series (gnuplot's "index"), two blank lines apart.
    {
        std::ofstream data(result.data_path);
        XGRAD_CHECK(data.good(), "plot: cannot write ", result.data_path);
        data << std::setprecision(std::numeric_limits<double>::max_digits10);
        for (std::size_t k = 0; k < series.size(); ++k) {
            data << "# " << one_line(series[k].label) << '\n';
            for (std::size_t i = 0; i < series[k].x.size(); ++i) {
                const double y = series[k].y[i];
                data << series[k].x[i] << ' ';
                if (std::isfinite(y))
                    data << y;
                else
                    data << "NaN";  // a gap in the line
                data << '\n';
            }
            data << "\n\n";
        }
        XGRAD_CHECK(data.good(), "plot: cannot write ", result.data_path);
    }

    std::ostringstream gp;
    gp << "# Written by xgrad::training::plot. Render with: gnuplot " << result.script_path << "\n";
    gp << "set title " << quoted(options.title) << " noenhanced\n";
    gp << "set xlabel " << quoted(options.x_label) << " noenhanced\n";
    gp << "set ylabel " << quoted(options.y_label) << " noenhanced\n";
    gp << "set key outside right top noenhanced\n";
    gp << "set grid lc rgb \"#dddddd\"\n";
    gp << "set border 3\nset tics nomirror\n";
    if (options.log_x) gp << "set logscale x 10\nset format x \"10^{%L}\"\n";
    if (options.log_y) gp << "set logscale y 10\nset format y \"10^{%L}\"\n";
    if (!options.log_x && all_whole(series)) {
        double lo = std::numeric_limits<double>::infinity(), hi = -lo;
        for (const Series& s : series)
            for (double x : s.x) lo = std::min(lo, x), hi = std::max(hi, x);
        if (hi > lo) gp << "set xtics " << whole_tick_step(lo, hi) << "\nset format x \"%.0f\"\n";
    }
    for (int k = 0; k < static_cast<int>(series.size()); ++k)
        gp << "set style line " << k + 1 << " lc rgb \"" << kPalette[k % kColours] << "\" lw 2 dt " << 1 + k / kColours
           << " pt " << 7 << " ps 0.6\n";
    std::ostringstream plot_line;
    plot_line << "plot ";
    for (std::size_t k = 0; k < series.size(); ++k)
        plot_line << (k ? ", \\\n     " : "") << quoted(result.data_path) << " index " << k << " using 1:2 with "
                  << (options.points ? "linespoints" : "lines") << " ls " << k + 1 << " title "
                  << quoted(series[k].label) << " noenhanced";
    gp << "set terminal pngcairo size " << options.width << "," << options.height << " enhanced font \"sans,10\"\n";
    gp << "set output " << quoted(result.png_path) << "\n" << plot_line.str() << "\n";
    gp << "set terminal svg size " << options.width << "," << options.height
       << " enhanced font \"sans,10\" background \"white\"\n";
    gp << "set output " << quoted(result.svg_path) << "\nreplot\nunset output\n";
    {
        std::ofstream script(result.script_path);
        script << gp.str();
        XGRAD_CHECK(script.good(), "plot: cannot write ", result.script_path);
    }

    const std::string program = find_program(options.gnuplot);
    if (program.empty()) {
        result.message = "wrote " + result.data_path + " and " + result.script_path +
                         (options.gnuplot.empty()
                              ? std::string()
                              : "; gnuplot was not found (" + options.gnuplot + "): install gnuplot-nox, then run") +
                         (options.gnuplot.empty() ? "; render with: gnuplot " : " gnuplot ") + result.script_path;
        return result;
    }
    const std::string log_path = base + ".gnuplot.log";
    const std::string command =
        shell_word(program) + " " + shell_word(result.script_path) + " 2> " + shell_word(log_path);
    const int status = std::system(command.c_str());
    struct stat st {};
    result.rendered = status == 0 && ::stat(result.png_path.c_str(), &st) == 0 && st.st_size > 0;
    if (result.rendered) {
        std::remove(log_path.c_str());
        result.message = "wrote " + result.png_path + " and " + result.svg_path;
    } else {
        const int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;  // -1: it did not exit (a signal)
        result.message = "gnuplot failed on " + result.script_path + " (exit status " + std::to_string(code) +
                         "; see " + log_path + ")";
    }
    return result;
}

}  // namespace xgrad::training
