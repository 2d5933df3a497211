// Metrics against values worked out by hand and against brute-force definitions: ROC AUC by
// counting every positive-negative pair, average precision by its sum over thresholds.
#include <cmath>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
Tensor as_tensor(const std::vector<double>& v) {
    return from_vector(v, {static_cast<int64_t>(v.size())}, kFloat64);
}

// P(score of a positive > score of a negative), ties counting half: every pair.
double brute_force_auc(const std::vector<double>& s, const std::vector<double>& t) {
    double wins = 0, pairs = 0;
    for (std::size_t i = 0; i < s.size(); ++i)
        for (std::size_t j = 0; j < s.size(); ++j)
            if (t[i] == 1 && t[j] == 0) {
                pairs += 1;
                wins += s[i] > s[j] ? 1.0 : s[i] == s[j] ? 0.5 : 0.0;
            }
    return wins / pairs;
}

// sum over distinct thresholds (descending) of (recall_k - recall_{k-1}) precision_k.
double brute_force_ap(const std::vector<double>& s, const std::vector<double>& t) {
    std::vector<double> thresholds = s;
    std::sort(thresholds.rbegin(), thresholds.rend());
    thresholds.erase(std::unique(thresholds.begin(), thresholds.end()), thresholds.end());
    double positives = 0;
    for (double v : t) positives += v;
    double ap = 0, recall_before = 0;
    for (double threshold : thresholds) {
        double tp = 0, fp = 0;
        for (std::size_t i = 0; i < s.size(); ++i)
            if (s[i] >= threshold) (t[i] == 1 ? tp : fp) += 1;
        ap += (tp / positives - recall_before) * tp / (tp + fp);
        recall_before = tp / positives;
    }
    return ap;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(metrics_suite)

BOOST_AUTO_TEST_CASE(accuracy_confusion_matrix_and_class_report) {
    const Tensor predicted = tensor({0, 1, 1, 2, 2, 2, 0}, kInt64), truth = tensor({0, 1, 2, 2, 2, 0, 1}, kInt64);
    BOOST_TEST(metrics::accuracy(predicted, truth) == 4.0 / 7);
    // rows: true 0 -> predicted {0: 1, 2: 1}; true 1 -> {1: 1, 0: 1}; true 2 -> {1: 1, 2: 2}.
    check_values(metrics::confusion_matrix(predicted, truth, 3), {1, 0, 1, 1, 1, 0, 0, 1, 2}, 0);
    const metrics::ClassReport r = metrics::classification_report(predicted, truth, 3);
    // class 0: tp 1, fp 1, fn 1 -> p 1/2, r 1/2; class 1: tp 1, fp 1, fn 1; class 2: tp 2, fp 1, fn 1 -> 2/3.
    check_values(as_tensor(r.precision), {0.5, 0.5, 2.0 / 3}, 1e-12);
    check_values(as_tensor(r.recall), {0.5, 0.5, 2.0 / 3}, 1e-12);
    BOOST_TEST((r.support == std::vector<int64_t>{2, 2, 3}));
    BOOST_TEST(std::abs(r.micro_f1 - 4.0 / 7) < 1e-12);  // single-label: micro = accuracy
    BOOST_TEST(std::abs(r.macro_f1 - (0.5 + 0.5 + 2.0 / 3) / 3) < 1e-12);
    // A class never predicted and never true: zero, not NaN.
    const metrics::ClassReport empty = metrics::classification_report(predicted, truth, 4);
    BOOST_TEST(empty.precision[3] == 0.0);
    BOOST_TEST(empty.f1[3] == 0.0);
    check_error([&] { metrics::accuracy(predicted, truth.narrow(0, 0, 3)); }, {"accuracy", "[7]", "[3]"});
    check_error([&] { metrics::confusion_matrix(predicted, truth, 2); }, {"confusion_matrix", "class 2", "[0, 2)"});
    check_error([&] { metrics::accuracy(predicted.to(kFloat32), truth); }, {"accuracy", "int64", "float32"});
    // num_classes^2 overflowed (2^32 squared is 0 in 64 bits) and the counts were written out of bounds.
    check_error([&] { metrics::confusion_matrix(predicted, truth, int64_t{1} << 32); },
                {"confusion_matrix", "4294967296", "at most"});
}

BOOST_AUTO_TEST_CASE(multilabel_and_binary_scores) {
    // 3 samples x 2 labels; predicted where the score is above 0.5.
    const Tensor scores = tensor({{0.9, 0.2}, {0.6, 0.7}, {0.1, 0.8}});
    const Tensor labels = tensor({{1, 0}, {0, 1}, {1, 1}});
    const metrics::ClassReport r = metrics::multilabel_report(scores, labels);
    // label 0: predicted {0, 1}, true {0, 2}: tp 1, fp 1, fn 1; label 1: predicted {1, 2} = true: tp 2.
    check_values(as_tensor(r.precision), {0.5, 1.0}, 1e-12);
    check_values(as_tensor(r.recall), {0.5, 1.0}, 1e-12);
    BOOST_TEST(std::abs(r.micro_precision - 0.75) < 1e-12);  // tp 3 of 4 predicted
    BOOST_TEST(std::abs(r.micro_recall - 0.75) < 1e-12);
    BOOST_TEST(std::abs(r.macro_f1 - 0.75) < 1e-12);
    const metrics::ClassReport logits = metrics::multilabel_report(scores - 0.5, labels, 0.0);
    BOOST_TEST(logits.micro_f1 == r.micro_f1);
    const metrics::BinaryScores b = metrics::binary_scores(tensor({1, 1, 0, 0, 1}) > 0.5, tensor({1, 0, 0, 1, 1}));
    BOOST_TEST(b.true_positives == 2);
    BOOST_TEST(b.false_positives == 1);
    BOOST_TEST(b.false_negatives == 1);
    BOOST_TEST(b.true_negatives == 1);
    BOOST_TEST(std::abs(b.f1 - 2.0 / 3) < 1e-12);
    check_error(
        [&] {
            metrics::multilabel_report(scores, tensor({{1, 0}, {0, 2}, {1, 1}}));
        },
        {"multilabel_report", "0 or 1", "2"});
    check_error([&] { metrics::multilabel_report(scores, labels.t()); }, {"multilabel_report", "[3, 2]", "[2, 3]"});
    // A NaN score is refused, not counted as "not predicted".
    check_error(
        [&] {
            metrics::multilabel_report(tensor({{0.9, 0.2}, {0.6, std::nan("")}, {0.1, 0.8}}), labels);
        },
        {"multilabel_report", "sample 1, label 1", "NaN"});
    check_error([&] { metrics::multilabel_report(scores, labels, std::nan("")); }, {"multilabel_report", "threshold"});
}

BOOST_AUTO_TEST_CASE(roc_auc_and_average_precision_match_their_definitions) {
    // scikit-learn's example: negatives 0.1 and 0.4, positives 0.35 and 0.8. Of the 4 pairs the
    // positive wins 3 (0.35 loses to 0.4): AUC 0.75. AP: at 0.8 precision 1, recall 1/2; at 0.35
    // precision 2/3, recall 1: 1/2 x 1 + 1/2 x 2/3 = 0.8333.
    BOOST_TEST(metrics::roc_auc(tensor({0.1, 0.4, 0.35, 0.8}), tensor({0, 0, 1, 1})) == 0.75);
    BOOST_TEST(std::abs(metrics::average_precision(tensor({0.1, 0.4, 0.35, 0.8}), tensor({0, 0, 1, 1})) -
                        0.8333333333) < 1e-9);
    // Random scores with many ties (integers 0..9), against the brute-force definitions.
    Generator gen(3);
    for (int trial = 0; trial < 5; ++trial) {
        const Tensor s = uniform({300}, 0, 10, kFloat64, &gen).to(kInt64).to(kFloat64);
        const Tensor t = bernoulli({300}, 0.3, kFloat64, &gen);
        const auto sv = s.to_vector<double>(), tv = t.to_vector<double>();
        BOOST_TEST(std::abs(metrics::roc_auc(s, t) - brute_force_auc(sv, tv)) < 1e-12);
        BOOST_TEST(std::abs(metrics::average_precision(s, t) - brute_force_ap(sv, tv)) < 1e-12);
    }
    // Perfect and reversed rankings.
    BOOST_TEST(metrics::roc_auc(tensor({3, 2, 1}), tensor({1, 1, 0})) == 1.0);
    BOOST_TEST(metrics::roc_auc(tensor({1, 2, 3}), tensor({1, 1, 0})) == 0.0);
    BOOST_TEST(metrics::average_precision(tensor({3, 2, 1}), tensor({1, 1, 0})) == 1.0);
    // Per label, skipping a label with one class only.
    const Tensor scores = tensor({{0.1, 0.5}, {0.4, 0.6}, {0.35, 0.7}, {0.8, 0.2}});
    const Tensor labels = tensor({{0, 1}, {0, 1}, {1, 1}, {1, 1}});
    BOOST_TEST(metrics::macro_roc_auc(scores, labels) == 0.75);
    check_error(
        [&] {
            metrics::roc_auc(tensor({0.1, 0.2}), tensor({1, 1}));
        },
        {"roc_auc", "2 positives and 0 negatives"});
    check_error(
        [&] {
            metrics::average_precision(tensor({0.1, 0.2}), tensor({0, 0}));
        },
        {"average_precision", "positive"});
    check_error([&] { metrics::roc_auc(tensor({0.1, std::nan("")}), tensor({0, 1})); }, {"roc_auc", "NaN"});
    check_error([&] { metrics::macro_roc_auc(scores, ones({4, 2})); }, {"macro_roc_auc", "both"});
}

BOOST_AUTO_TEST_SUITE_END()
