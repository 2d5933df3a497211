// Factories, random numbers (statistics and determinism), item(), printing, memory and threads.
#include <cmath>
#include <sstream>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

BOOST_AUTO_TEST_SUITE(creation)

BOOST_AUTO_TEST_CASE(constant_factories) {
    check_values(zeros({2, 2}), {0, 0, 0, 0});
    check_values(ones({3}, kInt64), {1, 1, 1});
    check_values(full({2}, 2.5, kFloat64), {2.5, 2.5});
    check_values(arange(2.0, 3.0, 0.25, kFloat64), {2, 2.25, 2.5, 2.75});
    check_values(arange(5.0, 0.0, -2.0), {5, 3, 1});
    // Without a dtype, whole numbers count in int64 and anything else in float32 (LibTorch's
    // arange(0, 1, 0.25) is a float tensor too, not the truncated 0, 0, 0, 0).
    BOOST_TEST(arange(5).dtype() == kInt64);
    BOOST_TEST(arange(5.0, 0.0, -2.0).dtype() == kInt64);
    const Tensor quarters = arange(0, 1, 0.25);
    BOOST_TEST(quarters.dtype() == kFloat32);
    check_values(quarters, {0, 0.25, 0.5, 0.75});
    BOOST_TEST(arange(0.5, 3).dtype() == kFloat32);
    BOOST_TEST(arange(3, kDouble).dtype() == kFloat64);  // LibTorch's names: kFloat, kDouble, kLong
    const Tensor counted = arange(2, 5, kFloat);         // LibTorch's arange(start, end, options)
    BOOST_TEST(counted.dtype() == kFloat32);
    check_values(counted, {2, 3, 4});
    BOOST_TEST((kFloat == kFloat32 && kLong == kInt64));
    check_values(linspace(0, 1, 5), {0, 0.25, 0.5, 0.75, 1});
    check_values(eye(2, 3), {1, 0, 0, 0, 1, 0});
    check_values(tensor({{1, 2}, {3, 4}}), {1, 2, 3, 4});
    BOOST_TEST((tensor({{{1, 2}}, {{3, 4}}}).sizes() == Shape{2, 1, 2}));
    BOOST_TEST(scalar_tensor(3).dim() == 0);
    check_values(from_vector(std::vector<double>{1, 2, 3, 4, 5, 6}, {3, 2}), {1, 2, 3, 4, 5, 6});
    std::vector<float> buffer = {1, 2, 3, 4};
    Tensor blob = from_blob(buffer.data(), {2, 2});
    blob.mul_(2.0);
    BOOST_TEST(buffer[3] == 8.0f);  // shared, not copied
    check_error([] { tensor({{1, 2}, {3}}); }, {"tensor", "row 1", "rectangular"});
    check_error([] { from_vector(std::vector<double>{1, 2}, {3}); }, {"from_vector", "[3]"});
    check_error([] { arange(0, 5, 0); }, {"arange", "step"});
    check_error([] { zeros({-1}); }, {"negative size"});
}

BOOST_AUTO_TEST_CASE(item_reads_integers_exactly_and_refuses_what_does_not_fit) {
    // 2^53 + 1 has no double: read through one, it would come back as 2^53.
    const int64_t big = (int64_t(1) << 53) + 1;
    const Tensor t = from_vector(std::vector<int64_t>{big}, {1});
    BOOST_TEST(t.item<int64_t>() == big);
    BOOST_TEST(tensor({-3.7}, kFloat64).item<int64_t>() == -3);  // toward zero, like static_cast
    BOOST_TEST(tensor({2.5}, kFloat32).item<int>() == 2);
    BOOST_TEST(tensor({2.5}, kFloat32).item<double>() == 2.5);
    check_error([] { tensor({1e30}, kFloat32).item<int64_t>(); }, {"item", "1e+30", "float32", "integer"});
    check_error([] { tensor({std::nan("")}, kFloat64).item<int64_t>(); }, {"item", "nan", "integer"});
    check_error([] { zeros({2}, kInt64).item<int64_t>(); }, {"item", "one element", "[2]"});
}

BOOST_AUTO_TEST_CASE(random_tensors_have_the_right_statistics) {
    manual_seed(7);
    const int64_t n = 400000;
    Tensor u = rand({n}, kFloat64);
    BOOST_TEST(std::abs(u.mean().item() - 0.5) < 0.005);
    BOOST_TEST(std::abs(u.var().item() - 1.0 / 12) < 0.002);
    BOOST_TEST(u.min().item() >= 0.0);
    BOOST_TEST(u.max().item() < 1.0);
    Tensor z = randn({n}, kFloat64);
    BOOST_TEST(std::abs(z.mean().item()) < 0.01);
    BOOST_TEST(std::abs(z.std().item() - 1.0) < 0.01);
    Tensor r = randint(3, 7, {n});
    BOOST_TEST(r.min().item() == 3.0);
    BOOST_TEST(r.max().item() == 6.0);
    Tensor b = bernoulli({n}, 0.3);
    BOOST_TEST(std::abs(b.mean().item() - 0.3) < 0.005);
    Tensor p = randperm(1000);
    std::vector<int64_t> sorted = p.to_vector<int64_t>();
    std::sort(sorted.begin(), sorted.end());
    for (int64_t i = 0; i < 1000; ++i) BOOST_TEST(sorted[i] == i);
}

