// Views, joins and indexing. Views share storage with their input; their nodes record the
// storage version, so an in-place write after the view was taken makes backward throw instead of
// returning a gradient for values that are no longer there.

#include <algorithm>
#include <limits>

#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {
Tensor view_op(const char* name, const Tensor& x, NDArray result, BackwardFn backward) {
    return make_op(name, {x}, std::move(result), std::move(backward), {.is_view = true});
}

// Marks a view's node with the region of its input it covers (see Node::Region).
Tensor with_region(Tensor view, Node::Region region) {
    if (const auto& node = view.grad_fn()) node->region = region;
    return view;
}

// Python slice bounds made concrete, as NDArray::slice does.
void normalize_slice(int64_t n, int64_t& start, int64_t& end) {
    if (start < 0) start += n;
    if (end < 0) end += n;
    start = std::clamp<int64_t>(start, 0, n);
    end = std::clamp<int64_t>(end, start, n);
}

// The adjoint of slicing: g placed into zeros of the input's shape. Differentiable in g.
Tensor slice_backward(const Tensor& g, const Shape& sizes, int64_t dim, int64_t start, int64_t end, int64_t step) {
    NDArray out = kernels::full(sizes, 0, g.dtype());
    kernels::copy_(out.slice(dim, start, end, step), g.data());
    return make_op("slice_backward", {g}, out,
                   [dim, start, end, step](const Tensor& gg, const BackwardContext&) -> Grads {
                       return {slice(gg, dim, start, end, step)};
                   });
}
}  // namespace

Tensor view(const Tensor& x, const Shape& sizes) {
    return view_op("view", x, x.data().view(sizes),
                   [](const Tensor& g, const BackwardContext& c) -> Grads { return {reshape(g, c.input_sizes(0))}; });
}

Tensor reshape(const Tensor& x, const Shape& sizes) {
    return view_op("reshape", x, x.data().reshape(sizes),
                   [](const Tensor& g, const BackwardContext& c) -> Grads { return {reshape(g, c.input_sizes(0))}; });
}

Tensor flatten(const Tensor& x, int64_t start_dim, int64_t end_dim) {
    if (x.dim() == 0) return reshape(x, {1});
    const int64_t s = wrap_dim(start_dim, x.dim(), "flatten"), e = wrap_dim(end_dim, x.dim(), "flatten");
    XGRAD_CHECK(s <= e, "flatten: start_dim ", start_dim, " comes after end_dim ", end_dim);
    Shape sizes;
    for (int64_t d = 0; d < s; ++d) sizes.push_back(x.sizes()[d]);
    int64_t n = 1;
    for (int64_t d = s; d <= e; ++d) n *= x.sizes()[d];
    sizes.push_back(n);
    for (int64_t d = e + 1; d < x.dim(); ++d) sizes.push_back(x.sizes()[d]);
    return reshape(x, sizes);
}

Tensor transpose(const Tensor& x, int64_t d0, int64_t d1) {
    return view_op("transpose", x, x.data().transpose(d0, d1),
                   [d0, d1](const Tensor& g, const BackwardContext&) -> Grads { return {transpose(g, d0, d1)}; });
}

Tensor permute(const Tensor& x, const Shape& dims) {
    NDArray result = x.data().permute(dims);
    Shape inverse(dims.size());
    for (std::size_t i = 0; i < dims.size(); ++i)
        inverse[wrap_dim(dims[i], x.dim(), "permute")] = static_cast<int64_t>(i);
    return view_op("permute", x, result,
                   [inverse](const Tensor& g, const BackwardContext&) -> Grads { return {permute(g, inverse)}; });
}

Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step) {
    NDArray result = x.data().slice(dim, start, end, step);
    const int64_t d = wrap_dim(dim, x.dim(), "slice");
    normalize_slice(x.sizes()[d], start, end);
    return with_region(view_op("slice", x, result,
                               [d, start, end, step](const Tensor& g, const BackwardContext& c) -> Grads {
                                   return {slice_backward(g, c.input_sizes(0), d, start, end, step)};
                               }),
                       {.dim = d, .start = start, .end = end, .step = step});
}

Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length) {
    NDArray result = x.data().narrow(dim, start, length);  // validates
    const int64_t d = wrap_dim(dim, x.dim(), "narrow");
    if (start < 0) start += x.sizes()[d];
    return with_region(view_op("narrow", x, result,
                               [d, start, length](const Tensor& g, const BackwardContext& c) -> Grads {
                                   return {slice_backward(g, c.input_sizes(0), d, start, start + length, 1)};
                               }),
                       {.dim = d, .start = start, .end = start + length, .step = 1});
}

