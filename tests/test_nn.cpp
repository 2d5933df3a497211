// nn: modules and their registrations, every layer and loss under gradcheck (float64),
// initializers checked statistically, dropout's expectation, BatchNorm's running statistics
// against the formulas, and the summary against the lecture's parameter counts.
#include <boost/test/data/monomorphic.hpp>
#include <boost/test/data/test_case.hpp>
#include <cstring>
#include <sstream>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;
namespace bdata = boost::unit_test::data;
using Args = std::vector<Tensor>;

namespace {
struct Net : nn::Module {
    nn::Linear fc1{{.in_features = 4, .out_features = 3}};
    nn::BatchNorm1d bn{{.num_features = 3}};
    nn::Linear fc2{{.in_features = 3, .out_features = 2, .bias = false}};
    Net() {
        register_module("fc1", fc1);
        register_module("bn", bn);
        register_module("fc2", fc2);
    }
    Tensor forward(const Tensor& x) override { return fc2(relu(bn(fc1(x)))); }
    std::string type_name() const override { return "Net"; }
};

Tensor leaf64(const Shape& shape, uint64_t seed, double lo = -1.5, double hi = 1.5) {
    return random_tensor(shape, kFloat64, seed, lo, hi).requires_grad_();
}

struct ModuleCase {
    std::string name;
    autograd::TensorFunction fn;
    std::vector<Shape> shapes;
};
std::ostream& operator<<(std::ostream& out, const ModuleCase& c) {
    return out << c.name;
}

// Modules are built once per case, in float64; their parameters are inputs of the check too.
std::shared_ptr<nn::Linear> linear64 =
    std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 4, .out_features = 3, .dtype = kFloat64});
std::shared_ptr<nn::PReLU> prelu64 =
    std::make_shared<nn::PReLU>(nn::PReLUOptions{.num_parameters = 3, .dtype = kFloat64});
std::shared_ptr<nn::BatchNorm1d> bn64 =
    std::make_shared<nn::BatchNorm1d>(nn::BatchNormOptions{.num_features = 3, .dtype = kFloat64});
std::shared_ptr<nn::Conv2d> conv2d64 = std::make_shared<nn::Conv2d>(nn::Conv2dOptions{
    .in_channels = 2, .out_channels = 3, .kernel_size = {3, 2}, .stride = {2, 1}, .padding = 1, .dtype = kFloat64});
std::shared_ptr<nn::Conv1d> conv1d64 = std::make_shared<nn::Conv1d>(
    nn::Conv1dOptions{.in_channels = 4, .out_channels = 2, .kernel_size = 3, .dilation = 2, .dtype = kFloat64});
std::shared_ptr<nn::LSTM> lstm64 = std::make_shared<nn::LSTM>(nn::LSTMOptions{
    .input_size = 2, .hidden_size = 2, .num_layers = 2, .batch_first = true, .bidirectional = true, .dtype = kFloat64});
std::shared_ptr<nn::GRU> gru64 = std::make_shared<nn::GRU>(nn::GRUOptions{
    .input_size = 2, .hidden_size = 2, .num_layers = 2, .batch_first = true, .bidirectional = true, .dtype = kFloat64});
std::shared_ptr<nn::RNN> rnn64 = std::make_shared<nn::RNN>(nn::RNNOptions{.input_size = 2,
                                                                          .hidden_size = 3,
                                                                          .nonlinearity = nn::Nonlinearity::relu,
                                                                          .bidirectional = true,
                                                                          .dtype = kFloat64});
std::shared_ptr<nn::LSTMCell> lstm_cell64 =
    std::make_shared<nn::LSTMCell>(nn::LSTMCellOptions{.input_size = 3, .hidden_size = 2, .dtype = kFloat64});
std::shared_ptr<nn::GRUCell> gru_cell64 =
    std::make_shared<nn::GRUCell>(nn::GRUCellOptions{.input_size = 3, .hidden_size = 2, .dtype = kFloat64});
std::shared_ptr<nn::RNNCell> rnn_cell64 =
    std::make_shared<nn::RNNCell>(nn::RNNCellOptions{.input_size = 3, .hidden_size = 2, .dtype = kFloat64});
std::shared_ptr<nn::LayerNorm> ln64 =
    std::make_shared<nn::LayerNorm>(nn::LayerNormOptions{.normalized_shape = {4}, .dtype = kFloat64});

Tensor class_targets() {
    return tensor({2, 0, 1, 2}, kInt64);
}

const std::vector<ModuleCase> module_cases = {
    {"Linear", [](const Args& a) { return (*linear64)(a[0]); }, {{2, 4}}},
    {"Conv2d", [](const Args& a) { return (*conv2d64)(a[0]); }, {{2, 2, 5, 4}}},
    {"conv2d_functional",
     [](const Args& a) {
         return nn::F::conv2d(a[0], a[1], a[2], {1, 2}, {0, 1}, {2, 1});
     },
     {{2, 3, 6, 5}, {4, 3, 2, 2}, {4}}},
    {"Conv1d", [](const Args& a) { return (*conv1d64)(a[0]); }, {{2, 4, 9}}},
    {"MaxPool2d",
     [](const Args& a) {
         nn::MaxPool2d m({.kernel_size = 2});
         return m(a[0]);
     },
     {{2, 3, 4, 6}}},
    {"MaxPool1d_overlapping",
     [](const Args& a) {
         nn::MaxPool1d m({.kernel_size = 3, .stride = 1, .padding = 1});
         return m(a[0]);
     },
     {{2, 3, 7}}},
    {"embedding",
     [](const Args& a) {
         return nn::F::embedding(tensor({{1, 0}, {3, 1}}, kInt64), a[0]);
     },
     {{4, 3}}},
    // With a padding index that the input does not use (its gradient is withheld by design).
    {"embedding_padding_idx",
     [](const Args& a) {
         return nn::F::embedding(tensor({{1, 2}, {3, 1}}, kInt64), a[0], 0);
     },
     {{4, 3}}},
    {"LSTM_bidirectional_padded",
     [](const Args& a) {
         return lstm64->forward_with_state(a[0], {}, tensor({3, 2}, kInt64)).output;
     },
     {{2, 3, 2}}},
    {"LSTM_state",
     [](const Args& a) {
         auto out = lstm64->forward_with_state(a[0], {a[1], a[2]});
         return out.state.h * out.state.c;
     },
     {{2, 2, 2}, {4, 2, 2}, {4, 2, 2}}},
    {"GRU_bidirectional_padded",
     [](const Args& a) {
         return gru64->forward_with_state(a[0], {}, tensor({3, 2}, kInt64)).output;
     },
     {{2, 3, 2}}},
    {"GRU_state", [](const Args& a) { return gru64->forward_with_state(a[0], a[1]).h; }, {{2, 2, 2}, {4, 2, 2}}},
    {"RNN_relu_bidirectional",
     [](const Args& a) { return rnn64->forward_with_state(a[0], a[1]).output; },
     {{3, 2, 2}, {2, 2, 3}}},
    {"LSTMCell",
     [](const Args& a) {
         auto s = lstm_cell64->forward_with_state(a[0], {a[1], a[2]});
         return s.h * s.c;
     },
     {{2, 3}, {2, 2}, {2, 2}}},
    {"GRUCell", [](const Args& a) { return gru_cell64->forward_with_state(a[0], a[1]); }, {{2, 3}, {2, 2}}},
    {"RNNCell", [](const Args& a) { return rnn_cell64->forward_with_state(a[0], a[1]); }, {{2, 3}, {2, 2}}},
    {"Flatten",
     [](const Args& a) {
         nn::Flatten f;
         return f(a[0]);
     },
     {{2, 3, 2}}},
    {"Sigmoid",
     [](const Args& a) {
         nn::Sigmoid m;
         return m(a[0]);
     },
     {{3, 4}}},
    {"Tanh",
     [](const Args& a) {
         nn::Tanh m;
         return m(a[0]);
     },
     {{3, 4}}},
    {"LeakyReLU",
     [](const Args& a) {
         nn::LeakyReLU m({.negative_slope = 0.2});
         return m(a[0]);
     },
     {{3, 4}}},
    {"PReLU_per_channel", [](const Args& a) { return nn::F::prelu(a[0], a[1]); }, {{2, 3, 4}, {3}}},
    {"PReLU_shared", [](const Args& a) { return nn::F::prelu(a[0], a[1]); }, {{3, 4}, {1}}},
    {"ELU",
     [](const Args& a) {
         nn::ELU m({.alpha = 1.3});
         return m(a[0]);
     },
     {{3, 4}}},
    {"GELU",
     [](const Args& a) {
         nn::GELU m;
         return m(a[0]);
     },
     {{3, 4}}},
    {"GELU_tanh",
     [](const Args& a) {
         nn::GELU m({.approximate = true});
         return m(a[0]);
     },
     {{3, 4}}},
    {"Softmax",
     [](const Args& a) {
         nn::Softmax m({.dim = 1});
         return m(a[0]);
     },
     {{3, 4}}},
    {"LogSoftmax",
     [](const Args& a) {
         nn::LogSoftmax m({.dim = 1});
         return m(a[0]);
     },
     {{3, 4}}},
    {"Dropout_training",
     [](const Args& a) {
         Generator g(3);  // the same mask at every evaluation
         return nn::F::dropout(a[0], 0.4, true, &g);
     },
     {{4, 5}}},
    {"Dropout2d_training",
     [](const Args& a) {
         Generator g(3);
         return nn::F::dropout2d(a[0], 0.5, true, &g);
     },
     {{3, 4, 2}}},
    {"BatchNorm1d_training_2d",
     [](const Args& a) { return nn::F::batch_norm(a[0], Tensor(), Tensor(), a[1], a[2], true); },
     {{5, 3}, {3}, {3}}},
    {"BatchNorm1d_training_3d",
     [](const Args& a) { return nn::F::batch_norm(a[0], Tensor(), Tensor(), a[1], a[2], true); },
     {{4, 3, 2}, {3}, {3}}},
    {"BatchNorm1d_module_eval",
     [](const Args& a) {
         bn64->eval();
         return (*bn64)(a[0]);
     },
     {{4, 3}}},
    {"BatchNorm2d_training",
     [](const Args& a) { return nn::F::batch_norm(a[0], Tensor(), Tensor(), a[1], a[2], true); },
     {{3, 2, 3, 2}, {2}, {2}}},
    {"GroupNorm", [](const Args& a) { return nn::F::group_norm(a[0], 2, a[1], a[2]); }, {{2, 4, 3}, {4}, {4}}},
    {"GroupNorm_images",
     [](const Args& a) { return nn::F::group_norm(a[0], 3, a[1], a[2]); },
     {{2, 3, 2, 2}, {3}, {3}}},
    {"LayerNorm", [](const Args& a) { return nn::F::layer_norm(a[0], 1, a[1], a[2]); }, {{3, 4}, {4}, {4}}},
    {"LayerNorm_module", [](const Args& a) { return (*ln64)(a[0]); }, {{2, 3, 4}}},
    {"mse_loss", [](const Args& a) { return nn::F::mse_loss(a[0], a[1]); }, {{3, 4}, {3, 4}}},
    {"l1_loss_sum", [](const Args& a) { return nn::F::l1_loss(a[0], a[1], nn::F::Reduction::sum); }, {{3, 4}, {3, 4}}},
    {"smooth_l1_loss",
     [](const Args& a) { return nn::F::smooth_l1_loss(a[0], a[1], nn::F::Reduction::mean, 0.5); },
     {{3, 4}, {3, 4}}},
    {"nll_loss_weighted_ignore",
     [](const Args& a) {
         return nn::F::nll_loss(log_softmax(a[0], 1), tensor({2, -100, 1, 2}, kInt64),
                                {.weight = tensor({1.0, 2.0, 0.5}, kFloat64)});
     },
     {{4, 3}}},
    {"cross_entropy", [](const Args& a) { return nn::F::cross_entropy(a[0], class_targets()); }, {{4, 3}}},
    {"cross_entropy_large_logits",
     [](const Args& a) { return nn::F::cross_entropy(a[0] * 500.0, class_targets()); },
     {{4, 3}}},
    {"cross_entropy_smoothing_weights",
     [](const Args& a) {
         return nn::F::cross_entropy(
             a[0], tensor({2, 0, -1, 1}, kInt64),
             {.weight = tensor({0.5, 1.0, 2.0}, kFloat64), .ignore_index = -1, .label_smoothing = 0.1});
     },
     {{4, 3}}},
    {"cross_entropy_ignore_sum",
     [](const Args& a) {
         return nn::F::cross_entropy(a[0], tensor({2, -100, 1, 0}, kInt64), {.reduction = nn::F::Reduction::sum});
     },
     {{4, 3}}},
    {"cross_entropy_none",
     [](const Args& a) { return nn::F::cross_entropy(a[0], class_targets(), {.reduction = nn::F::Reduction::none}); },
     {{4, 3}}},
    {"cross_entropy_k_dim_weighted",
     [](const Args& a) {
         return nn::F::cross_entropy(a[0], tensor({{2, 0, -100}, {1, 1, 0}}, kInt64),
                                     {.weight = tensor({1.0, 2.0, 0.5}, kFloat64)});
     },
     {{2, 3, 3}}},
    {"nll_loss_k_dim_none",
     [](const Args& a) {
         return nn::F::nll_loss(log_softmax(a[0], 1), tensor({{{0, 1}}, {{2, 2}}}, kInt64),
                                {.reduction = nn::F::Reduction::none});
     },
     {{2, 3, 1, 2}}},
    {"cross_entropy_probabilities_smoothed",
     [](const Args& a) {
         return nn::F::cross_entropy(a[0], softmax(a[1], 1),
                                     {.weight = tensor({1.0, 2.0, 0.5}, kFloat64), .label_smoothing = 0.2});
     },
     {{4, 3}, {4, 3}}},
    {"binary_cross_entropy",
     [](const Args& a) { return nn::F::binary_cross_entropy(sigmoid(a[0]), sigmoid(a[1])); },
     {{3, 4}, {3, 4}}},
    {"binary_cross_entropy_weighted_sum",
     [](const Args& a) {
         return nn::F::binary_cross_entropy(sigmoid(a[0]), sigmoid(a[1]), sigmoid(a[2]), nn::F::Reduction::sum);
     },
     {{3, 4}, {3, 4}, {4}}},
    {"cross_entropy_smoothing_zero_weight_class",
     [](const Args& a) {
         return nn::F::cross_entropy(a[0], tensor({0, 2, 1, -100}, kInt64),
                                     {.weight = tensor({0.0, 1.0, 2.0}, kFloat64), .label_smoothing = 0.3});
     },
     {{4, 3}}},
    {"bce_with_logits_pos_weight",
     [](const Args& a) {
         return nn::F::binary_cross_entropy_with_logits(a[0], sigmoid(a[1]), Tensor(),
                                                        tensor({1.0, 2.0, 3.0, 0.5}, kFloat64));
     },
     {{3, 4}, {3, 4}}},
    {"l2_penalty",
     [](const Args& a) {
         return nn::l2_penalty({a[0], a[1]}, 0.3);
     },
     {{3, 4}, {2}}},
    {"l1_penalty", [](const Args& a) { return nn::l1_penalty({a[0]}, 0.3); }, {{3, 4}}},
    {"elastic_net_penalty", [](const Args& a) { return nn::elastic_net_penalty({a[0]}, 0.2, 0.5); }, {{3, 4}}},
};
}  // namespace

