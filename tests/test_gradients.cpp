// Every differentiable op has a row here: gradcheck in float64 with central differences, on
// contiguous inputs and on non-contiguous views of the same values, over shapes that include
// scalars and broadcasting pairs. Ops used in losses and activations also pass gradgradcheck.
// Kinks get exact tests of their own below.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace bdata = boost::unit_test::data;
using Args = std::vector<Tensor>;

namespace {
enum class Domain { any, positive, away_from_zero, between_steps };

struct OpCase {
    std::string name;
    autograd::TensorFunction fn;
    std::vector<Shape> shapes;
    Domain domain = Domain::any;
    bool second_order = false;
};
std::ostream& operator<<(std::ostream& out, const OpCase& c) {
    return out << c.name;
}

autograd::TensorFunction unary(Tensor (*f)(const Tensor&)) {
    return [f](const Args& a) { return f(a[0]); };
}
autograd::TensorFunction binary(Tensor (*f)(const Tensor&, const Tensor&)) {
    return [f](const Args& a) { return f(a[0], a[1]); };
}

const std::vector<OpCase> ops = {
    {"add", binary(add), {{3, 2}, {2}}, Domain::any, true},
    {"add_scalars", binary(add), {{}, {4}}},
    {"sub", binary(sub), {{2, 1, 3}, {4, 1}}, Domain::any, true},
    {"mul", binary(mul), {{3, 2}, {1, 2}}, Domain::any, true},
    {"div", binary(div), {{3, 2}, {3, 1}}, Domain::positive, true},
    {"pow", binary(pow), {{2, 3}, {3}}, Domain::positive, true},
    {"pow_scalar", [](const Args& a) { return pow(a[0], 2.5); }, {{3, 2}}, Domain::positive, true},
    {"maximum", binary(maximum), {{3, 2}, {2}}},
    {"minimum", binary(minimum), {{3, 2}, {3, 1}}},
    {"neg", unary(neg), {{4, 3}}},
    {"exp", unary(exp), {{4, 3}}, Domain::any, true},
    {"log", unary(log), {{4, 3}}, Domain::positive, true},
    {"log1p", unary(log1p), {{4}}, Domain::positive, true},
    {"expm1", unary(expm1), {{4}}, Domain::any, true},
    {"erf", unary(erf), {{4, 3}}, Domain::any, true},
    {"sqrt", unary(sqrt), {{4, 3}}, Domain::positive, true},
    {"rsqrt", unary(rsqrt), {{4, 3}}, Domain::positive, true},
    {"abs", unary(abs), {{4, 3}}, Domain::away_from_zero},
    {"sign", unary(sign), {{4, 3}}, Domain::away_from_zero},
    {"floor", unary(floor), {{4, 3}}, Domain::between_steps},
    {"ceil", unary(ceil), {{4, 3}}, Domain::between_steps},
    {"trunc", unary(trunc), {{4, 3}}, Domain::between_steps},
    {"round", unary(round), {{4, 3}}, Domain::between_steps},
    {"sin", unary(sin), {{4, 3}}, Domain::any, true},
    {"cos", unary(cos), {{4, 3}}, Domain::any, true},
    {"tanh", unary(tanh), {{4, 3}}, Domain::any, true},
    {"sigmoid", unary(sigmoid), {{4, 3}}, Domain::any, true},
    {"relu", unary(relu), {{4, 3}}, Domain::away_from_zero, true},
    // The mask is fixed by its key, so finite differences see a linear map (times x: a curvature).
    {"dropout_with_key",
     [](const Args& a) { return dropout_with_key(a[0], 0.6, 12345) * a[0]; },
     {{5, 4}},
     Domain::any,
     true},
    {"dropout_with_key_broadcast", [](const Args& a) { return dropout_with_key(a[0] + a[1], 0.5, 99); }, {{3, 4}, {4}}},
    {"square", unary(square), {{4, 3}}, Domain::any, true},
    {"reciprocal", unary(reciprocal), {{4, 3}}, Domain::positive, true},
    {"clamp", [](const Args& a) { return clamp(a[0], -0.5, 0.7); }, {{5, 4}}, Domain::away_from_zero},
    {"where", [](const Args& a) { return where(a[0] > 0.0, a[0], a[1]); }, {{3, 4}, {4}}, Domain::away_from_zero},
    {"sum_all", [](const Args& a) { return sum(a[0]); }, {{3, 4}}, Domain::any, true},
    {"sum_dims",
     [](const Args& a) {
         return sum(a[0], {0, 2});
     },
     {{2, 3, 4}},
     Domain::any,
     true},
    {"sum_keepdim", [](const Args& a) { return sum(a[0], {1}, true); }, {{2, 3, 4}}},
    {"mean", [](const Args& a) { return mean(a[0], {-1}); }, {{3, 4}}, Domain::any, true},
    {"max_all", [](const Args& a) { return max(a[0]); }, {{3, 4}}},
    {"amax", [](const Args& a) { return amax(a[0], {1}, true); }, {{3, 4}}},
    {"amin", [](const Args& a) { return amin(a[0], {0}); }, {{3, 4}}},
    {"max_dim", [](const Args& a) { return std::get<0>(max(a[0], 1)); }, {{3, 4}}},
    {"min_dim", [](const Args& a) { return std::get<0>(min(a[0], 0, true)); }, {{3, 4}}},
    {"var", [](const Args& a) { return var(a[0], {1}); }, {{3, 4}}, Domain::any, true},
    {"var_biased_all", [](const Args& a) { return var(a[0], {}, false); }, {{3, 4}}, Domain::any, true},
    {"std", [](const Args& a) { return xgrad::std(a[0], {0}, true, true); }, {{3, 4}}, Domain::any, true},
    {"logsumexp", [](const Args& a) { return logsumexp(a[0], {1}); }, {{3, 4}}, Domain::any, true},
    {"norm2", [](const Args& a) { return norm(a[0], 2, {1}); }, {{3, 4}}, Domain::any, true},
    {"norm1", [](const Args& a) { return norm(a[0], 1); }, {{3, 4}}, Domain::away_from_zero},
    {"norm3", [](const Args& a) { return norm(a[0], 3, {0}); }, {{3, 4}}, Domain::away_from_zero, true},
    {"norm1_5_keepdim", [](const Args& a) { return norm(a[0], 1.5, {1}, true); }, {{3, 4}}, Domain::away_from_zero, true},
    {"norm_half", [](const Args& a) { return norm(a[0], 0.5); }, {{3, 4}}, Domain::away_from_zero, true},
    {"norm_inf",
     [](const Args& a) { return norm(a[0], std::numeric_limits<double>::infinity()); },
     {{3, 4}},
     Domain::away_from_zero},
    {"softmax", [](const Args& a) { return softmax(a[0], 1); }, {{3, 4}}, Domain::any, true},
    {"softmax_middle_dim", [](const Args& a) { return softmax(a[0], 1) * a[0]; }, {{2, 3, 4}}, Domain::any, true},
    {"softmax_broadcast", [](const Args& a) { return softmax(a[0] + a[1], -1); }, {{3, 1}, {5}}},
    {"log_softmax", [](const Args& a) { return log_softmax(a[0], 0); }, {{3, 4}}, Domain::any, true},
    {"matmul_2d", binary(matmul), {{3, 4}, {4, 2}}, Domain::any, true},
    {"matmul_dot", binary(matmul), {{4}, {4}}, Domain::any, true},
    {"matmul_mv", binary(matmul), {{3, 4}, {4}}},
    {"matmul_vm", binary(matmul), {{4}, {4, 2}}},
    {"matmul_batched_broadcast", binary(matmul), {{2, 1, 3, 4}, {3, 4, 2}}, Domain::any, true},
    {"linear", [](const Args& a) { return linear(a[0], a[1], a[2]); }, {{2, 3, 4}, {5, 4}, {5}}, Domain::any, true},
    {"linear_no_bias", [](const Args& a) { return linear(a[0], a[1]); }, {{3, 4}, {2, 4}}},
    {"linear_relu",
     [](const Args& a) { return linear_relu(a[0], a[1], a[2]); },
     {{2, 3, 4}, {5, 4}, {5}},
     Domain::any,
     true},
    {"linear_relu_no_bias", [](const Args& a) { return linear_relu(a[0], a[1]); }, {{3, 4}, {2, 4}}},
    // One output feature: relu's mask and the bias's sum take the separate ops (a single column).
    {"linear_relu_one_output", [](const Args& a) { return linear_relu(a[0], a[1], a[2]); }, {{6, 4}, {1, 4}, {1}}},
    {"view",
     [](const Args& a) {
         return a[0].contiguous().view({4, 3});
     },
     {{2, 6}}},
    {"reshape", [](const Args& a) { return a[0].reshape({-1}); }, {{3, 4}}},
    {"flatten", [](const Args& a) { return a[0].flatten(1); }, {{2, 3, 2}}},
    {"transpose", [](const Args& a) { return a[0].transpose(0, 2) * 2.0; }, {{2, 3, 4}}},
    {"permute",
     [](const Args& a) {
         return a[0].permute({2, 0, 1});
     },
     {{2, 3, 4}}},
    {"narrow", [](const Args& a) { return a[0].narrow(1, 1, 2); }, {{3, 4}}},
    {"slice_step", [](const Args& a) { return a[0].slice(0, 1, 5, 2); }, {{5, 3}}},
    {"select", [](const Args& a) { return a[0].select(1, -1); }, {{3, 4}}},
    {"unsqueeze", [](const Args& a) { return a[0].unsqueeze(1); }, {{3, 4}}},
    {"squeeze", [](const Args& a) { return a[0].unsqueeze(0).squeeze(); }, {{3, 4}}},
    {"expand",
     [](const Args& a) {
         return a[0].expand({2, 3, 4});
     },
     {{3, 1}}},
    {"clone", [](const Args& a) { return a[0].clone(); }, {{3, 4}}},
    {"to_float32_and_back", [](const Args& a) { return a[0].to(kFloat32).to(kFloat64) * 0.0 + a[0]; }, {{3}}},
    {"cat",
     [](const Args& a) {
         return cat({a[0], a[1]}, 1);
     },
     {{2, 3}, {2, 2}}},
    {"stack",
     [](const Args& a) {
         return stack({a[0], a[1]}, 0);
     },
     {{2, 3}, {2, 3}}},
    {"split",
     [](const Args& a) {
         auto p = split(a[0], 2, 1);
         return p[0] * p[1] + p[2].sum();
     },
     {{3, 5}}},
    {"chunk",
     [](const Args& a) {
         auto p = chunk(a[0], 2, 0);
         return p[0] - p[1] * 3.0;
     },
     {{4, 3}}},
    {"unbind",
     [](const Args& a) {
         auto p = unbind(a[0], 1);
         return p[0] * p[2] - p[1] + p[0];
     },
     {{4, 3}}},
    {"index_select",
     [](const Args& a) {
         return index_select(a[0], 0, tensor({2, 0, 2}, kInt64));
     },
     {{3, 4}}},
    // Tensor::index: basic indices are views, int64 and bool tensors pick places (repeats add up).
    {"index_slices_and_int64",
     [](const Args& a) {
         using namespace indexing;
         return a[0].index({Slice(None, None, 2), tensor({2, 0, 2}, kInt64), Slice(1, None)});
     },
     {{3, 4, 5}},
     Domain::any,
     true},
    {"index_broadcast_nonadjacent",
     [](const Args& a) {
         using namespace indexing;
         return a[0].index({tensor({{1}, {0}}, kInt64), Slice(), tensor({3, -1, 0}, kInt64)});
     },
     {{2, 3, 5}},
     Domain::any,
     true},
    {"index_mask_and_none",
     [](const Args& a) {
         using namespace indexing;
         const Tensor mask = tensor({{1, 0, 0, 1}, {0, 1, 1, 0}, {1, 1, 0, 0}}, kBool);
         return a[0].index({None, mask}) * a[1];
     },
     {{3, 4}, {1}},
     Domain::any,
     true},
    {"index_put",
     [](const Args& a) {
         using namespace indexing;
         return index_put(a[0], {Slice(), tensor({3, 0}, kInt64)}, a[1]);
     },
     {{3, 4}, {3, 1}},
     Domain::any,
     true},
    {"index_put_accumulate",
     [](const Args& a) {
         return index_put(a[0], {tensor({1, 4, 1}, kInt64)}, a[1], true);
     },
     {{5, 2}, {2}},
     Domain::any,
     true},
    {"index_view_written_in_place",
     [](const Args& a) {
         using namespace indexing;
         Tensor out = a[0] * 1.0;
         out.index({Slice(), 1}).mul_(a[1]);  // x[:, 1] *= w reaches x's history
         out.index_put_({0, Slice(None, 2)}, a[1].index({Slice(None, 2)}), true);
         return out;
     },
     {{3, 4, 2}, {2}},
     Domain::any,
     true},
    {"index_put_in_place",
     [](const Args& a) {
         using namespace indexing;
         Tensor out = a[0] * 2.0;
         out.index_put_({Ellipsis, tensor({{0, 1}, {1, 0}}, kBool)}, a[1]);
         return out;
     },
     {{2, 2, 2}, {2}},
     Domain::any,
     true},
    {"index_add",
     [](const Args& a) {
         return index_add(a[0], 1, tensor({1, 1}, kInt64), a[1]);
     },
     {{3, 4}, {3, 2}}},
    {"gather",
     [](const Args& a) {
         return gather(a[0], 1, tensor({{0, 0}, {3, 1}, {2, 2}}, kInt64));
     },
     {{3, 4}}},
    {"scatter_add",
     [](const Args& a) {
         return scatter_add(a[0], 0, tensor({{1, 0}, {1, 2}}, kInt64), a[1]);
     },
     {{3, 2}, {2, 3}}},
    {"unfold2d",
     [](const Args& a) {
         return unfold2d(
             a[0], {.kernel_h = 2, .kernel_w = 3, .stride_h = 2, .padding_w = 1, .dilation_h = 1, .dilation_w = 2});
     },
     {{2, 3, 5, 6}},
     Domain::any,
     true},
    {"fold2d",
     [](const Args& a) {
         return fold2d(a[0], {2, 2, 4, 4}, {.kernel_h = 3, .kernel_w = 3, .padding_h = 1, .padding_w = 1});
     },
     {{2, 18, 16}},
     Domain::any,
     true},
    {"conv_transpose2d_grouped",
     [](const Args& a) { return nn::F::conv_transpose2d(a[0], a[1], a[2], 2, 1, 1, 2); },
     {{2, 4, 3, 3}, {4, 3, 2, 2}, {6}},
     Domain::any,
     true},
    {"conv_transpose1d_dilated",
     [](const Args& a) { return nn::F::conv_transpose1d(a[0], a[1], a[2], 1, 1, 0, 1, 2); },
     {{2, 3, 5}, {3, 2, 3}, {2}}},
    {"interpolate_bilinear",
     [](const Args& a) {
         return nn::F::interpolate(a[0], {.scale_factor = {{1.5, 2.0}}, .mode = nn::kBilinear});
     },
     {{2, 2, 3, 4}},
     Domain::any,
     true},
    {"interpolate_bilinear_align_corners",
     [](const Args& a) {
         return nn::F::interpolate(a[0], {.size = {{5, 2}}, .mode = nn::kBilinear, .align_corners = true});
     },
     {{1, 2, 3, 4}}},
    {"interpolate_nearest", [](const Args& a) { return nn::F::interpolate(a[0], {.size = {{5}}}); }, {{2, 3, 3}}},
    {"interpolate_linear",
     [](const Args& a) { return nn::F::interpolate(a[0], {.size = {{7}}, .mode = nn::kLinear}); },
     {{2, 1, 4}}},
    {"max_pool2d",
     [](const Args& a) {
         return max_pool2d(a[0], {.kernel_h = 2, .kernel_w = 3, .stride_h = 2, .stride_w = 2, .padding_w = 1});
     },
     {{2, 2, 5, 6}}},
    // Half the inputs negative: windows with nothing positive pass no gradient.
    {"relu_max_pool2d",
     [](const Args& a) {
         return relu_max_pool2d(a[0], {.kernel_h = 2, .kernel_w = 2, .stride_h = 2, .stride_w = 2}) * sum(a[0]);
     },
     {{2, 2, 4, 6}},
     Domain::away_from_zero,
     true},
    {"sort_descending", [](const Args& a) { return std::get<0>(sort(a[0], 1, true)); }, {{3, 4}}, Domain::any, true},
    {"sort_dim0", [](const Args& a) { return std::get<0>(sort(a[0], 0)) * a[0]; }, {{4, 3}}},
    {"topk", [](const Args& a) { return std::get<0>(topk(a[0], 2, 0)); }, {{4, 3}}, Domain::any, true},
    {"topk_smallest", [](const Args& a) { return std::get<0>(topk(a[0], 3, -1, false)); }, {{2, 5}}},
    {"kthvalue", [](const Args& a) { return std::get<0>(kthvalue(a[0], 2, 0)); }, {{4, 3}}, Domain::any, true},
    {"median_dim", [](const Args& a) { return std::get<0>(median(a[0], -1, true)); }, {{3, 4}}, Domain::any, true},
    {"median_all", [](const Args& a) { return median(a[0]) * a[0]; }, {{2, 3}}},
    {"nanmedian_dim", [](const Args& a) { return std::get<0>(nanmedian(a[0], 0)); }, {{5, 2}}},
    {"cumsum", [](const Args& a) { return cumsum(a[0], 1); }, {{3, 4}}, Domain::any, true},
    {"cumsum_scalar", [](const Args& a) { return cumsum(a[0], 0); }, {{}}},
    {"cumprod", [](const Args& a) { return cumprod(a[0], 0); }, {{4, 3}}, Domain::any, true},
    {"cumprod_last", [](const Args& a) { return cumprod(a[0], -1); }, {{2, 5}}, Domain::away_from_zero},
    {"masked_fill_broadcast",
     [](const Args& a) {
         return masked_fill(a[0], tensor({{1, 0, 0}, {0, 1, 1}}) > 0.5, 2.0);
     },
     {{3}},
     Domain::any,
     true},
    {"masked_fill_tensor_value",
     [](const Args& a) {
         return masked_fill(a[0], tensor({1, 0, 1}) > 0.5, sum(a[1]));
     },
     {{2, 3}, {2}}},
    {"masked_select",
     [](const Args& a) {
         return masked_select(a[0], tensor({{1, 0, 0}, {1, 1, 0}}) > 0.5);
     },
     {{3}},
     Domain::any,
     true},
    {"tril", [](const Args& a) { return tril(a[0], -1); }, {{2, 3, 4}}, Domain::any, true},
    {"triu", [](const Args& a) { return triu(a[0], 1); }, {{3, 4}}},
    {"repeat", [](const Args& a) { return a[0].repeat({2, 1, 3}); }, {{3, 2}}, Domain::any, true},
    {"bmm", binary(bmm), {{2, 3, 4}, {2, 4, 2}}, Domain::any, true},
    {"baddbmm",
     [](const Args& a) { return baddbmm(a[0], a[1], a[2], 0.5, 2.0); },
     {{3, 1}, {2, 3, 4}, {2, 4, 1}},
     Domain::any,
     true},
    {"sum_to", [](const Args& a) { return sum_to(a[0], {1, 4}); }, {{3, 2, 4}}},
    {"threshold_backward",
     [](const Args& a) { return threshold_backward(a[0], a[1]); },
     {{3, 4}, {3, 4}},
     Domain::away_from_zero},
    {"flip", [](const Args& a) { return flip(a[0], {0, -1}); }, {{2, 3, 4}}, Domain::any, true},
    {"flip_broadcast_product", [](const Args& a) { return flip(a[0] * a[1], {1}); }, {{3, 1}, {4}}},
    {"prod_all", [](const Args& a) { return prod(a[0]); }, {{3, 4}}, Domain::any, true},
    {"prod_dim_keepdim", [](const Args& a) { return prod(a[0], 1, true); }, {{2, 3, 4}}, Domain::any, true},
    {"prod_broadcast_product", [](const Args& a) { return prod(a[0] * a[1], 0); }, {{3, 1}, {4}}},
    {"mm", binary(mm), {{3, 4}, {4, 2}}, Domain::any, true},
    {"addmm", [](const Args& a) { return addmm(a[0], a[1], a[2], 0.5, 2.0); }, {{2}, {3, 4}, {4, 2}}, Domain::any, true},
    {"softplus", [](const Args& a) { return nn::F::softplus(a[0]); }, {{4, 3}}, Domain::any, true},
    // beta 2, threshold 1: inputs above 0.5 take the linear branch.
    {"softplus_threshold", [](const Args& a) { return nn::F::softplus(a[0], 2.0, 1.0); }, {{4, 3}}},
    {"silu", [](const Args& a) { return nn::F::silu(a[0]); }, {{4, 3}}, Domain::any, true},
    {"mish", [](const Args& a) { return nn::F::mish(a[0]); }, {{4, 3}}, Domain::any, true},
    {"hardtanh", [](const Args& a) { return nn::F::hardtanh(a[0], -0.5, 0.7); }, {{4, 3}}},
    {"relu6", [](const Args& a) { return nn::F::relu6(a[0] * 5.0); }, {{4, 3}}, Domain::away_from_zero},
    {"softsign", [](const Args& a) { return nn::F::softsign(a[0]); }, {{4, 3}}, Domain::away_from_zero, true},
    {"logsigmoid", [](const Args& a) { return nn::F::logsigmoid(a[0] * 30.0); }, {{4, 3}}, Domain::any, true},
    {"hardsigmoid", [](const Args& a) { return nn::F::hardsigmoid(a[0] * 4.0); }, {{4, 3}}},
    {"hardswish", [](const Args& a) { return nn::F::hardswish(a[0] * 4.0); }, {{4, 3}}},
    {"cosine_similarity_broadcast",
     [](const Args& a) { return nn::F::cosine_similarity(a[0], a[1], -1); },
     {{3, 4}, {4}},
     Domain::any,
     true},
    {"huber_loss",
     [](const Args& a) { return nn::F::huber_loss(a[0], a[1] * 2.0, nn::F::Reduction::mean, 0.8); },
     {{3, 4}, {3, 4}},
     Domain::any,
     true},
    {"kl_div_batchmean",
     [](const Args& a) {
         return nn::F::kl_div(log_softmax(a[0], 1), softmax(a[1], 1), {.reduction = nn::F::KLDivReduction::batchmean});
     },
     {{3, 4}, {3, 4}},
     Domain::any,
     true},
    {"kl_div_log_target_none",
     [](const Args& a) {
         return nn::F::kl_div(log_softmax(a[0], 1), log_softmax(a[1], 1),
                              {.reduction = nn::F::KLDivReduction::none, .log_target = true});
     },
     {{3, 4}, {3, 4}}},
    // A target with zeros: those places add nothing to the loss.
    {"kl_div_zero_target",
     [](const Args& a) {
         return nn::F::kl_div(log_softmax(a[0], 1), relu(a[1]), {.reduction = nn::F::KLDivReduction::sum});
     },
     {{3, 4}, {3, 4}},
     Domain::away_from_zero},
    {"tanh_backward", binary(tanh_backward), {{3, 4}, {4}}, Domain::any, true},
    {"sigmoid_backward", binary(sigmoid_backward), {{3, 1}, {3, 4}}, Domain::any, true},
};

Tensor make_input(const Shape& shape, Domain domain, uint64_t seed) {
    Generator gen(seed);
    Tensor x = uniform(shape, domain == Domain::positive ? 0.5 : -1.5, 1.5, kFloat64, &gen);
    if (domain == Domain::away_from_zero) {
        // Push values out of (-0.2, 0.2) so central differences never straddle a kink.
        x = where(abs(x) < 0.2, x + sign(x) * 0.3 + 0.01, x);
    }
    if (domain == Domain::between_steps) {
        // Values at odd quarters (-1.25, -0.75, ..., 1.25): a quarter away from every whole and
        // half number, where floor, ceil, trunc and round step.
        x = floor(x * 2.0) * 0.5 + 0.25;
    }
    return x;
}

// Leaves with the op's shapes, either contiguous or non-contiguous views with the same values.
Args inputs_for(const OpCase& c, bool contiguous) {
    Args inputs;
    uint64_t seed = 100;
    for (const Shape& s : c.shapes) {
        Tensor x = make_input(s, c.domain, seed++);
        if (!contiguous) x = noncontiguous(x);
        inputs.push_back(x.detach().requires_grad_());
    }
    return inputs;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(gradients)

BOOST_DATA_TEST_CASE(gradcheck_every_op, bdata::make(ops), c) {
    for (bool contiguous : {true, false}) {
        BOOST_TEST_CONTEXT((contiguous ? "contiguous" : "non-contiguous") << " inputs") {
            const Args inputs = inputs_for(c, contiguous);
            const auto result = autograd::gradcheck(c.fn, inputs, {.raise = false});
            BOOST_TEST(result.ok, result.message);
        }
    }
}

// Ops save only what the inputs that need gradients require: check each input alone.
BOOST_DATA_TEST_CASE(gradcheck_with_one_input_requiring_grad, bdata::make(ops), c) {
    if (c.shapes.size() < 2) return;
    for (std::size_t only = 0; only < c.shapes.size(); ++only) {
        BOOST_TEST_CONTEXT("only input " << only << " requires grad") {
            Args inputs = inputs_for(c, true);
            for (std::size_t i = 0; i < inputs.size(); ++i)
                if (i != only) inputs[i] = inputs[i].detach();
            const auto result = autograd::gradcheck(c.fn, inputs, {.raise = false});
            BOOST_TEST(result.ok, result.message);
        }
    }
}

BOOST_DATA_TEST_CASE(gradgradcheck_loss_and_activation_ops, bdata::make(ops), c) {
    if (!c.second_order) return;
    const auto result = autograd::gradgradcheck(c.fn, inputs_for(c, true), {.raise = false});
    BOOST_TEST(result.ok, result.message);
}

// With a zero in x, cumprod's backward cannot divide by x: the explicit product form must be
// exact, to second order too.
// At a constant input std's gradient is 0/0; PyTorch (and xgrad) give 0 there, not NaN. The
// other lanes keep their gradient; linear layers with no outputs (or no inputs) give zero-size
// gradients of the right shapes.
BOOST_AUTO_TEST_CASE(std_at_a_constant_and_empty_linear_layers) {
    const Tensor x = tensor({{2.0, 2.0, 2.0}, {1.0, 2.0, 4.0}}, kFloat64).requires_grad_();
    xgrad::std(x, {1}).sum().backward();
    const auto g = x.grad().to_vector<double>();
    for (int i = 0; i < 3; ++i) BOOST_TEST(g[static_cast<std::size_t>(i)] == 0.0);
    // Row 2: mean 7/3, std = sqrt(((4/3)^2 + (1/3)^2 + (5/3)^2) / 2) = sqrt(7/3); d std / d x_i = (x_i - mean) / (2
    // std).
    const double s = std::sqrt(7.0 / 3);
    check_values(x.grad().select(0, 1), {(-4.0 / 3) / (2 * s), (-1.0 / 3) / (2 * s), (5.0 / 3) / (2 * s)}, 1e-12);
    auto second = autograd::gradgradcheck([](const Args& a) { return xgrad::std(a[0], {1}); },
                                          {tensor({{1.0, 2.0, 4.0}}, kFloat64).requires_grad_()}, {.raise = false});
    BOOST_TEST(second.ok, second.message);

    const Tensor in = randn({5, 3}, kFloat64).requires_grad_();
    const Tensor no_outputs = zeros({0, 3}, kFloat64).requires_grad_();
    const Tensor y = linear(in, no_outputs, zeros({0}, kFloat64).requires_grad_());
    BOOST_TEST((y.sizes() == Shape{5, 0}));
    y.sum().backward();
    check_values(in.grad(), std::vector<double>(15, 0.0), 0);
    BOOST_TEST((no_outputs.grad().sizes() == Shape{0, 3}));
    const Tensor no_inputs = zeros({4, 0}, kFloat64).requires_grad_();
    const Tensor z = linear(zeros({2, 0}, kFloat64).requires_grad_(), no_inputs);
    check_values(z, std::vector<double>(8, 0.0), 0);
    z.sum().backward();
    BOOST_TEST((no_inputs.grad().sizes() == Shape{4, 0}));
}

BOOST_AUTO_TEST_CASE(cumprod_gradient_is_exact_at_zeros) {
    for (const Tensor& values :
         {tensor({{0.5, 0.0, 2.0, -1.5}, {1.2, 0.7, 0.0, 0.0}}, kFloat64),
          tensor({{0.0, 1.5, 2.0, 0.0}, {0.0, 0.0, 0.0, 3.0}}, kFloat64),
          // lanes with and without zeros: only the first and last take the product form
          tensor({{0.5, 0.0, 2.0, -1.5}, {1.2, 0.7, -0.3, 2.0}, {0.9, 1.1, 1.3, 0.0}}, kFloat64)}) {
        const Tensor x = values.detach().requires_grad_();
        const auto fn = [](const Args& a) { return cumprod(a[0], 1); };
        auto first = autograd::gradcheck(fn, {x}, {.raise = false});
        BOOST_TEST(first.ok, first.message);
        auto second = autograd::gradgradcheck(fn, {x}, {.raise = false});
        BOOST_TEST(second.ok, second.message);
        const auto transposed = [](const Args& a) { return cumprod(a[0], 0); };
        auto other_dim =
            autograd::gradcheck(transposed, {noncontiguous(values.t()).detach().requires_grad_()}, {.raise = false});
        BOOST_TEST(other_dim.ok, other_dim.message);
    }
}

BOOST_AUTO_TEST_CASE(gradcheck_reports_the_first_wrong_element) {
    // A custom function with a deliberately wrong derivative (2x instead of 3x^2).
    struct WrongCube : autograd::Function<WrongCube> {
        static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x) {
            ctx->save_for_backward({x});
            return x * x * x;
        }
        static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> g) {
            return {g[0] * 2.0 * ctx->get_saved_variables()[0]};
        }
    };
    Tensor x = tensor({1.0, 2.0}, kFloat64).requires_grad_();
    const auto result =
        autograd::gradcheck([](const Args& a) { return WrongCube::apply(a[0]); }, {x}, {.raise = false});
    BOOST_TEST(!result.ok);
    BOOST_TEST(result.message.find("input 0") != std::string::npos);
    BOOST_TEST(result.message.find("element (0)") != std::string::npos);
    BOOST_TEST(result.message.find("analytical 2") != std::string::npos);
    check_error([&] { autograd::gradcheck([](const Args& a) { return WrongCube::apply(a[0]); }, {x}); },
                {"gradcheck", "mismatch"});
    check_error([] { autograd::gradcheck([](const Args& a) { return a[0]; }, {ones({2}).requires_grad_()}); },
                {"gradcheck", "float64"});
}

