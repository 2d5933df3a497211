#pragma once
/// Learning-rate schedules, as PyTorch 1.13 defines them:
///
///     optim::StepLR schedule(opt, {.step_size = 30, .gamma = 0.1});
///     for (epoch ...) { train(); schedule.step(); }
///
/// Like PyTorch, constructing a scheduler counts as epoch 0 (the lr is the schedule's first one)
/// and each step() advances one epoch. StepLR, MultiStepLR, ExponentialLR, CosineAnnealingLR,
/// LinearLR, ConstantLR, PolynomialLR and MultiplicativeLR are chainable as PyTorch's step() is: each step changes the
/// lr the group has now (StepLR multiplies it by gamma at every step_size-th epoch), so two schedulers on one optimizer
/// compose (ExponentialLR and MultiStepLR together multiply), and a lr cut by ReduceLROnPlateau or set with set_lr
/// stays cut. Alone they follow the closed form each one's comment gives. LambdaLR, OneCycleLR, CyclicLR and
/// CosineAnnealingWarmRestarts set the lr from the initial one, as in PyTorch; SequentialLR hands the optimizer from
/// one schedule to the next, ChainedScheduler steps several at once; OneCycleLR, CyclicLR and
/// CosineAnnealingWarmRestarts are meant to be stepped after every batch.
///
/// The schedulers attached to one optimizer share its initial lr (Optimizer::initial_lr, PyTorch's
/// group["initial_lr"]): the first one records it, later ones start from it too.
///
/// state_dict() holds the epoch count, the initial lrs and the last lrs set, plus what a schedule
/// keeps of its own; load_state_dict() into a scheduler built the same way (the same options and
/// lambdas, which are not saved) restores the optimizer's lrs, so the schedule continues exactly.

#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <xgrad/optim/optimizer.hpp>

namespace xgrad::optim {

/// Scheduler state by name: "last_epoch", "base_lrs.0", ... (every value a number).
using SchedulerState = std::map<std::string, double>;

class LRScheduler {
public:
    explicit LRScheduler(Optimizer& optimizer);
    virtual ~LRScheduler() = default;
    /// Advances one epoch and sets each group's lr.
    virtual void step();
    /// The lrs this scheduler set last, one per group.
    std::vector<double> get_last_lr() const { return last_lrs_; }
    int64_t last_epoch() const { return last_epoch_; }
    const Optimizer& optimizer() const { return optimizer_; }
    virtual SchedulerState state_dict() const;
    /// Restores what state_dict() saved and sets the optimizer's lrs to the saved ones. Every entry
    /// is checked before anything changes.
    virtual void load_state_dict(const SchedulerState& state);

protected:
    /// The lr of `group` at epoch last_epoch_. `current` is its lr before this step: chainable
    /// schedules (StepLR, MultiplicativeLR, ...) build on it, LambdaLR and OneCycleLR ignore it.
    virtual double compute_lr(std::size_t group, double current) const = 0;
    /// Sets every group's lr (and whatever else the schedule drives) for last_epoch_.
    virtual void apply();
    /// Goes back to epoch 0 and sets its lrs: PyTorch's step(0), with which SequentialLR starts a
    /// schedule at its milestone (closed forms restart from the initial lr, MultiplicativeLR from
    /// the lr it finds).
    virtual void restart();
    friend class SequentialLR;
    friend class ComposedLRScheduler;

    /// The entry `key` of state, or an error naming it.
    static double entry(const SchedulerState& state, const std::string& key);

