// Regression tests for what the fuzzer, crafted files and a new user's build found (issue #17):
// each defect that was a crash, undefined behaviour or a wrong result is pinned here.
#include <algorithm>
#include <cmath>
#include <filesystem>
#include <fstream>
#include <limits>
#include <set>
#include <thread>

#include <unistd.h>
#include <zlib.h>

#include "helpers.hpp"
#include "zip_builder.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace fs = std::filesystem;

namespace {
void write_file(const fs::path& path, const std::string& bytes) {
    std::ofstream(path, std::ios::binary) << bytes;
}
constexpr int64_t kHuge = int64_t(1) << 62;
}  // namespace

BOOST_AUTO_TEST_SUITE(hardening)

BOOST_AUTO_TEST_CASE(element_counts_that_overflow_int64_are_refused) {
    check_error([] { randn({kHuge, 4}); }, {"randn", "[4611686018427387904, 4]", "more elements than an int64"});
    check_error([] { zeros({int64_t(1) << 32, int64_t(1) << 32}); }, {"zeros", "[4294967296, 4294967296]"});
    check_error([] { ones({1, 4}).expand({kHuge, 4}).contiguous(); }, {"expand", "[4611686018427387904, 4]"});
    check_error([] { zeros({kHuge, 4}).select(0, 1000000000).sum(); }, {"zeros", "more elements"});
    check_error([] { full({3, -2}, 1.0); }, {"full", "negative size", "[3, -2]"});
    check_error([] { empty({kHuge, 2}, kFloat64); }, {"empty", "[4611686018427387904, 2]"});
    check_error([] { arange(0, 1e300, 1); }, {"arange", "more than an int64"});
    check_error([] { eye(kHuge, 8); }, {"eye", "more elements"});
    check_error([] { from_vector(std::vector<float>{1, 2}, {kHuge, 4}); }, {"from_vector", "more elements"});
    // Counts that fit int64 but not memory: an error from the allocation, naming the op and shape.
    check_error([] { empty({int64_t(1) << 50}); }, {"empty", "[1125899906842624]"});
    // A zero anywhere does not let the other sizes overflow the strides.
    check_error([] { zeros({0, kHuge, 4}); }, {"zeros", "[0, 4611686018427387904, 4]"});
    check_error([] { zeros({kHuge, 4, 0}); }, {"zeros", "[4611686018427387904, 4, 0]"});
    check_error([] { zeros({0}).reshape({0, kHuge, 4}); }, {"reshape", "more elements"});
    check_error([] { zeros({0}).view({kHuge, 4, 0}); }, {"view", "more elements"});
    float value = 0;
    check_error([&] { from_blob(&value, {kHuge, 4}); }, {"from_blob", "more elements"});
    BOOST_TEST(zeros({0, int64_t(1) << 40}).numel() == 0);
}

BOOST_AUTO_TEST_CASE(pooling_a_zero_width_strided_view_is_an_error_not_a_read_past_the_buffer) {
    const Tensor x = randn({1, 2, 4, 6});
    const Tensor zero_width = x.slice(3, 0, 0, 2);  // [1, 2, 4, 0], strided
    BOOST_TEST(zero_width.size(3) == 0);
    check_error([&] { nn::functional::max_pool2d(zero_width, 2); }, {"max_pool2d", "larger than the padded input (0)"});
    check_error([&] { nn::functional::max_pool2d(zero_width.transpose(2, 3), 2); },
                {"max_pool2d", "larger than the padded input (0)"});
    check_error([&] { nn::functional::max_pool2d(zero_width, {1, 1}, {1, 2}); }, {"max_pool2d"});
    check_error([&] { nn::functional::avg_pool2d(zero_width, 2); }, {"avg_pool2d"});
}

BOOST_AUTO_TEST_CASE(adaptive_pooling_of_an_empty_batch_stays_in_the_graph) {
    const Tensor x = randn({0, 2, 5, 5}).requires_grad_(true);
    const Tensor y = nn::functional::adaptive_avg_pool2d(x, {3, 3});  // uneven windows
    BOOST_TEST(y.sizes() == Shape({0, 2, 3, 3}));
    BOOST_TEST(y.requires_grad());
    y.sum().backward();
    BOOST_TEST(x.grad().sizes() == x.sizes());
    check_error(
        [] {
            nn::functional::adaptive_max_pool2d(randn({1, 1, 5, 5}), {int64_t(1) << 40, int64_t(1) << 40});
        },
        {"adaptive_max_pool2d", "more elements"});
}

