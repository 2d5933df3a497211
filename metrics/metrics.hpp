#pragma once
/// Evaluation metrics for classifiers, computed from predictions and targets held in tensors.
///
///     const Tensor logits = model(x_test);                           // [N, C]
///     double acc = metrics::accuracy(logits.argmax(1), y_test);
///     metrics::ClassReport report = metrics::classification_report(logits.argmax(1), y_test, 10);
///     metrics::ClassReport tags = metrics::multilabel_report(sigmoid(out), labels, 0.5);  // [N, L]
///     double auc = metrics::roc_auc(scores, labels);                 // O(n log n), ties averaged
///
/// Conventions (scikit-learn's): precision, recall or F1 with a zero denominator count as 0; micro
/// averages pool the counts of every class, macro averages are the unweighted mean over classes.
/// Bad inputs (shapes that do not match, labels outside [0, C), targets that are not 0/1, a
/// ranking metric without both classes) throw xgrad::Error naming the metric and the shapes.

#include <cstdint>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::metrics {

/// The fraction of predicted class indices [N] equal to the targets [N] (int64).
double accuracy(const Tensor& predicted, const Tensor& targets);

/// [C, C] int64 counts: row = true class, column = predicted class.
Tensor confusion_matrix(const Tensor& predicted, const Tensor& targets, int64_t num_classes);

/// Per-class and averaged precision, recall and F1, from counts.
struct ClassReport {
    std::vector<double> precision, recall, f1;  ///< per class (or per label)
    std::vector<int64_t> support;               ///< true instances of each class
    double micro_precision = 0, micro_recall = 0, micro_f1 = 0;
    double macro_precision = 0, macro_recall = 0, macro_f1 = 0;
};
/// Single-label classification: predicted and targets are class indices [N] in [0, num_classes).
/// Micro-averaged precision, recall and F1 then all equal the accuracy.
ClassReport classification_report(const Tensor& predicted, const Tensor& targets, int64_t num_classes);
/// Multi-label classification: scores [N, L] (probabilities, or logits with threshold 0) and 0/1
/// targets [N, L]; label l is predicted where its score is above threshold.
ClassReport multilabel_report(const Tensor& scores, const Tensor& targets, double threshold = 0.5);

/// Binary precision, recall and F1 of the positive class, from 0/1 (or bool) predictions and targets.
struct BinaryScores {
    int64_t true_positives = 0, false_positives = 0, false_negatives = 0, true_negatives = 0;
    double precision = 0, recall = 0, f1 = 0;
};
BinaryScores binary_scores(const Tensor& predicted, const Tensor& targets);

/// Area under the ROC curve of scores [N] for 0/1 targets [N]: the probability that a random
/// positive scores above a random negative (ties count half), by ranks in O(n log n).
double roc_auc(const Tensor& scores, const Tensor& targets);
/// Average precision (area under the precision-recall curve as a step function, scikit-learn's
/// definition): sum over score thresholds of (recall gained) x precision there.
double average_precision(const Tensor& scores, const Tensor& targets);
/// The mean of roc_auc over the columns of [N, L] scores and targets that have both classes
/// (labels without a positive or without a negative are skipped; all skipped throws).
double macro_roc_auc(const Tensor& scores, const Tensor& targets);

}  // namespace xgrad::metrics
