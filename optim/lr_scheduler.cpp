#include <xgrad/optim/lr_scheduler.hpp>

#include <algorithm>
#include <cmath>
#include <limits>

#include <xgrad/tensor/whole_number.hpp>

namespace xgrad::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (std::size_t g = 0; g < optimizer.param_group_count(); ++g) {
        // The first scheduler records the initial lr, later ones share it (PyTorch's setdefault).
        if (!optimizer.initial_lr(g)) optimizer.set_initial_lr(g, optimizer.lr(g));
        base_lrs_.push_back(*optimizer.initial_lr(g));
        last_lrs_.push_back(optimizer.lr(g));
    }
}

void LRScheduler::step() {
    ++last_epoch_;
    apply();
}

void LRScheduler::apply() {
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        last_lrs_[g] = compute_lr(g, optimizer_.lr(g));
        optimizer_.set_lr(g, last_lrs_[g]);
    }
}

void LRScheduler::restart() {
    last_epoch_ = 0;
    apply();
}

namespace {
// A count from a saved state (see tensor/whole_number.hpp).
int64_t whole(double v, const std::string& key, double lowest = 0) {
    return whole_number(v, lowest, "load_state_dict: the scheduler's \"" + key + "\"");
}
}  // namespace

double LRScheduler::entry(const SchedulerState& state, const std::string& key) {
    auto it = state.find(key);
    XGRAD_CHECK(it != state.end(), "load_state_dict: the scheduler state has no entry \"", key, "\"");
    return it->second;
}

SchedulerState LRScheduler::state_dict() const {
    SchedulerState state{{"last_epoch", static_cast<double>(last_epoch_)}};
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        state["base_lrs." + std::to_string(g)] = base_lrs_[g];
        state["last_lrs." + std::to_string(g)] = last_lrs_[g];
    }
    return state;
}

void LRScheduler::load_state_dict(const SchedulerState& state) {
    std::vector<double> bases, lasts;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        for (const char* kind : {"base_lrs.", "last_lrs."}) {
            const std::string key = kind + std::to_string(g);
            const double lr = entry(state, key);
            // Checked before anything changes: a NaN or negative lr would train on silently.
            XGRAD_CHECK(std::isfinite(lr) && lr >= 0, "load_state_dict: ", key, " must be a finite lr >= 0, got ", lr);
            (kind[0] == 'b' ? bases : lasts).push_back(lr);
        }
    }
    last_epoch_ = whole(entry(state, "last_epoch"), "last_epoch", -1);
    base_lrs_ = bases;
    last_lrs_ = lasts;
    // The saved lrs, not recomputed ones: a recursive schedule cannot recompute them.
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        optimizer_.set_initial_lr(g, base_lrs_[g]);
        optimizer_.set_lr(g, last_lrs_[g]);
    }
}

namespace {
// A hyper-parameter that must be a finite number, not below `lowest` (NaN and inf would turn every
// later lr into NaN or inf without an error).
void check_finite_at_least(double value, double lowest, const char* scheduler, const char* name) {
    XGRAD_CHECK(std::isfinite(value) && value >= lowest, scheduler, ": ", name, " must be a finite number >= ", lowest,
                ", got ", value);
}
void check_positive_finite(double value, const char* scheduler, const char* name) {
    XGRAD_CHECK(std::isfinite(value) && value > 0, scheduler, ": ", name, " must be a finite positive number, got ",
                value);
}
// The group option a schedule with cycle_momentum drives, as PyTorch: beta1 where the optimizer
// has betas, else momentum; an optimizer with neither is an error.
std::string cycled_momentum_option(const Optimizer& optimizer, const char* scheduler) {
    for (const char* name : {"beta1", "momentum"})
        if (optimizer.group_option(0, name)) return name;
    fail(scheduler, ": cycle_momentum needs an optimizer with momentum or betas (set cycle_momentum = false)");
}
// Tries `value` as the group's cycled option and puts the group's own back: a value the optimizer
// refuses (a beta1 of 1, no momentum under Nesterov) is an error now, naming the scheduler, rather
// than at the step of the cycle that first reaches it.
void check_cycled_value(Optimizer& optimizer, std::size_t group, const std::string& option, double value,
                        const char* scheduler, const char* what) {
    const double own = *optimizer.group_option(group, option);
    try {
        optimizer.set_group_option(group, option, value);
    } catch (const std::exception& refused) {
        fail(scheduler, ": ", what, " ", value, " cannot be the optimizer's ", option, ": ", refused.what());
    }
    optimizer.set_group_option(group, option, own);
}
}  // namespace

