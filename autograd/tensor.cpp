#include <xgrad/autograd/indexing.hpp>
#include <xgrad/autograd/tensor.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>
#include <sstream>

#include <xgrad/autograd/engine.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/autograd/tensor_impl.hpp>
#include <xgrad/autograd/view_rebase.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {

Tensor::Tensor(NDArray data, bool requires_grad) : impl_(std::make_shared<TensorImpl>()) {
    impl_->data = std::move(data);
    if (requires_grad) requires_grad_(true);
}

const NDArray& Tensor::data() const {
    XGRAD_CHECK(impl_ != nullptr, "the tensor is undefined (default-constructed, or a grad() not computed yet)");
    return impl_->data;
}

bool Tensor::requires_grad() const {
    return impl_ && (impl_->requires_grad || detail::view_is_stale(*impl_));
}

const Tensor& Tensor::requires_grad_(bool requires_grad) const {
    // On a non-leaf, asking for what it already has is a no-op, as in PyTorch.
    XGRAD_CHECK(is_leaf() || requires_grad,
                "requires_grad_: only leaf tensors can change requires_grad (this one was made by ",
                impl_->grad_fn->name(), "); use detach() first");
    if (!is_leaf()) return *this;
    XGRAD_CHECK(!requires_grad || is_floating(dtype()),
                "requires_grad_: only floating-point tensors can require "
                "gradients, got ",
                dtype());
    impl_->requires_grad = requires_grad;
    // A leaf that requires grad is a root of its own (W = buffer.view(...).requires_grad_()):
    // views taken from it follow it, and writes through them are refused, as PyTorch.
    if (requires_grad) impl_->view_base.reset();
    return *this;
}

const Tensor& Tensor::grad() const {
    return data(), impl_->grad;
}

void Tensor::set_grad(const Tensor& grad) const {
    XGRAD_CHECK(!grad.defined() || grad.sizes() == sizes(), "set_grad: the gradient has shape ", grad.sizes(),
                " but the tensor has shape ", sizes());
    XGRAD_CHECK(!grad.defined() || grad.dtype() == dtype(), "set_grad: the gradient is ", grad.dtype(),
                " but the tensor is ", dtype(), "; convert it with to(", dtype(), ")");
    data();
    impl_->grad = grad;
}

const std::shared_ptr<Node>& Tensor::grad_fn() const {
    if (data(), detail::view_is_stale(*impl_)) detail::refresh_view_history(*this);
    return impl_->grad_fn;
}
uint32_t Tensor::output_nr() const {
    return data(), impl_->output_nr;
}
bool Tensor::is_leaf() const {
    return grad_fn() == nullptr;
}

void Tensor::backward(const Tensor& gradient, bool retain_graph, bool create_graph) const {
    autograd::backward({*this}, gradient.defined() ? std::vector<Tensor>{gradient} : std::vector<Tensor>{},
                       retain_graph, create_graph);
}

Tensor Tensor::detach() const {
    return Tensor(data());
}

void Tensor::set_data(const NDArray& new_data) const {
    XGRAD_CHECK(new_data.defined(), "set_data: the new data is undefined");
    XGRAD_CHECK(!impl_->requires_grad || is_floating(new_data.dtype()),
                "set_data: a tensor that requires grad must "
                "stay floating-point, got ",
                new_data.dtype());
    if (impl_->grad.defined() && (impl_->grad.sizes() != new_data.sizes() || impl_->grad.dtype() != new_data.dtype()))
        impl_->grad = Tensor();
    impl_->data = new_data;
    impl_->grad_accumulator.reset();  // its recorded shape and dtype may no longer match
}

namespace {
std::atomic<int> next_hook_handle{0};

std::vector<std::pair<int, Tensor::Hook>>& hooks_of(const Tensor& t) {
    const auto& impl = t.impl();
    if (!t.grad_fn()) return impl->leaf_hooks;  // grad_fn(): a stale view's history re-taken first
    const bool known = std::any_of(impl->hook_sites.begin(), impl->hook_sites.end(), [&](const auto& site) {
        return site.first.lock() == impl->grad_fn && site.second == impl->output_nr;
    });
    if (!known) impl->hook_sites.emplace_back(impl->grad_fn, impl->output_nr);
    auto& all = impl->grad_fn->output_hooks;
    if (all.size() <= impl->output_nr) all.resize(impl->output_nr + 1);
    return all[impl->output_nr];
}
}  // namespace

