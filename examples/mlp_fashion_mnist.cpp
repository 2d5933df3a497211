// The main example: train an MLP on Fashion-MNIST end to end, evaluate it, and save it.
//
// 784-256-256-10, ReLU, He initialization, standardized inputs, dropout 0.2, Adam (lr 1e-3),
// mini-batches of 128, cross-entropy. Data: Debian's dataset-fashion-mnist.
//
//   mlp_fashion_mnist --help
//   mpirun -np 2 mlp_fashion_mnist     data-parallel: each rank trains on its share of every batch
//                                      (nn::DistributedDataParallel); rank 0 prints and saves
#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <xgrad/xgrad.hpp>

#include "fashion_mlp.hpp"
#include "optimizer_by_name.hpp"
#include "tutorial.hpp"

using namespace xgrad;
using Clock = std::chrono::steady_clock;

namespace {

struct Evaluation {
    double loss = 0, accuracy = 0;
    metrics::ClassReport report;
};

Evaluation evaluate(nn::Module& model, const Tensor& x, const Tensor& y) {
    model.eval();
    NoGradGuard no_grad;
    Evaluation e;
    std::vector<Tensor> predicted;
    for (int64_t start = 0; start < x.size(0); start += 1000) {
        const int64_t n = std::min<int64_t>(1000, x.size(0) - start);
        const Tensor logits = model(x.narrow(0, start, n));
        e.loss += nn::F::cross_entropy(logits, y.narrow(0, start, n), {.reduction = nn::F::Reduction::sum}).item();
        predicted.push_back(logits.argmax(1));
    }
    e.loss /= static_cast<double>(x.size(0));
    const Tensor all = cat(predicted, 0);
    e.accuracy = metrics::accuracy(all, y);
    e.report = metrics::classification_report(all, y, 10);
    model.train();
    return e;
}
// The command line: every choice of the run, with the README's defaults.
struct Settings {
    int epochs = 0, threads = 1;
    int64_t batch_size = 128;
    double lr = 1e-3, dropout = 0.2, min_accuracy = 0;
    uint64_t seed = 0;
    std::string optimizer = "adam", data_dir = data::kFashionMnistDir, out_dir = ".", resume;
    std::vector<int64_t> hidden;
    bool quick = false;
};

Settings parse_settings(int argc, char** argv) {
    Settings s;
    std::string hidden_sizes = "256,256";
    tutorial::Cli cli("Train an MLP on Fashion-MNIST: 784-256-256-10, ReLU, He init, dropout, Adam.");
    cli.option("--epochs", s.epochs, 5, 1, "passes over the training set").at_least(1);
    cli.option("--batch-size", s.batch_size, "mini-batch size").at_least(1);
    cli.option("--lr", s.lr, "learning rate").at_least(0);
    cli.option("--optimizer", s.optimizer,
               "sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw, nadam or adamax");
    cli.option("--hidden", hidden_sizes, "hidden layer sizes, comma-separated");
    cli.option("--dropout", s.dropout, "probability of dropping a hidden unit (0 disables)");
    cli.option("--threads", s.threads, "threads for kernels and BLAS").at_least(1);
    cli.option("--seed", s.seed, "one seed for initialization, dropout and shuffling");
    cli.option("--data", s.data_dir, "folder with the IDX files");
    cli.option("--out", s.out_dir, "where the checkpoint, the logs and the curves go");
    cli.option("--resume", s.resume, "continue the run saved in this checkpoint, bit for bit, up to --epochs");
    cli.option("--min-accuracy", s.min_accuracy, 0.87, 0.70,
               "exit with status 1 when the test accuracy ends below this (the README's claims)");
    s.quick = cli.parse(argc, argv);
    s.hidden = example::parse_sizes(hidden_sizes);
    return s;
}

// The images as standardized pixel rows: each pixel's mean and spread come from the training set
// only, and the test set is scaled with them (the scaler is saved with the model).
struct Data {
    Tensor x_train, y_train, x_test, y_test;
};

Data load_data(const Settings& s, data::StandardScaler& scaler) {
    data::ImageSet train = data::load_fashion_mnist(true, s.data_dir);
    data::ImageSet test = data::load_fashion_mnist(false, s.data_dir);
    if (s.quick) {
        train = {train.images.narrow(0, 0, 2000), train.labels.narrow(0, 0, 2000)};
        test = {test.images.narrow(0, 0, 500), test.labels.narrow(0, 0, 500)};
    }
    Data d{scaler.fit_transform(train.images.reshape({-1, 28 * 28})), train.labels,
           scaler.transform(test.images.reshape({-1, 28 * 28})), test.labels};
    std::printf("Fashion-MNIST: %lld training and %lld test images; %d process(es) of %d thread(s), seed %llu\n",
                static_cast<long long>(d.x_train.size(0)), static_cast<long long>(d.x_test.size(0)),
                distributed::world_size(), s.threads, static_cast<unsigned long long>(s.seed));
    return d;
}

// One pass over the training set: for each mini-batch, forward, loss, backward, step.
void train_epoch(nn::Module& model, optim::Optimizer& optimizer, data::DataLoader& loader,
                 training::ProgressBar& progress, training::ScalarLogger& log, double& step) {
    for (const data::Batch& batch : loader) {
        optimizer.zero_grad();
        const Tensor logits = model(batch.data);
        const Tensor loss = nn::F::cross_entropy(logits, batch.target);
        loss.backward();
        optimizer.step();
        const double batch_loss = loss.item();
        progress.update(batch.size(),
                        {{"loss", batch_loss}, {"acc", metrics::accuracy(logits.argmax(1), batch.target)}});
        step += 1;
        log.log("step", static_cast<int64_t>(step), {{"loss", batch_loss}});
    }
    progress.finish();
}

void print_report(const Evaluation& e, int epochs, double seconds) {
    std::printf("\ntest accuracy after %d epoch(s): %.2f%% (%.2fs of training)\n\n", epochs, 100 * e.accuracy, seconds);
    std::printf("%-12s %9s %9s %9s\n", "class", "precision", "recall", "F1");
    for (int c = 0; c < 10; ++c)
        std::printf("%-12s %8.1f%% %8.1f%% %8.1f%%\n", data::fashion_mnist_classes()[c].c_str(),
                    100 * e.report.precision[c], 100 * e.report.recall[c], 100 * e.report.f1[c]);
    std::printf("%-12s %8.1f%% %8.1f%% %8.1f%%\n", "macro", 100 * e.report.macro_precision, 100 * e.report.macro_recall,
                100 * e.report.macro_f1);
}

// Loss and accuracy per epoch, train beside test: where the curves part, the model overfits.
void plot_curves(const training::ScalarLogger& log, const std::string& out_dir) {
    if (log.indices("epoch").empty()) return;
    std::vector<double> x;
    for (int64_t e : log.indices("epoch")) x.push_back(static_cast<double>(e));
    tutorial::plot(out_dir + "/fashion_mlp_loss", "Cross-entropy per epoch", "epoch", "cross-entropy",
                   {{"train", x, log.history("epoch", "train_loss")}, {"test", x, log.history("epoch", "test_loss")}},
                   false);
    tutorial::plot(
        out_dir + "/fashion_mlp_accuracy", "Accuracy per epoch", "epoch", "accuracy",
        {{"train", x, log.history("epoch", "train_accuracy")}, {"test", x, log.history("epoch", "test_accuracy")}},
        false);
}
}  // namespace