    Optimizer& optimizer_;
    std::vector<double> base_lrs_;
    std::vector<double> last_lrs_;
    int64_t last_epoch_ = 0;
};

/// A chainable schedule with a closed form, as PyTorch's: step() moves the group's current lr to
/// the next epoch's (next_lr), and a restart under SequentialLR (PyTorch's step(0)) takes the
/// closed form at epoch 0 (lr_at).
class ClosedFormLRScheduler : public LRScheduler {
protected:
    using LRScheduler::LRScheduler;
    /// The lr of a group with initial lr `base` at `epoch`, when this schedule alone drives it.
    virtual double lr_at(double base, int64_t epoch) const = 0;
    /// The lr at last_epoch_ from the lr `current` the group has (the previous epoch's, unless
    /// something else changed it), and its initial lr `base`.
    virtual double next_lr(double current, double base) const = 0;
    double compute_lr(std::size_t group, double current) const final { return next_lr(current, base_lrs_[group]); }
    void restart() override;
};

/// lr = base * gamma^floor(epoch / step_size)
struct StepLROptions {
    int64_t step_size = 1;
    double gamma = 0.1;
};

class StepLR : public ClosedFormLRScheduler {
public:
    using Options = StepLROptions;
    StepLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = base * gamma^(number of milestones reached)
struct MultiStepLROptions {
    std::vector<int64_t> milestones;
    double gamma = 0.1;
};

class MultiStepLR : public ClosedFormLRScheduler {
public:
    using Options = MultiStepLROptions;
    MultiStepLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = base * gamma^epoch
struct ExponentialLROptions {
    double gamma = 0.95;
};

class ExponentialLR : public ClosedFormLRScheduler {
public:
    using Options = ExponentialLROptions;
    ExponentialLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = eta_min + (base - eta_min) (1 + cos(pi epoch / T_max)) / 2  (Loshchilov & Hutter 2017)
struct CosineAnnealingLROptions {
    int64_t T_max = 1;
    double eta_min = 0.0;
};

class CosineAnnealingLR : public ClosedFormLRScheduler {
public:
    using Options = CosineAnnealingLROptions;
    CosineAnnealingLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// Linear warm-up (or decay): lr = base * (start + (end - start) min(epoch, total_iters) / total_iters)
struct LinearLROptions {
    double start_factor = 1.0 / 3;
    double end_factor = 1.0;
    int64_t total_iters = 5;
};

class LinearLR : public ClosedFormLRScheduler {
public:
    using Options = LinearLROptions;
    LinearLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = base * factor for the first total_iters epochs, base after: a short warm-up at a lower lr.
struct ConstantLROptions {
    double factor = 1.0 / 3;
    int64_t total_iters = 5;
};

class ConstantLR : public ClosedFormLRScheduler {
public:
    using Options = ConstantLROptions;
    ConstantLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = base * (1 - min(epoch, total_iters) / total_iters)^power: polynomial decay to 0.
struct PolynomialLROptions {
    int64_t total_iters = 5;
    double power = 1.0;
};

class PolynomialLR : public ClosedFormLRScheduler {
public:
    using Options = PolynomialLROptions;
    PolynomialLR(Optimizer& optimizer, Options options);

protected:
    double lr_at(double base, int64_t epoch) const override;
    double next_lr(double current, double base) const override;
    Options options_;
};

/// lr = base * lr_lambda(epoch), with one function for every group or one per group.
class LambdaLR : public LRScheduler {
public:
    using Lambda = std::function<double(int64_t epoch)>;
    LambdaLR(Optimizer& optimizer, Lambda lr_lambda);
    LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

protected:
    double compute_lr(std::size_t group, double current) const override;
    std::vector<Lambda> lr_lambdas_;
};

/// lr <- lr * lr_lambda(epoch) at each step (epoch > 0). Recursive, not closed-form: the lr is the
/// product of every factor so far, times whatever the lr was when the schedule began (under
/// SequentialLR, the lr the previous schedule left).
class MultiplicativeLR : public LRScheduler {
public:
    using Lambda = std::function<double(int64_t epoch)>;
    MultiplicativeLR(Optimizer& optimizer, Lambda lr_lambda);
    MultiplicativeLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas);

protected:
    double compute_lr(std::size_t group, double current) const override;
    std::vector<Lambda> lr_lambdas_;
};

/// The base of schedules made of schedules (SequentialLR, ChainedScheduler): the schedules, all
/// driving one optimizer, and a state of their own entries and each schedule's, prefixed
/// "schedulers.k.". It sets no lr itself: its schedules do.
class ComposedLRScheduler : public LRScheduler {
public:
    SchedulerState state_dict() const override;
    void load_state_dict(const SchedulerState& state) override;

protected:
    /// Checks that there is a schedule, none is null and each drives `optimizer`; `who` names the
    /// composition in errors.
    // By reference: ChainedScheduler reads schedulers[0] for the optimizer in the same call.
    ComposedLRScheduler(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>>&& schedulers, const char* who);
    double compute_lr(std::size_t, double current) const override { return current; }
    /// Each schedule's entries of a composition's state (an error names a missing one).
    std::vector<SchedulerState> schedule_parts(const SchedulerState& state) const;
    /// Loads each schedule's part, then the composition's own entries.
    void load_parts(const std::vector<SchedulerState>& parts, const SchedulerState& own);
    /// The optimizer of schedulers[0], for a composition given no optimizer of its own.
    static Optimizer& first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& schedulers, const char* who);
    std::vector<std::shared_ptr<LRScheduler>> schedulers_;
};

/// Steps several chainable schedules of one optimizer together, as PyTorch's ChainedScheduler:
/// each step() steps every one in order, so their factors multiply:
///
///     auto warm = std::make_shared<optim::ConstantLR>(opt, optim::ConstantLROptions{.factor = 0.1});
///     auto decay = std::make_shared<optim::ExponentialLR>(opt, optim::ExponentialLROptions{.gamma = 0.9});
///     optim::ChainedScheduler schedule({warm, decay});
class ChainedScheduler : public ComposedLRScheduler {
public:
    explicit ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers);
    void step() override;

private:
    void record_optimizer_lrs();
};

/// Runs schedules one after another on the same optimizer: schedulers[0] until milestones[0],
/// schedulers[k] from milestones[k - 1] on. As in PyTorch, construction resets the lrs to the
/// initial ones and starts schedulers[0] at epoch 0; at a milestone the next schedule restarts at
/// its own epoch 0 (a closed form from the initial lr, MultiplicativeLR from the current lr) and is
/// stepped from there:
///
///     auto warmup = std::make_shared<optim::LinearLR>(opt, optim::LinearLR::Options{.start_factor = 0.1});
///     auto decay = std::make_shared<optim::ExponentialLR>(opt, optim::ExponentialLR::Options{.gamma = 0.9});
///     optim::SequentialLR schedule(opt, {warmup, decay}, {5});
class SequentialLR : public ComposedLRScheduler {
public:
    SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                 std::vector<int64_t> milestones);
    void step() override;

protected:
    void restart() override;
    std::vector<int64_t> milestones_;
};

/// The base of the schedules that cycle momentum against the lr (OneCycleLR, CyclicLR): after
/// every lr update, and after a load, each group's momentum option (momentum_name_: "beta1" or
/// "momentum"; empty without cycle_momentum) is set to momentum_at(group), a function of the step.
class MomentumCyclingLRScheduler : public LRScheduler {
public:
    void load_state_dict(const SchedulerState& state) override;

protected:
    using LRScheduler::LRScheduler;
    virtual double momentum_at(std::size_t group) const = 0;
    void apply() override;
    void apply_momentum();
    std::string momentum_name_;
};

struct OneCycleLROptions {
    enum class Anneal { cos, linear };
    double max_lr = 0.0;      ///< the peak lr (required)
    int64_t total_steps = 0;  ///< the steps in the cycle; 0: epochs * steps_per_epoch
    int64_t epochs = 0;
    int64_t steps_per_epoch = 0;
    double pct_start = 0.3;  ///< the fraction of the cycle spent raising the lr
    Anneal anneal_strategy = Anneal::cos;
    bool cycle_momentum = true;     ///< momentum (SGD, RMSprop) or beta1 (Adam, NAdam, ...) runs opposite to the lr
    double base_momentum = 0.85;    ///< at the peak lr
    double max_momentum = 0.95;     ///< at the start and the end
    double div_factor = 25.0;       ///< initial lr = max_lr / div_factor
    double final_div_factor = 1e4;  ///< min lr = initial lr / final_div_factor
    bool three_phase = false;       ///< back down to the initial lr symmetrically, then to the min lr
};

/// The 1cycle policy (Smith & Topin 2018), stepped after every batch: the lr rises from
/// max_lr / div_factor to max_lr over pct_start of the steps, then anneals to
/// initial / final_div_factor (three_phase: back to the initial lr by 2 pct_start, then down to the
/// min lr). Each phase anneals from `start` to `end` over its steps, with pct the fraction done:
///   cos:    end + (start - end) (1 + cos(pi pct)) / 2
///   linear: start + (end - start) pct
/// Phase ends (in steps): pct_start total - 1, then total - 1 (three_phase: 2 pct_start total - 2
/// in between). The initial lr it sets becomes the optimizer's initial lr, as in PyTorch. With
/// cycle_momentum, the group option "beta1" (else "momentum") runs from max_momentum to
/// base_momentum and back; an optimizer with neither is an error. Stepping more than total_steps
/// times is an error, as in PyTorch.
class OneCycleLR : public MomentumCyclingLRScheduler {
public:
    using Options = OneCycleLROptions;
    OneCycleLR(Optimizer& optimizer, Options options);
    void step() override;
    int64_t total_steps() const { return total_steps_; }

protected:
    struct Phase {
        double end_step;
        double start_lr, end_lr;  ///< initial, max or min lr (max_lr is one value, so every group shares them)
        double start_momentum, end_momentum;
    };
    double compute_lr(std::size_t group, double current) const override;
    double momentum_at(std::size_t group) const override;
    /// The phase containing step and how far into it (pct) the step is.
    std::pair<const Phase*, double> phase_at(int64_t step) const;
    double anneal(double start, double end, double pct) const;