void Tensor::retain_grad() const {
    XGRAD_CHECK(requires_grad(), "retain_grad: the tensor does not require grad");
    if (is_leaf() || impl_->retains_grad) return;
    impl_->retains_grad = true;
    // A weak link: the node must not keep the tensor alive (the tensor already keeps the node).
    std::weak_ptr<TensorImpl> weak = impl_;
    hooks_of(*this).push_back({-1, [weak](const Tensor& g) {
                                   if (auto impl = weak.lock()) {
                                       // Memory of its own either way (see AccumulateGrad).
                                       const Tensor value = GradMode::is_enabled() ? g.clone() : g.detach().clone();
                                       impl->grad = impl->grad.defined() ? xgrad::add(impl->grad, value) : value;
                                   }
                                   return Tensor();
                               }});
}

bool Tensor::retains_grad() const {
    return data(), impl_->retains_grad;
}

int Tensor::register_hook(Hook fn) const {
    XGRAD_CHECK(requires_grad(), "register_hook: cannot register a hook on a tensor that does not require grad");
    const int handle = next_hook_handle++;
    hooks_of(*this).push_back({handle, std::move(fn)});
    return handle;
}

int Tensor::register_post_accumulate_grad_hook(PostAccumulateGradHook fn) const {
    XGRAD_CHECK(requires_grad() && is_leaf(),
                "register_post_accumulate_grad_hook: only a leaf that requires grad accumulates a gradient");
    const int handle = next_hook_handle++;
    impl_->post_accumulate_hooks.push_back({handle, std::move(fn)});
    return handle;
}

void Tensor::remove_hook(int handle) const {
    data();
    const auto is_it = [handle](const auto& h) { return h.first == handle; };
    std::erase_if(impl_->leaf_hooks, is_it);
    std::erase_if(impl_->post_accumulate_hooks, is_it);
    // Wherever it was registered, also on a grad_fn the tensor had before an in-place op.
    for (const auto& [site, output] : impl_->hook_sites)
        if (const auto node = site.lock(); node && output < node->output_hooks.size())
            std::erase_if(node->output_hooks[output], is_it);
}

