// LibTorch peer of bench_lstm_step.cpp: the same two LSTM cases, loss, optimizer and threads.
#include <sys/resource.h>
#include <torch/torch.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <vector>

namespace {
double median_step_ms(int64_t layers, bool bidirectional, int repeats) {
    torch::nn::LSTM lstm(torch::nn::LSTMOptions(64, 128).num_layers(layers).bidirectional(bidirectional));
    torch::optim::Adam opt(lstm->parameters(), torch::optim::AdamOptions(1e-3));
    const auto x = torch::randn({50, 32, 64});
    std::vector<double> ms;
    for (int r = 0; r < repeats + 2; ++r) {  // two warm-up steps
        const auto start = std::chrono::steady_clock::now();
        opt.zero_grad();
        auto loss = std::get<0>(lstm->forward(x)).pow(2).mean();
        loss.backward();
        opt.step();
        if (r >= 2)
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, repeats = 20;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[++i]);
    }
    torch::set_num_threads(threads);
    torch::manual_seed(0);
    std::printf("lstm_1layer_step_ms\t%d\t%.2f\tms\n", threads, median_step_ms(1, false, repeats));
    std::printf("lstm_2layer_bidir_step_ms\t%d\t%.2f\tms\n", threads, median_step_ms(2, true, repeats));
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("lstm_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    return 0;
}
