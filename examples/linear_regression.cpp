// Linear regression by full-batch gradient descent, with every gradient from autograd:
// fit y = 3 x1 - 2 x2 + 0.5 from 200 noisy samples and recover the coefficients.
// Full-batch gradient descent is optim::SGD fed the whole data set at every step; feeding it
// mini-batches instead would make it stochastic gradient descent, with no change to the optimizer.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <cstdio>

#include "tutorial.hpp"

using namespace xgrad;

int main(int argc, char** argv) try {
    tutorial::Cli("Linear regression by full-batch gradient descent with optim::SGD (--quick changes nothing here).")
        .parse(argc, argv);
    manual_seed(1);
    // Data: y = X w_true + b_true + noise.
    Tensor X = randn({200, 2});
    Tensor w_true = tensor({{3.0}, {-2.0}});
    Tensor y = matmul(X, w_true) + 0.5 + 0.05 * randn({200, 1});

    // Model parameters, learned from zero.
    Tensor w = zeros({2, 1}, TensorOptions().requires_grad(true));
    Tensor b = zeros({1}, TensorOptions().requires_grad(true));
    optim::SGD gd({w, b}, {.lr = 0.1});

    for (int step = 0; step <= 100; ++step) {
        gd.zero_grad();
        Tensor prediction = matmul(X, w) + b;         // all 200 samples: full batch
        Tensor loss = square(prediction - y).mean();  // mean squared error
        loss.backward();
        gd.step();
        if (step % 20 == 0) std::printf("step %3d  loss %.5f\n", step, loss.item());
    }
    const auto wv = w.to_vector<float>();
    std::printf("learned w = (%.3f, %.3f), b = %.3f   (true: 3, -2, 0.5)\n", wv[0], wv[1], b.item());
    const bool recovered = std::abs(wv[0] - 3) < 0.05 && std::abs(wv[1] + 2) < 0.05 && std::abs(b.item() - 0.5) < 0.05;
    return recovered ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
