// Tutorial: batch normalization (Ioffe & Szegedy 2015).
//
// The lecture's claims:
//  1. In training, each feature is normalized with the mean and the (biased) variance of the
//     current mini-batch, then scaled by gamma and shifted by beta (both learned).
//  2. For inference the batch statistics are replaced by moving averages kept during training,
//     with the *unbiased* variance (m / (m - 1) times the batch variance), so a single example
//     can be classified and the output no longer depends on the rest of the batch.
//  3. Normalizing the inputs of every layer makes a deep network train much faster, and makes
//     it far less sensitive to the scale of the initial weights.
//
// Part 1 recomputes one BatchNorm1d step by hand. Part 2 trains the same deep sigmoid MLP
// with and without BatchNorm on a Fashion-MNIST subset and prints the loss per epoch.
//
//   batch_normalization [--train 5000] [--epochs 10] [--out .] [--quick]
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "training.hpp"
#include "tutorial.hpp"

using namespace xgrad;

namespace {

// "(1.5, 15)": a short vector's values on one line.
std::string values(const Tensor& t) {
    std::string text = "(";
    for (double v : t.to_vector<double>()) text += (text.size() > 1 ? ", " : "") + tutorial::format("%.4g", v);
    return text + ")";
}

// depth sigmoid layers of `width` units, each Linear followed by BatchNorm1d when batch_norm.
void build(nn::Sequential& model, int depth, int64_t width, bool batch_norm) {
    int64_t in = 784;
    for (int d = 0; d < depth; ++d) {
        auto& fc = model.emplace<nn::Linear>({.in_features = in, .out_features = width, .bias = !batch_norm});
        nn::init::normal_(fc.weight, 0.0, 0.05);  // a plain small-normal start, as before Xavier
        if (batch_norm) model.emplace<nn::BatchNorm1d>({.num_features = width});  // beta replaces the bias
        model.emplace<nn::Sigmoid>();
        in = width;
    }
    model.emplace<nn::Linear>({.in_features = in, .out_features = 10});
}

}  // namespace

int main(int argc, char** argv) try {
    int64_t n_train = 0;
    int epochs = 0;
    std::string out = ".";
    tutorial::Cli cli("Tutorial: batch normalization, by hand and in a deep sigmoid MLP.");
    cli.option("--train", n_train, 5000, 2000, "Fashion-MNIST training images").at_least(1);
    cli.option("--epochs", epochs, 10, 4, "training epochs").at_least(1);
    cli.option("--out", out, "folder for the CSV and the plot");
    const bool quick = cli.parse(argc, argv);
    bool holds = true;

    std::printf("1. One training step of BatchNorm1d(2) on a batch of m = 4, then inference\n\n");
    const Tensor batch = tensor({1.0, 10.0, 2.0, 20.0, 3.0, 30.0, 6.0, 60.0}, kFloat64).view({4, 2});
    nn::BatchNorm1d bn({.num_features = 2, .momentum = 0.1, .dtype = kFloat64});
    const Tensor y = bn(batch);
    const Tensor mean = batch.mean(Shape{0}), biased = batch.var(Shape{0}, false), unbiased = batch.var(Shape{0}, true);
    std::printf("   batch mean %s, biased variance %s, unbiased %s\n", values(mean).c_str(), values(biased).c_str(),
                values(unbiased).c_str());
    std::printf("   output (gamma = 1, beta = 0): per-feature mean %s, biased variance %s\n",
                values(y.mean(Shape{0})).c_str(), values(y.var(Shape{0}, false)).c_str());
    std::printf("   running mean  = 0.9 * 0 + 0.1 * batch mean     = %s\n", values(bn.running_mean).c_str());
    std::printf("   running var   = 0.9 * 1 + 0.1 * unbiased var   = %s\n", values(bn.running_var).c_str());
    const Tensor expected_out = (batch - mean) / (biased + 1e-5).sqrt();
    holds &= (y - expected_out).abs().max().item() < 1e-12;
    holds &= (bn.running_mean - 0.1 * mean).abs().max().item() < 1e-12;
    holds &= (bn.running_var - (0.9 + 0.1 * unbiased)).abs().max().item() < 1e-12;
    bn.eval();
    const Tensor single = tensor({3.0, 30.0}, kFloat64).view({1, 2});
    const Tensor inferred = bn(single);
    std::printf("   eval on one example %s -> %s  (= (x - running mean) / sqrt(running var + eps))\n\n",
                values(single).c_str(), values(inferred).c_str());
    holds &= (inferred - (single - bn.running_mean) / (bn.running_var + 1e-5).sqrt()).abs().max().item() < 1e-12;

    const int depth = 6;
    const int64_t width = 128;
    const tutorial::ImageSplit images = tutorial::fashion_mnist_subset(n_train, 0);
    const Tensor& x = images.x_train;
    const Tensor& labels = images.y_train;

    std::printf(
        "2. %d sigmoid layers of %lld units, N(0, 0.05) weights, %lld Fashion-MNIST images, SGD lr 0.1,\n"
        "   batch 64: mean training loss per epoch\n\n",
        depth, static_cast<long long>(width), static_cast<long long>(n_train));
    std::vector<tutorial::Series> curves;
    for (bool batch_norm : {false, true}) {
        manual_seed(0);
        nn::Sequential model;
        build(model, depth, width, batch_norm);
        optim::SGD opt(model.parameters(), {.lr = 0.1});
        Generator gen(1);
        tutorial::Series curve{batch_norm ? "with BatchNorm" : "without", {}, {}};
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            curve.x.push_back(epoch);
            curve.y.push_back(tutorial::train_epoch(model, opt, x, labels, gen));
        }
        curves.push_back(curve);
    }
    std::printf("%6s %14s %16s\n", "epoch", "without", "with BatchNorm");
    for (int e = 0; e < epochs; ++e) std::printf("%6d %14.4f %16.4f\n", e + 1, curves[0].y[e], curves[1].y[e]);
    tutorial::write_csv(out + "/batch_normalization.csv", "epoch", curves);
    tutorial::plot(out + "/batch_normalization", "Deep sigmoid MLP: training loss", "epoch", "cross-entropy", curves,
                   false);
    std::printf(
        "\nWithout normalization the small weights squash the signal through six sigmoids and the\n"
        "loss stays near log(10) = 2.30 (chance); with BatchNorm every layer sees unit-scale inputs.\n"
        "wrote %s/batch_normalization.csv\n",
        out.c_str());
    holds &= curves[1].y.back() < 0.5 * curves[0].y.back() && curves[0].y.front() > 2.0;

    if (!holds) std::printf("unexpected: the results did not behave as the lecture says\n");
    return holds ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
