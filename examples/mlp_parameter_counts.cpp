// The lecture's parameter counts, read off nn::summary: an MLP with n inputs, p hidden units per
// layer and l outputs has n p + p l weights with one hidden layer and n p + 2 p^2 + p l with
// three, plus one bias per non-input unit.
//
//   mlp_parameter_counts [--n 784] [--p 256] [--l 10]
#include <xgrad/xgrad.hpp>

#include <cstdio>
#include <iostream>

#include "tutorial.hpp"

using namespace xgrad;

namespace {
void build(nn::Sequential& model, int64_t n, int64_t p, int64_t l, int hidden_layers, bool bias) {
    model.emplace<nn::Linear>({.in_features = n, .out_features = p, .bias = bias});
    model.emplace<nn::ReLU>();
    for (int h = 1; h < hidden_layers; ++h) {
        model.emplace<nn::Linear>({.in_features = p, .out_features = p, .bias = bias});
        model.emplace<nn::ReLU>();
    }
    model.emplace<nn::Linear>({.in_features = p, .out_features = l, .bias = bias});
}
}  // namespace

int main(int argc, char** argv) try {
    int64_t n = 784, p = 256, l = 10;
    tutorial::Cli cli("Tutorial: parameter counts of deep MLPs (--quick changes nothing here).");
    cli.option("-n,--inputs", n, "input units n").at_least(1);
    cli.option("-p,--hidden", p, "hidden units p per layer").at_least(1);
    cli.option("-l,--outputs", l, "output units l").at_least(1);
    cli.parse(argc, argv);
    bool all_match = true;
    for (int hidden : {1, 3}) {
        const int64_t weights = hidden == 1 ? n * p + p * l : n * p + 2 * p * p + p * l;
        const int64_t biases = hidden * p + l;
        nn::Sequential without_bias, with_bias;
        build(without_bias, n, p, l, hidden, false);
        build(with_bias, n, p, l, hidden, true);
        const nn::Summary s = nn::summary(with_bias, {1, n});
        std::cout << "\n" << hidden << " hidden layer(s), n = " << n << ", p = " << p << ", l = " << l << ":\n" << s;
        const int64_t counted_weights = nn::summary(without_bias, {1, n}).total_params;
        std::printf("formula: %s = %lld weights (counted: %lld), + %lld biases = %lld (counted: %lld)\n",
                    hidden == 1 ? "n p + p l" : "n p + 2 p^2 + p l", static_cast<long long>(weights),
                    static_cast<long long>(counted_weights), static_cast<long long>(biases),
                    static_cast<long long>(weights + biases), static_cast<long long>(s.total_params));
        all_match = all_match && counted_weights == weights && s.total_params == weights + biases;
    }
    return all_match ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
