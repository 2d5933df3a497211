// Saving and loading: .npz round trips, NumPy compatibility, atomic writes, and the errors for
// corrupt, truncated and mismatched files (which leave the model untouched), and a state_dict
// saved from PyTorch loading by name.
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace fs = std::filesystem;

namespace {
struct Mlp : nn::Module {
    nn::Linear fc1{{.in_features = 5, .out_features = 4}};
    nn::BatchNorm1d bn{{.num_features = 4}};
    nn::Linear fc2{{.in_features = 4, .out_features = 3}};
    Mlp() {
        register_module("fc1", fc1);
        register_module("bn", bn);
        register_module("fc2", fc2);
    }
    Tensor forward(const Tensor& x) override { return fc2(relu(bn(fc1(x)))); }
};

// The model of tests/data/make_torch_state_dict.py, layer for layer and name for name.
struct TorchNet : nn::Module {
    nn::Conv2d conv{{.in_channels = 2, .out_channels = 3, .kernel_size = 3, .padding = 1}};
    nn::BatchNorm2d bn{{.num_features = 3}};
    nn::Linear fc{{.in_features = 3 * 4 * 4, .out_features = 5}};
    nn::Embedding embed{{.num_embeddings = 10, .embedding_dim = 4, .padding_idx = 0}};
    nn::LSTM lstm{{.input_size = 4, .hidden_size = 3, .num_layers = 2, .bidirectional = true}};
    nn::LayerNorm norm{{.normalized_shape = {6}}};
    nn::GRU gru{{.input_size = 6, .hidden_size = 2}};
    nn::Conv2d depthwise{
        {.in_channels = 2, .out_channels = 4, .kernel_size = {3, 2}, .padding = nn::kSame, .groups = 2}};
    nn::GroupNorm gn{{.num_groups = 2, .num_channels = 4}};
    nn::TransformerEncoder encoder{
        {.layer = {.d_model = 4, .nhead = 2, .dim_feedforward = 8, .activation = nn::TransformerActivation::gelu},
         .num_layers = 2,
         .final_norm = true}};
    nn::MultiheadAttention attention{{.embed_dim = 4, .num_heads = 2, .kdim = 3, .vdim = 5}};
    TorchNet() {
        register_module("conv", conv);
        register_module("bn", bn);
        register_module("fc", fc);
        register_module("embed", embed);
        register_module("lstm", lstm);
        register_module("norm", norm);
        register_module("gru", gru);
        register_module("depthwise", depthwise);
        register_module("gn", gn);
        register_module("encoder", encoder);
        register_module("attention", attention);
    }
    /// [N, 2, 4, 4] -> [N, 5]
    Tensor image(const Tensor& x) { return fc(relu(bn(conv(x))).reshape({x.size(0), -1})); }
    /// [T, N] tokens -> [T, N, 2]
    Tensor text(const Tensor& tokens) { return gru(norm(lstm(embed(tokens)))); }
    /// [N, 2, 4, 4] -> [N, 4, 2, 3]
    Tensor depthwise_image(const Tensor& x) {
        const Tensor h = gn(depthwise(x));
        const Tensor pooled = nn::F::avg_pool2d(h, 3, 2, 1, true, false);
        return nn::F::adaptive_avg_pool2d(h, {2, 3}) + nn::F::adaptive_max_pool2d(h, {2, 3}) + pooled.mean();
    }
    /// [T, N] tokens, key [S, N, 3], value [S, N, 5] -> [T, N, 4] and weights [N, T, S]
    std::tuple<Tensor, Tensor> encode(const Tensor& tokens, const Tensor& key, const Tensor& value) {
        const Tensor h = encoder(embed(tokens), {.src_key_padding_mask = (tokens == 0.0).t()});
        return attention(h, key, value);
    }
};
}  // namespace

BOOST_AUTO_TEST_SUITE(io)

