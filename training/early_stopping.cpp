#include <xgrad/training/early_stopping.hpp>

#include <cmath>
#include <limits>

#include <xgrad/tensor/error.hpp>
#include <xgrad/tensor/whole_number.hpp>

namespace xgrad::training {

EarlyStopping::EarlyStopping(EarlyStoppingOptions options)
    : options_(options),
      best_(options.mode == Mode::min ? std::numeric_limits<double>::infinity()
                                      : -std::numeric_limits<double>::infinity()) {
    XGRAD_CHECK(options.patience >= 1, "EarlyStopping: patience must be at least 1, got ", options.patience);
    XGRAD_CHECK(options.min_delta >= 0 && std::isfinite(options.min_delta),
                "EarlyStopping: min_delta must be finite and non-negative, got ", options.min_delta);
}

bool EarlyStopping::step(double metric) {
    ++epochs_;
    // The first finite metric always improves on the infinite start, whatever min_delta is.
    const bool first = std::isinf(best_);
    improved_ = !std::isnan(metric) &&
                (options_.mode == Mode::min ? (first ? metric < best_ : metric < best_ - options_.min_delta)
                                            : (first ? metric > best_ : metric > best_ + options_.min_delta));
    if (improved_) {
        best_ = metric;
        best_epoch_ = epochs_;
        bad_epochs_ = 0;
    } else {
        ++bad_epochs_;
    }
    return should_stop();
}

std::map<std::string, double> EarlyStopping::state_dict() const {
    return {{"best", best_},
            {"best_epoch", static_cast<double>(best_epoch_)},
            {"epochs", static_cast<double>(epochs_)},
            {"bad_epochs", static_cast<double>(bad_epochs_)},
            {"improved", improved_ ? 1.0 : 0.0}};
}

void EarlyStopping::load_state_dict(const std::map<std::string, double>& state) {
    auto entry = [&](const char* name) {
        auto it = state.find(name);
        XGRAD_CHECK(it != state.end(), "EarlyStopping::load_state_dict: the state has no entry \"", name, "\"");
        return it->second;
    };
    auto count = [&](const char* name) {
        return whole_number(entry(name), 0, std::string("EarlyStopping::load_state_dict: \"") + name + "\"");
    };
    const double best = entry("best"), improved = entry("improved");
    const int64_t best_epoch = count("best_epoch"), epochs = count("epochs"), bad = count("bad_epochs");
    best_ = best;
    best_epoch_ = best_epoch;
    epochs_ = epochs;
    bad_epochs_ = bad;
    improved_ = improved != 0;
}

}  // namespace xgrad::training
