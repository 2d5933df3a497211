// The thread pool and the thread-count policy: every task runs exactly once, errors come back to
// the caller, nested and concurrent use run inline, the settings are checked, cgroup quotas are
// read, and training steps give the same bits at 1 and 2 threads. (The default's respect for the
// affinity mask and XGRAD_NUM_THREADS need processes of their own: see tests/CMakeLists.txt.)
#include <algorithm>
#include <atomic>
#include <chrono>
#include <cmath>
#include <fstream>
#include <stdexcept>
#include <thread>
#include <vector>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/counter_random.hpp>
#include <xgrad/tensor/parallel.hpp>
#include <xgrad/tensor/parallel_config.hpp>
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {

// Restores the thread count a test changed.
struct ThreadCountGuard {
    int saved = get_num_threads();
    ~ThreadCountGuard() { set_num_threads(saved); }
};

void write_file(const std::filesystem::path& path, const std::string& text) {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << text;
}

// Every parameter of a module, flattened, bit for bit.
std::vector<float> parameter_bits(nn::Module& module) {
    std::vector<float> all;
    for (Tensor& p : module.parameters()) {
        const std::vector<float> v = p.to_vector<float>();
        all.insert(all.end(), v.begin(), v.end());
    }
    return all;
}

struct Mlp : nn::Module {
    nn::Linear fc1{{.in_features = 784, .out_features = 256}};
    nn::Linear fc2{{.in_features = 256, .out_features = 256}};
    nn::Linear fc3{{.in_features = 256, .out_features = 10}};
    Mlp() {
        register_module("fc1", fc1);
        register_module("fc2", fc2);
        register_module("fc3", fc3);
    }
    Tensor forward(const Tensor& x) override { return fc3(relu(fc2(relu(fc1(x))))); }
};

// The same layers as Mlp in a Sequential, whose Linear + ReLU pairs run as linear_relu.
struct SequentialMlp : nn::Sequential {
    SequentialMlp() {
        emplace<nn::Linear>({.in_features = 784, .out_features = 256});
        emplace<nn::ReLU>();
        emplace<nn::Linear>({.in_features = 256, .out_features = 256});
        emplace<nn::ReLU>();
        emplace<nn::Linear>({.in_features = 256, .out_features = 10});
    }
};

struct SmallCnn : nn::Module {
    nn::Conv2d conv{{.in_channels = 1, .out_channels = 16, .kernel_size = 3, .padding = 1}};
    nn::MaxPool2d pool{{.kernel_size = 2}};
    nn::Linear head{{.in_features = 16 * 14 * 14, .out_features = 10}};
    SmallCnn() {
        register_module("conv", conv);
        register_module("pool", pool);
        register_module("head", head);
    }
    Tensor forward(const Tensor& x) override { return head(pool(relu(conv(x))).flatten(1)); }
};

// Two Adam steps of `model` on a fixed batch at `threads` threads, from the same initial weights.
template <class Model, class Loss>
std::vector<float> train_two_steps(int threads, const Tensor& x, const Loss& loss_of) {
    set_num_threads(threads);
    manual_seed(7);
    Model model;
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    for (int step = 0; step < 2; ++step) {
        opt.zero_grad();
        loss_of(model, x).backward();
        opt.step();
    }
    return parameter_bits(model);
}

struct LstmModel : nn::Module {
    nn::LSTM lstm{{.input_size = 64, .hidden_size = 128, .num_layers = 2, .bidirectional = true}};
    LstmModel() { register_module("lstm", lstm); }
    Tensor forward(const Tensor& x) override { return lstm(x); }
};

}  // namespace

BOOST_AUTO_TEST_SUITE(parallel)

BOOST_AUTO_TEST_CASE(every_task_runs_exactly_once) {
    ThreadCountGuard guard;
    for (int threads : {1, 2, 3, 8}) {
        set_num_threads(threads);
        for (int64_t tasks : {int64_t{1}, int64_t{2}, int64_t{7}, int64_t{1000}, int64_t{70000}}) {
            std::vector<std::atomic<int>> hits(static_cast<std::size_t>(tasks));
            detail::parallel_tasks(tasks, threads, [&](int64_t i) { hits[i].fetch_add(1); });
            int64_t wrong = 0;
            for (auto& h : hits) wrong += h.load() != 1;
            BOOST_TEST(wrong == 0, threads << " threads, " << tasks << " tasks: " << wrong << " not run once");
        }
    }
}

