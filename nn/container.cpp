#include <xgrad/nn/container.hpp>

#include <iterator>
#include <typeinfo>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/activation.hpp>
#include <xgrad/nn/linear.hpp>
#include <xgrad/nn/pooling.hpp>

namespace xgrad::nn {

void ModuleList::push_back(std::shared_ptr<Module> module) {
    XGRAD_CHECK(module != nullptr, type_name(), ": cannot add a null module");
    register_module(std::to_string(items_.size()), module);
    items_.push_back(std::move(module));
}

Module& ModuleList::operator[](std::size_t i) const {
    XGRAD_CHECK(i < items_.size(), type_name(), ": index ", i, " is out of range for ", items_.size(), " modules");
    return *items_[i];
}

namespace {
// Two modules run as one op, the same values and gradients bit for bit, when they are exactly
// these types (not subclasses) and neither is hooked (a hook would have to see the first one's
// output, which the fused op never writes out).
template <class First, class Second>
const Second* fusable(const Module& m, const Module& next) {
    if (typeid(m) != typeid(First) || typeid(next) != typeid(Second)) return nullptr;
    if (m.has_forward_hooks() || next.has_forward_hooks()) return nullptr;
    return static_cast<const Second*>(&next);
}
}  // namespace

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto it = begin(); it != end(); ++it) {
        if (std::next(it) != end()) {
            // A Linear and a ReLU: one linear_relu, relu applied in the product's epilogue.
            if (fusable<Linear, ReLU>(**it, **std::next(it))) {
                const auto& linear = static_cast<const Linear&>(**it);
                h = linear_relu(h, linear.weight, linear.bias);
                ++it;
                continue;
            }
            // A ReLU and a MaxPool2d (a CNN's conv, ReLU, pool): relu of the maxima, the ReLU's
            // output never written out and read back, nor its gradient.
            if (const auto* pool = fusable<ReLU, MaxPool2d>(**it, **std::next(it))) {
                const MaxPool2dOptions& o = pool->options;
                h = functional::relu_max_pool2d(h, o.kernel_size, o.stride, o.padding, o.dilation, o.ceil_mode);
                ++it;
                continue;
            }
        }
        h = (**it)(h);
    }
    return h;
}

}  // namespace xgrad::nn
