#include <xgrad/metrics/metrics.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::metrics {
namespace {

double ratio(double numerator, double denominator) {
    return denominator == 0 ? 0.0 : numerator / denominator;
}
double f1_of(double precision, double recall) {
    return ratio(2 * precision * recall, precision + recall);
}

// Class indices as int64 values, checked against [0, num_classes) (num_classes < 0: unchecked).
std::vector<int64_t> class_indices(const char* metric, const char* what, const Tensor& t, int64_t num_classes) {
    XGRAD_CHECK(t.dtype() == kInt64, metric, ": ", what, " must be int64 class indices, got ", t.dtype());
    XGRAD_CHECK(t.dim() == 1, metric, ": ", what, " must be 1-D [N], got shape ", t.sizes());
    std::vector<int64_t> v = t.to_vector<int64_t>();
    if (num_classes >= 0)
        for (int64_t c : v)
            XGRAD_CHECK(c >= 0 && c < num_classes, metric, ": ", what, " holds class ", c, ", outside [0, ",
                        num_classes, ")");
    return v;
}

void check_same_shape(const char* metric, const Tensor& a, const Tensor& b) {
    XGRAD_CHECK(a.sizes() == b.sizes(), metric, ": predictions of shape ", a.sizes(), " and targets of shape ",
                b.sizes(), " differ");
}

// 0/1 targets (bool, integer or floating) as bools; anything else throws.
std::vector<bool> binary_targets(const char* metric, const Tensor& targets) {
    const std::vector<double> v = targets.to_vector<double>();
    std::vector<bool> out(v.size());
    for (std::size_t i = 0; i < v.size(); ++i) {
        XGRAD_CHECK(v[i] == 0 || v[i] == 1, metric, ": targets must be 0 or 1, got ", v[i], " at position ", i);
        out[i] = v[i] == 1;
    }
    return out;
}

// Fills a report's per-class figures and averages from per-class counts.
ClassReport report_from_counts(const std::vector<int64_t>& tp, const std::vector<int64_t>& fp,
                               const std::vector<int64_t>& fn) {
    ClassReport r;
    double all_tp = 0, all_fp = 0, all_fn = 0;
    const std::size_t classes = tp.size();
    for (std::size_t c = 0; c < classes; ++c) {
        const double p = ratio(static_cast<double>(tp[c]), static_cast<double>(tp[c] + fp[c]));
        const double q = ratio(static_cast<double>(tp[c]), static_cast<double>(tp[c] + fn[c]));
        r.precision.push_back(p);
        r.recall.push_back(q);
        r.f1.push_back(f1_of(p, q));
        r.support.push_back(tp[c] + fn[c]);
        all_tp += static_cast<double>(tp[c]), all_fp += static_cast<double>(fp[c]),
            all_fn += static_cast<double>(fn[c]);
    }
    r.micro_precision = ratio(all_tp, all_tp + all_fp);
    r.micro_recall = ratio(all_tp, all_tp + all_fn);
    r.micro_f1 = f1_of(r.micro_precision, r.micro_recall);
    if (classes > 0) {
        const double n = static_cast<double>(classes);
        r.macro_precision = std::accumulate(r.precision.begin(), r.precision.end(), 0.0) / n;
        r.macro_recall = std::accumulate(r.recall.begin(), r.recall.end(), 0.0) / n;
        r.macro_f1 = std::accumulate(r.f1.begin(), r.f1.end(), 0.0) / n;
    }
    return r;
}

// Scores and 0/1 targets of one ranking problem, validated.
struct Ranked {
    std::vector<double> scores;
    std::vector<bool> positive;
    int64_t positives = 0, negatives = 0;
};
Ranked ranked(const char* metric, const Tensor& scores, const Tensor& targets) {
    XGRAD_CHECK(scores.dim() == 1, metric, ": scores must be 1-D [N], got shape ", scores.sizes());
    check_same_shape(metric, scores, targets);
    Ranked r{scores.to_vector<double>(), binary_targets(metric, targets)};
    for (std::size_t i = 0; i < r.scores.size(); ++i) {
        XGRAD_CHECK(!std::isnan(r.scores[i]), metric, ": score ", i, " is NaN");
        (r.positive[i] ? r.positives : r.negatives) += 1;
    }
    return r;
}

// Positions sorted by score, descending (ties in input order).
std::vector<std::size_t> by_score_descending(const std::vector<double>& scores) {
    std::vector<std::size_t> order(scores.size());
    std::iota(order.begin(), order.end(), std::size_t{0});
    std::stable_sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return scores[a] > scores[b]; });
    return order;
}

}  // namespace

