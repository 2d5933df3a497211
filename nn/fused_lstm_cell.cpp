#include <xgrad/nn/fused_lstm_cell.hpp>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn::functional {
namespace {

using autograd::AutogradContext;

// The backward as differentiable ops (for create_graph): activations recomputed from the inputs.
std::vector<Tensor> differentiable_backward(const Tensor& dhy, const Tensor& dcy, const Tensor& input_gates,
                                            const Tensor& hidden_gates, const Tensor& cx) {
    const int64_t h = cx.size(1);
    const Tensor a = input_gates + hidden_gates;
    const Tensor i = sigmoid(a.narrow(1, 0, h)), f = sigmoid(a.narrow(1, h, h));
    const Tensor g = tanh(a.narrow(1, 2 * h, h)), o = sigmoid(a.narrow(1, 3 * h, h));
    const Tensor tanh_cy = tanh(f * cx + i * g);
    Tensor dc = dcy.defined() ? dcy : zeros_like(cx);
    if (dhy.defined()) dc = dc + dhy * o * (1.0 - tanh_cy * tanh_cy);
    const Tensor da_o = dhy.defined() ? dhy * tanh_cy * o * (1.0 - o) : zeros_like(cx);
    const Tensor da = cat({dc * g * i * (1.0 - i), dc * cx * f * (1.0 - f), dc * i * (1.0 - g * g), da_o}, 1);
    return {da, da, dc * f};
}

// The same formulas in one pass over plain arrays.
template <class T>
void fused_backward(int64_t n, int64_t h, const T* act, const T* cx, const T* tanh_cy, const T* dhy, const T* dcy,
                    T* da, T* dcx) {
    for (int64_t r = 0; r < n; ++r) {
        const T* ar = act + r * 4 * h;
        T* dar = da + r * 4 * h;
        for (int64_t j = 0; j < h; ++j) {
            const int64_t k = r * h + j;
            const T i = ar[j], f = ar[h + j], g = ar[2 * h + j], o = ar[3 * h + j], tc = tanh_cy[k];
            const T dh = dhy ? dhy[k] : T(0);
            const T dc = (dcy ? dcy[k] : T(0)) + dh * o * (T(1) - tc * tc);
            dar[j] = dc * g * i * (T(1) - i);
            dar[h + j] = dc * cx[k] * f * (T(1) - f);
            dar[2 * h + j] = dc * i * (T(1) - g * g);
            dar[3 * h + j] = dh * tc * o * (T(1) - o);
            dcx[k] = dc * f;
        }
    }
}

struct FusedLSTMCell : autograd::Function<FusedLSTMCell> {
    static std::vector<Tensor> forward(AutogradContext* ctx, const Tensor& input_gates, const Tensor& hidden_gates,
                                       const Tensor& cx) {
        const int64_t n = cx.size(0), h = cx.size(1);
        // act = activated gates, computed in place over the sum of the pre-activations.
        NDArray act = kernels::binary(kernels::Binary::add, input_gates.data(), hidden_gates.data());
        kernels::unary_out(kernels::Unary::sigmoid, act.narrow(1, 0, 2 * h), act.narrow(1, 0, 2 * h));
        kernels::unary_out(kernels::Unary::tanh, act.narrow(1, 2 * h, h), act.narrow(1, 2 * h, h));
        kernels::unary_out(kernels::Unary::sigmoid, act.narrow(1, 3 * h, h), act.narrow(1, 3 * h, h));
        const NDArray c_prev = cx.data().contiguous();
        NDArray cy = NDArray::empty({n, h}, cx.dtype()), hy = NDArray::empty({n, h}, cx.dtype());
        dispatch_floating(cx.dtype(), "lstm_cell", [&](auto tag) {
            using T = decltype(tag);
            const T *a = act.data<T>(), *c = c_prev.data<T>();
            T* out = cy.data<T>();
            for (int64_t r = 0; r < n; ++r)
                for (int64_t j = 0; j < h; ++j)
                    out[r * h + j] = a[r * 4 * h + h + j] * c[r * h + j] + a[r * 4 * h + j] * a[r * 4 * h + 2 * h + j];
        });
        NDArray tanh_cy = kernels::unary(kernels::Unary::tanh, cy);
        kernels::binary_out(kernels::Binary::mul, hy, act.narrow(1, 3 * h, h), tanh_cy);
        ctx->save_for_backward({input_gates, hidden_gates, cx, Tensor(act), Tensor(tanh_cy)});
        return {Tensor(hy), Tensor(cy)};
    }

    static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grads) {
        const std::vector<Tensor> saved = ctx->get_saved_variables();
        const Tensor &input_gates = saved[0], &hidden_gates = saved[1], &cx = saved[2];
        const Tensor &dhy = grads[0], &dcy = grads[1];
        if (GradMode::is_enabled()) return differentiable_backward(dhy, dcy, input_gates, hidden_gates, cx);
        const int64_t n = cx.size(0), h = cx.size(1);
        const NDArray act = saved[3].data(), tanh_cy = saved[4].data(), c_prev = cx.data().contiguous();
        const NDArray dh = dhy.defined() ? dhy.data().to(cx.dtype()).contiguous() : NDArray();
        const NDArray dc = dcy.defined() ? dcy.data().to(cx.dtype()).contiguous() : NDArray();
        NDArray da = NDArray::empty({n, 4 * h}, cx.dtype()), dcx = NDArray::empty({n, h}, cx.dtype());
        dispatch_floating(cx.dtype(), "lstm_cell", [&](auto tag) {
            using T = decltype(tag);
            fused_backward<T>(n, h, act.data<T>(), c_prev.data<T>(), tanh_cy.data<T>(),
                              dhy.defined() ? dh.data<T>() : nullptr, dcy.defined() ? dc.data<T>() : nullptr,
                              da.data<T>(), dcx.data<T>());
        });
        const Tensor gate_grad(da);
        return {gate_grad, gate_grad, Tensor(dcx)};
    }
};

}  // namespace

std::pair<Tensor, Tensor> fused_lstm_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& cx) {
    XGRAD_CHECK(cx.dim() == 2, "fused_lstm_cell: expected cx [N, H], got shape ", cx.sizes());
    const Shape gate_sizes = {cx.size(0), 4 * cx.size(1)};
    XGRAD_CHECK(input_gates.sizes() == gate_sizes && hidden_gates.sizes() == gate_sizes,
                "fused_lstm_cell: expected input_gates and hidden_gates of shape ", gate_sizes, " for cx ", cx.sizes(),
                ", got ", input_gates.sizes(), " and ", hidden_gates.sizes());
    XGRAD_CHECK(is_floating(cx.dtype()) && input_gates.dtype() == cx.dtype() && hidden_gates.dtype() == cx.dtype(),
                "fused_lstm_cell: expected one floating dtype, got input_gates ", input_gates.dtype(),
                ", hidden_gates ", hidden_gates.dtype(), ", cx ", cx.dtype());
    std::vector<Tensor> out = FusedLSTMCell::apply(input_gates, hidden_gates, cx);
    return {out[0], out[1]};
}

}  // namespace xgrad::nn::functional
