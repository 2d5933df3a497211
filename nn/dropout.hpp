#pragma once
/// Dropout (Srivastava et al. 2014).
///
/// The paper keeps each unit with retention probability p_keep during training and multiplies
/// the weights by p_keep at test time. PyTorch (and xgrad's default) uses p = 1 - p_keep as the
/// probability to *drop*, and scales the kept units by 1 / (1 - p) during training instead, so
/// that evaluation needs no change at all ("inverted dropout"). Both give the same expected
/// activation; DropoutOptions::scale_at_test = true selects the paper's form.

#include <cstddef>
#include <functional>
#include <string>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct DropoutOptions {
    double p = 0.5;              ///< probability of dropping a unit (retention = 1 - p)
    bool scale_at_test = false;  ///< the paper's form: no scaling in training, times (1 - p) in eval
    Generator* generator = nullptr;
};

/// Identity in eval() mode (or times 1 - p with scale_at_test).
class Dropout : public Module {
public:
    using Options = DropoutOptions;
    explicit Dropout(DropoutOptions options = {});
    /// LibTorch's positional form: Dropout(0.5); Dropout({0.2}) means p = 0.2 either way.
    explicit Dropout(double p) : Dropout(DropoutOptions{.p = p}) {}
    /// Dropout({}) stays ambiguous (a compile error, as before this constructor) rather than meaning
    /// p = 0: write Dropout() for the default, Dropout(0.0) for none.
    explicit Dropout(std::nullptr_t) = delete;
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout"; }
    std::string extra_repr() const override;
    const DropoutOptions options;
};

/// Drops whole channels of [N, C, ...] inputs (for convolutional feature maps, whose neighbouring
/// elements are too correlated for element-wise dropout to regularize).
class Dropout2d : public Module {
public:
    using Options = DropoutOptions;
    explicit Dropout2d(DropoutOptions options = {});
    explicit Dropout2d(double p) : Dropout2d(DropoutOptions{.p = p}) {}
    explicit Dropout2d(std::nullptr_t) = delete;  // as in Dropout
    Tensor forward(const Tensor& x) override;
    std::string type_name() const override { return "Dropout2d"; }
    std::string extra_repr() const override;
    const DropoutOptions options;
};

/// Monte Carlo dropout (Gal & Ghahramani 2016): a net trained with dropout, run with its dropout
/// still active at test time, samples from an approximate posterior over networks. Averaging
/// `samples` stochastic passes estimates the predictive probabilities; their spread over the
/// passes measures the model's uncertainty about each input.
struct McDropoutPrediction {
    Tensor mean;  ///< [N, C] probabilities (softmax, or sigmoid for McOutput::sigmoid) averaged over the passes
    Tensor std;   ///< [N, C] their standard deviation over the passes
};

/// Runs `samples` passes of `model` on the logits it returns for x ([N, C]) with every Dropout and
/// Dropout2d module in training mode and everything else in evaluation mode (BatchNorm keeps its
/// running statistics), without recording a graph; the modules' modes are restored afterwards.
McDropoutPrediction mc_dropout_predict(Module& model, const Tensor& x, int samples);

/// How the passes' logits become probabilities: softmax over the classes (one label per row), or
/// sigmoid per column (multi-label: each of C labels on its own).
enum class McOutput { softmax, sigmoid };

/// The same for a model called some other way (several inputs, a batch loop of one's own):
/// `pass` runs one forward pass of `model` and returns its logits [N, C]. For a multi-label model
/// whose forward takes tokens and their lengths:
///
///     auto mc = nn::mc_dropout_predict(model, [&] { return model.forward(tokens, lengths); }, 20,
///                                      nn::McOutput::sigmoid);
///
/// Only Dropout and Dropout2d modules sample: dropout that other layers apply themselves (the
/// attention weights' in MultiheadAttention, between the layers of LSTM and GRU) follows those
/// layers' evaluation mode and stays off, as does nn::functional::dropout called with a mode.
McDropoutPrediction mc_dropout_predict(Module& model, const std::function<Tensor()>& pass, int samples,
                                       McOutput output = McOutput::softmax);

}  // namespace xgrad::nn
