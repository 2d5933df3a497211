// The main example: train an MLP on Fashion-MNIST end to end, evaluate it, and save it.
//
// 784-256-256-10, ReLU, He initialization, standardized inputs, dropout 0.2, Adam (lr 1e-3),
// mini-batches of 128, cross-entropy. Data: Debian's dataset-fashion-mnist.
//
//   mlp_fashion_mnist --help
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <filesystem>
#include <iostream>
#include <memory>
#include <xgrad.hpp>

#include "fashion_mlp.hpp"
#include "tutorial.hpp"

using namespace xgrad;
using Clock = std::chrono::steady_clock;

namespace {
const char* kHelp = R"(Train an MLP on Fashion-MNIST.

  --epochs N        passes over the training set (5)
  --batch-size N    mini-batch size (128)
  --lr X            learning rate (1e-3)
  --optimizer NAME  sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, adamw, nadam, adamax (adam)
  --hidden A,B,...  hidden layer sizes (256,256)
  --dropout P       probability of dropping a hidden unit (0.2; 0 disables)
  --threads N       threads for kernels and BLAS (1)
  --seed N          one seed for initialization, dropout and shuffling (0)
  --data DIR        folder with the IDX files (/usr/share/datasets/fashion-mnist)
  --out DIR         where the checkpoint goes (.)
  --quick           a small subset and one epoch (what the test suite runs)
)";

std::unique_ptr<optim::Optimizer> make_optimizer(const std::string& name, const std::vector<Tensor>& params, double lr) {
    if (name == "sgd") return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr});
    if (name == "momentum") return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr, .momentum = 0.9});
    if (name == "nesterov")
        return std::make_unique<optim::SGD>(params, optim::SGDOptions{.lr = lr, .momentum = 0.9, .nesterov = true});
    if (name == "adagrad") return std::make_unique<optim::Adagrad>(params, optim::AdagradOptions{.lr = lr});
    if (name == "rmsprop") return std::make_unique<optim::RMSprop>(params, optim::RMSpropOptions{.lr = lr});
    if (name == "adadelta") return std::make_unique<optim::Adadelta>(params, optim::AdadeltaOptions{.lr = lr});
    if (name == "adam") return std::make_unique<optim::Adam>(params, optim::AdamOptions{.lr = lr});
    if (name == "adamw") return std::make_unique<optim::AdamW>(params, optim::AdamOptions{.lr = lr, .weight_decay = 1e-2});
    if (name == "nadam") return std::make_unique<optim::NAdam>(params, optim::NAdamOptions{.lr = lr});
    if (name == "adamax") return std::make_unique<optim::Adamax>(params, optim::AdamaxOptions{.lr = lr});
    fail("unknown optimizer \"", name, "\" (see --help)");
}

// A progress line rewritten in place on a terminal; plain lines (every quarter) otherwise.
class Progress {
public:
    Progress(int epoch, int64_t batches) : epoch_(epoch), batches_(batches), tty_(::isatty(::fileno(stdout))) {}
    void update(int64_t done, int64_t samples, double loss, double accuracy) {
        const double seconds = std::chrono::duration<double>(Clock::now() - start_).count();
        const double rate = samples / std::max(seconds, 1e-9);
        const double eta = seconds / static_cast<double>(done) * static_cast<double>(batches_ - done);
        if (tty_) {
            const int width = 30, filled = static_cast<int>(width * done / batches_);
            std::printf("\repoch %d [%s%s] %lld/%lld  loss %.4f  acc %.3f  %.0f samples/s  ETA %.1fs ", epoch_,
                        std::string(static_cast<std::size_t>(filled), '#').c_str(),
                        std::string(static_cast<std::size_t>(width - filled), '.').c_str(), static_cast<long long>(done),
                        static_cast<long long>(batches_), loss, accuracy, rate, eta);
            if (done == batches_) std::printf("\n");
        } else if (done == batches_ || done % std::max<int64_t>(batches_ / 4, 1) == 0) {
            std::printf("epoch %d: %lld/%lld batches, loss %.4f, acc %.3f, %.0f samples/s\n", epoch_,
                        static_cast<long long>(done), static_cast<long long>(batches_), loss, accuracy, rate);
        }
        std::fflush(stdout);
    }
    double seconds() const { return std::chrono::duration<double>(Clock::now() - start_).count(); }

private:
    int epoch_;
    int64_t batches_;
    bool tty_;
    Clock::time_point start_ = Clock::now();
};

struct Evaluation {
    double loss = 0, accuracy = 0;
    std::vector<int64_t> correct_per_class = std::vector<int64_t>(10), total_per_class = std::vector<int64_t>(10);
};

Evaluation evaluate(nn::Module& model, const Tensor& x, const Tensor& y) {
    model.eval();
    NoGradGuard no_grad;
    Evaluation e;
    int64_t correct = 0;
    for (int64_t start = 0; start < x.size(0); start += 1000) {
        const int64_t n = std::min<int64_t>(1000, x.size(0) - start);
        const Tensor logits = model(x.narrow(0, start, n));
        const Tensor target = y.narrow(0, start, n);
        e.loss += nn::F::cross_entropy(logits, target, {.reduction = nn::F::Reduction::sum}).item();
        const auto predicted = logits.argmax(1).to_vector<int64_t>(), truth = target.to_vector<int64_t>();
        for (std::size_t i = 0; i < truth.size(); ++i) {
            ++e.total_per_class[truth[i]];
            if (predicted[i] == truth[i]) ++e.correct_per_class[truth[i]], ++correct;
        }
    }
    e.loss /= static_cast<double>(x.size(0));
    e.accuracy = static_cast<double>(correct) / static_cast<double>(x.size(0));
    model.train();
    return e;
}
}  // namespace