BOOST_AUTO_TEST_SUITE(nn_modules)

BOOST_AUTO_TEST_CASE(parameters_have_dotted_names_and_modes_propagate) {
    Net net;
    std::vector<std::string> names;
    for (auto& [name, p] : net.named_parameters()) names.push_back(name);
    BOOST_TEST((names == std::vector<std::string>{"fc1.weight", "fc1.bias", "bn.weight", "bn.bias", "fc2.weight"}));
    std::vector<std::string> buffers;
    for (auto& [name, b] : net.named_buffers()) buffers.push_back(name);
    BOOST_TEST((buffers == std::vector<std::string>{"bn.running_mean", "bn.running_var", "bn.num_batches_tracked"}));
    BOOST_TEST(net.children().size() == 3u);
    BOOST_TEST(net.modules().size() == 4u);
    net.eval();
    BOOST_TEST(!net.bn.is_training());
    net.train();
    BOOST_TEST(net.fc2.is_training());
    int visited = 0;
    net.apply([&](nn::Module&) { ++visited; });
    BOOST_TEST(visited == 4);
    std::ostringstream printed;
    printed << net;
    BOOST_TEST(printed.str().find("(fc1): Linear(in_features=4, out_features=3, bias=true)") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(zero_grad_to_dtype_and_gradients_flow) {
    Net net;
    Tensor x = randn({5, 4});
    net(x).sum().backward();
    for (const Tensor& p : net.parameters()) BOOST_TEST(p.grad().defined());
    net.zero_grad();
    for (const Tensor& p : net.parameters()) BOOST_TEST(!p.grad().defined());
    net.to(kFloat64);
    BOOST_TEST(net.fc1.weight.dtype() == kFloat64);  // the member and the registration are one tensor
    BOOST_TEST(net.named_parameters()[0].second.dtype() == kFloat64);
    BOOST_TEST(net.bn.running_var.dtype() == kFloat64);
    BOOST_TEST(net.bn.num_batches_tracked.dtype() == kInt64);
    BOOST_TEST(net(randn({5, 4}, kFloat64)).dtype() == kFloat64);
}

BOOST_AUTO_TEST_CASE(state_dict_round_trip_and_checked_loading) {
    manual_seed(1);
    Net a;
    Net b;
    b.load_state_dict(a.state_dict());
    Tensor x = randn({6, 4});
    BOOST_TEST(equal(a(x), b(x)));
    nn::StateDict bad = a.state_dict();
    bad["fc1.weight"] = zeros({2, 2});
    const std::vector<float> before = b.fc1.bias.to_vector<float>();
    bad["fc1.bias"] = zeros({3});
    check_error([&] { b.load_state_dict(bad); }, {"load_state_dict", "fc1.weight", "[2, 2]", "[3, 4]"});
    BOOST_TEST(b.fc1.bias.to_vector<float>() == before);  // untouched after the failed load
    nn::StateDict missing = a.state_dict();
    missing.erase("bn.running_var");
    check_error([&] { b.load_state_dict(missing); }, {"missing", "bn.running_var"});
    b.load_state_dict(missing, /*strict=*/false);
    nn::StateDict extra = a.state_dict();
    extra["fc3.weight"] = zeros({1});
    check_error([&] { b.load_state_dict(extra); }, {"unexpected", "fc3.weight"});
    nn::StateDict wrong_dtype = a.state_dict();
    wrong_dtype["fc2.weight"] = wrong_dtype["fc2.weight"].to(kFloat64);
    check_error([&] { b.load_state_dict(wrong_dtype); }, {"fc2.weight", "float64", "float32"});
    // Every problem in one message: two missing, one unexpected, one mismatched.
    nn::StateDict several = a.state_dict();
    several.erase("bn.running_var");
    several.erase("bn.bias");
    several["head.weight"] = zeros({1});
    several["fc1.weight"] = zeros({2, 2});
    check_error([&] { b.load_state_dict(several); },
                {"missing entries: bn.bias, bn.running_var", "unexpected entries", "head.weight",
                 "mismatched entries: \"fc1.weight\" has shape [2, 2]"});
    // Not strict: missing and unexpected entries are skipped and reported; a wrong shape is not.
    several.erase("fc1.weight");
    const auto result = b.load_state_dict(several, /*strict=*/false);
    BOOST_TEST((result.missing_keys == std::vector<std::string>{"fc1.weight", "bn.bias", "bn.running_var"}));
    BOOST_TEST((result.unexpected_keys == std::vector<std::string>{"head.weight"}));
    several["fc1.weight"] = zeros({2, 2});
    check_error([&] { b.load_state_dict(several, false); }, {"mismatched entries", "fc1.weight"});
}

BOOST_AUTO_TEST_CASE(sequential_chains_and_names_children_by_index) {
    nn::Sequential mlp;
    mlp.emplace<nn::Linear>({.in_features = 3, .out_features = 5});
    mlp.emplace<nn::ReLU>();
    mlp.emplace<nn::Linear>({.in_features = 5, .out_features = 2});
    BOOST_TEST(mlp.size() == 3u);
    BOOST_TEST(mlp.named_parameters()[2].first == "2.weight");
    BOOST_TEST((mlp(randn({7, 3})).sizes() == Shape{7, 2}));
    check_error([&] { mlp[3]; }, {"index 3"});
    check_error([&] { mlp(randn({7, 4})); }, {"linear", "[7, 4]", "3 features"});
}

BOOST_AUTO_TEST_CASE(module_dict_and_parameter_containers_register_what_they_hold) {
    nn::ModuleDict heads({{"tumour", std::make_shared<nn::Linear>(4, 2)}});
    nn::Linear& grade = heads.emplace<nn::Linear>("grade", 4, 3);
    heads.emplace<nn::Dropout>("dropout", {.p = 0.25});
    heads.emplace<nn::ReLU>("relu");
    BOOST_TEST(heads.at<nn::Dropout>("dropout").options.p == 0.25);
    BOOST_TEST(heads.pop("relu") != nullptr);
    BOOST_TEST(heads.pop("dropout") != nullptr);
    BOOST_TEST(heads.size() == 2u);
    BOOST_TEST((heads.keys() == std::vector<std::string>{"tumour", "grade"}));
    BOOST_TEST(heads.contains("grade"));
    BOOST_TEST(&heads.at<nn::Linear>("grade") == &grade);
    BOOST_TEST((heads["tumour"](ones({1, 4})).sizes() == Shape{1, 2}));
    BOOST_TEST(heads.parameters().size() == 4u);
    BOOST_TEST(heads.named_parameters()[2].first == "grade.weight");
    // Inserting under a key that is there replaces the module in its place, as LibTorch does.
    heads.insert("tumour", std::make_shared<nn::Linear>(4, 5));
    BOOST_TEST((heads.keys() == std::vector<std::string>{"tumour", "grade"}));
    BOOST_TEST((heads.named_parameters()[0].second.sizes() == Shape{5, 4}));
    BOOST_TEST(heads.named_children().size() == 2u);
    const std::shared_ptr<nn::Module> popped = heads.pop("grade");
    BOOST_TEST(popped.get() == &grade);
    BOOST_TEST(heads.parameters().size() == 2u);
    BOOST_TEST(heads.named_children().size() == 1u);
    check_error([&] { heads["grade"]; }, {"ModuleDict", "\"grade\""});
    check_error([&] { heads.at<nn::ReLU>("tumour"); }, {"ModuleDict", "Linear", "not the type"});
    check_error([&] { heads.pop("grade"); }, {"ModuleDict", "\"grade\"", "pop"});
    check_error([&] { heads.insert("x", nullptr); }, {"ModuleDict", "null"});
    check_error([&] { heads.insert("a.b", std::make_shared<nn::ReLU>()); }, {"ModuleDict", "a.b", "'.'"});
    // One module under two keys: replacing or popping one key leaves the other working.
    auto shared = std::make_shared<nn::Linear>(4, 1);
    heads.insert("first", shared);
    heads.insert("second", shared);
    shared.reset();
    heads.insert("first", std::make_shared<nn::ReLU>());
    BOOST_TEST((heads["second"](ones({1, 4})).sizes() == Shape{1, 1}));
    heads.pop("first");
    BOOST_TEST((heads["second"](ones({1, 4})).sizes() == Shape{1, 1}));
    heads.clear();
    BOOST_TEST(heads.empty());
    // Underneath: a module registered twice stays alive when one registration is replaced.
    struct Twice : nn::Module {
        Twice() {
            auto linear = std::make_shared<nn::Linear>(2, 1);
            register_module("a", linear);
            register_module("b", linear);
            replace_module("a", std::make_shared<nn::ReLU>());
        }
    } twice;
    BOOST_TEST(twice.named_parameters().size() == 2u);
    BOOST_TEST(twice.named_parameters()[0].first == "b.weight");
    BOOST_TEST((twice.named_modules().at(2).second->forward(ones({1, 2})).sizes() == Shape{1, 1}));
    BOOST_TEST(heads.parameters().empty());

    // A module never contains itself, however deep: the walks over it would not end.
    auto outer = std::make_shared<nn::Sequential>(), inner = std::make_shared<nn::Sequential>();
    outer->push_back(inner);
    check_error([&] { outer->push_back(outer); }, {"Sequential", "own child"});
    check_error([&] { inner->push_back(outer); }, {"Sequential", "\"0\"", "already holds", "contain itself"});
    auto deeper = std::make_shared<nn::ModuleList>();
    inner->push_back(deeper);
    check_error([&] { deeper->push_back(outer); }, {"ModuleList", "Sequential", "contain itself"});
    BOOST_TEST(outer->named_modules().size() == 3u);  // the refused additions left nothing behind
    BOOST_TEST(deeper->size() == 0u);
    BOOST_TEST((*outer)[-1].type_name() == "Sequential");
    check_error([&] { (*outer)[1]; }, {"Sequential", "index 1", "1 modules"});
    // A replaced or removed child may be added above its old parent again.
    auto holder = std::make_shared<nn::ModuleDict>();
    holder->insert("x", inner);
    auto top = std::make_shared<nn::Sequential>();
    top->push_back(holder);
    check_error([&] { inner->push_back(top); }, {"contain itself"});
    holder->insert("x", std::make_shared<nn::ReLU>());  // replaces inner
    inner->push_back(top);                              // top no longer holds inner
    BOOST_TEST(inner->named_modules().size() == 5u);
    // Models built bottom-up walk no subtrees: a thousand levels deep in a blink.
    auto chain = std::make_shared<nn::Sequential>();
    for (int level = 0; level < 1000; ++level) {
        auto wrapper = std::make_shared<nn::Sequential>();
        wrapper->push_back(chain);
        chain = wrapper;
    }
    check_error([&] { outer->push_back(outer); }, {"own child"});

    // Parameters by position and by name: trained (an optimizer sees them) and saved.
    nn::ParameterList scales({ones({3}), zeros({2})});
    scales.append(full({1}, 2.0));
    BOOST_TEST(scales.size() == 3u);
    BOOST_TEST(scales[2].requires_grad());
    BOOST_TEST(scales.named_parameters()[1].first == "1");
    BOOST_TEST(scales.state_dict().count("2") == 1u);
    check_error([&] { scales[3]; }, {"ParameterList", "index 3", "3 parameters"});
    BOOST_TEST(scales[-1].numel() == 1);  // from the end, as in Python
    BOOST_TEST(scales[-3].numel() == 3);
    check_error([&] { scales[-4]; }, {"ParameterList", "index -4", "3 parameters"});
    check_error([&] { scales.append(ones({2}).requires_grad_(true) * 2.0); }, {"ParameterList", "leaf"});

    nn::ParameterDict temperatures({{"hoc", ones({1})}});
    temperatures.insert("mimic", full({1}, 3.0));
    temperatures.insert("hoc", full({1}, 0.5));  // replaced in place
    BOOST_TEST((temperatures.keys() == std::vector<std::string>{"hoc", "mimic"}));
    BOOST_TEST(temperatures["hoc"].item() == 0.5);
    BOOST_TEST(temperatures.parameters().size() == 2u);  // the old "hoc" is gone
    BOOST_TEST(temperatures.parameters()[0].item() == 0.5);
    BOOST_TEST(temperatures.parameters()[0].requires_grad());
    BOOST_TEST(temperatures.contains("mimic"));
    const Tensor removed = temperatures.pop("mimic");
    BOOST_TEST(removed.item() == 3.0);
    BOOST_TEST(temperatures.parameters().size() == 1u);
    check_error([&] { temperatures["mimic"]; }, {"ParameterDict", "\"mimic\""});
    check_error([&] { temperatures.pop("mimic"); }, {"ParameterDict", "pop"});

    // A model holding them: parameters() reaches through, and an optimizer step moves them.
    struct Net : nn::Module {
        nn::ParameterList scales{std::vector<Tensor>{ones({2})}};
        nn::ModuleDict heads{{{"out", std::make_shared<nn::Linear>(2, 1)}}};
        Net() {
            register_module("scales", scales);
            register_module("heads", heads);
        }
    } net;
    BOOST_TEST(net.named_parameters()[0].first == "scales.0");
    BOOST_TEST(net.named_parameters()[1].first == "heads.out.weight");
    optim::SGD sgd(net.parameters(), {.lr = 0.1});
    net.heads["out"](ones({1, 2}) * net.scales[0]).sum().backward();
    sgd.step();
    BOOST_TEST(net.scales[0].sum().item() != 2.0);
}

BOOST_AUTO_TEST_CASE(sequential_fuses_linear_and_relu_unless_a_hook_must_see_between) {
    nn::Sequential mlp;
    auto& fc = mlp.emplace<nn::Linear>({.in_features = 3, .out_features = 40});
    mlp.emplace<nn::ReLU>();
    const Tensor x = randn({7, 3});
    const Tensor separate = relu(fc(x));
    BOOST_TEST((mlp(x).to_vector<float>() == separate.to_vector<float>()));
    BOOST_TEST(std::string(mlp(x).grad_fn()->name()) == "linear_relu");
    // A hand-written forward gets the same op from nn::functional.
    const Tensor functional = nn::functional::linear_relu(x, fc.weight, fc.bias);
    BOOST_TEST((functional.to_vector<float>() == separate.to_vector<float>()));
    BOOST_TEST(std::string(functional.grad_fn()->name()) == "linear_relu");
    BOOST_TEST((nn::functional::linear(x, fc.weight, fc.bias).to_vector<float>() == fc(x).to_vector<float>()));
    // A hook on the Linear sees its own output, negative values and all: no fusion then.
    float smallest = 0;
    nn::RemovableHandle handle = fc.register_forward_hook(
        [&](nn::Module&, const Tensor&, const Tensor& out) { smallest = out.min().item<float>(); });
    BOOST_TEST((mlp(x).to_vector<float>() == separate.to_vector<float>()));
    BOOST_TEST(smallest < 0.0f);
    BOOST_TEST(std::string(mlp(x).grad_fn()->name()) == "relu");
    handle.remove();
    BOOST_TEST(std::string(mlp(x).grad_fn()->name()) == "linear_relu");
}

BOOST_AUTO_TEST_CASE(sequential_fuses_relu_and_max_pooling_with_the_same_bits) {
    // Windows whose maximum is positive, zero, negative and NaN, wide rows (the gathered float32
    // path) and narrow ones, float32 and float64, a ceil_mode overhang, overlapping padded windows
    // (3 x 3, stride 2: blocked maxima shared by two windows): the fused op must give the separate
    // ops' values and gradients bit for bit.
    struct Window {
        int64_t kernel, stride, padding;
    };
    for (DType dtype : {kFloat32, kFloat64}) {
        for (const Shape& shape : {Shape{2, 3, 9, 40}, Shape{3, 2, 7, 7}}) {
            for (bool ceil_mode : {false, true}) {
                for (const Window& win : {Window{2, 2, 0}, Window{3, 2, 1}}) {
                    BOOST_TEST_CONTEXT(dtype << " " << shape << " kernel " << win.kernel
                                             << (ceil_mode ? " ceil_mode" : "")) {
                        Tensor base = randint(-3, 3, shape, kInt64).to(dtype);  // ties, zeros, negatives
                        base[0][1][2][3].fill_(std::nan(""));
                        base[1][0].narrow(0, 0, 2).fill_(-1.0);  // a row of windows with nothing positive
                        nn::Sequential net;
                        net.emplace<nn::ReLU>();
                        auto& pool = net.emplace<nn::MaxPool2d>({.kernel_size = win.kernel,
                                                                 .stride = win.stride,
                                                                 .padding = win.padding,
                                                                 .ceil_mode = ceil_mode});
                        const Tensor x = base.detach().requires_grad_(), y = base.detach().requires_grad_();
                        const Tensor fused = net(x), separate = pool(relu(y));
                        BOOST_TEST(std::string(fused.grad_fn()->name()) == "relu_max_pool2d");
                        const std::vector<double> a = fused.to_vector<double>(), b = separate.to_vector<double>();
                        BOOST_TEST(
                            (a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(double)) == 0));
                        const Tensor upstream = randn(fused.sizes()).to(dtype);
                        (fused * upstream).sum().backward();
                        (separate * upstream).sum().backward();
                        const std::vector<double> gx = x.grad().to_vector<double>(), gy = y.grad().to_vector<double>();
                        BOOST_TEST(std::memcmp(gx.data(), gy.data(), gx.size() * sizeof(double)) == 0);  // -0 too
                    }
                }
            }
        }
    }
    // A hook on the ReLU sees its output: no fusion then.
    nn::Sequential net;
    auto& act = net.emplace<nn::ReLU>();
    net.emplace<nn::MaxPool2d>({.kernel_size = 2});
    const Tensor input = randn({1, 1, 4, 4}).requires_grad_();
    nn::RemovableHandle handle = act.register_forward_hook([](nn::Module&, const Tensor&, const Tensor&) {});
    BOOST_TEST(std::string(net(input).grad_fn()->name()) == "max_pool2d");
    handle.remove();
    BOOST_TEST(std::string(net(input).grad_fn()->name()) == "relu_max_pool2d");
}

BOOST_AUTO_TEST_CASE(modules_take_libtorchs_positional_arguments) {
    nn::Sequential net;
    auto& conv = net.emplace<nn::Conv2d>(1, 8, 3);
    net.emplace<nn::BatchNorm2d>(8);
    net.emplace<nn::ReLU>();
    net.emplace<nn::MaxPool2d>(2);
    net.emplace<nn::Dropout2d>(0.25);
    net.emplace<nn::Flatten>();
    auto& fc = net.emplace<nn::Linear>(8 * 3 * 3, 10);
    net.emplace<nn::LogSoftmax>({.dim = 1});
    BOOST_TEST(conv.options.kernel_size.h == 3);
    BOOST_TEST(conv.options.kernel_size.w == 3);
    BOOST_TEST(fc.weight.sizes() == Shape({10, 72}));
    BOOST_TEST(net(randn({2, 1, 8, 8})).sizes() == Shape({2, 10}));
    // The options form is unchanged, and an Options value goes to its own constructor.
    net.emplace<nn::Linear>(nn::LinearOptions{.in_features = 10, .out_features = 2, .bias = false});
    BOOST_TEST(!dynamic_cast<nn::Linear&>(net[8]).bias.defined());

    BOOST_TEST(nn::Conv1d(300, 100, 3).weight.sizes() == Shape({100, 300, 3}));
    BOOST_TEST(nn::Embedding(50, 4).weight.sizes() == Shape({50, 4}));
    BOOST_TEST(nn::LSTM(6, 5).options.hidden_size == 5);
    BOOST_TEST(nn::GRU(6, 5).options.input_size == 6);
    BOOST_TEST(nn::RNN(6, 5).options.hidden_size == 5);
    BOOST_TEST(nn::LSTMCell(3, 2).parameters().size() == 4u);
    BOOST_TEST(nn::GRUCell(3, 2).parameters().size() == 4u);
    BOOST_TEST(nn::RNNCell(3, 2).parameters().size() == 4u);
    BOOST_TEST(nn::BatchNorm1d(7).options.num_features == 7);
    BOOST_TEST(nn::GroupNorm(2, 4).options.num_groups == 2);
    BOOST_TEST(nn::Dropout(0.3).options.p == 0.3);
    BOOST_TEST(nn::MaxPool1d(3).options.kernel_size == 3);
    BOOST_TEST(nn::AvgPool2d(2).options.kernel_size.w == 2);
    BOOST_TEST(nn::AvgPool1d(2).options.kernel_size == 2);
    BOOST_TEST(nn::MultiheadAttention(8, 2).options.num_heads == 2);
    // Braced forms that compiled before mean what they meant (Dropout({}) stays a compile error,
    // as before, rather than meaning p = 0).
    BOOST_TEST(nn::Dropout({0.2}).options.p == 0.2);
    BOOST_TEST(nn::Softmax({1}).options.dim == 1);  // (no positional Softmax(dim): Softmax({}) would mean dim 0)
    BOOST_TEST(nn::MaxPool2d({2}).options.kernel_size.h == 2);
    BOOST_TEST(nn::MaxPool2d({2, 1}).options.stride.h == 1);
    BOOST_TEST(nn::BatchNorm1d({.num_features = 4}).options.num_features == 4);
    // Modules without an Options type take their positional form through emplace too.
    nn::ModuleList cells;
    BOOST_TEST(cells.emplace<nn::LSTMCell>(3, 2).parameters().size() == 4u);
    // The checks of the options form apply to the positional one.
    check_error([] { nn::Linear(0, 3); }, {"Linear", "positive"});
}

BOOST_AUTO_TEST_CASE(libtorch_device_code_runs_on_the_cpu) {
    const Device device(cuda::is_available() ? kCUDA : kCPU);
    BOOST_TEST(device.is_cpu());
    BOOST_TEST(device.str() == "cpu");
    BOOST_TEST(cuda::device_count() == 0);
    const Tensor x = ones({2}, TensorOptions(kFloat64).device(device));
    BOOST_TEST(x.device() == device);
    BOOST_TEST(x.is_cpu());
    BOOST_TEST(x.to(device).data_ptr<double>() == x.data_ptr<double>());  // itself, as LibTorch
    BOOST_TEST(x.to(kCPU, kFloat32).dtype() == kFloat32);
    nn::Linear layer(3, 2);
    layer.to(device);
    layer.to(kCPU, kFloat64);
    BOOST_TEST(layer.weight.dtype() == kFloat64);
    BOOST_TEST(Device("cpu:0").index() == 0);
    BOOST_TEST(Device("cpu:0").str() == "cpu:0");
    BOOST_TEST(Device("cpu") == Device(kCPU));
    check_error([] { Device d(kCUDA); }, {"Device", "'cuda'", "CPU only"});
    check_error([] { Device d("cuda:1"); }, {"Device", "'cuda:1'", "CPU only"});
    check_error([] { Device d("tpu"); }, {"Device", "unknown device 'tpu'"});
    check_error([] { Device d("cpu:2"); }, {"Device", "'cpu:2'"});
    check_error([] { Device d(kCPU, 3); }, {"Device", "index 3"});
    // A device in a factory's options, as LibTorch code writes it.
    BOOST_TEST(zeros({2}, kCPU).dtype() == kFloat32);
    BOOST_TEST(randn({2}, device).numel() == 2);
    check_error([] { zeros({2}, kCUDA); }, {"Device", "CPU only"});
}

BOOST_AUTO_TEST_CASE(linear_defaults_to_pytorch_initialization) {
    nn::Linear layer({.in_features = 100, .out_features = 50});
    const double bound = 1.0 / std::sqrt(100.0);
    BOOST_TEST(layer.weight.abs().max().item() <= bound);
    BOOST_TEST(layer.bias.abs().max().item() <= bound);
    // U(-b, b) has variance b^2 / 3.
    BOOST_TEST(std::abs(layer.weight.var().item() - bound * bound / 3) < 0.1 * bound * bound / 3);
    check_error([] { nn::Linear({.in_features = 0, .out_features = 3}); }, {"Linear", "positive"});
}

BOOST_DATA_TEST_CASE(gradcheck_every_module_and_loss, bdata::make(module_cases), c) {
    Args inputs;
    uint64_t seed = 50;
    for (const Shape& s : c.shapes) inputs.push_back(leaf64(s, seed++));
    // Keep activations away from their kinks (0) so central differences stay on one side.
    if (c.name.find("ReLU") != std::string::npos || c.name == "ELU" || c.name.find("l1") != std::string::npos ||
        c.name.find("smooth_l1") != std::string::npos || c.name.find("elastic") != std::string::npos) {
        NoGradGuard guard;
        inputs[0].copy_(where(abs(inputs[0]) < 0.2, inputs[0] + 0.4, inputs[0]));
    }
    Args all = inputs;
    if (c.name == "Linear") {
        all.push_back(linear64->weight);
        all.push_back(linear64->bias);
    }
    const auto result = autograd::gradcheck(c.fn, all, {.raise = false});
    BOOST_TEST(result.ok, result.message);
}

BOOST_AUTO_TEST_CASE(one_seed_reproduces_a_training_run) {
    // Initialization, dropout masks and shuffling all draw from seeded generators.
    auto train = [](uint64_t seed) {
        manual_seed(seed);
        nn::Sequential model;
        model.emplace<nn::Linear>({.in_features = 6, .out_features = 8});
        model.emplace<nn::ReLU>();
        model.emplace<nn::Dropout>({.p = 0.3});
        model.emplace<nn::Linear>({.in_features = 8, .out_features = 3});
        optim::Adam opt(model.parameters(), {.lr = 0.01});
        data::TensorDataset ds(randn({64, 6}), randint(0, 3, {64}));
        Generator shuffle(seed + 1);
        data::DataLoader loader(ds, {.batch_size = 16, .shuffle = true, .generator = &shuffle});
        for (int epoch = 0; epoch < 3; ++epoch)
            for (const data::Batch& b : loader) {
                opt.zero_grad();
                nn::F::cross_entropy(model(b.data), b.target).backward();
                opt.step();
            }
        return model.parameters()[0].to_vector<float>();
    };
    BOOST_TEST(train(7) == train(7));
    BOOST_TEST(train(7) != train(8));
}

BOOST_AUTO_TEST_CASE(fused_cross_entropy_has_second_derivatives) {
    const auto result = autograd::gradgradcheck(
        [](const Args& a) {
            return nn::F::cross_entropy(a[0], tensor({2, 0, -100, 1}, kInt64));
        },
        {leaf64({4, 3}, 9)}, {.raise = false});
    BOOST_TEST(result.ok, result.message);
    // The fused and the composed (class-weighted) paths agree when the weights are all 1.
    const Tensor logits = leaf64({5, 4}, 10);
    const Tensor target = tensor({3, 0, 1, 1, 2}, kInt64);
    check_values(nn::F::cross_entropy(logits, target),
                 nn::F::cross_entropy(logits, target, {.weight = ones({4}, kFloat64)}).to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(cross_entropy_backward_kernel_matches_the_composed_backward) {
    // A plain backward runs one kernel; recording the backward (create_graph) runs the composed
    // ops that second derivatives need. Both give the same gradient, ignored rows included, with
    // an upstream gradient that differs per row (reduction none, weighted sum).
    for (DType dtype : {kFloat64, kFloat32}) {
        const Tensor logits = leaf64({6, 5}, 21, -4.0, 4.0).detach().to(dtype);
        logits.requires_grad_();
        const Tensor target = tensor({4, 0, -100, 2, 2, 1}, kInt64);
        const Tensor row_weights = tensor({0.5, -1.0, 2.0, 3.0, 0.25, 1.0}, dtype);
        const auto loss = [&] {
            return (nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::none}) * row_weights).sum();
        };
        const Tensor fused = autograd::grad({loss()}, {logits})[0];
        const Tensor composed = autograd::grad({loss()}, {logits}, {}, false, true)[0];
        BOOST_TEST(composed.requires_grad());  // the composed path really ran
        check_values(fused, composed.detach().to(kFloat64).to_vector<double>(), dtype == kFloat64 ? 1e-14 : 1e-6);
        // The ignored row gets no gradient.
        for (double v : fused.select(0, 2).to(kFloat64).to_vector<double>()) BOOST_TEST(v == 0.0);
    }
    // Rows past the kernel's block of 4,096 logits (1,000 rows of 5 classes) and one wide row
    // wider than a block, against the composed backward.
    for (const Shape& shape : {Shape{1000, 5}, Shape{3, 5000}}) {
        const Tensor logits = leaf64(shape, 22, -3.0, 3.0);
        const Tensor target = randint(0, shape[1], {shape[0]}, kInt64);
        const auto loss = [&] { return nn::F::cross_entropy(logits, target); };
        const Tensor fused = autograd::grad({loss()}, {logits})[0];
        const Tensor composed = autograd::grad({loss()}, {logits}, {}, false, true)[0];
        check_values(fused, composed.detach().to_vector<double>(), 1e-12);
    }
    // The kernel checks what it is given, like the forward.
    const NDArray x = zeros({2, 3}).data(), g = ones({2}).data();
    check_error(
        [&] {
            kernels::cross_entropy_rows_backward(x, tensor({0, 3}, kInt64).data(), -100, g);
        },
        {"cross_entropy backward", "target 3", "out of bounds for 3 classes"});
    check_error(
        [&] {
            kernels::cross_entropy_rows_backward(x, tensor({0, 1}, kInt64).data(), -100, ones({3}).data());
        },
        {"cross_entropy backward", "gradients [2]"});
}

BOOST_AUTO_TEST_CASE(prelu_learns_its_slope) {
    nn::PReLU act({.num_parameters = 1, .init = 0.25, .dtype = kFloat64});
    Tensor x = tensor({-2.0, -1.0, 3.0}, kFloat64);
    act(x).sum().backward();
    check_values(act.weight.grad(), {-3.0});  // d/da sum(a x for x < 0) = sum of the negative x
    check_values(act(x), {-0.5, -0.25, 3.0});
}

BOOST_AUTO_TEST_CASE(losses_match_hand_computed_values) {
    // Two samples, logits (0, 0, ln 2) and (1, 1, 1): p = (1/4, 1/4, 1/2) and (1/3, 1/3, 1/3).
    Tensor logits = tensor({{0.0, 0.0, std::log(2.0)}, {1.0, 1.0, 1.0}}, kFloat64);
    Tensor target = tensor({2, 0}, kInt64);
    const double ce = (-std::log(0.5) - std::log(1.0 / 3)) / 2;
    check_values(nn::F::cross_entropy(logits, target), {ce}, 1e-12);
    nn::CrossEntropyLoss loss_module;
    check_values(loss_module(logits, target), {ce}, 1e-12);
    // Class weights (1, 1, 3): mean divides by the weights of the targets, 3 + 1.
    const double weighted = (3 * -std::log(0.5) + 1 * -std::log(1.0 / 3)) / 4;
    check_values(nn::F::cross_entropy(logits, target, {.weight = tensor({1.0, 1.0, 3.0}, kFloat64)}), {weighted},
                 1e-12);
    // Label smoothing 0.3: (1 - 0.3) nll + 0.3 * mean over classes of -log p.
    const double smooth0 = -(std::log(0.25) * 2 + std::log(0.5)) / 3, smooth1 = -std::log(1.0 / 3);
    const double smoothed = 0.7 * ce + 0.3 * (smooth0 + smooth1) / 2;
    check_values(nn::F::cross_entropy(logits, target, {.label_smoothing = 0.3}), {smoothed}, 1e-12);
    // Logits of 1e4 stay finite.
    BOOST_TEST(std::isfinite(nn::F::cross_entropy(logits * 1e4, target).item()));
    // BCE with logits at +-100: log(1 + e^-100) ~ 0 and 100 exactly, no overflow.
    Tensor bce = nn::F::binary_cross_entropy_with_logits(
        tensor({100.0, -100.0}, kFloat64), tensor({1.0, 1.0}, kFloat64), Tensor(), Tensor(), nn::F::Reduction::none);
    check_values(bce, {0.0, 100.0}, 1e-12);
    check_values(nn::F::binary_cross_entropy(tensor({0.5}, kFloat64), tensor({1.0}, kFloat64)), {std::log(2.0)}, 1e-12);
    check_values(
        nn::F::smooth_l1_loss(tensor({0.0, 0.0}, kFloat64), tensor({0.5, 3.0}, kFloat64), nn::F::Reduction::none),
        {0.125, 2.5}, 1e-12);
    check_error(
        [&] {
            nn::F::cross_entropy(logits, tensor({3, 0}, kInt64));
        },
        {"cross_entropy", "target 3", "3 classes"});
    check_error(
        [&] {
            nn::F::cross_entropy(logits, tensor({1.0, 0.0}));
        },
        {"cross_entropy", "class-probability", "[2, 3]", "[2]"});
    check_error([&] { nn::F::nll_loss(logits, tensor({1.0, 0.0})); }, {"nll_loss", "int64"});
    check_error([&] { nn::F::mse_loss(logits, target); }, {"mse_loss", "[2, 3]", "[2]"});
}

BOOST_AUTO_TEST_CASE(losses_at_their_edges_follow_pytorch) {
    const Tensor logits = tensor({{0.0, 0.0, std::log(2.0)}, {1.0, 1.0, 1.0}}, kFloat64);
    // Every target ignored, mean: the loss is 0/0 = NaN and the gradient zeros (a batch of padding
    // must not turn the weights into NaN), on every path: fused, weighted, smoothed, nll.
    const Tensor ignored = tensor({-100, -100}, kInt64);
    const std::vector<std::function<Tensor(const Tensor&)>> losses = {
        [&](const Tensor& x) { return nn::F::cross_entropy(x, ignored); },
        [&](const Tensor& x) {
            return nn::F::cross_entropy(x, ignored, {.weight = tensor({1.0, 2.0, 3.0}, kFloat64)});
        },
        [&](const Tensor& x) { return nn::F::cross_entropy(x, ignored, {.label_smoothing = 0.2}); },
        [&](const Tensor& x) { return nn::F::nll_loss(log_softmax(x, 1), ignored); },
    };
    for (std::size_t k = 0; k < losses.size(); ++k) {
        BOOST_TEST_CONTEXT("loss " << k) {
            const Tensor x = logits.clone().requires_grad_();
            const Tensor loss = losses[k](x);
            BOOST_TEST(std::isnan(loss.item()));
            loss.backward();
            check_values(x.grad(), std::vector<double>(6, 0.0), 0);
        }
    }
    // Label smoothing with a class of weight 0: only ignored targets lose the smoothing term, so
    // sample 1 (target 0, weight 0) keeps 0.3 / 3 * sum_c w_c (-log p_c) = 0.1 * 4 * log 3.
    const double expected =
        0.7 * 3 * std::log(2.0) + 0.1 * (std::log(4.0) + 3 * std::log(2.0)) + 0.1 * 4 * std::log(3.0);
    check_values(
        nn::F::cross_entropy(
            logits, tensor({2, 0}, kInt64),
            {.weight = tensor({0.0, 1.0, 3.0}, kFloat64), .reduction = nn::F::Reduction::sum, .label_smoothing = 0.3}),
        {expected}, 1e-12);
    // BCE at p = 0 and 1: the logs clamp at -100 and the gradient is (p - t) / max(p (1 - p), 1e-12),
    // finite, instead of inf * 0 = NaN.
    for (const DType dtype : {kFloat64, kFloat32}) {
        BOOST_TEST_CONTEXT(dtype) {
            const Tensor p = tensor({0.0, 1.0, 0.0, 1.0}, dtype).requires_grad_();
            const Tensor loss =
                nn::F::binary_cross_entropy(p, tensor({0.0, 1.0, 1.0, 0.0}, dtype), Tensor(), nn::F::Reduction::sum);
            check_values(loss, {200.0}, 1e-5);
            loss.backward();
            check_values(p.grad(), {0.0, 0.0, -1e12, 1e12}, 1e5);
        }
    }
    check_error([] { nn::F::binary_cross_entropy(full({2}, 1.5), zeros({2})); }, {"binary_cross_entropy", "[0, 1]"});
    check_error([] { nn::F::binary_cross_entropy(full({2}, std::nan("")), zeros({2})); }, {"binary_cross_entropy"});
    check_error([] { nn::F::binary_cross_entropy(full({2}, 0.5), zeros({2}, kFloat64)); },
                {"binary_cross_entropy", "float32", "float64"});
    // A pos_weight that does not fit is named as such, not as a multiplication inside the loss.
    check_error(
        [] {
            nn::F::binary_cross_entropy_with_logits(zeros({2, 4}), zeros({2, 4}), Tensor(), ones({3}));
        },
        {"binary_cross_entropy_with_logits", "[3]", "[2, 4]"});
    check_error(
        [] {
            nn::F::binary_cross_entropy_with_logits(zeros({4}), zeros({4}), ones({2, 4}));
        },
        {"binary_cross_entropy_with_logits", "the weight of shape [2, 4]", "[4]"});
    // Empty inputs give empty outputs, as in PyTorch: a batch of none through GroupNorm, a softmax
    // over an empty dim.
    nn::GroupNorm norm({.num_groups = 2, .num_channels = 4});
    BOOST_TEST((norm(zeros({0, 4, 3})).sizes() == Shape{0, 4, 3}));
    BOOST_TEST((softmax(zeros({2, 0}), 1).sizes() == Shape{2, 0}));
    BOOST_TEST((log_softmax(zeros({0, 3}), 0).sizes() == Shape{0, 3}));
    // One PReLU slope keeps a 0-d input 0-d.
    nn::PReLU act;
    const Tensor y = act(scalar_tensor(-2.0));
    BOOST_TEST(y.dim() == 0);
    check_values(y, {-0.5});
}

BOOST_AUTO_TEST_CASE(more_activations_match_their_formulas) {
    const double e = std::exp(1.0);
    // softplus(0) = ln 2; beta 2 at 1: ln(1 + e^2) / 2; past the threshold x itself, exactly.
    check_values(nn::F::softplus(tensor({0.0, 30.0}, kFloat64)), {std::log(2.0), 30.0}, 1e-12);
    check_values(nn::F::softplus(tensor({1.0}, kFloat64), 2.0), {std::log1p(e * e) / 2}, 1e-12);
    check_error([] { nn::F::softplus(tensor({1.0}), 0.0); }, {"softplus", "beta"});
    nn::Softplus softplus_module({.beta = 2.0});
    check_values(softplus_module(tensor({1.0}, kFloat64)), {std::log1p(e * e) / 2}, 1e-12);
    // silu(1) = sigmoid(1); mish(1) = tanh(ln(1 + e)).
    nn::SiLU silu;
    nn::Mish mish;
    check_values(silu(tensor({1.0, 0.0}, kFloat64)), {1 / (1 + 1 / e), 0.0}, 1e-12);
    check_values(mish(tensor({1.0}, kFloat64)), {std::tanh(std::log1p(e))}, 1e-12);
    // hardtanh: clamped, gradient 1 strictly inside and 0 outside and at the edges (PyTorch's).
    const Tensor x = tensor({-2.0, -1.0, -0.5, 0.5, 1.0, 2.0}, kFloat64).requires_grad_();
    nn::Hardtanh hardtanh;
    const Tensor y = hardtanh(x);
    check_values(y, {-1, -1, -0.5, 0.5, 1, 1}, 0);
    y.sum().backward();
    check_values(x.grad(), {0, 0, 1, 1, 0, 0}, 0);
    check_error([] { nn::F::hardtanh(tensor({1.0}), 1.0, -1.0); }, {"hardtanh", "min_val (1)", "max_val (-1)"});
    nn::ReLU6 relu6;
    check_values(relu6(tensor({-1.0, 3.0, 7.0}, kFloat64)), {0, 3, 6}, 0);
    nn::Softsign softsign;
    check_values(softsign(tensor({1.0, -3.0}, kFloat64)), {0.5, -0.75}, 1e-15);
    // logsigmoid stays finite far out: log sigmoid(-100) = -100 - log(1 + e^-100).
    nn::LogSigmoid logsigmoid;
    const Tensor far = tensor({-100.0, 0.0, 100.0}, kFloat64).requires_grad_();
    const Tensor ls = logsigmoid(far);
    check_values(ls, {-100.0, -std::log(2.0), -std::exp(-100.0)}, 1e-12);
    ls.sum().backward();
    check_values(far.grad(), {1.0, 0.5, 0.0}, 1e-12);  // sigmoid(-x)
    // No threshold: at -21 the value is -21 - log(1 + e^-21), not -21 (PyTorch: -21.000000000758256).
    const Tensor minus21 = tensor({-21.0}, kFloat64).requires_grad_();
    const Tensor l21 = nn::F::logsigmoid(minus21);
    BOOST_TEST(l21.item() == -21.0 - std::log1p(std::exp(-21.0)));
    l21.backward();
    BOOST_TEST(std::abs(minus21.grad().item() - 1 / (1 + std::exp(-21.0))) < 1e-15);
    nn::Hardsigmoid hardsigmoid;
    nn::Hardswish hardswish;
    const Tensor h = tensor({-4.0, 0.0, 1.5, 4.0}, kFloat64);
    check_values(hardsigmoid(h), {0, 0.5, 0.75, 1}, 1e-15);
    check_values(hardswish(h), {0, 0, 1.125, 4}, 1e-15);
    // At the kinks, PyTorch's gradients: hardsigmoid 0 at both; hardswish the middle piece's slope.
    const Tensor kinks = tensor({-3.0, 3.0}, kFloat64).requires_grad_();
    hardsigmoid(kinks).sum().backward();
    check_values(kinks.grad(), {0, 0}, 0);
    kinks.grad().zero_();
    hardswish(kinks).sum().backward();
    check_values(kinks.grad(), {-0.5, 1.5}, 1e-15);
    // NaN stays NaN; infinite inputs give PyTorch's gradients (0 and 1), not NaN.
    BOOST_TEST(std::isnan(hardsigmoid(tensor({std::nan("")}, kFloat64)).item()));
    BOOST_TEST(std::isnan(hardswish(tensor({std::nan("")}, kFloat64)).item()));
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor infinite = tensor({-inf, inf}, kFloat64).requires_grad_();
    hardswish(infinite).sum().backward();
    check_values(infinite.grad(), {0, 1}, 0);
    BOOST_TEST(nn::Hardswish().type_name() == "Hardswish");
}

BOOST_AUTO_TEST_CASE(huber_kl_div_and_cosine_similarity_match_hand_computed_values) {
    // |d| = 0.5 (quadratic: 0.125) and 2 (linear: 2 - 0.5 = 1.5), delta 1.
    const Tensor input = tensor({0.0, 0.0}, kFloat64), target = tensor({0.5, -2.0}, kFloat64);
    check_values(nn::F::huber_loss(input, target, nn::F::Reduction::none), {0.125, 1.5}, 1e-15);
    nn::HuberLoss huber({.delta = 1.0});
    check_values(huber(input, target), {0.8125}, 1e-15);
    // Huber at delta = beta is beta times smooth L1.
    check_values(nn::F::huber_loss(input, target, nn::F::Reduction::sum, 0.7),
                 {0.7 * nn::F::smooth_l1_loss(input, target, nn::F::Reduction::sum, 0.7).item()}, 1e-12);
    check_error([&] { nn::F::huber_loss(input, target, nn::F::Reduction::mean, 0.0); }, {"huber_loss", "delta"});
    // An infinite difference: the linear part's gradient, +-delta, not NaN (smooth L1 likewise).
    const double inf = std::numeric_limits<double>::infinity();
    const Tensor far_input = tensor({inf, -inf}, kFloat64).requires_grad_();
    nn::F::huber_loss(far_input, tensor({0.0, 0.0}, kFloat64), nn::F::Reduction::sum, 0.5).backward();
    check_values(far_input.grad(), {0.5, -0.5}, 0);
    far_input.grad().zero_();
    nn::F::smooth_l1_loss(far_input, tensor({0.0, 0.0}, kFloat64), nn::F::Reduction::sum, 0.5).backward();
    check_values(far_input.grad(), {1, -1}, 0);

    // KL(p || q) for p = (1/2, 1/2, 0), q = (1/4, 1/4, 1/2): 2 * 1/2 ln 2 = ln 2; the zero in p adds 0.
    const Tensor log_q = tensor({{0.25, 0.25, 0.5}}, kFloat64).log().requires_grad_();
    const Tensor p = tensor({{0.5, 0.5, 0.0}}, kFloat64);
    nn::KLDivLoss kl({.reduction = nn::F::KLDivReduction::batchmean});
    const Tensor divergence = kl(log_q, p);
    check_values(divergence, {std::log(2.0)}, 1e-12);
    divergence.backward();
    check_values(log_q.grad(), {-0.5, -0.5, 0.0}, 1e-15);  // -p / batch
    check_values(nn::F::kl_div(log_q, p, {.reduction = nn::F::KLDivReduction::mean}), {std::log(2.0) / 3}, 1e-12);
    check_values(nn::F::kl_div(log_q, tensor({{0.5, 0.5, 1e-300}}, kFloat64).log(), {.log_target = true}),
                 {std::log(2.0) / 3}, 1e-12);
    check_values(nn::F::kl_div(log_q, p, {.reduction = nn::F::KLDivReduction::none}),
                 {0.5 * std::log(2.0), 0.5 * std::log(2.0), 0.0}, 1e-12);
    check_error([&] { nn::F::kl_div(log_q, tensor({0.5, 0.5, 0.0}, kFloat64)); }, {"kl_div", "[1, 3]", "[3]"});

    // (1, 0) against (1, 1) and (0, 2): 1 / sqrt 2 and 0; a zero vector gives 0, not NaN.
    const Tensor a = tensor({{1.0, 0.0}, {1.0, 0.0}, {0.0, 0.0}}, kFloat64);
    const Tensor b = tensor({{1.0, 1.0}, {0.0, 2.0}, {1.0, 1.0}}, kFloat64);
    check_values(nn::F::cosine_similarity(a, b), {1 / std::sqrt(2.0), 0.0, 0.0}, 1e-15);
    check_values(nn::F::cosine_similarity(a, tensor({2.0, 0.0}, kFloat64)), {1.0, 1.0, 0.0}, 1e-15);
    // Each norm is clamped at eps on its own, as in PyTorch 1.13: tiny vectors keep their angle
    // (PyTorch: 0.7071), and at a zero vector the gradient is the other's unit vector / eps.
    check_values(nn::F::cosine_similarity(tensor({1e-5, 0.0}, kFloat64), tensor({1e-5, 1e-5}, kFloat64), 0),
                 {1 / std::sqrt(2.0)}, 1e-12);
    const Tensor zero_vector = zeros({2}, kFloat64).requires_grad_();
    nn::F::cosine_similarity(zero_vector, tensor({1.0, 1.0}, kFloat64), 0).backward();
    check_values(zero_vector.grad(), {1 / std::sqrt(2.0) / 1e-8, 1 / std::sqrt(2.0) / 1e-8}, 1e-6);
    BOOST_TEST(nn::F::cosine_similarity(scalar_tensor(2.0), scalar_tensor(3.0), 0).item() == 1.0);
    check_error([&] { nn::F::cosine_similarity(a, b, 2); }, {"cosine_similarity", "dim"});
    // A negative target has no logarithm: NaN, as in PyTorch.
    BOOST_TEST(std::isnan(nn::F::kl_div(log_q, tensor({{0.5, -0.5, 1.0}}, kFloat64)).item()));
    check_error([&] { nn::F::cosine_similarity(a, tensor({1.0, 2.0, 3.0})); }, {"cosine_similarity", "[3, 2]", "[3]"});
}

BOOST_AUTO_TEST_CASE(cross_entropy_over_positions_and_with_class_probabilities) {
    // [N = 1, C = 3, L = 2]: position 0 has logits (0, 0, ln 2), position 1 (1, 1, 1).
    const Tensor logits = tensor({{0.0, 1.0}, {0.0, 1.0}, {std::log(2.0), 1.0}}, kFloat64).unsqueeze(0);
    const Tensor target = tensor({{2, 0}}, kInt64);  // [N, L]
    const double l0 = -std::log(0.5), l1 = -std::log(1.0 / 3);
    const Tensor none = nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::none});
    BOOST_TEST((none.sizes() == Shape{1, 2}));
    check_values(none, {l0, l1}, 1e-12);
    check_values(nn::F::cross_entropy(logits, target), {(l0 + l1) / 2}, 1e-12);
    // Class weights (1, 1, 3) and an ignored position: the mean divides by the kept weights.
    const Tensor ignored = tensor({{2, -100}}, kInt64);
    check_values(nn::F::cross_entropy(logits, ignored, {.weight = tensor({1.0, 1.0, 3.0}, kFloat64)}), {l0}, 1e-12);
    check_values(nn::F::nll_loss(log_softmax(logits, 1), target, {.reduction = nn::F::Reduction::sum}), {l0 + l1},
                 1e-12);
    check_values(nn::F::cross_entropy(logits.select(0, 0).select(1, 1), scalar_tensor(0, kInt64)), {l1},
                 1e-12);  // unbatched
    check_error(
        [&] {
            nn::F::cross_entropy(logits, tensor({2, 0}, kInt64));
        },
        {"cross_entropy", "[2]", "[1, 3, 2]", "[1, 2]"});

    // Probability targets: -sum_c t_c log p_c per sample, mean over samples.
    const Tensor rows =
        tensor({{0.0, 0.0, std::log(2.0)}, {1.0, 1.0, 1.0}}, kFloat64);  // p = (1/4, 1/4, 1/2), (1/3, ...)
    const Tensor soft = tensor({{0.5, 0.0, 0.5}, {0.2, 0.2, 0.6}}, kFloat64);
    const double s0 = -(0.5 * std::log(0.25) + 0.5 * std::log(0.5)), s1 = -std::log(1.0 / 3);
    check_values(nn::F::cross_entropy(rows, soft, {.reduction = nn::F::Reduction::none}), {s0, s1}, 1e-12);
    check_values(nn::F::cross_entropy(rows, soft), {(s0 + s1) / 2}, 1e-12);
    // Weights scale each class's term; the mean still divides by the 2 samples.
    const double w0 = -(0.5 * std::log(0.25) + 3 * 0.5 * std::log(0.5)),
                 w1 = -(0.2 + 0.2 + 3 * 0.6) * std::log(1.0 / 3);
    check_values(nn::F::cross_entropy(rows, soft, {.weight = tensor({1.0, 1.0, 3.0}, kFloat64)}), {(w0 + w1) / 2},
                 1e-12);
    // Smoothing 0.3 mixes the target with 1/3 everywhere.
    const double m0 = -((0.35 + 0.1) * std::log(0.25) + 0.1 * std::log(0.25) + (0.35 + 0.1) * std::log(0.5));
    check_values(nn::F::cross_entropy(rows, soft, {.reduction = nn::F::Reduction::none, .label_smoothing = 0.3}),
                 {m0, s1}, 1e-12);
    // One-hot probabilities give the index form's loss.
    check_values(nn::F::cross_entropy(rows, one_hot(tensor({2, 0}, kInt64), 3).to(kFloat64)),
                 nn::F::cross_entropy(rows, tensor({2, 0}, kInt64)).to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(forward_hooks_run_in_order_and_their_handles_are_safe) {
    auto fc = std::make_shared<nn::Linear>(nn::LinearOptions{.in_features = 2, .out_features = 3});
    std::string order;
    nn::RemovableHandle a = fc->register_forward_hook([&](nn::Module&, const Tensor& in, const Tensor& out) {
        BOOST_TEST((in.sizes() == Shape{1, 2} && out.sizes() == Shape{1, 3}));
        order += "a";
    });
    // b removes itself and d (before d's turn: d never runs) on its first call and adds c,
    // which runs from the next call on.
    nn::RemovableHandle b, c, d;
    b = fc->register_forward_hook([&](nn::Module& m, const Tensor&, const Tensor&) {
        order += "b";
        b.remove();
        d.remove();
        c = m.register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { order += "c"; });
    });
    d = fc->register_forward_hook([&](nn::Module&, const Tensor&, const Tensor&) { order += "d"; });
    const Tensor x = ones({1, 2});
    (*fc)(x);
    BOOST_TEST(order == "ab");
    (*fc)(x);
    BOOST_TEST(order == "abac");
    a.remove();
    a.remove();  // twice: nothing
    (*fc)(x);
    BOOST_TEST(order == "abacc");
    BOOST_TEST(fc->has_forward_hooks());
    // A handle outliving its module: remove() does nothing (ASan would see a use after free).
    fc.reset();
    c.remove();
    nn::RemovableHandle().remove();  // a default handle holds no hook
    nn::Linear plain({.in_features = 2, .out_features = 2});
    BOOST_TEST(!plain.has_forward_hooks());
    check_error([&] { plain.register_forward_hook(nullptr); }, {"Linear", "register_forward_hook", "empty"});
}

