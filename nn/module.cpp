#include <xgrad/nn/module.hpp>

#include <algorithm>
#include <ostream>
#include <set>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {

Tensor Module::forward(const Tensor&) {
    fail(type_name(), ": this module has no forward(const Tensor&); call its own forward");
}

Tensor Module::operator()(const Tensor& input) {
    return run_forward_hooks(input, forward(input));
}

const Tensor& Module::run_forward_hooks(const Tensor& input, const Tensor& output) {
    if (!has_forward_hooks()) return output;
    // The hooks of this call, held here: a hook that removes or adds hooks changes the list, not
    // this loop, and one removed before its turn is skipped (its owner may be gone).
    const std::shared_ptr<detail::ForwardHookList> list = forward_hooks_;
    const auto hooks = list->hooks;
    for (const auto& [id, hook] : hooks) {
        const bool still_registered = std::any_of(list->hooks.begin(), list->hooks.end(),
                                                  [id = id](const auto& entry) { return entry.first == id; });
        if (still_registered) (*hook)(*this, input, output);
    }
    return output;
}

RemovableHandle Module::register_forward_hook(ForwardHook hook) {
    XGRAD_CHECK(hook != nullptr, type_name(), ": register_forward_hook got an empty function");
    if (!forward_hooks_) forward_hooks_ = std::make_shared<detail::ForwardHookList>();
    const int id = forward_hooks_->next_id++;
    forward_hooks_->hooks.emplace_back(id, std::make_shared<const ForwardHook>(std::move(hook)));
    return RemovableHandle(forward_hooks_, id);
}

void RemovableHandle::remove() {
    if (const std::shared_ptr<detail::ForwardHookList> list = list_.lock())
        std::erase_if(list->hooks, [this](const auto& entry) { return entry.first == id_; });
    list_.reset();
}

void Module::check_new_name(const std::string& name, const char* what) const {
    XGRAD_CHECK(!name.empty() && name.find('.') == std::string::npos, type_name(), ": invalid ", what, " name \"", name,
                "\" (it must be non-empty and contain no '.')");
    auto taken = [&](const auto& list) {
        for (const auto& entry : list)
            if (entry.first == name) return true;
        return false;
    };
    XGRAD_CHECK(!taken(parameters_) && !taken(buffers_) && !taken(children_), type_name(), ": the name \"", name,
                "\" is already registered");
}

void Module::check_parameter(const std::string& name, Tensor& tensor, bool requires_grad) const {
    XGRAD_CHECK(tensor.defined(), type_name(), ": parameter \"", name, "\" is undefined");
    XGRAD_CHECK(tensor.is_leaf(), type_name(), ": parameter \"", name, "\" must be a leaf tensor (use detach())");
    if (requires_grad) tensor.requires_grad_(true);
}

Tensor& Module::register_parameter(std::string name, Tensor tensor, bool requires_grad) {
    check_new_name(name, "parameter");
    check_parameter(name, tensor, requires_grad);
    parameters_.emplace_back(std::move(name), std::move(tensor));
    return parameters_.back().second;
}

namespace {
// The entry of `list` named name, or a clear error naming the module and what it looked for.
template <class List>
auto named_entry(List& list, const std::string& name, const std::string& module, const char* what) {
    const auto it = std::find_if(list.begin(), list.end(), [&](const auto& entry) { return entry.first == name; });
    XGRAD_CHECK(it != list.end(), module, ": no ", what, " named \"", name, "\"");
    return it;
}

// Takes one owning reference to child out of owned (none if the child was registered by reference
// elsewhere); a module registered under two names keeps its other reference.
std::shared_ptr<Module> release_one(std::vector<std::shared_ptr<Module>>& owned, const Module* child) {
    const auto it =
        std::find_if(owned.begin(), owned.end(), [&](const std::shared_ptr<Module>& m) { return m.get() == child; });
    if (it == owned.end()) return nullptr;
    std::shared_ptr<Module> released = std::move(*it);
    owned.erase(it);
    return released;
}
}  // namespace

namespace {
// Whether `root` is `target` or holds it among its submodules, at any depth.
bool holds(const Module& root, const Module* target) {
    if (&root == target) return true;
    std::set<const Module*> seen;
    std::vector<const Module*> pending{&root};
    while (!pending.empty()) {
        const Module* m = pending.back();
        pending.pop_back();
        for (const auto& [name, child] : m->named_children()) {
            if (child == target) return true;
            if (seen.insert(child).second) pending.push_back(child);
        }
    }
    return false;
}
}  // namespace

