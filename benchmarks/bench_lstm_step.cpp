// One LSTM training step (forward, backward, Adam) on a random batch, in milliseconds (median of
// --repeats), and the process's peak resident memory. Two cases, as in the issue that set the targets:
//   lstm_1layer:       input 64, hidden 128, sequence 50, batch 32
//   lstm_2layer_bidir: the same with num_layers 2 and bidirectional
// The loss is the mean square of the outputs. Peers, the same program: bench_lstm_step_torch.py,
// libtorch/lstm_step_libtorch.cpp.
//
//   bench_lstm_step [--threads N] [--repeats 20]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {

double median_step_ms(int64_t layers, bool bidirectional, int repeats) {
    const int64_t input = 64, hidden = 128, steps = 50, batch = 32;
    nn::LSTM lstm({.input_size = input, .hidden_size = hidden, .num_layers = layers, .bidirectional = bidirectional});
    optim::Adam opt(lstm.parameters(), {.lr = 1e-3});
    const Tensor x = randn({steps, batch, input});
    std::vector<double> ms;
    for (int r = 0; r < repeats + 2; ++r) {  // two warm-up steps
        const auto start = std::chrono::steady_clock::now();
        opt.zero_grad();
        Tensor loss = lstm.forward_with_state(x, {}).output.pow(2).mean();
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
    set_num_threads(threads);
    manual_seed(0);
    std::printf("lstm_1layer_step_ms\t%d\t%.2f\tms\n", threads, median_step_ms(1, false, repeats));
    std::printf("lstm_2layer_bidir_step_ms\t%d\t%.2f\tms\n", threads, median_step_ms(2, true, repeats));
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("lstm_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    return 0;
}