// ---- kinks and ties: the conventions, tested exactly ----------------------------------------------
BOOST_AUTO_TEST_CASE(relu_abs_and_clamp_at_their_kinks) {
    Tensor x = tensor({-1.0, 0.0, 2.0}, kFloat64).requires_grad_();
    relu(x).sum().backward();
    check_values(x.grad(), {0, 0, 1});  // 0 at x = 0, as PyTorch
    x.set_grad(Tensor());
    abs(x).sum().backward();
    check_values(x.grad(), {-1, 0, 1});
    x.set_grad(Tensor());
    clamp(x, 0.0, 2.0).sum().backward();
    check_values(x.grad(), {0, 1, 1});  // bounds included
}

BOOST_AUTO_TEST_CASE(ties_share_the_gradient) {
    Tensor x = tensor({3.0, 1.0, 3.0}, kFloat64).requires_grad_();
    max(x).backward();
    check_values(x.grad(), {0.5, 0, 0.5});
    x.set_grad(Tensor());
    std::get<0>(max(x, 0)).backward();  // along a dim: the first index takes it all
    check_values(x.grad(), {1, 0, 0});
    Tensor a = tensor({1.0, 2.0}, kFloat64).requires_grad_(), b = tensor({1.0, 3.0}, kFloat64).requires_grad_();
    maximum(a, b).sum().backward();
    check_values(a.grad(), {0.5, 0});
    check_values(b.grad(), {0.5, 1});
}

BOOST_AUTO_TEST_CASE(norm_at_zero_has_a_zero_subgradient) {
    Tensor x = zeros({3}, kFloat64).requires_grad_();
    norm(x).backward();
    check_values(x.grad(), {0, 0, 0});
}

BOOST_AUTO_TEST_CASE(log_softmax_gradient_is_exact_for_huge_logits) {
    Tensor x = tensor({{1000.0, 0.0, -1000.0}}, kFloat64).requires_grad_();
    log_softmax(x, 1).select(1, 0).sum().backward();
    // d/dx_j log softmax_0 = [j == 0] - softmax_j = (0, -e^-1000, ...) ~ (0, 0, 0)
    check_values(x.grad(), {0, 0, 0}, 1e-12);
    BOOST_TEST(!std::isnan(x.grad().sum().item()));
}

BOOST_AUTO_TEST_SUITE_END()
