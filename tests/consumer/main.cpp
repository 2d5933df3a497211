// A project outside xgrad's tree, built against the installed package. It has folders of its own
// named like xgrad's (data/, nn/, tensor/) on its include path.
#include <xgrad/xgrad.hpp>

#include <iostream>

#include "data/dataset.hpp"
#include "nn/module.hpp"
#include "tensor/tensor.hpp"

int main() {
    xgrad::Tensor x = xgrad::tensor({1.0, 2.0, 3.0}, xgrad::TensorOptions().requires_grad(true));
    xgrad::Tensor y = (x * x).sum();
    y.backward();
    // d/dx sum(x^2) = 2x
    const auto g = x.grad().to_vector<double>();
    if (g != std::vector<double>{2.0, 4.0, 6.0}) {
        std::cerr << "unexpected gradient " << x.grad() << "\n";
        return 1;
    }
    // xgrad's data and nn headers, next to the consumer's own of the same names.
    const xgrad::data::DataLoaderOptions loader_options{.batch_size = 2};
    xgrad::nn::Linear layer({.in_features = 3, .out_features = 1});
    const consumer::Dataset own_dataset;
    const consumer::Tensor own_tensor = 1.5;
    if (loader_options.batch_size != 2 || layer.parameters().size() != 2 || own_dataset.rows != 3 ||
        consumer::module_version() != 7 || own_tensor != 1.5) {
        std::cerr << "unexpected values from the headers\n";
        return 1;
    }
    std::cout << "consumer ok: " << x.grad() << "\n";
    return 0;
}
