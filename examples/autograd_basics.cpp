// Reverse-mode automatic differentiation, step by step: gradients accumulate, the graph is
// freed after backward, hooks watch gradients flow, and second derivatives come from
// differentiating the backward pass itself.
#include <xgrad/xgrad.hpp>

#include <cmath>
#include <iostream>

#include "tutorial.hpp"

using namespace xgrad;

int main(int argc, char** argv) try {
    tutorial::Cli("Autograd basics: gradients, hooks, second derivatives and gradcheck (--quick changes nothing here).")
        .parse(argc, argv);
    // f(x) = x^3 + 2x at x = 2: f'(x) = 3x^2 + 2 = 14, f''(x) = 6x = 12.
    Tensor x = scalar_tensor(2.0, TensorOptions(kFloat64).requires_grad(true));
    Tensor f = x * x * x + 2.0 * x;
    f.backward();
    std::cout << "f(2) = " << f.item() << ", f'(2) = " << x.grad().item() << " (expected 14)\n";

    // A second backward adds to .grad(): reset between uses, as optimizers' zero_grad() does.
    (x * 3.0).backward();
    std::cout << "after another backward of 3x, grad = " << x.grad().item() << " (14 + 3)\n";
    x.grad().zero_();

    // Second derivative: build the first derivative as a graph (create_graph), differentiate it.
    Tensor g = x * x * x + 2.0 * x;
    Tensor dfdx = autograd::grad({g}, {x}, {}, std::nullopt, /*create_graph=*/true)[0];
    Tensor d2fdx2 = autograd::grad({dfdx}, {x})[0];
    std::cout << "f''(2) = " << d2fdx2.item() << " (expected 12)\n";

    // Hooks see the gradient arriving at an intermediate tensor: here, through a chain of
    // sigmoids the gradient shrinks at every step (each sigmoid' <= 1/4).
    Tensor h = scalar_tensor(0.5, TensorOptions(kFloat64).requires_grad(true));
    Tensor out = h;
    for (int layer = 1; layer <= 5; ++layer) {
        out = sigmoid(out);
        out.register_hook([layer](const Tensor& grad) {
            std::cout << "  gradient entering sigmoid layer " << layer << " from above: " << grad.item() << "\n";
            return Tensor();
        });
    }
    std::cout << "backward through 5 stacked sigmoids:\n";
    out.backward();
    std::cout << "  d out / d input = " << h.grad().item() << "\n";

    // Check our own derivative against finite differences.
    auto result = autograd::gradcheck([](const std::vector<Tensor>& in) { return (in[0].sin() * in[0]).sum(); },
                                      {randn({4}, TensorOptions(kFloat64).requires_grad(true))});
    std::cout << "gradcheck of sum(x sin x): " << (result.ok ? "passed" : result.message) << "\n";
    return result.ok ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