BOOST_AUTO_TEST_CASE(npz_round_trips_every_dtype_and_layout) {
    const fs::path path = scratch("arrays.npz");
    std::map<std::string, NDArray> arrays = {
        {"f32", random_tensor({3, 4}, kFloat32, 1).data()},
        {"f64_transposed", random_tensor({3, 4}, kFloat64, 2).t().data()},
        {"i64", arange(7).data()},
        {"mask", (arange(5) > 2.0).data()},
        {"scalar", scalar_tensor(2.5, kFloat64).data()},
        {"empty", zeros({0, 3}).data()},
    };
    save_npz(path.string(), arrays);
    const auto loaded = load_npz(path.string());
    BOOST_TEST(loaded.size() == arrays.size());
    for (const auto& [name, a] : arrays) {
        BOOST_TEST_CONTEXT(name) {
            const NDArray& b = loaded.at(name);
            BOOST_TEST(b.dtype() == a.dtype());
            BOOST_TEST((b.sizes() == a.sizes()));
            BOOST_TEST(equal(Tensor(a), Tensor(b)));
        }
    }
}

BOOST_AUTO_TEST_CASE(tensors_save_and_load_as_in_libtorch) {
    const fs::path one = scratch("one_tensor.npz"), many = scratch("tensors.npz");
    const Tensor weights = random_tensor({3, 4}, kFloat64, 7).t();  // saved contiguous
    save(weights, one.string());
    Tensor back;
    load(back, one.string());
    BOOST_TEST((back.sizes() == Shape{4, 3}));
    BOOST_TEST(equal(back, weights));
    BOOST_TEST(!back.requires_grad());
    // Twelve, so that "10" and "11" sort before "2" in the file and still come back in order.
    std::vector<Tensor> tensors;
    for (int i = 0; i < 12; ++i) tensors.push_back(full({i % 3 + 1}, i, i % 2 ? kInt64 : kFloat32));
    tensors.push_back(arange(4) > 1.0);
    save(tensors, many.string());
    std::vector<Tensor> loaded{ones({1})};  // replaced, not appended to
    load(loaded, many.string());
    BOOST_TEST(loaded.size() == tensors.size());
    for (std::size_t i = 0; i < tensors.size(); ++i) {
        BOOST_TEST_CONTEXT("tensor " << i) {
            BOOST_TEST(loaded[i].dtype() == tensors[i].dtype());
            BOOST_TEST(equal(loaded[i], tensors[i]));
        }
    }
    save(std::vector<Tensor>{}, many.string());
    load(loaded, many.string());
    BOOST_TEST(loaded.empty());
    // Errors name the file and what is wrong with it.
    check_error([&] { load(back, many.string()); }, {"load", "tensors.npz", "holds 0 arrays"});
    save_npz(many.string(), {{"0", arange(2).data()}, {"1", arange(3).data()}});
    check_error([&] { load(back, many.string()); }, {"load", "holds 2 arrays", "std::vector<Tensor>"});
    for (const std::string bad : {"weight", "2", "01", "-1", "1x", "99999999999999999999"}) {
        BOOST_TEST_CONTEXT("entry " << bad) {
            save_npz(many.string(), {{"0", arange(2).data()}, {bad, arange(3).data()}});
            check_error([&] { load(loaded, many.string()); }, {"load", "tensors.npz", "\"" + bad + "\"", "position"});
        }
    }
    check_error([&] { save(Tensor(), one.string()); }, {"save", "one_tensor.npz", "undefined"});
    check_error([&] { load(back, scratch("missing.npz").string()); }, {"missing.npz"});
}

BOOST_AUTO_TEST_CASE(numpy_reads_what_xgrad_writes_and_the_reverse) {
    const fs::path path = scratch("for_numpy.npz"), from_numpy = scratch("from_numpy.npz");
    save_npz(path.string(), {{"w", tensor({{1.5, -2.0}, {3.0, 4.25}}).data()}, {"ids", arange(3).data()}});
    const std::string script = "import numpy as np; d = np.load('" + path.string() +
                               "'); "
                               "assert d['w'].dtype == np.float32 and d['w'].shape == (2, 2) and d['w'][1, 1] == 4.25; "
                               "assert d['ids'].dtype == np.int64 and list(d['ids']) == [0, 1, 2]; "
                               "np.savez_compressed('" +
                               from_numpy.string() + "', a=np.arange(6, dtype=np.float64).reshape(2, 3))";
    BOOST_TEST_REQUIRE(std::system(("/usr/bin/python3 -c \"" + script + "\"").c_str()) == 0);
    const auto loaded = load_npz(from_numpy.string());  // a deflated archive written by NumPy
    check_values(Tensor(loaded.at("a")), {0, 1, 2, 3, 4, 5});
}

