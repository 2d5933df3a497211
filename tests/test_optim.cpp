// Optimizers against their published update rules: first steps derived by hand (the derivation
// sits next to each number), convergence on a convex quadratic and on Rosenbrock, the lecture's
// momentum form, exact resumption from state_dict, schedules, clipping and max-norm.
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
// A float64 leaf with the given values and a gradient set by hand.
Tensor param_with_grad(std::initializer_list<double> values, std::initializer_list<double> grad) {
    Tensor p = from_vector(std::vector<double>(values), {static_cast<int64_t>(values.size())}, kFloat64).requires_grad_();
    p.set_grad(from_vector(std::vector<double>(grad), {static_cast<int64_t>(grad.size())}, kFloat64));
    return p;
}

// f(w) = sum(a * (w - c)^2) with a = (1, 10): minimum at c = (3, -1).
Tensor quadratic(const Tensor& w) {
    return (tensor({1.0, 10.0}, kFloat64) * square(w - tensor({3.0, -1.0}, kFloat64))).sum();
}

// Rosenbrock: (1 - x)^2 + 100 (y - x^2)^2, minimum at (1, 1).
Tensor rosenbrock(const Tensor& w) {
    const Tensor x = w.select(0, 0), y = w.select(0, 1);
    return square(1.0 - x) + 100.0 * square(y - square(x));
}

template <class Opt, class Options>
std::vector<double> minimize(Tensor (*f)(const Tensor&), std::vector<double> start, Options options, int steps) {
    Tensor w = from_vector(start, {static_cast<int64_t>(start.size())}, kFloat64).requires_grad_();
    Opt opt({w}, options);
    for (int i = 0; i < steps; ++i) {
        opt.zero_grad();
        f(w).backward();
        opt.step();
    }
    return w.to_vector<double>();
}
}  // namespace

BOOST_AUTO_TEST_SUITE(optim_rules)

