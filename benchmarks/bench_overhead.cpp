// Per-op overhead of the dynamic graph: forward + backward of a 100-op chain on 1-element tensors
// (h = tanh(h * w), 50 times), and of a Linear(4, 4) layer on one sample. Small tensors make the
// arithmetic free, so what is left is the framework: allocation, node creation, the engine.
// The same graphs in LibTorch: benchmarks/libtorch/overhead_libtorch.cpp.
#include <cstdio>
#include <xgrad/xgrad.hpp>

#include "timing.hpp"

using namespace xgrad;

int main() {
    set_num_threads(1);
    Tensor x = full({1}, 0.5, TensorOptions().requires_grad(true));
    Tensor w = full({1}, 0.9, TensorOptions().requires_grad(true));
    const double chain = bench::median_seconds(
        [&] {
            Tensor h = x;
            for (int i = 0; i < 50; ++i) h = tanh(h * w);
            h.sum().backward();
        },
        200, 15);
    std::printf("chain_100_ops_us_per_op\t1\t%.3f\tus\n", chain / 100 * 1e6);

    Tensor input = randn({1, 4});
    Tensor weight = randn({4, 4}, TensorOptions().requires_grad(true));
    Tensor bias = zeros({4}, TensorOptions().requires_grad(true));
    const double lin = bench::median_seconds([&] { linear(input, weight, bias).sum().backward(); }, 2000, 15);
    std::printf("linear_4x4_fwd_bwd_us\t1\t%.3f\tus\n", lin * 1e6);
    return 0;
}
