#pragma once
/// Averaging the weights over training: an exponential moving average of the parameters (Polyak
/// averaging with a forgetting factor) as TensorFlow's tf.train.ExponentialMovingAverage defines
/// it: the average starts from the weights given at construction. PyTorch's
/// torch.optim.swa_utils.AveragedModel with an EMA average differs in its start: it copies the
/// weights at the first update, so the same decay gives different averages for the first steps.
///
/// Late in training, minibatch steps make the weights wander around a minimum; their running
/// average sits nearer its centre and usually generalizes better than the last (or a hand-picked)
/// step, and epoch-to-epoch dev scores of the average are less noisy, so early stopping picks more
/// reliably. Typical use:
///
///   optim::ExponentialMovingAverage average(model.parameters(), {.decay = 0.99});
///   for (...) { ...; optimizer.step(); average.update(); }
///   average.store();    // keep the trained weights aside
///   average.copy_to();  // evaluate (or save) with the averaged weights
///   average.restore();  // and go on training from the trained ones
///
/// Only the parameters are averaged: buffers such as batch normalization's running statistics
/// stay those gathered under the trained weights (recompute them over the training data if the
/// mismatch matters, as PyTorch's swa_utils.update_bn does).

#include <cstdint>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::optim {

struct ExponentialMovingAverageOptions {
    /// Weight of the old average at each update: the average remembers about 1 / (1 - decay)
    /// steps. In [0, 1]; 0 makes the average the last weights.
    double decay = 0.999;
    /// Warm-up: update n (counting from 0) uses min(decay, (1 + n) / (10 + n)), so that the
    /// weights the model started from fade out quickly (TensorFlow's num_updates).
    bool warmup = true;
};

class ExponentialMovingAverage {
public:
    /// Starts the averages at the parameters' current values. Every parameter must be a floating
    /// tensor; the averages are taken in its dtype.
    explicit ExponentialMovingAverage(std::vector<Tensor> parameters, ExponentialMovingAverageOptions options = {});

    /// Folds the parameters' current values into the averages: avg = d * avg + (1 - d) * p.
    void update();
    /// The decay the next update() will use.
    double next_decay() const;
    int64_t num_updates() const { return updates_; }

    /// Writes the averages into the parameters (in place: the model now computes with them).
    void copy_to();
    /// Keeps a copy of the parameters' current values for restore().
    void store();
    /// Puts back the values store() kept; fails if nothing was stored.
    void restore();

    const std::vector<Tensor>& averages() const { return averages_; }

private:
    std::vector<Tensor> parameters_, averages_, stored_;
    ExponentialMovingAverageOptions options_;
    int64_t updates_ = 0;
};

}  // namespace xgrad::optim