// ---- methods forwarding to ops ---------------------------------------------------------------
Tensor Tensor::view(const Shape& s) const {
    return xgrad::view(*this, s);
}
Tensor Tensor::reshape(const Shape& s) const {
    return xgrad::reshape(*this, s);
}
Tensor Tensor::flatten(int64_t a, int64_t b) const {
    return xgrad::flatten(*this, a, b);
}
Tensor Tensor::transpose(int64_t a, int64_t b) const {
    return xgrad::transpose(*this, a, b);
}
Tensor Tensor::t() const {
    XGRAD_CHECK(dim() <= 2, "t: expected a tensor with at most 2 dimensions, got shape ", sizes());
    return dim() < 2 ? *this : xgrad::transpose(*this, 0, 1);
}
Tensor Tensor::permute(const Shape& d) const {
    return xgrad::permute(*this, d);
}
Tensor Tensor::narrow(int64_t d, int64_t s, int64_t l) const {
    return xgrad::narrow(*this, d, s, l);
}
Tensor Tensor::slice(int64_t d, int64_t s, int64_t e, int64_t st) const {
    return xgrad::slice(*this, d, s, e, st);
}
Tensor Tensor::select(int64_t d, int64_t i) const {
    return xgrad::select(*this, d, i);
}
Tensor Tensor::unsqueeze(int64_t d) const {
    return xgrad::unsqueeze(*this, d);
}
Tensor Tensor::squeeze() const {
    return xgrad::squeeze(*this);
}
Tensor Tensor::squeeze(int64_t d) const {
    return xgrad::squeeze(*this, d);
}
Tensor Tensor::expand(const Shape& s) const {
    return xgrad::expand(*this, s);
}
Tensor Tensor::contiguous() const {
    return xgrad::contiguous(*this);
}
Tensor Tensor::clone() const {
    return xgrad::clone(*this);
}
Tensor Tensor::to(DType d) const {
    return xgrad::to(*this, d);
}
Tensor Tensor::neg() const {
    return xgrad::neg(*this);
}
Tensor Tensor::exp() const {
    return xgrad::exp(*this);
}
Tensor Tensor::log() const {
    return xgrad::log(*this);
}
Tensor Tensor::sqrt() const {
    return xgrad::sqrt(*this);
}
Tensor Tensor::abs() const {
    return xgrad::abs(*this);
}
Tensor Tensor::sign() const {
    return xgrad::sign(*this);
}
Tensor Tensor::sin() const {
    return xgrad::sin(*this);
}
Tensor Tensor::cos() const {
    return xgrad::cos(*this);
}
Tensor Tensor::tanh() const {
    return xgrad::tanh(*this);
}
Tensor Tensor::sigmoid() const {
    return xgrad::sigmoid(*this);
}
Tensor Tensor::relu() const {
    return xgrad::relu(*this);
}
Tensor Tensor::square() const {
    return xgrad::square(*this);
}
Tensor Tensor::pow(double e) const {
    return xgrad::pow(*this, e);
}
Tensor Tensor::pow(const Tensor& e) const {
    return xgrad::pow(*this, e);
}
Tensor Tensor::clamp(double lo, double hi) const {
    return xgrad::clamp(*this, lo, hi);
}
Tensor Tensor::matmul(const Tensor& o) const {
    return xgrad::matmul(*this, o);
}
Tensor Tensor::to(Device) const {
    return *this;
}
Tensor Tensor::to(Device, DType dtype) const {
    return to(dtype);
}
const Tensor& Tensor::uniform_(double from, double to, Generator* generator) const {
    XGRAD_CHECK(is_floating_point(), "uniform_: expected a floating-point tensor, got ", dtype());
    return copy_(uniform(sizes(), from, to, dtype(), generator));
}
const Tensor& Tensor::normal_(double mean, double std, Generator* generator) const {
    XGRAD_CHECK(is_floating_point(), "normal_: expected a floating-point tensor, got ", dtype());
    return copy_(normal(sizes(), mean, std, dtype(), generator));
}
Tensor Tensor::bmm(const Tensor& o) const {
    return xgrad::bmm(*this, o);
}
Tensor Tensor::mm(const Tensor& o) const {
    return xgrad::mm(*this, o);
}
Tensor Tensor::addmm(const Tensor& m1, const Tensor& m2, double beta, double alpha) const {
    return xgrad::addmm(*this, m1, m2, beta, alpha);
}
Tensor Tensor::masked_fill(const Tensor& m, double v) const {
    return xgrad::masked_fill(*this, m, v);
}
Tensor Tensor::masked_fill(const Tensor& m, const Tensor& v) const {
    return xgrad::masked_fill(*this, m, v);
}
Tensor Tensor::argmin(int64_t d, bool k) const {
    return xgrad::argmin(*this, d, k);
}
Tensor Tensor::logsumexp(const Dims& d, bool k) const {
    return xgrad::logsumexp(*this, d, k);
}
Tensor Tensor::isnan() const {
    return xgrad::isnan(*this);
}
Tensor Tensor::isinf() const {
    return xgrad::isinf(*this);
}
Tensor Tensor::isfinite() const {
    return xgrad::isfinite(*this);
}
Tensor Tensor::any() const {
    return xgrad::any(*this);
}
Tensor Tensor::all() const {
    return xgrad::all(*this);
}
Tensor Tensor::add(const Tensor& o) const {
    return xgrad::add(*this, o);
}
Tensor Tensor::sub(const Tensor& o) const {
    return xgrad::sub(*this, o);
}
Tensor Tensor::mul(const Tensor& o) const {
    return xgrad::mul(*this, o);
}
Tensor Tensor::div(const Tensor& o) const {
    return xgrad::div(*this, o);
}
Tensor Tensor::eq(const Tensor& o) const {
    return xgrad::eq(*this, o);
}
Tensor Tensor::ne(const Tensor& o) const {
    return xgrad::ne(*this, o);
}
Tensor Tensor::lt(const Tensor& o) const {
    return xgrad::lt(*this, o);
}
Tensor Tensor::le(const Tensor& o) const {
    return xgrad::le(*this, o);
}
Tensor Tensor::gt(const Tensor& o) const {
    return xgrad::gt(*this, o);
}
Tensor Tensor::ge(const Tensor& o) const {
    return xgrad::ge(*this, o);
}
Tensor Tensor::add(double o) const {
    return xgrad::add(*this, scalar_like(*this, o));
}
Tensor Tensor::sub(double o) const {
    return xgrad::sub(*this, scalar_like(*this, o));
}
Tensor Tensor::mul(double o) const {
    return xgrad::mul(*this, scalar_like(*this, o));
}
Tensor Tensor::div(double o) const {
    return xgrad::div(*this, scalar_like(*this, o));
}
Tensor Tensor::eq(double o) const {
    return xgrad::eq(*this, scalar_like(*this, o));
}
Tensor Tensor::ne(double o) const {
    return xgrad::ne(*this, scalar_like(*this, o));
}
Tensor Tensor::lt(double o) const {
    return xgrad::lt(*this, scalar_like(*this, o));
}
Tensor Tensor::le(double o) const {
    return xgrad::le(*this, scalar_like(*this, o));
}
Tensor Tensor::gt(double o) const {
    return xgrad::gt(*this, scalar_like(*this, o));
}
Tensor Tensor::ge(double o) const {
    return xgrad::ge(*this, scalar_like(*this, o));
}
Tensor Tensor::cumsum(int64_t d) const {
    return xgrad::cumsum(*this, d);
}
Tensor Tensor::cumprod(int64_t d) const {
    return xgrad::cumprod(*this, d);
}
Tensor Tensor::prod() const {
    return xgrad::prod(*this);
}
Tensor Tensor::prod(int64_t d, bool keepdim) const {
    return xgrad::prod(*this, d, keepdim);
}
Tensor Tensor::flip(const Dims& dims) const {
    return xgrad::flip(*this, dims);
}
Tensor Tensor::tril(int64_t k) const {
    return xgrad::tril(*this, k);
}
Tensor Tensor::triu(int64_t k) const {
    return xgrad::triu(*this, k);
}
Tensor Tensor::repeat(const Shape& r) const {
    return xgrad::repeat(*this, r);
}
Tensor Tensor::sum() const {
    return xgrad::sum(*this);
}
Tensor Tensor::sum(const Dims& d, bool k) const {
    return xgrad::sum(*this, d, k);
}
Tensor Tensor::mean() const {
    return xgrad::mean(*this);
}
Tensor Tensor::mean(const Dims& d, bool k) const {
    return xgrad::mean(*this, d, k);
}
Tensor Tensor::max() const {
    return xgrad::max(*this);
}
std::tuple<Tensor, Tensor> Tensor::max(int64_t d, bool k) const {
    return xgrad::max(*this, d, k);
}
Tensor Tensor::min() const {
    return xgrad::min(*this);
}
std::tuple<Tensor, Tensor> Tensor::min(int64_t d, bool k) const {
    return xgrad::min(*this, d, k);
}
Tensor Tensor::argmax() const {
    return xgrad::argmax(*this);
}
Tensor Tensor::argmax(int64_t d, bool k) const {
    return xgrad::argmax(*this, d, k);
}
Tensor Tensor::var(const Dims& d, bool u, bool k) const {
    return xgrad::var(*this, d, u, k);
}
Tensor Tensor::std(const Dims& d, bool u, bool k) const {
    return xgrad::std(*this, d, u, k);
}
Tensor Tensor::norm(double p) const {
    return xgrad::norm(*this, p);
}
Tensor Tensor::softmax(int64_t d) const {
    return xgrad::softmax(*this, d);
}
Tensor Tensor::log_softmax(int64_t d) const {
    return xgrad::log_softmax(*this, d);
}