BOOST_AUTO_TEST_CASE(model_and_checkpoint_round_trip) {
    manual_seed(3);
    Mlp a, b;
    optim::Adam opt(a.parameters(), {.lr = 0.01});
    Tensor x = randn({8, 5});
    a.train();
    for (int i = 0; i < 3; ++i) {
        opt.zero_grad();
        a(x).square().mean().backward();
        opt.step();
    }
    data::StandardScaler scaler;
    scaler.fit(randn({10, 5}));
    const fs::path model_path = scratch("model.npz"), ckpt_path = scratch("ckpt.npz");
    save(a, model_path.string());
    load(b, model_path.string());
    a.eval(), b.eval();
    BOOST_TEST(equal(a(x), b(x)));

    save_checkpoint(ckpt_path.string(), {.model = &a, .optimizer = &opt, .scaler = &scaler});
    Mlp c;
    optim::Adam opt_c(c.parameters(), {});
    data::StandardScaler scaler_c;
    load_checkpoint(ckpt_path.string(), {.model = &c, .optimizer = &opt_c, .scaler = &scaler_c});
    BOOST_TEST(opt_c.step_count(0, 0) == 3);
    BOOST_TEST(equal(scaler_c.mean(), scaler.mean()));
    // Training resumes to identical parameters.
    a.train(), c.train();
    for (auto [m, o] : {std::pair<Mlp*, optim::Adam*>{&a, &opt}, {&c, &opt_c}}) {
        o->zero_grad();
        (*m)(x).square().mean().backward();
        o->step();
    }
    BOOST_TEST(equal(a.fc1.weight, c.fc1.weight));
}

BOOST_AUTO_TEST_CASE(loads_a_pytorch_state_dict_by_name) {
    // numpy.savez(path, **{k: v.numpy() for k, v in net.state_dict().items()}) from PyTorch 1.13, and
    // that model's eval-mode outputs for fixed inputs (tests/data/make_torch_state_dict.py). Loading
    // is strict, so every name matches; equal outputs show each name fills the same role (gate
    // order, direction, running statistics, attention projections, grouped kernels). BatchNorm's
    // num_batches_tracked is an int64 scalar in both libraries, so it loads as it is.
    const std::string dir = XGRAD_TEST_DATA_DIR;
    TorchNet net;
    xgrad::load(net, dir + "/torch_state_dict.npz");
    BOOST_TEST(net.bn.num_batches_tracked.item<int64_t>() == 2);
    net.eval();
    const auto io = load_npz(dir + "/torch_reference_io.npz");
    NoGradGuard no_grad;
    const Tensor image = net.image(Tensor(io.at("image_input")));
    BOOST_TEST((image.sizes() == Shape{2, 5}));
    check_values(image, Tensor(io.at("image_output")).to_vector<double>(), 1e-5);
    const Tensor text = net.text(Tensor(io.at("text_input")));
    BOOST_TEST((text.sizes() == Shape{5, 2, 2}));
    check_values(text, Tensor(io.at("text_output")).to_vector<double>(), 1e-5);
    const Tensor depthwise = net.depthwise_image(Tensor(io.at("image_input")));
    BOOST_TEST((depthwise.sizes() == Shape{2, 4, 2, 3}));
    check_values(depthwise, Tensor(io.at("depthwise_output")).to_vector<double>(), 1e-5);
    auto [attended, weights] =
        net.encode(Tensor(io.at("text_input")), Tensor(io.at("key_input")), Tensor(io.at("value_input")));
    BOOST_TEST((attended.sizes() == Shape{5, 2, 4}));
    check_values(attended, Tensor(io.at("attention_output")).to_vector<double>(), 1e-5);
    check_values(weights, Tensor(io.at("attention_weights")).to_vector<double>(), 1e-5);
}