BOOST_AUTO_TEST_CASE(many_small_jobs_in_a_row_complete) {
    // Back-to-back jobs are where a wake-up can be lost or a late worker can touch the next job.
    ThreadCountGuard guard;
    set_num_threads(2);
    std::atomic<int64_t> sum{0};
    for (int job = 0; job < 20000; ++job)
        detail::parallel_tasks(3, 2, [&](int64_t i) { sum.fetch_add(i + 1, std::memory_order_relaxed); });
    BOOST_TEST(sum.load() == 20000 * 6);
}

BOOST_AUTO_TEST_CASE(parallel_for_covers_the_range_in_aligned_pieces) {
    ThreadCountGuard guard;
    set_num_threads(2);
    const int64_t n = 1 << 20;
    std::vector<int> seen(n, 0);
    std::atomic<int> misaligned{0};
    detail::parallel_for(n, 1.0, 64, [&](int64_t begin, int64_t end) {
        if (begin % 64 != 0) misaligned.fetch_add(1);
        for (int64_t i = begin; i < end; ++i) ++seen[i];
    });
    BOOST_TEST(misaligned.load() == 0);
    BOOST_TEST(std::count(seen.begin(), seen.end(), 1) == n);
}

BOOST_AUTO_TEST_CASE(a_task_error_reaches_the_caller) {
    ThreadCountGuard guard;
    set_num_threads(2);
    BOOST_CHECK_THROW(detail::parallel_tasks(64, 2,
                                             [](int64_t i) {
                                                 if (i == 37) throw std::runtime_error("task 37 failed");
                                             }),
                      std::runtime_error);
    // The pool still works afterwards.
    std::atomic<int> count{0};
    detail::parallel_tasks(64, 2, [&](int64_t) { count.fetch_add(1); });
    BOOST_TEST(count.load() == 64);
}

BOOST_AUTO_TEST_CASE(nested_work_runs_on_the_calling_thread) {
    ThreadCountGuard guard;
    set_num_threads(2);
    std::atomic<int> inner_parallel{0}, total{0};
    detail::parallel_tasks(8, 2, [&](int64_t) {
        BOOST_CHECK(detail::in_parallel());
        if (detail::threads_for(1e9) != 1) inner_parallel.fetch_add(1);
        detail::parallel_tasks(4, 2, [&](int64_t) { total.fetch_add(1); });
    });
    BOOST_TEST(inner_parallel.load() == 0);
    BOOST_TEST(total.load() == 32);
    BOOST_TEST(!detail::in_parallel());
}

BOOST_AUTO_TEST_CASE(two_user_threads_share_the_pool) {
    ThreadCountGuard guard;
    set_num_threads(2);
    Tensor x = random_tensor({1 << 18}, kFloat32, 3);
    const std::vector<float> expected = exp(x).to_vector<float>();
    std::atomic<int> mismatches{0};
    auto worker = [&] {
        for (int i = 0; i < 50; ++i)
            if (exp(x).to_vector<float>() != expected) mismatches.fetch_add(1);
    };
    std::thread a(worker), b(worker);
    a.join();
    b.join();
    BOOST_TEST(mismatches.load() == 0);
}

BOOST_AUTO_TEST_CASE(threads_for_is_the_one_rule) {
    ThreadCountGuard guard;
    set_num_threads(2);
    detail::end_contention_backoff();          // a stall in an earlier test on a loaded machine must not count
    BOOST_TEST(detail::threads_for(10) == 1);  // too small
    BOOST_TEST(detail::threads_for(2 * detail::kParallelGrain) == 2);  // a grain per thread
    BOOST_TEST(detail::threads_for(1e12) == 2);                        // never above the setting
    set_num_threads(1);
    BOOST_TEST(detail::threads_for(1e12) == 1);
}

BOOST_AUTO_TEST_CASE(one_stall_is_a_hiccup_two_are_a_neighbour) {
    ThreadCountGuard guard;
    set_num_threads(2);
    // The rule works in 50 ms windows: an attempt that this (loaded) machine stretched past 40 ms
    // proves nothing either way and is tried again.
    for (int attempt = 0;; ++attempt) {
        detail::end_contention_backoff();
        const auto start = std::chrono::steady_clock::now();
        detail::note_stall();  // a kernel thread took the worker's core for a moment
        const int after_one = detail::threads_for(1e12);
        detail::note_stall();  // again at once: another process shares our cores
        const int after_two = detail::threads_for(1e12);
        if (std::chrono::steady_clock::now() - start > std::chrono::milliseconds(40) && attempt < 20) continue;
        BOOST_TEST(after_one == 2);
        BOOST_TEST(after_two == 1);
        break;
    }
    detail::end_contention_backoff();
    BOOST_TEST(detail::threads_for(1e12) == 2);
}