// A module may appear in several places (shared layers), but never inside itself: the walks over
// parameters and submodules would recurse until the stack ran out, and the shared_ptrs would keep
// each other alive.
void Module::check_no_cycle(const std::string& name, const Module& module) const {
    XGRAD_CHECK(&module != this, type_name(), ": a module cannot be its own child");
    // Only a module that is somebody's child can be reached from another (built bottom-up, a
    // deep model never walks its subtrees).
    XGRAD_CHECK(parents_ == 0 || !holds(module, this), type_name(), ": the ", module.type_name(), " given as \"", name,
                "\" already holds this ", type_name(), " among its submodules; a module cannot contain itself");
}

void Module::replace_module(const std::string& name, std::shared_ptr<Module> module) {
    XGRAD_CHECK(module != nullptr, type_name(), ": cannot put a null module in place of \"", name, "\"");
    check_no_cycle(name, *module);
    const auto it = named_entry(children_, name, type_name(), "submodule");
    --it->second->parents_;  // before the release, which may destroy it
    release_one(owned_, it->second);
    ++module->parents_;
    it->second = module.get();
    owned_.push_back(std::move(module));
}

std::shared_ptr<Module> Module::unregister_module(const std::string& name) {
    const auto it = named_entry(children_, name, type_name(), "submodule");
    --it->second->parents_;
    std::shared_ptr<Module> owned = release_one(owned_, it->second);
    children_.erase(it);
    return owned;
}

Tensor& Module::replace_parameter(const std::string& name, Tensor tensor, bool requires_grad) {
    const auto it = named_entry(parameters_, name, type_name(), "parameter");
    check_parameter(name, tensor, requires_grad);
    it->second = std::move(tensor);
    return it->second;
}

Tensor Module::unregister_parameter(const std::string& name) {
    const auto it = named_entry(parameters_, name, type_name(), "parameter");
    Tensor removed = std::move(it->second);
    parameters_.erase(it);
    return removed;
}

Tensor& Module::register_buffer(std::string name, Tensor tensor) {
    check_new_name(name, "buffer");
    buffers_.emplace_back(std::move(name), std::move(tensor));
    return buffers_.back().second;
}

void Module::add_child(std::string name, Module* module) {
    check_new_name(name, "submodule");
    XGRAD_CHECK(module != nullptr, type_name(), ": cannot register a null module as \"", name, "\"");
    check_no_cycle(name, *module);
    ++module->parents_;
    children_.emplace_back(std::move(name), module);
}

std::vector<std::pair<std::string, Tensor>> Module::named_parameters(bool recurse) const {
    std::vector<std::pair<std::string, Tensor>> out;
    std::set<const void*> seen;  // a shared parameter is listed once, under its first name
    std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
        for (const auto& [name, t] : m.parameters_)
            if (seen.insert(t.impl().get()).second) out.emplace_back(prefix + name, t);
        if (recurse)
            for (const auto& [name, child] : m.children_) walk(*child, prefix + name + ".");
    };
    walk(*this, "");
    return out;
}

std::vector<std::pair<std::string, Tensor>> Module::named_buffers(bool recurse) const {
    std::vector<std::pair<std::string, Tensor>> out;
    std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& prefix) {
        for (const auto& [name, t] : m.buffers_) out.emplace_back(prefix + name, t);
        if (recurse)
            for (const auto& [name, child] : m.children_) walk(*child, prefix + name + ".");
    };
    walk(*this, "");
    return out;
}

std::vector<Tensor> Module::parameters(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_parameters(recurse)) out.push_back(t);
    return out;
}

std::vector<Tensor> Module::buffers(bool recurse) const {
    std::vector<Tensor> out;
    for (auto& [name, t] : named_buffers(recurse)) out.push_back(t);
    return out;
}

std::vector<Module*> Module::children() const {
    std::vector<Module*> out;
    for (const auto& [name, child] : children_) out.push_back(child);
    return out;
}

