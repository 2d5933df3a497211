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
    // Chosen on the odd half: positives at 0.3, negatives at 0.1 everywhere. Tuned on the odd
    // rows: 0.25 (of 0.10-0.25, all perfect there, the nearest 1/2), which labels the even rows
    // right.
    const Tensor chosen_on_odd = rows_at({0.3f, 0.3f, 0.1f, 0.1f});
    // Chosen on the even half: positives at 0.7 and negatives at 0.6 on the even rows, whose
    // threshold is then 0.60, which flags nothing of the odd rows (0.3, 0.1).
    const Tensor chosen_on_even = rows_at({0.7f, 0.3f, 0.6f, 0.1f});
    // TP 10 (even rows), FN 10 (odd rows): F1 = 20 / 30.
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kOnePassTuned, {chosen_on_even, chosen_on_odd}, y) == 2.0 / 3.0,
               boost::test_tools::tolerance(1e-12));
    BOOST_TEST(hoc::cross_fitted_f1(hoc::kMonteCarloTuned, {chosen_on_even, chosen_on_odd}, y) == 2.0 / 3.0,
               boost::test_tools::tolerance(1e-12));
    // At 1/2 the even rows (0.3, 0.1) are not flagged, and the odd ones neither: no TP at all.
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
            kept.dev = kept.test = rows_at({0.9f, 0.9f, 0.1f, 0.1f});        // right on all of dev at its best epoch
            kept.dev_chosen_on_half[1] = rows_at({0.1f, 0.1f, 0.9f, 0.9f});  // the odd half chose badly
        }
        network->one_pass_test = network->kept[0].test;
    }
    for (int rule = 0; rule < hoc::kRules; ++rule) {
        a.kept[rule].dev_chosen_on_half[0] = rows_at({0.9f, 0.9f, 0.1f, 0.1f});
        b.kept[rule].dev_chosen_on_half[0] = rows_at({0.3f, 0.9f, 0.1f, 0.1f});
    }
    const hoc::SeedRun ensemble = hoc::ensemble_of({a, b}, y);
    for (int rule = 0; rule < hoc::kRules; ++rule) {
        const Tensor mean = rows_at({0.6f, 0.9f, 0.1f, 0.1f});
        BOOST_TEST((ensemble.kept[rule].dev_chosen_on_half[0] - mean).abs().max().item() < 1e-6);
        BOOST_TEST(ensemble.kept[rule].dev_f1 == 1.0);
    }
    // Even rows by the odd half's choice: row 0 missed (FN 10), row 2 flagged (FP 10); odd rows by
    // the even half's mean: row 1 flagged (TP 10), row 3 not. F1 = 20 / (20 + 10 + 10).
    BOOST_TEST(ensemble.kept[hoc::kOnePass].cross_fitted_f1 == 0.5);
    BOOST_TEST(ensemble.kept[hoc::kMonteCarlo].cross_fitted_f1 == 0.5);
}

BOOST_AUTO_TEST_SUITE_END()