void ClosedFormLRScheduler::restart() {
    last_epoch_ = 0;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        last_lrs_[g] = lr_at(base_lrs_[g], 0);
        optimizer_.set_lr(g, last_lrs_[g]);
    }
}

StepLR::StepLR(Optimizer& optimizer, Options options) : ClosedFormLRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.step_size > 0, "StepLR: step_size must be positive, got ", options.step_size);
    check_positive_finite(options.gamma, "StepLR", "gamma");
    apply();
}
double StepLR::lr_at(double base, int64_t epoch) const {
    return base * std::pow(options_.gamma, static_cast<double>(epoch / options_.step_size));
}
double StepLR::next_lr(double current, double) const {
    return last_epoch_ == 0 || last_epoch_ % options_.step_size != 0 ? current : current * options_.gamma;
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, Options options)
    : ClosedFormLRScheduler(optimizer), options_(std::move(options)) {
    XGRAD_CHECK(std::is_sorted(options_.milestones.begin(), options_.milestones.end()),
                "MultiStepLR: milestones must be increasing");
    XGRAD_CHECK(options_.milestones.empty() || options_.milestones.front() >= 0,
                "MultiStepLR: milestones must be non-negative, got ", options_.milestones.front());
    check_positive_finite(options_.gamma, "MultiStepLR", "gamma");
    apply();
}
double MultiStepLR::lr_at(double base, int64_t epoch) const {
    const auto reached =
        std::upper_bound(options_.milestones.begin(), options_.milestones.end(), epoch) - options_.milestones.begin();
    return base * std::pow(options_.gamma, static_cast<double>(reached));
}
double MultiStepLR::next_lr(double current, double) const {
    // A milestone listed twice multiplies by gamma twice, as PyTorch's Counter of milestones does.
    const auto [first, last] = std::equal_range(options_.milestones.begin(), options_.milestones.end(), last_epoch_);
    return last == first ? current : current * std::pow(options_.gamma, static_cast<double>(last - first));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, Options options)
    : ClosedFormLRScheduler(optimizer), options_(options) {
    check_positive_finite(options.gamma, "ExponentialLR", "gamma");
    apply();
}
double ExponentialLR::lr_at(double base, int64_t epoch) const {
    return base * std::pow(options_.gamma, static_cast<double>(epoch));
}
double ExponentialLR::next_lr(double current, double) const {
    return last_epoch_ == 0 ? current : current * options_.gamma;
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, Options options)
    : ClosedFormLRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", options.T_max);
    check_finite_at_least(options.eta_min, 0, "CosineAnnealingLR", "eta_min");
    apply();
}
double CosineAnnealingLR::lr_at(double base, int64_t epoch) const {
    const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(options_.T_max);
    return options_.eta_min + (base - options_.eta_min) * (1 + std::cos(phase)) / 2;
}
double CosineAnnealingLR::next_lr(double current, double base) const {
    // PyTorch's recursion: the ratio of consecutive closed-form distances above eta_min, except at
    // the epoch after each minimum, where that ratio would divide by 1 + cos(pi) = 0 and the lr
    // climbs by the closed form's first step instead.
    const int64_t e = last_epoch_, T = options_.T_max;
    const double eta_min = options_.eta_min;
    if (e == 0) return current;
    if ((e - 1 - T) % (2 * T) == 0)
        return current + (base - eta_min) * (1 - std::cos(M_PI / static_cast<double>(T))) / 2;
    return (1 + std::cos(M_PI * static_cast<double>(e) / static_cast<double>(T))) /
               (1 + std::cos(M_PI * static_cast<double>(e - 1) / static_cast<double>(T))) * (current - eta_min) +
           eta_min;
}

LinearLR::LinearLR(Optimizer& optimizer, Options options) : ClosedFormLRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.start_factor > 0 && options.start_factor <= 1, "LinearLR: start_factor must be in (0, 1], got ",
                options.start_factor);
    XGRAD_CHECK(options.end_factor >= 0 && options.end_factor <= 1, "LinearLR: end_factor must be in [0, 1], got ",
                options.end_factor);
    XGRAD_CHECK(options.total_iters > 0, "LinearLR: total_iters must be positive, got ", options.total_iters);
    apply();  // epoch 0 already uses start_factor
}
double LinearLR::lr_at(double base, int64_t epoch) const {
    const double progress =
        static_cast<double>(std::min(epoch, options_.total_iters)) / static_cast<double>(options_.total_iters);
    return base * (options_.start_factor + (options_.end_factor - options_.start_factor) * progress);
}
double LinearLR::next_lr(double current, double) const {
    // PyTorch's recursion: the ratio of this epoch's factor to the last one's.
    const double start = options_.start_factor, end = options_.end_factor;
    const int64_t e = last_epoch_, total = options_.total_iters;
    if (e == 0) return current * start;
    if (e > total) return current;
    return current *
           (1 + (end - start) / (static_cast<double>(total) * start + static_cast<double>(e - 1) * (end - start)));
}