double accuracy(const Tensor& predicted, const Tensor& targets) {
    check_same_shape("accuracy", predicted, targets);
    const auto p = class_indices("accuracy", "predictions", predicted, -1);
    const auto t = class_indices("accuracy", "targets", targets, -1);
    XGRAD_CHECK(!p.empty(), "accuracy: no predictions");
    int64_t right = 0;
    for (std::size_t i = 0; i < p.size(); ++i) right += p[i] == t[i];
    return static_cast<double>(right) / static_cast<double>(p.size());
}

Tensor confusion_matrix(const Tensor& predicted, const Tensor& targets, int64_t num_classes) {
    XGRAD_CHECK(num_classes > 0, "confusion_matrix: num_classes must be positive, got ", num_classes);
    // The matrix has num_classes^2 counts: refuse a count that overflows or could not be allocated.
    constexpr int64_t kMaxClasses = int64_t{1} << 20;
    XGRAD_CHECK(num_classes <= kMaxClasses, "confusion_matrix: num_classes ", num_classes,
                " would need a matrix of num_classes^2 counts; at most ", kMaxClasses, " classes");
    check_same_shape("confusion_matrix", predicted, targets);
    const auto p = class_indices("confusion_matrix", "predictions", predicted, num_classes);
    const auto t = class_indices("confusion_matrix", "targets", targets, num_classes);
    std::vector<int64_t> counts(static_cast<std::size_t>(num_classes * num_classes), 0);
    for (std::size_t i = 0; i < p.size(); ++i) ++counts[static_cast<std::size_t>(t[i] * num_classes + p[i])];
    return from_vector(counts, {num_classes, num_classes});
}

ClassReport classification_report(const Tensor& predicted, const Tensor& targets, int64_t num_classes) {
    const std::vector<int64_t> m = confusion_matrix(predicted, targets, num_classes).to_vector<int64_t>();
    const std::size_t C = static_cast<std::size_t>(num_classes);
    std::vector<int64_t> tp(C, 0), fp(C, 0), fn(C, 0);
    for (std::size_t t = 0; t < C; ++t)
        for (std::size_t p = 0; p < C; ++p) {
            const int64_t n = m[t * C + p];
            if (t == p)
                tp[t] += n;
            else
                fn[t] += n, fp[p] += n;
        }
    return report_from_counts(tp, fp, fn);
}

ClassReport multilabel_report(const Tensor& scores, const Tensor& targets, double threshold) {
    XGRAD_CHECK(scores.dim() == 2, "multilabel_report: scores must be [N, L], got shape ", scores.sizes());
    check_same_shape("multilabel_report", scores, targets);
    const std::vector<double> s = scores.to_vector<double>();
    const std::vector<bool> t = binary_targets("multilabel_report", targets);
    XGRAD_CHECK(!std::isnan(threshold), "multilabel_report: the threshold is NaN");
    const std::size_t L = static_cast<std::size_t>(scores.size(1));
    std::vector<int64_t> tp(L, 0), fp(L, 0), fn(L, 0);
    for (std::size_t i = 0; i < s.size(); ++i) {
        // A NaN score would silently count as "not predicted" (as roc_auc, refuse it).
        XGRAD_CHECK(!std::isnan(s[i]), "multilabel_report: the score of sample ", i / L, ", label ", i % L, " is NaN");
        const std::size_t label = i % L;
        const bool predicted = s[i] > threshold;
        tp[label] += predicted && t[i];
        fp[label] += predicted && !t[i];
        fn[label] += !predicted && t[i];
    }
    return report_from_counts(tp, fp, fn);
}