BOOST_AUTO_TEST_CASE(mismatched_files_name_the_entry_and_leave_the_model_untouched) {
    Mlp model;
    const std::vector<float> before = model.fc2.weight.to_vector<float>();
    const fs::path path = scratch("mismatch.npz");
    auto state = model.state_dict();
    std::map<std::string, NDArray> entries;
    for (auto& [name, t] : state) entries[name] = t.data();
    entries["fc2.weight"] = zeros({3, 4}).data();
    entries["fc1.weight"] = zeros({4, 6}).data();
    save_npz(path.string(), entries);
    check_error([&] { load(model, path.string()); }, {path.string(), "fc1.weight", "[4, 6]", "[4, 5]"});
    BOOST_TEST(model.fc2.weight.to_vector<float>() == before);  // nothing written

    entries["fc1.weight"] = zeros({4, 5}, kFloat64).data();
    save_npz(path.string(), entries);
    check_error([&] { load(model, path.string()); }, {path.string(), "fc1.weight", "float64"});
    entries.erase("fc1.weight");
    save_npz(path.string(), entries);
    check_error([&] { load(model, path.string()); }, {path.string(), "missing", "fc1.weight"});
    BOOST_TEST(model.fc2.weight.to_vector<float>() == before);
}

BOOST_AUTO_TEST_CASE(corrupt_and_truncated_files_are_reported) {
    Mlp model;
    const fs::path path = scratch("good.npz");
    save(model, path.string());
    std::string bytes;
    {
        std::ifstream in(path, std::ios::binary);
        bytes.assign(std::istreambuf_iterator<char>(in), {});
    }
    const fs::path truncated = scratch("truncated.npz"), corrupt = scratch("corrupt.npz"), empty = scratch("empty.npz");
    std::ofstream(truncated, std::ios::binary) << bytes.substr(0, bytes.size() / 2);
    std::string flipped = bytes;
    // A byte inside fc1.weight's data: after its .npy magic and 128-byte header.
    const std::size_t data_at = bytes.find("\x93NUMPY", bytes.find("fc1.weight.npy")) + 128 + 12;
    flipped[data_at] = static_cast<char>(flipped[data_at] ^ 0x5a);
    std::ofstream(corrupt, std::ios::binary) << flipped;
    std::ofstream(empty, std::ios::binary) << "";
    check_error([&] { load(model, truncated.string()); }, {truncated.string(), "truncated"});
    check_error([&] { load(model, corrupt.string()); }, {corrupt.string(), "entry", "CRC mismatch"});
    check_error([&] { load(model, empty.string()); }, {empty.string(), "empty"});
    check_error([&] { load(model, scratch("none.npz").string()); }, {"none.npz", "cannot open"});
}

BOOST_AUTO_TEST_CASE(writes_are_atomic) {
    Mlp model;
    const fs::path path = scratch("atomic.npz");
    save(model, path.string());
    const auto size_before = fs::file_size(path);
    // A save that cannot complete (its folder vanished) leaves no half-written target.
    check_error([&] { save(model, (scratch("missing_dir") / "x" / "model.npz").string()); },
                {"save_npz", "cannot write"});
    save(model, path.string());  // replacing an existing file goes through a temporary + rename
    BOOST_TEST(fs::file_size(path) == size_before);
    for (const auto& entry : fs::directory_iterator(path.parent_path()))
        BOOST_TEST(entry.path().string().find(".tmp.") == std::string::npos);
    Mlp reloaded;
    load(reloaded, path.string());
    BOOST_TEST(equal(reloaded.fc1.weight, model.fc1.weight));
}