// ---- in-place ops ------------------------------------------------------------------------------
namespace {
// A broadcast view (expand) has elements that share one memory location: writing into it would
// add to the same element several times, from several threads at once. PyTorch refuses it too.
void check_no_shared_elements(const char* op, const Tensor& self) {
    XGRAD_CHECK(!self.data().has_shared_elements(), op, ": the tensor written to (shape ", self.sizes(), ", strides ",
                self.data().strides(),
                ") is a broadcast view whose elements share memory; write into a clone() or a contiguous() copy");
}

// While recording, an in-place op on a tensor in the graph is computed out of place on a copy of
// the old value (which the new node may keep), written back into the same memory, and the tensor
// takes the new node as its grad_fn; nodes that saved the tensor itself before see its version
// move and throw. A view's write also reaches the history of the tensor it views
// (view_rebase.hpp). Otherwise it is a plain kernel call on the memory.
template <class Compute, class Raw>
const Tensor& inplace(const Tensor& self, const char* op, bool other_requires_grad, Compute compute, Raw raw,
                      bool reads_old = true) {
    check_no_shared_elements(op, self);
    const bool record = GradMode::is_enabled() && (self.requires_grad() || other_requires_grad);
    if (!record) {
        raw(self.data());
        self.data().bump_version();
        return self;
    }
    XGRAD_CHECK(!(self.is_leaf() && self.requires_grad()), op,
                ": a leaf tensor that requires grad is used in an in-place operation; do it under NoGradGuard "
                "(as optimizers do) or on a clone()");
    const bool is_view = self.impl()->view_base != nullptr;
    if (is_view) {
        if (detail::view_is_stale(*self.impl())) detail::refresh_view_history(self);
        detail::check_view_rebase(self, op);
    }
    // The old value in memory of its own: the op's backward may need it (a.mul_(w) for w's
    // gradient, clamp_ for its mask), and the write is about to overwrite it. (copy_ and fill_
    // do not read it.)
    Tensor old(std::make_shared<TensorImpl>(*self.impl()));
    if (reads_old) old.impl()->data = self.data().clone();
    old.impl()->view_base.reset();  // a copy now, with the view's history as it stands
    old.impl()->leaf_hooks.clear();
    old.impl()->post_accumulate_hooks.clear();
    Tensor result = compute(old);
    // A write of values without history (zero_, fill_, copy_ from a constant) still ends the old
    // value's history with a node of its own, which passes it a zero gradient: the tensor stays
    // a non-leaf, as in PyTorch, instead of becoming a parameter-like leaf.
    if (!result.requires_grad())
        result = make_op(op, {old}, result.data(), [](const Tensor& g, const BackwardContext& c) -> Grads {
            return {zeros(c.input_sizes(0), g.dtype())};
        });
    XGRAD_CHECK(result.sizes() == self.sizes(), op, ": the result has shape ", result.sizes(),
                " but the tensor written to has shape ", self.sizes(), " (an in-place op cannot grow its target)");
    kernels::copy_(self.data(), result.data());
    self.data().bump_version();
    const std::shared_ptr<Node> old_node = self.impl()->grad_fn;
    const uint32_t old_output = self.impl()->output_nr;
    if (is_view) {  // the tensor it views takes the write into its history, too
        detail::rebase_view_history(self, result);
    } else {
        auto& impl = *self.impl();
        impl.grad_fn = result.grad_fn();
        impl.output_nr = result.output_nr();
        impl.requires_grad = true;
    }
    detail::move_retained_grad(self, old_node, old_output);
    return self;
}

void check_inplace_shape(const char* op, const Tensor& self, const Tensor& other) {
    const Shape b = broadcast_shapes(self.sizes(), other.sizes(), op);
    XGRAD_CHECK(b == self.sizes(), op, ": the result has shape ", b, " but the tensor written to has shape ",
                self.sizes(), " (an in-place op cannot grow its target)");
}

const Tensor& binary_inplace(const Tensor& self, const char* op, const Tensor& other, kernels::Binary kind,
                             Tensor (*fn)(const Tensor&, const Tensor&)) {
    check_inplace_shape(op, self, other);
    // The result's type has to fit the tensor written to, as in PyTorch: a float result into an
    // int64 tensor would be truncated (arange(5).mul_(0.5) all zeros), anything but bool into bool.
    const DType result = promote_types(self.dtype(), other.dtype());
    XGRAD_CHECK((is_floating(self.dtype()) || !is_floating(result)) && (self.dtype() != kBool || result == kBool), op,
                ": the result of ", self.dtype(), " and ", other.dtype(), " is ", result,
                ", which cannot be written into the ", self.dtype(),
                " tensor without rounding; compute out of place or convert with to()");
    return inplace(
        self, op, other.requires_grad(), [&](const Tensor& old) { return fn(old, other); },
        [&](const NDArray& d) {
            const NDArray o = other.data().to(d.dtype());
            kernels::binary_out(kind, d, d, o);
        });
}
}  // namespace