BOOST_AUTO_TEST_CASE(pow_follows_ieee_at_the_edges_in_every_layout) {
    const double inf = std::numeric_limits<double>::infinity(), nan = std::nan("");
    const std::vector<double> bases = {0, -0.0, 0, inf, nan, 1, 1, -1, -1, -inf, -inf, 0, 2, -2, 0.5, 3};
    const std::vector<double> exps = {0, 0, -1, 0, 0, inf, nan, inf, 1e30, 0.5, -0.5, -2, 10, 3, -1, 0.25};
    for (DType dtype : {kFloat32, kFloat64}) {
        // 16 lanes in a row go through the SIMD path; the same values as a strided view (every
        // other element of a doubled buffer) and one by one go through the scalar path.
        const Tensor b = from_vector(bases, {16}, dtype), e = from_vector(exps, {16}, dtype);
        const Tensor b_strided = stack({b, b}, 1).select(1, 0), e_strided = stack({e, e}, 1).select(1, 1);
        const auto simd = pow(b, e).to(kFloat64).to_vector<double>();
        const auto strided = pow(b_strided, e_strided).to(kFloat64).to_vector<double>();
        for (std::size_t i = 0; i < bases.size(); ++i) {
            const double expect =
                dtype == kFloat32
                    ? static_cast<double>(std::pow(static_cast<float>(bases[i]), static_cast<float>(exps[i])))
                    : std::pow(bases[i], exps[i]);
            const double single = pow(from_vector(std::vector<double>{bases[i]}, {1}, dtype),
                                      from_vector(std::vector<double>{exps[i]}, {1}, dtype))
                                      .to(kFloat64)
                                      .item<double>();
            for (double got : {simd[i], strided[i], single}) {
                const bool same = (std::isnan(expect) && std::isnan(got)) ||
                                  (got == expect && std::signbit(got) == std::signbit(expect)) ||
                                  std::abs(got - expect) <= 1e-6 * std::abs(expect);
                BOOST_TEST(same, "pow(" << bases[i] << ", " << exps[i] << ") in " << dtype << ": got " << got
                                        << ", IEEE gives " << expect);
            }
            BOOST_TEST((simd[i] == strided[i] || (std::isnan(simd[i]) && std::isnan(strided[i]))),
                       "pow(" << bases[i] << ", " << exps[i] << ") depends on the layout");
        }
    }
    // int64: exact and the same contiguous, strided and broadcast.
    const Tensor ib = from_vector(std::vector<int64_t>{2, -3, 0, 7, 1, -1, 5, 3}, {8});
    const Tensor ie = from_vector(std::vector<int64_t>{10, 3, 0, 2, 50, 7, 0, 39}, {8});
    const std::vector<int64_t> expect = {1024, -27, 1, 49, 1, -1, 1, 4052555153018976267};
    BOOST_TEST(pow(ib, ie).to_vector<int64_t>() == expect);
    BOOST_TEST(pow(stack({ib, ib}, 1).select(1, 1), stack({ie, ie}, 1).select(1, 0)).to_vector<int64_t>() == expect);
    BOOST_TEST(pow(ib.unsqueeze(0).expand({3, 8}), ie).select(0, 2).to_vector<int64_t>() == expect);
}

BOOST_AUTO_TEST_CASE(schedulers_reject_non_finite_and_out_of_range_options) {
    const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
    nn::Linear layer({.in_features = 2, .out_features = 2});
    optim::SGD sgd(layer.parameters(), {.lr = 0.1, .momentum = 0.9});
    check_error([&] { optim::StepLR(sgd, {.step_size = 2, .gamma = nan}); }, {"StepLR", "gamma", "nan"});
    check_error([&] { optim::MultiStepLR(sgd, {.milestones = {2, 4}, .gamma = inf}); }, {"MultiStepLR", "gamma"});
    check_error([&] { optim::MultiStepLR(sgd, {.milestones = {-1, 4}}); }, {"MultiStepLR", "non-negative"});
    check_error([&] { optim::ExponentialLR(sgd, {.gamma = -0.5}); }, {"ExponentialLR", "gamma"});
    check_error([&] { optim::CosineAnnealingLR(sgd, {.T_max = 10, .eta_min = nan}); },
                {"CosineAnnealingLR", "eta_min"});
    check_error([&] { optim::CosineAnnealingWarmRestarts(sgd, {.T_0 = 5, .eta_min = -1}); },
                {"CosineAnnealingWarmRestarts", "eta_min"});
    check_error([&] { optim::OneCycleLR(sgd, {.max_lr = inf, .total_steps = 10}); }, {"OneCycleLR", "max_lr"});
    check_error([&] { optim::OneCycleLR(sgd, {.max_lr = 1, .total_steps = 10, .div_factor = inf}); },
                {"OneCycleLR", "div_factor"});
    check_error([&] { optim::OneCycleLR(sgd, {.max_lr = 1, .total_steps = 10, .base_momentum = nan}); },
                {"OneCycleLR", "base_momentum"});
    check_error([&] { optim::ReduceLROnPlateau(sgd, {.threshold = nan}); }, {"ReduceLROnPlateau", "threshold"});
    check_error([&] { optim::ReduceLROnPlateau(sgd, {.patience = -1}); }, {"ReduceLROnPlateau", "patience"});
    check_error([&] { optim::ReduceLROnPlateau(sgd, {.min_lr = inf}); }, {"ReduceLROnPlateau", "min_lr"});
    check_error([&] { optim::ReduceLROnPlateau(sgd, {.eps = -1}); }, {"ReduceLROnPlateau", "eps"});
    // A saved ReduceLROnPlateau state goes through the same checks.
    optim::ReduceLROnPlateau plateau(sgd);
    auto state = plateau.state_dict();
    state["threshold"] = nan;
    check_error([&] { plateau.load_state_dict(state); }, {"load_state_dict", "ReduceLROnPlateau", "threshold"});
}