ConstantLR::ConstantLR(Optimizer& optimizer, Options options) : ClosedFormLRScheduler(optimizer), options_(options) {
    // 0 is refused: the lr is divided by the factor at total_iters (PyTorch fails there, dividing by 0).
    XGRAD_CHECK(options.factor > 0 && options.factor <= 1, "ConstantLR: factor must be in (0, 1], got ",
                options.factor);
    XGRAD_CHECK(options.total_iters >= 0, "ConstantLR: total_iters must be non-negative, got ", options.total_iters);
    apply();  // epoch 0 already uses the factor
}
double ConstantLR::lr_at(double base, int64_t epoch) const {
    return base * (epoch >= options_.total_iters ? 1.0 : options_.factor);
}
double ConstantLR::next_lr(double current, double) const {
    // PyTorch's recursion: times the factor at epoch 0, divided by it again at total_iters.
    if (last_epoch_ == 0) return current * options_.factor;
    return last_epoch_ == options_.total_iters ? current * (1.0 / options_.factor) : current;
}

PolynomialLR::PolynomialLR(Optimizer& optimizer, Options options)
    : ClosedFormLRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.total_iters > 0, "PolynomialLR: total_iters must be positive, got ", options.total_iters);
    check_finite_at_least(options.power, 0, "PolynomialLR", "power");
    apply();
}
double PolynomialLR::lr_at(double base, int64_t epoch) const {
    const double done =
        static_cast<double>(std::min(epoch, options_.total_iters)) / static_cast<double>(options_.total_iters);
    return base * std::pow(1.0 - done, options_.power);
}
double PolynomialLR::next_lr(double current, double) const {
    // PyTorch's recursion: the ratio of this epoch's factor to the last one's.
    const int64_t e = last_epoch_;
    const auto total = static_cast<double>(options_.total_iters);
    if (e == 0 || e > options_.total_iters) return current;
    const double ratio = (1.0 - static_cast<double>(e) / total) / (1.0 - static_cast<double>(e - 1) / total);
    return current * std::pow(ratio, options_.power);
}

namespace {
// One function per group: the single one repeated, or the caller's list checked against the groups.
template <class Lambda>
std::vector<Lambda> per_group(const Optimizer& optimizer, std::vector<Lambda> lambdas, const char* scheduler) {
    if (lambdas.size() == 1) lambdas.resize(optimizer.param_group_count(), lambdas.front());
    XGRAD_CHECK(lambdas.size() == optimizer.param_group_count(), scheduler, ": expected ",
                optimizer.param_group_count(), " lr_lambdas (one per parameter group), got ", lambdas.size());
    for (std::size_t g = 0; g < lambdas.size(); ++g)
        XGRAD_CHECK(static_cast<bool>(lambdas[g]), scheduler, ": lr_lambda ", g, " is empty");
    return lambdas;
}
}  // namespace

LambdaLR::LambdaLR(Optimizer& optimizer, Lambda lr_lambda)
    : LambdaLR(optimizer, std::vector<Lambda>{std::move(lr_lambda)}) {}
LambdaLR::LambdaLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : LRScheduler(optimizer), lr_lambdas_(per_group(optimizer, std::move(lr_lambdas), "LambdaLR")) {
    apply();  // epoch 0 already uses lr_lambda(0)
}
double LambdaLR::compute_lr(std::size_t group, double) const {
    return base_lrs_[group] * lr_lambdas_[group](last_epoch_);
}

MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, Lambda lr_lambda)
    : MultiplicativeLR(optimizer, std::vector<Lambda>{std::move(lr_lambda)}) {}
MultiplicativeLR::MultiplicativeLR(Optimizer& optimizer, std::vector<Lambda> lr_lambdas)
    : LRScheduler(optimizer), lr_lambdas_(per_group(optimizer, std::move(lr_lambdas), "MultiplicativeLR")) {}
double MultiplicativeLR::compute_lr(std::size_t group, double current) const {
    // Epoch 0 (construction, or a restart under SequentialLR) keeps the lr it finds.
    return last_epoch_ > 0 ? current * lr_lambdas_[group](last_epoch_) : current;
}

