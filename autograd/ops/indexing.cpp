// Tensor::index and index_put_ (autograd/indexing.hpp). Integers, slices, None, Ellipsis and bools
// become view ops (select, slice, unsqueeze), so basic indexing returns views with their usual
// gradients. Advanced indices (int64 and bool tensors) become the places they pick, numbered in
// the row-major order of the tensor they index: reading them is index_select on the flattened
// tensor, and writing them is one op, index_put, whose gradients are written with the same two
// functions, so they differentiate again.

#include <xgrad/autograd/indexing.hpp>
#include <xgrad/autograd/node.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/kernels.hpp>

#include <cstring>
#include <limits>

namespace xgrad::indexing {

Slice::Slice(std::optional<int64_t> start, std::optional<int64_t> stop, std::optional<int64_t> step)
    : start_(start.value_or(0)), stop_(stop.value_or(std::numeric_limits<int64_t>::max())), step_(step.value_or(1)) {
    XGRAD_CHECK(step_ > 0, "Slice: the step must be positive, got ", step_);
}

TensorIndex::TensorIndex(const char* text) : kind_(Kind::ellipsis) {
    XGRAD_CHECK(text != nullptr && std::strcmp(text, "...") == 0,
                "TensorIndex: the only string index is \"...\" (Ellipsis), got \"", text ? text : "(null)", "\"");
}

TensorIndex::TensorIndex(Tensor tensor) : kind_(Kind::tensor), tensor_(std::move(tensor)) {
    XGRAD_CHECK(tensor_.defined(), "TensorIndex: the index tensor is undefined");
}

}  // namespace xgrad::indexing

