#include <xgrad/nn/container.hpp>

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

Tensor Sequential::forward(const Tensor& x) {
    Tensor h = x;
    for (const auto& m : *this) h = (*m)(h);
    return h;
}

}  // namespace xgrad::nn
