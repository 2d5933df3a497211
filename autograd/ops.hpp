#pragma once
/// Every tensor op users call, as free functions (xgrad::exp(x), like torch::exp). Each op that
/// produces a floating-point result is differentiable: its backward formula sits beside its
/// forward in autograd/ops/*.cpp. Shapes broadcast with NumPy rules; bad inputs throw
/// xgrad::Error naming the op and the shapes.

#include <optional>
#include <tuple>
#include <vector>

#include <xgrad/autograd/tensor.hpp>
#include <xgrad/tensor/window.hpp>

namespace xgrad {

// ---- creation (ops/creation.cpp) ------------------------------------------------------------
Tensor empty(const Shape& sizes, TensorOptions options = {});
Tensor zeros(const Shape& sizes, TensorOptions options = {});
Tensor ones(const Shape& sizes, TensorOptions options = {});
Tensor full(const Shape& sizes, double value, TensorOptions options = {});
/// 0, 1, ..., end - 1.
Tensor arange(double end, std::optional<TensorOptions> options = std::nullopt);
/// start, start + step, ... (end excluded). Without a dtype: int64 when start, end and step are
/// whole numbers, else float32, so arange(0, 1, 0.1) counts in tenths. (LibTorch reads the
/// arguments' C++ types, which these doubles do not keep: arange(0.0, 5.0) is int64 here, and
/// arange(0, 5, kFloat32) says what is meant.)
Tensor arange(double start, double end, double step = 1.0, std::optional<TensorOptions> options = std::nullopt);
/// start, start + 1, ... (end excluded) in the given dtype.
Tensor arange(double start, double end, TensorOptions options);
Tensor linspace(double start, double end, int64_t steps, TensorOptions options = {});
Tensor eye(int64_t n, TensorOptions options = {});
Tensor eye(int64_t n, int64_t m, TensorOptions options = {});
/// A 0-d tensor.
Tensor scalar_tensor(double value, TensorOptions options = {});
/// One value of a 1-D list. A plain double would make tensor({{1}, {2}}) ambiguous (each {1}
/// also converts to a double); this user-defined conversion ranks below the 2-D overload's.
struct ListValue {
    ListValue(double v) : value(v) {}  // NOLINT: implicit on purpose
    double value;
};
/// From nested lists: tensor({{1, 2}, {3, 4}}); ragged lists throw.
Tensor tensor(std::initializer_list<ListValue> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<double>> values, TensorOptions options = {});
Tensor tensor(std::initializer_list<std::initializer_list<std::initializer_list<double>>> values,
              TensorOptions options = {});
/// Copies values into a tensor of the given shape.
Tensor from_vector(const std::vector<double>& values, const Shape& sizes, TensorOptions options = {});
Tensor from_vector(const std::vector<float>& values, const Shape& sizes, TensorOptions options = {});
Tensor from_vector(const std::vector<int64_t>& values, const Shape& sizes, TensorOptions options = kInt64);
/// Wraps caller-owned memory without copying (the memory must outlive the tensor).
Tensor from_blob(void* data, const Shape& sizes, DType dtype = kFloat32);

/// Random tensors draw from `generator`, or from the default one (seeded by manual_seed).
Tensor rand(const Shape& sizes, TensorOptions options = {}, Generator* generator = nullptr);
Tensor randn(const Shape& sizes, TensorOptions options = {}, Generator* generator = nullptr);
Tensor uniform(const Shape& sizes, double low, double high, TensorOptions options = {}, Generator* generator = nullptr);
Tensor normal(const Shape& sizes, double mean, double std, TensorOptions options = {}, Generator* generator = nullptr);
/// Integers in [low, high).
Tensor randint(int64_t low, int64_t high, const Shape& sizes, TensorOptions options = kInt64,
               Generator* generator = nullptr);
/// 1 with probability p, else 0.
Tensor bernoulli(const Shape& sizes, double p, TensorOptions options = {}, Generator* generator = nullptr);
/// Inverted dropout with the mask named by a key: x / keep where the draw for element i from
/// `key` (kernels/counter_random.hpp) keeps it, else 0; nn::F::dropout takes the key from a
/// generator. The same key gives the same mask, and the backward recomputes it from the key
/// instead of keeping it. keep in (0, 1].
Tensor dropout_with_key(const Tensor& x, double keep, uint64_t key);
Tensor randperm(int64_t n, Generator* generator = nullptr);

Tensor zeros_like(const Tensor& t);
Tensor ones_like(const Tensor& t);
Tensor full_like(const Tensor& t, double value);
Tensor empty_like(const Tensor& t);
Tensor rand_like(const Tensor& t, Generator* generator = nullptr);
Tensor randn_like(const Tensor& t, Generator* generator = nullptr);

// ---- element-wise (ops/elementwise.cpp) ---------------------------------------------------------
Tensor add(const Tensor& a, const Tensor& b);
Tensor sub(const Tensor& a, const Tensor& b);
Tensor mul(const Tensor& a, const Tensor& b);
Tensor div(const Tensor& a, const Tensor& b);
Tensor pow(const Tensor& base, const Tensor& exponent);
Tensor pow(const Tensor& base, double exponent);
Tensor maximum(const Tensor& a, const Tensor& b);
Tensor minimum(const Tensor& a, const Tensor& b);
Tensor neg(const Tensor& x);
Tensor exp(const Tensor& x);
Tensor log(const Tensor& x);
Tensor log1p(const Tensor& x);
Tensor expm1(const Tensor& x);
/// The error function; d erf(x) = 2 / sqrt(pi) exp(-x^2).
Tensor erf(const Tensor& x);
Tensor sqrt(const Tensor& x);
Tensor rsqrt(const Tensor& x);
Tensor abs(const Tensor& x);
Tensor sign(const Tensor& x);
/// Whole numbers below, above, toward 0, and nearest (half to even, as torch.round); gradient 0.
/// Integer tensors stay as they are (bool ones come out int64).
Tensor floor(const Tensor& x);
Tensor ceil(const Tensor& x);
Tensor trunc(const Tensor& x);
Tensor round(const Tensor& x);
Tensor sin(const Tensor& x);
Tensor cos(const Tensor& x);
Tensor tanh(const Tensor& x);
Tensor sigmoid(const Tensor& x);
Tensor relu(const Tensor& x);
Tensor square(const Tensor& x);
Tensor reciprocal(const Tensor& x);
/// Limits to [low, high]; pass NaN for no bound. The gradient passes where low <= x <= high.
Tensor clamp(const Tensor& x, double low, double high);
Tensor clamp_min(const Tensor& x, double low);
Tensor clamp_max(const Tensor& x, double high);
/// cond ? a : b; cond is a bool tensor.
Tensor where(const Tensor& cond, const Tensor& a, const Tensor& b);
/// grad where x > 0 else 0 (relu's backward, itself differentiable in grad).
Tensor threshold_backward(const Tensor& grad, const Tensor& x);
/// grad (1 - y^2), tanh's backward from its output y, fused and itself differentiable.
Tensor tanh_backward(const Tensor& grad, const Tensor& y);
/// grad y (1 - y), sigmoid's backward from its output y, fused and itself differentiable.
Tensor sigmoid_backward(const Tensor& grad, const Tensor& y);

/// Results written into an existing tensor of the result's shape and dtype, as torch's out=
/// (no allocation, no graph: they refuse inputs that require grad while recording).
const Tensor& add_out(const Tensor& out, const Tensor& a, const Tensor& b);
const Tensor& sub_out(const Tensor& out, const Tensor& a, const Tensor& b);
const Tensor& mul_out(const Tensor& out, const Tensor& a, const Tensor& b);
const Tensor& div_out(const Tensor& out, const Tensor& a, const Tensor& b);
const Tensor& exp_out(const Tensor& out, const Tensor& x);
const Tensor& tanh_out(const Tensor& out, const Tensor& x);
const Tensor& sigmoid_out(const Tensor& out, const Tensor& x);
const Tensor& relu_out(const Tensor& out, const Tensor& x);

// Comparisons give bool masks (not differentiable).
Tensor eq(const Tensor& a, const Tensor& b);
Tensor ne(const Tensor& a, const Tensor& b);
Tensor lt(const Tensor& a, const Tensor& b);
Tensor le(const Tensor& a, const Tensor& b);
Tensor gt(const Tensor& a, const Tensor& b);
Tensor ge(const Tensor& a, const Tensor& b);
Tensor logical_and(const Tensor& a, const Tensor& b);
Tensor logical_or(const Tensor& a, const Tensor& b);
Tensor logical_not(const Tensor& a);
/// Bool masks of NaN, of +-inf, and of neither.
Tensor isnan(const Tensor& x);
Tensor isinf(const Tensor& x);
Tensor isfinite(const Tensor& x);
/// 0-d bool: whether any / every element is true (not 0). all() of an empty tensor is true, any()
/// false, as in PyTorch.
Tensor any(const Tensor& x);
Tensor all(const Tensor& x);
/// True when every element of a and b is within atol + rtol * |b|.
bool allclose(const Tensor& a, const Tensor& b, double rtol = 1e-5, double atol = 1e-8);
bool equal(const Tensor& a, const Tensor& b);

Tensor operator+(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a, const Tensor& b);
Tensor operator*(const Tensor& a, const Tensor& b);
Tensor operator/(const Tensor& a, const Tensor& b);
Tensor operator-(const Tensor& a);
Tensor operator+(const Tensor& a, double b);
Tensor operator-(const Tensor& a, double b);
Tensor operator*(const Tensor& a, double b);
Tensor operator/(const Tensor& a, double b);
Tensor operator+(double a, const Tensor& b);
Tensor operator-(double a, const Tensor& b);
Tensor operator*(double a, const Tensor& b);
Tensor operator/(double a, const Tensor& b);
Tensor operator==(const Tensor& a, const Tensor& b);
Tensor operator!=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, const Tensor& b);
Tensor operator<=(const Tensor& a, const Tensor& b);
Tensor operator>(const Tensor& a, const Tensor& b);
Tensor operator>=(const Tensor& a, const Tensor& b);
Tensor operator<(const Tensor& a, double b);
Tensor operator<=(const Tensor& a, double b);
Tensor operator>(const Tensor& a, double b);
Tensor operator>=(const Tensor& a, double b);
Tensor operator==(const Tensor& a, double b);
Tensor operator!=(const Tensor& a, double b);
Tensor operator&&(const Tensor& a, const Tensor& b);
Tensor operator||(const Tensor& a, const Tensor& b);
Tensor operator!(const Tensor& a);

