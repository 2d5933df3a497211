// LibTorch peer of bench_mlp_epoch.cpp: the same model, data (read with the same IDX layout),
// batch and threads; mini-batches drawn from a random permutation each epoch, as the others do.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "read_gz.hpp"

int main(int argc, char** argv) {
    int threads = 1, epochs = 3;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--epochs"))
            epochs = std::atoi(argv[++i]);
    }
    torch::set_num_threads(threads);
    torch::manual_seed(0);
    const std::string folder = "/usr/share/datasets/fashion-mnist/";
    auto images = read_gz(folder + "train-images-idx3-ubyte.gz");
    auto labels = read_gz(folder + "train-labels-idx1-ubyte.gz");
    const int64_t n = 60000;
    auto x = torch::from_blob(images.data() + 16, {n, 784}, torch::kUInt8).to(torch::kFloat32) / 255;
    auto y = torch::from_blob(labels.data() + 8, {n}, torch::kUInt8).to(torch::kInt64);
    auto std = x.std(0, /*unbiased=*/false);
    x = (x - x.mean(0)) / torch::where(std == 0, torch::ones_like(std), std);

    torch::nn::Sequential model(torch::nn::Linear(784, 256), torch::nn::ReLU(), torch::nn::Linear(256, 256),
                                torch::nn::ReLU(), torch::nn::Linear(256, 10));
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
    std::vector<double> seconds;
    float last = 0;
    for (int e = 0; e < epochs; ++e) {
        const auto start = std::chrono::steady_clock::now();
        auto order = torch::randperm(n);
        for (int64_t b = 0; b < n; b += 128) {
            auto idx = order.narrow(0, b, std::min<int64_t>(128, n - b));
            auto bx = x.index_select(0, idx), by = y.index_select(0, idx);
            opt.zero_grad();
            auto loss = torch::nn::functional::cross_entropy(model->forward(bx), by);
            loss.backward();
            opt.step();
            last = loss.item<float>();
        }
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(seconds.begin(), seconds.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("mlp_epoch_seconds\t%d\t%.3f\ts\n", threads, seconds[seconds.size() / 2]);
    std::printf("mlp_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    std::fprintf(stderr, "libtorch: last batch loss %.4f\n", last);
    return 0;
}