    Options options_;
    int64_t total_steps_ = 0;
    std::vector<Phase> phases_;
};

struct CyclicLROptions {
    enum class Mode { triangular, triangular2, exp_range };
    enum class ScaleMode { cycle, iterations };
    std::vector<double> base_lr;  ///< the low end of the cycle: one value for every group, or one per group (required)
    std::vector<double> max_lr;   ///< the high end, likewise (required)
    int64_t step_size_up = 2000;  ///< steps from base_lr up to max_lr
    std::optional<int64_t> step_size_down;  ///< steps back down; step_size_up when not set
    Mode mode = Mode::triangular;
    double gamma = 1.0;  ///< exp_range's decay per step
    /// A scale of the amplitude of your own, in place of mode's: of the cycle number (from 1) or of
    /// the step, as scale_mode says.
    std::function<double(double)> scale_fn;
    ScaleMode scale_mode = ScaleMode::cycle;
    bool cycle_momentum = true;  ///< momentum (SGD, RMSprop) or beta1 (Adam, NAdam, ...) runs opposite to the lr
    std::vector<double> base_momentum = {0.8};  ///< at max_lr: one value or one per group
    std::vector<double> max_momentum = {0.9};   ///< at base_lr
};

/// Cyclical learning rates (Smith 2017), stepped after every batch: the lr climbs from base_lr to
/// max_lr over step_size_up steps and falls back over step_size_down, cycle after cycle, the
/// amplitude scaled as mode says:
///   cycle = floor(1 + t / (up + down)),  x = 1 + t / (up + down) - cycle
///   f = x / r while x <= r, else (x - 1) / (r - 1), with r = up / (up + down)
///   lr = base_lr + (max_lr - base_lr) f scale
/// triangular: scale 1; triangular2: 1 / 2^(cycle - 1) (the amplitude halves every cycle);
/// exp_range: gamma^t. With cycle_momentum the group's momentum (or beta1) runs the other way,
/// max_momentum - (max_momentum - base_momentum) f scale. As PyTorch, construction sets every
/// group's lr to base_lr (which becomes the initial lr unless an earlier scheduler recorded one)
/// and starts the cycle there. Two differences from PyTorch 1.13, both deliberate: built after
/// another scheduler, 1.13 sets the first lr from that scheduler's initial lr (base_lr only from
/// the first step on); and 1.13 refuses cycle_momentum for optimizers with betas, where later
/// versions cycle beta1 as this one does.
class CyclicLR : public MomentumCyclingLRScheduler {
public:
    using Options = CyclicLROptions;
    CyclicLR(Optimizer& optimizer, Options options);

protected:
    /// f and the scale at last_epoch_.
    std::pair<double, double> position() const;
    double compute_lr(std::size_t group, double current) const override;
    double momentum_at(std::size_t group) const override;