BOOST_AUTO_TEST_CASE(penalties_follow_their_formulas) {
    Tensor w = tensor({{1.0, -2.0}}, kFloat64).requires_grad_();
    check_values(nn::l2_penalty({w}, 0.5), {0.25 * 5}, 1e-12);
    check_values(nn::l1_penalty({w}, 0.5), {1.5}, 1e-12);
    check_values(nn::elastic_net_penalty({w}, 0.5, 0.5), {1.5 + 1.25}, 1e-12);
    nn::l2_penalty({w}, 0.5).backward();
    check_values(w.grad(), {0.5, -1.0}, 1e-12);  // lambda w: what weight_decay adds
    Net net;
    BOOST_TEST(nn::parameters_named(net.named_parameters(), "weight").size() == 3u);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nn_init)

BOOST_AUTO_TEST_CASE(initializers_have_the_documented_statistics) {
    Generator g(11);
    Tensor w = empty({400, 500}, kFloat64);  // fan_in 500, fan_out 400
    auto stats = [&] { return std::make_pair(w.mean().item(), w.var().item()); };

    nn::init::uniform_(w, -0.5, 1.5, &g);
    BOOST_TEST(w.min().item() >= -0.5);
    BOOST_TEST(w.max().item() < 1.5);
    BOOST_TEST(std::abs(stats().first - 0.5) < 0.01);
    nn::init::normal_(w, 1.0, 2.0, &g);
    BOOST_TEST(std::abs(stats().first - 1.0) < 0.02);
    BOOST_TEST(std::abs(stats().second - 4.0) < 0.05);
    nn::init::trunc_normal_(w, 0.0, 1.0, -1.0, 1.0, &g);
    BOOST_TEST(w.min().item() >= -1.0);
    BOOST_TEST(w.max().item() <= 1.0);
    // N(0,1) truncated to [-1, 1] has variance 1 - 2 phi(1) / (2 Phi(1) - 1) = 0.29112.
    BOOST_TEST(std::abs(stats().second - 0.29112) < 0.005);
    // Far in a tail (5 to 6 std keeps 3 in 10 million draws, which redrawing never reached) and
    // narrow, the inverse of the distribution function: the truncated normal's mean and variance,
    // m = (phi(a) - phi(b)) / Z and 1 + (a phi(a) - b phi(b)) / Z - m^2, Z = Phi(b) - Phi(a).
    for (const auto& [a, b] : {std::pair{5.0, 6.0}, std::pair{-6.0, -4.5}, std::pair{-0.01, 0.02}}) {
        BOOST_TEST_CONTEXT("[" << a << ", " << b << "]") {
            Tensor t = empty({20000}, kFloat64);
            nn::init::trunc_normal_(t, 0.0, 1.0, a, b, &g);
            const auto phi = [](double x) { return std::exp(-x * x / 2) / std::sqrt(2 * M_PI); };
            const double z = 0.5 * (std::erfc(-b / std::sqrt(2.0)) - std::erfc(-a / std::sqrt(2.0)));
            const double m = (phi(a) - phi(b)) / z, v = 1 + (a * phi(a) - b * phi(b)) / z - m * m;
            BOOST_TEST(t.min().item() >= a);
            BOOST_TEST(t.max().item() <= b);
            BOOST_TEST(std::abs(t.mean().item() - m) < 0.02 * std::sqrt(v) + 1e-12);
            BOOST_TEST(std::abs(t.var().item() - v) < 0.05 * v);
        }
    }
    // Tensors without elements are left alone (orthogonal_ divided by their 0 rows).
    Tensor none = empty({0, 5});
    nn::init::orthogonal_(none);
    nn::init::kaiming_uniform_(none);
    nn::init::xavier_normal_(none);
    BOOST_TEST((none.sizes() == Shape{0, 5}));

    const double xavier_var = 2.0 / (500 + 400);
    nn::init::xavier_uniform_(w, 1.0, &g);
    BOOST_TEST(w.abs().max().item() <= std::sqrt(6.0 / 900));
    BOOST_TEST(std::abs(stats().second - xavier_var) < 0.03 * xavier_var);
    nn::init::xavier_normal_(w, 1.0, &g);
    BOOST_TEST(std::abs(stats().second - xavier_var) < 0.03 * xavier_var);

    const double he_var = 2.0 / 500;
    nn::init::kaiming_normal_(w, 0.0, nn::init::FanMode::fan_in, nn::init::Nonlinearity::relu, &g);
    BOOST_TEST(std::abs(stats().second - he_var) < 0.03 * he_var);
    nn::init::kaiming_uniform_(w, 0.0, nn::init::FanMode::fan_out, nn::init::Nonlinearity::relu, &g);
    BOOST_TEST(w.abs().max().item() <= std::sqrt(6.0 / 400));
    BOOST_TEST(std::abs(stats().second - 2.0 / 400) < 0.03 * 2.0 / 400);

    for (auto dist :
         {nn::init::Distribution::normal, nn::init::Distribution::truncated_normal, nn::init::Distribution::uniform}) {
        nn::init::variance_scaling_(w, 2.0, nn::init::FanMode::fan_avg, dist, &g);
        BOOST_TEST(std::abs(stats().second - 2.0 / 450) < 0.03 * 2.0 / 450);
        BOOST_TEST(std::abs(stats().first) < 0.002);
    }

    nn::init::constant_(w, 0.3);
    BOOST_TEST(w.min().item() == 0.3);
    nn::init::zeros_(w);
    BOOST_TEST(w.abs().max().item() == 0.0);
}

