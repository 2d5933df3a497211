#include <xgrad/nn/dropout.hpp>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/functional.hpp>

namespace xgrad::nn {
namespace {
void check(const char* name, const DropoutOptions& o) {
    XGRAD_CHECK(o.p >= 0 && o.p <= 1, name, ": dropout probability has to be between 0 and 1, but got ", o.p);
}

// The paper's form: mask without rescaling in training, scale by the retention probability in eval.
Tensor scale_at_test(const Tensor& x, const DropoutOptions& o, bool training, const Shape& mask_shape) {
    if (!training) return x * (1 - o.p);
    return x * bernoulli(mask_shape, 1 - o.p, x.dtype(), o.generator);
}
}  // namespace

Dropout::Dropout(DropoutOptions o) : options(o) {
    check("Dropout", o);
}

Tensor Dropout::forward(const Tensor& x) {
    if (options.scale_at_test) return scale_at_test(x, options, is_training(), x.sizes());
    return F::dropout(x, options.p, is_training(), options.generator);
}

std::string Dropout::extra_repr() const {
    return "p=" + std::to_string(options.p) + (options.scale_at_test ? ", scale_at_test=true" : "");
}

Dropout2d::Dropout2d(DropoutOptions o) : options(o) {
    check("Dropout2d", o);
}

Tensor Dropout2d::forward(const Tensor& x) {
    if (options.scale_at_test) {
        XGRAD_CHECK(x.dim() >= 3, "Dropout2d: expected input [N, C, ...] with at least 3 dims, got shape ", x.sizes(),
                    " (features without channels want Dropout, as PyTorch advises)");
        Shape mask_shape(static_cast<std::size_t>(x.dim()), 1);
        mask_shape[0] = x.size(0);
        mask_shape[1] = x.size(1);
        return scale_at_test(x, options, is_training(), mask_shape);
    }
    return F::dropout2d(x, options.p, is_training(), options.generator);
}

std::string Dropout2d::extra_repr() const {
    return "p=" + std::to_string(options.p);
}

McDropoutPrediction mc_dropout_predict(Module& model, const Tensor& x, int samples) {
    return mc_dropout_predict(
        model, [&] { return model(x); }, samples, McOutput::softmax);
}

McDropoutPrediction mc_dropout_predict(Module& model, const std::function<Tensor()>& pass, int samples,
                                       McOutput output) {
    XGRAD_CHECK(samples >= 1, "mc_dropout_predict: needs at least one sample, got ", samples);
    std::vector<std::pair<Module*, bool>> modes;
    for (Module* m : model.modules()) modes.emplace_back(m, m->is_training());
    model.eval();
    for (Module* m : model.modules())
        if (dynamic_cast<Dropout*>(m) != nullptr || dynamic_cast<Dropout2d*>(m) != nullptr) m->train(true);
    NoGradGuard no_grad;
    // Welford's running mean and sum of squared deviations: E[p^2] - E[p]^2 in float32 loses
    // every digit when the passes agree.
    Tensor mean, squared_deviations;
    try {
        for (int s = 1; s <= samples; ++s) {
            const Tensor logits = pass();
            XGRAD_CHECK(logits.dim() == 2, "mc_dropout_predict: expected the model to return logits [N, C], got shape ",
                        logits.sizes());
            const Tensor p = output == McOutput::softmax ? softmax(logits, 1) : sigmoid(logits);
            if (s == 1) {
                mean = p;
                squared_deviations = zeros_like(p);
                continue;
            }
            const Tensor delta = p - mean;
            mean = mean + delta / s;
            squared_deviations = squared_deviations + delta * (p - mean);
        }
    } catch (...) {
        for (auto [m, training] : modes) m->train(training);
        throw;
    }
    // train() is recursive, so the modes are restored module by module, not from the root.
    for (auto [m, training] : modes) m->train(training);
    return {mean, clamp_min(squared_deviations / samples, 0).sqrt()};
}

}  // namespace xgrad::nn
