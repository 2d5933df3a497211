#pragma once
/// nn::Module: the base of every layer and model. A module registers its parameters, buffers
/// and submodules by name in its constructor; everything else (parameters(), named_parameters()
/// with dotted names such as "fc1.weight", train()/eval(), zero_grad(), to(dtype), state_dict())
/// follows from those registrations.
///
///     struct Net : nn::Module {
///         nn::Linear fc1{{.in_features = 784, .out_features = 256}};
///         nn::Linear fc2{{.in_features = 256, .out_features = 10}};
///         Net() { register_module("fc1", fc1); register_module("fc2", fc2); }
///         Tensor forward(const Tensor& x) override { return fc2(relu(fc1(x))); }
///     };
///
/// Modules are identity objects, as in PyTorch: they cannot be copied or moved (a copy would
/// share or lose the registrations). Hold them as members, on the stack, or in a shared_ptr.

#include <functional>
#include <map>
#include <memory>
#include <string>
#include <utility>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::nn {

/// Parameters and buffers by dotted name.
using StateDict = std::map<std::string, Tensor>;

/// The options of a module that has none (ReLU, Identity). The convention, for every module,
/// scheduler and optimizer: a namespace-level `XOptions` aggregate, named in the class as
/// `using Options = XOptions;` (what Sequential::emplace<M>(options) constructs from).
struct NoOptions {};

class Module;
/// Called after a module's forward with (the module, its input, its output).
using ForwardHook = std::function<void(Module& module, const Tensor& input, const Tensor& output)>;

namespace detail {
/// A module's forward hooks. The module owns the list; handles see it through a weak_ptr.
struct ForwardHookList {
    std::vector<std::pair<int, std::shared_ptr<const ForwardHook>>> hooks;
    int next_id = 0;
};
}  // namespace detail

/// What register_forward_hook returns: remove() takes that hook off its module. As PyTorch's
/// RemovableHandle: removing twice, or after the module was destroyed, does nothing, so an
/// object that adds hooks to a model (training::GradientFlowMonitor) may outlive the model.
class RemovableHandle {
public:
    RemovableHandle() = default;
    void remove();

private:
    friend class Module;
    RemovableHandle(std::weak_ptr<detail::ForwardHookList> list, int id) : list_(std::move(list)), id_(id) {}
    std::weak_ptr<detail::ForwardHookList> list_;
    int id_ = -1;
};

class Module {
public:
    Module() = default;
    virtual ~Module() = default;
    Module(const Module&) = delete;
    Module& operator=(const Module&) = delete;
    Module(Module&&) = delete;
    Module& operator=(Module&&) = delete;

    /// The module's computation on one input. Modules that take more inputs (attention: query,
    /// key, value and masks; recurrent layers: a state and lengths) add typed overloads of
    /// forward and operator() beside this one, so a single-input module stays one override and a
    /// multi-input call needs no side channel.
    virtual Tensor forward(const Tensor& input);
    /// forward(input), then the forward hooks (call modules this way, so that hooks and
    /// nn::summary see every layer).
    Tensor operator()(const Tensor& input);

    using ForwardHook = nn::ForwardHook;
    /// Runs after every call through operator(), in the order registered. A hook may remove
    /// itself or others (a hook removed before its turn does not run) and add hooks (they run
    /// from the next call).
    RemovableHandle register_forward_hook(ForwardHook hook);
    bool has_forward_hooks() const { return forward_hooks_ && !forward_hooks_->hooks.empty(); }

    /// The type's name for printing and summaries ("Linear").
    virtual std::string type_name() const { return "Module"; }
    /// The options in one line ("in_features=784, out_features=256, bias=true").
    virtual std::string extra_repr() const { return ""; }

    std::vector<Tensor> parameters(bool recurse = true) const;
    std::vector<std::pair<std::string, Tensor>> named_parameters(bool recurse = true) const;
    std::vector<Tensor> buffers(bool recurse = true) const;
    std::vector<std::pair<std::string, Tensor>> named_buffers(bool recurse = true) const;
    /// Direct submodules, in registration order.
    std::vector<Module*> children() const;
    const std::vector<std::pair<std::string, Module*>>& named_children() const { return children_; }
    /// This module and every descendant, depth first ("" names the module itself).
    std::vector<std::pair<std::string, Module*>> named_modules() const;
    std::vector<Module*> modules() const;