    Options options_;
    std::vector<double> max_lrs_, base_momentums_, max_momentums_;
    double total_size_ = 0, step_ratio_ = 0;
};

/// SGDR (Loshchilov & Hutter 2017): cosine annealing from the initial lr to eta_min over T_i
/// epochs, then a warm restart; the first period is T_0 epochs, each next one T_mult times longer.
///   lr = eta_min + (base - eta_min) (1 + cos(pi T_cur / T_i)) / 2
/// step() advances one epoch; step(epoch) jumps to a fractional epoch, for steps within an epoch:
///     schedule.step(epoch + batch / double(batches));
struct CosineAnnealingWarmRestartsOptions {
    int64_t T_0 = 1;
    int64_t T_mult = 1;
    double eta_min = 0.0;
};

class CosineAnnealingWarmRestarts : public LRScheduler {
public:
    using Options = CosineAnnealingWarmRestartsOptions;
    CosineAnnealingWarmRestarts(Optimizer& optimizer, Options options);
    void step() override;
    /// Jumps to `epoch` (>= 0, fractional allowed): T_cur and T_i follow from it, last_epoch() is
    /// its floor. A later step() continues from there.
    void step(double epoch);
    double T_cur() const { return T_cur_; }
    int64_t T_i() const { return T_i_; }
    SchedulerState state_dict() const override;
    void load_state_dict(const SchedulerState& state) override;

protected:
    double compute_lr(std::size_t group, double current) const override;
    void restart() override;
    Options options_;
    double T_cur_ = 0;  ///< epochs since the last restart
    int64_t T_i_ = 0;   ///< epochs of the current period
};

struct ReduceLROnPlateauOptions {
    enum class Mode { min, max };
    /// How an improvement is measured against the best metric so far (PyTorch's is_better):
    /// rel: beat best * (1 - threshold) in min mode, best * (1 + threshold) in max mode;
    /// abs: beat best - threshold in min mode, best + threshold in max mode.
    enum class ThresholdMode { rel, abs };
    Mode mode = Mode::min;
    double factor = 0.1;
    int64_t patience = 10;
    double threshold = 1e-4;
    ThresholdMode threshold_mode = ThresholdMode::rel;
    int64_t cooldown = 0;
    double min_lr = 0.0;
    double eps = 1e-8;  ///< changes smaller than this are skipped
};

/// Multiplies the lr by `factor` when a metric has stopped improving for `patience` epochs.
class ReduceLROnPlateau {
public:
    using Options = ReduceLROnPlateauOptions;
    using Mode = Options::Mode;
    using ThresholdMode = Options::ThresholdMode;
    ReduceLROnPlateau(Optimizer& optimizer, Options options = {});
    /// Records the epoch's metric (validation loss, accuracy, ...) and lowers the lr if due.
    void step(double metric);
    double best() const { return best_; }
    int64_t num_bad_epochs() const { return num_bad_epochs_; }
    const Options& options() const { return options_; }
    /// The counters and, as PyTorch saves them, the options (modes as 0 = min/rel, 1 = max/abs).
    SchedulerState state_dict() const;
    /// Restores counters and options; the lrs live in the optimizer's own state.
    void load_state_dict(const SchedulerState& state);

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