BOOST_AUTO_TEST_CASE(sgd_first_steps_by_hand) {
    // Plain: w - lr g = (1 - 0.1 * 0.5, -2 - 0.1 * 1) = (0.95, -2.1).
    Tensor p = param_with_grad({1, -2}, {0.5, 1});
    optim::SGD plain({p}, {.lr = 0.1});
    plain.step();
    check_values(p, {0.95, -2.1}, 1e-15);

    // Momentum 0.9: step 1 b = g = (0.5, 1), w = (0.95, -2.1); step 2 with g = (1, 1):
    // b = 0.9 (0.5, 1) + (1, 1) = (1.45, 1.9), w = (0.95 - 0.145, -2.1 - 0.19) = (0.805, -2.29).
    Tensor q = param_with_grad({1, -2}, {0.5, 1});
    optim::SGD momentum({q}, {.lr = 0.1, .momentum = 0.9});
    momentum.step();
    q.set_grad(tensor({1.0, 1.0}, kFloat64));
    momentum.step();
    check_values(q, {0.805, -2.29}, 1e-15);

    // Nesterov: step 1 b = g, d = g + 0.9 b = 1.9 g, w = (1 - 0.095, -2 - 0.19) = (0.905, -2.19).
    Tensor r = param_with_grad({1, -2}, {0.5, 1});
    optim::SGD nesterov({r}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    nesterov.step();
    check_values(r, {0.905, -2.19}, 1e-15);

    // Weight decay 0.1 adds 0.1 w to g: d = (0.5 + 0.1, 1 - 0.2) = (0.6, 0.8), w = (0.94, -2.08).
    Tensor s = param_with_grad({1, -2}, {0.5, 1});
    optim::SGD decay({s}, {.lr = 0.1, .weight_decay = 0.1});
    decay.step();
    check_values(s, {0.94, -2.08}, 1e-15);
}

BOOST_AUTO_TEST_CASE(adaptive_first_steps_by_hand) {
    // Adagrad: s = g^2, w -= lr g / (|g| + eps) = lr sign(g) (eps = 1e-10 shifts the 11th digit).
    Tensor a = param_with_grad({1, -2}, {0.5, -4});
    optim::Adagrad adagrad({a}, {.lr = 0.1});
    adagrad.step();
    check_values(a, {0.9, -1.9}, 1e-9);
    // With initial accumulator 0.75: s = 0.75 + 0.25 = 1, w = 1 - 0.1 * 0.5 / 1 = 0.95.
    Tensor a2 = param_with_grad({1}, {0.5});
    optim::Adagrad adagrad2({a2}, {.lr = 0.1, .initial_accumulator_value = 0.75});
    adagrad2.step();
    check_values(a2, {0.95}, 1e-9);

    // RMSprop: v = 0.01 g^2, sqrt(v) = 0.1 |g|, w -= lr g / (0.1 |g|) = 10 lr sign(g) = 0.1 sign(g).
    Tensor r = param_with_grad({1, -2}, {0.5, -4});
    optim::RMSprop rmsprop({r}, {.lr = 0.01});
    rmsprop.step();
    check_values(r, {0.9, -1.9}, 1e-6);

    // Adadelta (eps = 1e-6, rho = 0.9): v = 0.1 g^2 = 0.025 for g = 0.5;
    // dx = sqrt(0 + 1e-6) / sqrt(0.025 + 1e-6) * 0.5 = 1e-3 / 0.158117... * 0.5 = 3.16217...e-3.
    Tensor d = param_with_grad({1}, {0.5});
    optim::Adadelta adadelta({d}, {});
    adadelta.step();
    check_values(d, {1 - 1e-3 / std::sqrt(0.025 + 1e-6) * 0.5}, 1e-12);

    // Adam step 1: m = 0.1 g, v = 0.001 g^2; m / (1 - 0.9) = g, sqrt(v / (1 - 0.999)) = |g|:
    // w -= lr g / (|g| + eps) = lr sign(g).
    Tensor m = param_with_grad({1, -2}, {0.5, -4});
    optim::Adam adam({m}, {.lr = 0.1});
    adam.step();
    check_values(m, {0.9, -1.9}, 1e-6);
    // Step 2 with g = 1 (first coordinate): m = 0.9 * 0.05 + 0.1 = 0.145, v = 0.999 * 2.5e-4 + 1e-3
    // = 1.24975e-3; m_hat = 0.145 / 0.19 = 0.763157..., v_hat = 1.24975e-3 / 1.999e-3 = 0.625188...;
    // w = 0.9 - 0.1 * 0.763157 / 0.790688 = 0.803482...
    m.set_grad(tensor({1.0, -4.0}, kFloat64));
    adam.step();
    const double m_hat = 0.145 / 0.19, v_hat = (0.999 * 2.5e-4 + 1e-3) / (1 - 0.999 * 0.999);
    const double w1 = 1 - 0.1 * 0.5 / (0.5 + 1e-8);  // step 1 exactly, eps included
    check_values(m.narrow(0, 0, 1), {w1 - 0.1 * m_hat / (std::sqrt(v_hat) + 1e-8)}, 1e-12);

    // AdamW shrinks first: w = 1 (1 - 0.1 * 0.5) = 0.95, then the Adam step: 0.95 - 0.1 = 0.85.
    Tensor w = param_with_grad({1}, {0.5});
    optim::AdamW adamw({w}, {.lr = 0.1, .weight_decay = 0.5});
    adamw.step();
    check_values(w, {0.85}, 1e-6);

    // NAdam step 1 (b1 = 0.9, psi = 4e-3): mu_1 = 0.9 (1 - 0.5 * 0.96^0.004), mu_2 likewise with 0.008;
    // m = 0.1 g, v = 0.001 g^2, denom = sqrt(v / 0.001) = |g|;
    // w -= lr (1 - mu_1) / (1 - mu_1) * sign(g) + lr mu_2 / (1 - mu_1 mu_2) * 0.1 sign(g).
    Tensor n = param_with_grad({1}, {0.5});
    optim::NAdam nadam({n}, {.lr = 0.1});
    nadam.step();
    const double mu1 = 0.9 * (1 - 0.5 * std::pow(0.96, 0.004)), mu2 = 0.9 * (1 - 0.5 * std::pow(0.96, 0.008));
    check_values(n, {1 - 0.1 * 1.0 - 0.1 * mu2 / (1 - mu1 * mu2) * 0.1}, 1e-7);

    // Adamax step 1: m = 0.1 g, u = |g| + eps, w -= lr / 0.1 * 0.1 g / |g| = lr sign(g).
    Tensor x = param_with_grad({1}, {0.5});
    optim::Adamax adamax({x}, {.lr = 0.1});
    adamax.step();
    check_values(x, {0.9}, 1e-6);
}

BOOST_AUTO_TEST_CASE(amsgrad_and_centered_variants_follow_their_rules) {
    // AMSGrad keeps the larger second moment: after a large then a small gradient, the step uses
    // the max of v. Reference computed with the rule in plain doubles.
    Tensor p = param_with_grad({0}, {10});
    optim::Adam ams({p}, {.lr = 0.1, .amsgrad = true});
    ams.step();
    p.set_grad(tensor({0.1}, kFloat64));
    ams.step();
    double m = 0.1 * 10, v = 0.001 * 100, vmax = v, w = -0.1 * (m / 0.1) / (std::sqrt(vmax / 0.001) + 1e-8);
    m = 0.9 * m + 0.1 * 0.1;
    v = 0.999 * v + 0.001 * 0.01;
    vmax = std::max(vmax, v);
    w -= 0.1 / (1 - 0.81) * m / (std::sqrt(vmax) / std::sqrt(1 - 0.999 * 0.999) + 1e-8);
    check_values(p, {w}, 1e-12);

    // Centered RMSprop, step 1: v = 0.01 g^2, mean = 0.01 g, v - mean^2 = 0.01 g^2 - 1e-4 g^2.
    Tensor q = param_with_grad({0}, {2});
    optim::RMSprop centered({q}, {.lr = 0.01, .centered = true});
    centered.step();
    check_values(q, {-0.01 * 2 / (std::sqrt(0.0099 * 4) + 1e-8)}, 1e-12);
}

BOOST_AUTO_TEST_CASE(every_optimizer_converges_on_a_convex_quadratic) {
    const std::vector<double> start = {0, 0};
    auto near_minimum = [](const std::vector<double>& w, double tol) {
        return std::abs(w[0] - 3) < tol && std::abs(w[1] + 1) < tol;
    };
    BOOST_TEST(near_minimum(minimize<optim::SGD>(quadratic, start, optim::SGDOptions{.lr = 0.04}, 300), 1e-6));
    BOOST_TEST(near_minimum(minimize<optim::SGD>(quadratic, start, optim::SGDOptions{.lr = 0.02, .momentum = 0.9}, 400), 1e-6));
    BOOST_TEST(near_minimum(minimize<optim::SGD>(quadratic, start, optim::SGDOptions{.lr = 0.02, .momentum = 0.9, .nesterov = true}, 400), 1e-6));
    BOOST_TEST(near_minimum(minimize<optim::Adagrad>(quadratic, start, optim::AdagradOptions{.lr = 1.0}, 500), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::RMSprop>(quadratic, start, optim::RMSpropOptions{.lr = 0.01}, 2000), 2e-2));
    BOOST_TEST(near_minimum(minimize<optim::Adadelta>(quadratic, start, optim::AdadeltaOptions{.lr = 1.0}, 20000), 5e-2));
    BOOST_TEST(near_minimum(minimize<optim::Adam>(quadratic, start, optim::AdamOptions{.lr = 0.05}, 2000), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::NAdam>(quadratic, start, optim::NAdamOptions{.lr = 0.05}, 2000), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::Adamax>(quadratic, start, optim::AdamaxOptions{.lr = 0.05}, 2000), 1e-4));
}

BOOST_AUTO_TEST_CASE(momentum_methods_solve_rosenbrock) {
    const std::vector<double> start = {-1.5, 2.0};
    auto solved = [](const std::vector<double>& w) { return std::abs(w[0] - 1) < 1e-2 && std::abs(w[1] - 1) < 2e-2; };
    BOOST_TEST(solved(minimize<optim::SGD>(rosenbrock, start, optim::SGDOptions{.lr = 1e-3, .momentum = 0.9}, 10000)));
    BOOST_TEST(solved(minimize<optim::Adam>(rosenbrock, start, optim::AdamOptions{.lr = 0.02}, 10000)));
    BOOST_TEST(solved(minimize<optim::NAdam>(rosenbrock, start, optim::NAdamOptions{.lr = 0.02}, 10000)));
}

BOOST_AUTO_TEST_CASE(lecture_momentum_form_gives_the_same_trajectory) {
    // Lecture: v <- gamma v + eta g, theta <- theta - v. PyTorch: b <- mu b + g, theta <- theta - lr b.
    const double eta = 0.01, gamma = 0.9;
    Tensor w = zeros({2}, TensorOptions(kFloat64).requires_grad(true));
    optim::SGD opt({w}, {.lr = eta, .momentum = gamma});
    std::vector<double> theta = {0, 0}, v = {0, 0};
    for (int step = 0; step < 50; ++step) {
        opt.zero_grad();
        quadratic(w).backward();
        opt.step();
        // The lecture's update, by hand: grad of sum(a (theta - c)^2) is 2 a (theta - c).
        const double g0 = 2 * 1 * (theta[0] - 3), g1 = 2 * 10 * (theta[1] + 1);
        v[0] = gamma * v[0] + eta * g0;
        v[1] = gamma * v[1] + eta * g1;
        theta[0] -= v[0];
        theta[1] -= v[1];
        check_values(w, theta, 1e-12);
    }
}

BOOST_AUTO_TEST_CASE(state_dict_round_trip_resumes_to_identical_parameters) {
    auto make = [] { return from_vector(std::vector<double>{0.5, -1.5}, {2}, kFloat64).requires_grad_(); };
    auto train = [](Tensor& w, optim::Optimizer& opt, int steps) {
        for (int i = 0; i < steps; ++i) {
            opt.zero_grad();
            rosenbrock(w).backward();
            opt.step();
        }
    };
    Tensor a = make();
    optim::NAdam first({a}, {.lr = 0.01});
    train(a, first, 5);
    const optim::StateDict saved = first.state_dict();
    const Tensor snapshot = a.detach().clone();
    train(a, first, 5);

    Tensor b = make();
    {
        NoGradGuard guard;
        b.copy_(snapshot);
    }
    optim::NAdam resumed({b}, {.lr = 0.5});  // different lr: restored from the dict
    resumed.load_state_dict(saved);
    BOOST_TEST(resumed.lr(0) == 0.01);
    BOOST_TEST(resumed.step_count(0, 0) == 5);
    train(b, resumed, 5);
    BOOST_TEST((a.to_vector<double>() == b.to_vector<double>()));  // bit for bit

    optim::StateDict broken = saved;
    broken.erase("state.0.0.exp_avg");
    check_error([&] { resumed.load_state_dict(broken); }, {"load_state_dict", "state.0.0.exp_avg"});
    broken = saved;
    broken["state.0.0.exp_avg"] = zeros({3}, kFloat64);
    check_error([&] { resumed.load_state_dict(broken); }, {"load_state_dict", "[3]", "[2]"});
}

BOOST_AUTO_TEST_CASE(param_groups_carry_their_own_options) {
    Tensor w = param_with_grad({1}, {1}), b = param_with_grad({1}, {1});
    optim::SGD opt({{{w}, std::nullopt}, {{b}, optim::SGDOptions{.lr = 0.5}}}, {.lr = 0.1});
    opt.step();
    check_values(w, {0.9}, 1e-15);
    check_values(b, {0.5}, 1e-15);
    opt.add_param_group({{param_with_grad({2}, {1})}, std::nullopt});
    BOOST_TEST(opt.param_group_count() == 3u);
    opt.zero_grad();
    BOOST_TEST(!w.grad().defined());
    check_error([&] { optim::SGD({w, w}); }, {"SGD", "more than one"});
}

BOOST_AUTO_TEST_CASE(invalid_options_are_named) {
    Tensor w = param_with_grad({1}, {1});
    check_error([&] { optim::SGD({w}, {.lr = -1}); }, {"SGD", "invalid learning rate: -1"});
    check_error([&] { optim::SGD({w}, {.lr = 0.1, .nesterov = true}); }, {"Nesterov"});
    check_error([&] { optim::Adam({w}, {.betas = {1.0, 0.999}}); }, {"Adam", "beta parameter at index 0"});
    check_error([&] { optim::RMSprop({w}, {.alpha = 2}); }, {"RMSprop", "alpha"});
    check_error([] { optim::SGD({ones({2}).requires_grad_() * 2.0}); }, {"SGD", "not a leaf"});
}

BOOST_AUTO_TEST_CASE(steps_allocate_nothing_after_the_first) {
    Tensor w = randn({1000}, TensorOptions(kFloat32).requires_grad(true));
    w.set_grad(randn({1000}));
    optim::Adam opt({w}, {});
    opt.step();  // creates the state
    const auto before = memory::stats();
    for (int i = 0; i < 10; ++i) opt.step();
    const auto after = memory::stats();
    BOOST_TEST(after.os_allocations == before.os_allocations);
    BOOST_TEST(after.cache_hits == before.cache_hits);
}

BOOST_AUTO_TEST_SUITE_END()

BOOST_AUTO_TEST_SUITE(optim_schedules)

BOOST_AUTO_TEST_CASE(scheduler_learning_rate_sequences) {
    auto sequence = [](auto make_scheduler, int epochs) {
        Tensor w = param_with_grad({1}, {0});
        optim::SGD opt({w}, {.lr = 1.0});
        auto scheduler = make_scheduler(opt);
        std::vector<double> lrs = {opt.lr(0)};
        for (int e = 1; e < epochs; ++e) {
            scheduler.step();
            lrs.push_back(opt.lr(0));
        }
        return lrs;
    };
    auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::abs(a[i] - b[i]) > 1e-12) return false;
        return true;
    };
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::StepLR(o, {.step_size = 2, .gamma = 0.5}); }, 6),
                     {1, 1, 0.5, 0.5, 0.25, 0.25}));
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::MultiStepLR(o, {.milestones = {2, 4}, .gamma = 0.1}); }, 6),
                     {1, 1, 0.1, 0.1, 0.01, 0.01}));
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::ExponentialLR(o, {.gamma = 0.5}); }, 4),
                     {1, 0.5, 0.25, 0.125}));
    // cos(pi e / 4): 1, (1 + 0.7071) / 2, 0.5, (1 - 0.7071) / 2, 0
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, {.T_max = 4}); }, 5),
                     {1, (1 + std::sqrt(0.5)) / 2, 0.5, (1 - std::sqrt(0.5)) / 2, 0}));
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::LinearLR(o, {.start_factor = 0.25, .total_iters = 3}); }, 5),
                     {0.25, 0.5, 0.75, 1, 1}));
}

