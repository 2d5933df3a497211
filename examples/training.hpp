#pragma once
// The training loop and accuracy the tutorials share: shuffled minibatches of a classification
// set held in memory, cross-entropy, an optional penalty and an optional step after each update.
#include <xgrad/xgrad.hpp>

#include <functional>

namespace tutorial {

/// Fraction of rows whose largest logit is at the label, in eval() mode and without a graph.
inline double accuracy(xgrad::nn::Module& model, const xgrad::Tensor& x, const xgrad::Tensor& y) {
    xgrad::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const double correct = (model(x).argmax(1) == y).to(xgrad::kFloat64).mean().item();
    model.train(was_training);
    return correct;
}

struct ImageSplit {
    xgrad::Tensor x_train, y_train, x_test, y_test;  ///< images flattened to [N, 784]
};

/// The first n_train training and n_test test images of Fashion-MNIST (Debian's
/// dataset-fashion-mnist), flattened, scaled with statistics of the training subset only:
/// standardized, or min-max to [0, 1] per pixel (a pixel blank in every training image stays 0).
inline ImageSplit fashion_mnist_subset(int64_t n_train, int64_t n_test, bool standardize = true) {
    using namespace xgrad;
    const data::ImageSet train = data::load_fashion_mnist(true), test = data::load_fashion_mnist(false);
    const Tensor x_train = train.images.slice(0, 0, n_train).reshape({-1, 784});
    const Tensor x_test = test.images.slice(0, 0, n_test).reshape({-1, 784});
    const Tensor y_train = train.labels.slice(0, 0, n_train), y_test = test.labels.slice(0, 0, n_test);
    if (standardize) {
        data::StandardScaler scaler;
        return {scaler.fit_transform(x_train), y_train, scaler.transform(x_test), y_test};
    }
    data::MinMaxScaler scaler;
    return {scaler.fit_transform(x_train), y_train, scaler.transform(x_test), y_test};
}

struct EpochOptions {
    int64_t batch_size = 64;                 ///< x.size(0) for full-batch gradient descent
    std::function<xgrad::Tensor()> penalty;  ///< added to the loss (the lecture's Cost = Loss + Penalty)
    std::function<void()> after_step;        ///< e.g. a max-norm constraint
};

/// One epoch of shuffled minibatches with cross-entropy; returns the mean cross-entropy over the
/// batches (without the penalty).
inline double train_epoch(xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer, const xgrad::Tensor& x,
                          const xgrad::Tensor& y, xgrad::Generator& gen, const EpochOptions& options = {}) {
    using namespace xgrad;
    model.train();
    const int64_t rows = x.size(0);
    const Tensor order = randperm(rows, &gen);
    double total = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < rows; start += options.batch_size, ++batches) {
        const Tensor idx = order.slice(0, start, std::min(rows, start + options.batch_size));
        optimizer.zero_grad();
        const Tensor loss = nn::F::cross_entropy(model(index_select(x, 0, idx)), index_select(y, 0, idx));
        const Tensor cost = options.penalty ? loss + options.penalty() : loss;
        cost.backward();
        optimizer.step();
        if (options.after_step) options.after_step();
        total += loss.item();
    }
    return total / static_cast<double>(batches);
}

}  // namespace tutorial