ComposedLRScheduler::ComposedLRScheduler(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>>&& schedulers,
                                         const char* who)
    : LRScheduler(optimizer), schedulers_(std::move(schedulers)) {
    XGRAD_CHECK(!schedulers_.empty(), who, ": needs at least one scheduler");
    for (std::size_t k = 0; k < schedulers_.size(); ++k) {
        XGRAD_CHECK(schedulers_[k] != nullptr, who, ": scheduler ", k, " is null");
        XGRAD_CHECK(&schedulers_[k]->optimizer_ == &optimizer, who, ": scheduler ", k,
                    " drives another optimizer; every schedule must drive the same one");
    }
}

namespace {
// Where schedule k's entries sit in a composition's state.
std::string schedule_prefix(std::size_t k) {
    return "schedulers." + std::to_string(k) + ".";
}
}  // namespace

SchedulerState ComposedLRScheduler::state_dict() const {
    SchedulerState state = LRScheduler::state_dict();
    for (std::size_t k = 0; k < schedulers_.size(); ++k)
        for (const auto& [key, value] : schedulers_[k]->state_dict()) state[schedule_prefix(k) + key] = value;
    return state;
}

std::vector<SchedulerState> ComposedLRScheduler::schedule_parts(const SchedulerState& state) const {
    std::vector<SchedulerState> parts(schedulers_.size());
    for (std::size_t k = 0; k < schedulers_.size(); ++k)
        for (const auto& [key, value] : schedulers_[k]->state_dict())
            parts[k][key] = entry(state, schedule_prefix(k) + key);
    return parts;
}

void ComposedLRScheduler::load_parts(const std::vector<SchedulerState>& parts, const SchedulerState& own) {
    for (std::size_t k = 0; k < schedulers_.size(); ++k) schedulers_[k]->load_state_dict(parts[k]);
    LRScheduler::load_state_dict(own);  // last: the lrs it saved (of the running or last schedule) win
}

void ComposedLRScheduler::load_state_dict(const SchedulerState& state) {
    // Check every schedule's entries before loading any; each needs the keys its state_dict has.
    const std::vector<SchedulerState> parts = schedule_parts(state);
    for (const auto& [key, value] : LRScheduler::state_dict()) entry(state, key);  // its own entries
    // A schedule may still refuse its part (a NaN lr, a fractional epoch) after others loaded
    // theirs: then everything goes back to the state it had.
    const SchedulerState before = state_dict();
    try {
        load_parts(parts, state);
    } catch (...) {
        load_parts(schedule_parts(before), before);
        throw;
    }
}

Optimizer& ComposedLRScheduler::first_optimizer(const std::vector<std::shared_ptr<LRScheduler>>& schedulers,
                                                const char* who) {
    XGRAD_CHECK(!schedulers.empty(), who, ": needs at least one scheduler");
    XGRAD_CHECK(schedulers.front() != nullptr, who, ": scheduler 0 is null");
    return schedulers.front()->optimizer_;
}

ChainedScheduler::ChainedScheduler(std::vector<std::shared_ptr<LRScheduler>> schedulers)
    : ComposedLRScheduler(first_optimizer(schedulers, "ChainedScheduler"), std::move(schedulers), "ChainedScheduler") {
    record_optimizer_lrs();
}

void ChainedScheduler::step() {
    ++last_epoch_;
    for (const auto& s : schedulers_) s->step();
    record_optimizer_lrs();
}

// The lrs the chain left, read from the optimizer as PyTorch does (the last schedule's own record
// is stale when it was built before another one changed the lr).
void ChainedScheduler::record_optimizer_lrs() {
    for (std::size_t g = 0; g < last_lrs_.size(); ++g) last_lrs_[g] = optimizer_.lr(g);
}

SequentialLR::SequentialLR(Optimizer& optimizer, std::vector<std::shared_ptr<LRScheduler>> schedulers,
                           std::vector<int64_t> milestones)
    : ComposedLRScheduler(optimizer, std::move(schedulers), "SequentialLR"), milestones_(std::move(milestones)) {
    XGRAD_CHECK(milestones_.size() + 1 == schedulers_.size(),
                "SequentialLR: expected one milestone fewer than schedulers, got ", schedulers_.size(),
                " schedulers and ", milestones_.size(), " milestones");
    XGRAD_CHECK(std::is_sorted(milestones_.begin(), milestones_.end()), "SequentialLR: milestones must be increasing");
    restart();
}

void SequentialLR::restart() {
    // As PyTorch: back to the initial lrs (each schedule's construction set its own epoch 0), then
    // the first schedule's epoch 0.
    last_epoch_ = 0;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, base_lrs_[g]);
    schedulers_.front()->restart();
    last_lrs_ = schedulers_.front()->get_last_lr();
}