Tensor select(const Tensor& x, int64_t dim, int64_t index) {
    NDArray result = x.data().select(dim, index);  // validates
    const int64_t d = wrap_dim(dim, x.dim(), "select");
    if (index < 0) index += x.sizes()[d];
    return with_region(view_op("select", x, result,
                               [d, index](const Tensor& g, const BackwardContext& c) -> Grads {
                                   return {slice_backward(g.unsqueeze(d), c.input_sizes(0), d, index, index + 1, 1)};
                               }),
                       {.dim = d, .start = index, .end = index + 1, .step = 1, .dim_removed = true});
}

Tensor unsqueeze(const Tensor& x, int64_t dim) {
    return view_op("unsqueeze", x, x.data().unsqueeze(dim),
                   [](const Tensor& g, const BackwardContext& c) -> Grads { return {reshape(g, c.input_sizes(0))}; });
}

Tensor squeeze(const Tensor& x) {
    return view_op("squeeze", x, x.data().squeeze(),
                   [](const Tensor& g, const BackwardContext& c) -> Grads { return {reshape(g, c.input_sizes(0))}; });
}

Tensor squeeze(const Tensor& x, int64_t dim) {
    return view_op("squeeze", x, x.data().squeeze(dim),
                   [](const Tensor& g, const BackwardContext& c) -> Grads { return {reshape(g, c.input_sizes(0))}; });
}

// The engine sums a gradient back to the input's shape, so expand's own rule is the identity.
Tensor expand(const Tensor& x, const Shape& sizes) {
    return view_op("expand", x, x.data().expand(sizes),
                   [](const Tensor& g, const BackwardContext&) -> Grads { return {g}; });
}

Tensor contiguous(const Tensor& x) {
    return x.is_contiguous() ? x : clone(x);
}

Tensor clone(const Tensor& x) {
    return make_op("clone", {x}, x.data().clone(),
                   [](const Tensor& g, const BackwardContext&) -> Grads { return {g}; });
}

// The engine casts a gradient back to the input's dtype.
Tensor to(const Tensor& x, DType dtype) {
    if (x.dtype() == dtype) return x;
    return make_op("to", {x}, x.data().to(dtype), [](const Tensor& g, const BackwardContext&) -> Grads { return {g}; });
}

Tensor sum_to(const Tensor& g, const Shape& sizes) {
    if (g.sizes() == sizes) return g;
    const int64_t lead = g.dim() - static_cast<int64_t>(sizes.size());
    XGRAD_CHECK(lead >= 0, "sum_to: cannot sum shape ", g.sizes(), " to the larger shape ", sizes);
    Shape dims;
    for (int64_t d = 0; d < lead; ++d) dims.push_back(d);
    for (std::size_t d = 0; d < sizes.size(); ++d) {
        const int64_t have = g.sizes()[lead + static_cast<int64_t>(d)];
        XGRAD_CHECK(sizes[d] == have || sizes[d] == 1, "sum_to: shape ", g.sizes(), " does not broadcast from ", sizes);
        if (sizes[d] == 1 && have != 1) dims.push_back(lead + static_cast<int64_t>(d));
    }
    return reshape(sum(g, dims, true), sizes);
}

