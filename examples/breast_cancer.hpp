#pragma once
// Shared by the tutorials that train on the Wisconsin breast-cancer table (datasets/breast_cancer,
// 569 tumours x 30 features, 0 = malignant, 1 = benign): one fixed train/test split.
#include <xgrad/xgrad.hpp>

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

}  // namespace tutorial