void SequentialLR::step() {
    ++last_epoch_;
    const auto k = static_cast<std::size_t>(std::upper_bound(milestones_.begin(), milestones_.end(), last_epoch_) -
                                            milestones_.begin());
    LRScheduler& running = *schedulers_[k];
    // At its milestone a schedule starts at its epoch 0 (PyTorch's scheduler.step(0)).
    if (k > 0 && milestones_[k - 1] == last_epoch_)
        running.restart();
    else
        running.step();
    last_lrs_ = running.get_last_lr();
}

void MomentumCyclingLRScheduler::apply() {
    LRScheduler::apply();
    apply_momentum();
}

void MomentumCyclingLRScheduler::apply_momentum() {
    if (momentum_name_.empty()) return;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_group_option(g, momentum_name_, momentum_at(g));
}

void MomentumCyclingLRScheduler::load_state_dict(const SchedulerState& state) {
    LRScheduler::load_state_dict(state);
    apply_momentum();  // a function of the step alone
}

OneCycleLR::OneCycleLR(Optimizer& optimizer, Options o) : MomentumCyclingLRScheduler(optimizer), options_(o) {
    check_positive_finite(o.max_lr, "OneCycleLR", "max_lr");
    if (o.total_steps != 0) {
        XGRAD_CHECK(o.total_steps > 0, "OneCycleLR: expected a positive total_steps, got ", o.total_steps);
        total_steps_ = o.total_steps;
    } else {
        XGRAD_CHECK(o.epochs != 0 || o.steps_per_epoch != 0,
                    "OneCycleLR: set either total_steps or (epochs and steps_per_epoch)");
        XGRAD_CHECK(o.epochs > 0, "OneCycleLR: expected a positive epochs, got ", o.epochs);
        XGRAD_CHECK(o.steps_per_epoch > 0, "OneCycleLR: expected a positive steps_per_epoch, got ", o.steps_per_epoch);
        total_steps_ = o.epochs * o.steps_per_epoch;
    }
    XGRAD_CHECK(o.pct_start >= 0 && o.pct_start <= 1, "OneCycleLR: pct_start must be in [0, 1], got ", o.pct_start);
    check_positive_finite(o.div_factor, "OneCycleLR", "div_factor");
    check_positive_finite(o.final_div_factor, "OneCycleLR", "final_div_factor");
    if (o.cycle_momentum) {
        check_finite_at_least(o.base_momentum, 0, "OneCycleLR", "base_momentum");
        check_finite_at_least(o.max_momentum, 0, "OneCycleLR", "max_momentum");
    }

    const double initial = o.max_lr / o.div_factor, min_lr = initial / o.final_div_factor;
    const double total = static_cast<double>(total_steps_);
    const double up = o.pct_start * total - 1;  // the step at which the lr peaks
    if (o.three_phase)
        phases_ = {{up, initial, o.max_lr, o.max_momentum, o.base_momentum},
                   {2 * o.pct_start * total - 2, o.max_lr, initial, o.base_momentum, o.max_momentum},
                   {total - 1, initial, min_lr, o.max_momentum, o.max_momentum}};
    else
        phases_ = {{up, initial, o.max_lr, o.max_momentum, o.base_momentum},
                   {total - 1, o.max_lr, min_lr, o.base_momentum, o.max_momentum}};

    if (o.cycle_momentum) {
        momentum_name_ = cycled_momentum_option(optimizer, "OneCycleLR");
        for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
            check_cycled_value(optimizer, g, momentum_name_, o.base_momentum, "OneCycleLR", "base_momentum");
            check_cycled_value(optimizer, g, momentum_name_, o.max_momentum, "OneCycleLR", "max_momentum");
        }
    }
    // The cycle starts from max_lr / div_factor, whatever lr the optimizer had.
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) {
        base_lrs_[g] = initial;
        optimizer.set_initial_lr(g, initial);
    }
    apply();
}

void OneCycleLR::step() {
    // Construction counts as the first step, as in PyTorch's message.
    XGRAD_CHECK(last_epoch_ < total_steps_, "OneCycleLR: tried to step ", last_epoch_ + 2,
                " times; the specified number of total steps is ", total_steps_);
    LRScheduler::step();
}

std::pair<const OneCycleLR::Phase*, double> OneCycleLR::phase_at(int64_t step) const {
    const auto s = static_cast<double>(step);
    double start_step = 0;
    for (std::size_t i = 0; i < phases_.size(); ++i) {
        const Phase& phase = phases_[i];
        if (s <= phase.end_step || i + 1 == phases_.size()) {
            XGRAD_CHECK(phase.end_step != start_step, "OneCycleLR: phase ", i + 1, " has no steps (total_steps ",
                        total_steps_, ", pct_start ", options_.pct_start, ")");
            return {&phase, (s - start_step) / (phase.end_step - start_step)};
        }
        start_step = phase.end_step;
    }
    fail("OneCycleLR: internal error, no phase for step ", step);
}