const Tensor& Tensor::add_(const Tensor& other, double alpha) const {
    const Tensor scaled = alpha == 1.0 ? other : xgrad::mul(other, scalar_like(other, alpha));
    return binary_inplace(*this, "add_", scaled, kernels::Binary::add, &xgrad::add);
}
const Tensor& Tensor::add_(double value) const {
    return add_(scalar_like(*this, value));
}
const Tensor& Tensor::sub_(const Tensor& other) const {
    return binary_inplace(*this, "sub_", other, kernels::Binary::sub, &xgrad::sub);
}
const Tensor& Tensor::mul_(const Tensor& other) const {
    return binary_inplace(*this, "mul_", other, kernels::Binary::mul, &xgrad::mul);
}
const Tensor& Tensor::mul_(double value) const {
    return mul_(scalar_like(*this, value));
}
const Tensor& Tensor::div_(const Tensor& other) const {
    XGRAD_CHECK(is_floating(dtype()), "div_: true division needs a floating-point tensor to write into, got ", dtype());
    return binary_inplace(*this, "div_", other, kernels::Binary::div, &xgrad::div);
}
const Tensor& Tensor::sub_(double value) const {
    return sub_(scalar_like(*this, value));
}
const Tensor& Tensor::div_(double value) const {
    return div_(scalar_like(*this, value));
}

