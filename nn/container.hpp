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

#include <memory>
#include <string>
#include <type_traits>
#include <utility>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

class ModuleList : public Module {
    // True for a single argument of M's own options type (the first emplace below takes it); false for
    // a module without an Options type.
    template <class M, class... Args>
    static constexpr bool is_own_options() {
        if constexpr (sizeof...(Args) == 1 && requires { typename M::Options; })
            return (std::is_same_v<std::remove_cvref_t<Args>, typename M::Options> && ...);
        else
            return false;
    }

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
             !is_own_options<M, Args...>()) M& emplace(Args&&... args) {
        auto module = std::make_shared<M>(std::forward<Args>(args)...);
        push_back(module);
        return *module;
    }
    void push_back(std::shared_ptr<Module> module);
    std::size_t size() const { return items_.size(); }
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

}  // namespace xgrad::nn