BOOST_AUTO_TEST_CASE(a_gathered_batch_is_the_same_at_one_and_two_threads) {
    ThreadCountGuard guard;
    manual_seed(3);
    const Tensor table = randn({5000, 300});
    const Tensor rows = randint(0, 5000, {700});
    set_num_threads(1);
    const std::vector<float> one = index_select(table, 0, rows).to_vector<float>();
    set_num_threads(2);
    detail::end_contention_backoff();
    BOOST_TEST(detail::threads_for(700.0 * 300) == 2);  // large enough to be split
    const std::vector<float> two = index_select(table, 0, rows).to_vector<float>();
    BOOST_TEST(one == two);
    const std::vector<int64_t> picked = rows.to_vector<int64_t>();
    const std::vector<float> all = table.to_vector<float>();
    bool rows_match = true;
    for (std::size_t i = 0; i < picked.size(); ++i)
        for (std::size_t j = 0; j < 300; ++j)
            rows_match = rows_match && two[i * 300 + j] == all[static_cast<std::size_t>(picked[i]) * 300 + j];
    BOOST_TEST(rows_match);
}

BOOST_AUTO_TEST_CASE(a_dropout_mask_is_the_same_at_one_and_two_threads) {
    // The mask is computed in pieces from a counter, not drawn in order: the pieces must not show.
    ThreadCountGuard guard;
    const Shape sizes{301, 1003};  // not a multiple of any piece edge
    set_num_threads(1);
    Generator one_gen(9);
    const std::vector<float> one = bernoulli(sizes, 0.7, kFloat32, &one_gen).to_vector<float>();
    set_num_threads(2);
    detail::end_contention_backoff();
    BOOST_TEST(detail::threads_for(301.0 * 1003 * 2) == 2);  // large enough to be split
    Generator two_gen(9);
    const std::vector<float> two = bernoulli(sizes, 0.7, kFloat32, &two_gen).to_vector<float>();
    BOOST_TEST(one == two);
    BOOST_TEST(one_gen.next_u64() == two_gen.next_u64());  // both generators moved on alike
    // Independent draws: the share kept is 0.7, and of neighbouring pairs both kept 0.49.
    int64_t kept = 0, both = 0;
    for (std::size_t i = 0; i < two.size(); ++i) {
        kept += two[i] == 1.0f;
        if (i + 1 < two.size()) both += two[i] == 1.0f && two[i + 1] == 1.0f;
    }
    const double n = static_cast<double>(two.size());
    BOOST_TEST(std::abs(static_cast<double>(kept) / n - 0.7) < 0.003);  // 0.7 +- 3.5 sigma
    BOOST_TEST(std::abs(static_cast<double>(both) / n - 0.49) < 0.005);
    // The next mask from the same generator is another one.
    const std::vector<float> next = bernoulli(sizes, 0.7, kFloat32, &two_gen).to_vector<float>();
    BOOST_TEST(next != two);
    // Dropout's own pass (mask and product in one kernel), split the same way.
    const Tensor x = random_tensor(sizes, kFloat32, 4);
    set_num_threads(1);
    Generator a(12), b(12);
    const std::vector<float> dropped_one = nn::F::dropout(x, 0.4, true, &a).to_vector<float>();
    set_num_threads(2);
    detail::end_contention_backoff();
    BOOST_TEST((nn::F::dropout(x, 0.4, true, &b).to_vector<float>() == dropped_one));
    // A range may start anywhere, odd indices included, and still see the same draws.
    const kernels::detail::BernoulliDraws draws(0x1234, 0.5);
    std::vector<int> whole(41, -1), part(41, -1);
    draws.for_range(0, 41, [&](int64_t i, bool kept) { whole[static_cast<std::size_t>(i)] = kept; });
    draws.for_range(0, 7, [&](int64_t i, bool kept) { part[static_cast<std::size_t>(i)] = kept; });
    draws.for_range(7, 41, [&](int64_t i, bool kept) { part[static_cast<std::size_t>(i)] = kept; });
    BOOST_TEST(part == whole);
}

