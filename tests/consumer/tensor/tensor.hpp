#pragma once
// The consumer's own tensor/tensor.hpp (see data/dataset.hpp).
namespace consumer {
using Tensor = double;
}  // namespace consumer
