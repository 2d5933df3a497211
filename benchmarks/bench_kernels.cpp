// Kernel throughput: GB/s of element-wise ops, sum and dropout at 1M and 16M float32 elements, in both
// forms users write (a fresh result, and writing into an existing tensor), next to a STREAM-like
// triad measuring the machine's bandwidth; GFLOP/s of matmul from 256 to 4096.
// Prints one line per case: name<TAB>threads<TAB>value<TAB>unit (benchmarks/run_all.sh joins it
// with the PyTorch peer's lines).
//
//   bench_kernels [--threads N] [--quick]

#include <cstdio>
#include <cstring>
#include <string>
#include <xgrad/xgrad.hpp>

#include "timing.hpp"

using namespace xgrad;

namespace {
int threads = 1;
void report(const std::string& name, double value, const char* unit) {
    std::printf("%s\t%d\t%.2f\t%s\n", name.c_str(), threads, value, unit);
    std::fflush(stdout);
}

// A plain triad, a[i] = b[i] + s c[i], split like the kernels, as the bandwidth reference.
double triad_gbs(int64_t n) {
    Tensor a = empty({n}), b = randn({n}), c = randn({n});
    float *pa = a.data_ptr<float>(), *pb = b.data_ptr<float>(), *pc = c.data_ptr<float>();
    const double s = bench::median_seconds(
        [&] {
            xgrad::detail::parallel_for(n, 1.0, 64, [&](int64_t begin, int64_t end) {
                for (int64_t i = begin; i < end; ++i) pa[i] = pb[i] + 3.0f * pc[i];
            });
        },
        n > (1 << 22) ? 5 : 50);
    return 3.0 * 4 * static_cast<double>(n) / s / 1e9;
}
}  // namespace

int main(int argc, char** argv) {
    bool quick = false;
    for (int i = 1; i < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads") && i + 1 < argc)
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--quick"))
            quick = true;
    }
    set_num_threads(threads);
    manual_seed(0);
    NoGradGuard no_grad;

    for (int64_t n : {int64_t(1) << 20, int64_t(1) << 24}) {
        const std::string size = n == (1 << 20) ? "1M" : "16M";
        const int inner = n > (1 << 22) ? 5 : 50;
        const double bytes1 = 4.0 * static_cast<double>(n);
        Tensor a = randn({n}), b = randn({n}), out = empty({n});
        report("triad_" + size, triad_gbs(n), "GB/s");

        auto binary = [&](const char* name, Tensor (*fresh)(const Tensor&, const Tensor&),
                          const Tensor& (*into)(const Tensor&, const Tensor&, const Tensor&)) {
            report(std::string(name) + "_" + size + "_fresh",
                   3 * bytes1 / bench::median_seconds([&] { Tensor c = fresh(a, b); }, inner) / 1e9, "GB/s");
            report(std::string(name) + "_" + size + "_out",
                   3 * bytes1 / bench::median_seconds([&] { into(out, a, b); }, inner) / 1e9, "GB/s");
        };
        binary("add", &add, &add_out);
        binary("mul", &mul, &mul_out);

        auto unary = [&](const char* name, Tensor (*fresh)(const Tensor&),
                         const Tensor& (*into)(const Tensor&, const Tensor&)) {
            report(std::string(name) + "_" + size + "_fresh",
                   2 * bytes1 / bench::median_seconds([&] { Tensor c = fresh(a); }, inner) / 1e9, "GB/s");
            report(std::string(name) + "_" + size + "_out",
                   2 * bytes1 / bench::median_seconds([&] { into(out, a); }, inner) / 1e9, "GB/s");
        };
        unary("relu", &relu, &relu_out);
        unary("sigmoid", &sigmoid, &sigmoid_out);
        unary("tanh", &tanh, &tanh_out);
        unary("exp", &exp, &exp_out);
        report("sum_" + size, bytes1 / bench::median_seconds([&] { Tensor s = a.sum(); }, inner) / 1e9, "GB/s");
        // A random mask (one draw per element) and the scaled product: input read, result written.
        report("dropout_" + size,
               2 * bytes1 / bench::median_seconds([&] { Tensor d = nn::F::dropout(a, 0.1, true); }, inner) / 1e9,
               "GB/s");
    }

    const std::vector<int64_t> sizes =
        quick ? std::vector<int64_t>{256} : std::vector<int64_t>{256, 512, 1024, 2048, 4096};
    for (int64_t n : sizes) {
        Tensor a = randn({n, n}), b = randn({n, n});
        const double flops = 2.0 * static_cast<double>(n) * n * n;
        const int inner = n <= 512 ? 20 : (n <= 1024 ? 4 : 1);
        report("matmul_" + std::to_string(n),
               flops / bench::median_seconds([&] { Tensor c = matmul(a, b); }, inner, quick || n > 2048 ? 3 : 7) / 1e9,
               "GFLOP/s");
    }
    const auto stats = memory::stats();
    std::fprintf(stderr, "allocator: peak %.1f MiB in use, %zu OS allocations, %zu cache hits\n",
                 static_cast<double>(stats.peak_bytes_in_use) / (1 << 20), stats.os_allocations, stats.cache_hits);
    return 0;
}