double OneCycleLR::anneal(double start, double end, double pct) const {
    if (options_.anneal_strategy == Options::Anneal::linear) return (end - start) * pct + start;
    const double cos_out = std::cos(M_PI * pct) + 1;
    return end + (start - end) / 2.0 * cos_out;
}

double OneCycleLR::compute_lr(std::size_t, double) const {
    const auto [phase, pct] = phase_at(last_epoch_);
    return anneal(phase->start_lr, phase->end_lr, pct);
}

double OneCycleLR::momentum_at(std::size_t) const {
    const auto [phase, pct] = phase_at(last_epoch_);
    return anneal(phase->start_momentum, phase->end_momentum, pct);
}

namespace {
// One value for every group, or one per group (PyTorch's _format_param), each finite and >= 0.
std::vector<double> per_group_values(const std::vector<double>& values, std::size_t groups, const char* name) {
    XGRAD_CHECK(values.size() == 1 || values.size() == groups, "CyclicLR: expected ", groups, " values for ", name,
                " (or one for every group), got ", values.size());
    for (double v : values) check_finite_at_least(v, 0, "CyclicLR", name);
    return values.size() == 1 ? std::vector<double>(groups, values[0]) : values;
}

// Every option checked before the optimizer is touched: a refused CyclicLR changes nothing.
const CyclicLROptions& checked(Optimizer& optimizer, const CyclicLROptions& o) {
    const std::size_t groups = optimizer.param_group_count();
    per_group_values(o.base_lr, groups, "base_lr");
    per_group_values(o.max_lr, groups, "max_lr");
    XGRAD_CHECK(o.step_size_up >= 1, "CyclicLR: expected step_size_up >= 1, got ", o.step_size_up);
    XGRAD_CHECK(o.step_size_down.value_or(0) >= 0, "CyclicLR: expected step_size_down >= 0, got ", *o.step_size_down);
    check_positive_finite(o.gamma, "CyclicLR", "gamma");
    if (o.cycle_momentum) {
        const std::string option = cycled_momentum_option(optimizer, "CyclicLR");
        const auto base = per_group_values(o.base_momentum, groups, "base_momentum");
        const auto max = per_group_values(o.max_momentum, groups, "max_momentum");
        for (std::size_t g = 0; g < groups; ++g) {
            check_cycled_value(optimizer, g, option, base[g], "CyclicLR", "base_momentum");
            check_cycled_value(optimizer, g, option, max[g], "CyclicLR", "max_momentum");
        }
    }
    return o;
}

// Sets every group's lr to base_lr before the scheduler records the initial lrs, as PyTorch does.
Optimizer& starting_at(Optimizer& optimizer, const std::vector<double>& base_lr) {
    const auto lrs = per_group_values(base_lr, optimizer.param_group_count(), "base_lr");
    for (std::size_t g = 0; g < lrs.size(); ++g) optimizer.set_lr(g, lrs[g]);
    return optimizer;
}
}  // namespace

CyclicLR::CyclicLR(Optimizer& optimizer, Options o)
    : MomentumCyclingLRScheduler(starting_at(optimizer, checked(optimizer, o).base_lr)), options_(std::move(o)) {
    const std::size_t groups = optimizer.param_group_count();
    base_lrs_ = per_group_values(options_.base_lr, groups, "base_lr");
    max_lrs_ = per_group_values(options_.max_lr, groups, "max_lr");
    const int64_t up = options_.step_size_up, down = options_.step_size_down.value_or(up);
    total_size_ = static_cast<double>(up + down);
    step_ratio_ = static_cast<double>(up) / total_size_;
    if (options_.cycle_momentum) {
        momentum_name_ = cycled_momentum_option(optimizer, "CyclicLR");
        base_momentums_ = per_group_values(options_.base_momentum, groups, "base_momentum");
        max_momentums_ = per_group_values(options_.max_momentum, groups, "max_momentum");
    }
    apply();
}

std::pair<double, double> CyclicLR::position() const {
    const auto t = static_cast<double>(last_epoch_);
    const double cycle = std::floor(1 + t / total_size_);
    const double x = 1 + t / total_size_ - cycle;
    const double f = x <= step_ratio_ ? x / step_ratio_ : (x - 1) / (step_ratio_ - 1);
    if (options_.scale_fn) return {f, options_.scale_fn(options_.scale_mode == Options::ScaleMode::cycle ? cycle : t)};
    switch (options_.mode) {
        case Options::Mode::triangular2:
            return {f, 1 / std::pow(2.0, cycle - 1)};
        case Options::Mode::exp_range:
            return {f, std::pow(options_.gamma, t)};
        case Options::Mode::triangular:
            break;
    }
    return {f, 1.0};
}

