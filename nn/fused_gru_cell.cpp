#include <xgrad/nn/fused_gru_cell.hpp>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn::functional {
namespace {

using autograd::AutogradContext;

// The backward as differentiable ops (for create_graph): activations recomputed from the inputs.
std::vector<Tensor> differentiable_backward(const Tensor& dhy, const Tensor& input_gates, const Tensor& hidden_gates,
                                            const Tensor& hx) {
    const int64_t h = hx.size(1);
    const Tensor hg_n = hidden_gates.narrow(1, 2 * h, h);
    const Tensor r = sigmoid(input_gates.narrow(1, 0, h) + hidden_gates.narrow(1, 0, h));
    const Tensor z = sigmoid(input_gates.narrow(1, h, h) + hidden_gates.narrow(1, h, h));
    const Tensor n = tanh(input_gates.narrow(1, 2 * h, h) + r * hg_n);
    const Tensor da_n = dhy * (1.0 - z) * (1.0 - n * n);
    const Tensor da_r = da_n * hg_n * r * (1.0 - r);
    const Tensor da_z = dhy * (hx - n) * z * (1.0 - z);
    return {cat({da_r, da_z, da_n}, 1), cat({da_r, da_z, da_n * r}, 1), dhy * z};
}

// The same formulas in one pass over plain arrays; act holds r, z, n per row.
template <class T>
void fused_backward(int64_t rows, int64_t h, const T* act, const T* hg, const T* hx, const T* dhy, T* d_input,
                    T* d_hidden, T* dhx) {
    for (int64_t i = 0; i < rows; ++i) {
        const T* a = act + i * 3 * h;
        const T* g = hg + i * 3 * h;
        T* di = d_input + i * 3 * h;
        T* dh = d_hidden + i * 3 * h;
        for (int64_t j = 0; j < h; ++j) {
            const int64_t k = i * h + j;
            const T r = a[j], z = a[h + j], n = a[2 * h + j], d = dhy[k];
            const T da_n = d * (T(1) - z) * (T(1) - n * n);
            const T da_r = da_n * g[2 * h + j] * r * (T(1) - r);
            const T da_z = d * (hx[k] - n) * z * (T(1) - z);
            di[j] = dh[j] = da_r;
            di[h + j] = dh[h + j] = da_z;
            di[2 * h + j] = da_n;
            dh[2 * h + j] = da_n * r;
            dhx[k] = d * z;
        }
    }
}

struct FusedGRUCell : autograd::Function<FusedGRUCell> {
    static Tensor forward(AutogradContext* ctx, const Tensor& input_gates, const Tensor& hidden_gates,
                          const Tensor& hx) {
        const int64_t rows = hx.size(0), h = hx.size(1);
        const NDArray ig = input_gates.data().contiguous(), hg = hidden_gates.data().contiguous();
        const NDArray h_prev = hx.data().contiguous();
        // act = r, z, n: r and z from the summed pre-activations, n from ig_n + r hg_n.
        NDArray act = kernels::binary(kernels::Binary::add, ig, hg);
        kernels::unary_out(kernels::Unary::sigmoid, act.narrow(1, 0, 2 * h), act.narrow(1, 0, 2 * h));
        NDArray hy = NDArray::empty({rows, h}, hx.dtype());
        dispatch_floating(hx.dtype(), "gru_cell", [&](auto tag) {
            using T = decltype(tag);
            T* a = act.data<T>();
            const T *in = ig.data<T>(), *hid = hg.data<T>();
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < h; ++j) {
                    const int64_t at = i * 3 * h + 2 * h + j;
                    a[at] = in[at] + a[i * 3 * h + j] * hid[at];
                }
        });
        kernels::unary_out(kernels::Unary::tanh, act.narrow(1, 2 * h, h), act.narrow(1, 2 * h, h));
        dispatch_floating(hx.dtype(), "gru_cell", [&](auto tag) {
            using T = decltype(tag);
            const T *a = act.data<T>(), *hp = h_prev.data<T>();
            T* out = hy.data<T>();
            for (int64_t i = 0; i < rows; ++i)
                for (int64_t j = 0; j < h; ++j) {
                    const T z = a[i * 3 * h + h + j], n = a[i * 3 * h + 2 * h + j];
                    out[i * h + j] = n + z * (hp[i * h + j] - n);
                }
        });
        ctx->save_for_backward({input_gates, hidden_gates, hx, Tensor(act)});
        return Tensor(hy);
    }

    static std::vector<Tensor> backward(AutogradContext* ctx, std::vector<Tensor> grads) {
        const std::vector<Tensor> saved = ctx->get_saved_variables();
        const Tensor &input_gates = saved[0], &hidden_gates = saved[1], &hx = saved[2];
        if (GradMode::is_enabled()) return differentiable_backward(grads[0], input_gates, hidden_gates, hx);
        const int64_t rows = hx.size(0), h = hx.size(1);
        const NDArray act = saved[3].data(), hg = hidden_gates.data().contiguous(), h_prev = hx.data().contiguous();
        const NDArray dhy = grads[0].data().to(hx.dtype()).contiguous();
        NDArray d_input = NDArray::empty({rows, 3 * h}, hx.dtype()),
                d_hidden = NDArray::empty({rows, 3 * h}, hx.dtype());
        NDArray dhx = NDArray::empty({rows, h}, hx.dtype());
        dispatch_floating(hx.dtype(), "gru_cell", [&](auto tag) {
            using T = decltype(tag);
            fused_backward<T>(rows, h, act.data<T>(), hg.data<T>(), h_prev.data<T>(), dhy.data<T>(), d_input.data<T>(),
                              d_hidden.data<T>(), dhx.data<T>());
        });
        return {Tensor(d_input), Tensor(d_hidden), Tensor(dhx)};
    }
};

}  // namespace

Tensor fused_gru_cell(const Tensor& input_gates, const Tensor& hidden_gates, const Tensor& hx) {
    XGRAD_CHECK(hx.dim() == 2, "fused_gru_cell: expected hx [N, H], got shape ", hx.sizes());
    const Shape gate_sizes = {hx.size(0), 3 * hx.size(1)};
    XGRAD_CHECK(input_gates.sizes() == gate_sizes && hidden_gates.sizes() == gate_sizes,
                "fused_gru_cell: expected input_gates and hidden_gates of shape ", gate_sizes, " for hx ", hx.sizes(),
                ", got ", input_gates.sizes(), " and ", hidden_gates.sizes());
    XGRAD_CHECK(is_floating(hx.dtype()) && input_gates.dtype() == hx.dtype() && hidden_gates.dtype() == hx.dtype(),
                "fused_gru_cell: expected one floating dtype, got input_gates ", input_gates.dtype(), ", hidden_gates ",
                hidden_gates.dtype(), ", hx ", hx.dtype());
    return FusedGRUCell::apply(input_gates, hidden_gates, hx);
}

}  // namespace xgrad::nn::functional
