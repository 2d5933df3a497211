#pragma once
// The lecture's optimizers by the names the examples take on their command line (--optimizer).
#include <xgrad/xgrad.hpp>

#include <memory>
#include <string>
#include <vector>

namespace example {

/// sgd (full-batch GD when the batch is the whole set), momentum (0.9), nesterov, adagrad,
/// rmsprop, adadelta, adam, adamw, nadam, adamax, each with its usual defaults and the given
/// learning rate. An unknown name throws xgrad::Error naming it.
inline std::unique_ptr<xgrad::optim::Optimizer> make_optimizer(const std::string& name,
                                                               const std::vector<xgrad::Tensor>& params, double lr) {
    using namespace xgrad;
    if (name == "sgd") return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr});
    if (name == "momentum") return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr, .momentum = 0.9});
    if (name == "nesterov")
        return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
    if (name == "adagrad") return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{.lr = lr});
    if (name == "rmsprop") return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = lr});
    if (name == "adadelta") return std::make_unique<optim::Adadelta>(params, optim::AdadeltaOptions{.lr = lr});
    if (name == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = lr});
    if (name == "adamw") return std::make_unique<optim::AdamW>(params, optim::AdamWOptions{.lr = lr});
    if (name == "nadam") return std::make_unique<optim::NAdam>(params, optim::NAdamOptions{.lr = lr});
    if (name == "adamax") return std::make_unique<optim::Adamax>(params, optim::AdamaxOptions{.lr = lr});
    fail("unknown optimizer \"", name, "\" (see --help)");
}

}  // namespace example
