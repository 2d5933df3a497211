#include <xgrad/autograd/gradcheck.hpp>

#include <cmath>
#include <sstream>

#include <xgrad/autograd/engine.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>

namespace xgrad::autograd {
namespace {

// Multi-index of flat (row-major) position i in sizes, as "(1, 2)".
std::string index_text(int64_t i, const Shape& sizes) {
    Shape idx(sizes.size(), 0);
    for (std::size_t d = sizes.size(); d-- > 0;) {
        idx[d] = i % sizes[d];
        i /= sizes[d];
    }
    std::ostringstream out;
    out << '(';
    for (std::size_t d = 0; d < idx.size(); ++d) out << (d ? ", " : "") << idx[d];
    out << ')';
    return out.str();
}

// Address of the element at flat position i of a (possibly strided) float64 view.
double* element(const Tensor& t, int64_t i) {
    int64_t offset = 0;
    for (int64_t d = t.dim(); d-- > 0;) {
        offset += (i % t.sizes()[d]) * t.strides()[d];
        i /= t.sizes()[d];
    }
    return t.data_ptr<double>() + offset;
}

std::vector<double> flat_output(const TensorFunction& fn, const std::vector<Tensor>& inputs) {
    NoGradGuard no_grad;
    return fn(inputs).to_vector<double>();
}

GradcheckResult fail_with(const GradcheckOptions& options, const std::string& message) {
    XGRAD_CHECK(!options.raise, message);
    return {false, message};
}

}  // namespace

GradcheckResult gradcheck(const TensorFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions options) {
    std::vector<std::size_t> checked;
    for (std::size_t i = 0; i < inputs.size(); ++i) {
        const Tensor& x = inputs[i];
        if (!x.defined() || !x.requires_grad()) continue;
        XGRAD_CHECK(x.dtype() == kFloat64, "gradcheck: input ", i, " is ", x.dtype(),
                    "; finite differences need float64 inputs to be meaningful");
        for (int64_t d = 0; d < x.dim(); ++d)
            XGRAD_CHECK(x.strides()[d] != 0 || x.sizes()[d] <= 1, "gradcheck: input ", i, " of shape ", x.sizes(),
                        " has overlapping memory (stride 0); pass a tensor whose elements are distinct");
        checked.push_back(i);
    }
    XGRAD_CHECK(!checked.empty(), "gradcheck: no input requires grad");

    const Tensor out = fn(inputs);
    XGRAD_CHECK(out.dtype() == kFloat64, "gradcheck: the function returned ", out.dtype(), "; it must return float64");
    const int64_t n_out = out.numel();
    std::vector<Tensor> wrt;
    for (std::size_t i : checked) wrt.push_back(inputs[i]);

    // Analytical Jacobian, one row per output element: backward of a one-hot gradient.
    std::vector<std::vector<std::vector<double>>> analytical(checked.size());  // [input][out][in]
    for (int64_t j = 0; j < n_out; ++j) {
        Tensor seed = zeros(out.sizes(), kFloat64);
        seed.data_ptr<double>()[j] = 1.0;
        if (!out.requires_grad()) {
            for (std::size_t k = 0; k < checked.size(); ++k)
                analytical[k].push_back(std::vector<double>(static_cast<std::size_t>(wrt[k].numel()), 0.0));
            continue;
        }
        const std::vector<Tensor> g = grad({out}, wrt, {seed}, true, false, true);
        for (std::size_t k = 0; k < checked.size(); ++k) {
            if (g[k].defined()) {
                XGRAD_CHECK(g[k].sizes() == wrt[k].sizes(), "gradcheck: the gradient for input ", checked[k],
                            " has shape ", g[k].sizes(), " but the input has shape ", wrt[k].sizes());
                analytical[k].push_back(g[k].to_vector<double>());
            } else {
                analytical[k].push_back(std::vector<double>(static_cast<std::size_t>(wrt[k].numel()), 0.0));
            }
        }
    }

    // Numerical Jacobian, one column per input element, compared as it is built.
    for (std::size_t k = 0; k < checked.size(); ++k) {
        const Tensor& x = wrt[k];
        for (int64_t e = 0; e < x.numel(); ++e) {
            double* p = element(x, e);
            const double saved = *p;
            *p = saved + options.eps;
            const std::vector<double> plus = flat_output(fn, inputs);
            *p = saved - options.eps;
            const std::vector<double> minus = flat_output(fn, inputs);
            *p = saved;
            for (int64_t j = 0; j < n_out; ++j) {
                const double numerical = (plus[j] - minus[j]) / (2 * options.eps);
                const double a = analytical[k][j][e];
                if (!(std::abs(a - numerical) <= options.atol + options.rtol * std::abs(numerical))) {
                    std::ostringstream msg;
                    msg << "gradcheck: mismatch for input " << checked[k] << " (shape " << x.sizes() << ") at element "
                        << index_text(e, x.sizes()) << ", output element " << index_text(j, out.sizes())
                        << ": analytical " << a << " vs numerical " << numerical;
                    return fail_with(options, msg.str());
                }
            }
        }
    }
    return {};
}

GradcheckResult gradgradcheck(const TensorFunction& fn, const std::vector<Tensor>& inputs, GradcheckOptions options) {
    Tensor probe;
    {
        NoGradGuard no_grad;
        probe = fn(inputs);
    }
    // A fixed, generic output gradient (not ones: symmetric seeds hide some errors).
    Generator gen(20241124);
    Tensor v = randn(probe.sizes(), kFloat64, &gen).requires_grad_();
    std::vector<std::size_t> diff;
    for (std::size_t i = 0; i < inputs.size(); ++i)
        if (inputs[i].defined() && inputs[i].requires_grad()) diff.push_back(i);

    std::vector<Tensor> all = inputs;
    all.push_back(v);
    const TensorFunction first_derivative = [&](const std::vector<Tensor>& args) {
        // The numerical pass calls this under NoGradGuard, but a first derivative needs a graph;
        // only the second derivative's graph is optional.
        const bool outer_recording = GradMode::is_enabled();
        AutoGradMode recording(true);
        std::vector<Tensor> xs(args.begin(), args.end() - 1);
        std::vector<Tensor> wrt;
        for (std::size_t i : diff) wrt.push_back(xs[i]);
        const Tensor out = fn(xs);
        const std::vector<Tensor> g = grad({out}, wrt, {args.back()}, true, outer_recording, true);
        std::vector<Tensor> flat;
        for (std::size_t k = 0; k < g.size(); ++k)
            flat.push_back(g[k].defined() ? g[k].reshape({-1}) : zeros({wrt[k].numel()}, kFloat64));
        const Tensor result = cat(flat, 0);
        return outer_recording ? result : result.detach();
    };
    return gradcheck(first_derivative, all, options);
}

}  // namespace xgrad::autograd
