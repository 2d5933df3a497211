#pragma once
/// Kernels of the tensor layer: plain functions from NDArrays to NDArrays, no gradients.
/// Autograd's ops call these for their forward and backward passes. Every binary op broadcasts
/// with NumPy rules; every op validates its inputs and names itself in the error.

#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <xgrad/tensor/allocator.hpp>
#include <xgrad/tensor/ndarray.hpp>
#include <xgrad/tensor/random.hpp>
#include <xgrad/tensor/window.hpp>

namespace xgrad::kernels {

// ---- creation -----------------------------------------------------------------------------
NDArray full(const Shape& sizes, double value, DType dtype = kFloat32);
/// start, start + step, ... < end.
NDArray arange(double start, double end, double step, DType dtype);
/// steps points from start to end inclusive.
NDArray linspace(double start, double end, int64_t steps, DType dtype = kFloat32);
/// [n, m] with ones on the diagonal.
NDArray eye(int64_t n, int64_t m, DType dtype = kFloat32);
/// Uniform in [low, high).
NDArray uniform(const Shape& sizes, double low, double high, DType dtype, Generator& gen);
/// Normal with the given mean and standard deviation.
NDArray normal(const Shape& sizes, double mean, double std, DType dtype, Generator& gen);
/// Integers uniform in [low, high).
NDArray randint(int64_t low, int64_t high, const Shape& sizes, DType dtype, Generator& gen);
/// `value` (1 unless given) with probability p, else 0. Dropout2d asks for 1 / (1 - its p)
/// directly: the scaled mask in one pass, the same numbers as the 0/1 mask times the scale (in a
/// floating dtype; an integer one truncates the value). Element i is decided by a counter-based draw from one key taken
/// from `gen` (kernels/counter_random.hpp), so the mask does not depend on the thread count.
NDArray bernoulli(const Shape& sizes, double p, DType dtype, Generator& gen, double value = 1.0);
/// One number from `gen` (under its lock): the key of a counter-based mask.
uint64_t draw_key(Generator& gen);
/// Inverted dropout in one pass: x[i] / keep where bernoulli's draw i from `key` keeps it, else 0.
/// The same bits as x * bernoulli(x.sizes(), keep, ..., 1 / keep) drawing that key; the mask
/// follows x's logical order, whatever its strides. keep in (0, 1]; x floating-point.
NDArray dropout(const NDArray& x, double keep, uint64_t key);
/// A random permutation of 0..n-1 (int64).
NDArray randperm(int64_t n, Generator& gen);

// ---- copying ------------------------------------------------------------------------------
/// dst[...] = src broadcast to dst's shape, converted to dst's dtype. dst may be any view.
void copy_(const NDArray& dst, const NDArray& src);
void fill_(const NDArray& dst, double value);

// ---- sliding windows (convolution and pooling) -------------------------------------------------
/// {out_h, out_w} of the window slid over input [N, C, H, W]; throws naming op when it does not fit.
Shape window_output_size(const Shape& input_sizes, const Window2d& window, const char* op);
/// im2col: [N, C, H, W] -> [N, C * kh * kw, out_h * out_w], row (c, ki, kj) holding the input
/// under kernel position (ki, kj) of channel c for every output position (padding reads 0).
NDArray unfold2d(const NDArray& x, const Window2d& window);
/// col2im, the adjoint of unfold2d: sums each column entry back into the input position it came
/// from (overlapping windows add up); input_sizes is [N, C, H, W].
NDArray fold2d(const NDArray& cols, const Shape& input_sizes, const Window2d& window);
/// Where max pooling found each maximum: the offset (h * W + w) in its [H, W] plane of the
/// first maximum of every window (padding never wins), for out_sizes [N, C, out_h, out_w];
/// ~offset (negative) where a fused relu blocked the maximum, which then gets no gradient.
struct PoolPositions {
    Shape out_sizes;
    Shape in_hw;                                                 ///< {H, W}
    std::vector<int32_t, memory::CachingAllocator<int32_t>> at;  // cached like tensors: no page faults per step
};
struct MaxPool2dResult {
    NDArray values;  ///< [N, C, out_h, out_w]
    std::shared_ptr<PoolPositions> positions;
};
/// With `relu`, max pooling of relu(x), computed as relu of the maxima (relu is monotone, so the
/// two commute, bit for bit): maxima that are not positive become 0 (NaN stays), their positions
/// ~offset.
MaxPool2dResult max_pool2d(const NDArray& x, const Window2d& window, bool relu = false);
/// The gradient of max pooling: grad_out [N, C, out_h, out_w] added at the positions of the
/// maxima into zeros of the input's shape (overlapping windows add up); nothing for a maximum a
/// fused relu blocked (a negative position).
NDArray max_pool2d_scatter(const NDArray& grad_out, const PoolPositions& positions);
/// The adjoint of max_pool2d_scatter: grad_in picked at the positions ([N, C, out_h, out_w]);
/// 0 at a negative position.
NDArray max_pool2d_gather(const NDArray& grad_in, const PoolPositions& positions);

// ---- convolution through oneDNN (conv_onednn.cpp) ------------------------------------------------
enum class ConvolutionBackend { onednn, im2col };
/// oneDNN when xgrad was built with it, unless XGRAD_CONV=im2col (read once; anything else
/// but 'onednn' throws).
ConvolutionBackend convolution_backend();
/// float32 x [N, C, H, W] convolved with w [O, C, kh, kw] (+ bias [O], or undefined) -> NCHW output.
NDArray onednn_conv2d(const NDArray& x, const NDArray& w, const NDArray& bias, const Window2d& window);
struct Conv2dGrads {
    NDArray input, weight, bias;  ///< undefined when not asked for
};
/// The gradients of onednn_conv2d for grad_out [N, O, out_h, out_w].
Conv2dGrads onednn_conv2d_backward(const NDArray& grad_out, const NDArray& x, const NDArray& w, const Window2d& window,
                                   bool need_input, bool need_weight, bool need_bias);

// ---- element-wise -------------------------------------------------------------------------
/// Every unary op, one row each: its name, its functor (tensor/kernels/elementwise.cpp) and whether
/// integer inputs keep their dtype (true: int64 in, int64 out) or compute in float32, as PyTorch
/// does (bool inputs count as int64). Adding an op is one row here, its functor, its derivative in
/// autograd/ops/elementwise.cpp and its rows in the tests.
#define XGRAD_UNARY_OPS(X)             \
    X(neg, NegOp, true)                \
    X(exp, ExpOp, false)               \
    X(log, LogOp, false)               \
    X(sqrt, SqrtOp, false)             \
    X(rsqrt, RsqrtOp, false)           \
    X(abs, AbsOp, true)                \
    X(sign, SignOp, true)              \
    X(sin, SinOp, false)               \
    X(cos, CosOp, false)               \
    X(tanh, TanhOp, false)             \
    X(sigmoid, SigmoidOp, false)       \
    X(relu, ReluOp, true)              \
    X(reciprocal, ReciprocalOp, false) \
    X(square, SquareOp, true)          \
    X(log1p, Log1pOp, false)           \
    X(expm1, Expm1Op, false)           \
    X(erf, ErfOp, false)               \
    X(floor, FloorOp, true)            \
    X(ceil, CeilOp, true)              \
    X(trunc, TruncOp, true)            \
    X(round, RoundOp, true)

enum class Unary {
#define XGRAD_UNARY_ENUMERATOR(name, functor, keeps_integers) name,
    XGRAD_UNARY_OPS(XGRAD_UNARY_ENUMERATOR)
#undef XGRAD_UNARY_ENUMERATOR
};
NDArray unary(Unary op, const NDArray& x);
/// out = op(x), where out has x's shape and the result dtype (out may alias x: in place).
void unary_out(Unary op, const NDArray& out, const NDArray& x);
const char* unary_name(Unary op);

/// tanh_backward(g, y) = g (1 - y^2) and sigmoid_backward(g, y) = g y (1 - y): the derivatives
/// of tanh and sigmoid from their outputs y, fused into one pass.
enum class Binary { add, sub, mul, div, pow, maximum, minimum, tanh_backward, sigmoid_backward };
/// Broadcasting, with dtype promotion; div is true division (integers give float32).
NDArray binary(Binary op, const NDArray& a, const NDArray& b);
/// out = op(a, b) into an existing array of the broadcast shape (out may alias a or b).
void binary_out(Binary op, const NDArray& out, const NDArray& a, const NDArray& b);
const char* binary_name(Binary op);

enum class Compare { eq, ne, lt, le, gt, ge };
/// A bool mask.
NDArray compare(Compare op, const NDArray& a, const NDArray& b);
/// cond ? a : b, element-wise with broadcasting; cond must be bool.
NDArray where(const NDArray& cond, const NDArray& a, const NDArray& b);
/// Limits to [low, high]; NaN bounds mean "no bound".
NDArray clamp(const NDArray& x, double low, double high);
/// x ** exponent for a scalar exponent.
NDArray pow_scalar(const NDArray& x, double exponent);
/// grad where x > 0 else 0: ReLU's backward in one pass.
NDArray threshold_backward(const NDArray& grad, const NDArray& x);

// ---- reductions ---------------------------------------------------------------------------
/// dims empty means all dims. Integer and bool sums give int64.
NDArray sum(const NDArray& x, const Shape& dims = {}, bool keepdim = false);
NDArray mean(const NDArray& x, const Shape& dims = {}, bool keepdim = false);
NDArray amax(const NDArray& x, const Shape& dims = {}, bool keepdim = false);
NDArray amin(const NDArray& x, const Shape& dims = {}, bool keepdim = false);
struct ValuesIndices {
    NDArray values;
    NDArray indices;  ///< int64; the first index among ties
};
ValuesIndices max_dim(const NDArray& x, int64_t dim, bool keepdim = false);
ValuesIndices min_dim(const NDArray& x, int64_t dim, bool keepdim = false);
/// Index of the largest element of the flattened array (0-d int64).
NDArray argmax(const NDArray& x);
NDArray argmax(const NDArray& x, int64_t dim, bool keepdim = false);
NDArray argmin(const NDArray& x, int64_t dim, bool keepdim = false);
/// Variance with Bessel's correction (correction 1: unbiased; 0: biased).
NDArray var(const NDArray& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
NDArray std(const NDArray& x, const Shape& dims = {}, int64_t correction = 1, bool keepdim = false);
/// log(sum(exp(x))) computed as max + log(sum(exp(x - max))): no overflow.
NDArray logsumexp(const NDArray& x, const Shape& dims, bool keepdim = false);
/// p-norm (p = 1, 2, inf or any positive p) over dims.
NDArray norm(const NDArray& x, double p = 2.0, const Shape& dims = {}, bool keepdim = false);
/// Softmax along dim, stable (shifted by the max).
NDArray softmax(const NDArray& x, int64_t dim);
/// Softmax along dim with the places where the bool `excluded` (broadcast to x; undefined for
/// none) is true left out; a lane with nothing left (all excluded or -inf) gives zeros.
NDArray masked_softmax(const NDArray& x, const NDArray& excluded, int64_t dim);
NDArray log_softmax(const NDArray& x, int64_t dim);
/// Softmax's (and masked_softmax's) backward from the output s: s (g - sum(g s)) along dim, one
/// pass over g and s.
NDArray softmax_backward(const NDArray& grad, const NDArray& output, int64_t dim);
/// Cross-entropy per row of logits [N, C] against int64 targets [N]: logsumexp(row) - row[t],
/// 0 where t == ignore_index; [N] in the logits' dtype, each row computed in double.
NDArray cross_entropy_rows(const NDArray& logits, const NDArray& target, int64_t ignore_index);
/// Its gradient with respect to the logits given the rows' gradients g [N]: (softmax(row) -
/// onehot(t)) g per row, 0 where t == ignore_index; [N, C] in the logits' dtype.
NDArray cross_entropy_rows_backward(const NDArray& logits, const NDArray& target, int64_t ignore_index,
                                    const NDArray& row_grads);
/// The sizes of a reduction's result.
Shape reduced_shape(const Shape& sizes, const Shape& dims, bool keepdim, const char* op);

// ---- linear algebra -----------------------------------------------------------------------
/// torch.matmul semantics: 1-D dot, 2-D product, vector-matrix, batched with broadcast batch dims.
NDArray matmul(const NDArray& a, const NDArray& b);
/// out = alpha * op(a) @ op(b) + beta * out, for 2-D a, b, out (transposed views cost no copy).
void gemm_out(const NDArray& out, const NDArray& a, const NDArray& b, double alpha, double beta);
/// out = a @ b + bias (a 1-D row added to every row; none when bias is undefined), then
/// max(out, 0) when relu is set: a Linear layer and its activation in one pass over the output.
/// Split between threads, each applies the bias and relu to the part of out it computed.
void linear_out(const NDArray& out, const NDArray& a, const NDArray& b, const NDArray& bias, bool relu);
/// A linear layer's two product gradients, x's g @ w and the weight's g^T @ x (g [N, out], w
/// [out, in], x [N, in]). They are independent and equally large: on two threads they go out as
/// one job of both products' blocks, so that each thread tends to compute one product whole
/// (a split repacks g on both threads and reads half of it from the other core's cache) and a
/// thread that runs slower takes fewer blocks; on more, each is split between all. With xgrad's
/// blocked kernel a whole product has the bits of a split one (with XGRAD_GEMM=blas, OpenBLAS
/// rounds differently when a product is split, as for any product).
std::pair<NDArray, NDArray> linear_grads(const NDArray& g, const NDArray& w, const NDArray& x);

// ---- joining and indexing -----------------------------------------------------------------
/// Joins along dim. As PyTorch's legacy rule, a 1-D tensor with no elements (torch.zeros(0), the
/// start of many accumulate-by-cat loops) joins tensors of any rank and adds nothing but its dtype.
NDArray cat(const std::vector<NDArray>& arrays, int64_t dim);
/// Whether these are the sizes of a legacy empty tensor: 1-D with no elements.
inline bool is_legacy_empty(const Shape& sizes) {
    return sizes.size() == 1 && sizes[0] == 0;
}
/// Whether cat passes over an input of these sizes among inputs of rank `rank`.
inline bool cat_skips(const Shape& sizes, int64_t rank) {
    return rank != 1 && is_legacy_empty(sizes);
}
NDArray stack(const std::vector<NDArray>& arrays, int64_t dim);
/// Views of split_size along dim (the last may be smaller).
std::vector<NDArray> split(const NDArray& x, int64_t split_size, int64_t dim);
std::vector<NDArray> split_with_sizes(const NDArray& x, const std::vector<int64_t>& sizes, int64_t dim);
/// chunks pieces as equal as possible (PyTorch's rule: ceil(n / chunks) each).
std::vector<NDArray> chunk(const NDArray& x, int64_t chunks, int64_t dim);
/// Rows (along dim) picked by a 1-D int64 index.
NDArray index_select(const NDArray& x, int64_t dim, const NDArray& index);
/// x with source added at the picked rows (index_select's adjoint); repeated indices accumulate.
NDArray index_add(const NDArray& x, int64_t dim, const NDArray& index, const NDArray& source);
/// Advanced indexing's places: an array indexed by the int64 `indices` in its dimensions `dims`
/// (ascending, one index per dimension, broadcast together to a shape B; none: every element), the
/// others taken whole. The result holds, for every element of x.index(...)'s result and in its
/// shape, that element's offset: offset + the sum of coordinate * stride. B's dimensions stand
/// where the indexed ones stood when those are adjacent, in front otherwise. Out-of-range indices
/// (negatives count from the end) throw, naming `op`, the dimension and its size.
NDArray advanced_index_positions(const Shape& sizes, const Shape& strides, int64_t offset,
                                 const std::vector<int64_t>& dims, const std::vector<NDArray>& indices, const char* op);
/// Throws naming `op` unless values of shape `values` broadcast to the indexed shape `indexed`
/// (index_put_'s rule: the values may have fewer dimensions, and size 1 where the shapes differ).
void check_values_fit_index(const Shape& values, const Shape& indexed, const char* op);
/// target's elements at `positions` (offsets from target's first element) set to `values`
/// broadcast to positions' shape, or added to them when `accumulate`; in order on one thread, so
/// repeated places take the last value or the sum in order.
void put_at_positions(const NDArray& target, const NDArray& positions, const NDArray& values, bool accumulate,
                      const char* op);
/// out[i][j] = x[index[i][j]][j] for dim 0, and so on; index has x's rank.
NDArray gather(const NDArray& x, int64_t dim, const NDArray& index);
/// A copy of x with src added at out[index[i][j]][j] (dim 0); repeated indices accumulate.
NDArray scatter_add(const NDArray& x, int64_t dim, const NDArray& index, const NDArray& src);
/// [..., num_classes] with a 1 at each index and 0 elsewhere (index int64, any shape).
NDArray one_hot(const NDArray& index, int64_t num_classes, DType dtype = kInt64);

// ---- sorting and scans (sorting.cpp, scan.cpp) ---------------------------------------------
/// int64 positions that sort x along dim (stable; NaN sorts as the largest value).
NDArray argsort(const NDArray& x, int64_t dim, bool descending = false);
/// int64 positions of the k largest (or smallest) values along dim, best first.
NDArray topk_indices(const NDArray& x, int64_t k, int64_t dim, bool largest = true);
/// int64 position along dim of each lane's k-th smallest value (k from 1; NaN the largest, ties
/// in input order), the dim kept with size 1.
NDArray kth_positions(const NDArray& x, int64_t k, int64_t dim, const char* op);
/// int64 position of each lane's median (the lower one for an even count), the dim kept with
/// size 1: NaN's first position where a lane has one, or with ignore_nan the median of the other
/// values (a lane of only NaN gives position 0).
NDArray median_positions(const NDArray& x, int64_t dim, bool ignore_nan, const char* op);
/// The distinct values of x ascending (NaNs as one value, last), each element's index among
/// them (x's shape) and how often each occurs.
struct Unique {
    NDArray values, inverse, counts;
};
Unique unique(const NDArray& x);
/// [count, x.dim()] int64 coordinates of the non-zero elements, in row-major order.
NDArray nonzero(const NDArray& x);
enum class Scan { sum, prod };
/// Running sum or product along dim (integer and bool inputs accumulate in int64); reverse runs
/// from the last element back (out[i] combines x[i], ..., x[n - 1]).
NDArray cumulative(Scan op, const NDArray& x, int64_t dim, bool reverse = false);
/// [rows, cols] bool, true on and above (upper) or on and below (lower) the diagonal-th
/// diagonal (0: the main one, positive: above it).
NDArray triangle_mask(int64_t rows, int64_t cols, int64_t diagonal, bool upper);

}  // namespace xgrad::kernels
