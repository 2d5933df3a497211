// Prints the thread count in force and runs one parallel job ("threads=N pool_result=ok"), or the
// error that reading the setting gave ("error: ..."). With --set N, calls set_num_threads(N) first.
// Run by CTest under taskset and XGRAD_NUM_THREADS (tests/CMakeLists.txt).
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <xgrad/xgrad.hpp>

int main(int argc, char** argv) {
    try {
        if (argc == 3 && std::strcmp(argv[1], "--set") == 0) xgrad::set_num_threads(std::atoi(argv[2]));
        const int threads = xgrad::get_num_threads();
        xgrad::Tensor x = xgrad::arange(0, 1 << 20, 1.0, xgrad::kFloat64);
        const double sum = x.sum().item<double>();
        const double expected = (double(1 << 20) - 1) * double(1 << 20) / 2;
        std::printf("threads=%d pool_result=%s\n", threads, sum == expected ? "ok" : "wrong");
        return sum == expected ? 0 : 1;
    } catch (const std::exception& e) {
        std::printf("error: %s\n", e.what());
        return 1;
    }
}