BOOST_AUTO_TEST_CASE(gains_fans_and_orthogonal_matrices) {
    BOOST_TEST(nn::init::calculate_gain(nn::init::Nonlinearity::relu) == std::sqrt(2.0));
    BOOST_TEST(nn::init::calculate_gain(nn::init::Nonlinearity::tanh) == 5.0 / 3);
    BOOST_TEST(nn::init::calculate_gain(nn::init::Nonlinearity::leaky_relu, 0.2) == std::sqrt(2.0 / 1.04));
    const auto [in, out] = nn::init::calculate_fan_in_and_fan_out(empty({8, 3, 5}));
    BOOST_TEST(in == 15);
    BOOST_TEST(out == 40);
    for (const Shape& shape : {Shape{6, 4}, Shape{4, 6}}) {
        Tensor q = empty(shape, kFloat64);
        nn::init::orthogonal_(q);
        const Tensor gram = shape[0] >= shape[1] ? matmul(q.t(), q) : matmul(q, q.t());
        check_values(gram, eye(4, kFloat64).to_vector<double>(), 1e-12);
    }
    check_error([] { nn::init::xavier_uniform_(empty({5})); }, {"fan in", "[5]"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nn_regularization)

BOOST_AUTO_TEST_CASE(dropout_keeps_the_expectation_and_is_reproducible) {
    Tensor x = ones({1000, 1000});
    nn::Dropout drop({.p = 0.3});
    manual_seed(5);
    Tensor y = drop(x);
    const double kept = (y > 0.0).to(kFloat64).mean().item();
    BOOST_TEST(std::abs(kept - 0.7) < 0.002);
    BOOST_TEST(std::abs(y.mean().item() - 1.0) < 0.005);  // inverted scaling keeps E[y] = x
    BOOST_TEST(std::abs(y.max().item() - 1.0 / 0.7) < 1e-5);
    manual_seed(5);
    BOOST_TEST(equal(drop(x), y));  // one seed, one mask
    drop.eval();
    BOOST_TEST(equal(drop(x), x));  // identity in eval

    nn::Dropout paper({.p = 0.3, .scale_at_test = true});
    Tensor t = paper(x);
    BOOST_TEST(t.max().item() == 1.0);  // training: no scaling
    paper.eval();
    check_values(paper(tensor({2.0})), {1.4}, 1e-6);  // test: times retention 0.7
    check_error([] { nn::Dropout({.p = 1.5}); }, {"Dropout", "between 0 and 1"});
}

BOOST_AUTO_TEST_CASE(dropout_mask_is_the_bernoulli_draw_scaled) {
    // The scaled mask comes from one kernel pass; it must be the 0/1 draw times 1 / (1 - p), bit
    // for bit, and the draw must be "uniform < keep" on SplitMix64's stream (written out here in
    // its usual sequential form), seeded by one number from the generator, each 64-bit output
    // giving two 32-bit uniforms, low half first.
    const Tensor x = randn({257, 33});
    for (double p : {0.1, 0.5, 1.0 / 3}) {
        Generator a(11), b(11), c(11);
        const Tensor dropped = nn::F::dropout(x, p, true, &a);
        const Tensor mask = bernoulli(x.sizes(), 1 - p, kFloat32, &b);
        BOOST_TEST(equal(dropped, x * (mask * (1.0 / (1 - p)))));
        uint64_t state = c.next_u64();
        const auto splitmix64_next = [&state] {
            uint64_t z = (state += 0x9e3779b97f4a7c15);
            z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9;
            z = (z ^ (z >> 27)) * 0x94d049bb133111eb;
            return z ^ (z >> 31);
        };
        const std::vector<float> m = mask.to_vector<float>();
        uint64_t bits = 0;
        for (std::size_t i = 0; i < m.size(); ++i) {
            if (i % 2 == 0) bits = splitmix64_next();
            const auto half = static_cast<uint32_t>(i % 2 == 0 ? bits : bits >> 32);
            const double u = static_cast<double>(half) * 0x1.0p-32;
            BOOST_TEST_REQUIRE((m[i] == (u < 1 - p ? 1.0f : 0.0f)));
        }
        BOOST_TEST(a.next_u64() == c.next_u64());  // a mask takes one number from the generator
    }
    check_error([&] { nn::F::dropout(tensor({1, 2, 3}, kInt64), 0.5, true); }, {"dropout", "floating", "int64"});
    check_error([&] { dropout_with_key(x, 0.0, 1); }, {"dropout", "retention", "(0, 1]", "got 0"});
    check_error([&] { dropout_with_key(x, 1.5, 1); }, {"dropout", "got 1.5"});
    // The mask follows the logical order: a transposed view is masked as its contiguous copy.
    const Tensor view = x.t();
    Generator d(5), e(5);
    BOOST_TEST(equal(nn::F::dropout(view, 0.3, true, &d), nn::F::dropout(view.contiguous(), 0.3, true, &e)));
    // The backward recomputes the mask from the key: the gradient is the mask times 1 / keep.
    const Tensor leaf = x.detach().requires_grad_();
    Generator f(6), h(6);
    nn::F::dropout(leaf, 0.25, true, &f).sum().backward();
    BOOST_TEST(equal(leaf.grad(), bernoulli(x.sizes(), 0.75, kFloat32, &h) * (1 / 0.75)));
    Generator g(3);
    BOOST_TEST(bernoulli({1000}, 1.0, kFloat32, &g).min().item() == 1.0);  // p = 1: every draw
    BOOST_TEST(bernoulli({1000}, 0.0, kFloat32, &g).max().item() == 0.0);  // p = 0: none
}

BOOST_AUTO_TEST_CASE(dropout2d_drops_whole_channels) {
    nn::Dropout2d drop({.p = 0.5});
    Tensor y = drop(ones({8, 16, 10}));
    const Tensor per_channel = y.sum({2});  // each (n, c) is all kept (10 * 2) or all dropped (0)
    for (double v : per_channel.to_vector<double>()) BOOST_TEST((v == 0.0 || v == 20.0));
    check_error([&] { drop(ones({3, 4})); }, {"dropout2d", "[3, 4]"});
}

BOOST_AUTO_TEST_CASE(mc_dropout_samples_the_dropout_posterior) {
    // Dropout(0.5) on a constant input 1 feeding Linear(1, 2) with weights (a, 0): each pass gives
    // logits (2a, 0) or (0, 0), so P(class 0) is sigmoid(2a) = 0.75 (a = ln 3 / 2) or 0.5, each half
    // the time: mean 0.625, standard deviation 0.125.
    nn::Sequential model;
    model.emplace<nn::Dropout>({.p = 0.5});
    auto& fc = model.emplace<nn::Linear>({.in_features = 1, .out_features = 2});
    auto& bn = model.emplace<nn::BatchNorm1d>({.num_features = 2, .affine = false});
    {
        NoGradGuard no_grad;
        fc.weight.copy_(tensor({std::log(3.0) / 2, 0.0}).view({2, 1}));
        fc.bias.zero_();
    }
    model.emplace<nn::Identity>();
    manual_seed(3);
    const Tensor before = bn.running_mean.clone();
    model.train();
    const nn::McDropoutPrediction pred = nn::mc_dropout_predict(model, ones({200, 1}), 400);
    BOOST_TEST(std::abs(pred.mean.select(1, 0).mean().item() - 0.625) < 0.003);
    BOOST_TEST(std::abs(pred.std.select(1, 0).mean().item() - 0.125) < 0.003);
    check_values(pred.mean.sum({1}), std::vector<double>(200, 1.0), 1e-6);  // still probabilities
    BOOST_TEST(!pred.mean.requires_grad());
    BOOST_TEST(equal(bn.running_mean, before));  // BatchNorm ran in eval mode: statistics untouched
    for (nn::Module* m : model.modules()) BOOST_TEST(m->is_training());  // modes restored

    // Without dropout every pass is the same: no spread, and the mean is the eval prediction.
    nn::Sequential plain;
    plain.emplace<nn::Linear>({.in_features = 3, .out_features = 4});
    plain.eval();
    const Tensor x = random_tensor({5, 3});
    const nn::McDropoutPrediction fixed = nn::mc_dropout_predict(plain, x, 3);
    BOOST_TEST(fixed.std.max().item() < 1e-6);
    check_values(fixed.mean, softmax(plain(x), 1).to_vector<double>(), 1e-6);
    BOOST_TEST(!plain.is_training());
    check_error([&] { nn::mc_dropout_predict(plain, x, 0); }, {"mc_dropout_predict", "at least one sample"});
    check_error([&] { nn::mc_dropout_predict(plain, ones({2, 2, 3}), 2); }, {"mc_dropout_predict", "[2, 2, 4]"});
}

BOOST_AUTO_TEST_CASE(mc_dropout_of_a_multi_label_model_called_its_own_way) {
    // Two inputs summed, Dropout(0.5), then Linear(1, 2) with weights (ln 3, 0) and bias (0, -ln 3):
    // label 0 is sigmoid(ln 3 * 2) = 0.9 or sigmoid(0) = 0.5 (mean 0.7, spread 0.2) and label 1 is
    // always sigmoid(-ln 3) = 0.25; sigmoids of their own, so a row need not sum to 1.
    nn::Sequential model;
    auto& drop = model.emplace<nn::Dropout>({.p = 0.5});
    auto& fc = model.emplace<nn::Linear>({.in_features = 1, .out_features = 2});
    {
        NoGradGuard no_grad;
        fc.weight.copy_(tensor({std::log(3.0), 0.0}).view({2, 1}));
        fc.bias.copy_(tensor({0.0, -std::log(3.0)}));
    }
    const Tensor a = full({300, 1}, 0.25), b = full({300, 1}, 0.75);
    manual_seed(5);
    model.eval();
    const nn::McDropoutPrediction pred = nn::mc_dropout_predict(
        model, [&] { return fc(drop(a + b)); }, 400, nn::McOutput::sigmoid);
    BOOST_TEST(std::abs(pred.mean.select(1, 0).mean().item() - 0.7) < 0.004);
    BOOST_TEST(std::abs(pred.std.select(1, 0).mean().item() - 0.2) < 0.004);
    check_values(pred.mean.select(1, 1), std::vector<double>(300, 0.25), 1e-6);
    BOOST_TEST(pred.std.select(1, 1).max().item() < 1e-6);
    BOOST_TEST(!model.is_training());  // eval mode restored
    BOOST_TEST(!drop.is_training());
    // An error inside a pass still restores the modes.
    check_error(
        [&] {
            nn::mc_dropout_predict(
                model,
                [&]() -> Tensor {
                    return fc(ones({2, 3}));
                },
                2);
        },
        {"[2, 3]"});
    BOOST_TEST(!drop.is_training());
}

BOOST_AUTO_TEST_CASE(batchnorm_running_statistics_match_the_formulas) {
    nn::BatchNorm1d bn({.num_features = 2, .momentum = 0.1, .dtype = kFloat64});
    std::vector<double> mean = {0, 0}, var = {1, 1};
    Generator g(2);
    for (int step = 0; step < 5; ++step) {
        Tensor x = normal({8, 2}, 3.0, 2.0, kFloat64, &g);
        Tensor y = bn(x);
        // In training the output is normalized with the batch's own (biased) statistics.
        check_values(y.mean({0}), {0, 0}, 1e-12);
        check_values(y.var({0}, false),
                     {1 - 1e-5 / (x.var({0}, false).to_vector<double>()[0] + 1e-5),
                      1 - 1e-5 / (x.var({0}, false).to_vector<double>()[1] + 1e-5)},
                     1e-9);
        const auto m = x.mean({0}).to_vector<double>(), v = x.var({0}, true).to_vector<double>();
        for (int c = 0; c < 2; ++c) {
            mean[c] = 0.9 * mean[c] + 0.1 * m[c];
            var[c] = 0.9 * var[c] + 0.1 * v[c];  // unbiased, as Ioffe & Szegedy prescribe for inference
        }
    }
    check_values(bn.running_mean, mean, 1e-12);
    check_values(bn.running_var, var, 1e-12);
    BOOST_TEST(bn.num_batches_tracked.item() == 5.0);
    bn.eval();
    Tensor z = tensor({{1.0, 2.0}}, kFloat64);
    check_values(bn(z), {(1 - mean[0]) / std::sqrt(var[0] + 1e-5), (2 - mean[1]) / std::sqrt(var[1] + 1e-5)}, 1e-12);
    check_error([&] { bn(ones({4, 3}, kFloat64)); }, {"BatchNorm1d", "3 channels"});
    bn.train();
    check_error([&] { bn(ones({1, 2}, kFloat64)); }, {"more than 1 value per channel"});
    // An empty batch gives an empty output and leaves the running statistics alone (PyTorch).
    const Tensor empty_batch = zeros({0, 2}, kFloat64).requires_grad_();
    const Tensor nothing = bn(empty_batch);
    BOOST_TEST((nothing.sizes() == Shape{0, 2}));
    check_values(bn.running_mean, mean, 1e-12);
    check_values(bn.running_var, var, 1e-12);
    nothing.sum().backward();
    check_values(bn.weight.grad(), {0.0, 0.0});
}

BOOST_AUTO_TEST_CASE(batchnorm2d_normalizes_each_channel_over_batch_and_positions) {
    // BatchNorm2d on [N, C, H, W] is BatchNorm1d on [N, C, H W]: same outputs and running statistics.
    nn::BatchNorm2d bn2({.num_features = 3, .dtype = kFloat64});
    nn::BatchNorm1d bn1({.num_features = 3, .dtype = kFloat64});
    Generator g(4);
    for (int step = 0; step < 3; ++step) {
        const Tensor x = normal({4, 3, 5, 2}, 1.0, 3.0, kFloat64, &g);
        const Tensor y = bn2(x);
        check_values(y, bn1(x.reshape({4, 3, 10})).to_vector<double>(), 1e-12);
        check_values(y.mean({0, 2, 3}), {0, 0, 0}, 1e-12);
    }
    check_values(bn2.running_var, bn1.running_var.to_vector<double>(), 1e-12);
    bn2.eval();
    bn1.eval();
    const Tensor z = normal({2, 3, 2, 2}, 0.0, 1.0, kFloat64, &g);
    check_values(bn2(z), bn1(z.reshape({2, 3, 4})).to_vector<double>(), 1e-12);
    BOOST_TEST(bn2.named_buffers().size() == 3u);
    check_error([&] { bn2(ones({4, 3}, kFloat64)); }, {"BatchNorm2d", "[N, C, H, W]", "[4, 3]"});
}

BOOST_AUTO_TEST_CASE(groupnorm_matches_its_definition) {
    // Per sample and group of C / G channels: (x - mean) / sqrt(biased var + eps), then per-channel affine.
    nn::GroupNorm gn({.num_groups = 2, .num_channels = 4, .dtype = kFloat64});
    {
        NoGradGuard no_grad;
        gn.weight.copy_(tensor({1.0, 2.0, 3.0, 4.0}, kFloat64));
        gn.bias.copy_(tensor({0.5, 0.0, -0.5, 1.0}, kFloat64));
    }
    const Tensor x = random_tensor({2, 4, 3}, kFloat64, 9);
    const auto xv = x.to_vector<double>(), w = gn.weight.to_vector<double>(), b = gn.bias.to_vector<double>();
    std::vector<double> expected(xv.size());
    for (int n = 0; n < 2; ++n)
        for (int group = 0; group < 2; ++group) {
            double mean = 0, var = 0;
            for (int k = 0; k < 6; ++k) mean += xv[n * 12 + group * 6 + k] / 6;
            for (int k = 0; k < 6; ++k) var += std::pow(xv[n * 12 + group * 6 + k] - mean, 2) / 6;
            for (int k = 0; k < 6; ++k) {
                const int at = n * 12 + group * 6 + k, channel = group * 2 + k / 3;
                expected[at] = (xv[at] - mean) / std::sqrt(var + 1e-5) * w[channel] + b[channel];
            }
        }
    check_values(gn(x), expected, 1e-12);
    // No batch statistics: a batch of one, in either mode, gives the same.
    gn.eval();
    check_values(gn(x.narrow(0, 1, 1)), std::vector<double>(expected.begin() + 12, expected.end()), 1e-12);
    check_error([] { nn::GroupNorm({.num_groups = 3, .num_channels = 4}); }, {"GroupNorm", "multiple of num_groups"});
    check_error([&] { gn(ones({2, 3, 3}, kFloat64)); }, {"GroupNorm", "[N, 4, ...]", "[2, 3, 3]"});
    check_error([] { nn::F::group_norm(ones({2, 6}), 4); }, {"group_norm", "6 channels", "4 groups"});
}

BOOST_AUTO_TEST_CASE(layernorm_normalizes_each_sample) {
    nn::LayerNorm ln({.normalized_shape = {4}, .dtype = kFloat64});
    Tensor y = ln(tensor({{1.0, 2.0, 3.0, 4.0}, {-1.0, 0.0, 0.0, 1.0}}, kFloat64));
    check_values(y.mean({1}), {0, 0}, 1e-12);
    check_error([&] { ln(ones({2, 3}, kFloat64)); }, {"LayerNorm", "[3]", "[4]"});
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(nn_summary)

BOOST_AUTO_TEST_CASE(parameter_counts_match_the_lecture) {
    const int64_t n = 784, p = 256, l = 10;
    auto mlp = [&](int hidden_layers, bool bias) {
        auto model = std::make_shared<nn::Sequential>();
        model->emplace<nn::Linear>({.in_features = n, .out_features = p, .bias = bias});
        model->emplace<nn::ReLU>();
        for (int h = 1; h < hidden_layers; ++h) {
            model->emplace<nn::Linear>({.in_features = p, .out_features = p, .bias = bias});
            model->emplace<nn::ReLU>();
        }
        model->emplace<nn::Linear>({.in_features = p, .out_features = l, .bias = bias});
        return model;
    };
    auto one = mlp(1, false);
    BOOST_TEST(nn::summary(*one, {32, n}).total_params == n * p + p * l);
    auto three = mlp(3, false);
    BOOST_TEST(nn::summary(*three, {32, n}).total_params == n * p + 2 * p * p + p * l);
    auto with_bias = mlp(3, true);
    const nn::Summary s = nn::summary(*with_bias, {32, n});
    BOOST_TEST(s.total_params == n * p + 2 * p * p + p * l + 3 * p + l);
    BOOST_TEST(s.trainable_params == s.total_params);
    BOOST_TEST(s.rows.size() == 7u);
    BOOST_TEST((s.rows.back().output_shape == Shape{32, l}));
    std::ostringstream table;
    table << s;
    BOOST_TEST(table.str().find("Total params: 335,114") != std::string::npos);  // 784*256 + 2*256^2 + 2560 + 778
    Net net;
    const nn::Summary with_buffers = nn::summary(net, {2, 4});
    BOOST_TEST(with_buffers.non_trainable_params == 3 + 3 + 1);  // running mean, var, batch count
    BOOST_TEST(net.is_training());                               // mode restored
}

BOOST_AUTO_TEST_SUITE_END()
