// A tour of xgrad's tensors in under 100 lines: creation, views that share memory, broadcasting,
// reductions, matrix products, and a first gradient.
//
//   make example            (builds and runs this)
#include <xgrad/xgrad.hpp>

#include <iostream>

#include "tutorial.hpp"

using namespace xgrad;

int main(int argc, char** argv) try {
    tutorial::Cli("A tour of tensors: creation, views, broadcasting, reductions (--quick changes nothing here).")
        .parse(argc, argv);
    manual_seed(0);  // one seed makes every random tensor below reproducible

    // Creation: factories take a shape and, optionally, a dtype (float32 by default).
    Tensor a = arange(6, kFloat32).view({2, 3});
    Tensor noise = randn({2, 3});
    std::cout << "a =\n" << a << "\n\n";

    // Views share memory: writing through the transpose changes a.
    Tensor at = a.t();
    at.select(0, 0).fill_(-1);
    std::cout << "after writing column 0 through a.t():\n" << a << "\n\n";

    // Broadcasting follows NumPy: [2, 3] + [3] adds the row to each row, [2, 1] to each column.
    Tensor row = tensor({10, 20, 30});
    Tensor col = tensor({{100}, {200}});
    std::cout << "a + row + col =\n" << a + row + col << "\n\n";

    // Reductions over all elements or chosen dims.
    std::cout << "sum over rows: " << a.sum({0}) << "\n";
    std::cout << "mean per row (keepdim): " << a.mean({1}, true) << "\n";
    auto [best, where] = noise.max(1);
    std::cout << "row maxima " << best << " at " << where << "\n\n";

    // Matrix products go through BLAS; the transposed view is passed without a copy.
    Tensor gram = matmul(a, a.t());
    std::cout << "a @ a^T =\n" << gram << "\n\n";

    // A first gradient: y = sum(tanh(w x)), dy/dw by reverse-mode differentiation.
    Tensor w = randn({3, 3}, TensorOptions().requires_grad(true));
    Tensor x = tensor({1.0, 0.5, -1.0});
    Tensor y = tanh(matmul(w, x)).sum();
    y.backward();
    std::cout << "y = " << y.item() << "\ndy/dw =\n" << w.grad() << "\n\n";

    // Mistakes are caught with the op and the shapes in the message.
    try {
        matmul(a, a);
    } catch (const Error& e) {
        std::cout << "error, as expected: " << e.what() << "\n";
    }
    return 0;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
