// data: scalers against hand-computed values, the loader's epochs, the IDX and CSV readers on
// good and malformed files, the text pipeline, word vectors, and the shipped data sets.
#include <zlib.h>

#include <algorithm>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <type_traits>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace fs = std::filesystem;

namespace {
void write_bytes(const fs::path& path, const std::string& bytes, bool gzip) {
    if (gzip) {
        gzFile f = gzopen(path.c_str(), "wb");
        gzwrite(f, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(f);
    } else {
        std::ofstream(path, std::ios::binary) << bytes;
    }
}

std::string idx_bytes(const std::vector<uint32_t>& dims, const std::vector<unsigned char>& data) {
    std::string b = {0, 0, 0x08, static_cast<char>(dims.size())};
    for (uint32_t d : dims)
        for (int shift : {24, 16, 8, 0}) b += static_cast<char>((d >> shift) & 0xff);
    b.append(data.begin(), data.end());
    return b;
}
}  // namespace

BOOST_AUTO_TEST_SUITE(data_preprocessing)

BOOST_AUTO_TEST_CASE(standard_scaler_matches_hand_computed_values) {
    // Column 0: 1, 2, 3 -> mean 2, biased std sqrt(2/3); column 1 is constant (5).
    Tensor x = tensor({{1.0, 5.0}, {2.0, 5.0}, {3.0, 5.0}}, kFloat64);
    data::StandardScaler scaler;
    Tensor z = scaler.fit_transform(x);
    const double s = std::sqrt(2.0 / 3);
    check_values(z, {-1 / s, 0, 0, 0, 1 / s, 0}, 1e-12);  // the constant column: centered, not divided by 0
    check_values(scaler.inverse_transform(z), x.to_vector<double>(), 1e-12);
    // Test data uses the training statistics.
    check_values(scaler.transform(tensor({{4.0, 6.0}}, kFloat64)), {2 / s, 1}, 1e-12);
    data::Centerer center;
    check_values(center.fit_transform(x), {-1, 0, 0, 0, 1, 0}, 1e-12);
    data::StandardScaler restored;
    restored.load_state_dict(scaler.state_dict());
    check_values(restored.transform(x), z.to_vector<double>(), 1e-12);
    check_error([&] { scaler.transform(ones({2, 3}, kFloat64)); }, {"StandardScaler.transform", "[2]", "[3]"});
    check_error([] { data::StandardScaler().transform(ones({2, 2})); }, {"fit()"});
}

BOOST_AUTO_TEST_CASE(standard_scaler_takes_a_rounded_constant_column_as_constant) {
    // Seven 0.1s: the float64 mean is 0.1 off by one rounding, the spread 1.4e-17 instead of 0, and
    // dividing by it gave +-1. Ten float32 0.1s the same. scikit-learn's rule: variance within
    // n eps var + (n eps mean)^2 counts as constant, scale 1, the column centred to 0.
    for (const DType dtype : {kFloat64, kFloat32}) {
        BOOST_TEST_CONTEXT(dtype) {
            const int64_t n = dtype == kFloat64 ? 7 : 10;
            const Tensor x = cat({full({n, 1}, 0.1, dtype), arange(n).to(dtype).reshape({n, 1})}, 1);
            data::StandardScaler scaler;
            const Tensor z = scaler.fit_transform(x);
            check_values(z.select(1, 0), std::vector<double>(static_cast<std::size_t>(n), 0.0), 1e-6);
            BOOST_TEST(scaler.scale().to_vector<double>()[0] == 1.0);
            // The varying column keeps its spread: (n - 1) / 2 mean, sqrt((n^2 - 1) / 12) biased std.
            BOOST_TEST(scaler.scale().to_vector<double>()[1] == std::sqrt((static_cast<double>(n * n) - 1) / 12),
                       boost::test_tools::tolerance(1e-6));
        }
    }
}

BOOST_AUTO_TEST_CASE(standard_scaler_scales_a_float32_column_far_from_zero) {
    // Mean 300, std 1 over 100k float32 rows: a bound on rounding error with float32's epsilon
    // would call it constant; its extremes differ, so it is scaled.
    const Tensor x = (randn({100000, 1}) + 300.0).to(kFloat32);
    data::StandardScaler scaler;
    scaler.fit(x);
    BOOST_TEST(std::abs(scaler.scale().item() - 1.0) < 0.02);
}

BOOST_AUTO_TEST_CASE(scalers_refuse_nan_and_infinite_values_naming_where) {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    const Tensor with_nan = tensor({{1.0, 2.0}, {3.0, nan}}, kFloat64), with_inf = tensor({{1.0, inf}}, kFloat64);
    check_error([&] { data::StandardScaler().fit(with_nan); }, {"StandardScaler.fit", "sample 1, feature 1", "nan"});
    check_error([&] { data::MinMaxScaler().fit(with_inf); }, {"MinMaxScaler.fit", "sample 0, feature 1", "inf"});
    check_error([&] { data::Centerer().fit(with_inf); }, {"StandardScaler.fit", "finite"});
}

BOOST_AUTO_TEST_CASE(min_max_scaler_maps_onto_any_range) {
    Tensor x = tensor({{0.0, 10.0}, {5.0, 10.0}, {10.0, 10.0}}, kFloat64);
    for (auto [a, b] : {std::pair{0.0, 1.0}, std::pair{-1.0, 1.0}, std::pair{-0.5, 0.5}}) {
        data::MinMaxScaler scaler({.feature_range = {a, b}});
        Tensor z = scaler.fit_transform(x);
        check_values(z, {a, a, (a + b) / 2, a, b, a}, 1e-12);
        check_values(scaler.inverse_transform(z), x.to_vector<double>(), 1e-12);
        data::MinMaxScaler restored;
        restored.load_state_dict(scaler.state_dict());
        check_values(restored.transform(x), z.to_vector<double>(), 1e-12);
    }
    check_error([] { data::MinMaxScaler({.feature_range = {1.0, 1.0}}); }, {"MinMaxScaler", "empty"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_loading)

// The loader keeps a reference to its dataset, so a temporary one is refused at compile time.
static_assert(std::is_constructible_v<data::DataLoader, const data::TensorDataset&>);
static_assert(!std::is_constructible_v<data::DataLoader, data::TensorDataset&&>);
static_assert(!std::is_constructible_v<data::DataLoader, data::TensorDataset, data::DataLoaderOptions>);

BOOST_AUTO_TEST_CASE(loader_visits_every_sample_once_per_epoch_and_reshuffles) {
    Tensor x = arange(10, kFloat32).view({10, 1});
    Tensor y = arange(10);
    data::TensorDataset ds(x, y);
    Generator gen(123);
    data::DataLoader loader(ds, {.batch_size = 3, .shuffle = true, .generator = &gen});
    BOOST_TEST(loader.size() == 4);
    std::vector<std::vector<int64_t>> epochs;
    for (int epoch = 0; epoch < 2; ++epoch) {
        std::vector<int64_t> seen;
        std::vector<int64_t> sizes;
        for (const data::Batch& batch : loader) {
            sizes.push_back(batch.size());
            const auto ids = batch.target.to_vector<int64_t>();
            const auto values = batch.data.to_vector<float>();
            for (std::size_t i = 0; i < ids.size(); ++i) BOOST_TEST(values[i] == static_cast<float>(ids[i]));
            seen.insert(seen.end(), ids.begin(), ids.end());
        }
        BOOST_TEST((sizes == std::vector<int64_t>{3, 3, 3, 1}));
        std::vector<int64_t> sorted = seen;
        std::sort(sorted.begin(), sorted.end());
        BOOST_TEST((sorted == arange(10).to_vector<int64_t>()));
        epochs.push_back(seen);
    }
    BOOST_TEST((epochs[0] != epochs[1]));  // a new order each epoch
    Generator again(123);
    data::DataLoader replay(ds, {.batch_size = 3, .shuffle = true, .generator = &again, .prefetch = true});
    std::vector<int64_t> first;
    for (const data::Batch& batch : replay)
        for (int64_t id : batch.target.to_vector<int64_t>()) first.push_back(id);
    BOOST_TEST((first == epochs[0]));  // the same seed, the same epoch (prefetching changes nothing)
    data::DataLoader dropping(ds, {.batch_size = 4, .drop_last = true});
    int batches = 0;
    for (const data::Batch& batch : dropping) {
        BOOST_TEST(batch.size() == 4);
        ++batches;
    }
    BOOST_TEST(batches == 2);
    check_error([&] { data::TensorDataset(x, arange(3)); }, {"TensorDataset", "10", "3"});
    check_error([&] { data::DataLoader(ds, {.batch_size = 0}); }, {"batch_size"});
}

BOOST_AUTO_TEST_CASE(random_split_cuts_a_shuffled_dataset_into_subsets) {
    const data::TensorDataset ds(arange(10, kFloat32).view({10, 1}), arange(10));
    Generator gen(11);
    const std::vector<data::Subset> parts = data::random_split(ds, {6, 3, 1}, &gen);
    BOOST_TEST_REQUIRE(parts.size() == 3u);
    BOOST_TEST((parts[0].size() == 6 && parts[1].size() == 3 && parts[2].size() == 1));
    // Disjoint, and together every example once; each example is the dataset's at its index.
    std::set<int64_t> seen;
    for (const data::Subset& part : parts)
        for (int64_t i = 0; i < part.size(); ++i) {
            const int64_t at = part.indices()[static_cast<std::size_t>(i)];
            BOOST_TEST(seen.insert(at).second);
            BOOST_TEST(part.get(i).target.item<int64_t>() == at);
        }
    BOOST_TEST(seen.size() == 10u);
    // Shuffled, and the same generator seed gives the same split.
    Generator again(11);
    BOOST_TEST((data::random_split(ds, {6, 3, 1}, &again)[0].indices() == parts[0].indices()));
    std::vector<int64_t> sorted = parts[0].indices();
    std::sort(sorted.begin(), sorted.end());
    BOOST_TEST((parts[0].indices() != sorted || sorted != std::vector<int64_t>{0, 1, 2, 3, 4, 5}));
    // A loader batches a subset through the dataset's one gather.
    data::DataLoader loader(parts[1], {.batch_size = 2});
    std::vector<int64_t> targets;
    for (const data::Batch& batch : loader)
        for (int64_t t : batch.target.to_vector<int64_t>()) targets.push_back(t);
    BOOST_TEST((targets == parts[1].indices()));
    // Errors name the sizes and the indices.
    check_error([&] { data::random_split(ds, {6, 3}, &gen); }, {"random_split", "sum to the 10 examples", "[6, 3]"});
    check_error([&] { data::random_split(ds, {12, -2}, &gen); }, {"random_split", "non-negative", "[12, -2]"});
    check_error([&] { data::Subset(ds, {3, 10}); }, {"Subset", "index 10", "position 1", "10 examples"});
    check_error([&] { parts[2].get(1); }, {"Subset", "index 1", "subset of 1 examples"});
    check_error([&] { parts[2].get_batch({0, -1}); }, {"Subset", "index -1"});
}
static_assert(!std::is_constructible_v<data::Subset, data::TensorDataset&&, std::vector<int64_t>>);

BOOST_AUTO_TEST_CASE(idx_reader_reads_plain_and_gzip_files) {
    const std::string bytes = idx_bytes({2, 2, 3}, {0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 255});
    for (bool gz : {false, true}) {
        const fs::path path = scratch(gz ? "images.idx.gz" : "images.idx");
        write_bytes(path, bytes, gz);
        Tensor t = data::read_idx(path.string());
        BOOST_TEST((t.sizes() == Shape{2, 2, 3}));
        BOOST_TEST(t[1][1][2].item() == 255.0);
        BOOST_TEST(t[0][1][0].item() == 3.0);
    }
}

BOOST_AUTO_TEST_CASE(malformed_idx_files_are_reported_with_the_file) {
    const fs::path empty = scratch("empty.idx"), magic = scratch("magic.idx"), truncated = scratch("truncated.idx"),
                   header = scratch("header.idx");
    write_bytes(empty, "", false);
    write_bytes(magic, std::string("\x12\x34\x08\x01\x00\x00\x00\x01\x05", 9), false);
    write_bytes(truncated, idx_bytes({4}, {1, 2}), false);
    write_bytes(header, std::string("\x00\x00\x08\x03\x00\x00", 6), false);
    check_error([&] { data::read_idx(empty.string()); }, {empty.string(), "empty"});
    check_error([&] { data::read_idx(magic.string()); }, {magic.string(), "bad magic"});
    check_error([&] { data::read_idx(truncated.string()); }, {truncated.string(), "truncated", "4"});
    check_error([&] { data::read_idx(header.string()); }, {header.string(), "truncated header"});
    check_error([] { data::read_idx("/nonexistent/file.idx"); }, {"/nonexistent/file.idx", "cannot open"});
}

BOOST_AUTO_TEST_CASE(fashion_mnist_from_the_debian_package) {
    const data::ImageSet test = data::load_fashion_mnist(false);
    BOOST_TEST((test.images.sizes() == Shape{10000, 28, 28}));
    BOOST_TEST((test.labels.sizes() == Shape{10000}));
    BOOST_TEST(test.images.max().item() <= 1.0);
    BOOST_TEST(test.images.min().item() >= 0.0);
    // The first test images are an ankle boot, a pullover and a trouser.
    BOOST_TEST((test.labels.narrow(0, 0, 3).to_vector<int64_t>() == std::vector<int64_t>{9, 2, 1}));
    BOOST_TEST(data::fashion_mnist_classes()[9] == "Ankle boot");
    const data::ImageSet train = data::load_fashion_mnist(true);
    BOOST_TEST(train.images.size(0) == 60000);
    BOOST_TEST(train.labels[0].item() == 9.0);
    // Every class appears 6,000 times in the training set.
    const Tensor counts = one_hot(train.labels, 10).sum({0});
    for (int64_t c : counts.to_vector<int64_t>()) BOOST_TEST(c == 6000);
}

BOOST_AUTO_TEST_CASE(csv_reader_and_malformed_rows) {
    const fs::path good = scratch("good.csv");
    std::ofstream(good) << "a,b\n1,2.5\n-3,4e2\n";
    check_values(data::read_csv(good.string(), {.skip_lines = 1}), {1, 2.5, -3, 400});
    const fs::path missing = scratch("missing.csv"), text = scratch("text.csv"), ragged = scratch("ragged.csv"),
                   empty = scratch("empty.csv");
    std::ofstream(missing) << "1,2\n3,\n";
    std::ofstream(text) << "1,2\n3,4\n5,n/a\n";
    std::ofstream(ragged) << "1,2\n3,4,5\n";
    std::ofstream(empty) << "";
    check_error([&] { data::read_csv(missing.string()); }, {missing.string() + ":2", "column 2", "empty"});
    check_error([&] { data::read_csv(text.string()); }, {text.string() + ":3", "column 2", "not a number", "n/a"});
    check_error([&] { data::read_csv(ragged.string()); }, {ragged.string() + ":2", "3 fields"});
    check_error([&] { data::read_csv(empty.string()); }, {empty.string(), "empty"});
}

BOOST_AUTO_TEST_CASE(csv_reader_reads_quoted_fields_a_byte_order_mark_and_subnormals) {
    const fs::path quoted = scratch("quoted.csv");
    std::ofstream(quoted, std::ios::binary) << "\xEF\xBB\xBF\"dose, mg\",\"say \"\"hi\"\"\", plain \r\n"
                                            << "\"1\", 2 ,3\r\n"
                                            << "1e-310,-0.5,\"4e2\"\r\n";
    const data::CsvTable table = data::read_csv_table(quoted.string(), {.header = true});
    BOOST_TEST((table.columns == std::vector<std::string>{"dose, mg", "say \"hi\"", "plain"}));
    const std::vector<double> values = table.values.to_vector<double>();
    BOOST_TEST((values == std::vector<double>{1, 2, 3, 1e-310, -0.5, 400}));
    // Without a header, the mark does not make the first number unreadable.
    const fs::path marked = scratch("marked.csv");
    std::ofstream(marked, std::ios::binary) << "\xEF\xBB\xBF"
                                            << "1,2\n";
    check_values(data::read_csv(marked.string()), {1, 2});

    const fs::path nul = scratch("nul.csv"), hex = scratch("hex.csv"), huge = scratch("huge.csv"),
                   open_quote = scratch("open_quote.csv"), after_quote = scratch("after_quote.csv");
    std::ofstream(nul, std::ios::binary) << std::string("1\0xyz,2\n", 8);
    std::ofstream(hex) << "0x10,2\n";
    std::ofstream(huge) << "1,1e999\n";
    std::ofstream(open_quote) << "1,\"2\n";
    std::ofstream(after_quote) << "\"1\"x,2\n";
    check_error([&] { data::read_csv(nul.string()); }, {nul.string() + ":1", "column 1", "not a number"});
    check_error([&] { data::read_csv(hex.string()); }, {hex.string() + ":1", "column 1", "0x10"});
    check_error([&] { data::read_csv(huge.string()); }, {huge.string() + ":1", "column 2", "1e999"});
    check_error([&] { data::read_csv(open_quote.string()); }, {open_quote.string() + ":1", "not closed"});
    check_error([&] { data::read_csv(after_quote.string()); },
                {after_quote.string() + ":1", "after the closing quote"});
}

BOOST_AUTO_TEST_CASE(breast_cancer_table_shows_why_inputs_are_scaled) {
    const data::TabularSet bc = data::load_breast_cancer();
    BOOST_TEST((bc.features.sizes() == Shape{569, 30}));
    BOOST_TEST(bc.labels.sum().item() == 357.0);  // benign
    check_values(bc.features[0].narrow(0, 0, 3), {17.99, 10.38, 122.8}, 1e-6);
    // Feature scales differ by six orders of magnitude: worst area vs a fractal-dimension error.
    const double largest = bc.features.max().item();
    BOOST_TEST(std::abs(largest - 4254.0) < 1e-3);
    data::StandardScaler scaler;
    const Tensor z = scaler.fit_transform(bc.features);
    BOOST_TEST(z.mean({0}).abs().max().item() < 1e-5);
    BOOST_TEST(std::abs(z.std({0}, false).mean().item() - 1.0) < 1e-5);
}

BOOST_AUTO_TEST_CASE(distributed_sampler_shards_are_disjoint_cover_the_set_and_change_per_epoch) {
    Generator unused(1);
    for (int replicas : {1, 3, 4}) {
        for (bool drop_last : {false, true}) {
            // 10 examples over `replicas` ranks, as each rank would build its sampler.
            std::vector<std::vector<int64_t>> shards;
            for (int r = 0; r < replicas; ++r) {
                data::DistributedSampler s(10,
                                           {.num_replicas = replicas, .rank = r, .seed = 5, .drop_last = drop_last});
                s.set_epoch(2);
                shards.push_back(s.epoch(unused));
                BOOST_TEST(s.size() == static_cast<int64_t>(shards.back().size()));
            }
            const std::size_t each = drop_last ? 10 / replicas : (10 + replicas - 1) / replicas;
            std::vector<int> count(10, 0);
            for (const auto& shard : shards) {
                BOOST_TEST(shard.size() == each);  // every rank takes the same number of steps
                for (int64_t i : shard) count[static_cast<std::size_t>(i)] += 1;
            }
            int covered = 0, repeated = 0;
            for (int c : count) {
                covered += c > 0;
                repeated += c > 1;
            }
            // Padding repeats just enough indices; dropping loses just the remainder.
            BOOST_TEST(covered == (drop_last ? static_cast<int>(each) * replicas : 10));
            BOOST_TEST(repeated == (drop_last ? 0 : static_cast<int>(each) * replicas - 10));
        }
    }
    // The order follows seed + epoch, never the loader's generator; without shuffle it is 0..n-1.
    data::DistributedSampler s(6, {.num_replicas = 2, .rank = 0, .seed = 5});
    Generator g1(1), g2(2);
    const auto first = s.epoch(g1);
    BOOST_TEST((s.epoch(g2) == first));
    s.set_epoch(1);
    BOOST_TEST((s.epoch(g1) != first));
    data::DistributedSampler plain(5, {.num_replicas = 2, .rank = 1, .shuffle = false});
    BOOST_TEST((plain.epoch(g1) == std::vector<int64_t>{1, 3, 0}));  // 0 1 2 3 4 + padding 0
    BOOST_CHECK_EXCEPTION(data::DistributedSampler(5, {.num_replicas = 2, .rank = 2}), Error, [](const Error& e) {
        return std::string(e.what()) == "DistributedSampler: rank 2 is not in [0, 2)";
    });
    // Outside an MPI job the defaults are a world of one: the whole set.
    BOOST_TEST(data::DistributedSampler(4, {.shuffle = false}).epoch(g1).size() == 4u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(data_text)

BOOST_AUTO_TEST_CASE(tokenizer_lowercases_splits_and_classes_numbers) {
    BOOST_TEST((data::tokenize("The SHEE20 cells ( GHS-R ) grew 3.5-fold, in 12 days.") ==
                std::vector<std::string>{"the", "shee20", "cells", "ghs", "r", "grew", "<num>", "fold", "in", "<num>",
                                         "days"}));
    BOOST_TEST((data::tokenize("  ") == std::vector<std::string>{}));
    BOOST_TEST((data::tokenize("IL-1β") == std::vector<std::string>{"il", "1β"}));  // non-ASCII stays in the token
}

BOOST_AUTO_TEST_CASE(vocabulary_and_encoding_round_trip) {
    const std::vector<std::vector<std::string>> texts = {{"tumor", "cells", "grow"}, {"tumor", "cells"}, {"rare"}};
    const data::Vocabulary vocab = data::Vocabulary::build(texts, {.min_freq = 2});
    BOOST_TEST((vocab.tokens() == std::vector<std::string>{"<pad>", "<unk>", "cells", "tumor"}));
    BOOST_TEST(vocab.index("grow") == data::Vocabulary::kUnk);
    const data::Encoded e = data::encode(texts, vocab, 2);
    BOOST_TEST((e.indices.to_vector<int64_t>() == std::vector<int64_t>{3, 2, 3, 2, 1, 0}));
    BOOST_TEST((e.lengths.to_vector<int64_t>() == std::vector<int64_t>{2, 2, 1}));
    BOOST_TEST((data::decode(e.indices[1], vocab) == std::vector<std::string>{"tumor", "cells"}));
    const data::Vocabulary capped = data::Vocabulary::build(texts, {.max_size = 1});
    BOOST_TEST(capped.size() == 3);
    check_error([&] { vocab.token(9); }, {"Vocabulary", "index 9"});
    check_error([&] { data::Vocabulary::build(texts, {.max_size = -5}); }, {"Vocabulary", "max_size", "-5"});
    check_error([&] { data::decode(e.indices, vocab); }, {"decode", "[3, 2]", "each row"});
}

BOOST_AUTO_TEST_CASE(hallmarks_of_cancer_corpus) {
    const auto train = data::read_hoc(data::datasets_dir() + "/hoc/train.tsv");
    BOOST_TEST(train.size() == 12234u);
    const auto abstracts = data::hoc_abstracts(train);
    BOOST_TEST(abstracts.size() == 1294u);
    int64_t labelled = 0;
    for (const auto& s : train) labelled += std::any_of(s.labels.begin(), s.labels.end(), [](bool b) { return b; });
    BOOST_TEST(labelled == 3091);
    std::vector<std::array<bool, 10>> labels;
    for (const auto& a : abstracts) labels.push_back(a.labels);
    const Tensor targets = data::hoc_targets(labels);
    BOOST_TEST((targets.sizes() == Shape{1294, 10}));
    const fs::path bad = scratch("bad.tsv");
    std::ofstream(bad) << "123\t0\tnone\tok sentence\n124\tx\tnone\tbad index\n";
    check_error([&] { data::read_hoc(bad.string()); }, {bad.string() + ":2", "sentence index"});
    const fs::path unknown = scratch("unknown.tsv");
    std::ofstream(unknown) << "123\t0\tcell_growth\tunknown label\n";
    check_error([&] { data::read_hoc(unknown.string()); }, {unknown.string() + ":1", "cell_growth"});
    // A file saved with CRLF endings reads as the same sentences; a NUL byte in a number is refused.
    const fs::path crlf = scratch("crlf.tsv"), nul = scratch("nul.tsv");
    std::ofstream(crlf, std::ios::binary) << "123\t0\tangiogenesis\tvessels grow\r\n\r\n123\t1\tnone\tend\r\n";
    const auto read = data::read_hoc(crlf.string());
    BOOST_TEST(read.size() == 2u);
    BOOST_TEST(read[0].text == "vessels grow");
    BOOST_TEST(read[1].text == "end");
    BOOST_TEST(read[0].labels[4]);
    std::ofstream(nul, std::ios::binary) << std::string("123\t5\0junk\tnone\ttext\n", 21);
    check_error([&] { data::read_hoc(nul.string()); }, {nul.string() + ":1", "sentence index"});
}

BOOST_AUTO_TEST_CASE(word_vectors_in_glove_and_word2vec_formats) {
    const data::Vocabulary vocab({"<pad>", "<unk>", "cancer", "cell", "tumor", "growth"});
    auto row = [](const data::WordVectors& v, int64_t index) { return v.weights[index]; };

    // GloVe: no header. "Cell" would serve "cell" through the lower-cased fallback, but the exact
    // "cell" that follows replaces it; the second "cancer" is ignored (first wins), <pad> stays zero.
    const fs::path glove = scratch("glove.txt");
    std::ofstream(glove)
        << "cancer 0.1 0.2 0.3\nthe 1 1 1\nCell 0.4 0.5 0.6\n\ncell 0.7 0.8 0.9\ncancer 9 9 9\n<pad> 5 5 5\n";
    const data::WordVectors g = data::read_word_vectors(
        glove.string(), vocab, {.init_missing = [](const Tensor& rows) { nn::init::constant_(rows, 0.5); }});
    BOOST_TEST((g.weights.sizes() == Shape{6, 3}));
    BOOST_TEST(g.weights.dtype() == kFloat32);
    BOOST_TEST(g.dim() == 3);
    BOOST_TEST(g.vectors_in_file == 6);
    BOOST_TEST(g.hits == 2);
    BOOST_TEST(g.lowercase_hits == 0);
    BOOST_TEST((g.missing == std::vector<std::string>{"<unk>", "tumor", "growth"}));
    BOOST_TEST(g.misses() == 3);
    check_values(row(g, 0), {0, 0, 0});
    check_values(row(g, 2), {0.1, 0.2, 0.3}, 1e-7);
    check_values(row(g, 3), {0.7, 0.8, 0.9}, 1e-7);
    for (int64_t missing : {1, 4, 5}) check_values(row(g, missing), {0.5, 0.5, 0.5});

    // word2vec text: a "count dim" header, a trailing space on every line and CRLF line ends.
    const fs::path w2v = scratch("w2v.txt");
    std::ofstream(w2v) << "4 3\r\nTumor 1 2 3 \r\ngrowth -1 -2e-1 3.5 \r\n</s> 0 0 0 \r\ncancer 0.5 0.5 0.5 \r\n";
    Generator gen(7);
    const data::WordVectors w = data::read_word_vectors(w2v.string(), vocab, {.generator = &gen});
    BOOST_TEST(w.hits == 3);
    BOOST_TEST(w.lowercase_hits == 1);  // "Tumor" -> "tumor"
    BOOST_TEST((w.missing == std::vector<std::string>{"<unk>", "cell"}));
    check_values(row(w, 4), {1, 2, 3});
    check_values(row(w, 5), {-1, -0.2, 3.5}, 1e-7);
    // The default initializer: small normal values, reproducible from the generator.
    const std::vector<double> unk = row(w, 1).to_vector<double>();
    BOOST_TEST(std::any_of(unk.begin(), unk.end(), [](double v) { return v != 0; }));
    BOOST_TEST(
        std::all_of(unk.begin(), unk.end(), [](double v) { return std::abs(v) < 0.6; }));  // 6 standard deviations
    Generator same(7);
    const data::WordVectors again = data::read_word_vectors(w2v.string(), vocab, {.generator = &same});
    BOOST_TEST((again.weights.to_vector<float>() == w.weights.to_vector<float>()));

    // Without the fallback "Tumor" does not count.
    const data::WordVectors exact = data::read_word_vectors(w2v.string(), vocab, {.lowercase_fallback = false});
    BOOST_TEST(exact.hits == 2);
    BOOST_TEST((exact.missing == std::vector<std::string>{"<unk>", "cell", "tumor"}));
}

BOOST_AUTO_TEST_CASE(word_vectors_written_in_word2vec_format_read_back_bit_for_bit) {
    const data::Vocabulary vocab({"<pad>", "<unk>", "cancer", "µm", "p53"});
    Generator gen(3);
    // Values with long decimal expansions, tiny ones and negative zero: the shortest text of each
    // float must read back to the same bits.
    const Tensor weights = normal({5, 4}, 0.0, 1.0, kFloat32, &gen) * 1e-3;
    weights.narrow(0, 4, 1).copy_(tensor({1e-30, -0.0, 3.4e38, 0.1}, kFloat32).unsqueeze(0));
    const std::string path = scratch("written_vectors.txt").string();
    data::write_word_vectors(path, vocab, weights);
    std::ifstream in(path);
    std::string header, first;
    std::getline(in, header);
    std::getline(in, first);
    BOOST_TEST(header == "3 4");                 // every word but <pad> and <unk>
    BOOST_TEST(first.rfind("cancer ", 0) == 0);  // in vocabulary order
    const data::WordVectors back = data::read_word_vectors(path, vocab, {.lowercase_fallback = false});
    BOOST_TEST(back.hits == 3);
    BOOST_TEST((back.missing == std::vector<std::string>{"<unk>"}));
    const std::vector<float> wrote = weights.to_vector<float>(), read = back.weights.to_vector<float>();
    for (std::size_t i = 8; i < wrote.size(); ++i)  // rows 0 and 1 (<pad>, <unk>) are the reader's
        BOOST_TEST(std::memcmp(&wrote[i], &read[i], sizeof(float)) == 0, "element " << i);
    // float64 weights are written as the float32 values a reader gets.
    data::write_word_vectors(path, vocab, weights.to(kFloat64));
    BOOST_TEST((data::read_word_vectors(path, vocab).weights.narrow(0, 2, 3).to_vector<float>() ==
                weights.narrow(0, 2, 3).to_vector<float>()));
    // A diverged run is refused, naming the word.
    const Tensor diverged = weights.clone();
    diverged.narrow(0, 3, 1).fill_(std::nan(""));
    check_error([&] { data::write_word_vectors(path, vocab, diverged); }, {"write_word_vectors", "\"µm\"", "nan"});

    check_error(
        [&] {
            data::write_word_vectors(path, vocab, zeros({4, 3}));
        },
        {"write_word_vectors", path, "[5, dim]", "[4, 3]"});
    check_error(
        [&] {
            data::write_word_vectors(path, vocab, zeros({5, 3}, kInt64));
        },
        {"write_word_vectors", "float32 or float64", "int64"});
    check_error(
        [&] {
            data::write_word_vectors(path, data::Vocabulary({"<pad>", "<unk>", "two words"}), zeros({3, 3}));
        },
        {"write_word_vectors", "\"two words\"", "space"});
    const std::string unwritable = "/proc/xgrad-no-such-dir/vectors.txt";
    check_error([&] { data::write_word_vectors(unwritable, vocab, weights); }, {"cannot write", unwritable});
}

BOOST_AUTO_TEST_CASE(malformed_word_vector_files_name_the_line) {
    const data::Vocabulary vocab({"<pad>", "<unk>", "a"});
    auto file = [](const std::string& name, const std::string& text) {
        const fs::path path = scratch(name);
        std::ofstream(path) << text;
        return path.string();
    };
    const std::string missing = scratch("no_such_vectors.txt").string();
    check_error([&] { data::read_word_vectors(missing, vocab); }, {missing, "cannot open"});
    const std::string short_line = file("short.txt", "a 1 2 3\nb 1 2\n");
    check_error([&] { data::read_word_vectors(short_line, vocab); },
                {short_line + ":2", "\"b\" has 2 values, expected 3", "as on line 1"});
    const std::string long_line = file("long.txt", "2 3\na 1 2 3 4\n");
    check_error([&] { data::read_word_vectors(long_line, vocab); },
                {long_line + ":2", "has 4 values, expected 3", "header"});
    const std::string count = file("count.txt", "3 2\na 1 2\nb 1 2\n");
    check_error([&] { data::read_word_vectors(count, vocab); }, {count, "announces 3 vectors but the file has 2"});
    const std::string text = file("text.txt", "a 1 2 3\nb 1 x 3\n");
    check_error([&] { data::read_word_vectors(text, vocab); },
                {text + ":2", "value 2 of \"b\"", "not a finite number: \"x\""});
    const std::string nan = file("nan.txt", "a 1 nan 3\n");
    check_error([&] { data::read_word_vectors(nan, vocab); }, {nan + ":1", "\"nan\""});
    const std::string word_only = file("word_only.txt", "a\n");
    check_error([&] { data::read_word_vectors(word_only, vocab); },
                {word_only + ":1", "expected a word and its values"});
    const std::string good = file("good.txt", "a 1 2 3\n");
    check_error([&] { data::read_word_vectors(good, vocab, {.expected_dim = 4}); },
                {good + ":1", "dim 3", "dim 4 was expected"});
    const std::string empty = file("empty_vectors.txt", "\n\n");
    check_error([&] { data::read_word_vectors(empty, vocab); }, {empty, "no word vectors"});
    const std::string huge = file("huge.txt", "a 1 1e39 3\n");  // beyond float's range
    check_error([&] { data::read_word_vectors(huge, vocab); }, {huge + ":1", "\"1e39\""});
    // A byte-order mark before the first word, and values too small for a normal float (which
    // trained vectors hold): read, not refused.
    const std::string tiny = file("tiny.txt",
                                  "\xEF\xBB\xBF"
                                  "a 1e-40 -1e-50 3\n");
    const data::WordVectors v = data::read_word_vectors(tiny, vocab);
    BOOST_TEST(v.hits == 1);
    check_values(v.weights[2], {1e-40, 0, 3}, 1e-30);
}

BOOST_AUTO_TEST_CASE(word_vectors_start_a_frozen_embedding) {
    const data::Vocabulary vocab({"<pad>", "<unk>", "cancer", "cell"});
    const fs::path path = scratch("embedding_vectors.txt");
    std::ofstream(path) << "cell 1 2\ncancer 3 4\n";
    const data::WordVectors vectors = data::read_word_vectors(path.string(), vocab);
    auto embed = nn::Embedding::from_pretrained(vectors.weights, /*freeze=*/true, data::Vocabulary::kPad);
    BOOST_TEST(!embed->weight.requires_grad());
    BOOST_TEST((embed->weight.to_vector<float>() == vectors.weights.to_vector<float>()));
    // "cancer cell <pad>" -> the file's vectors and the zero padding row.
    const Tensor out = (*embed)(from_vector(std::vector<int64_t>{2, 3, 0}, {1, 3}));
    BOOST_TEST((out.sizes() == Shape{1, 3, 2}));
    check_values(out, {3, 4, 1, 2, 0, 0});
}

BOOST_AUTO_TEST_SUITE_END()
