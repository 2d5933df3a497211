// A random-op fuzzer: each case builds one to three small tensors (every dtype, size-0 dims,
// non-contiguous views), then applies one to three ops drawn from the table below with random and
// often wrong arguments (dims out of range, mismatched shapes, negative or overflowing sizes), and
// sometimes runs backward. Every op must either work or throw xgrad::Error (or std::bad_alloc for
// a valid request beyond memory); any other exception is a failure, and under the sanitizer build a crash, a leak or
// undefined behaviour is one too.
//
//     build/tests/fuzz_ops --cases 1000000 --seed 7     # a longer run
//     build/tests/fuzz_ops --first 4242 --cases 1 -v    # replay one case, printing its ops
#include <CLI/CLI.hpp>
#include <xgrad/xgrad.hpp>

#include <cstdint>
#include <cstdio>
#include <functional>
#include <limits>
#include <string>
#include <vector>

#include "fuzz_random.hpp"

using namespace xgrad;
namespace F = xgrad::nn::functional;

namespace {

// Results larger than this end the chain: a valid op on a huge expanded view (sum over 2^40
// elements) is not a bug, only slow.
constexpr int64_t kMaxElements = int64_t(1) << 20;

struct Case {
    fuzz::Random& rng;
    std::vector<Tensor> pool;  // the inputs, then every result
    std::string trace;         // the ops applied, for the report

