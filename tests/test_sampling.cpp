// Samplers and collate: each sampler's order or distribution under a seed (frequencies within a
// few standard deviations of the probabilities derived by hand), the DataLoader driven by them,
// batches with extra fields, and the errors for bad weights, indices and fields.
#include <cmath>
#include <map>
#include <set>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
// Frequency of each value among draws; check that each is within 5 standard deviations of p.
void check_frequencies(const std::vector<int64_t>& draws, const std::vector<double>& p) {
    std::vector<double> counts(p.size(), 0.0);
    for (int64_t d : draws) {
        BOOST_TEST_REQUIRE((d >= 0 && d < static_cast<int64_t>(p.size())));
        counts[static_cast<std::size_t>(d)] += 1;
    }
    const auto n = static_cast<double>(draws.size());
    for (std::size_t i = 0; i < p.size(); ++i) {
        const double sd = std::sqrt(p[i] * (1 - p[i]) / n);
        BOOST_TEST(std::abs(counts[i] / n - p[i]) <= 5 * sd + 1e-12,
                   "index " << i << ": frequency " << counts[i] / n << ", expected " << p[i]);
    }
}

std::vector<int64_t> sorted(std::vector<int64_t> v) {
    std::sort(v.begin(), v.end());
    return v;
}

// Sequences of different lengths (token i of sample k is 10 k + i) with label k % 2 and an id.
class Sequences : public data::Dataset {
public:
    int64_t size() const override { return 5; }
    data::Example get(int64_t k) const override {
        std::vector<int64_t> tokens;
        for (int64_t i = 0; i < k + 1; ++i) tokens.push_back(10 * k + i);
        return {from_vector(tokens, {k + 1}),
                scalar_tensor(static_cast<double>(k % 2), kInt64),
                {{"id", scalar_tensor(static_cast<double>(k), kInt64)}}};
    }
};

// Pads to the longest sequence with 0 and records the lengths: what a text model's loader needs.
data::Batch pad_collate(std::vector<data::Example> examples) {
    int64_t longest = 0;
    for (const auto& e : examples) longest = std::max(longest, e.data.size(0));
    const auto B = static_cast<int64_t>(examples.size());
    Tensor padded = zeros({B, longest}, kInt64);
    std::vector<int64_t> lengths;
    std::vector<Tensor> labels;
    for (int64_t b = 0; b < B; ++b) {
        const data::Example& e = examples[static_cast<std::size_t>(b)];
        padded.select(0, b).narrow(0, 0, e.data.size(0)).copy_(e.data);
        lengths.push_back(e.data.size(0));
        labels.push_back(e.target);
    }
    return {padded, stack(labels), {{"lengths", from_vector(lengths, {B})}}};
}
}  // namespace

BOOST_AUTO_TEST_SUITE(data_sampling)

BOOST_AUTO_TEST_CASE(sequential_random_and_subset_orders) {
    Generator gen(5);
    BOOST_TEST((data::SequentialSampler(4).epoch(gen) == std::vector<int64_t>{0, 1, 2, 3}));

    // Without replacement: a permutation, the one DataLoader's shuffle draws from the same seed.
    Generator a(11), b(11);
    const auto perm = data::RandomSampler(10).epoch(a);
    BOOST_TEST((sorted(perm) == std::vector<int64_t>{0, 1, 2, 3, 4, 5, 6, 7, 8, 9}));
    BOOST_TEST((perm == randperm(10, &b).to_vector<int64_t>()));
    // More samples than indices: whole permutations, then part of one.
    const auto longer = data::RandomSampler(4, {.num_samples = 10}).epoch(gen);
    BOOST_TEST(longer.size() == 10u);
    BOOST_TEST((sorted({longer.begin(), longer.begin() + 4}) == std::vector<int64_t>{0, 1, 2, 3}));
    BOOST_TEST((sorted({longer.begin() + 4, longer.begin() + 8}) == std::vector<int64_t>{0, 1, 2, 3}));
    // With replacement: uniform draws.
    check_frequencies(data::RandomSampler(5, {.replacement = true, .num_samples = 20000}).epoch(gen),
                      std::vector<double>(5, 0.2));

    const data::SubsetRandomSampler subset({7, 2, 9});
    const auto first = subset.epoch(gen);
    BOOST_TEST((sorted(first) == std::vector<int64_t>{2, 7, 9}));
    std::set<std::vector<int64_t>> orders;
    for (int i = 0; i < 50; ++i) orders.insert(subset.epoch(gen));
    BOOST_TEST(orders.size() == 6u);  // all 3! orders turn up
}

BOOST_AUTO_TEST_CASE(weighted_draws_follow_the_weights) {
    Generator gen(3);
    // With replacement: P(i) = w_i / 10; index 2 (weight 0) never.
    const data::WeightedRandomSampler with({1, 2, 0, 7}, 50000);
    check_frequencies(with.epoch(gen), {0.1, 0.2, 0.0, 0.7});

    // Without replacement, 3 of the 3 positive indices: every epoch a permutation of {0, 1, 3}.
    // First draw: 0.1, 0.2, 0.7. Second draw is 0 when 1 came first (0.2 * 1/8) or 3 did
    // (0.7 * 1/3): 0.025 + 0.2333 = 0.2583; 1 when 0 came first (0.1 * 2/9) or 3 did (0.7 * 2/3):
    // 0.0222 + 0.4667 = 0.4889; 3 otherwise: 0.2528.
    const data::WeightedRandomSampler without({1, 2, 0, 7}, 3, false);
    std::vector<int64_t> firsts, seconds;
    for (int i = 0; i < 20000; ++i) {
        const auto e = without.epoch(gen);
        BOOST_TEST_REQUIRE((sorted(e) == std::vector<int64_t>{0, 1, 3}));
        firsts.push_back(e[0]);
        seconds.push_back(e[1]);
    }
    check_frequencies(firsts, {0.1, 0.2, 0.0, 0.7});
    const double s0 = 0.2 / 8 + 0.7 / 3, s1 = 0.1 * 2 / 9 + 0.7 * 2 / 3;
    check_frequencies(seconds, {s0, s1, 0.0, 1 - s0 - s1});

    // The same seed, the same draws.
    Generator x(9), y(9);
    BOOST_TEST((with.epoch(x) == with.epoch(y)));

    BOOST_TEST((data::balanced_class_weights({0, 0, 0, 1, 2, 2}) ==
                std::vector<double>{1.0 / 3, 1.0 / 3, 1.0 / 3, 1, 0.5, 0.5}));
}

