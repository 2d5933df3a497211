// A project outside xgrad's tree, built against the installed package.
#include <xgrad.hpp>

#include <iostream>

int main() {
    xgrad::Tensor x = xgrad::tensor({1.0, 2.0, 3.0}, xgrad::TensorOptions().requires_grad(true));
    xgrad::Tensor y = (x * x).sum();
    y.backward();
    // d/dx sum(x^2) = 2x
    const auto g = x.grad().to_vector<double>();
    if (g != std::vector<double>{2.0, 4.0, 6.0}) {
        std::cerr << "unexpected gradient " << x.grad() << "\n";
        return 1;
    }
    std::cout << "consumer ok: " << x.grad() << "\n";
    return 0;
}