BOOST_AUTO_TEST_CASE(a_dead_saves_temporary_is_removed_by_the_next_save) {
    Mlp model;
    const fs::path dir = scratch("stale");
    fs::create_directories(dir);
    const fs::path path = dir / "model.npz";
    // A process that has exited: its temporary is stale. Our parent is alive: its stays.
    const pid_t child = ::fork();
    if (child == 0) ::_exit(0);
    ::waitpid(child, nullptr, 0);
    const fs::path stale = dir / ("model.npz.tmp." + std::to_string(child));
    const fs::path alive = dir / ("model.npz.tmp." + std::to_string(::getppid()));
    const fs::path stale_numbered = dir / ("model.npz.tmp." + std::to_string(child) + ".3");
    const fs::path other = dir / "other.npz.tmp.1";  // another file's: not this save's business
    for (const fs::path& p : {stale, stale_numbered, alive, other}) std::ofstream(p) << "partial";
    save(model, path.string());
    BOOST_TEST(!fs::exists(stale));
    BOOST_TEST(!fs::exists(stale_numbered));
    BOOST_TEST(fs::exists(alive));
    BOOST_TEST(fs::exists(other));
    BOOST_TEST(fs::exists(path));
}

BOOST_AUTO_TEST_CASE(generator_state_continues_the_sequence) {
    Generator gen(5);
    gen.next_normal();  // leaves a spare normal value
    const Generator::State state = gen.get_state();
    std::vector<double> expected;
    for (int i = 0; i < 5; ++i) expected.push_back(gen.next_normal());
    Generator other(99);
    other.set_state(state);
    for (double e : expected) BOOST_TEST(other.next_normal() == e);
    check_error([&] { other.set_state(Generator::State{1, 0, 0, 0, 0, 0, 0}); }, {"set_state", "all zero"});
}