/// A 0-d tensor holding value in the dtype an op with `like` would compute in (float32 for an
/// integer tensor and a fractional value, as PyTorch treats Python scalars).
Tensor scalar_like(const Tensor& like, double value);

// ---- reductions (ops/reduce.cpp) ----------------------------------------------------------------
/// dims empty: over every element; one dim or a list (Dims, in tensor.hpp).
Tensor sum(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
Tensor mean(const Tensor& x, const Dims& dims = {}, bool keepdim = false);
/// Largest element (a 0-d tensor); the gradient is shared evenly among ties.
Tensor max(const Tensor& x);
Tensor min(const Tensor& x);
/// Values and int64 indices (the first among ties) along dim; the gradient goes to that index.
std::tuple<Tensor, Tensor> max(const Tensor& x, int64_t dim, bool keepdim = false);
std::tuple<Tensor, Tensor> min(const Tensor& x, int64_t dim, bool keepdim = false);
/// Maxima over dims; the gradient is shared evenly among ties.
Tensor amax(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor amin(const Tensor& x, const Dims& dims, bool keepdim = false);
Tensor argmax(const Tensor& x);
Tensor argmax(const Tensor& x, int64_t dim, bool keepdim = false);
Tensor argmin(const Tensor& x, int64_t dim, bool keepdim = false);
/// Variance; unbiased divides by N - 1 (Bessel), biased by N.
Tensor var(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor std(const Tensor& x, const Dims& dims = {}, bool unbiased = true, bool keepdim = false);
Tensor logsumexp(const Tensor& x, const Dims& dims, bool keepdim = false);
/// p-norm over dims (p = 1, 2, inf, or any p > 0).
Tensor norm(const Tensor& x, double p = 2.0, const Dims& dims = {}, bool keepdim = false);
/// exp(x) / sum(exp(x)) along dim, computed with the max subtracted (no overflow).
Tensor softmax(const Tensor& x, int64_t dim);
/// x - logsumexp(x) along dim: stable for large logits.
Tensor log_softmax(const Tensor& x, int64_t dim);
/// softmax along dim with the places where the bool `excluded` (broadcast to x; undefined for
/// none) is true left out; a lane with nothing left gives zeros (and passes no gradient).
Tensor masked_softmax(const Tensor& x, const Tensor& excluded, int64_t dim);
/// Cross-entropy of each row of logits [N, C] against int64 class targets [N], fused into one
/// pass per row: logsumexp(row) - row[t], and 0 for rows whose target is ignore_index. The
/// gradient is softmax(row) - onehot(t) (0 for ignored rows). nn::functional::cross_entropy
/// reduces it.
Tensor cross_entropy_rows(const Tensor& logits, const Tensor& target, int64_t ignore_index = -100);

// ---- sorting and scans (ops/sorting.cpp, ops/scan.cpp) -----------------------------------------
/// Values sorted along dim and the int64 positions they came from. The sort is stable (ties keep
/// their order) and NaN counts as the largest value, as in PyTorch. The values' gradient flows to
/// the positions they came from.
std::tuple<Tensor, Tensor> sort(const Tensor& x, int64_t dim = -1, bool descending = false);
Tensor argsort(const Tensor& x, int64_t dim = -1, bool descending = false);
/// The k largest (largest = false: smallest) values along dim, best first, and their positions;
/// among ties the earlier position wins.
std::tuple<Tensor, Tensor> topk(const Tensor& x, int64_t k, int64_t dim = -1, bool largest = true);
/// The k-th smallest value along dim (k from 1) and its position; NaN counts as the largest
/// value. The gradient flows to that position.
std::tuple<Tensor, Tensor> kthvalue(const Tensor& x, int64_t k, int64_t dim = -1, bool keepdim = false);
/// The median of all elements (the lower of the two middle ones for an even count; NaN if any is
/// NaN), as a 0-d tensor. Where several elements equal it, the gradient is shared evenly between
/// them, as in PyTorch.
Tensor median(const Tensor& x);
/// The median along dim and its position (NaN and its first position in a lane with a NaN);
/// the gradient flows to that position.
std::tuple<Tensor, Tensor> median(const Tensor& x, int64_t dim, bool keepdim = false);
/// median leaving NaNs out (NaN only for a lane of NaNs).
Tensor nanmedian(const Tensor& x);
std::tuple<Tensor, Tensor> nanmedian(const Tensor& x, int64_t dim, bool keepdim = false);
/// The distinct values of x, ascending (all NaNs as one value, last), each element's index among
/// them (x's shape) and each value's count, all three always computed (LibTorch's _unique2 with
/// sorted, return_inverse and return_counts). Not differentiable: the values are new leaves.
std::tuple<Tensor, Tensor, Tensor> unique(const Tensor& x);
/// Running sum along dim: out[i] = x[0] + ... + x[i] (integers and bools sum in int64).
Tensor cumsum(const Tensor& x, int64_t dim);
/// Running product along dim; its gradient is exact where x has zeros too.
Tensor cumprod(const Tensor& x, int64_t dim);
/// Product of all elements (a 0-d tensor), or along dim; 1 over nothing. The gradient is exact
/// where x has zeros (it is cumprod's). Integers and bools multiply in int64, wrapping on overflow.
Tensor prod(const Tensor& x);
Tensor prod(const Tensor& x, int64_t dim, bool keepdim = false);

// ---- masks (ops/masking.cpp) ------------------------------------------------------------------
/// x with value wherever the bool mask is true (x and mask broadcast together, as in PyTorch). The tensor form takes a
/// 0-d value, which receives the gradient of the filled places.
Tensor masked_fill(const Tensor& x, const Tensor& mask, double value);
Tensor masked_fill(const Tensor& x, const Tensor& mask, const Tensor& value);
/// A 1-D tensor of the elements where mask is true (x and mask broadcast together), row-major.
Tensor masked_select(const Tensor& x, const Tensor& mask);
/// [count, x.dim()] int64 coordinates of the non-zero elements (not differentiable).
Tensor nonzero(const Tensor& x);
/// The lower (tril) or upper (triu) triangle of the last two dims, the rest zero; diagonal 0 is
/// the main diagonal, positive above it, negative below.
Tensor tril(const Tensor& x, int64_t diagonal = 0);
Tensor triu(const Tensor& x, int64_t diagonal = 0);

// ---- shape and views (ops/shape.cpp) ------------------------------------------------------------
Tensor view(const Tensor& x, const Shape& sizes);
Tensor reshape(const Tensor& x, const Shape& sizes);
Tensor flatten(const Tensor& x, int64_t start_dim = 0, int64_t end_dim = -1);
Tensor transpose(const Tensor& x, int64_t d0, int64_t d1);
Tensor permute(const Tensor& x, const Shape& dims);
Tensor narrow(const Tensor& x, int64_t dim, int64_t start, int64_t length);
Tensor slice(const Tensor& x, int64_t dim, int64_t start, int64_t end, int64_t step = 1);
Tensor select(const Tensor& x, int64_t dim, int64_t index);
Tensor unsqueeze(const Tensor& x, int64_t dim);
Tensor squeeze(const Tensor& x);
Tensor squeeze(const Tensor& x, int64_t dim);
Tensor expand(const Tensor& x, const Shape& sizes);
Tensor contiguous(const Tensor& x);
Tensor clone(const Tensor& x);
/// Converted to dtype; differentiable between floating types.
Tensor to(const Tensor& x, DType dtype);
/// Sums g down to sizes (undoing a broadcast); the engine applies it to every gradient.
Tensor sum_to(const Tensor& g, const Shape& sizes);

/// x tiled repeats[i] times along dim i (torch.Tensor.repeat); extra counts add leading dims.
Tensor repeat(const Tensor& x, const Shape& repeats);
/// A copy of x with the order of elements reversed along each of dims.
Tensor flip(const Tensor& x, const Dims& dims);

Tensor cat(const std::vector<Tensor>& tensors, int64_t dim = 0);
Tensor stack(const std::vector<Tensor>& tensors, int64_t dim = 0);
std::vector<Tensor> split(const Tensor& x, int64_t split_size, int64_t dim = 0);
std::vector<Tensor> split_with_sizes(const Tensor& x, const std::vector<int64_t>& sizes, int64_t dim = 0);
std::vector<Tensor> chunk(const Tensor& x, int64_t chunks, int64_t dim = 0);
/// The slices x.select(dim, i) for every i (views; their gradients meet in one buffer for x).
std::vector<Tensor> unbind(const Tensor& x, int64_t dim = 0);

/// Rows along dim picked by a 1-D int64 index; [n, d] table with index [k] -> [k, d].
Tensor index_select(const Tensor& x, int64_t dim, const Tensor& index);
/// x with source added at the rows index picks (index_select's adjoint).
Tensor index_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& source);
/// out[i][j] = x[index[i][j]][j] (dim 0), and likewise for other dims.
Tensor gather(const Tensor& x, int64_t dim, const Tensor& index);
/// x with src added at the positions index names (gather's adjoint).
Tensor scatter_add(const Tensor& x, int64_t dim, const Tensor& index, const Tensor& src);
/// [..., num_classes] one-hot encoding of an int64 tensor (num_classes -1: max + 1).
Tensor one_hot(const Tensor& index, int64_t num_classes = -1);

// ---- linear algebra (ops/linalg.cpp) -------------------------------------------------------------
/// torch.matmul: [k]·[k], [m, k]@[k, n], vector-matrix, and batched with broadcast batch dims.
Tensor matmul(const Tensor& a, const Tensor& b);
/// Batched product of [B, n, m] and [B, m, p] (no broadcasting, unlike matmul).
Tensor bmm(const Tensor& a, const Tensor& b);
/// beta input + alpha bmm(batch1, batch2), input broadcast to [B, n, p]; beta = 0 ignores input.
Tensor baddbmm(const Tensor& input, const Tensor& batch1, const Tensor& batch2, double beta = 1.0, double alpha = 1.0);
/// [n, m] @ [m, p] (only 2-D, unlike matmul).
Tensor mm(const Tensor& a, const Tensor& b);
/// beta input + alpha mm(mat1, mat2), input broadcast to [n, p]; beta = 0 ignores input.
Tensor addmm(const Tensor& input, const Tensor& mat1, const Tensor& mat2, double beta = 1.0, double alpha = 1.0);
/// x @ weight^T + bias: [*, in] x [out, in] (+ [out]) -> [*, out], one GEMM with the bias folded in.
Tensor linear(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());
/// relu(linear(x, weight, bias)) in one pass over the output: the bias and relu are applied to
/// each block of the product by the thread that computed it. Same values and gradients, bit for bit.
/// nn::Sequential uses it for a Linear followed by a ReLU.
Tensor linear_relu(const Tensor& x, const Tensor& weight, const Tensor& bias = Tensor());

// ---- sliding windows (ops/conv.cpp) ---------------------------------------------------------------
/// im2col (torch.nn.functional.unfold): [N, C, H, W] -> [N, C * kh * kw, out_h * out_w]; row
/// (c, ki, kj) holds what kernel position (ki, kj) of channel c sees at every output position.
/// A convolution is then one matrix product per image. Its gradient is fold2d.
Tensor unfold2d(const Tensor& x, const Window2d& window);
/// col2im (torch.nn.functional.fold with the same window), the adjoint of unfold2d: entries are
/// summed back into the [N, C, H, W] positions they came from. Its gradient is unfold2d.
Tensor fold2d(const Tensor& cols, const Shape& input_sizes, const Window2d& window);
/// A 2-D convolution (cross-correlation) of x [N, C, H, W] with weight [O, C, kh, kw] (+ bias [O]):
/// float32 goes through oneDNN when xgrad is built with it (XGRAD_CONV=im2col opts out), the rest
/// through unfold2d and one matmul per example. nn::F::conv2d adds groups and 'same' padding.
Tensor conv2d(const Tensor& x, const Tensor& weight, const Tensor& bias, const Window2d& window);
/// Max pooling over [N, C, H, W]: the first maximum of every window; the gradient flows to it.
Tensor max_pool2d(const Tensor& x, const Window2d& window);
/// max_pool2d(relu(x), window) as one op: relu of the maxima (relu and max commute), the same
/// values and gradients bit for bit, without relu's output written out and read back (what a
/// Sequential runs for a ReLU followed by a MaxPool2d).
Tensor relu_max_pool2d(const Tensor& x, const Window2d& window);

}  // namespace xgrad