BOOST_AUTO_TEST_CASE(reduce_on_plateau_waits_for_patience) {
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    optim::ReduceLROnPlateau plateau(opt, {.factor = 0.5, .patience = 2});
    std::vector<double> lrs;
    for (double loss : {1.0, 0.9, 0.95, 0.95, 0.95, 0.8, 0.85, 0.85, 0.85}) {
        plateau.step(loss);
        lrs.push_back(opt.lr(0));
    }
    // Bad epochs after 0.9: 1, 2, 3 -> halve at the third; after 0.8 again three bad ones.
    BOOST_TEST((lrs == std::vector<double>{1, 1, 1, 1, 0.5, 0.5, 0.5, 0.5, 0.25}));
    BOOST_TEST(plateau.best() == 0.8);
}

BOOST_AUTO_TEST_CASE(scheduler_state_round_trip) {
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    optim::StepLR schedule(opt, {.step_size = 1, .gamma = 0.5});
    schedule.step();
    schedule.step();
    const auto state = schedule.state_dict();
    optim::SGD opt2({param_with_grad({1}, {0})}, {.lr = 1.0});
    optim::StepLR resumed(opt2, {.step_size = 1, .gamma = 0.5});
    resumed.load_state_dict(state);
    BOOST_TEST(resumed.last_epoch() == 2);
    BOOST_TEST(opt2.lr(0) == 0.25);
}

