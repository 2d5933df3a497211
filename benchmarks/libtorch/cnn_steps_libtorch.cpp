// LibTorch peer of bench_cnn_steps.cpp: the same model, data (read with the same IDX layout),
// batch, steps and threads; mini-batches drawn from a random permutation each epoch.
#include <sys/resource.h>
#include <torch/torch.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>

#include "read_gz.hpp"

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
    torch::set_num_threads(threads);
    torch::manual_seed(0);
    const std::string folder = "/usr/share/datasets/fashion-mnist/";
    auto images = read_gz(folder + "train-images-idx3-ubyte.gz");
    auto labels = read_gz(folder + "train-labels-idx1-ubyte.gz");
    const int64_t n = 60000;
    auto x = torch::from_blob(images.data() + 16, {n, 1, 28, 28}, torch::kUInt8).to(torch::kFloat32) / 255;
    auto y = torch::from_blob(labels.data() + 8, {n}, torch::kUInt8).to(torch::kInt64);

    namespace tnn = torch::nn;
    tnn::Sequential model(tnn::Conv2d(tnn::Conv2dOptions(1, 32, 3).padding(1)), tnn::ReLU(), tnn::MaxPool2d(2),
                          tnn::Conv2d(tnn::Conv2dOptions(32, 64, 3).padding(1)), tnn::ReLU(), tnn::MaxPool2d(2),
                          tnn::Flatten(), tnn::Linear(3136, 128), tnn::ReLU(), tnn::Dropout(0.5), tnn::Linear(128, 10));
    model->train();
    torch::optim::Adam opt(model->parameters(), torch::optim::AdamOptions(1e-3));
    std::vector<double> seconds;
    float last = 0;
    auto order = torch::randperm(n);
    int64_t at = 0;
    for (int r = 0; r < repeats; ++r) {
        const auto start = std::chrono::steady_clock::now();
        for (int s = 0; s < steps; ++s) {
            if (at >= n) order = torch::randperm(n), at = 0;
            auto idx = order.narrow(0, at, std::min<int64_t>(128, n - at));
            at += 128;
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
    std::printf("cnn_seconds_per_%d_steps\t%d\t%.3f\ts\n", steps, threads, seconds[seconds.size() / 2]);
    std::printf("cnn_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    std::fprintf(stderr, "libtorch: last batch loss %.4f\n", last);
    return 0;
}
