#pragma once
/// Finite-difference checks of gradients, for built-in ops and users' own custom functions.
///
/// gradcheck compares the Jacobian that backward() computes with central differences
/// (f(x + eps) - f(x - eps)) / 2 eps, element by element, in float64. The first mismatch is
/// reported with the input, the element and both values.

#include <functional>
#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::autograd {

struct GradcheckOptions {
    double eps = 1e-6;
    double rtol = 1e-3;
    double atol = 1e-5;
    /// Throw xgrad::Error on a mismatch (otherwise return false and fill the message).
    bool raise = true;
};

struct GradcheckResult {
    bool ok = true;
    std::string message;  ///< what failed first, empty when ok
    explicit operator bool() const { return ok; }
};

using TensorFunction = std::function<Tensor(const std::vector<Tensor>&)>;

/// Checks d fn / d inputs for every float64 input that requires grad. Inputs may be
/// non-contiguous views, but not overlapping ones (an expand() view cannot be perturbed singly).
GradcheckResult gradcheck(const TensorFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions options = {});

/// Checks second derivatives: gradcheck of (inputs, v) -> grad(fn(inputs), inputs, v) with a
/// fixed random v, built with create_graph.
GradcheckResult gradgradcheck(const TensorFunction& fn, const std::vector<Tensor>& inputs,
                              GradcheckOptions options = {});

}  // namespace xgrad::autograd