double CyclicLR::compute_lr(std::size_t group, double) const {
    const auto [f, scale] = position();
    // PyTorch's order of operations, for the same bits.
    return base_lrs_[group] + (max_lrs_[group] - base_lrs_[group]) * f * scale;
}

double CyclicLR::momentum_at(std::size_t group) const {
    const auto [f, scale] = position();
    return max_momentums_[group] - (max_momentums_[group] - base_momentums_[group]) * f * scale;
}

CosineAnnealingWarmRestarts::CosineAnnealingWarmRestarts(Optimizer& optimizer, Options options)
    : LRScheduler(optimizer), options_(options), T_i_(options.T_0) {
    XGRAD_CHECK(options.T_0 > 0, "CosineAnnealingWarmRestarts: expected a positive T_0, got ", options.T_0);
    XGRAD_CHECK(options.T_mult >= 1, "CosineAnnealingWarmRestarts: expected T_mult >= 1, got ", options.T_mult);
    check_finite_at_least(options.eta_min, 0, "CosineAnnealingWarmRestarts", "eta_min");
    apply();
}

double CosineAnnealingWarmRestarts::compute_lr(std::size_t group, double) const {
    const double eta_min = options_.eta_min;
    return eta_min + (base_lrs_[group] - eta_min) * (1 + std::cos(M_PI * T_cur_ / static_cast<double>(T_i_))) / 2;
}

void CosineAnnealingWarmRestarts::step() {
    T_cur_ += 1;
    if (T_cur_ >= static_cast<double>(T_i_)) {  // a warm restart
        T_cur_ -= static_cast<double>(T_i_);
        T_i_ *= options_.T_mult;
    }
    LRScheduler::step();
}

void CosineAnnealingWarmRestarts::step(double epoch) {
    XGRAD_CHECK(epoch >= 0, "CosineAnnealingWarmRestarts: expected a non-negative epoch, got ", epoch);
    const auto T_0 = static_cast<double>(options_.T_0);
    const int64_t T_mult = options_.T_mult;
    if (epoch < T_0) {
        T_i_ = options_.T_0;
        T_cur_ = epoch;
    } else if (T_mult == 1) {
        T_cur_ = std::fmod(epoch, T_0);
    } else {
        // Periods T_0, T_0 m, T_0 m^2, ... end at T_0 (m^n - 1) / (m - 1): n restarts happened by epoch.
        const auto m = static_cast<double>(T_mult);
        const auto n = static_cast<int64_t>(std::log(epoch / T_0 * (m - 1) + 1) / std::log(m));
        int64_t power = 1;
        for (int64_t i = 0; i < n; ++i) power *= T_mult;
        T_cur_ = epoch - T_0 * static_cast<double>(power - 1) / (m - 1);
        T_i_ = options_.T_0 * power;
        // The logarithm can land a rounding error short of (or past) a restart: an epoch exactly
        // on a boundary starts the new period, as step() does.
        if (T_cur_ >= static_cast<double>(T_i_)) {
            T_cur_ -= static_cast<double>(T_i_);
            T_i_ *= T_mult;
        } else if (T_cur_ < 0 && T_i_ > options_.T_0) {
            T_i_ /= T_mult;
            T_cur_ += static_cast<double>(T_i_);
        }
    }
    last_epoch_ = static_cast<int64_t>(std::floor(epoch));
    apply();
}

void CosineAnnealingWarmRestarts::restart() {
    T_i_ = options_.T_0;
    T_cur_ = 0;
    LRScheduler::restart();
}

SchedulerState CosineAnnealingWarmRestarts::state_dict() const {
    SchedulerState state = LRScheduler::state_dict();
    state["T_cur"] = T_cur_;
    state["T_i"] = static_cast<double>(T_i_);
    return state;
}

void CosineAnnealingWarmRestarts::load_state_dict(const SchedulerState& state) {
    const double T_cur = entry(state, "T_cur");
    const int64_t T_i = whole(entry(state, "T_i"), "T_i", 1);
    XGRAD_CHECK(std::isfinite(T_cur) && T_cur >= 0,
                "load_state_dict: the scheduler's \"T_cur\" must be finite and non-negative, got ", T_cur);
    LRScheduler::load_state_dict(state);
    T_cur_ = T_cur;
    T_i_ = T_i;
}

