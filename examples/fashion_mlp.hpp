#pragma once
// The MLP of the main example, shared with predict.cpp so both build the same architecture.
#include <xgrad/xgrad.hpp>

#include <sstream>
#include <string>
#include <vector>

namespace example {

/// 784 -> hidden... -> 10 with ReLU and dropout after every hidden layer; He initialization.
struct FashionMlp : xgrad::nn::Module {
    xgrad::nn::Sequential layers;

    FashionMlp(const std::vector<int64_t>& hidden, double dropout) {
        using namespace xgrad;
        int64_t in = 28 * 28;
        for (int64_t width : hidden) {
            auto& layer = layers.emplace<nn::Linear>({.in_features = in, .out_features = width});
            // He et al.: Var w = 2 / fan_in keeps ReLU activations from shrinking or growing.
            nn::init::kaiming_normal_(layer.weight, 0.0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu);
            nn::init::zeros_(layer.bias);
            layers.emplace<nn::ReLU>();
            // Always present (p = 0 is the identity), so parameter names do not depend on it.
            layers.emplace<nn::Dropout>({.p = dropout});
            in = width;
        }
        layers.emplace<nn::Linear>({.in_features = in, .out_features = 10});
        register_module("layers", layers);
    }
    xgrad::Tensor forward(const xgrad::Tensor& x) override { return layers(x); }
    std::string type_name() const override { return "FashionMlp"; }
};

/// "256,256" -> {256, 256}
inline std::vector<int64_t> parse_sizes(const std::string& text) {
    std::vector<int64_t> sizes;
    std::stringstream in(text);
    std::string part;
    while (std::getline(in, part, ','))
        if (!part.empty()) sizes.push_back(std::stoll(part));
    return sizes;
}

}  // namespace example
