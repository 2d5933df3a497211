#include <xgrad/nn/container.hpp>

#include <algorithm>
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

namespace {
// Position i of n items; an index written negative (list[-1], wrapped to a huge size_t on its way
// in) counts from the end, as in Python.
std::size_t list_position(std::size_t i, std::size_t n, const std::string& owner, const char* items) {
    const auto signed_index = static_cast<int64_t>(i);
    const int64_t at = signed_index < 0 ? signed_index + static_cast<int64_t>(n) : signed_index;
    XGRAD_CHECK(at >= 0 && at < static_cast<int64_t>(n), owner, ": index ", signed_index, " is out of range for ", n,
                " ", items);
    return static_cast<std::size_t>(at);
}
}  // namespace

Module& ModuleList::operator[](std::size_t i) const {
    return *items_[list_position(i, items_.size(), type_name(), "modules")];
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

namespace {
template <class Items>
auto find_key(Items& items, const std::string& key) {
    return std::find_if(items.begin(), items.end(), [&](const auto& item) { return item.first == key; });
}

// The keys or the values of an ordered (key, value) list, in insertion order, as PyTorch's dicts.
template <class Items>
std::vector<std::string> keys_of(const Items& items) {
    std::vector<std::string> out;
    for (const auto& item : items) out.push_back(item.first);
    return out;
}

template <class Items>
auto values_of(const Items& items) {
    std::vector<typename Items::value_type::second_type> out;
    for (const auto& item : items) out.push_back(item.second);
    return out;
}
}  // namespace

ModuleDict::ModuleDict(std::vector<std::pair<std::string, std::shared_ptr<Module>>> items) {
    update(items);
}

void ModuleDict::insert(const std::string& key, std::shared_ptr<Module> module) {
    XGRAD_CHECK(module != nullptr, "ModuleDict: cannot insert a null module under \"", key, "\"");
    if (const auto it = find_key(items_, key); it != items_.end()) {
        replace_module(key, module);
        it->second = std::move(module);
        return;
    }
    register_module(key, module);
    items_.emplace_back(key, std::move(module));
}

void ModuleDict::update(const std::vector<std::pair<std::string, std::shared_ptr<Module>>>& items) {
    for (const auto& [key, module] : items) insert(key, module);
}

Module& ModuleDict::operator[](const std::string& key) const {
    const auto it = find_key(items_, key);
    XGRAD_CHECK(it != items_.end(), "ModuleDict: no module under \"", key, "\" (", items_.size(), " keys)");
    return *it->second;
}

bool ModuleDict::contains(const std::string& key) const {
    return find_key(items_, key) != items_.end();
}

std::shared_ptr<Module> ModuleDict::pop(const std::string& key) {
    const auto it = find_key(items_, key);
    XGRAD_CHECK(it != items_.end(), "ModuleDict: no module under \"", key, "\" to pop");
    std::shared_ptr<Module> module = std::move(it->second);
    items_.erase(it);
    unregister_module(key);
    return module;
}

void ModuleDict::clear() {
    while (!items_.empty()) pop(items_.back().first);
}

std::vector<std::string> ModuleDict::keys() const {
    return keys_of(items_);
}

std::vector<std::shared_ptr<Module>> ModuleDict::values() const {
    return values_of(items_);
}

ParameterList::ParameterList(const std::vector<Tensor>& parameters) {
    extend(parameters);
}

void ParameterList::append(Tensor tensor) {
    items_.push_back(register_parameter(std::to_string(items_.size()), std::move(tensor)));
}

void ParameterList::extend(const std::vector<Tensor>& tensors) {
    for (const Tensor& t : tensors) append(t);
}

const Tensor& ParameterList::operator[](std::size_t i) const {
    return items_[list_position(i, items_.size(), "ParameterList", "parameters")];
}

ParameterDict::ParameterDict(const std::vector<std::pair<std::string, Tensor>>& items) {
    for (const auto& [key, tensor] : items) insert(key, tensor);
}

void ParameterDict::insert(const std::string& key, Tensor tensor) {
    if (const auto it = find_key(items_, key); it != items_.end()) {
        it->second = replace_parameter(key, std::move(tensor));
        return;
    }
    items_.emplace_back(key, register_parameter(key, std::move(tensor)));
}

const Tensor& ParameterDict::operator[](const std::string& key) const {
    const auto it = find_key(items_, key);
    XGRAD_CHECK(it != items_.end(), "ParameterDict: no parameter under \"", key, "\" (", items_.size(), " keys)");
    return it->second;
}

bool ParameterDict::contains(const std::string& key) const {
    return find_key(items_, key) != items_.end();
}

Tensor ParameterDict::pop(const std::string& key) {
    const auto it = find_key(items_, key);
    XGRAD_CHECK(it != items_.end(), "ParameterDict: no parameter under \"", key, "\" to pop");
    items_.erase(it);
    return unregister_parameter(key);
}

std::vector<std::string> ParameterDict::keys() const {
    return keys_of(items_);
}

std::vector<Tensor> ParameterDict::values() const {
    return values_of(items_);
}

}  // namespace xgrad::nn
