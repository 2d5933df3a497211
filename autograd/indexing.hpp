#pragma once
/// Tensor indexing as LibTorch spells it (torch::indexing), so that Python's x[...] carries over:
///
///     using namespace xgrad::indexing;
///     x.index({Slice(), 0})                  // x[:, 0]         a view
///     x.index({Ellipsis, Slice(None, 2)})    // x[..., :2]      a view
///     x.index({None, Slice(1, None, 2)})     // x[None, 1::2]   a view
///     x.index({idx})                         // x[idx]          rows picked by an int64 tensor (a copy)
///     x.index({mask})                        // x[mask]         elements where a bool tensor is true
///     x.index_put_({Slice(), idx}, 0.0)      // x[:, idx] = 0
///     x.index_put_({idx}, rows, true)        // x[idx] += rows, repeated indices adding up
///
/// Integers, slices, None, Ellipsis and bools index as in Python and give views (a bool adds a
/// dimension of size 1, or 0 when false), and so does a 0-d int64 tensor (as its integer). Other
/// int64 tensors and bool tensors are advanced indices: the integer tensors, and the positions of each bool mask's true
/// elements, broadcast together to one shape B, and the result holds the elements they pick, B's dimensions standing
/// where the indexed dimensions stood when those are adjacent, in front otherwise (NumPy's and
/// PyTorch's rule). Both differentiate: index's gradient adds g into the picked places, and
/// index_put's gives the tensor g outside the written places (all of g when accumulating) and the
/// values the gradient at their places, summed over broadcast and repeats.

#include <cstdint>
#include <optional>
#include <type_traits>
#include <vector>
#include <xgrad/autograd/tensor.hpp>

namespace xgrad::indexing {

/// x[None]: a new dimension of size 1; also "no bound" in a Slice (Slice(None, 2)).
inline constexpr std::nullopt_t None = std::nullopt;

struct EllipsisIndexType {};
/// x[...]: as many full slices as the other indices leave dimensions.
inline constexpr EllipsisIndexType Ellipsis{};

/// start:stop:step; a missing bound means the dimension's start or end, negative bounds count from
/// the end, and bounds past the ends are clamped, as in Python. The step must be positive.
class Slice {
public:
    Slice(std::optional<int64_t> start = std::nullopt, std::optional<int64_t> stop = std::nullopt,
          std::optional<int64_t> step = std::nullopt);
    int64_t start() const { return start_; }
    int64_t stop() const { return stop_; }
    int64_t step() const { return step_; }

private:
    int64_t start_, stop_, step_;
};

/// One entry of an index list: None, Ellipsis (or "..."), an integer, a bool, a Slice or a tensor.
class TensorIndex {
public:
    enum class Kind { none, ellipsis, integer, boolean, slice, tensor };

    TensorIndex(std::nullopt_t) : kind_(Kind::none) {}         // NOLINT(google-explicit-constructor)
    TensorIndex(EllipsisIndexType) : kind_(Kind::ellipsis) {}  // NOLINT(google-explicit-constructor)
    TensorIndex(const char* text);                             // NOLINT(google-explicit-constructor): "..."
    template <class T, std::enable_if_t<std::is_integral_v<T> && !std::is_same_v<T, bool>, int> = 0>
    TensorIndex(T integer) : kind_(Kind::integer), integer_(static_cast<int64_t>(integer)) {}  // NOLINT
    // A template, so that a double or a pointer does not become a bool index on its way in.
    template <class T, std::enable_if_t<std::is_same_v<T, bool>, int> = 0>
    TensorIndex(T value) : kind_(Kind::boolean), boolean_(value) {}  // NOLINT(google-explicit-constructor)
    TensorIndex(Slice slice) : kind_(Kind::slice), slice_(slice) {}  // NOLINT(google-explicit-constructor)
    TensorIndex(Tensor tensor);                                      // NOLINT(google-explicit-constructor)

    Kind kind() const { return kind_; }
    int64_t integer() const { return integer_; }
    bool boolean() const { return boolean_; }
    const Slice& slice() const { return slice_; }
    const Tensor& tensor() const { return tensor_; }

private:
    Kind kind_;
    int64_t integer_ = 0;
    bool boolean_ = false;
    Slice slice_;
    Tensor tensor_;
};

}  // namespace xgrad::indexing

namespace xgrad {

/// x.index(indices), as a function.
Tensor index(const Tensor& x, const std::vector<indexing::TensorIndex>& indices);
/// x with `values` (broadcast to the shape x.index(indices) has, after dropping leading
/// dimensions of size 1) written at the places the indices pick, or added there when `accumulate`
/// (repeated places then add up, in order). The values' dtype must be x's when tensors index, as
/// in PyTorch. An index out of range throws even where the result would be empty. Out of place;
/// Tensor::index_put_ writes into x.
Tensor index_put(const Tensor& x, const std::vector<indexing::TensorIndex>& indices, const Tensor& values,
                 bool accumulate = false);

}  // namespace xgrad

namespace xgrad::detail {
/// The places x.index(indices) picks in `target`, as offsets from target's first element through
/// its strides (where Tensor::index_put_ writes), in the shape of x.index(indices).
NDArray index_places(const NDArray& target, const std::vector<indexing::TensorIndex>& indices, const char* op);
/// The values of x[indices] = values as index_put writes them: leading dimensions of size 1
/// dropped, converted to x's dtype where PyTorch converts (basic indices and bools only, or one bool
/// mask with a one-element value, not accumulating), else required to match it; errors name `op`.
Tensor index_put_values(const char* op, const Tensor& x, const std::vector<indexing::TensorIndex>& indices,
                        const Tensor& values, bool accumulate);
/// Whether the indices are integers, slices, None, Ellipsis and 0-d int64 tensors only (x.index
/// is then a view, and writing into it is a copy).
bool only_basic_indices(const std::vector<indexing::TensorIndex>& indices);
/// index_put with values already prepared by index_put_values, recorded as `op`.
Tensor index_put_op(const Tensor& x, const std::vector<indexing::TensorIndex>& indices, const Tensor& prepared_values,
                    bool accumulate, const char* op);
}  // namespace xgrad::detail