    /// Training mode (dropout active, batch statistics) or evaluation mode, recursively.
    virtual void train(bool on = true);
    void eval() { train(false); }
    bool is_training() const { return training_; }

    /// Releases (set_to_none) or zeroes the gradients of every parameter.
    void zero_grad(bool set_to_none = true);
    /// Calls fn on this module and every descendant (e.g. a custom initialization).
    void apply(const std::function<void(Module&)>& fn);
    /// Converts every parameter and floating-point buffer to dtype, in place.
    void to(DType dtype);
    /// Nothing to move: every module is on the CPU, the only device (see tensor/device.hpp).
    void to(Device) {}
    void to(Device, DType dtype) { to(dtype); }

    /// Copies of every parameter and buffer by dotted name.
    StateDict state_dict() const;
    /// Copies values into the parameters and buffers. Names, shapes and dtypes are all checked
    /// first: on any problem it throws one error listing every missing, unexpected and mismatched
    /// entry, and changes nothing. strict: every entry of the module must be present and no extra
    /// entries are allowed; otherwise those are skipped and returned (as PyTorch does).
    struct LoadResult {
        std::vector<std::string> missing_keys, unexpected_keys;
    };
    LoadResult load_state_dict(const StateDict& state, bool strict = true);

protected:
    /// Runs the forward hooks on (input, output) and returns output: the multi-input operator()
    /// overloads call it with their first input, so hooks and nn::summary see every layer.
    const Tensor& run_forward_hooks(const Tensor& input, const Tensor& output);
    /// Registers a parameter (a leaf that requires grad) and returns the registered handle.
    Tensor& register_parameter(std::string name, Tensor tensor, bool requires_grad = true);
    /// Registers state that is saved but not trained (BatchNorm's running statistics).
    Tensor& register_buffer(std::string name, Tensor tensor);
    /// Registers a submodule that this module holds as a member (not owned here).
    template <class M>
    M& register_module(std::string name, M& module) {
        add_child(std::move(name), &module);
        return module;
    }
    /// Registers a submodule this module owns.
    template <class M>
    std::shared_ptr<M> register_module(std::string name, std::shared_ptr<M> module) {
        add_child(std::move(name), module.get());
        owned_.push_back(module);
        return module;
    }

    // For the containers (ModuleDict, ParameterDict), which keep their own lists in step: on any
    // other module, a member that forward() reads would no longer be what parameters() reports.
    /// Puts `module` in the place of the submodule registered as name; throws if there is none.
    void replace_module(const std::string& name, std::shared_ptr<Module> module);
    /// Removes the submodule registered as name and returns it if this module owned it (else
    /// nullptr); throws if there is none.
    std::shared_ptr<Module> unregister_module(const std::string& name);
    /// Puts `tensor` in the place of the parameter registered as name; throws if there is none.
    Tensor& replace_parameter(const std::string& name, Tensor tensor, bool requires_grad = true);
    /// Removes the parameter registered as name and returns it; throws if there is none.
    Tensor unregister_parameter(const std::string& name);

private:
    void add_child(std::string name, Module* module);
    void check_no_cycle(const std::string& name, const Module& module) const;
    void check_parameter(const std::string& name, Tensor& tensor, bool requires_grad) const;
    void check_new_name(const std::string& name, const char* what) const;

    std::vector<std::pair<std::string, Tensor>> parameters_;
    std::vector<std::pair<std::string, Tensor>> buffers_;
    std::vector<std::pair<std::string, Module*>> children_;
    std::vector<std::shared_ptr<Module>> owned_;
    // How many modules list this one among their children (not lowered when a parent is
    // destroyed, so it may be too high, never too low): at 0 nothing holds this module, and no
    // addition under it can make a cycle.
    int parents_ = 0;
    std::shared_ptr<detail::ForwardHookList> forward_hooks_;  // made by the first registration
    bool training_ = true;
};

/// Prints the module tree with each module's options, like PyTorch's repr.
std::ostream& operator<<(std::ostream& out, const Module& module);

}  // namespace xgrad::nn