int main(int argc, char** argv) try {
    // Started by mpirun (or srun): one process per rank, training together. Only rank 0 speaks;
    // the others' standard output goes nowhere (their errors still reach stderr).
    std::optional<distributed::Guard> mpi;
    if (distributed::launched_by_mpi()) mpi.emplace(argc, argv);
    const int world = distributed::world_size();
    const bool chief = distributed::rank() == 0;
    if (!chief && std::freopen("/dev/null", "w", stdout) == nullptr) fail("cannot silence rank ", distributed::rank());

    const Settings s = parse_settings(argc, argv);
    XGRAD_CHECK(s.batch_size % world == 0, "--batch-size ", s.batch_size, " cannot be split evenly over ", world,
                " processes");
    set_num_threads(s.threads);
    manual_seed(s.seed);  // one seed: initialization and dropout; the shuffling generator follows it
    data::StandardScaler scaler;
    const Data data = load_data(s, scaler);

    // The model, its parameter count and the optimizer over its parameters.
    example::FashionMlp model(s.hidden, s.dropout);
    std::cout << model << "\n";
    std::printf("%lld parameters\n", static_cast<long long>(nn::summary(model, {1, 28 * 28}).total_params));
    auto optimizer = example::make_optimizer(s.optimizer, model.parameters(), s.lr);

    data::TensorDataset dataset(data.x_train, data.y_train);
    Generator shuffle(s.seed + 1);
    // Data-parallel: the global batch of --batch-size is split over the ranks, each drawing its
    // share of one permutation per epoch (the same on every rank), and the wrapper averages the
    // ranks' gradients during backward, so every rank takes the step one process would take on
    // the whole batch.
    std::shared_ptr<data::DistributedSampler> shards;
    std::unique_ptr<nn::DistributedDataParallel> parallel;
    if (world > 1) {
        shards = std::make_shared<data::DistributedSampler>(dataset.size(),
                                                            data::DistributedSamplerOptions{.seed = s.seed + 1});
        parallel = std::make_unique<nn::DistributedDataParallel>(model);
    }
    data::DataLoader loader(
        dataset, world > 1
                     ? data::DataLoaderOptions{.batch_size = s.batch_size / world, .sampler = shards}
                     : data::DataLoaderOptions{.batch_size = s.batch_size, .shuffle = true, .generator = &shuffle});
    nn::Module& trained = parallel ? static_cast<nn::Module&>(*parallel) : model;

    // Everything the next epoch depends on: a checkpoint of it resumes the run bit for bit.
    std::map<std::string, double> counters{{"epoch", 0}, {"step", 0}};
    const Checkpoint run{.model = &model,
                         .optimizer = optimizer.get(),
                         .scaler = &scaler,
                         .generators = {{"shuffle", &shuffle}},
                         .values = &counters};
    std::filesystem::create_directories(s.out_dir);
    if (!s.resume.empty()) {
        load_checkpoint(s.resume, run);
        std::printf("resumed %s after epoch %.0f\n", s.resume.c_str(), counters["epoch"]);
    }

    // Dropout draws from the default generator. The one seed gave every rank the same stream, so
    // rank 0's example i and rank 1's example i would lose the same units, unlike the independent
    // masks of one process on the whole batch: from here each rank draws a stream of its own.
    if (world > 1) manual_seed(s.seed + 0x9E3779B97F4A7C15ull * static_cast<uint64_t>(distributed::rank() + 1));

    training::ScalarLogger log(
        {.directory = s.out_dir + "/fashion_mlp_log", .csv = chief, .jsonl = chief, .append = !s.resume.empty()});
    double total_seconds = 0;
    for (int epoch = static_cast<int>(counters["epoch"]) + 1; epoch <= s.epochs; ++epoch) {
        training::ProgressBar progress({.total = loader.size(),
                                        .description = tutorial::format("epoch %d/%d", epoch, s.epochs),
                                        .out = &std::cout,
                                        .line_every = std::max<int64_t>(1, loader.size() / 4)});
        const auto started = Clock::now();
        if (shards) shards->set_epoch(epoch);
        train_epoch(trained, *optimizer, loader, progress, log, counters["step"]);
        const double seconds = std::chrono::duration<double>(Clock::now() - started).count();
        total_seconds += seconds;
        counters["epoch"] = epoch;
        const Evaluation e = evaluate(model, data.x_test, data.y_test);
        log.log("epoch", epoch,
                {{"train_loss", progress.mean("loss")},
                 {"train_accuracy", progress.mean("acc")},
                 {"test_loss", e.loss},
                 {"test_accuracy", e.accuracy},
                 {"seconds", seconds}});
        std::printf("epoch %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.2fs\n", epoch,
                    progress.mean("loss"), progress.mean("acc"), e.loss, e.accuracy, seconds);
    }

    const Evaluation final_eval = evaluate(model, data.x_test, data.y_test);
    print_report(final_eval, s.epochs, total_seconds);
    // The checkpoint holds the model itself, not the wrapper: any number of processes loads it.
    const std::string path = s.out_dir + "/fashion_mlp.npz";
    if (chief) {
        save_checkpoint(path, run);
        std::printf("\nsaved model, optimizer, scaler, shuffling state and counters to %s\n", path.c_str());
        std::printf("logged steps and epochs to %s/fashion_mlp_log (CSV and JSON Lines)\n", s.out_dir.c_str());
        plot_curves(log, s.out_dir);
    }

    // The README's claim, checked: below it the program fails.
    if (final_eval.accuracy < s.min_accuracy) {
        std::fprintf(stderr, "FAILED: test accuracy %.4f is below the claimed %.2f\n", final_eval.accuracy,
                     s.min_accuracy);
        return 1;
    }
    std::printf("claim holds: test accuracy %.4f >= %.2f\n", final_eval.accuracy, s.min_accuracy);
    return 0;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
