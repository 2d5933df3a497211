// The Hallmarks of Cancer programs' dev scores (examples/hoc_predictions.hpp), on four dev
// abstracts whose answers are worked out by hand: what dev chooses between models and rules by
// must be computed the way the tutorial says.
#include "../examples/hoc_predictions.hpp"
#include "helpers.hpp"

using namespace xgrad;

namespace {
// Four abstracts: rows 0 and 1 have every hallmark, rows 2 and 3 none, so that each half of dev
// (even rows 0, 2; odd rows 1, 3) has one positive and one negative of each hallmark.
Tensor four_abstracts() {
    std::vector<float> v(40, 0.0f);
    for (int k = 0; k < 20; ++k) v[k] = 1.0f;
    return from_vector(v, {4, 10}, kFloat32);
}

// Probabilities [4, 10]: every hallmark of row r at p[r].
Tensor rows_at(const std::vector<float>& p) {
    std::vector<float> v;
    for (float value : p) v.insert(v.end(), 10, value);
    return from_vector(v, {4, 10}, kFloat32);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(hoc_scoring)

BOOST_AUTO_TEST_CASE(halves_are_the_even_and_the_odd_rows) {
    const auto [even, odd] = hoc::halves_of(5);
    BOOST_TEST(even.to_vector<int64_t>() == std::vector<int64_t>({0, 2, 4}), boost::test_tools::per_element());
    BOOST_TEST(odd.to_vector<int64_t>() == std::vector<int64_t>({1, 3}), boost::test_tools::per_element());
}

// Each half is labelled by what the other half chose: probabilities right on the half that chose
// them and wrong on the other score 0, the other way round 1.
BOOST_AUTO_TEST_CASE(cross_fitted_score_labels_each_half_with_the_other_halfs_choice) {
    const Tensor y = four_abstracts();
    const Tensor right_on_even = rows_at({0.9f, 0.1f, 0.1f, 0.9f}), right_on_odd = rows_at({0.1f, 0.9f, 0.9f, 0.1f});
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kOnePass, {right_on_even, right_on_odd}, y) == 0.0);
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kOnePass, {right_on_odd, right_on_even}, y) == 1.0);
    // Even rows by the odd half's choice: both abstracts flagged everywhere (TP 10, FP 10); odd rows
    // by the even half's: nothing flagged (FN 10). F1 = 2 TP / (2 TP + FP + FN) = 20 / 40.
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kMonteCarlo,
                                    {rows_at({0.0f, 0.2f, 0.0f, 0.2f}), rows_at({0.8f, 0.0f, 0.8f, 0.0f})}, y) == 0.5);
}

// The tuned rules take the thresholds from the half that chose, tuned on its own rows, and apply
// them to the other half.
BOOST_AUTO_TEST_CASE(cross_fitted_score_tunes_thresholds_on_the_choosing_half) {
    const Tensor y = four_abstracts();
    // Chosen on the odd half: positives at 0.32, negatives at 0.12 everywhere. Tuned on the odd
    // rows: 0.30 (of 0.15-0.30, all perfect there, the nearest 1/2), which labels the even rows
    // right.
    const Tensor chosen_on_odd = rows_at({0.32f, 0.32f, 0.12f, 0.12f});
    // Chosen on the even half: positives at 0.72 and negatives at 0.62 on the even rows, whose
    // threshold is then 0.65, which flags nothing of the odd rows (0.32, 0.12).
    const Tensor chosen_on_even = rows_at({0.72f, 0.32f, 0.62f, 0.12f});
    // TP 10 (even rows), FN 10 (odd rows): F1 = 20 / 30.
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kOnePassTuned, {chosen_on_even, chosen_on_odd}, y) == 2.0 / 3.0,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kMonteCarloTuned, {chosen_on_even, chosen_on_odd}, y) == 2.0 / 3.0,
               boost::test_tools::tolerance(1e-12));
    // At 1/2 the even rows (0.32, 0.12) are not flagged, and the odd ones neither: no TP at all.
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kOnePass, {chosen_on_even, chosen_on_odd}, y) == 0.0);
}

// A deep ensemble's cross-fitted score is that of its networks' choices averaged half by half.
BOOST_AUTO_TEST_CASE(an_ensemble_averages_its_networks_choices_half_by_half) {
    const Tensor y = four_abstracts();
    hoc::SeedRun a, b;
    for (hoc::SeedRun* network : {&a, &b}) {
        for (int rule = 0; rule < hoc::kRules; ++rule) {
            hoc::Kept& kept = network->kept[rule];
            kept.epoch = 1;
            kept.dev = kept.test = rows_at({0.92f, 0.92f, 0.12f, 0.12f});  // right on all of dev at its best epoch
            kept.dev_chosen_on_half[1] = rows_at({0.12f, 0.12f, 0.92f, 0.92f});  // the odd half chose badly
        }
        network->one_pass_test = network->kept[0].test;
    }
    for (int rule = 0; rule < hoc::kRules; ++rule) {
        a.kept[rule].dev_chosen_on_half[0] = rows_at({0.92f, 0.92f, 0.12f, 0.12f});
        b.kept[rule].dev_chosen_on_half[0] = rows_at({0.32f, 0.92f, 0.12f, 0.12f});
    }
    const hoc::SeedRun ensemble = hoc::ensemble_of({a, b}, y);
    for (int rule = 0; rule < hoc::kRules; ++rule) {
        const Tensor mean = rows_at({0.62f, 0.92f, 0.12f, 0.12f});
        BOOST_TEST((ensemble.kept[rule].dev_chosen_on_half[0] - mean).abs().max().item() < 1e-6);
        BOOST_TEST(ensemble.kept[rule].dev_f1 == 1.0);
    }
    // Even rows by the odd half's choice: row 0 missed (FN 10), row 2 flagged (FP 10); odd rows by
    // the even half's mean: row 1 flagged (TP 10), row 3 not. F1 = 20 / (20 + 10 + 10).
    BOOST_TEST(ensemble.kept[hoc::kOnePass].cross_fitted_f1 == 0.5);
    BOOST_TEST(ensemble.kept[hoc::kMonteCarlo].cross_fitted_f1 == 0.5);
    // Tuned: on the odd rows of the odd half's choice (a positive at 0.12, a negative at 0.92) the
    // best F1 flags both (2/3, at 0.05 or 0.10: 0.10, nearer 1/2), which on the even rows flags
    // both (TP 10, FP 10); on the even rows of the even half's mean (0.62 and 0.12) every threshold
    // of 0.15-0.60 is perfect, 0.50 the nearest 1/2, which flags row 1 (0.92) and not row 3 (TP
    // 10). F1 = 40 / (40 + 10).
    BOOST_TEST(ensemble.kept[hoc::kOnePassTuned].cross_fitted_f1 == 0.8, boost::test_tools::tolerance(1e-12));
}

BOOST_AUTO_TEST_SUITE_END()
