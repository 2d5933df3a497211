// LibTorch peer of bench_overhead.cpp: the same two graphs, timed the same way.
#include <torch/torch.h>

#include <cstdio>

#include "../timing.hpp"

int main() {
    torch::set_num_threads(1);
    auto x = torch::full({1}, 0.5, torch::requires_grad());
    auto w = torch::full({1}, 0.9, torch::requires_grad());
    const double chain = bench::median_seconds(
        [&] {
            auto h = x;
            for (int i = 0; i < 50; ++i) h = torch::tanh(h * w);
            h.sum().backward();
        },
        200, 15);
    std::printf("chain_100_ops_us_per_op\t1\t%.3f\tus\n", chain / 100 * 1e6);

    torch::nn::Linear layer(4, 4);
    auto input = torch::randn({1, 4});
    const double lin = bench::median_seconds([&] { layer->forward(input).sum().backward(); }, 2000, 15);
    std::printf("linear_4x4_fwd_bwd_us\t1\t%.3f\tus\n", lin * 1e6);
    return 0;
}
