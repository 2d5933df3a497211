// The main example's training step (784-256-256-10, ReLU, Adam, batch 128, cross-entropy; see
// bench_mlp_epoch) kernel by kernel: the mean microseconds each kernel of a step takes, over the
// epochs after the first, at the thread count given. It calls the kernels the autograd graph calls
// (linear_out with bias and relu, cross_entropy_rows and its backward, linear_grads,
// threshold_backward, the bias sums, the first layer's weight gradient, Adam's step) in the
// graph's order, on data placed by the same kernels, so that a kernel's 2-thread time includes
// what it pays for operands the other core wrote. Run it at 1 and 2 threads side by side to see
// which kernels gain from a second thread and which lose (docs/benchmarks.md).
//
//   bench_mlp_kernels [--threads N] [--epochs 4]
//
// Prints name<TAB>threads<TAB>value<TAB>unit lines, as the other benchmarks.
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <string>
#include <vector>
#include <xgrad/tensor/kernels.hpp>
#include <xgrad/xgrad.hpp>

#include "mlp_benchmark.hpp"

using namespace xgrad;

namespace {

using Clock = std::chrono::steady_clock;

// Mean time per step of each named kernel, in the order first seen.
class KernelClock {
public:
    void start() { last_ = Clock::now(); }
    void lap(const char* name) {
        const Clock::time_point now = Clock::now();
        if (counting_) {
            std::size_t i = 0;
            while (i < names_.size() && names_[i] != name) ++i;
            if (i == names_.size()) {
                names_.emplace_back(name);
                total_us_.push_back(0);
            }
            total_us_[i] += std::chrono::duration<double, std::micro>(now - last_).count();
        }
        last_ = now;
    }
    void count_from_now(bool on) { counting_ = on; }
    void print(int threads, int64_t steps) const {
        double sum = 0;
        for (std::size_t i = 0; i < names_.size(); ++i) {
            std::printf("mlp_kernel_%s_us\t%d\t%.1f\tus\n", names_[i].c_str(), threads, total_us_[i] / steps);
            sum += total_us_[i];
        }
        std::printf("mlp_kernels_step_us\t%d\t%.1f\tus\n", threads, sum / steps);
    }

private:
    std::vector<std::string> names_;
    std::vector<double> total_us_;
    Clock::time_point last_;
    bool counting_ = false;
};

NDArray scaled_normal(const Shape& sizes, double scale) {
    return (randn(sizes) * scale).data();
}

}  // namespace

int main(int argc, char** argv) {
    int threads = 1, epochs = 4;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--epochs"))
            epochs = std::atoi(argv[++i]);
    }
    set_num_threads(threads);
    manual_seed(0);
    const auto [x_all, y_all] = bench::load_standardized_fashion_mnist();
    const NDArray images = x_all.data(), labels = y_all.data();

    // The layers as nn::Linear initializes them in scale; the values do not change the timing.
    std::vector<Tensor> params;
    for (const auto& [rows, cols] : {std::pair<int64_t, int64_t>{256, 784}, {256, 256}, {10, 256}}) {
        params.emplace_back(scaled_normal({rows, cols}, 1.0 / std::sqrt(static_cast<double>(cols))));
        params.emplace_back(scaled_normal({rows}, 0.01));
    }
    for (Tensor& p : params) p.requires_grad_(true);
    optim::Adam adam(params, {.lr = 1e-3});
    const NDArray w1 = params[0].data(), b1 = params[1].data(), w2 = params[2].data(), b2 = params[3].data(),
                  w3 = params[4].data(), b3 = params[5].data();

    constexpr int64_t kBatch = 128;
    const int64_t samples = images.size(0);
    Generator shuffle(1);
    KernelClock clock;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        clock.count_from_now(epoch > 0);
        const NDArray order = kernels::randperm(samples, shuffle);
        for (int64_t first = 0; first + kBatch <= samples; first += kBatch) {
            clock.start();
            const NDArray rows = order.narrow(0, first, kBatch);
            const NDArray x = kernels::index_select(images, 0, rows), y = kernels::index_select(labels, 0, rows);
            clock.lap("batch");
            NDArray h1 = NDArray::empty({kBatch, 256});
            kernels::linear_out(h1, x, w1.transpose(0, 1), b1, true);
            clock.lap("linear_relu1");
            NDArray h2 = NDArray::empty({kBatch, 256});
            kernels::linear_out(h2, h1, w2.transpose(0, 1), b2, true);
            clock.lap("linear_relu2");
            NDArray logits = NDArray::empty({kBatch, 10});
            kernels::linear_out(logits, h2, w3.transpose(0, 1), b3, false);
            clock.lap("linear3");
            const NDArray losses = kernels::cross_entropy_rows(logits, y, -100);
            clock.lap("cross_entropy");
            const NDArray g3 =
                kernels::cross_entropy_rows_backward(logits, y, -100, kernels::full({kBatch}, 1.0 / kBatch, kFloat32));
            clock.lap("cross_entropy_backward");
            const NDArray gb3 = kernels::sum(g3, {0});
            clock.lap("bias3_grad");
            const auto [gh2, gw3] = kernels::linear_grads(g3, w3, h2);
            clock.lap("linear3_grads");
            const NDArray g2 = kernels::threshold_backward(gh2, h2);
            clock.lap("relu2_backward");
            const NDArray gb2 = kernels::sum(g2, {0});
            clock.lap("bias2_grad");
            const auto [gh1, gw2] = kernels::linear_grads(g2, w2, h1);
            clock.lap("linear2_grads");
            const NDArray g1 = kernels::threshold_backward(gh1, h1);
            clock.lap("relu1_backward");
            const NDArray gb1 = kernels::sum(g1, {0});
            clock.lap("bias1_grad");
            const NDArray gw1 = kernels::matmul(g1.transpose(0, 1), x);
            clock.lap("weight1_grad");
            const NDArray grads[] = {gw1, gb1, gw2, gb2, gw3, gb3};
            for (std::size_t i = 0; i < params.size(); ++i) params[i].set_grad(Tensor(grads[i]));
            adam.step();
            clock.lap("adam");
        }
    }
    const int64_t steps_per_epoch = samples / kBatch;
    clock.print(threads, steps_per_epoch * (epochs - 1));
    return 0;
}