BOOST_AUTO_TEST_CASE(in_place_uniform_and_normal_refill_a_tensor) {
    const Tensor x = zeros({200, 50}, kFloat64);
    Generator gen(7);
    const Tensor& same = x.uniform_(-2.0, 3.0, &gen);
    BOOST_TEST(&same == &x);
    BOOST_TEST(x.min().item() >= -2.0);
    BOOST_TEST(x.max().item() < 3.0);
    BOOST_TEST(std::abs(x.mean().item() - 0.5) < 0.1);
    // The same draws as the factory from the same seed.
    Generator again(7);
    BOOST_TEST(equal(x, uniform({200, 50}, -2.0, 3.0, kFloat64, &again)));
    x.normal_(1.0, 0.5, &gen);
    BOOST_TEST(std::abs(x.mean().item() - 1.0) < 0.02);
    BOOST_TEST(std::abs(x.std().item() - 0.5) < 0.02);
    const Tensor floats = ones({3});
    floats.uniform_();
    BOOST_TEST(floats.max().item() < 1.0);
    check_error([] { arange(3).uniform_(); }, {"uniform_", "floating-point", "int64"});
    check_error([] { arange(3).normal_(); }, {"normal_", "floating-point", "int64"});
    // A leaf that requires grad is refilled only under NoGradGuard, as in LibTorch.
    const Tensor w = zeros({4}).requires_grad_();
    check_error([&] { w.normal_(); }, {"leaf"});
    {
        NoGradGuard no_grad;
        w.normal_();
    }
    BOOST_TEST(w.abs().sum().item() > 0.0);
}

BOOST_AUTO_TEST_CASE(one_seed_reproduces_a_run) {
    manual_seed(42);
    const std::vector<float> first = randn({100}).to_vector<float>();
    manual_seed(42);
    const std::vector<float> second = randn({100}).to_vector<float>();
    BOOST_TEST(first == second);
    Generator g1(5), g2(5);
    BOOST_TEST((rand({10}, kFloat32, &g1).to_vector<float>() == rand({10}, kFloat32, &g2).to_vector<float>()));
}

BOOST_AUTO_TEST_CASE(printing_looks_like_pytorch) {
    std::ostringstream out;
    out << tensor({{1, 2}, {3, 4}});
    BOOST_TEST(out.str() == "tensor([[1., 2.],\n        [3., 4.]], size=[2, 2], dtype=float32)");
    out.str("");
    out << tensor({0.5, -1.25}, kFloat64);
    BOOST_TEST(out.str() == "tensor([ 0.5000, -1.2500], size=[2], dtype=float64)");
    out.str("");
    out << arange(2000);
    BOOST_TEST(out.str() == "tensor([   0,    1,    2, ..., 1997, 1998, 1999], size=[2000], dtype=int64)");
    out.str("");
    out << ones({2}, TensorOptions().requires_grad(true));
    BOOST_TEST(out.str().find("requires_grad=true") != std::string::npos);
}

BOOST_AUTO_TEST_CASE(caching_allocator_reuses_buffers) {
    memory::empty_cache();
    const auto before = memory::stats();
    { Tensor a = empty({1 << 20}); }
    const auto middle = memory::stats();
    BOOST_TEST(middle.bytes_cached >= std::size_t(4) << 20);
    { Tensor b = empty({1 << 20}); }
    const auto after = memory::stats();
    BOOST_TEST(after.cache_hits == middle.cache_hits + 1);
    BOOST_TEST(after.os_allocations == middle.os_allocations);
    BOOST_TEST(after.peak_bytes_in_use >= std::size_t(4) << 20);
    BOOST_TEST(reinterpret_cast<std::uintptr_t>(empty({3}).data_ptr<float>()) % 64 == 0u);
    memory::empty_cache();
    BOOST_TEST(memory::stats().bytes_cached == 0u);
    (void)before;
}

BOOST_AUTO_TEST_CASE(results_do_not_depend_on_thread_count_beyond_summation_order) {
    Tensor x = random_tensor({1 << 20}, kFloat32, 9);
    set_num_threads(1);
    const float one = x.sum().item<float>();
    const std::vector<float> e1 = exp(x).to_vector<float>();
    set_num_threads(2);
    const float two = x.sum().item<float>();
    const std::vector<float> e2 = exp(x).to_vector<float>();
    BOOST_TEST(e1 == e2);  // element-wise: identical
    BOOST_TEST(std::abs(one - two) <= 1e-3f * std::abs(one) + 1e-2f);
    BOOST_TEST(x.sum().item<float>() == two);  // same thread count: same bits
    check_error([] { set_num_threads(0); }, {"set_num_threads"});
}

BOOST_AUTO_TEST_SUITE_END()