BOOST_AUTO_TEST_CASE(one_generator_shared_by_threads_gives_each_op_a_whole_run_of_the_stream) {
    // Each randn holds the generator for all its draws, so the blocks two threads draw are the
    // blocks one thread draws from the same seed, in some interleaving, never torn or repeated.
    constexpr int kBlocks = 200, kBlock = 257;
    Generator reference(42);
    std::vector<std::vector<float>> expected;
    for (int i = 0; i < 2 * kBlocks; ++i) expected.push_back(randn({kBlock}, {}, &reference).to_vector<float>());
    Generator shared(42);
    std::vector<std::vector<float>> drawn[2];
    auto draw = [&](int who) {
        for (int i = 0; i < kBlocks; ++i) drawn[who].push_back(randn({kBlock}, {}, &shared).to_vector<float>());
    };
    std::thread a(draw, 0), b(draw, 1);
    a.join();
    b.join();
    std::vector<std::vector<float>> all = drawn[0];
    all.insert(all.end(), drawn[1].begin(), drawn[1].end());
    std::sort(all.begin(), all.end());
    std::sort(expected.begin(), expected.end());
    BOOST_TEST((all == expected));
    // The default generator too (randn without one): no torn state, the next seed still replays.
    auto use_default = [] {
        for (int i = 0; i < 100; ++i) randn({64});
    };
    std::thread c(use_default), d(use_default);
    c.join();
    d.join();
    manual_seed(7);
    const auto first = randn({5}).to_vector<float>();
    manual_seed(7);
    BOOST_TEST(randn({5}).to_vector<float>() == first);
    // A copy continues from the same state.
    Generator g(3);
    g.next_normal();  // leaves a spare normal value, which the copy must carry
    Generator copy(g);
    BOOST_TEST(copy.next_normal() == g.next_normal());
    BOOST_TEST(copy.next_u64() == g.next_u64());
}

BOOST_AUTO_TEST_CASE(crafted_npy_headers_name_the_file_and_the_entry) {
    const fs::path path = scratch("crafted.npz");
    auto with_shape = [&](const std::string& shape, const std::string& payload = "") {
        write_file(path,
                   stored_zip({{"w.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': " + shape + ", }",
                                                  payload)}}));
    };
    const std::string where = path.string() + ": entry w";
    with_shape("(-4, -8)");
    check_error([&] { load_npz(path.string()); }, {where, "dimension 0", "\"-4\"", "non-negative integer"});
    with_shape("(4611686018427387912, 4)");
    check_error([&] { load_npz(path.string()); }, {where, "more elements than an int64"});
    with_shape("(99999999999999999999,)");
    check_error([&] { load_npz(path.string()); }, {where, "dimension 0", "99999999999999999999"});
    with_shape("(2, x)");
    check_error([&] { load_npz(path.string()); }, {where, "dimension 1", "\"x\""});
    with_shape("(2, 3");
    check_error([&] { load_npz(path.string()); }, {where, "'shape' is not a tuple"});
    with_shape("(2, 3)", std::string(7, '\0'));
    check_error([&] { load_npz(path.string()); }, {where, "needs 24 bytes", "found 7"});
    write_file(path, stored_zip({{"w.npy", npy_file("{'descr': <f4, 'shape': (2,), }", "")}}));
    check_error([&] { load_npz(path.string()); }, {where, "'descr' is not a quoted string"});
    with_shape("(2, 3)", std::string(24, '\0'));
    BOOST_TEST(load_npz(path.string()).at("w").sizes() == Shape({2, 3}));  // the well-formed one loads
}