BinaryScores binary_scores(const Tensor& predicted, const Tensor& targets) {
    check_same_shape("binary_scores", predicted, targets);
    const std::vector<bool> p = binary_targets("binary_scores", predicted),
                            t = binary_targets("binary_scores", targets);
    BinaryScores b;
    for (std::size_t i = 0; i < p.size(); ++i) {
        b.true_positives += p[i] && t[i];
        b.false_positives += p[i] && !t[i];
        b.false_negatives += !p[i] && t[i];
        b.true_negatives += !p[i] && !t[i];
    }
    b.precision =
        ratio(static_cast<double>(b.true_positives), static_cast<double>(b.true_positives + b.false_positives));
    b.recall = ratio(static_cast<double>(b.true_positives), static_cast<double>(b.true_positives + b.false_negatives));
    b.f1 = f1_of(b.precision, b.recall);
    return b;
}

// Mann-Whitney: with ranks 1..n in ascending score order (tied scores share their average rank),
// AUC = (sum of the positives' ranks - P (P + 1) / 2) / (P N).
double roc_auc(const Tensor& scores, const Tensor& targets) {
    const Ranked r = ranked("roc_auc", scores, targets);
    XGRAD_CHECK(r.positives > 0 && r.negatives > 0, "roc_auc: needs both positive and negative targets, got ",
                r.positives, " positives and ", r.negatives, " negatives");
    std::vector<std::size_t> order = by_score_descending(r.scores);
    std::reverse(order.begin(), order.end());
    double positive_ranks = 0;
    for (std::size_t begin = 0; begin < order.size();) {
        std::size_t end = begin;
        while (end < order.size() && r.scores[order[end]] == r.scores[order[begin]]) ++end;
        const double rank = (static_cast<double>(begin + 1) + static_cast<double>(end)) / 2;  // average of begin+1..end
        for (std::size_t k = begin; k < end; ++k)
            if (r.positive[order[k]]) positive_ranks += rank;
        begin = end;
    }
    const double P = static_cast<double>(r.positives), N = static_cast<double>(r.negatives);
    return (positive_ranks - P * (P + 1) / 2) / (P * N);
}

// Thresholds at each distinct score, from the highest down: AP = sum (R_k - R_{k-1}) P_k.
double average_precision(const Tensor& scores, const Tensor& targets) {
    const Ranked r = ranked("average_precision", scores, targets);
    XGRAD_CHECK(r.positives > 0, "average_precision: needs at least one positive target");
    const std::vector<std::size_t> order = by_score_descending(r.scores);
    double tp = 0, fp = 0, recall_before = 0, ap = 0;
    for (std::size_t begin = 0; begin < order.size();) {
        std::size_t end = begin;
        while (end < order.size() && r.scores[order[end]] == r.scores[order[begin]]) {
            (r.positive[order[end]] ? tp : fp) += 1;
            ++end;
        }
        const double recall = tp / static_cast<double>(r.positives);
        ap += (recall - recall_before) * tp / (tp + fp);
        recall_before = recall;
        begin = end;
    }
    return ap;
}

double macro_roc_auc(const Tensor& scores, const Tensor& targets) {
    XGRAD_CHECK(scores.dim() == 2, "macro_roc_auc: scores must be [N, L], got shape ", scores.sizes());
    check_same_shape("macro_roc_auc", scores, targets);
    double total = 0;
    int64_t counted = 0;
    for (int64_t l = 0; l < scores.size(1); ++l) {
        const Tensor t = targets.select(1, l);
        const double positives = sum(t.to(kFloat64)).item();
        if (positives == 0 || positives == static_cast<double>(t.numel())) continue;
        total += roc_auc(scores.select(1, l), t);
        ++counted;
    }
    XGRAD_CHECK(counted > 0, "macro_roc_auc: no label of ", scores.size(1), " has both positive and negative targets");
    return total / static_cast<double>(counted);
}

}  // namespace xgrad::metrics
