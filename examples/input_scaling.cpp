// Tutorial: input preprocessing.
//
// The lecture's claims: features on very different scales (the breast-cancer table mixes areas
// near 1000 with smoothness values near 0.1) make gradient descent slow or unstable, because
// one learning rate must suit every weight; zero-centering, standardization (zero mean, unit
// variance) and min-max scaling to [0, 1], [-1, 1] or [-0.5, 0.5] put them on one scale. The
// statistics are fitted on the training set only and applied unchanged to the test set.
//
// We train the same logistic regression (Linear(30, 2) + cross-entropy) by full-batch gradient
// descent with the same learning rate on each version of the inputs and print the loss curve
// and the test accuracy. The CSV and the plot (PNG and SVG, through gnuplot) go to --out.
//
//   input_scaling [--epochs 200] [--lr 0.1] [--out .] [--quick]
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "breast_cancer.hpp"
#include "training.hpp"
#include "tutorial.hpp"

using namespace xgrad;

namespace {

struct Prepared {
    std::string name;
    Tensor train, test;
};

// Each preprocessing, fitted on the training features and applied to both sets.
std::vector<Prepared> preprocessings(const Tensor& train, const Tensor& test) {
    std::vector<Prepared> out;
    out.push_back({"raw", train, test});
    data::Centerer centerer;
    out.push_back({"zero-centered", centerer.fit_transform(train), centerer.transform(test)});
    data::StandardScaler standard;
    out.push_back({"standardized", standard.fit_transform(train), standard.transform(test)});
    for (auto [a, b] : {std::pair{0.0, 1.0}, {-1.0, 1.0}, {-0.5, 0.5}}) {
        data::MinMaxScaler minmax({.feature_range = {a, b}});
        char name[32];
        std::snprintf(name, sizeof name, "min-max [%g, %g]", a, b);
        out.push_back({name, minmax.fit_transform(train), minmax.transform(test)});
    }
    return out;
}

}  // namespace

int main(int argc, char** argv) try {
    int epochs = 0;
    double lr = 0.1;
    std::string out = ".";
    tutorial::Cli cli("Tutorial: input preprocessing (raw, centered, standardized, min-max scaled).");
    cli.option("--epochs", epochs, 200, 100, "full-batch epochs").at_least(1);
    cli.option("--lr", lr, "learning rate, the same for every preprocessing").at_least(0);
    cli.option("--out", out, "folder for the CSV and the plot");
    const bool quick = cli.parse(argc, argv);

    const tutorial::TabularSplit data = tutorial::breast_cancer_split();
    const std::vector<Prepared> versions = preprocessings(data.x_train, data.x_test);

    std::printf("Three of the 30 features (training set), before and after:\n\n");
    std::printf("%-18s %22s %22s %22s\n", "", "mean radius", "mean smoothness", "worst area");
    for (const Prepared& v : versions) {
        std::printf("%-18s", v.name.c_str());
        for (int64_t column : {0, 4, 23}) {
            const Tensor f = v.train.select(1, column);
            char cell[40];
            std::snprintf(cell, sizeof cell, "%.3g..%.3g (m %.2g)", f.min().item(), f.max().item(), f.mean().item());
            std::printf(" %22s", cell);
        }
        std::printf("\n");
    }
    // Fitted on the training set only: the test set is close to, not exactly at, the target.
    const Tensor test_standardized = versions[2].test;
    std::printf("\nstandardized test set: feature means within +-%.2f of 0, stds %.2f..%.2f (fitted on train only)\n\n",
                test_standardized.mean(Shape{0}).abs().max().item(), test_standardized.std(Shape{0}).min().item(),
                test_standardized.std(Shape{0}).max().item());

    std::printf("Logistic regression, full-batch gradient descent, lr %g, %d epochs:\n\n", lr, epochs);
    std::printf("%-18s %12s %12s %12s %12s %14s\n", "inputs", "loss ep 1", "ep 10", "ep 50", "last", "test accuracy");
    std::vector<tutorial::Series> curves;
    std::map<std::string, double> final_loss, test_accuracy;
    for (const Prepared& v : versions) {
        manual_seed(0);  // the same initial weights for every version
        nn::Linear model({.in_features = 30, .out_features = 2});
        optim::SGD gd(model.parameters(), {.lr = lr});
        tutorial::Series curve{v.name, {}, {}};
        for (int e = 1; e <= epochs; ++e) {
            gd.zero_grad();
            Tensor loss = nn::F::cross_entropy(model(v.train), data.y_train);
            loss.backward();
            gd.step();
            curve.x.push_back(e);
            curve.y.push_back(std::isfinite(loss.item()) ? std::min(loss.item(), 1e3) : 1e3);  // plot-safe
        }
        final_loss[v.name] = nn::F::cross_entropy(model(v.train), data.y_train).item();
        test_accuracy[v.name] = tutorial::accuracy(model, v.test, data.y_test);
        std::printf("%-18s %12.4g %12.4g %12.4g %12.4g %14.3f\n", v.name.c_str(), curve.y[0], curve.y[9],
                    curve.y[std::min(49, epochs - 1)], final_loss[v.name], test_accuracy[v.name]);
        curves.push_back(curve);
    }

    tutorial::write_csv(out + "/input_scaling.csv", "epoch", curves);
    tutorial::plot(out + "/input_scaling", "Training loss by input preprocessing", "epoch", "cross-entropy", curves,
                   true);
    std::printf("wrote %s/input_scaling.csv\n", out.c_str());

    // The claims, checked: raw inputs make the same learning rate useless (the loss jumps by
    // orders of magnitude from step to step); standardized inputs train to a low loss and a
    // good test accuracy, and the centered ranges beat [0, 1] at equal width.
    const bool holds = !(final_loss["raw"] < 1.0) && final_loss["standardized"] < 0.15 &&
                       test_accuracy["standardized"] > 0.93 &&
                       final_loss["min-max [-0.5, 0.5]"] < final_loss["min-max [0, 1]"];
    if (!holds) std::printf("unexpected: the results did not behave as the lecture says\n");
    return holds ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
