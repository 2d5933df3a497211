// Tutorial: L2, L1 and elastic-net regularization.
//
// The lecture's claims: adding a penalty on the weights to the loss (Cost = Loss + Penalty)
// trades training fit for smaller weights and less overfitting.
//  - L2, lambda/2 * sum w^2 ("weight decay"): its gradient lambda * w shrinks every weight in
//    proportion to its size; weights get small but not zero. Same update as an optimizer's
//    weight_decay = lambda.
//  - L1, lambda * sum |w|: its gradient lambda * sign(w) pulls every weight toward zero by the
//    same amount, so weights that do not earn their keep end up at (or near) zero: sparsity.
//  - Elastic net (Zou & Hastie 2005): both at once.
//
// Softmax regression (Linear(784, 10)) on a small Fashion-MNIST subset: its weights are one
// 28 x 28 template per class, so L1 visibly switches off uninformative pixels (the borders).
//
//   regularization [--train 1000] [--epochs 40] [--out .] [--quick]   (plot: regularization_sparsity)
#include <xgrad/xgrad.hpp>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "training.hpp"
#include "tutorial.hpp"

using namespace xgrad;

namespace {

struct Penalty {
    std::string name;
    double l1, l2;
};

struct Result {
    double train_accuracy, test_accuracy, weight_norm, near_zero_fraction;
    std::vector<double> magnitudes;  // |w| of every weight, sorted
};

Result train(const Penalty& penalty, const Tensor& x, const Tensor& y, const Tensor& x_test, const Tensor& y_test,
             int epochs) {
    manual_seed(0);  // the same start for every penalty
    nn::Linear model({.in_features = 784, .out_features = 10});
    optim::SGD opt(model.parameters(), {.lr = 0.05});
    const std::vector<Tensor> weights = nn::parameters_named(model.named_parameters(), "weight");  // not the bias
    Generator gen(1);
    tutorial::EpochOptions epoch{.batch_size = 32};
    if (penalty.l1 > 0 || penalty.l2 > 0)
        epoch.penalty = [&] { return nn::elastic_net_penalty(weights, penalty.l1, penalty.l2); };
    for (int e = 0; e < epochs; ++e) tutorial::train_epoch(model, opt, x, y, gen, epoch);
    const Tensor w = model.weight.detach();
    std::vector<double> magnitudes = w.abs().reshape({-1}).to_vector<double>();
    std::sort(magnitudes.begin(), magnitudes.end());
    return {tutorial::accuracy(model, x, y), tutorial::accuracy(model, x_test, y_test), w.norm().item(),
            (w.abs() < 1e-3).to(kFloat64).mean().item(), magnitudes};
}

}  // namespace