BOOST_AUTO_TEST_CASE(directories_and_missing_files_are_named_as_such) {
    const fs::path dir = scratch("a_folder");
    fs::create_directories(dir);
    check_error([&] { load_npz(dir.string()); }, {dir.string(), "is a directory"});
    check_error([&] { data::read_csv(dir.string()); }, {dir.string(), "is a directory"});
    check_error([&] { data::read_idx(dir.string()); }, {dir.string(), "is a directory"});
    check_error([&] { data::read_hoc(dir.string()); }, {dir.string(), "is a directory"});
    check_error([&] { data::read_idx((dir / "none.idx").string()); }, {"none.idx", "no such file"});
}

BOOST_AUTO_TEST_CASE(idx_errors_give_the_byte_offset_or_item_and_check_the_kind) {
    auto idx = [](std::vector<uint32_t> dims, std::string payload) {
        std::string b = {0, 0, 8, static_cast<char>(dims.size())};
        for (uint32_t d : dims)
            for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>(d >> shift & 0xff);
        return b + payload;
    };
    const fs::path labels = scratch("labels.idx"), images = scratch("images.idx"), bad = scratch("bad.idx");
    write_file(labels, idx({4}, std::string("\x01\x0c\x02\x03", 4)));
    write_file(images, idx({2, 2, 2}, std::string(8, '\x07')));
    // The kind the caller expects.
    check_error([&] { data::read_idx(images.string(), {.dtype = kInt64, .expect = data::IdxKind::labels}); },
                {images.string(), "expected labels", "3 dimensions", "an image file?"});
    check_error([&] { data::read_idx(labels.string(), {.expect = data::IdxKind::images}); },
                {labels.string(), "expected images", "a label file?"});
    // A label outside the class count, with its item index.
    check_error(
        [&] { data::read_idx(labels.string(), {.dtype = kInt64, .expect = data::IdxKind::labels, .num_classes = 10}); },
        {labels.string(), "item 1", "label 12", "10 classes"});
    BOOST_TEST(data::read_idx(labels.string(), {.dtype = kInt64, .expect = data::IdxKind::labels, .num_classes = 13})
                   .to_vector<int64_t>() == std::vector<int64_t>({1, 12, 2, 3}));
    // Byte offsets and items.
    write_file(bad, std::string("\x00\x01\x08\x01", 4));
    check_error([&] { data::read_idx(bad.string()); }, {bad.string(), "byte 0", "bad magic"});
    write_file(bad, std::string("\x00\x00\x0d\x01", 4));
    check_error([&] { data::read_idx(bad.string()); }, {bad.string(), "byte 2", "element type 0xd"});
    write_file(bad, idx({3, 2, 2}, std::string(6, '\x01')));
    check_error([&] { data::read_idx(bad.string()); }, {bad.string(), "truncated at byte 22", "item 1 of 3"});
    write_file(bad, idx({2}, std::string(5, '\x01')));
    check_error([&] { data::read_idx(bad.string()); }, {bad.string(), "3 trailing bytes from byte 10"});
    write_file(bad, idx({0xffffffffu, 0xffffffffu, 0xffffffffu}, ""));
    check_error([&] { data::read_idx(bad.string()); }, {bad.string(), "more elements than an int64"});
    // A gzip file whose compressed data is corrupt: how far decompression got.
    const std::string gz = scratch("labels.idx.gz").string();
    {
        gzFile out = gzopen(gz.c_str(), "wb");
        const std::string content = idx({4096}, std::string(4096, '\x03'));
        gzwrite(out, content.data(), static_cast<unsigned>(content.size()));
        gzclose(out);
    }
    std::string bytes;
    {
        std::ifstream in(gz, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    bytes[bytes.size() - 6] = static_cast<char>(bytes[bytes.size() - 6] ^ 0xff);  // the CRC in the trailer
    write_file(gz, bytes);
    check_error([&] { data::read_idx(gz); }, {gz, "cannot decompress after byte"});
}

BOOST_AUTO_TEST_CASE(csv_headers_are_returned_and_an_empty_table_is_named_as_such) {
    const fs::path csv = scratch("table.csv");
    write_file(csv, "age,dose,response\n50,1.5,0\n61,2,1\n");
    const data::CsvTable table = data::read_csv_table(csv.string(), {.header = true});
    BOOST_TEST(table.columns == std::vector<std::string>({"age", "dose", "response"}));
    BOOST_TEST(table.values.sizes() == Shape({2, 3}));
    BOOST_TEST(table.values.to_vector<double>() == std::vector<double>({50, 1.5, 0, 61, 2, 1}));
    write_file(csv, "age,dose,response\n");
    check_error([&] { data::read_csv_table(csv.string(), {.header = true}); },
                {csv.string(), "header (line 1) is followed by no data rows"});
    write_file(csv, "age,dose\n1,2,3\n");
    check_error([&] { data::read_csv_table(csv.string(), {.header = true}); },
                {csv.string() + ":2", "3 fields", "the header has 2"});
    write_file(csv, "");
    check_error([&] { data::read_csv(csv.string()); }, {csv.string(), "the file is empty"});
}

BOOST_AUTO_TEST_CASE(hoc_rows_need_a_numeric_pubmed_id) {
    const fs::path tsv = scratch("hoc.tsv");
    write_file(tsv, "101\t0\tnone\tA sentence .\nPMID102\t0\tnone\tAnother .\n");
    check_error([&] { data::read_hoc(tsv.string()); }, {tsv.string() + ":2", "PubMed id \"PMID102\""});
    write_file(tsv, "101\t-1\tnone\tA sentence .\n");
    check_error([&] { data::read_hoc(tsv.string()); }, {tsv.string() + ":1", "sentence index \"-1\""});
}

BOOST_AUTO_TEST_CASE(split_and_chunk_name_themselves) {
    const Tensor x = randn({2, 3});
    check_error([&] { split(x, 1, 5); }, {"split", "dimension 5"});
    check_error([&] { chunk(x, 2, -3); }, {"chunk", "dimension -3"});
    check_error([&] { split(scalar_tensor(1.0), 1, 0); }, {"split", "0-d"});
    BOOST_TEST(chunk(x, std::numeric_limits<int64_t>::max(), 0).size() == 2u);  // no overflow in the rounding
}

// From a review of the public entry points (stop 41): each was a crash, a hang, undefined
// behaviour or a silently wrong result.
BOOST_AUTO_TEST_CASE(max_pooling_windows_that_cover_only_padding_are_an_error) {
    // Kernel 2, dilation 2, padding 1 on a 1 x 1 plane: the window at -1 steps over the input to
    // +1, so its maximum would be of nothing (the kernel read past the plane).
    check_error(
        [] {
            nn::F::max_pool2d(randn({1, 1, 1, 1}), 2, 1, 1, 2);
        },
        {"max_pool2d", "output row 0", "covers only padding", "[1, 1, 1, 1]"});
    check_error([] { nn::F::max_pool2d(randn({2, 3, 2, 2}), 2, 1, 1, 3); }, {"max_pool2d", "covers only padding"});
    check_error([] { nn::F::relu_max_pool2d(randn({1, 1, 1, 1}), 2, 1, 1, 2); }, {"max_pool2d", "covers only padding"});
    // The same kernel, dilation and padding where every window reaches the input.
    BOOST_TEST(nn::F::max_pool2d(randn({1, 1, 3, 3}), 2, 1, 1, 2).sizes() == Shape({1, 1, 3, 3}));
    // A dilation as large as int64 allows, with a kernel of one tap: every window is one element.
    const Tensor x = randn({1, 1, 4, 4});
    BOOST_TEST(equal(nn::F::max_pool2d(x, 1, 1, 0, std::numeric_limits<int64_t>::max()), x));
    // Sizes that would overflow the window's span are named, not wrapped.
    check_error(
        [] {
            nn::F::max_pool2d(randn({1, 1, 4, 4}), {kHuge, 2}, 1, 0, {kHuge, 1});
        },
        {"max_pool2d", "overflow int64"});
}

BOOST_AUTO_TEST_CASE(sizes_near_int64_max_are_named_not_wrapped) {
    // cat summed the sizes along the dim without a check: two views of 2^62 elements each (expanded
    // scalars, nothing allocated) made a negative total.
    const Tensor big = scalar_tensor(1.0).expand({kHuge});
    check_error([&] { cat({big, big}, 0); }, {"cat", "add up to more than an int64 holds", "tensor 1"});
    // ceil_mode rounded the window count up as room + stride - 1: with a stride near INT64_MAX
    // that overflowed. Now the one window that starts inside the input is kept.
    const Tensor x = randn({1, 1, 4, 4});
    const int64_t far = std::numeric_limits<int64_t>::max();
    const Tensor pooled = nn::F::max_pool2d(x, 2, far, 0, 1, true);
    BOOST_TEST(pooled.sizes() == Shape({1, 1, 1, 1}));
    BOOST_TEST(pooled.item() == x.narrow(2, 0, 2).narrow(3, 0, 2).max().item());
    BOOST_TEST(nn::F::avg_pool2d(x, 2, far, 0, true).sizes() == Shape({1, 1, 1, 1}));
    // No shape can hold a plane whose height times width overflows, even with a batch of 0 (the
    // element count leaves out zero sizes), so max_pool2d's h * w needs no check of its own.
    check_error(
        [] {
            zeros({0, 1, 1, 1}).expand({0, 1, int64_t(1) << 32, int64_t(1) << 32});
        },
        {"expand", "more elements than an int64 can count"});
}

BOOST_AUTO_TEST_CASE(cross_entropy_of_an_empty_batch_follows_pytorch) {
    // The mean over no samples is 0 / 0, NaN, as in PyTorch; the sum is 0; 'none' is empty.
    const Tensor logits = zeros({0, 5}, TensorOptions(kFloat32).requires_grad(true)), target = zeros({0}, kInt64);
    BOOST_TEST(std::isnan(nn::F::cross_entropy(logits, target).item()));
    BOOST_TEST(nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::sum}).item() == 0.0);
    BOOST_TEST(nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::none}).sizes() == Shape({0}));
    // Its backward leaves an empty gradient, not a crash.
    nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::sum}).backward();
    BOOST_TEST(logits.grad().sizes() == Shape({0, 5}));
}

