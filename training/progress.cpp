#include <xgrad/training/progress.hpp>

#include <unistd.h>

#include <cmath>
#include <cstdio>
#include <iostream>

#include <xgrad/tensor/error.hpp>

namespace xgrad::training {
namespace {
bool is_terminal(const std::ostream* out) {
    if (out == &std::cerr) return ::isatty(STDERR_FILENO) == 1;
    if (out == &std::cout) return ::isatty(STDOUT_FILENO) == 1;
    return false;
}

std::string fixed(double value, int digits) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.*f", digits, value);
    return buffer;
}

// Four significant digits: 0.4123, 12.35, 1235.
std::string value_text(double v) {
    char buffer[64];
    std::snprintf(buffer, sizeof buffer, "%.4g", v);
    return buffer;
}
}  // namespace

std::string format_duration(double seconds) {
    if (!std::isfinite(seconds) || seconds < 0) return "?";
    if (seconds < 59.95) return fixed(seconds, 1) + " s";  // 59.96 s would print as "60.0 s"
    const auto total = static_cast<int64_t>(std::llround(seconds));
    const int64_t h = total / 3600, m = total / 60 % 60, s = total % 60;
    char buffer[64];
    if (h > 0)
        std::snprintf(buffer, sizeof buffer, "%lld:%02lld:%02lld", static_cast<long long>(h), static_cast<long long>(m),
                      static_cast<long long>(s));
    else
        std::snprintf(buffer, sizeof buffer, "%lld:%02lld", static_cast<long long>(m), static_cast<long long>(s));
    return buffer;
}

ProgressBar::ProgressBar(ProgressBarOptions options)
    : options_(std::move(options)), out_(options_.out ? options_.out : &std::cerr) {
    XGRAD_CHECK(options_.total >= 0, "ProgressBar: total must be non-negative, got ", options_.total);
    XGRAD_CHECK(options_.line_every >= 0, "ProgressBar: line_every must be non-negative, got ", options_.line_every);
    XGRAD_CHECK(options_.width > 0, "ProgressBar: width must be positive, got ", options_.width);
    style_ = options_.style != ProgressStyle::automatic ? options_.style
             : is_terminal(out_)                        ? ProgressStyle::bar
                                                        : ProgressStyle::lines;
    if (options_.line_every == 0)
        options_.line_every = options_.total > 0 ? std::max<int64_t>(1, options_.total / 10) : 100;
    start_ = now();
}

ProgressBar::~ProgressBar() {
    try {
        finish();
    } catch (...) {  // a destructor must not throw (a closed stream, say)
    }
}

double ProgressBar::now() const {
    if (options_.clock) return options_.clock();
    return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

void ProgressBar::update(int64_t samples, const std::map<std::string, double>& values) {
    XGRAD_CHECK(!finished_, "ProgressBar::update: the bar has finished");
    XGRAD_CHECK(samples >= 0, "ProgressBar::update: samples must be non-negative, got ", samples);
    ++batches_;
    samples_ += samples;
    for (const auto& [name, value] : values) {
        if (!values_.count(name)) order_.push_back(name);
        Running& r = values_[name];
        r.sum += value * static_cast<double>(samples);
        r.samples += samples;
    }
    if (style_ == ProgressStyle::bar) {
        const double t = now();
        if (last_draw_ < 0 || t - last_draw_ >= options_.redraw_seconds || batches_ == options_.total) draw(false);
    } else if (style_ == ProgressStyle::lines && batches_ % options_.line_every == 0 && batches_ != options_.total) {
        draw(false);
    }
}

double ProgressBar::mean(const std::string& name) const {
    auto it = values_.find(name);
    if (it == values_.end()) {
        std::string names;
        for (const auto& n : order_) names += (names.empty() ? "" : ", ") + n;
        fail("ProgressBar::mean: no value \"", name, "\" (there are: ", names.empty() ? "none" : names, ")");
    }
    return it->second.samples > 0 ? it->second.sum / static_cast<double>(it->second.samples) : std::nan("");
}

std::string ProgressBar::line() const {
    const double elapsed = now() - start_;
    std::string text = options_.description.empty() ? "" : options_.description + " ";
    if (options_.total > 0) {
        text += std::to_string(batches_) + "/" + std::to_string(options_.total) + " [";
        const auto filled =
            static_cast<int>(std::min<int64_t>(options_.width, batches_ * options_.width / options_.total));
        text += std::string(static_cast<std::size_t>(filled), '=') +
                std::string(static_cast<std::size_t>(options_.width - filled), '.');
        text += "]";
    } else {
        text += std::to_string(batches_) + " batches";
    }
    for (const auto& name : order_) text += " " + name + " " + value_text(mean(name));
    if (elapsed > 0 && samples_ > 0) text += " | " + fixed(static_cast<double>(samples_) / elapsed, 0) + " samples/s";
    if (finished_ || (options_.total > 0 && batches_ >= options_.total)) {
        text += " | " + format_duration(elapsed);
    } else if (options_.total > 0 && batches_ > 0) {
        const double left = elapsed / static_cast<double>(batches_) * static_cast<double>(options_.total - batches_);
        text += " | ETA " + format_duration(left);
    }
    return text;
}

void ProgressBar::draw(bool final) {
    const std::string text = line();
    if (style_ == ProgressStyle::bar) {
        // Pad over the previous line's tail, which a shorter line would leave visible.
        const std::size_t pad = last_length_ > text.size() ? last_length_ - text.size() : 0;
        *out_ << '\r' << text << std::string(pad, ' ');
        if (final) *out_ << '\n';
        last_length_ = text.size();
    } else {
        *out_ << text << '\n';
    }
    out_->flush();
    last_draw_ = now();
}

void ProgressBar::finish() {
    if (finished_) return;
    finished_ = true;
    if (style_ != ProgressStyle::quiet) draw(true);
}

}  // namespace xgrad::training
