// The lecture's small CNN on Fashion-MNIST: seconds per 100 training steps and the process's peak
// resident memory. Peers, the same program: bench_cnn_steps_torch.py, libtorch/cnn_steps_libtorch.cpp.
//   conv 1->32 3x3 pad 1, ReLU, max-pool 2, conv 32->64 3x3 pad 1, ReLU, max-pool 2,
//   linear 3136->128, ReLU, dropout 0.5, linear 128->10; batch 128, Adam 1e-3, cross-entropy.
//
//   bench_cnn_steps [--threads N] [--steps 100] [--repeats 3]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

int main(int argc, char** argv) {
    int threads = 1, steps = 100, repeats = 3;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--steps"))
            steps = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[++i]);
    }
    set_num_threads(threads);
    manual_seed(0);
    const data::ImageSet train = data::load_fashion_mnist(true);
    const Tensor x = train.images.reshape({-1, 1, 28, 28});  // already in [0, 1], as the peers scale them
    const Tensor y = train.labels;

    nn::Sequential model;
    model.emplace<nn::Conv2d>({.in_channels = 1, .out_channels = 32, .kernel_size = 3, .padding = 1});
    model.emplace<nn::ReLU>();
    model.emplace<nn::MaxPool2d>({.kernel_size = 2});
    model.emplace<nn::Conv2d>({.in_channels = 32, .out_channels = 64, .kernel_size = 3, .padding = 1});
    model.emplace<nn::ReLU>();
    model.emplace<nn::MaxPool2d>({.kernel_size = 2});
    model.emplace<nn::Flatten>();
    model.emplace<nn::Linear>({.in_features = 64 * 7 * 7, .out_features = 128});
    model.emplace<nn::ReLU>();
    model.emplace<nn::Dropout>({.p = 0.5});
    model.emplace<nn::Linear>({.in_features = 128, .out_features = 10});
    model.train();
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::TensorDataset dataset(x, y);
    Generator gen(1);
    data::DataLoader loader(dataset, {.batch_size = 128, .shuffle = true, .generator = &gen});

    std::vector<double> seconds;
    double last_loss = 0;
    auto batch = loader.begin();
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < steps; ++s) {
            if (!(batch != loader.end())) batch = loader.begin();  // a new epoch, reshuffled
            opt.zero_grad();
            Tensor loss = nn::F::cross_entropy(model(batch->data), batch->target);
            loss.backward();
            opt.step();
            last_loss = loss.item();
            ++batch;
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("cnn_seconds_per_%d_steps\t%d\t%.3f\ts\n", steps, threads, seconds[seconds.size() / 2]);
    std::printf("cnn_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    std::fprintf(stderr, "xgrad: last batch loss %.4f\n", last_loss);
    return 0;
}