int main(int argc, char** argv) {
    tutorial::Flags flags(argc, argv);
    if (flags.has("help")) {
        std::printf("%s", kHelp);
        return 0;
    }
    const bool quick = flags.has("quick");
    const int epochs = static_cast<int>(flags.number("epochs", quick ? 1 : 5));
    const auto batch_size = static_cast<int64_t>(flags.number("batch-size", 128));
    const double lr = flags.number("lr", 1e-3);
    const std::string optimizer_name = flags.get("optimizer", "adam");
    const std::vector<int64_t> hidden = example::parse_sizes(flags.get("hidden", "256,256"));
    const double dropout = flags.number("dropout", 0.2);
    const int threads = static_cast<int>(flags.number("threads", 1));
    const auto seed = static_cast<uint64_t>(flags.number("seed", 0));
    const std::string data_dir = flags.get("data", data::kFashionMnistDir);
    const std::string out_dir = flags.get("out", ".");
    flags.reject_unknown();

    try {
        set_num_threads(threads);
        manual_seed(seed);
        data::ImageSet train = data::load_fashion_mnist(true, data_dir);
        data::ImageSet test = data::load_fashion_mnist(false, data_dir);
        if (quick) {
            train = {train.images.narrow(0, 0, 2000), train.labels.narrow(0, 0, 2000)};
            test = {test.images.narrow(0, 0, 500), test.labels.narrow(0, 0, 500)};
        }
        // Standardize each pixel with statistics of the training set only.
        data::StandardScaler scaler;
        const Tensor x_train = scaler.fit_transform(train.images.reshape({-1, 28 * 28}));
        const Tensor x_test = scaler.transform(test.images.reshape({-1, 28 * 28}));
        std::printf("Fashion-MNIST: %lld training and %lld test images; %d thread(s), seed %llu\n",
                    static_cast<long long>(x_train.size(0)), static_cast<long long>(x_test.size(0)), threads,
                    static_cast<unsigned long long>(seed));

        example::FashionMlp model(hidden, dropout);
        std::cout << model << "\n";
        const nn::Summary summary = nn::summary(model, {1, 28 * 28});
        std::printf("%lld parameters\n", static_cast<long long>(summary.total_params));
        auto optimizer = make_optimizer(optimizer_name, model.parameters(), lr);

        data::TensorDataset dataset(x_train, train.labels);
        Generator shuffle(seed + 1);
        data::DataLoader loader(dataset, {.batch_size = batch_size, .shuffle = true, .generator = &shuffle});
        double total_seconds = 0;
        for (int epoch = 1; epoch <= epochs; ++epoch) {
            Progress progress(epoch, loader.size());
            double loss_sum = 0;
            int64_t correct = 0, seen = 0, done = 0;
            for (const data::Batch& batch : loader) {
                optimizer->zero_grad();
                const Tensor logits = model(batch.data);
                const Tensor loss = nn::F::cross_entropy(logits, batch.target);
                loss.backward();
                optimizer->step();
                loss_sum += loss.item() * static_cast<double>(batch.size());
                correct += (logits.argmax(1) == batch.target).to(kInt64).sum().item<int64_t>();
                seen += batch.size();
                progress.update(++done, seen, loss_sum / static_cast<double>(seen),
                                static_cast<double>(correct) / static_cast<double>(seen));
            }
            total_seconds += progress.seconds();
            const Evaluation e = evaluate(model, x_test, test.labels);
            std::printf("epoch %d: train loss %.4f acc %.4f | test loss %.4f acc %.4f | %.2fs\n", epoch,
                        loss_sum / static_cast<double>(seen), static_cast<double>(correct) / static_cast<double>(seen),
                        e.loss, e.accuracy, progress.seconds());
        }

        const Evaluation final_eval = evaluate(model, x_test, test.labels);
        std::printf("\ntest accuracy after %d epoch(s): %.2f%% (%.2fs of training)\n\n", epochs,
                    100 * final_eval.accuracy, total_seconds);
        std::printf("%-12s %9s\n", "class", "accuracy");
        for (int c = 0; c < 10; ++c)
            std::printf("%-12s %8.1f%%\n", data::fashion_mnist_classes()[c].c_str(),
                        100.0 * static_cast<double>(final_eval.correct_per_class[c]) /
                            static_cast<double>(std::max<int64_t>(final_eval.total_per_class[c], 1)));

        std::filesystem::create_directories(out_dir);
        const std::string path = out_dir + "/fashion_mlp.npz";
        save_checkpoint(path, {.model = &model, .optimizer = optimizer.get(), .scaler = &scaler});
        std::printf("\nsaved model, optimizer and scaler to %s\n", path.c_str());
        return 0;
    } catch (const Error& e) {
        std::fprintf(stderr, "error: %s\n", e.what());
        return 2;
    }
}
