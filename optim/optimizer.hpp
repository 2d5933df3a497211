#pragma once
/// The optimizer base: parameter groups (each with its own options), per-parameter state in
/// vectors parallel to the parameters, zero_grad(), step(), and state_dict() for resuming.
///
///     optim::Adam opt(model.parameters(), {.lr = 1e-3, .weight_decay = 1e-4});
///     opt.zero_grad(); loss.backward(); opt.step();
///
/// Updates run in place under NoGradGuard, as fused loops over each parameter's elements: no
/// graph, and no allocation after the first step (which creates the state buffers).
///
/// weight_decay (every optimizer) is coupled L2 regularization, as in PyTorch: it adds
/// weight_decay * theta to the gradient, which is exactly the gradient of the penalty
/// (weight_decay / 2) * ||theta||^2. So weight_decay = lambda matches adding the lecture's explicit
/// Cost = Loss + lambda/2 ||w||^2 to the loss, but it applies to every parameter of the group
/// (put biases in a group with weight_decay 0 to spare them). For Adam-type optimizers the
/// decayed gradient is then rescaled per parameter; AdamW's decoupled decay avoids that.

#include <cmath>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <utility>

#include <xgrad/autograd/tensor.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::optim {

namespace detail {
/// A message for an invalid option: "SGD: invalid learning rate: -1".
[[noreturn]] void invalid(const char* optimizer, const char* what, double value);
/// The checks the optimizers share, in PyTorch's wording, so that every optimizer names a bad
/// option the same way.
void check_lr(const char* optimizer, double lr);                                  ///< lr >= 0
void check_eps(const char* optimizer, double eps);                                ///< eps >= 0
void check_weight_decay(const char* optimizer, double decay);                     ///< weight_decay >= 0
void check_betas(const char* optimizer, const std::pair<double, double>& betas);  ///< each in [0, 1)
/// value >= 0: "invalid <name> value: v".
void check_non_negative(const char* optimizer, const char* name, double value);
/// lo <= value <= hi: "invalid <name> value: v".
void check_between(const char* optimizer, const char* name, double value, double lo, double hi);
}  // namespace detail

/// Named tensors: "param_groups.0.lr", "state.0.3.exp_avg", ... (numbers as 0-d float64 tensors).
using StateDict = std::map<std::string, Tensor>;

/// Parameters that share options; without options a group takes the optimizer's defaults.
template <class Options>
struct ParamGroup {
    std::vector<Tensor> params;
    std::optional<Options> options;
};

class Optimizer {
public:
    virtual ~Optimizer() = default;
    Optimizer(const Optimizer&) = delete;
    Optimizer& operator=(const Optimizer&) = delete;

    /// One update of every parameter that has a gradient.
    void step();
    /// Releases the gradients (set_to_none, the default since PyTorch 2.0) or fills them with
    /// zeros (PyTorch 1.13's default). The difference shows for a parameter that gets no gradient
    /// in a step: released, the step skips it (no momentum, no weight decay); zeroed, it is updated
    /// with a zero gradient, as PyTorch 1.13 does by default.
    void zero_grad(bool set_to_none = true);

    std::vector<Tensor> parameters() const;
    std::size_t param_group_count() const { return params_.size(); }
    const std::vector<Tensor>& group_parameters(std::size_t group) const { return params_.at(group); }
    virtual double lr(std::size_t group) const = 0;
    virtual void set_lr(std::size_t group, double lr) = 0;
    /// Steps taken for a parameter (0 before its first update).
    int64_t step_count(std::size_t group, std::size_t index) const;
    /// One option of a group by its state_dict name ("momentum", "beta1"), or nullopt when this
    /// optimizer has no such option: for schedulers that drive more than the lr (OneCycleLR).
    std::optional<double> group_option(std::size_t group, const std::string& name) const;
    void set_group_option(std::size_t group, const std::string& name, double value);
    /// The lr a schedule starts from (PyTorch's group["initial_lr"]), recorded by the first
    /// scheduler attached and shared by the later ones: a warm-up that lowers the lr at once must
    /// not become the starting lr of the decay built after it (see SequentialLR).
    std::optional<double> initial_lr(std::size_t group) const { return initial_lrs_.at(group); }
    void set_initial_lr(std::size_t group, double lr) { initial_lrs_.at(group) = lr; }

    /// Options of every group and the state of every parameter, by name.
    StateDict state_dict() const;
    /// Restores what state_dict() saved; names, shapes and dtypes are checked, and so are the
    /// number of groups and of parameters in each ("param_groups.<g>.params"), as PyTorch checks;
    /// nothing is changed when anything is missing or mismatched.
    void load_state_dict(const StateDict& dict);

protected:
    struct ParamState {
        int64_t step = 0;
        std::vector<Tensor> buffers;     ///< named by buffer_names(), created at the first step
        std::vector<double> scalars;     ///< named by scalar_names(), e.g. NAdam's momentum product
        int64_t buffers_created_at = 0;  ///< the step that created the newest buffers (0: loaded)
    };

    Optimizer() = default;
    void add_params(std::vector<Tensor> params, const char* optimizer_name);
    /// Throws unless `dict` was saved from the same number of groups, each with as many parameters.
    void check_same_groups(const StateDict& dict) const;

