#pragma once
/// Containers: Sequential chains modules; ModuleList holds them for a forward you write.
///
///     nn::Sequential mlp;
///     mlp.emplace<nn::Linear>({.in_features = 784, .out_features = 256});
///     mlp.emplace<nn::ReLU>();
///     mlp.emplace<nn::Linear>(256, 10);   // LibTorch's positional form, where a module has one
///     Tensor logits = mlp(x);
///
/// Children are named "0", "1", ... so parameters read "0.weight", "2.bias", as in PyTorch.
///
/// ModuleDict holds modules by name, ParameterList and ParameterDict hold parameters (a
/// per-class scale, a learned temperature) by position or by name, each in insertion order and
/// registered so that parameters(), state_dict() and the optimizers see them:
///
///     nn::ModuleDict heads;
///     heads.insert("tumour", std::make_shared<nn::Linear>(64, 2));
///     Tensor y = heads["tumour"](x);

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

namespace detail {
// True for a single argument of M's own options type (the containers' first emplace takes it);
// false for a module without an Options type.
template <class M, class... Args>
constexpr bool is_own_options() {
    if constexpr (sizeof...(Args) == 1 && requires { typename M::Options; })
        return (std::is_same_v<std::remove_cvref_t<Args>, typename M::Options> && ...);
    else
        return false;
}
}  // namespace detail

class ModuleList : public Module {
public:
    /// Builds an M from its options in place and appends it.
    template <class M>
    M& emplace(typename M::Options options = {}) {
        auto module = std::make_shared<M>(std::move(options));
        push_back(module);
        return *module;
    }
    /// ... or from the arguments of one of its other constructors (Linear(784, 10)).
    template <class M, class... Args>
    requires(sizeof...(Args) > 0 && std::is_constructible_v<M, Args&&...> &&
             !detail::is_own_options<M, Args...>()) M& emplace(Args&&... args) {
        auto module = std::make_shared<M>(std::forward<Args>(args)...);
        push_back(module);
        return *module;
    }
    void push_back(std::shared_ptr<Module> module);
    std::size_t size() const { return items_.size(); }
    /// Throws naming the index and the size when out of range; list[-1] is the last, as in Python.
    Module& operator[](std::size_t i) const;
    std::vector<std::shared_ptr<Module>>::const_iterator begin() const { return items_.begin(); }
    std::vector<std::shared_ptr<Module>>::const_iterator end() const { return items_.end(); }
    std::string type_name() const override { return "ModuleList"; }

private:
    std::vector<std::shared_ptr<Module>> items_;
};

class Sequential : public ModuleList {
public:
    /// Each module's output is the next one's input.
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Sequential"; }
};

class ModuleDict : public Module {
public:
    ModuleDict() = default;
    explicit ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> items);
    /// Adds module under key, or puts it in the place of the module already there (as LibTorch).
    void insert(const std::string& key, std::shared_ptr<Module> module);
    /// Builds an M from its options in place under key ...
    template <class M>
    M& emplace(const std::string& key, typename M::Options options = {}) {
        auto module = std::make_shared<M>(std::move(options));
        insert(key, module);
        return *module;
    }
    /// ... or from the arguments of one of its other constructors (Linear(64, 2)).
    template <class M, class... Args>
    requires(sizeof...(Args) > 0 && std::is_constructible_v<M, Args&&...> &&
             !detail::is_own_options<M, Args...>()) M& emplace(const std::string& key, Args&&... args) {
        auto module = std::make_shared<M>(std::forward<Args>(args)...);
        insert(key, module);
        return *module;
    }
    /// Every pair of `items`, in order, inserted as insert() does.
    void update(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& items);
    /// The module under key; throws naming the key if there is none.
    Module& operator[](const std::string& key) const;
    /// The module under key as an M; throws if there is none or it is not an M.
    template <class M>
    M& at(const std::string& key) const {
        auto* module = dynamic_cast<M*>(&(*this)[key]);
        XGRAD_CHECK(module != nullptr, "ModuleDict: the module under \"", key, "\" is a ", (*this)[key].type_name(),
                    ", not the type asked for");
        return *module;
    }
    bool contains(const std::string& key) const;
    /// Removes the module under key and returns it; throws if there is none.
    std::shared_ptr<Module> pop(const std::string& key);
    void clear();
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    std::vector<std::string> keys() const;
    std::vector<std::shared_ptr<Module>> values() const;
    const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& items() const { return items_; }
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }
    std::string type_name() const override { return "ModuleDict"; }

private:
    std::vector<std::pair<std::string, std::shared_ptr<Module>>> items_;
};

class ParameterList : public Module {
public:
    ParameterList() = default;
    explicit ParameterList(const std::vector<Tensor>& parameters);
    /// Registers tensor (a leaf; it is made to require grad) as parameter "size()".
    void append(Tensor tensor);
    void extend(const std::vector<Tensor>& tensors);
    /// Throws naming the index and the size when out of range; list[-1] is the last, as in Python.
    const Tensor& operator[](std::size_t i) const;
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    auto begin() const { return items_.begin(); }
    auto end() const { return items_.end(); }
    std::string type_name() const override { return "ParameterList"; }

private:
    std::vector<Tensor> items_;
};

class ParameterDict : public Module {
public:
    ParameterDict() = default;
    explicit ParameterDict(const std::vector<std::pair<std::string, Tensor>>& items);
    /// Adds tensor under key (a leaf; it is made to require grad), or puts it in the place of the
    /// one already there.
    void insert(const std::string& key, Tensor tensor);
    const Tensor& operator[](const std::string& key) const;
    bool contains(const std::string& key) const;
    Tensor pop(const std::string& key);
    std::size_t size() const { return items_.size(); }
    bool empty() const { return items_.empty(); }
    std::vector<std::string> keys() const;
    std::vector<Tensor> values() const;
    const std::vector<std::pair<std::string, Tensor>>& items() const { return items_; }
    std::string type_name() const override { return "ParameterDict"; }

private:
    std::vector<std::pair<std::string, Tensor>> items_;
};

}  // namespace xgrad::nn