const Tensor& Tensor::clamp_(double low, double high) const {
    for (double bound : {low, high})
        XGRAD_CHECK(is_floating(dtype()) || std::isnan(bound) || std::trunc(bound) == bound, "clamp_: the bound ",
                    bound, " cannot be applied to a ", dtype(),
                    " tensor in place without rounding; compute out of place or convert with to()");
    return inplace(
        *this, "clamp_", false, [&](const Tensor& old) { return xgrad::clamp(old, low, high); },
        [&](const NDArray& d) { kernels::copy_(d, kernels::clamp(d, low, high)); });
}

const Tensor& Tensor::copy_(const Tensor& src) const {
    check_inplace_shape("copy_", *this, src);
    return inplace(
        *this, "copy_", src.requires_grad(),
        [&](const Tensor&) { return xgrad::expand(xgrad::to(src, dtype()), sizes()).contiguous(); },
        [&](const NDArray& d) { kernels::copy_(d, src.data()); }, /*reads_old=*/false);
}

const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                                 bool accumulate) const {
    const Tensor prepared = detail::index_put_values("index_put_", *this, indices, values, accumulate);
    XGRAD_CHECK(!(GradMode::is_enabled() && is_leaf() && requires_grad()),
                "index_put_: a leaf tensor that requires grad is used in an in-place operation; do it under "
                "NoGradGuard (as optimizers do) or on a clone()");
    if (detail::only_basic_indices(indices)) {
        // x[1:, 0] = v is a write into a view: copy_ (or add_), with its recording through views.
        // Values that share memory with x are copied first (copy_ reads as it writes).
        const Tensor view = xgrad::index(*this, indices);
        kernels::check_values_fit_index(prepared.sizes(), view.sizes(), "index_put_");
        const Tensor source = prepared.data().storage() == data().storage() ? xgrad::clone(prepared) : prepared;
        if (accumulate)
            view.add_(source);
        else
            view.copy_(source);
        return *this;
    }
    // index_put_op reads the old value before the write lands, so it needs no copy of its own.
    return inplace(
        *this, "index_put_", prepared.requires_grad(),
        [&](const Tensor& old) { return detail::index_put_op(old, indices, prepared, accumulate, "index_put_"); },
        [&](const NDArray& d) {
            kernels::put_at_positions(d, detail::index_places(d, indices, "index_put_"), prepared.data(), accumulate,
                                      "index_put_");
        },
        /*reads_old=*/false);
}

const Tensor& Tensor::index_put_(const std::vector<indexing::TensorIndex>& indices, double value) const {
    return index_put_(indices, full({}, value, dtype()));
}

Tensor Tensor::index(const std::vector<indexing::TensorIndex>& indices) const {
    return xgrad::index(*this, indices);
}

namespace {
// fill_ and zero_, each under its own name in errors.
const Tensor& fill_named(const Tensor& self, const char* op, double value) {
    return inplace(
        self, op, false, [&](const Tensor&) { return full(self.sizes(), value, self.dtype()); },
        [&](const NDArray& d) { kernels::fill_(d, value); }, /*reads_old=*/false);
}
}  // namespace

const Tensor& Tensor::fill_(double value) const {
    return fill_named(*this, "fill_", value);
}

const Tensor& Tensor::zero_() const {
    return fill_named(*this, "zero_", 0.0);
}

std::ostream& operator<<(std::ostream& out, const Tensor& t) {
    if (!t.defined()) return out << "tensor(undefined)";
    std::ostringstream text;
    text << t.data();
    std::string s = text.str();
    if (t.grad_fn())
        s.insert(s.size() - 1, std::string(", grad_fn=<") + t.grad_fn()->name() + ">");
    else if (t.requires_grad())
        s.insert(s.size() - 1, ", requires_grad=true");
    return out << s;
}

}  // namespace xgrad