namespace {
void check_plateau_options(const ReduceLROnPlateauOptions& o, const char* who) {
    XGRAD_CHECK(o.factor < 1 && o.factor >= 0, who, ": factor must be in [0, 1), got ", o.factor);
    XGRAD_CHECK(o.patience >= 0, who, ": patience must be non-negative, got ", o.patience);
    XGRAD_CHECK(o.cooldown >= 0, who, ": cooldown must be non-negative, got ", o.cooldown);
    check_finite_at_least(o.threshold, 0, who, "threshold");
    check_finite_at_least(o.min_lr, 0, who, "min_lr");
    check_finite_at_least(o.eps, 0, who, "eps");
}
}  // namespace

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Options options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.mode == Mode::min ? std::numeric_limits<double>::infinity()
                                      : -std::numeric_limits<double>::infinity()) {
    check_plateau_options(options, "ReduceLROnPlateau");
}

bool ReduceLROnPlateau::improves(double metric) const {
    // PyTorch's is_better, expression for expression (so ties fall the same way).
    const bool relative = options_.threshold_mode == ThresholdMode::rel;
    if (options_.mode == Mode::min)
        return relative ? metric < best_ * (1. - options_.threshold) : metric < best_ - options_.threshold;
    return relative ? metric > best_ * (options_.threshold + 1.) : metric > best_ + options_.threshold;
}

void ReduceLROnPlateau::step(double metric) {
    ++last_epoch_;
    if (improves(metric)) {
        best_ = metric;
        num_bad_epochs_ = 0;
    } else {
        ++num_bad_epochs_;
    }
    if (cooldown_counter_ > 0) {
        --cooldown_counter_;
        num_bad_epochs_ = 0;  // bad epochs during cooldown do not count
    }
    if (num_bad_epochs_ > options_.patience) {
        for (std::size_t g = 0; g < optimizer_.param_group_count(); ++g) {
            const double old_lr = optimizer_.lr(g);
            const double new_lr = std::max(old_lr * options_.factor, options_.min_lr);
            if (old_lr - new_lr > options_.eps) optimizer_.set_lr(g, new_lr);
        }
        cooldown_counter_ = options_.cooldown;
        num_bad_epochs_ = 0;
    }
}

SchedulerState ReduceLROnPlateau::state_dict() const {
    const Options& o = options_;
    return {{"best", best_},
            {"num_bad_epochs", static_cast<double>(num_bad_epochs_)},
            {"cooldown_counter", static_cast<double>(cooldown_counter_)},
            {"last_epoch", static_cast<double>(last_epoch_)},
            {"mode", o.mode == Mode::min ? 0.0 : 1.0},
            {"threshold_mode", o.threshold_mode == ThresholdMode::rel ? 0.0 : 1.0},
            {"threshold", o.threshold},
            {"factor", o.factor},
            {"patience", static_cast<double>(o.patience)},
            {"cooldown", static_cast<double>(o.cooldown)},
            {"min_lr", o.min_lr},
            {"eps", o.eps}};
}

void ReduceLROnPlateau::load_state_dict(const SchedulerState& state) {
    for (const auto& [key, value] : state_dict())
        XGRAD_CHECK(state.count(key), "load_state_dict: the scheduler state has no entry \"", key, "\"");
    auto mode_flag = [&](const char* key) {
        const double v = state.at(key);
        XGRAD_CHECK(v == 0 || v == 1, "load_state_dict: ReduceLROnPlateau's \"", key, "\" must be 0 or 1, got ", v);
        return v == 1;
    };
    Options o = options_;
    o.mode = mode_flag("mode") ? Mode::max : Mode::min;
    o.threshold_mode = mode_flag("threshold_mode") ? ThresholdMode::abs : ThresholdMode::rel;
    o.threshold = state.at("threshold");
    o.factor = state.at("factor");
    o.patience = whole(state.at("patience"), "patience");
    o.cooldown = whole(state.at("cooldown"), "cooldown");
    o.min_lr = state.at("min_lr");
    o.eps = state.at("eps");
    check_plateau_options(o, "load_state_dict: ReduceLROnPlateau");
    const int64_t bad = whole(state.at("num_bad_epochs"), "num_bad_epochs"),
                  cooldown = whole(state.at("cooldown_counter"), "cooldown_counter"),
                  last_epoch = whole(state.at("last_epoch"), "last_epoch", -1);
    options_ = o;
    best_ = state.at("best");
    num_bad_epochs_ = bad;
    cooldown_counter_ = cooldown;
    last_epoch_ = last_epoch;
}

}  // namespace xgrad::optim
