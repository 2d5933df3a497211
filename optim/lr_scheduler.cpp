#include "optim/lr_scheduler.hpp"

#include <algorithm>
#include <cmath>
#include <limits>

namespace xgrad::optim {

LRScheduler::LRScheduler(Optimizer& optimizer) : optimizer_(optimizer) {
    for (std::size_t g = 0; g < optimizer.param_group_count(); ++g) base_lrs_.push_back(optimizer.lr(g));
}

void LRScheduler::step() {
    ++last_epoch_;
    apply();
}

void LRScheduler::apply() {
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) optimizer_.set_lr(g, lr_at(base_lrs_[g], last_epoch_));
}

std::vector<double> LRScheduler::get_last_lr() const {
    std::vector<double> lrs;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) lrs.push_back(optimizer_.lr(g));
    return lrs;
}

std::map<std::string, double> LRScheduler::state_dict() const {
    std::map<std::string, double> state{{"last_epoch", static_cast<double>(last_epoch_)}};
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) state["base_lrs." + std::to_string(g)] = base_lrs_[g];
    return state;
}

void LRScheduler::load_state_dict(const std::map<std::string, double>& state) {
    auto get = [&](const std::string& key) {
        auto it = state.find(key);
        XGRAD_CHECK(it != state.end(), "load_state_dict: the scheduler state has no entry \"", key, "\"");
        return it->second;
    };
    std::vector<double> bases;
    for (std::size_t g = 0; g < base_lrs_.size(); ++g) bases.push_back(get("base_lrs." + std::to_string(g)));
    last_epoch_ = static_cast<int64_t>(get("last_epoch"));
    base_lrs_ = bases;
    apply();
}

StepLR::StepLR(Optimizer& optimizer, Options options) : LRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.step_size > 0, "StepLR: step_size must be positive, got ", options.step_size);
}
double StepLR::lr_at(double base, int64_t epoch) const {
    return base * std::pow(options_.gamma, static_cast<double>(epoch / options_.step_size));
}

MultiStepLR::MultiStepLR(Optimizer& optimizer, Options options) : LRScheduler(optimizer), options_(std::move(options)) {
    XGRAD_CHECK(std::is_sorted(options_.milestones.begin(), options_.milestones.end()),
                "MultiStepLR: milestones must be increasing");
}
double MultiStepLR::lr_at(double base, int64_t epoch) const {
    const auto reached = std::upper_bound(options_.milestones.begin(), options_.milestones.end(), epoch) -
                         options_.milestones.begin();
    return base * std::pow(options_.gamma, static_cast<double>(reached));
}

ExponentialLR::ExponentialLR(Optimizer& optimizer, Options options) : LRScheduler(optimizer), options_(options) {}
double ExponentialLR::lr_at(double base, int64_t epoch) const {
    return base * std::pow(options_.gamma, static_cast<double>(epoch));
}

CosineAnnealingLR::CosineAnnealingLR(Optimizer& optimizer, Options options) : LRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.T_max > 0, "CosineAnnealingLR: T_max must be positive, got ", options.T_max);
}
double CosineAnnealingLR::lr_at(double base, int64_t epoch) const {
    const double phase = M_PI * static_cast<double>(epoch) / static_cast<double>(options_.T_max);
    return options_.eta_min + (base - options_.eta_min) * (1 + std::cos(phase)) / 2;
}

LinearLR::LinearLR(Optimizer& optimizer, Options options) : LRScheduler(optimizer), options_(options) {
    XGRAD_CHECK(options.start_factor > 0 && options.start_factor <= 1, "LinearLR: start_factor must be in (0, 1], got ",
                options.start_factor);
    XGRAD_CHECK(options.end_factor >= 0 && options.end_factor <= 1, "LinearLR: end_factor must be in [0, 1], got ",
                options.end_factor);
    XGRAD_CHECK(options.total_iters > 0, "LinearLR: total_iters must be positive, got ", options.total_iters);
    apply();  // epoch 0 already uses start_factor
}
double LinearLR::lr_at(double base, int64_t epoch) const {
    const double progress = static_cast<double>(std::min(epoch, options_.total_iters)) / static_cast<double>(options_.total_iters);
    return base * (options_.start_factor + (options_.end_factor - options_.start_factor) * progress);
}

ReduceLROnPlateau::ReduceLROnPlateau(Optimizer& optimizer, Options options)
    : optimizer_(optimizer),
      options_(options),
      best_(options.mode == Mode::min ? std::numeric_limits<double>::infinity() : -std::numeric_limits<double>::infinity()) {
    XGRAD_CHECK(options.factor < 1 && options.factor >= 0, "ReduceLROnPlateau: factor must be in [0, 1), got ",
                options.factor);
}

bool ReduceLROnPlateau::improves(double metric) const {
    return options_.mode == Mode::min ? metric < best_ * (1 - options_.threshold) : metric > best_ * (1 + options_.threshold);
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

std::map<std::string, double> ReduceLROnPlateau::state_dict() const {
    return {{"best", best_},
            {"num_bad_epochs", static_cast<double>(num_bad_epochs_)},
            {"cooldown_counter", static_cast<double>(cooldown_counter_)},
            {"last_epoch", static_cast<double>(last_epoch_)}};
}

void ReduceLROnPlateau::load_state_dict(const std::map<std::string, double>& state) {
    for (const char* key : {"best", "num_bad_epochs", "cooldown_counter", "last_epoch"})
        XGRAD_CHECK(state.count(key), "load_state_dict: the scheduler state has no entry \"", key, "\"");
    best_ = state.at("best");
    num_bad_epochs_ = static_cast<int64_t>(state.at("num_bad_epochs"));
    cooldown_counter_ = static_cast<int64_t>(state.at("cooldown_counter"));
    last_epoch_ = static_cast<int64_t>(state.at("last_epoch"));
}

}  // namespace xgrad::optim
