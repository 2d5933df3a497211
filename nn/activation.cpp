#include <xgrad/nn/activation.hpp>

#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {

PReLU::PReLU(PReLUOptions o) : options(o) {
    XGRAD_CHECK(o.num_parameters >= 1, "PReLU: num_parameters must be positive, got ", o.num_parameters);
    weight = register_parameter("weight", full({o.num_parameters}, o.init, o.dtype));
}

}  // namespace xgrad::nn