BOOST_AUTO_TEST_CASE(clipping_and_max_norm) {
    Tensor a = param_with_grad({0, 0}, {3, 4}), b = param_with_grad({0}, {12});
    const double total = optim::clip_grad_norm_({a, b}, 6.5);
    BOOST_TEST(std::abs(total - 13.0) < 1e-12);  // sqrt(9 + 16 + 144)
    check_values(a.grad(), {1.5, 2}, 1e-6);      // scaled by 6.5 / 13
    check_values(b.grad(), {6}, 1e-6);
    const double inf_norm = optim::clip_grad_norm_({a, b}, 100, std::numeric_limits<double>::infinity());
    BOOST_TEST(std::abs(inf_norm - 6) < 1e-5);
    optim::clip_grad_value_({a, b}, 1.75);
    check_values(a.grad(), {1.5, 1.75}, 1e-6);
    check_values(b.grad(), {1.75}, 1e-6);

    // Rows are incoming weight vectors: (3, 4) has norm 5 -> scaled to norm 2; (0.6, 0.8) stays.
    Tensor w = tensor({{3.0, 4.0}, {0.6, 0.8}}, kFloat64).requires_grad_();
    optim::max_norm_(w, 2.0);
    check_values(w, {1.2, 1.6, 0.6, 0.8}, 1e-12);
    check_error([&] { optim::max_norm_(w, -1); }, {"max_norm_"});
}

BOOST_AUTO_TEST_SUITE_END()
