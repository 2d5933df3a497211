#pragma once
// What the MLP epoch benchmarks share: the main example's model (784-256-256-10, ReLU, no dropout)
// and Fashion-MNIST's training set standardized per pixel, as the example feeds it.
#include <xgrad/xgrad.hpp>

namespace bench {

struct StandardizedFashionMnist {
    xgrad::Tensor x, y;  ///< [60000, 784] standardized pixels, [60000] labels
};

inline StandardizedFashionMnist load_standardized_fashion_mnist() {
    const xgrad::data::ImageSet train = xgrad::data::load_fashion_mnist(true);
    xgrad::data::StandardScaler scaler;
    return {scaler.fit_transform(train.images.reshape({-1, 784})), train.labels};
}

inline void build_mlp(xgrad::nn::Sequential& model) {
    using namespace xgrad;
    model.emplace<nn::Linear>({.in_features = 784, .out_features = 256});
    model.emplace<nn::ReLU>();
    model.emplace<nn::Linear>({.in_features = 256, .out_features = 256});
    model.emplace<nn::ReLU>();
    model.emplace<nn::Linear>({.in_features = 256, .out_features = 10});
}

}  // namespace bench
