// Prints one line per case, "<case> <64-bit digest>", of what a few training steps of each kind of
// model leave behind (parameters, running statistics, the last loss), from one
// seed. `make debug` and `make sanitize` run it in their builds and compare the lines with the
// Release build's: the bits of a result must not depend on the optimization level (-O3, -Og, the
// sanitizer build's -O1/-O2) any more than on the thread count. That holds because the library
// is compiled with -ffp-contract=off (CMakeLists.txt): GCC may otherwise fuse a * b + c into one
// rounding or not, differently at each level.
//
// Run with XGRAD_CONV=im2col: the Debug build in CI has no oneDNN, and oneDNN's convolution is a
// different computation with its own bits.
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {

// FNV-1a over the bytes of every tensor given, in order (each made contiguous first).
class Digest {
public:
    void add(const Tensor& t) {
        const Tensor c = t.detach().contiguous();
        const auto* bytes = static_cast<const unsigned char*>(c.data().raw_data());
        const std::size_t n = static_cast<std::size_t>(c.numel()) * element_size(c.dtype());
        for (std::size_t i = 0; i < n; ++i) hash_ = (hash_ ^ bytes[i]) * 0x100000001b3ULL;
    }
    void add(nn::Module& model) {
        for (const auto& [name, p] : model.named_parameters()) add(p);
        for (const auto& [name, b] : model.named_buffers()) add(b);
    }
    uint64_t value() const { return hash_; }

private:
    uint64_t hash_ = 0xcbf29ce484222325ULL;
};

void print(const char* name, const Digest& d) {
    std::printf("%s %016llx\n", name, (unsigned long long)d.value());
}

// A model, trained for a few steps of `optimizer` on random data from seed 7; the digest of the
// model's state and the last loss.
template <class Step>
Digest train(nn::Module& model, optim::Optimizer& optimizer, int steps, const Step& loss_of_step) {
    Digest d;
    Tensor loss;
    for (int i = 0; i < steps; ++i) {
        optimizer.zero_grad();
        loss = loss_of_step();
        loss.backward();
        optimizer.step();
    }
    d.add(model);
    d.add(loss);
    return d;
}

void mlp() {
    manual_seed(7);
    nn::Sequential model;
    model.emplace<nn::Linear>({.in_features = 300, .out_features = 256});
    model.emplace<nn::ReLU>();
    model.emplace<nn::Dropout>({.p = 0.2});
    model.emplace<nn::Linear>({.in_features = 256, .out_features = 48});
    model.emplace<nn::Tanh>();
    model.emplace<nn::BatchNorm1d>({.num_features = 48});
    model.emplace<nn::Linear>({.in_features = 48, .out_features = 5});
    optim::Adam adam(model.parameters(), {.lr = 1e-2, .weight_decay = 1e-4});
    const Tensor x = randn({128, 300}), y = randint(0, 5, {128});
    print("mlp_adam", train(model, adam, 5, [&] { return nn::F::cross_entropy(model(x), y); }));
}

void cnn() {
    manual_seed(7);
    nn::Sequential model;
    model.emplace<nn::Conv2d>({.in_channels = 2, .out_channels = 6, .kernel_size = 3, .padding = 1});
    model.emplace<nn::BatchNorm2d>({.num_features = 6});
    model.emplace<nn::ReLU>();
    model.emplace<nn::MaxPool2d>({.kernel_size = 2});
    model.emplace<nn::Flatten>();
    model.emplace<nn::Linear>({.in_features = 6 * 5 * 5, .out_features = 3});
    optim::SGD sgd(model.parameters(), {.lr = 0.05, .momentum = 0.9, .nesterov = true});
    const Tensor x = randn({8, 2, 10, 10}), y = randint(0, 3, {8});
    print("cnn_sgd_nesterov", train(model, sgd, 4, [&] { return nn::F::cross_entropy(model(x), y); }));
}

void lstm() {
    manual_seed(7);
    nn::LSTM model({.input_size = 9, .hidden_size = 16, .num_layers = 2, .dropout = 0.3, .bidirectional = true});
    optim::RMSprop rmsprop(model.parameters(), {.lr = 1e-2});
    const Tensor x = randn({7, 4, 9}), target = randn({7, 4, 32});
    print("lstm_rmsprop", train(model, rmsprop, 3, [&] { return nn::F::mse_loss(model(x), target); }));
}

void transformer() {
    manual_seed(7);
    nn::TransformerEncoderLayer model({.d_model = 16,
                                       .nhead = 4,
                                       .dim_feedforward = 32,
                                       .dropout = 0.1,
                                       .activation = nn::TransformerActivation::gelu});
    optim::NAdam nadam(model.parameters(), {.lr = 1e-2});
    const Tensor x = randn({6, 3, 16}), target = randn({6, 3, 16});
    print("transformer_nadam", train(model, nadam, 3, [&] { return nn::F::mse_loss(model(x), target); }));
}

// The element-wise math and reductions alone, with their gradients.
void functions() {
    manual_seed(7);
    const Tensor x = randn({257, 300});
    x.requires_grad_();
    const Tensor p = sigmoid(x), t = tanh(x), e = exp(x * 0.5), l = log(abs(x) + 1e-3);
    const Tensor s = softmax(x, 1), ls = log_softmax(x, 0);
    const Tensor g = nn::F::gelu(x), a = nn::F::gelu(x, true), el = nn::F::elu(x);
    const Tensor total = (p * t + e - l + s * 3 + ls + g + a + el).sum() + x.var() + x.norm();
    total.backward();
    Digest d;
    for (const Tensor& r : {p, t, e, l, s, ls, g, a, el, total, x.grad()}) d.add(r);
    print("functions", d);
}

}  // namespace

int main(int argc, char** argv) {
    try {
        if (argc == 3 && std::strcmp(argv[1], "--threads") == 0) set_num_threads(std::atoi(argv[2]));
        mlp();
        cnn();
        lstm();
        transformer();
        functions();
        return 0;
    } catch (const std::exception& e) {
        std::fprintf(stderr, "bits_probe: %s\n", e.what());
        return 1;
    }
}