std::vector<std::pair<std::string, Module*>> Module::named_modules() const {
    std::vector<std::pair<std::string, Module*>> out;
    std::function<void(const Module&, const std::string&)> walk = [&](const Module& m, const std::string& name) {
        out.emplace_back(name, const_cast<Module*>(&m));
        for (const auto& [child_name, child] : m.children_)
            walk(*child, name.empty() ? child_name : name + "." + child_name);
    };
    walk(*this, "");
    return out;
}

std::vector<Module*> Module::modules() const {
    std::vector<Module*> out;
    for (auto& [name, m] : named_modules()) out.push_back(m);
    return out;
}

void Module::train(bool on) {
    training_ = on;
    for (auto& [name, child] : children_) child->train(on);
}

void Module::zero_grad(bool set_to_none) {
    for (const Tensor& p : parameters()) {
        if (!p.grad().defined()) continue;
        if (set_to_none)
            p.set_grad(Tensor());
        else
            p.grad().zero_();
    }
}

void Module::apply(const std::function<void(Module&)>& fn) {
    for (Module* m : modules()) fn(*m);
}

void Module::to(DType dtype) {
    XGRAD_CHECK(is_floating(dtype), type_name(), ".to: parameters must stay floating-point, got ", dtype);
    for (Module* m : modules()) {
        for (auto& [name, p] : m->parameters_) p.set_data(p.data().to(dtype));
        for (auto& [name, b] : m->buffers_)
            if (b.defined() && is_floating(b.dtype())) b.set_data(b.data().to(dtype));
    }
}

StateDict Module::state_dict() const {
    StateDict dict;
    for (auto& [name, p] : named_parameters()) dict[name] = p.detach().clone();
    for (auto& [name, b] : named_buffers())
        if (b.defined()) dict[name] = b.detach().clone();
    return dict;
}

Module::LoadResult Module::load_state_dict(const StateDict& state, bool strict) {
    std::vector<std::pair<std::string, Tensor>> targets = named_parameters();
    for (auto& entry : named_buffers())
        if (entry.second.defined()) targets.push_back(entry);
    // Check everything before writing anything, and report every problem at once.
    LoadResult result;
    std::vector<std::string> mismatched;
    std::vector<std::pair<Tensor, Tensor>> writes;
    std::set<std::string> used;
    for (const auto& [name, target] : targets) {
        auto it = state.find(name);
        if (it == state.end()) {
            result.missing_keys.push_back(name);
            continue;
        }
        used.insert(name);
        const Tensor& value = it->second;
        if (value.sizes() != target.sizes() || value.dtype() != target.dtype()) {
            mismatched.push_back(xgrad::detail::concat("\"", name, "\" has shape ", value.sizes(), " and dtype ",
                                                       value.dtype(), " but the module expects ", target.sizes(),
                                                       " and ", target.dtype()));
            continue;
        }
        writes.emplace_back(target, value);
    }
    for (const auto& [name, value] : state)
        if (!used.count(name)) result.unexpected_keys.push_back(name);
    std::string problems;
    auto list = [&](const char* heading, const std::vector<std::string>& items) {
        if (items.empty()) return;
        problems += std::string(problems.empty() ? "" : "; ") + heading + ": ";
        for (std::size_t i = 0; i < items.size(); ++i) problems += (i ? ", " : "") + items[i];
    };
    if (strict) {
        list("missing entries", result.missing_keys);
        list("unexpected entries (the module has no such parameter or buffer)", result.unexpected_keys);
    }
    list("mismatched entries", mismatched);  // never skipped: a wrong shape is a wrong model
    XGRAD_CHECK(problems.empty(), "load_state_dict: ", problems);
    NoGradGuard no_grad;
    for (auto& [target, value] : writes) target.copy_(value);
    return result;
}

namespace {
void print_module(std::ostream& out, const Module& m, int indent) {
    out << m.type_name() << '(' << m.extra_repr();
    if (!m.named_children().empty()) {
        out << '\n';
        for (const auto& [name, child] : m.named_children()) {
            out << std::string(static_cast<std::size_t>(indent + 2), ' ') << '(' << name << "): ";
            print_module(out, *child, indent + 2);
            out << '\n';
        }
        out << std::string(static_cast<std::size_t>(indent), ' ');
    }
    out << ')';
}
}  // namespace

std::ostream& operator<<(std::ostream& out, const Module& module) {
    print_module(out, module, 0);
    return out;
}

}  // namespace xgrad::nn
