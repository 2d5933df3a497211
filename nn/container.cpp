#include <xgrad/nn/container.hpp>

#include <iterator>
#include <typeinfo>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/activation.hpp>
#include <xgrad/nn/linear.hpp>

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
// A Linear directly followed by a ReLU, neither a subclass nor hooked (a hook would have to see
// the Linear's output, which the fused op never writes out): one linear_relu instead of two ops,
// the same values and gradients, bit for bit.
const Linear* fusable_linear(const Module& m, const Module& next) {
    if (typeid(m) != typeid(Linear) || typeid(next) != typeid(ReLU)) return nullptr;
    if (m.has_forward_hooks() || next.has_forward_hooks()) return nullptr;
    return static_cast<const Linear*>(&m);
}
}  // namespace

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (auto it = begin(); it != end(); ++it) {
        if (std::next(it) != end()) {
            if (const Linear* linear = fusable_linear(**it, **std::next(it))) {
                h = linear_relu(h, linear->weight, linear->bias);
                ++it;
                continue;
            }
        }
        h = (**it)(h);
    }
    return h;
}

}  // namespace xgrad::nn