BOOST_AUTO_TEST_CASE(the_caller_takes_tasks_from_the_front) {
    ThreadCountGuard guard;
    set_num_threads(2);
    const std::thread::id caller = std::this_thread::get_id();
    std::atomic<int> busy{0};
    for (int round = 0; round < 200; ++round) {
        std::vector<char> by_caller(16);
        detail::parallel_tasks(16, 2, [&](int64_t t) {
            by_caller[static_cast<std::size_t>(t)] = std::this_thread::get_id() == caller;
            for (int spin = 0; spin < 2000; ++spin) busy.fetch_add(1, std::memory_order_relaxed);
        });
        // The caller's tasks are a prefix, the worker's the rest.
        const auto first_other = std::find(by_caller.begin(), by_caller.end(), 0);
        BOOST_TEST(std::count(first_other, by_caller.end(), 1) == 0);
    }
}

BOOST_AUTO_TEST_CASE(set_num_threads_rejects_bad_counts) {
    ThreadCountGuard guard;
    check_error([] { set_num_threads(0); }, {"set_num_threads", "[1, 1024]", "got 0"});
    check_error([] { set_num_threads(-3); }, {"set_num_threads", "got -3"});
    check_error([] { set_num_threads(100000); }, {"set_num_threads", "got 100000"});
    set_num_threads(3);
    BOOST_TEST(get_num_threads() == 3);
    check_error([] { detail::parallel_tasks(2, 2, [](int64_t) { set_num_threads(1); }); },
                {"set_num_threads", "inside a parallel region"});
}

BOOST_AUTO_TEST_CASE(thread_count_text_is_parsed_strictly) {
    BOOST_TEST(detail::parse_thread_count("4", "XGRAD_NUM_THREADS") == 4);
    BOOST_TEST(detail::parse_thread_count("1024", "XGRAD_NUM_THREADS") == 1024);
    for (const char* bad : {"", "0", "-2", "abc", "2x", "1.5", " 2", "100000", "99999999999999999999"})
        check_error([&] { detail::parse_thread_count(bad, "XGRAD_NUM_THREADS"); },
                    {"XGRAD_NUM_THREADS", "expected a thread count in [1, 1024]"});
}

BOOST_AUTO_TEST_CASE(cgroup_v2_quota_caps_the_thread_count) {
    const auto root = scratch("cgroup_v2");
    write_file(root / "cpu.max", "max 100000\n");
    write_file(root / "user.slice" / "cpu.max", "max 100000\n");
    write_file(root / "user.slice" / "job" / "cpu.max", "150000 100000\n");
    BOOST_TEST(detail::cgroup_cpu_limit(root.string(), "0::/user.slice/job\n") == 1.5);
    // A tighter limit higher up wins.
    write_file(root / "user.slice" / "cpu.max", "100000 100000\n");
    BOOST_TEST(detail::cgroup_cpu_limit(root.string(), "0::/user.slice/job\n") == 1.0);
    // No quota anywhere, or no files at all: no limit.
    BOOST_TEST(detail::cgroup_cpu_limit(root.string(), "0::/\n") == 0.0);
    BOOST_TEST(detail::cgroup_cpu_limit((root / "missing").string(), "0::/a/b\n") == 0.0);
}

