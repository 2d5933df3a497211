#include <xgrad/nn/linear.hpp>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/init.hpp>

namespace xgrad::nn {

Linear::Linear(LinearOptions o) : options(o) {
    XGRAD_CHECK(o.in_features > 0 && o.out_features > 0, "Linear: in_features and out_features must be positive, got ",
                o.in_features, " and ", o.out_features);
    weight = register_parameter("weight", empty({o.out_features, o.in_features}, o.dtype));
    if (o.bias) bias = register_parameter("bias", empty({o.out_features}, o.dtype));
    reset_parameters();
}

void Linear::reset_parameters(Generator* generator) {
    init::layer_default_(weight, bias, generator);
}

Tensor Linear::forward(const Tensor& input) {
    return linear(input, weight, bias);
}

std::string Linear::extra_repr() const {
    return "in_features=" + std::to_string(options.in_features) +
           ", out_features=" + std::to_string(options.out_features) + ", bias=" + (options.bias ? "true" : "false");
}

std::string Flatten::extra_repr() const {
    return "start_dim=" + std::to_string(options.start_dim) + ", end_dim=" + std::to_string(options.end_dim);
}

}  // namespace xgrad::nn