namespace xgrad {
namespace {
using indexing::TensorIndex;
using Kind = TensorIndex::Kind;

// The advanced indices met by the basic pass: the dimension of the view each indexes (ascending)
// and its int64 positions.
struct AdvancedIndices {
    std::vector<int64_t> dims;
    std::vector<NDArray> positions;
    void add(int64_t dim, NDArray index) {
        dims.push_back(dim);
        positions.push_back(std::move(index));
    }
};

// The dimensions of the indexed tensor that the indices name (all but None, Ellipsis and bools).
int64_t dimensions_named(const std::vector<TensorIndex>& indices) {
    int64_t named = 0;
    for (const TensorIndex& i : indices) {
        if (i.kind() == Kind::integer || i.kind() == Kind::slice) ++named;
        if (i.kind() == Kind::tensor) {
            const Tensor& t = i.tensor();
            named += t.dtype() == kBool ? t.dim() : 1;
        }
    }
    return named;
}

// A bool index (or 0-d bool tensor): a new dimension of size 1 that advanced indexing keeps
// (true) or empties (false), as PyTorch turns it into the index [0] or [].
NDArray bool_as_index(bool keep) {
    NDArray index = NDArray::empty({keep ? 1 : 0}, kInt64);
    if (keep) index.data<int64_t>()[0] = 0;
    return index;
}

// An integer index into dimension `d` of `view`, checked; `real` is the dimension of the indexed
// tensor it stands for (what errors name, as PyTorch's do).
template <class View>
View select_checked(const View& view, int64_t d, int64_t index, int64_t real, const char* op) {
    const int64_t size = view.sizes()[d];
    XGRAD_CHECK(index >= -size && index < size, op, ": index ", index, " is out of bounds for dimension ", real,
                " with size ", size);
    return view.select(d, index);
}

// Applies the basic indices to `view` (a Tensor, through differentiable view ops, or an NDArray,
// for the places a write goes to) and collects the advanced ones. A 0-d int64 tensor indexes as
// the integer it holds, as in PyTorch.
template <class View>
View apply_basic(View view, const std::vector<TensorIndex>& indices, AdvancedIndices& advanced, const char* op) {
    const int64_t rank = view.dim(), named = dimensions_named(indices);
    XGRAD_CHECK(named <= rank, op, ": too many indices (", named, ") for a tensor of dimension ", rank, " (shape ",
                view.sizes(), ")");
    int64_t d = 0;     // the dimension of `view` the next index applies to
    int64_t real = 0;  // the dimension of the indexed tensor it stands for
    bool seen_ellipsis = false;
    for (const TensorIndex& i : indices) {
        switch (i.kind()) {
            case Kind::none:
                view = view.unsqueeze(d++);
                break;
            case Kind::ellipsis:
                XGRAD_CHECK(!seen_ellipsis, op, ": an index can hold only one Ellipsis");
                seen_ellipsis = true;
                d += rank - named;
                real += rank - named;
                break;
            case Kind::integer:
                view = select_checked(view, d, i.integer(), real++, op);
                break;
            case Kind::boolean:
                view = view.unsqueeze(d);
                advanced.add(d++, bool_as_index(i.boolean()));
                break;
            case Kind::slice:
                view = view.slice(d++, i.slice().start(), i.slice().stop(), i.slice().step());
                ++real;
                break;
            case Kind::tensor: {
                const Tensor& t = i.tensor();
                if (t.dtype() == kBool && t.dim() == 0) {
                    view = view.unsqueeze(d);
                    advanced.add(d++, bool_as_index(t.item() != 0));
                } else if (t.dtype() == kBool) {
                    for (int64_t j = 0; j < t.dim(); ++j)
                        XGRAD_CHECK(t.sizes()[j] == view.sizes()[d + j], op, ": the mask of shape ", t.sizes(),
                                    " does not match the indexed tensor at dimension ", real + j, " (size ",
                                    view.sizes()[d + j], ")");
                    const NDArray places = kernels::nonzero(t.data());  // [count, t.dim()]
                    for (int64_t j = 0; j < t.dim(); ++j) advanced.add(d + j, places.select(1, j));
                    d += t.dim();
                    real += t.dim();
                } else {
                    XGRAD_CHECK(t.dtype() == kInt64, op, ": tensors used as indices must be int64 or bool, got ",
                                t.dtype());
                    if (t.dim() == 0) {
                        view = select_checked(view, d, t.data().item_int64(), real++, op);
                    } else {
                        advanced.add(d++, t.data());
                        ++real;
                    }
                }
                break;
            }
        }
    }
    return view;
}

// A 1-D int64 index into a dimension of `size`, negatives counted from the end, checked.
NDArray wrapped_index(const NDArray& index, int64_t size, int64_t dim, const char* op) {
    NDArray out = index.contiguous().clone();
    int64_t* p = out.data<int64_t>();
    for (int64_t i = 0; i < out.numel(); ++i) {
        XGRAD_CHECK(p[i] >= -size && p[i] < size, op, ": index ", p[i], " is out of bounds for dimension ", dim,
                    " with size ", size);
        if (p[i] < 0) p[i] += size;
    }
    return out;
}

// The places of the advanced indices in the row-major numbering of `view`'s elements.
NDArray row_major_places(const Tensor& view, const AdvancedIndices& advanced, const char* op) {
    return kernels::advanced_index_positions(view.sizes(), contiguous_strides(view.sizes()), 0, advanced.dims,
                                             advanced.positions, op);
}

// x's elements at `places` (row-major numbers), in places' shape.
Tensor take_places(const Tensor& x, const NDArray& places) {
    const Tensor flat = reshape(x, {x.numel()});
    return reshape(index_select(flat, 0, Tensor(places.reshape({places.numel()}))), places.sizes());
}

Tensor put_places(const Tensor& x, const NDArray& places, const Tensor& values, bool accumulate, const char* op);

// The op that wrote `values` at `places` (row-major numbers of x's elements) into `out`, a copy of x.
Tensor record_put(const Tensor& x, const Tensor& values, NDArray out, const NDArray& places, bool accumulate,
                  const char* op) {
    return make_op(op, {x, values}, std::move(out),
                   [places, accumulate, op](const Tensor& g, const BackwardContext& c) -> Grads {
                       Tensor gx, gvalues;
                       if (c.needs(0)) gx = accumulate ? g : put_places(g, places, zeros({}, g.dtype()), false, op);
                       // Summed back to the values' shape by the engine where they were broadcast.
                       if (c.needs(1)) gvalues = take_places(g, places);
                       return {gx, gvalues};
                   });
}

NDArray contiguous_copy(const Tensor& x) {
    return x.data().is_contiguous() ? x.data().clone() : x.data().contiguous();
}

// x with `values` written (or added) at `places`.
Tensor put_places(const Tensor& x, const NDArray& places, const Tensor& values, bool accumulate, const char* op) {
    NDArray out = contiguous_copy(x);
    kernels::put_at_positions(out, places, values.data(), accumulate, op);
    return record_put(x, values, std::move(out), places, accumulate, op);
}

}  // namespace

namespace detail {
bool only_basic_indices(const std::vector<TensorIndex>& indices) {
    for (const TensorIndex& i : indices)
        if (i.kind() == Kind::boolean ||
            (i.kind() == Kind::tensor && (i.tensor().dtype() == kBool || i.tensor().dim() > 0)))
            return false;
    return true;
}

Tensor index_put_values(const char* op, const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values,
                        bool accumulate) {
    XGRAD_CHECK(values.defined(), op, ": the values are undefined");
    // Leading dimensions of size 1 are dropped first, as x[...] = v does in PyTorch.
    int64_t ones = 0;
    while (ones < values.dim() && values.sizes()[ones] == 1) ++ones;
    Tensor v = ones == 0 ? values : reshape(values, Shape(values.sizes().begin() + ones, values.sizes().end()));
    if (v.dtype() == x.dtype()) return v;
    // PyTorch converts the values where x[...] = v becomes a copy (basic indices and bools only)
    // or a masked_fill (one bool mask the only tensor index, one value, not accumulating);
    // index_put proper needs equal dtypes.
    int64_t tensors = 0, masks = 0;
    for (const TensorIndex& i : indices)
        if (i.kind() == Kind::tensor && (i.tensor().dtype() == kBool || i.tensor().dim() > 0)) {
            ++tensors;
            masks += i.tensor().dtype() == kBool && i.tensor().dim() > 0;
        }
    const bool converts = tensors == 0 || (tensors == 1 && masks == 1 && v.numel() == 1 && !accumulate);
    XGRAD_CHECK(converts, op, ": the values are ", values.dtype(), " but the tensor written to is ", x.dtype(),
                " (with tensor indices they must match, as in PyTorch; convert with to())");
    return to(v, x.dtype());
}

Tensor index_put_op(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& prepared_values,
                    bool accumulate, const char* op) {
    NDArray out = contiguous_copy(x);
    // out is contiguous from offset 0: the places of its elements are their row-major numbers.
    const NDArray places = index_places(out, indices, op);
    kernels::put_at_positions(out, places, prepared_values.data(), accumulate, op);
    return record_put(x, prepared_values, std::move(out), places, accumulate, op);
}

NDArray index_places(const NDArray& target, const std::vector<TensorIndex>& indices, const char* op) {
    AdvancedIndices advanced;
    const NDArray view = apply_basic(target, indices, advanced, op);
    return kernels::advanced_index_positions(view.sizes(), view.strides(), view.offset() - target.offset(),
                                             advanced.dims, advanced.positions, op);
}
}  // namespace detail

Tensor index(const Tensor& x, const std::vector<TensorIndex>& indices) {
    AdvancedIndices advanced;
    const Tensor view = apply_basic(x, indices, advanced, "index");
    // x.index({}) and x.index({Ellipsis}) are views too, as x[...] is: x expanded to its own shape.
    if (advanced.dims.empty()) return view.impl() == x.impl() ? xgrad::expand(x, x.sizes()) : view;
    if (advanced.dims.size() == 1 && advanced.positions[0].dim() == 1) {
        // One index along one dimension (x[idx], x[:, mask]): index_select there, whose gradient
        // adds whole rows.
        const int64_t d = advanced.dims[0];
        return index_select(view, d, Tensor(wrapped_index(advanced.positions[0], view.sizes()[d], d, "index")));
    }
    return take_places(view, row_major_places(view, advanced, "index"));
}

Tensor index_put(const Tensor& x, const std::vector<TensorIndex>& indices, const Tensor& values, bool accumulate) {
    return detail::index_put_op(x, indices, detail::index_put_values("index_put", x, indices, values, accumulate),
                                accumulate, "index_put");
}

}  // namespace xgrad