    /// Names of the per-parameter buffers (e.g. "exp_avg", "exp_avg_sq").
    virtual std::vector<std::string> buffer_names(std::size_t group) const = 0;
    /// Initial value of buffer k (0 unless overridden, e.g. Adagrad's initial accumulator).
    virtual double buffer_initial_value(std::size_t group, std::size_t k) const { return 0.0; }
    /// Names and initial values of per-parameter scalars (none unless overridden).
    virtual std::vector<std::string> scalar_names(std::size_t group) const { return {}; }
    virtual double scalar_initial_value(std::size_t group, std::size_t k) const { return 0.0; }
    /// Whether the group ascends (the option maximize): step() then hands update() -grad.
    virtual bool maximizes(std::size_t group) const = 0;
    /// Updates param in place from grad (both contiguous, same dtype); state.step was incremented.
    virtual void update(std::size_t group, const Tensor& param, const Tensor& grad, ParamState& state) = 0;
    /// The options of a group as (name, value) pairs, and setting them back.
    virtual std::vector<std::pair<std::string, double>> group_options(std::size_t group) const = 0;
    virtual void set_group_options(std::size_t group, const std::map<std::string, double>& values) = 0;

    std::vector<std::vector<Tensor>> params_;
    std::vector<std::vector<ParamState>> state_;
    std::vector<std::optional<double>> initial_lrs_;  ///< per group; not part of state_dict (schedulers save their own)
};

/// The options plumbing every concrete optimizer shares: defaults, one Options per group,
/// lr access, and (de)serialization through Options::fields().
template <class Options>
class OptimizerWithOptions : public Optimizer {
public:
    double lr(std::size_t group) const override { return options_.at(group).lr; }
    bool maximizes(std::size_t group) const override { return options_.at(group).maximize; }
    void set_lr(std::size_t group, double lr) override {
        Options o = options_.at(group);
        o.lr = lr;
        validate(o);  // NaN, inf or a negative lr is refused here too, and leaves the group as it was
        options_.at(group) = o;
    }
    const Options& options(std::size_t group = 0) const { return options_.at(group); }
    const Options& defaults() const { return defaults_; }

    void add_param_group(ParamGroup<Options> group) {
        Options o = group.options.value_or(defaults_);
        validate(o);
        options_.push_back(o);
        add_params(std::move(group.params), Options::kName);
    }

    /// One group of parameters with these options, or groups that fall back on `defaults`. Each
    /// optimizer inherits these two constructors (`using OptimizerWithOptions::OptimizerWithOptions`).
    OptimizerWithOptions(std::vector<Tensor> params, Options options = {})
        : OptimizerWithOptions(one_group(std::move(params)), options) {}
    OptimizerWithOptions(std::vector<ParamGroup<Options>> groups, Options defaults = {}) : defaults_(defaults) {
        XGRAD_CHECK(!groups.empty(), Options::kName, ": got no parameter groups");
        validate(defaults_);
        for (auto& g : groups) add_param_group(std::move(g));
    }

protected:
    // An empty list is a mistake (model.parameters() of a model not built yet), as in PyTorch.
    static std::vector<ParamGroup<Options>> one_group(std::vector<Tensor> params) {
        XGRAD_CHECK(!params.empty(), Options::kName, ": got an empty parameter list");
        return {{std::move(params), std::nullopt}};
    }
    std::vector<std::pair<std::string, double>> group_options(std::size_t group) const override {
        std::vector<std::pair<std::string, double>> out;
        Options copy = options_.at(group);
        copy.fields([&](const char* name, auto& value) { out.emplace_back(name, static_cast<double>(value)); });
        return out;
    }
    void set_group_options(std::size_t group, const std::map<std::string, double>& values) override {
        Options o = options_.at(group);
        o.fields([&](const char* name, auto& value) {
            value = static_cast<std::decay_t<decltype(value)>>(values.at(name));
        });
        validate(o);  // a bad value leaves the group untouched
        options_.at(group) = o;
    }

    /// Every option finite (NaN or inf are refused, as PyTorch refuses them), then the
    /// optimizer's own ranges.
    static void validate(Options o) {
        o.fields([](const char* name, auto& value) {
            const auto number = static_cast<double>(value);
            if (!std::isfinite(number)) detail::invalid(Options::kName, name, number);
        });
        o.validate();
    }

    Options defaults_;
    std::vector<Options> options_;
};

namespace detail {
/// body(i) for i in [begin, end), on a private copy of body: a plain loop the compiler vectorizes.
template <class Body>
void update_range(Body body, int64_t begin, int64_t end) {
    for (int64_t i = begin; i < end; ++i) body(i);
}

/// body(i) for every i < n, split over threads when n is large. body must capture by value and
/// touch only element i. (Each piece runs on a private copy of body: reaching captured variables
/// through a pointer kept GCC from vectorizing the update, ~10x slower.)
template <class Body>
void for_each_element(int64_t n, const Body& body) {
    // An update reads and writes several arrays per element: it counts as a few element-wise ops.
    ::xgrad::detail::parallel_for(n, 4.0, 16, [&](int64_t begin, int64_t end) { update_range(body, begin, end); });
}
}  // namespace detail

}  // namespace xgrad::optim
