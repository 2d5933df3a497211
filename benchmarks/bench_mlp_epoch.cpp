// End-to-end: seconds per training epoch of the main example's model (784-256-256-10, ReLU,
// Adam 1e-3, batch 128, cross-entropy, dropout off) on Fashion-MNIST held in memory, and the
// process's peak resident memory. Peers: bench_mlp_epoch_torch.py, libtorch/mlp_epoch_libtorch.cpp.
//
//   bench_mlp_epoch [--threads N] [--epochs 3] [--phases]
//
// --phases also prints the median and mean microseconds per step of each phase (loading the batch, forward,
// loss, backward, optimizer step) over the epochs after the first: where a thread count gains or
// loses time.
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <numeric>
#include <vector>
#include <xgrad/xgrad.hpp>

#include "mlp_benchmark.hpp"

using namespace xgrad;

int main(int argc, char** argv) {
    int threads = 1, epochs = 3;
    bool phases = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--phases"))
            phases = true;
        else if (i + 1 < argc && !std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (i + 1 < argc && !std::strcmp(argv[i], "--epochs"))
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

    using Clock = std::chrono::steady_clock;
    const char* phase_names[] = {"data", "forward", "loss", "backward", "step"};
    std::vector<double> phase_us[5];
    const auto record = [&](int epoch, int phase, Clock::time_point from, Clock::time_point to) {
        if (phases && epoch > 0)
            phase_us[phase].push_back(std::chrono::duration<double, std::micro>(to - from).count());
    };
    std::vector<double> seconds;
    double last_loss = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        const auto start = Clock::now();
        auto fetch = start;
        for (const data::Batch& batch : loader) {
            const auto loaded = Clock::now();
            opt.zero_grad();
            const Tensor logits = model(batch.data);
            const auto forward = Clock::now();
            Tensor loss = nn::F::cross_entropy(logits, batch.target);
            const auto scored = Clock::now();
            loss.backward();
            const auto backward = Clock::now();
            opt.step();
            const auto stepped = Clock::now();
            last_loss = loss.item();
            if (phases) {
                record(epoch, 0, fetch, loaded);
                record(epoch, 1, loaded, forward);
                record(epoch, 2, forward, scored);
                record(epoch, 3, scored, backward);
                record(epoch, 4, backward, stepped);
                fetch = Clock::now();
            }
        }
        seconds.push_back(std::chrono::duration<double>(Clock::now() - start).count());
    }
    for (int p = 0; p < 5 && phases && !phase_us[p].empty(); ++p) {
        std::sort(phase_us[p].begin(), phase_us[p].end());
        std::printf("mlp_phase_%s_us\t%d\t%.1f\tus\n", phase_names[p], threads, phase_us[p][phase_us[p].size() / 2]);
        // The mean too: a median hides the rare slow steps (a descheduled worker) that an epoch pays.
        const double total = std::accumulate(phase_us[p].begin(), phase_us[p].end(), 0.0);
        std::printf("mlp_phase_%s_mean_us\t%d\t%.1f\tus\n", phase_names[p], threads,
                    total / static_cast<double>(phase_us[p].size()));
    }
    std::sort(seconds.begin(), seconds.end());
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("mlp_epoch_seconds\t%d\t%.3f\ts\n", threads, seconds[seconds.size() / 2]);
    std::printf("mlp_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    std::fprintf(stderr, "xgrad: last batch loss %.4f\n", last_loss);
    return 0;
}
