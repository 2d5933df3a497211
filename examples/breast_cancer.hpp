#pragma once
// Shared by the tutorials that train on the Wisconsin breast-cancer table (datasets/breast_cancer,
// 569 tumours x 30 features, 0 = malignant, 1 = benign): one fixed train/test split, a minibatch
// training epoch, and accuracy.
#include <xgrad.hpp>

#include <functional>

namespace tutorial {

struct TabularSplit {
    xgrad::Tensor x_train, y_train, x_test, y_test;  ///< raw features: each tutorial scales them
};

/// The table shuffled with `seed`, the first fifth held out for testing (113 rows, 456 to train).
inline TabularSplit breast_cancer_split(uint64_t seed = 0) {
    using namespace xgrad;
    const data::TabularSet table = data::load_breast_cancer();
    Generator gen(seed);
    const int64_t rows = table.features.size(0), n_test = rows / 5;
    const Tensor order = randperm(rows, &gen);
    const Tensor test = order.slice(0, 0, n_test), train = order.slice(0, n_test, rows);
    return {index_select(table.features, 0, train), index_select(table.labels, 0, train),
            index_select(table.features, 0, test), index_select(table.labels, 0, test)};
}

/// Fraction of rows whose largest logit is at the label, in eval() mode and without a graph.
inline double accuracy(xgrad::nn::Module& model, const xgrad::Tensor& x, const xgrad::Tensor& y) {
    xgrad::NoGradGuard no_grad;
    const bool was_training = model.is_training();
    model.eval();
    const double correct = (model(x).argmax(1) == y).to(xgrad::kFloat64).mean().item();
    model.train(was_training);
    return correct;
}

/// One epoch of shuffled minibatches with cross-entropy, plus `penalty()` when given (the
/// lecture's Cost = Loss + Penalty); returns the mean cross-entropy over the batches.
inline double train_epoch(xgrad::nn::Module& model, xgrad::optim::Optimizer& optimizer, const xgrad::Tensor& x,
                          const xgrad::Tensor& y, int64_t batch_size, xgrad::Generator& gen,
                          const std::function<xgrad::Tensor()>& penalty = {}) {
    using namespace xgrad;
    model.train();
    const int64_t rows = x.size(0);
    const Tensor order = randperm(rows, &gen);
    double total = 0;
    int64_t batches = 0;
    for (int64_t start = 0; start < rows; start += batch_size, ++batches) {
        const Tensor idx = order.slice(0, start, std::min(rows, start + batch_size));
        optimizer.zero_grad();
        const Tensor loss = nn::F::cross_entropy(model(index_select(x, 0, idx)), index_select(y, 0, idx));
        const Tensor cost = penalty ? loss + penalty() : loss;
        cost.backward();
        optimizer.step();
        total += loss.item();
    }
    return total / static_cast<double>(batches);
}

}  // namespace tutorial