int main(int argc, char** argv) try {
    // Fast enough (~2 s) that --quick, the test suite's flag, changes nothing here.
    int64_t n_train = 1000;
    int epochs = 40;
    std::string out = ".";
    tutorial::Cli cli("Tutorial: L2, L1 and elastic-net regularization (--quick changes nothing here).");
    cli.option("--train", n_train, "Fashion-MNIST training images").at_least(1);
    cli.option("--epochs", epochs, "training epochs").at_least(1);
    cli.option("--out", out, "folder for the plot of the weights' magnitudes");
    cli.parse(argc, argv);
    bool holds = true;

    // Min-max scaling: a border pixel blank in every training image stays exactly 0.
    const auto [x, y, x_test, y_test] = tutorial::fashion_mnist_subset(n_train, 2000, false);

    std::printf("Softmax regression on %lld Fashion-MNIST images, %d epochs of SGD (lr 0.05, batch 32):\n\n",
                static_cast<long long>(n_train), epochs);
    std::printf("%-26s %10s %10s %8s %10s %14s\n", "penalty", "train acc", "test acc", "gap", "||W||", "|w| < 1e-3");
    const std::vector<Penalty> penalties = {
        {"none", 0, 0},
        {"L2 lambda 1e-3", 0, 1e-3},
        {"L2 lambda 1e-2", 0, 1e-2},
        {"L1 lambda 1e-4", 1e-4, 0},
        {"L1 lambda 1e-3", 1e-3, 0},
        {"elastic 1e-4 + 1e-3", 1e-4, 1e-3},
    };
    std::map<std::string, Result> results;
    for (const Penalty& p : penalties) {
        const Result r = train(p, x, y, x_test, y_test, epochs);
        results[p.name] = r;
        std::printf("%-26s %10.3f %10.3f %8.3f %10.2f %13.1f%%\n", p.name.c_str(), r.train_accuracy, r.test_accuracy,
                    r.train_accuracy - r.test_accuracy, r.weight_norm, 100 * r.near_zero_fraction);
    }
    const Result& none = results["none"];
    const Result& l2 = results["L2 lambda 1e-2"];
    const Result& l1 = results["L1 lambda 1e-3"];
    std::printf(
        "\nL2 shrinks the weights (norm %.2f -> %.2f) but leaves few at zero; L1 zeroes %.0f%% of them\n"
        "(pixels that never help: the image borders). Both narrow the train-test gap.\n",
        none.weight_norm, l2.weight_norm, 100 * l1.near_zero_fraction);
    holds &=
        l2.weight_norm < 0.8 * none.weight_norm && l1.near_zero_fraction > 3 * std::max(none.near_zero_fraction, 0.01);
    holds &= l1.near_zero_fraction > l2.near_zero_fraction;
    // The picture of sparsity: the fraction of weights below each magnitude t. L1's curve rises
    // orders of magnitude earlier (plain SGD leaves them near zero, not at it); L2's barely moves.
    std::vector<tutorial::Series> below;
    for (const char* name : {"none", "L2 lambda 1e-2", "L1 lambda 1e-3", "elastic 1e-4 + 1e-3"}) {
        const std::vector<double>& m = results[name].magnitudes;
        tutorial::Series s{name, {}, {}};
        for (int k = 0; k <= 28; ++k) {
            const double t = std::pow(10.0, -7 + 0.25 * k);
            s.x.push_back(t);
            s.y.push_back(static_cast<double>(std::lower_bound(m.begin(), m.end(), t) - m.begin()) /
                          static_cast<double>(m.size()));
        }
        below.push_back(s);
    }
    const auto plotted = training::plot(out + "/regularization_sparsity", below,
                                        {.title = "Share of weights below each magnitude",
                                         .x_label = "magnitude |w|",
                                         .y_label = "fraction of the weights",
                                         .log_x = true});
    std::printf("%s\n", plotted.message.c_str());
    holds &= (l2.train_accuracy - l2.test_accuracy) < (none.train_accuracy - none.test_accuracy);

    // The penalty and the optimizer's weight_decay are the same gradient, lambda * w.
    manual_seed(0);
    nn::Linear a({.in_features = 784, .out_features = 10}), b({.in_features = 784, .out_features = 10});
    {
        NoGradGuard no_grad;
        b.weight.copy_(a.weight);
        b.bias.copy_(a.bias);
    }
    optim::SGD with_penalty(a.parameters(), {.lr = 0.05});
    // weight_decay on the weight only, as the penalty is: a parameter group of its own.
    optim::SGD with_decay({{{b.weight}, optim::SGDOptions{.lr = 0.05, .weight_decay = 1e-2}}, {{b.bias}, std::nullopt}},
                          {.lr = 0.05});
    const int64_t steps = std::min<int64_t>(20, n_train / 32);
    for (int64_t step = 0; step < steps; ++step) {
        const Tensor idx = arange(step * 32, step * 32 + 32);
        const Tensor xb = index_select(x, 0, idx), yb = index_select(y, 0, idx);
        with_penalty.zero_grad();
        (nn::F::cross_entropy(a(xb), yb) + nn::l2_penalty({a.weight}, 1e-2)).backward();
        with_penalty.step();
        with_decay.zero_grad();
        nn::F::cross_entropy(b(xb), yb).backward();
        with_decay.step();
    }
    const double difference = (a.weight - b.weight).abs().max().item();
    std::printf("\nl2_penalty(lambda = 0.01) vs SGD weight_decay = 0.01, %lld steps: weights differ by at most %.1e\n",
                static_cast<long long>(steps), difference);
    holds &= difference < 1e-5;

    if (!holds) std::printf("unexpected: the results did not behave as the lecture says\n");
    return holds ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