    const Tensor& any() { return pool[rng.below(pool.size())]; }
    int64_t dim_of(const Tensor& t) { return rng.axis(t.dim()); }
    Shape dims_of(const Tensor& t) {
        Shape dims;
        const int64_t n = static_cast<int64_t>(rng.below(3));
        for (int64_t i = 0; i < n; ++i) dims.push_back(dim_of(t));
        return dims;
    }
};

Tensor random_tensor(fuzz::Random& rng) {
    static const DType dtypes[] = {kFloat32, kFloat64, kInt64, kBool, kFloat32, kFloat64};
    const DType dtype = dtypes[rng.below(6)];
    Shape sizes;
    const int64_t rank = static_cast<int64_t>(rng.below(5));
    for (int64_t i = 0; i < rank; ++i) sizes.push_back(rng.small_size());
    Tensor t = dtype == kBool ? (randn(sizes) > 0.0) : randn(sizes, dtype == kInt64 ? kFloat32 : dtype);
    if (dtype == kInt64) t = (t * 3.0).to(kInt64);
    // A view half the time: the kernels' strided paths get the same inputs as the contiguous ones.
    if (t.dim() >= 2 && rng.chance(0.2)) t = t.transpose(0, t.dim() - 1);
    if (t.dim() >= 1 && rng.chance(0.2)) t = slice(t, 0, 0, t.size(0), 2);
    if (t.dim() >= 1 && rng.chance(0.1)) {
        Shape wider = {2};
        for (int64_t s : t.sizes()) wider.push_back(s);
        t = unsqueeze(t, 0).expand(wider);
    }
    if (t.dim() >= 1 && t.size(-1) > 0 && rng.chance(0.1)) t = select(t, -1, 0);
    if ((dtype == kFloat32 || dtype == kFloat64) && rng.chance(0.5)) t = t.detach().requires_grad_(true);
    return t;
}

using Op = std::function<Tensor(Case&)>;

struct NamedOp {
    const char* name;
    Op run;
};

std::vector<NamedOp> op_table() {
    using C = Case;
    return {
        // creation, with sizes that may be negative or overflow
        {"zeros", [](C& c) { return zeros(c.rng.shape_any(), c.rng.chance(0.5) ? kFloat32 : kInt64); }},
        {"randn", [](C& c) { return randn(c.rng.shape_any()); }},
        {"full", [](C& c) { return full(c.rng.shape_any(), 1.5, kFloat64); }},
        {"empty", [](C& c) { return empty(c.rng.shape_any()); }},
        {"arange", [](C& c) { return arange(0, c.rng.real() * 1e3, c.rng.chance(0.1) ? 0.0 : c.rng.real()); }},
        {"eye", [](C& c) { return eye(c.rng.size_any(), c.rng.size_any()); }},
        {"linspace", [](C& c) { return linspace(0, 1, c.rng.size_any()); }},
        // element-wise
        {"neg", [](C& c) { return neg(c.any()); }},
        {"exp", [](C& c) { return exp(c.any()); }},
        {"log", [](C& c) { return log(c.any()); }},
        {"sqrt", [](C& c) { return sqrt(c.any()); }},
        {"abs", [](C& c) { return abs(c.any()); }},
        {"tanh", [](C& c) { return tanh(c.any()); }},
        {"sigmoid", [](C& c) { return sigmoid(c.any()); }},
        {"relu", [](C& c) { return relu(c.any()); }},
        {"reciprocal", [](C& c) { return reciprocal(c.any()); }},
        {"sign", [](C& c) { return sign(c.any()); }},
        {"clamp", [](C& c) { return clamp(c.any(), c.rng.real(), c.rng.real()); }},
        {"pow_scalar",
         [](C& c) {
             return pow(c.any(), c.rng.pick<double>({-2, -1, 0, 0.5, 1, 2, 3, 2.5}));
         }},
        {"add", [](C& c) { return add(c.any(), c.any()); }},
        {"sub", [](C& c) { return sub(c.any(), c.any()); }},
        {"mul", [](C& c) { return mul(c.any(), c.any()); }},
        {"div", [](C& c) { return div(c.any(), c.any()); }},
        {"pow", [](C& c) { return pow(c.any(), c.any()); }},
        {"maximum", [](C& c) { return maximum(c.any(), c.any()); }},
        {"lt", [](C& c) { return lt(c.any(), c.any()); }},
        {"logical_and", [](C& c) { return logical_and(c.any(), c.any()); }},
        {"where", [](C& c) { return where(c.any(), c.any(), c.any()); }},
        {"masked_fill", [](C& c) { return masked_fill(c.any(), c.any(), 2.0); }},
        {"to",
         [](C& c) {
             return c.any().to(c.rng.pick<DType>({kFloat32, kFloat64, kInt64, kBool}));
         }},
        // reductions and scans
        {"sum",
         [](C& c) {
             auto& t = c.any();
             return sum(t, c.dims_of(t), c.rng.chance(0.5));
         }},
        {"mean",
         [](C& c) {
             auto& t = c.any();
             return mean(t, c.dims_of(t), c.rng.chance(0.5));
         }},
        {"amax",
         [](C& c) {
             auto& t = c.any();
             return amax(t, c.dims_of(t), c.rng.chance(0.5));
         }},
        {"argmax",
         [](C& c) {
             auto& t = c.any();
             return argmax(t, c.dim_of(t), c.rng.chance(0.5));
         }},
        {"var",
         [](C& c) {
             auto& t = c.any();
             return var(t, c.dims_of(t), c.rng.chance(0.5));
         }},
        {"std",
         [](C& c) {
             auto& t = c.any();
             return xgrad::std(t, c.dims_of(t));
         }},
        {"norm",
         [](C& c) {
             auto& t = c.any();
             return norm(t, c.rng.pick<double>({1, 2, 3}), c.dims_of(t));
         }},
        {"logsumexp",
         [](C& c) {
             auto& t = c.any();
             return logsumexp(t, c.dims_of(t));
         }},
        {"softmax",
         [](C& c) {
             auto& t = c.any();
             return softmax(t, c.dim_of(t));
         }},
        {"log_softmax",
         [](C& c) {
             auto& t = c.any();
             return log_softmax(t, c.dim_of(t));
         }},
        {"cumsum",
         [](C& c) {
             auto& t = c.any();
             return cumsum(t, c.dim_of(t));
         }},
        {"cumprod",
         [](C& c) {
             auto& t = c.any();
             return cumprod(t, c.dim_of(t));
         }},
        {"argsort",
         [](C& c) {
             auto& t = c.any();
             return argsort(t, c.dim_of(t));
         }},
        // shapes and views
        {"view", [](C& c) { return view(c.any(), c.rng.shape_view()); }},
        {"reshape", [](C& c) { return reshape(c.any(), c.rng.shape_view()); }},
        {"transpose",
         [](C& c) {
             auto& t = c.any();
             return transpose(t, c.dim_of(t), c.dim_of(t));
         }},
        {"permute",
         [](C& c) {
             auto& t = c.any();
             return permute(t, c.rng.permutation(t.dim()));
         }},
        {"narrow",
         [](C& c) {
             auto& t = c.any();
             return narrow(t, c.dim_of(t), c.rng.index(), c.rng.index());
         }},
        {"slice",
         [](C& c) {
             auto& t = c.any();
             return slice(t, c.dim_of(t), c.rng.index(), c.rng.index(), c.rng.pick<int64_t>({1, 2, 3, 0, -1}));
         }},
        {"select",
         [](C& c) {
             auto& t = c.any();
             return select(t, c.dim_of(t), c.rng.index());
         }},
        {"unsqueeze",
         [](C& c) {
             auto& t = c.any();
             return unsqueeze(t, c.rng.axis(t.dim() + 1));
         }},
        {"squeeze",
         [](C& c) {
             auto& t = c.any();
             return squeeze(t, c.dim_of(t));
         }},
        {"expand", [](C& c) { return expand(c.any(), c.rng.shape_any()); }},
        {"repeat", [](C& c) { return repeat(c.any(), c.rng.shape_small()); }},
        {"flatten",
         [](C& c) {
             auto& t = c.any();
             return flatten(t, c.dim_of(t), c.dim_of(t));
         }},
        {"cat",
         [](C& c) {
             auto& a = c.any();
             return cat({a, c.any()}, c.dim_of(a));
         }},
        {"stack",
         [](C& c) {
             auto& a = c.any();
             return stack({a, c.any()}, c.rng.axis(a.dim() + 1));
         }},
        {"split",
         [](C& c) {
             auto& t = c.any();
             return split(t, c.rng.index(), c.dim_of(t)).at(0);
         }},
        {"chunk",
         [](C& c) {
             auto& t = c.any();
             return chunk(t, c.rng.index(), c.dim_of(t)).at(0);
         }},
        {"tril", [](C& c) { return tril(c.any(), c.rng.index()); }},
        {"contiguous", [](C& c) { return c.any().contiguous(); }},
        // indexing
        {"index_select",
         [](C& c) {
             auto& t = c.any();
             return index_select(t, c.dim_of(t), from_vector(std::vector<int64_t>{c.rng.index(), 0}, {2}));
         }},
        {"gather",
         [](C& c) {
             auto& t = c.any();
             return gather(t, c.dim_of(t), (abs(c.any()) * 2.0).to(kInt64));
         }},
        {"one_hot", [](C& c) { return one_hot(c.any(), c.rng.index()); }},
        // linear algebra and layers
        {"matmul", [](C& c) { return matmul(c.any(), c.any()); }},
        {"bmm", [](C& c) { return bmm(c.any(), c.any()); }},
        {"linear", [](C& c) { return linear(c.any(), c.any(), c.rng.chance(0.5) ? c.any() : Tensor()); }},
        {"conv2d",
         [](C& c) {
             return F::conv2d(c.any(), c.any(), Tensor(), c.rng.window(), c.rng.padding(), 1,
                              c.rng.pick<int64_t>({1, 1, 2}));
         }},
        {"max_pool2d", [](C& c) { return F::max_pool2d(c.any(), c.rng.window(), c.rng.padding(), c.rng.padding()); }},
        {"avg_pool2d", [](C& c) { return F::avg_pool2d(c.any(), c.rng.window(), c.rng.padding(), c.rng.padding()); }},
        {"adaptive_max_pool2d", [](C& c) { return F::adaptive_max_pool2d(c.any(), c.rng.window()); }},
        {"dropout",
         [](C& c) {
             return F::dropout(c.any(), c.rng.pick<double>({0, 0.5, 1, 1.5, -0.1}), true);
         }},
        {"cross_entropy", [](C& c) { return F::cross_entropy(c.any(), (abs(c.any()) * 2.0).to(kInt64)); }},
        {"mse_loss", [](C& c) { return F::mse_loss(c.any(), c.any()); }},
    };
}

// Runs case `number`; returns an empty string when it passes, else what went wrong.
std::string run_case(uint64_t seed, uint64_t number, const std::vector<NamedOp>& ops, bool verbose) {
    fuzz::Random rng(seed, number);
    Generator generator(seed ^ (number * 0x9e3779b97f4a7c15ULL));
    manual_seed(generator.next_u64());
    Case c{rng, {}, {}};
    const std::size_t inputs = 1 + rng.below(3);
    for (std::size_t i = 0; i < inputs; ++i) c.pool.push_back(random_tensor(rng));
    for (const Tensor& t : c.pool) c.trace += "input " + fuzz::describe(t) + "; ";
    const std::size_t steps = 1 + rng.below(3);
    for (std::size_t s = 0; s < steps; ++s) {
        const NamedOp& op = ops[rng.below(ops.size())];
        c.trace += op.name;
        if (verbose)
            std::printf("case %llu: %s ...\n", static_cast<unsigned long long>(number), c.trace.c_str()),
                std::fflush(stdout);
        try {
            Tensor out = op.run(c);
            c.trace += " -> " + fuzz::describe(out) + "; ";
            if (!out.defined() || out.numel() > kMaxElements) break;
            c.pool.push_back(out);
            if (out.requires_grad() && rng.chance(0.3)) {
                out.sum().backward();
                c.trace += "backward; ";
            }
        } catch (const Error& e) {
            c.trace += std::string(" -> xgrad::Error: ") + e.what() + "; ";
        } catch (const std::bad_alloc&) {
            // A valid request too large for memory (split into 2^40 views of an empty tensor):
            // PyTorch runs out of memory there too. Tensor storage itself never gets here: its
            // allocation failures are xgrad::Errors naming the op and shape.
            c.trace += " -> out of memory; ";
        } catch (const std::exception& e) {
            return c.trace + " -> std::exception (not xgrad::Error): " + e.what();
        }
    }
    if (verbose) std::printf("case %llu: %s\n", static_cast<unsigned long long>(number), c.trace.c_str());
    return "";
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seed = 1, first = 0, cases = 20000;
    bool verbose = false;
    CLI::App app("Random-op fuzzer: every op works or throws xgrad::Error.");
    app.add_option("--seed", seed, "seed of the whole run")->capture_default_str();
    app.add_option("--first", first, "number of the first case (to replay one)")->capture_default_str();
    app.add_option("--cases", cases, "how many cases to run")->capture_default_str();
    app.add_flag("-v,--verbose", verbose, "print every case's ops and outcome");
    CLI11_PARSE(app, argc, argv);

    set_num_threads(1);  // reproducible from the case number alone
    const std::vector<NamedOp> ops = op_table();
    uint64_t failures = 0;
    for (uint64_t k = first; k < first + cases; ++k) {
        const std::string failure = run_case(seed, k, ops, verbose);
        if (failure.empty()) continue;
        ++failures;
        std::fprintf(stderr, "FAIL case %llu (replay: --seed %llu --first %llu --cases 1 -v)\n  %s\n",
                     static_cast<unsigned long long>(k), static_cast<unsigned long long>(seed),
                     static_cast<unsigned long long>(k), failure.c_str());
        if (failures >= 20) break;
    }
    std::printf("fuzz_ops: %llu cases from %llu (seed %llu), %llu failures\n", static_cast<unsigned long long>(cases),
                static_cast<unsigned long long>(first), static_cast<unsigned long long>(seed),
                static_cast<unsigned long long>(failures));
    return failures == 0 ? 0 : 1;
}
