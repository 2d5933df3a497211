#pragma once
/// Learning-rate schedules. Each scheduler sets every parameter group's lr from the group's
/// initial lr and the epoch count, by the closed form PyTorch documents:
///
///     optim::StepLR schedule(opt, {.step_size = 30, .gamma = 0.1});
///     for (epoch ...) { train(); schedule.step(); }
///
/// Like PyTorch, constructing a scheduler counts as epoch 0 (the lr is the initial one) and each
/// step() advances one epoch.

#include <map>
#include <string>
#include <vector>

#include "optim/optimizer.hpp"

namespace xgrad::optim {

class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    /// Advances one epoch and sets each group's lr.
    void step();
    std::vector<double> get_last_lr() const;
    int64_t last_epoch() const { return last_epoch_; }
    std::map<std::string, double> state_dict() const;
    void load_state_dict(const std::map<std::string, double>& state);

protected:
    /// The lr of a group with initial lr `base` at `epoch`.
    virtual double lr_at(double base, int64_t epoch) const = 0;
    void apply();

    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    int64_t last_epoch_ = 0;
};

/// lr = base * gamma^floor(epoch / step_size)
class StepLR : public LRScheduler {
public:
    struct Options {
        int64_t step_size = 1;
        double gamma = 0.1;
    };
    StepLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    Options options_;
};

/// lr = base * gamma^(number of milestones reached)
class MultiStepLR : public LRScheduler {
public:
    struct Options {
        std::vector<int64_t> milestones;
        double gamma = 0.1;
    };
    MultiStepLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    Options options_;
};

/// lr = base * gamma^epoch
class ExponentialLR : public LRScheduler {
public:
    struct Options {
        double gamma = 0.95;
    };
    ExponentialLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    Options options_;
};

/// lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2  (Loshchilov & Hutter 2017)
class CosineAnnealingLR : public LRScheduler {
public:
    struct Options {
        int64_t T_max = 1;
        double eta_min = 0.0;
    };
    CosineAnnealingLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    Options options_;
};

/// Linear warm-up (or decay): lr = base * (start + (end - start) min(epoch, total_iters) / total_iters)
class LinearLR : public LRScheduler {
public:
    struct Options {
        double start_factor = 1.0 / 3;
        double end_factor = 1.0;
        int64_t total_iters = 5;
    };
    LinearLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    Options options_;
};

struct ReduceLROnPlateauOptions {
    enum class Mode { min, max };
    Mode mode = Mode::min;
    double factor = 0.1;
    int64_t patience = 10;
    double threshold = 1e-4;  ///< relative: an improvement must beat best * (1 -/+ threshold)
    int64_t cooldown = 0;
    double min_lr = 0.0;
    double eps = 1e-8;  ///< changes smaller than this are skipped
};

/// Multiplies the lr by `factor` when a metric has stopped improving for `patience` epochs.
class ReduceLROnPlateau {
public:
    using Options = ReduceLROnPlateauOptions;
    using Mode = Options::Mode;
    ReduceLROnPlateau(Optimizer& optimizer, Options options = {});
    /// Records the epoch's metric (validation loss, accuracy, ...) and lowers the lr if due.
    void step(double metric);
    double best() const { return best_; }
    int64_t num_bad_epochs() const { return num_bad_epochs_; }
    std::map<std::string, double> state_dict() const;
    void load_state_dict(const std::map<std::string, double>& state);

private:
    bool improves(double metric) const;
    Optimizer& optimizer_;
    Options options_;
    double best_;
    int64_t num_bad_epochs_ = 0;
    int64_t cooldown_counter_ = 0;
    int64_t last_epoch_ = 0;
};

}  // namespace xgrad::optim
