#pragma once
/// nn::summary(model, input_shape): a table like torchinfo/Keras of every layer with its output
/// shape and parameter count, and totals (trainable, non-trainable, memory).
///
/// For an MLP with n inputs, p hidden units and l outputs the lecture counts n p + p l weights
/// for one hidden layer and n p + 2 p^2 + p l for three (plus one bias per unit when the layers
/// have biases); the totals here are those numbers.

#include <ostream>
#include <string>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct SummaryRow {
    std::string name;  ///< dotted name ("fc1")
    std::string type;  ///< "Linear"
    Shape output_shape;
    int64_t params = 0;  ///< the layer's own parameters (not its children's)
    int depth = 0;
};

struct Summary {
    std::vector<SummaryRow> rows;
    int64_t total_params = 0;
    int64_t trainable_params = 0;
    int64_t non_trainable_params = 0;  ///< frozen parameters and buffers (BatchNorm's statistics)
    int64_t param_bytes = 0;           ///< parameters and buffers
    int64_t activation_bytes = 0;      ///< every layer's output for the given input
};

/// Runs one forward pass on zeros of input_shape (in eval mode, without recording a graph, mode
/// restored afterwards) and records each submodule called through operator().
Summary summary(Module& model, const Shape& input_shape, DType dtype = kFloat32);

std::ostream& operator<<(std::ostream& out, const Summary& summary);

}  // namespace xgrad::nn