// x tiled repeats[i] times along dim i (more repeats than dims: x gains leading dims). Written as
// an expand of an interleaved view, [1, s0, 1, s1, ...] -> [r0, s0, r1, s1, ...], then a reshape,
// so the gradient sums the copies back without a rule of its own.
Tensor repeat(const Tensor& x, const Shape& repeats) {
    XGRAD_CHECK(static_cast<int64_t>(repeats.size()) >= x.dim(), "repeat: ", repeats.size(),
                " repeat counts for a tensor of shape ", x.sizes(), " (need at least one per dimension)");
    const std::size_t lead = repeats.size() - static_cast<std::size_t>(x.dim());
    Shape interleaved, expanded, result;
    for (std::size_t i = 0; i < repeats.size(); ++i) {
        XGRAD_CHECK(repeats[i] >= 0, "repeat: repeat counts must be non-negative, got ", repeats[i]);
        const int64_t size = i < lead ? 1 : x.size(static_cast<int64_t>(i - lead));
        interleaved.push_back(1);
        interleaved.push_back(size);
        expanded.push_back(repeats[i]);
        expanded.push_back(size);
        result.push_back(repeats[i] * size);
    }
    return reshape(expand(reshape(x, interleaved), expanded), result);
}

// Each dim through index_select with the positions reversed: its gradient (index_add) flips back.
Tensor flip(const Tensor& x, const Dims& dims) {
    if (x.dim() == 0) {  // one element: dims may name 0 or -1 only, and the copy is the answer
        for (int64_t dim : dims) wrap_dim(dim, 1, "flip");
        return clone(x);
    }
    std::vector<bool> flipped(static_cast<std::size_t>(x.dim()), false);
    Tensor out = clone(x);
    for (int64_t dim : dims) {
        const int64_t d = wrap_dim(dim, x.dim(), "flip");
        XGRAD_CHECK(!flipped[static_cast<std::size_t>(d)], "flip: dim ", d, " appears more than once in ", dims,
                    " for shape ", x.sizes());
        flipped[static_cast<std::size_t>(d)] = true;
        const int64_t n = x.size(d);
        out = index_select(out, d, arange(static_cast<double>(n - 1), -1.0, -1.0, kInt64));
    }
    return out;
}

// ---- joining ---------------------------------------------------------------------------------------
// d cat = the matching slice of g for each input.
Tensor cat(const std::vector<Tensor>& tensors, int64_t dim) {
    std::vector<NDArray> raw;
    for (const Tensor& t : tensors) raw.push_back(t.data());
    NDArray result = kernels::cat(raw, dim);
    // A 1-D empty result came from legacy empty inputs alone, which take any dim (as PyTorch).
    const int64_t rank = result.dim(), d = kernels::is_legacy_empty(result.sizes()) ? 0 : wrap_dim(dim, rank, "cat");
    return make_op("cat", tensors, result, [d, rank](const Tensor& g, const BackwardContext& c) -> Grads {
        Grads grads;
        int64_t at = 0;
        for (std::size_t i = 0; i < c.input_meta.size(); ++i) {
            if (kernels::cat_skips(c.input_sizes(i), rank)) {  // a legacy empty input: an empty gradient
                grads.push_back(c.needs(i) ? zeros({0}, g.dtype()) : Tensor());
                continue;
            }
            const int64_t n = c.input_sizes(i)[d];
            grads.push_back(c.needs(i) ? narrow(g, d, at, n) : Tensor());
            at += n;
        }
        return grads;
    });
}

Tensor stack(const std::vector<Tensor>& tensors, int64_t dim) {
    XGRAD_CHECK(!tensors.empty(), "stack: expected a non-empty list of tensors");
    const int64_t d = wrap_dim(dim, tensors[0].dim() + 1, "stack");
    std::vector<Tensor> expanded;
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        XGRAD_CHECK(tensors[i].sizes() == tensors[0].sizes(), "stack: tensor ", i, " has shape ", tensors[i].sizes(),
                    " but tensor 0 has shape ", tensors[0].sizes(), " (all must be equal)");
        expanded.push_back(unsqueeze(tensors[i], d));
    }
    return cat(expanded, d);
}

// Pieces are narrow() views, each with its own node: gradients of the pieces meet at x.
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim) {
    kernels::split_with_sizes(x.data(), sizes, dim);  // validates
    std::vector<Tensor> parts;
    int64_t at = 0;
    for (int64_t s : sizes) {
        parts.push_back(narrow(x, dim, at, s));
        at += s;
    }
    return parts;
}

