// End-to-end: seconds per training epoch of the main example's model (784-256-256-10, ReLU,
// Adam 1e-3, batch 128, cross-entropy, dropout off) on Fashion-MNIST held in memory, and the
// process's peak resident memory. Peers: bench_mlp_epoch_torch.py, libtorch/mlp_epoch_libtorch.cpp.
//
//   bench_mlp_epoch [--threads N] [--epochs 3]
#include <sys/resource.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <xgrad/xgrad.hpp>

#include "mlp_benchmark.hpp"

using namespace xgrad;

int main(int argc, char** argv) {
    int threads = 1, epochs = 3;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--epochs"))
            epochs = std::atoi(argv[++i]);
    }
    set_num_threads(threads);
    manual_seed(0);
    const auto [x, y] = bench::load_standardized_fashion_mnist();
    nn::Sequential model;
    bench::build_mlp(model);
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::TensorDataset dataset(x, y);
    Generator gen(1);
    data::DataLoader loader(dataset, {.batch_size = 128, .shuffle = true, .generator = &gen});

    std::vector<double> seconds;
    double last_loss = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        for (const data::Batch& batch : loader) {
            opt.zero_grad();
            Tensor loss = nn::F::cross_entropy(model(batch.data), batch.target);
            loss.backward();
            opt.step();
            last_loss = loss.item();
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("mlp_epoch_seconds\t%d\t%.3f\ts\n", threads, seconds[seconds.size() / 2]);
    std::printf("mlp_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    std::fprintf(stderr, "xgrad: last batch loss %.4f\n", last_loss);
    return 0;
}
