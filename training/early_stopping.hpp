#pragma once
/// Early stopping: end training when a validation metric has stopped improving, and know which
/// epoch was best (to keep its weights).
///
///     training::EarlyStopping stopper({.patience = 5, .mode = training::Mode::max});  // F1
///     for (int epoch = 1; ; ++epoch) {
///         train_one_epoch();
///         const bool stop = stopper.step(validation_f1());
///         if (stopper.improved()) xgrad::save(model, "best.npz");
///         if (stop) break;
///     }

#include <cstdint>
#include <map>
#include <string>

namespace xgrad::training {

/// Whether a smaller (a loss) or a larger (accuracy, F1) metric is better.
enum class Mode { min, max };

struct EarlyStoppingOptions {
    int64_t patience = 5;  ///< epochs without improvement before stopping
    double min_delta = 0;  ///< an improvement must beat the best by more than this
    Mode mode = Mode::min;
};

class EarlyStopping {
public:
    explicit EarlyStopping(EarlyStoppingOptions options = {});

    /// Records one epoch's metric; true once patience epochs in a row brought no improvement.
    /// A NaN metric never improves.
    bool step(double metric);

    bool should_stop() const { return bad_epochs_ >= options_.patience; }
    bool improved() const { return improved_; }         ///< whether the last step set a new best
    double best() const { return best_; }               ///< the best metric so far (+-inf before any)
    int64_t best_epoch() const { return best_epoch_; }  ///< 1-based; 0 before any improvement
    int64_t epochs() const { return epochs_; }          ///< steps taken
    int64_t bad_epochs() const { return bad_epochs_; }  ///< steps since the last improvement
    const EarlyStoppingOptions& options() const { return options_; }

    /// For checkpoints: resuming continues the count where it was.
    std::map<std::string, double> state_dict() const;
    void load_state_dict(const std::map<std::string, double>& state);

private:
    EarlyStoppingOptions options_;
    double best_;
    int64_t best_epoch_ = 0, epochs_ = 0, bad_epochs_ = 0;
    bool improved_ = false;
};

}  // namespace xgrad::training
