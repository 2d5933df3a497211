#include <xgrad/nn/regularization.hpp>

#include <string>

#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {
namespace {
Tensor sum_over(const std::vector<Tensor>& params, Tensor (*per_element)(const Tensor&), const char* op) {
    XGRAD_CHECK(!params.empty(), op, ": no parameters given");
    Tensor total;
    for (const Tensor& p : params) {
        const Tensor s = per_element(p).sum();
        total = total.defined() ? total + s : s;
    }
    return total;
}
}  // namespace

Tensor l2_penalty(const std::vector<Tensor>& params, double lambda) {
    XGRAD_CHECK(lambda >= 0, "l2_penalty: lambda must be non-negative, got ", lambda);
    return sum_over(params, &square, "l2_penalty") * (lambda / 2);
}

Tensor l1_penalty(const std::vector<Tensor>& params, double lambda) {
    XGRAD_CHECK(lambda >= 0, "l1_penalty: lambda must be non-negative, got ", lambda);
    return sum_over(params, &abs, "l1_penalty") * lambda;
}

Tensor elastic_net_penalty(const std::vector<Tensor>& params, double l1, double l2) {
    return l1_penalty(params, l1) + l2_penalty(params, l2);
}

std::vector<Tensor> parameters_named(const std::vector<std::pair<std::string, Tensor>>& named,
                                     const std::string& suffix) {
    std::vector<Tensor> out;
    for (const auto& [name, p] : named)
        if (name.size() >= suffix.size() && name.compare(name.size() - suffix.size(), suffix.size(), suffix) == 0)
            out.push_back(p);
    return out;
}

}  // namespace xgrad::nn