std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim) {
    std::vector<int64_t> sizes;
    for (const NDArray& p : kernels::split(x.data(), split_size, dim)) sizes.push_back(p.size(dim));
    return split_with_sizes(x, sizes, dim);
}

std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim) {
    std::vector<int64_t> sizes;
    for (const NDArray& p : kernels::chunk(x.data(), chunks, dim)) sizes.push_back(p.size(dim));
    return split_with_sizes(x, sizes, dim);
}

std::vector<Tensor> unbind(const Tensor& x, int64_t dim) {
    XGRAD_CHECK(x.dim() > 0, "unbind: a 0-d tensor has no dimension to unbind");
    const int64_t d = wrap_dim(dim, x.dim(), "unbind");
    std::vector<Tensor> parts;
    for (int64_t i = 0; i < x.sizes()[d]; ++i) parts.push_back(select(x, d, i));
    return parts;
}

// ---- indexing --------------------------------------------------------------------------------------
// d index_select = g added back at the picked rows (repeats accumulate).
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index) {
    NDArray result = kernels::index_select(x.data(), dim, index.data());
    const int64_t d = wrap_dim(dim, x.dim(), "index_select");
    return make_op("index_select", {x, index}, result,
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {index_add(zeros(c.input_sizes(0), g.dtype()), d, c.inputs[1], g), Tensor()};
                   },
                   {.saves = Saves::inputs, .save_inputs = {false, true}});
}

// d index_add = (g, the rows of g that were added to)
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source) {
    NDArray result = kernels::index_add(x.data(), dim, index.data(), source.data());
    const int64_t d = wrap_dim(dim, x.dim(), "index_add");
    return make_op("index_add", {x, index, source}, result,
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {g, Tensor(), c.needs(2) ? index_select(g, d, c.inputs[1]) : Tensor()};
                   },
                   {.saves = Saves::inputs, .save_inputs = {false, true}});
}

// d gather = g scattered back to where it was gathered from.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index) {
    NDArray result = kernels::gather(x.data(), dim, index.data());
    const int64_t d = wrap_dim(dim, x.dim(), "gather");
    return make_op("gather", {x, index}, result,
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       return {scatter_add(zeros(c.input_sizes(0), g.dtype()), d, c.inputs[1], g), Tensor()};
                   },
                   {.saves = Saves::inputs, .save_inputs = {false, true}});
}

// d scatter_add = (g, g gathered at the index), zero-padded where src is larger than the index.
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src) {
    NDArray result = kernels::scatter_add(x.data(), dim, index.data(), src.data());
    const int64_t d = wrap_dim(dim, x.dim(), "scatter_add");
    return make_op("scatter_add", {x, index, src}, result,
                   [d](const Tensor& g, const BackwardContext& c) -> Grads {
                       Tensor gs;
                       if (c.needs(2)) {
                           gs = gather(g, d, c.inputs[1]);
                           const Shape& want = c.input_sizes(2);
                           for (int64_t k = 0; k < gs.dim(); ++k)
                               if (gs.sizes()[k] != want[k]) {
                                   Shape padded = gs.sizes();
                                   padded[k] = want[k];
                                   gs = slice_backward(gs, padded, k, 0, gs.sizes()[k], 1);
                               }
                       }
                       return {g, Tensor(), gs};
                   },
                   {.saves = Saves::inputs, .save_inputs = {false, true}});
}

Tensor one_hot(const Tensor& index, int64_t num_classes) {
    XGRAD_CHECK(index.dtype() == kInt64, "one_hot: the index must be int64, got ", index.dtype());
    if (num_classes < 0) {
        XGRAD_CHECK(index.numel() > 0, "one_hot: cannot infer the number of classes from an empty tensor");
        // The largest class in int64 (a double would round it above 2^53).
        const NDArray values = index.data().contiguous();
        const int64_t* p = values.data<int64_t>();
        const int64_t largest = *std::max_element(p, p + values.numel());
        XGRAD_CHECK(largest >= 0 && largest < std::numeric_limits<int64_t>::max(),
                    "one_hot: cannot infer the number of classes from the largest class value ", largest);
        num_classes = largest + 1;
    }
    return Tensor(kernels::one_hot(index.data(), num_classes, kInt64));
}

}  // namespace xgrad
