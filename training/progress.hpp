#pragma once
/// A progress bar for training loops: batches done, running means of the loss and metrics,
/// samples per second and the time left. On a terminal it redraws one line; elsewhere (a log
/// file, CI) it prints plain lines now and then; quiet prints nothing.
///
///     training::ProgressBar bar({.total = loader.size(), .description = "epoch 3/10"});
///     for (const data::Batch& batch : loader) {
///         ...
///         bar.update(batch.size(), {{"loss", loss.item()}});
///     }
///     bar.finish();   // epoch 3/10 469/469 [====] loss 0.412 | 10342 samples/s | 5.8 s

#include <chrono>
#include <cstdint>
#include <functional>
#include <iosfwd>
#include <map>
#include <string>
#include <vector>

namespace xgrad::training {

enum class ProgressStyle {
    automatic,  ///< bar on a terminal (the stream is std::cerr or std::cout and it is a tty), lines otherwise
    bar,        ///< one line redrawn with '\r'
    lines,      ///< a plain line every `line_every` batches and at the end
    quiet,      ///< nothing
};

struct ProgressBarOptions {
    int64_t total = 0;            ///< batches expected (0: unknown, no bar or time left)
    std::string description;      ///< e.g. "epoch 3/10"
    std::ostream* out = nullptr;  ///< std::cerr when null
    ProgressStyle style = ProgressStyle::automatic;
    int64_t line_every = 0;       ///< lines style: a line every n batches; 0: about ten per run
    double redraw_seconds = 0.1;  ///< bar style: redraw at most this often
    int width = 24;               ///< characters of the bar itself
    /// Seconds since some fixed point; a steady clock when empty (tests pass their own).
    std::function<double()> clock;
};

class ProgressBar {
public:
    explicit ProgressBar(ProgressBarOptions options = {});
    /// One more batch of `samples` examples, with this batch's values (loss, accuracy, ...):
    /// the bar shows each value's mean over the batches so far, weighted by their samples.
    void update(int64_t samples, const std::map<std::string, double>& values = {});
    /// Prints the final line (once); the destructor calls it too.
    void finish();
    ~ProgressBar();

    ProgressBar(const ProgressBar&) = delete;
    ProgressBar& operator=(const ProgressBar&) = delete;

    int64_t batches() const { return batches_; }
    int64_t samples() const { return samples_; }
    /// The running (sample-weighted) mean of a value over the batches that reported it; an error
    /// names the values there are.
    double mean(const std::string& name) const;
    ProgressStyle style() const { return style_; }
    /// The current line, as it would be printed.
    std::string line() const;

private:
    double now() const;
    void draw(bool final);

    ProgressBarOptions options_;
    ProgressStyle style_;
    std::ostream* out_;
    double start_, last_draw_ = -1;
    int64_t batches_ = 0, samples_ = 0;
    struct Running {
        double sum = 0;       // of value * samples
        int64_t samples = 0;  // in the batches that reported this value
    };
    std::map<std::string, Running> values_;
    std::vector<std::string> order_;  // values in the order first seen
    std::size_t last_length_ = 0;
    bool finished_ = false;
};

/// "1:02:03", "4:05" or "7.3 s".
std::string format_duration(double seconds);

}  // namespace xgrad::training