BOOST_AUTO_TEST_CASE(cgroup_v1_quota_caps_the_thread_count) {
    const auto root = scratch("cgroup_v1");
    write_file(root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us", "50000\n");
    write_file(root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_period_us", "100000\n");
    const std::string self = "12:memory:/docker/abc\n4:cpu,cpuacct:/docker/abc\n1:name=systemd:/docker/abc\n";
    BOOST_TEST(detail::cgroup_cpu_limit(root.string(), self) == 0.5);
    write_file(root / "cpu,cpuacct" / "docker" / "abc" / "cpu.cfs_quota_us", "-1\n");
    BOOST_TEST(detail::cgroup_cpu_limit(root.string(), self) == 0.0);
}

BOOST_AUTO_TEST_CASE(default_follows_this_machine) {
    const int d = default_num_threads();
    BOOST_TEST(d >= 1);
    BOOST_TEST(d <= static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

BOOST_AUTO_TEST_CASE(mlp_step_is_bitwise_equal_at_one_and_two_threads) {
    ThreadCountGuard guard;
    Tensor x = random_tensor({128, 784}, kFloat32, 11);
    Generator labels(12);
    Tensor y = randint(0, 10, {128}, kInt64, &labels);
    auto loss = [&](Mlp& m, const Tensor& in) { return nn::F::cross_entropy(m(in), y); };
    const auto one = train_two_steps<Mlp>(1, x, loss);
    const auto two = train_two_steps<Mlp>(2, x, loss);
    BOOST_TEST(one.size() == two.size());
    BOOST_TEST((one == two));
}

BOOST_AUTO_TEST_CASE(fused_sequential_mlp_step_has_the_bits_of_separate_ops_at_one_and_two_threads) {
    // Linear + ReLU as one op, and both gradients of each layer computed side by side on two
    // threads: the parameters after two Adam steps match the unfused model's bit for bit.
    ThreadCountGuard guard;
    Tensor x = random_tensor({128, 784}, kFloat32, 11);
    Generator labels(12);
    Tensor y = randint(0, 10, {128}, kInt64, &labels);
    auto loss = [&](auto& m, const Tensor& in) { return nn::F::cross_entropy(m(in), y); };
    const auto unfused = train_two_steps<Mlp>(1, x, loss);
    const auto one = train_two_steps<SequentialMlp>(1, x, loss);
    detail::end_contention_backoff();  // a stall in an earlier test on a loaded machine must not count
    const auto two = train_two_steps<SequentialMlp>(2, x, loss);
    BOOST_TEST(one.size() == unfused.size());
    BOOST_TEST((one == unfused));
    BOOST_TEST((two == unfused));
}

BOOST_AUTO_TEST_CASE(both_linear_gradients_together_match_separate_products) {
    ThreadCountGuard guard;
    for (DType dtype : {kFloat32, kFloat64}) {
        const NDArray g = random_tensor({128, 256}, dtype, 21).data(), w = random_tensor({256, 300}, dtype, 22).data();
        const NDArray x = random_tensor({300, 128}, dtype, 23).data().transpose(0, 1);  // non-contiguous
        set_num_threads(1);
        const NDArray gx = kernels::matmul(g, w), gw = kernels::matmul(g.transpose(0, 1), x);
        for (int threads : {1, 2, 3}) {
            set_num_threads(threads);
            detail::end_contention_backoff();
            // At 2 threads the pair goes out as one job of blocks, each thread packing the shared
            // operand of the product it works on; at 3, each product in turn is split between all.
            BOOST_TEST(detail::threads_for(2 * 2.0 * 128 * 256 * 300, 1 << 20) == threads);
            const auto [gx2, gw2] = kernels::linear_grads(g, w, x);
            BOOST_TEST((Tensor(gx2).to_vector<double>() == Tensor(gx).to_vector<double>()), dtype << ", " << threads);
            BOOST_TEST((Tensor(gw2).to_vector<double>() == Tensor(gw).to_vector<double>()), dtype << ", " << threads);
        }
        check_error([&] { kernels::linear_grads(g, w.transpose(0, 1), x); },
                    {"linear backward", "[128, 256]", "[300, 256]"});
    }
}

BOOST_AUTO_TEST_CASE(convolution_step_is_bitwise_equal_at_one_and_two_threads) {
    ThreadCountGuard guard;
    Tensor x = random_tensor({32, 1, 28, 28}, kFloat32, 13);
    Generator labels(14);
    Tensor y = randint(0, 10, {32}, kInt64, &labels);
    auto loss = [&](SmallCnn& m, const Tensor& in) { return nn::F::cross_entropy(m(in), y); };
    const auto one = train_two_steps<SmallCnn>(1, x, loss);
    const auto two = train_two_steps<SmallCnn>(2, x, loss);
    BOOST_TEST((one == two));
}

BOOST_AUTO_TEST_CASE(lstm_step_is_bitwise_equal_at_one_and_two_threads) {
    ThreadCountGuard guard;
    Tensor x = random_tensor({20, 32, 64}, kFloat32, 15);
    auto loss = [](LstmModel& m, const Tensor& in) { return m(in).square().mean(); };
    const auto one = train_two_steps<LstmModel>(1, x, loss);
    const auto two = train_two_steps<LstmModel>(2, x, loss);
    BOOST_TEST((one == two));
}

BOOST_AUTO_TEST_CASE(full_sums_are_bitwise_equal_at_any_thread_count) {
    ThreadCountGuard guard;
    Tensor x = random_tensor({1 << 20}, kFloat32, 9);
    Tensor m = random_tensor({300, 5000}, kFloat32, 10);
    set_num_threads(1);
    const float one = x.sum().item<float>();
    const auto rows1 = m.sum({1}).to_vector<float>(), cols1 = m.sum({0}).to_vector<float>();
    for (int threads : {2, 3}) {
        set_num_threads(threads);
        BOOST_TEST(x.sum().item<float>() == one);
        BOOST_TEST((m.sum({1}).to_vector<float>() == rows1));
        BOOST_TEST((m.sum({0}).to_vector<float>() == cols1));
    }
}

BOOST_AUTO_TEST_SUITE_END()