BOOST_AUTO_TEST_CASE(a_weighted_loader_balances_an_imbalanced_set) {
    // 90 examples of class 0, 10 of class 1: balanced weights draw each class half the time.
    std::vector<int64_t> labels(100, 0);
    for (int i = 90; i < 100; ++i) labels[static_cast<std::size_t>(i)] = 1;
    const data::TensorDataset ds(arange(100, kFloat32).view({100, 1}), from_vector(labels, {100}));
    Generator gen(21);
    data::DataLoader loader(
        ds, {.batch_size = 32,
             .generator = &gen,
             .sampler = std::make_shared<data::WeightedRandomSampler>(data::balanced_class_weights(labels), 10000)});
    BOOST_TEST(loader.size() == 313);  // ceil(10000 / 32)
    std::vector<int64_t> drawn;
    for (const data::Batch& batch : loader)
        for (int64_t label : batch.target.to_vector<int64_t>()) drawn.push_back(label);
    BOOST_TEST(drawn.size() == 10000u);
    check_frequencies(drawn, {0.5, 0.5});
}

BOOST_AUTO_TEST_CASE(collate_builds_batches_with_extra_fields) {
    const Sequences ds;
    // Sequences of lengths 1..5 cannot be stacked: the collate pads them and adds their lengths.
    data::DataLoader padded(ds, {.batch_size = 3, .collate = pad_collate});
    std::vector<data::Batch> batches;
    for (const data::Batch& batch : padded) batches.push_back(batch);
    BOOST_TEST_REQUIRE(batches.size() == 2u);
    BOOST_TEST((batches[0].data.sizes() == Shape{3, 3}));
    check_values(batches[0].data, {0, 0, 0, 10, 11, 0, 20, 21, 22}, 0);
    check_values(batches[0].field("lengths"), {1, 2, 3}, 0);
    check_values(batches[1].field("lengths"), {4, 5}, 0);
    check_values(batches[1].target, {1, 0}, 0);
    check_error([&] { batches[0].field("mask"); }, {"Batch::field", "\"mask\"", "lengths"});

    // Without a collate, examples of one length stack, fields included.
    data::DataLoader ids(ds, {.batch_size = 2, .sampler = std::make_shared<data::SequentialSampler>(1)});
    const data::Batch single = *ids.begin();
    check_values(single.field("id"), {0}, 0);
    std::vector<data::Example> uneven = {ds.get(0), ds.get(1)};
    check_error([&] { data::default_collate(uneven); }, {"stack"});
    uneven[1].fields.clear();
    check_error([&] { data::default_collate(uneven); }, {"default_collate", "example 1 has 0 fields"});
}

BOOST_AUTO_TEST_CASE(bad_samplers_are_reported) {
    const data::TensorDataset ds(zeros({10, 1}), arange(10));
    auto subset = std::make_shared<data::SubsetRandomSampler>(std::vector<int64_t>{0, 12});
    data::DataLoader out_of_range(ds, {.batch_size = 2, .sampler = subset});
    check_error([&] { out_of_range.begin(); }, {"DataLoader", "index 12", "10 examples"});
    check_error([&] { data::DataLoader(ds, {.shuffle = true, .sampler = subset}); },
                {"DataLoader", "shuffle", "sampler"});
    check_error([] { data::WeightedRandomSampler({1, -1}, 2); }, {"WeightedRandomSampler", "weight 1", "-1"});
    check_error([] { data::WeightedRandomSampler({0, 0}, 2); }, {"WeightedRandomSampler", "all 2 weights are zero"});
    check_error(
        [] {
            data::WeightedRandomSampler({1, 0, 2}, 3, false);
        },
        {"WeightedRandomSampler", "3 samples without replacement", "2 indices"});
    check_error([] { data::RandomSampler(0, {.num_samples = 3}); }, {"RandomSampler", "empty"});
    check_error([] { data::SubsetRandomSampler({1, -2}); }, {"SubsetRandomSampler", "index 1", "-2"});
    check_error([] { data::RandomSampler(5, {.num_samples = 0}); }, {"RandomSampler", "positive", "got 0"});
    check_error([] { data::WeightedRandomSampler({1, 2}, 0); }, {"WeightedRandomSampler", "positive", "got 0"});
    // Finite weights whose sum overflows would send every draw to the last index.
    check_error([] { data::WeightedRandomSampler({1e308, 1e308}, 10); }, {"WeightedRandomSampler", "sum to inf"});
}

BOOST_AUTO_TEST_CASE(a_batch_of_fields_alone_counts_its_examples) {
    data::Batch fields_only;
    fields_only.fields["ids"] = arange(4);
    fields_only.fields["a_scalar"] = scalar_tensor(1.0);  // first by name, but 0-d: not counted
    BOOST_TEST(fields_only.size() == 4);
    check_error([] { data::Batch().size(); }, {"Batch::size", "no data, target or field"});
}

BOOST_AUTO_TEST_SUITE_END()
