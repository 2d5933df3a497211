#include <xgrad/optim/optimizer.hpp>

#include <optional>
#include <set>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/whole_number.hpp>

namespace xgrad::optim {

void detail::invalid(const char* optimizer, const char* what, double value) {
    fail(optimizer, ": invalid ", what, ": ", value);
}

void detail::check_lr(const char* optimizer, double lr) {
    if (lr < 0) invalid(optimizer, "learning rate", lr);
}
void detail::check_eps(const char* optimizer, double eps) {
    if (eps < 0) invalid(optimizer, "epsilon value", eps);
}
void detail::check_weight_decay(const char* optimizer, double decay) {
    if (decay < 0) invalid(optimizer, "weight_decay value", decay);
}
void detail::check_betas(const char* optimizer, const std::pair<double, double>& betas) {
    if (betas.first < 0 || betas.first >= 1) invalid(optimizer, "beta parameter at index 0", betas.first);
    if (betas.second < 0 || betas.second >= 1) invalid(optimizer, "beta parameter at index 1", betas.second);
}
void detail::check_non_negative(const char* optimizer, const char* name, double value) {
    if (value < 0) invalid(optimizer, (std::string(name) + " value").c_str(), value);
}
void detail::check_between(const char* optimizer, const char* name, double value, double lo, double hi) {
    if (value < lo || value > hi) invalid(optimizer, (std::string(name) + " value").c_str(), value);
}

void Optimizer::add_params(std::vector<Tensor> params, const char* optimizer_name) {
    std::set<const void*> seen;
    for (const auto& group : params_)
        for (const Tensor& p : group) seen.insert(p.impl().get());
    for (std::size_t i = 0; i < params.size(); ++i) {
        const Tensor& p = params[i];
        XGRAD_CHECK(p.defined(), optimizer_name, ": parameter ", i, " is undefined");
        XGRAD_CHECK(p.is_leaf(), optimizer_name, ": parameter ", i, " (shape ", p.sizes(),
                    ") is not a leaf tensor; optimizers update leaves such as module parameters");
        XGRAD_CHECK(is_floating(p.dtype()), optimizer_name, ": parameter ", i, " has dtype ", p.dtype(),
                    "; only floating-point tensors can be optimized");
        XGRAD_CHECK(p.is_contiguous(), optimizer_name, ": parameter ", i, " (shape ", p.sizes(),
                    ") is not contiguous; pass contiguous parameters");
        XGRAD_CHECK(seen.insert(p.impl().get()).second, optimizer_name, ": parameter ", i,
                    " appears in more than one parameter group");
    }
    state_.emplace_back(params.size());
    initial_lrs_.emplace_back();
    params_.push_back(std::move(params));
}

void Optimizer::step() {
    NoGradGuard no_grad;
    for (std::size_t g = 0; g < params_.size(); ++g) {
        for (std::size_t i = 0; i < params_[g].size(); ++i) {
            const Tensor& p = params_[g][i];
            Tensor grad = p.grad();
            if (!grad.defined()) continue;
            XGRAD_CHECK(grad.sizes() == p.sizes(), "step: the gradient of parameter ", i, " has shape ", grad.sizes(),
                        " but the parameter has shape ", p.sizes());
            if (!grad.is_contiguous() || grad.dtype() != p.dtype()) grad = grad.to(p.dtype()).contiguous();
            // Ascent is descent on the negated gradient, before weight decay joins it, as in
            // PyTorch (the penalty still pulls the parameters towards zero).
            if (maximizes(g)) grad = -grad;
            ParamState& s = state_[g][i];
            // Buffers appear at the first step, or later when an option asks for one (a scheduler
            // that turns SGD's momentum on); they are never dropped, as in PyTorch.
            const std::size_t buffer_count = buffer_names(g).size(), scalar_count = scalar_names(g).size();
            if (s.buffers.size() < buffer_count) s.buffers_created_at = s.step + 1;
            for (std::size_t k = s.buffers.size(); k < buffer_count; ++k)
                s.buffers.push_back(full(p.sizes(), buffer_initial_value(g, k), p.dtype()));
            for (std::size_t k = s.scalars.size(); k < scalar_count; ++k)
                s.scalars.push_back(scalar_initial_value(g, k));
            ++s.step;
            update(g, p, grad, s);
            p.data().bump_version();
        }
    }
}

void Optimizer::zero_grad(bool set_to_none) {
    for (const auto& group : params_)
        for (const Tensor& p : group) {
            if (!p.grad().defined()) continue;
            if (set_to_none)
                p.set_grad(Tensor());
            else
                p.grad().zero_();
        }
}

std::vector<Tensor> Optimizer::parameters() const {
    std::vector<Tensor> all;
    for (const auto& group : params_) all.insert(all.end(), group.begin(), group.end());
    return all;
}

int64_t Optimizer::step_count(std::size_t group, std::size_t index) const {
    return state_.at(group).at(index).step;
}

std::optional<double> Optimizer::group_option(std::size_t group, const std::string& name) const {
    for (const auto& [option, value] : group_options(group))
        if (option == name) return value;
    return std::nullopt;
}

void Optimizer::set_group_option(std::size_t group, const std::string& name, double value) {
    // set_group_options takes every option at once: read them all, change one.
    std::map<std::string, double> values;
    for (const auto& [option, current] : group_options(group)) values[option] = current;
    XGRAD_CHECK(values.count(name), "set_group_option: the optimizer has no option \"", name, "\"");
    values[name] = value;
    set_group_options(group, values);
}

StateDict Optimizer::state_dict() const {
    StateDict dict;
    for (std::size_t g = 0; g < params_.size(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        for (const auto& [name, value] : group_options(g)) dict[prefix + name] = scalar_tensor(value, kFloat64);
        dict[prefix + "params"] = scalar_tensor(static_cast<double>(params_[g].size()), kFloat64);
        const auto names = buffer_names(g);
        for (std::size_t i = 0; i < params_[g].size(); ++i) {
            const ParamState& s = state_[g][i];
            if (s.step == 0) continue;
            const std::string key = "state." + std::to_string(g) + "." + std::to_string(i) + ".";
            dict[key + "step"] = scalar_tensor(static_cast<double>(s.step), kFloat64);
            // Only the buffers that exist: an option changed since the last step (SGD's momentum
            // turned on) may name more, which the next step creates; the marker says so.
            for (std::size_t k = 0; k < names.size() && k < s.buffers.size(); ++k)
                dict[key + names[k]] = s.buffers[k].clone();
            if (s.buffers.size() < names.size()) dict[key + "buffers_pending"] = scalar_tensor(1.0, kFloat64);
            const auto scalars = scalar_names(g);
            for (std::size_t k = 0; k < scalars.size() && k < s.scalars.size(); ++k)
                dict[key + scalars[k]] = scalar_tensor(s.scalars[k], kFloat64);
        }
    }
    return dict;
}

namespace {
// The decimal number at key[at...] up to the next '.', with `at` moved past that '.'; nullopt if
// there is none.
std::optional<std::size_t> index_in_key(const std::string& key, std::size_t& at) {
    std::size_t end = at;
    while (end < key.size() && key[end] >= '0' && key[end] <= '9') ++end;
    if (end == at || end - at > 9 || end >= key.size() || key[end] != '.') return std::nullopt;
    const auto value = static_cast<std::size_t>(std::stoul(key.substr(at, end - at)));
    at = end + 1;
    return value;
}
}  // namespace

void Optimizer::check_same_groups(const StateDict& dict) const {
    // The groups first (a dict of two groups loaded into one is named as such), then their sizes.
    const std::size_t groups = params_.size();
    for (const bool sizes : {false, true}) {
        for (const auto& [key, value] : dict) {
            const bool group_key = key.rfind("param_groups.", 0) == 0, state_key = key.rfind("state.", 0) == 0;
            if (!group_key && !state_key) continue;
            std::size_t at = group_key ? 13 : 6;
            const auto g = index_in_key(key, at);
            XGRAD_CHECK(g, "load_state_dict: the entry \"", key, "\" names no parameter group");
            XGRAD_CHECK(*g < groups, "load_state_dict: the saved state has parameter group ", *g, " (\"", key,
                        "\") but the optimizer has ", groups, " group", groups == 1 ? "" : "s");
            if (!sizes) continue;
            const std::size_t have = params_[*g].size();
            if (group_key && key.compare(at, std::string::npos, "params") == 0) {
                const double saved = value.item();
                XGRAD_CHECK(saved == static_cast<double>(have), "load_state_dict: parameter group ", *g,
                            " was saved with ", saved, " parameters but has ", have, " here");
            } else if (state_key) {
                const auto i = index_in_key(key, at);
                XGRAD_CHECK(i, "load_state_dict: the entry \"", key, "\" names no parameter");
                XGRAD_CHECK(*i < have, "load_state_dict: the saved state has parameter ", *i, " of group ", *g, " (\"",
                            key, "\") but the group has ", have, " parameter", have == 1 ? "" : "s");
            }
        }
    }
}

void Optimizer::load_state_dict(const StateDict& dict) {
    auto find = [&](const std::string& key) -> const Tensor& {
        auto it = dict.find(key);
        XGRAD_CHECK(it != dict.end(), "load_state_dict: the optimizer state has no entry \"", key, "\"");
        return it->second;
    };
    // Validate everything first, so that a bad dict leaves the optimizer untouched.
    check_same_groups(dict);
    std::vector<std::map<std::string, double>> options(params_.size());
    std::vector<std::vector<ParamState>> state(params_.size());
    for (std::size_t g = 0; g < params_.size(); ++g) {
        const std::string prefix = "param_groups." + std::to_string(g) + ".";
        std::map<std::string, double> current;
        for (const auto& [name, value] : group_options(g)) {
            // A state saved before maximize existed ascends no more than PyTorch's does.
            const bool added_later = name == "maximize" && !dict.count(prefix + name);
            options[g][name] = added_later ? 0.0 : find(prefix + name).item();
            current[name] = value;
        }
        // The buffers the saved options call for (SGD saved with momentum has a buffer that one
        // built without would not name): set them for a moment, which also validates them.
        set_group_options(g, options[g]);
        const auto names = buffer_names(g), scalars = scalar_names(g);
        set_group_options(g, current);
        for (std::size_t i = 0; i < params_[g].size(); ++i) {
            const std::string key = "state." + std::to_string(g) + "." + std::to_string(i) + ".";
            ParamState s;
            if (dict.count(key + "step")) {
                s.step = whole_number(find(key + "step").item(), 1, "load_state_dict: \"" + key + "step\"");
                // Buffers an option asked for after the last step (SGD's momentum turned on) are
                // missing, marked as pending, and created at the next step; otherwise a missing
                // buffer is an error.
                const bool none_saved = dict.count(key + "buffers_pending") > 0;
                for (const std::string& name : none_saved ? std::vector<std::string>{} : names) {
                    const Tensor& b = find(key + name);
                    const Tensor& p = params_[g][i];
                    XGRAD_CHECK(b.sizes() == p.sizes() && b.dtype() == p.dtype(), "load_state_dict: \"", key + name,
                                "\" has shape ", b.sizes(), " and dtype ", b.dtype(), " but the parameter has shape ",
                                p.sizes(), " and dtype ", p.dtype());
                    s.buffers.push_back(b.clone());
                }
                if (!none_saved)
                    for (const std::string& name : scalars) s.scalars.push_back(find(key + name).item());
            }
            state[g].push_back(std::move(s));
        }
    }
    for (std::size_t g = 0; g < params_.size(); ++g) set_group_options(g, options[g]);
    state_ = std::move(state);
}

}  // namespace xgrad::optim
