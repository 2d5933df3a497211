#pragma once
// The consumer's own nn/module.hpp (see data/dataset.hpp).
namespace consumer {
inline int module_version() {
    return 7;
}
}  // namespace consumer