BOOST_AUTO_TEST_CASE(checkpoint_sections_load_together_or_not_at_all) {
    manual_seed(4);
    Mlp model;
    optim::SGD opt(model.parameters(), {.lr = 0.1, .momentum = 0.9});
    optim::StepLR schedule(opt, {.step_size = 2, .gamma = 0.5});
    optim::ReduceLROnPlateau plateau(opt, {.patience = 1});
    data::MinMaxScaler scaler;
    scaler.fit(randn({6, 5}));
    training::EarlyStopping stopper({.patience = 2});
    Generator loader_gen(8);
    std::map<std::string, double> counters{{"epoch", 3}, {"step", 120}};
    const Tensor x = randn({8, 5});
    opt.zero_grad();
    model(x).square().mean().backward();
    opt.step();
    schedule.step();
    plateau.step(1.0);
    stopper.step(0.7);
    loader_gen.next_u64();
    const fs::path path = scratch("full_checkpoint.npz");
    const Checkpoint full{.model = &model,
                          .optimizer = &opt,
                          .schedulers = {&schedule},
                          .plateau = &plateau,
                          .min_max_scaler = &scaler,
                          .early_stopping = &stopper,
                          .generators = {{"loader", &loader_gen}},
                          .values = &counters};
    save_checkpoint(path.string(), full);
    const uint64_t next_default = Generator(default_generator()).next_u64();

    // A fresh copy of everything takes it all back.
    manual_seed(77);
    Mlp model2;
    optim::SGD opt2(model2.parameters(), {.lr = 0.3});
    optim::StepLR schedule2(opt2, {.step_size = 2, .gamma = 0.5});
    optim::ReduceLROnPlateau plateau2(opt2, {.patience = 1});
    data::MinMaxScaler scaler2;
    training::EarlyStopping stopper2({.patience = 2});
    Generator loader_gen2(1);
    std::map<std::string, double> counters2;
    const Checkpoint fresh{.model = &model2,
                           .optimizer = &opt2,
                           .schedulers = {&schedule2},
                           .plateau = &plateau2,
                           .min_max_scaler = &scaler2,
                           .early_stopping = &stopper2,
                           .generators = {{"loader", &loader_gen2}},
                           .values = &counters2};
    const auto result = load_checkpoint(path.string(), fresh);
    BOOST_TEST(result.missing_keys.empty());
    BOOST_TEST(result.unexpected_keys.empty());
    BOOST_TEST(equal(model2.fc1.weight, model.fc1.weight));
    BOOST_TEST(opt2.lr(0) == opt.lr(0));
    BOOST_TEST(schedule2.last_epoch() == 1);
    BOOST_TEST(plateau2.best() == 1.0);
    BOOST_TEST(equal(scaler2.data_min(), scaler.data_min()));
    BOOST_TEST(stopper2.best() == 0.7);
    BOOST_TEST(loader_gen2.next_u64() == Generator(loader_gen).next_u64());
    BOOST_TEST(default_generator().next_u64() == next_default);
    BOOST_TEST((counters2 == counters));

    // A checkpoint with problems in several sections: one error names them all, nothing changes.
    std::map<std::string, NDArray> entries = load_npz(path.string());
    entries.erase("model.fc2.bias");
    entries["model.fc1.weight"] = zeros({2, 2}).data();
    entries.erase("early_stopping.best");
    entries["extra.thing"] = zeros({1}).data();
    const fs::path broken = scratch("broken_checkpoint.npz");
    save_npz(broken.string(), entries);
    Mlp model3;
    const std::vector<float> weights_before = model3.fc2.weight.to_vector<float>();
    optim::SGD opt3(model3.parameters(), {.lr = 0.3});
    training::EarlyStopping stopper3;
    std::map<std::string, double> counters3{{"mine", 1}};
    const Checkpoint partial{.model = &model3, .optimizer = &opt3, .early_stopping = &stopper3, .values = &counters3};
    check_error([&] { load_checkpoint(broken.string(), partial); },
                {broken.string(), "nothing was changed", "missing entries: fc2.bias", "fc1.weight\" has shape [2, 2]",
                 "\"best\"", "unexpected entries (of no checkpoint section): extra.thing"});
    BOOST_TEST(model3.fc2.weight.to_vector<float>() == weights_before);
    BOOST_TEST(opt3.lr(0) == 0.3);  // its section was fine, but the load as a whole failed
    BOOST_TEST((counters3 == std::map<std::string, double>{{"mine", 1}}));

    // Sections the load did not ask for (the schedulers, the loader's generator) are reported, not refused.
    entries.erase("extra.thing");
    entries["model.fc1.weight"] = model.fc1.weight.data();
    entries["model.fc2.bias"] = model.fc2.bias.data();
    entries["early_stopping.best"] = scalar_tensor(0.7, kFloat64).data();
    save_npz(broken.string(), entries);
    const auto skipped = load_checkpoint(broken.string(), partial);
    BOOST_TEST(std::count(skipped.unexpected_keys.begin(), skipped.unexpected_keys.end(), "generator.loader") == 1);
    BOOST_TEST(std::count(skipped.unexpected_keys.begin(), skipped.unexpected_keys.end(), "scheduler.0.last_epoch") ==
               1);
    BOOST_TEST(equal(model3.fc2.bias, model.fc2.bias));

    // Not strict: what is there loads, what is missing or extra is reported; mismatches still fail.
    entries.erase("model.fc2.bias");
    entries["extra.thing"] = zeros({1}).data();
    entries["model.head.weight"] = zeros({2}).data();  // a layer the model does not have
    save_npz(broken.string(), entries);
    Mlp model4;
    const Checkpoint partial4{.model = &model4, .optimizer = &opt3, .early_stopping = &stopper3, .values = &counters3};
    const auto lenient = load_checkpoint(broken.string(), partial4, {.strict = false});
    BOOST_TEST((lenient.missing_keys == std::vector<std::string>{"model.fc2.bias"}));
    BOOST_TEST(std::count(lenient.unexpected_keys.begin(), lenient.unexpected_keys.end(), "extra.thing") == 1);
    BOOST_TEST(std::count(lenient.unexpected_keys.begin(), lenient.unexpected_keys.end(), "model.head.weight") == 1);
    BOOST_TEST(std::count(lenient.unexpected_keys.begin(), lenient.unexpected_keys.end(), "generator.loader") == 1);
    BOOST_TEST(equal(model4.fc1.weight, model.fc1.weight));
    BOOST_TEST(stopper3.best() == 0.7);
    BOOST_TEST((counters3 == counters));
    entries["model.fc1.weight"] = zeros({2, 2}).data();
    save_npz(broken.string(), entries);
    check_error([&] { load_checkpoint(broken.string(), partial4, {.strict = false}); },
                {"mismatched entries", "fc1.weight"});
    check_error([&] { load_checkpoint(path.string(), {.schedulers = {nullptr}}); },
                {"load_checkpoint", "scheduler 0", "null"});
}

BOOST_AUTO_TEST_SUITE_END()