BOOST_AUTO_TEST_CASE(a_zip_entry_whose_local_header_lies_past_the_file_is_corrupt) {
    std::string bytes = stored_zip(
        {{"w.npy", npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (1,), }", std::string(4, '\0'))}});
    // The central directory's record of where the entry's local header is (offset 42), made to
    // point 16 bytes before 4 GiB: offset + 30 wrapped round in uint32 and passed the bounds check.
    const std::size_t entry = bytes.find("PK\x01\x02");
    for (int i = 0; i < 4; ++i) bytes[entry + 42 + i] = static_cast<char>(0xFFFFFFF0u >> (8 * i) & 0xff);
    const fs::path path = scratch("far_local_header.npz");
    write_file(path, bytes);
    check_error([&] { load_npz(path.string()); }, {path.string(), "entry w.npy", "corrupt local header"});
}

BOOST_AUTO_TEST_CASE(degenerate_ranges_and_shapes_are_errors_not_hangs_or_crashes) {
    // batch_norm with no channels divided by zero (SIGFPE).
    check_error(
        [] {
            nn::F::batch_norm(zeros({4, 0}), {}, {}, {}, {}, true);
        },
        {"batch_norm", "at least one channel", "[4, 0]"});
    // uniform redrew forever when no float32 value lay below high.
    const Tensor one_value = uniform({3}, 1e8, 1e8 + 1);  // float32 spacing there is 8
    BOOST_TEST((one_value.to_vector<double>() == std::vector<double>(3, 1e8)));
    // A range that holds no float32 at all: 1 + 2^-24 rounds down to 1, and 1 + 2^-23 is high.
    const std::vector<float> none_inside =
        uniform({64}, 1 + std::ldexp(1.0, -24), 1 + std::ldexp(1.0, -23)).to_vector<float>();
    for (float v : none_inside) BOOST_TEST(v == 1.0f);  // the float32 just below high
    check_error([] { uniform({3}, 0, std::numeric_limits<double>::infinity()); }, {"uniform", "finite range"});
    check_error([] { uniform({3}, -1e308, 1e308); }, {"uniform", "finite range"});
    check_error([] { uniform({3}, -1e39, 0); }, {"uniform", "[-1e+39, 0)", "does not fit float32"});
    BOOST_TEST(uniform({3}, -1e39, 0, kFloat64).max().item() < 0);  // float64 holds it
    // arange into int64 must hold every value (a cast beyond int64 is undefined).
    check_error([] { arange(9.3e18, 9.4e18, 1e17); }, {"arange", "does not fit int64"});
    // Recurrent layers on a sequence of no steps named another op.
    nn::LSTM lstm({.input_size = 2, .hidden_size = 3});
    check_error([&] { lstm(zeros({0, 4, 2})); }, {"LSTM", "at least one step", "[0, 4, 2]"});
    // Softmax and logsumexp of an empty batch: empty results, as in PyTorch (a max over an empty
    // dim stays an error).
    BOOST_TEST(softmax(zeros({0, 5}), 1).sizes() == Shape({0, 5}));
    BOOST_TEST(log_softmax(zeros({0, 5}), 1).sizes() == Shape({0, 5}));
    BOOST_TEST(logsumexp(zeros({0, 5}), 1).sizes() == Shape({0}));
    check_error([] { amax(zeros({0, 5}), 0); }, {"amax", "empty dim", "[0, 5]"});
}

BOOST_AUTO_TEST_CASE(in_place_writes_that_would_share_or_round_are_refused) {
    // Into a broadcast view, add_ added each value to one memory location three times.
    const Tensor base = zeros({1, 4});
    check_error([&] { base.expand({3, 4}).add_(ones({3, 4})); }, {"add_", "broadcast view", "[3, 4]", "[0, 1]"});
    check_error([&] { base.expand({3, 4}).fill_(1.0); }, {"fill_", "broadcast view"});
    check_error([&] { base.expand({3, 4}).copy_(ones({3, 4})); }, {"copy_", "broadcast view"});
    BOOST_TEST((base.to_vector<double>() == std::vector<double>(4, 0.0)));
    check_error([&] { base.expand({3, 4}).zero_(); }, {"zero_", "broadcast view"});
    zeros({0, 4}).expand({0, 4}).unsqueeze(0).expand({3, 0, 4}).zero_();  // nothing to share: empty
    base.expand({1, 4}).add_(ones({1, 4}));                               // a size-1 dim shares nothing
    BOOST_TEST((base.to_vector<double>() == std::vector<double>(4, 1.0)));
    // A float result into an integer tensor was truncated: arange(5).mul_(0.5) gave zeros.
    const Tensor counts = arange(5);
    check_error([&] { counts.mul_(0.5); }, {"mul_", "int64 and float32 is float32", "without rounding"});
    check_error([&] { counts.add_(ones({5})); }, {"add_", "int64"});
    check_error([&] { (counts > 2.0).add_(counts); }, {"add_", "bool"});
    BOOST_TEST((counts.to_vector<int64_t>() == std::vector<int64_t>{0, 1, 2, 3, 4}));
    check_error([&] { counts.clamp_(0.5, 3); }, {"clamp_", "0.5", "int64", "without rounding"});
    counts.clamp_(1, 3);
    BOOST_TEST((counts.to_vector<int64_t>() == std::vector<int64_t>{1, 1, 2, 3, 3}));
    counts.copy_(arange(5));
    counts.mul_(2.0);  // a whole number stays an integer
    BOOST_TEST((counts.to_vector<int64_t>() == std::vector<int64_t>{0, 2, 4, 6, 8}));
}

BOOST_AUTO_TEST_CASE(gradients_kept_under_create_graph_are_tensors_of_their_own) {
    // add's backward hands both inputs the same gradient: each leaf keeps its own copy, so that
    // an in-place write to one (clipping goes parameter by parameter) leaves the other alone.
    const Tensor a = full({3}, 1.0, TensorOptions(kFloat64).requires_grad(true));
    const Tensor b = full({3}, 2.0, TensorOptions(kFloat64).requires_grad(true));
    (a + b).sum().backward({}, false, true);
    BOOST_TEST(a.grad().data().raw_data() != b.grad().data().raw_data());
    a.grad().mul_(3.0);
    check_values(a.grad(), {3, 3, 3});
    check_values(b.grad(), {1, 1, 1});
    // A retained gradient of a non-leaf, likewise: sum's backward gives it a broadcast view.
    const Tensor y = a * 2.0;
    y.retain_grad();
    y.sum().backward({}, false, true);
    y.grad().zero_();
    check_values(y.grad(), {0, 0, 0});
}

BOOST_AUTO_TEST_CASE(a_gradient_that_arrives_broadcast_is_stored_as_a_tensor_of_its_own) {
    // Under create_graph, sum's backward hands the leaf an expanded view; grad() is then written
    // in place by zero_grad, clipping and a later accumulation, which a shared element refuses.
    const Tensor w = ones({2, 3}, TensorOptions(kFloat64).requires_grad(true));
    w.sum().backward({}, false, true);
    BOOST_TEST(!w.grad().data().has_shared_elements());
    optim::SGD sgd({w}, {.lr = 0.1});
    BOOST_TEST(optim::clip_grad_norm_({w}, 1.0) == std::sqrt(6.0), boost::test_tools::tolerance(1e-12));
    check_values(w.grad(), std::vector<double>(6, 1 / std::sqrt(6.0)), 1e-6);  // max_norm / (norm + 1e-6)
    w.sum().backward();  // accumulates into grad() in place: each element once
    check_values(w.grad(), std::vector<double>(6, 1 + 1 / std::sqrt(6.0)), 1e-6);
    sgd.zero_grad(false);
    check_values(w.grad(), std::vector<double>(6, 0.0));
}

BOOST_AUTO_TEST_CASE(int64_sums_and_scans_wrap_like_int64_addition) {
    const int64_t top = std::numeric_limits<int64_t>::max(), bottom = std::numeric_limits<int64_t>::min();
    const Tensor x = from_vector(std::vector<int64_t>{top, 1}, {2});
    BOOST_TEST(x.sum().item<int64_t>() == bottom);  // as x[0] + x[1] gives
    BOOST_TEST((add(x.narrow(0, 0, 1), x.narrow(0, 1, 1)).item<int64_t>() == bottom));
    BOOST_TEST((x.cumsum(0).to_vector<int64_t>() == std::vector<int64_t>{top, bottom}));
    const Tensor y = from_vector(std::vector<int64_t>{int64_t(1) << 62, 4}, {2});
    BOOST_TEST((y.cumprod(0).to_vector<int64_t>() == std::vector<int64_t>{int64_t(1) << 62, 0}));
}

BOOST_AUTO_TEST_CASE(random_integers_and_classes_stay_exact_at_the_int64_edges) {
    const int64_t top = std::numeric_limits<int64_t>::max(), bottom = std::numeric_limits<int64_t>::min();
    Generator gen(5);
    // high - low overflowed for ranges wider than INT64_MAX; values near it went through a double.
    const std::vector<int64_t> wide = randint(bottom, top, {2000}, kInt64, &gen).to_vector<int64_t>();
    BOOST_TEST(*std::min_element(wide.begin(), wide.end()) < 0);
    BOOST_TEST(*std::max_element(wide.begin(), wide.end()) > 0);
    const std::vector<int64_t> near_top = randint(top - 10, top, {200}, kInt64, &gen).to_vector<int64_t>();
    BOOST_TEST((*std::min_element(near_top.begin(), near_top.end()) >= top - 10));
    BOOST_TEST(*std::max_element(near_top.begin(), near_top.end()) < top);
    BOOST_TEST(std::set<int64_t>(near_top.begin(), near_top.end()).size() == 10u);  // every value, none rounded
    // Negative class values wrapped round (-1 became the last class).
    check_error(
        [] {
            one_hot(from_vector(std::vector<int64_t>{0, -1}, {2}), 3);
        },
        {"one_hot", "index -1", "position 1", "[0, 3)"});
    check_error([] { one_hot(from_vector(std::vector<int64_t>{-2}, {1})); }, {"one_hot", "largest class value -2"});
    check_error([&] { one_hot(from_vector(std::vector<int64_t>{top}, {1})); }, {"one_hot", "largest class value"});
    BOOST_TEST((one_hot(from_vector(std::vector<int64_t>{2, 0}, {2})).to_vector<int64_t>() ==
                std::vector<int64_t>{0, 0, 1, 1, 0, 0}));
}

BOOST_AUTO_TEST_CASE(learning_rates_are_checked_wherever_they_are_set) {
    Tensor w = zeros({2}, TensorOptions(kFloat32).requires_grad(true));
    optim::SGD sgd({w}, {.lr = 0.1});
    check_error([&] { sgd.set_lr(0, std::nan("")); }, {"SGD", "lr", "nan"});
    check_error([&] { sgd.set_lr(0, -1); }, {"SGD", "learning rate", "-1"});
    BOOST_TEST(sgd.lr(0) == 0.1);  // left as it was
    optim::StepLR schedule(sgd, {.step_size = 2});
    optim::SchedulerState state = schedule.state_dict();
    state["last_lrs.0"] = std::nan("");
    check_error([&] { schedule.load_state_dict(state); }, {"load_state_dict", "last_lrs.0", "nan"});
    state["last_lrs.0"] = 0.1;
    state["base_lrs.0"] = -2;
    check_error([&] { schedule.load_state_dict(state); }, {"load_state_dict", "base_lrs.0", "-2"});
    BOOST_TEST(sgd.lr(0) == 0.1);
}

BOOST_AUTO_TEST_CASE(breast_cancer_labels_are_checked_before_they_become_integers) {
    const fs::path path = scratch("labels.csv");
    write_file(path, "2,2,benign,malignant\n1.0,2.0,0\n3.0,4.0,0.7\n");
    check_error([&] { data::load_breast_cancer(path.string()); }, {path.string(), "data row 2", "0 or 1", "0.7"});
    write_file(path, "2,2,benign,malignant\n1.0,2.0,nan\n3.0,4.0,1\n");
    check_error([&] { data::load_breast_cancer(path.string()); }, {path.string(), "data row 1", "nan"});
    write_file(path, "2,2,benign,malignant\n1.0,2.0,0\n3.0,4.0,1\n");
    BOOST_TEST((data::load_breast_cancer(path.string()).labels.to_vector<int64_t>() == std::vector<int64_t>{0, 1}));
}

BOOST_AUTO_TEST_CASE(a_batch_size_near_int64_max_gives_one_batch) {
    const data::TensorDataset ds(arange(10, kFloat32).view({10, 1}), arange(10));
    data::DataLoader loader(ds, {.batch_size = std::numeric_limits<int64_t>::max()});
    BOOST_TEST(loader.size() == 1);
    int64_t batches = 0;
    for (const data::Batch& batch : loader) {
        BOOST_TEST(batch.data.size(0) == 10);
        ++batches;
    }
    BOOST_TEST(batches == 1);
}

BOOST_AUTO_TEST_SUITE_END()
