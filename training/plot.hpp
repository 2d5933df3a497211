#pragma once
/// Line plots through gnuplot (Debian's gnuplot-nox): the data and a gnuplot script are written
/// next to each other, and gnuplot renders them to PNG and SVG. Without gnuplot the data and
/// script stay behind and the result says how to render them later.
///
///     training::plot("curves", {{"train", epochs, train_loss}, {"test", epochs, test_loss}},
///                    {.title = "Cross-entropy", .x_label = "epoch", .y_label = "loss", .log_y = true});
///     // curves.dat, curves.gp, curves.png, curves.svg
///
/// The plots read well without tuning: up to ten series in colours that tell them apart (then
/// dash patterns), the key beside the lines, whole-number ticks for whole-number x (epochs),
/// log axes labelled as powers of ten.

#include <string>
#include <vector>

namespace xgrad::training {

struct Series {
    std::string label;
    std::vector<double> x, y;  ///< equal lengths; NaN or (on a log axis) non-positive y leave a gap
};

struct PlotOptions {
    std::string title, x_label, y_label;
    bool log_x = false, log_y = false;
    bool points = false;  ///< mark each point, not only the line
    int width = 800, height = 500;
    /// The gnuplot to run (a name looked up on PATH, or a path); empty: write data and script only.
    std::string gnuplot = "gnuplot";
};

struct PlotResult {
    std::string data_path, script_path, png_path, svg_path;
    bool rendered = false;  ///< gnuplot ran and wrote the PNG and SVG
    std::string message;    ///< what was written, or why nothing was rendered and how to
};

/// Writes base.dat and base.gp (creating their folder), then runs gnuplot on them (base.png, base.svg).
PlotResult plot(const std::string& base, const std::vector<Series>& series, const PlotOptions& options = {});

/// The program's full path if it is an executable file, or found on PATH; empty otherwise.
std::string find_program(const std::string& name);

}  // namespace xgrad::training
