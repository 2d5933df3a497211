// Optimizers against their published update rules: first steps derived by hand (the derivation
// sits next to each number), convergence on a convex quadratic and on Rosenbrock, the lecture's
// momentum form, exact resumption from state_dict, schedules, clipping and max-norm.
#include <cmath>
#include <limits>

#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
// A float64 leaf with the given values and a gradient set by hand.
Tensor param_with_grad(std::initializer_list<double> values, std::initializer_list<double> grad) {
    Tensor p =
        from_vector(std::vector<double>(values), {static_cast<int64_t>(values.size())}, kFloat64).requires_grad_();
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

// The lr after construction and after each further step, epochs values in all (one group, lr 1).
template <class MakeScheduler>
std::vector<double> lr_sequence(MakeScheduler make_scheduler, int epochs) {
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    auto scheduler = make_scheduler(opt);
    std::vector<double> lrs = {opt.lr(0)};
    for (int e = 1; e < epochs; ++e) {
        scheduler.step();
        lrs.push_back(opt.lr(0));
    }
    return lrs;
}

void check_sequence(const std::vector<double>& got, const std::vector<double>& expected, double tol = 1e-12) {
    BOOST_TEST_REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i)
        BOOST_TEST(std::abs(got[i] - expected[i]) <= tol,
                   "step " << i << ": got " << got[i] << ", expected " << expected[i]);
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
    // Braced options keep AdamW's default decay (PyTorch's 1e-2), and its errors name AdamW:
    // w = 1 (1 - 0.1 * 0.01) - 0.1 = 0.899.
    Tensor v = param_with_grad({1}, {0.5});
    optim::AdamW decayed({v}, {.lr = 0.1});
    BOOST_TEST(decayed.options().weight_decay == 1e-2);
    decayed.step();
    check_values(v, {0.899}, 1e-6);

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
    BOOST_TEST(near_minimum(minimize<optim::SGD>(quadratic, start, optim::SGDOptions{.lr = 0.02, .momentum = 0.9}, 400),
                            1e-6));
    BOOST_TEST(near_minimum(
        minimize<optim::SGD>(quadratic, start, optim::SGDOptions{.lr = 0.02, .momentum = 0.9, .nesterov = true}, 400),
        1e-6));
    BOOST_TEST(near_minimum(minimize<optim::Adagrad>(quadratic, start, optim::AdagradOptions{.lr = 1.0}, 500), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::RMSprop>(quadratic, start, optim::RMSpropOptions{.lr = 0.01}, 2000), 2e-2));
    BOOST_TEST(
        near_minimum(minimize<optim::Adadelta>(quadratic, start, optim::AdadeltaOptions{.lr = 1.0}, 20000), 5e-2));
    BOOST_TEST(near_minimum(minimize<optim::Adam>(quadratic, start, optim::AdamOptions{.lr = 0.05}, 2000), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::NAdam>(quadratic, start, optim::NAdamOptions{.lr = 0.05}, 2000), 1e-4));
    BOOST_TEST(near_minimum(minimize<optim::Adamax>(quadratic, start, optim::AdamaxOptions{.lr = 0.05}, 2000), 1e-4));
}

// maximize (PyTorch's): ascending f is descending -f, step for step and bit for bit, weight
// decay included (it still pulls towards zero: it joins the negated gradient).
template <class Opt, class Options>
void check_ascent_is_descent_on_the_negation(Options options) {
    options.weight_decay = 0.1;
    const auto run = [&](bool maximize) {
        Options o = options;
        o.maximize = maximize;
        Tensor w = from_vector(std::vector<double>{0.5, -1.5}, {2}, kFloat64).requires_grad_();
        Opt opt({w}, o);
        for (int i = 0; i < 6; ++i) {
            opt.zero_grad();
            (maximize ? -rosenbrock(w) : rosenbrock(w)).backward();
            opt.step();
        }
        return w.to_vector<double>();
    };
    BOOST_TEST((run(true) == run(false)), Options::kName);
}

BOOST_AUTO_TEST_CASE(maximize_ascends_the_objective) {
    check_ascent_is_descent_on_the_negation<optim::SGD>(
        optim::SGDOptions{.lr = 1e-3, .momentum = 0.9, .nesterov = true});
    check_ascent_is_descent_on_the_negation<optim::Adam>(optim::AdamOptions{.lr = 0.01, .amsgrad = true});
    check_ascent_is_descent_on_the_negation<optim::AdamW>(optim::AdamWOptions{.lr = 0.01});
    check_ascent_is_descent_on_the_negation<optim::NAdam>(optim::NAdamOptions{.lr = 0.01});
    check_ascent_is_descent_on_the_negation<optim::Adamax>(optim::AdamaxOptions{.lr = 0.01});
    check_ascent_is_descent_on_the_negation<optim::Adagrad>(optim::AdagradOptions{.lr = 0.1});
    check_ascent_is_descent_on_the_negation<optim::Adadelta>(optim::AdadeltaOptions{.lr = 1.0});
    check_ascent_is_descent_on_the_negation<optim::RMSprop>(
        optim::RMSpropOptions{.lr = 0.01, .momentum = 0.5, .centered = true});

    // By hand, SGD: the step direction is -(-g + weight_decay w) = g - 0.5 w = 2 - 0.5.
    Tensor w = param_with_grad({1}, {2});
    optim::SGD opt({w}, {.lr = 0.1, .weight_decay = 0.5, .maximize = true});
    opt.step();
    check_values(w, {1.15}, 1e-15);
    // The option is saved; a state saved before it existed loads as descent, as in PyTorch.
    optim::StateDict saved = opt.state_dict();
    BOOST_TEST(saved.at("param_groups.0.maximize").item() == 1.0);
    saved.erase("param_groups.0.maximize");
    opt.load_state_dict(saved);
    BOOST_TEST(!opt.options(0).maximize);
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
    // Every buffer missing is an error too (only SGD's pending momentum buffer may be absent,
    // and its state says so), and so is a step that is not a whole number.
    broken = saved;
    broken.erase("state.0.0.exp_avg");
    broken.erase("state.0.0.exp_avg_sq");
    check_error([&] { resumed.load_state_dict(broken); }, {"load_state_dict", "state.0.0.exp_avg"});
    broken = saved;
    broken["state.0.0.step"] = scalar_tensor(std::nan(""), kFloat64);
    check_error([&] { resumed.load_state_dict(broken); }, {"load_state_dict", "step", "whole number"});
    optim::StepLR schedule(resumed, {.step_size = 2});
    auto schedule_state = schedule.state_dict();
    schedule_state["last_epoch"] = 1e300;
    check_error([&] { schedule.load_state_dict(schedule_state); }, {"load_state_dict", "last_epoch", "whole number"});
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
    // An empty list is a mistake (PyTorch: "optimizer got an empty parameter list").
    check_error([] { optim::Adam(std::vector<Tensor>{}); }, {"Adam", "empty parameter list"});
    check_error([] { optim::SGD(std::vector<optim::ParamGroup<optim::SGDOptions>>{}); },
                {"SGD", "no parameter groups"});
}

BOOST_AUTO_TEST_CASE(a_state_of_other_groups_is_refused) {
    Tensor a = param_with_grad({1, 2}, {1, 1}), b = param_with_grad({1, 2, 3}, {1, 1, 1}),
           c = param_with_grad({1}, {1});
    optim::Adam two_groups({{{a, b}, std::nullopt}, {{c}, optim::AdamOptions{.lr = 0.1}}});
    two_groups.step();
    const optim::StateDict saved = two_groups.state_dict();
    BOOST_TEST(saved.at("param_groups.0.params").item() == 2.0);
    // Loaded into one group of one parameter: PyTorch refuses a different number of groups.
    Tensor x = param_with_grad({1, 2}, {1, 1});
    optim::Adam one({x});
    check_error([&] { one.load_state_dict(saved); }, {"load_state_dict", "group 1", "1 group"});
    BOOST_TEST(one.lr(0) == 1e-3);  // nothing changed
    // The same number of groups, but a group with another number of parameters.
    Tensor y = param_with_grad({1, 2}, {1, 1}), z = param_with_grad({1}, {1});
    optim::Adam fewer({{{y}, std::nullopt}, {{z}, std::nullopt}});
    check_error([&] { fewer.load_state_dict(saved); }, {"load_state_dict", "group 0", "2 parameters", "has 1"});
    // A saved state without the counts (older files) still has its states checked.
    optim::StateDict uncounted = saved;
    uncounted.erase("param_groups.0.params");
    uncounted.erase("param_groups.1.params");
    check_error([&] { fewer.load_state_dict(uncounted); }, {"load_state_dict", "parameter 1 of group 0"});
}

BOOST_AUTO_TEST_CASE(invalid_options_are_named) {
    Tensor w = param_with_grad({1}, {1});
    check_error([&] { optim::SGD({w}, {.lr = -1}); }, {"SGD", "invalid learning rate: -1"});
    check_error([&] { optim::AdamW({w}, {.lr = -1}); }, {"AdamW", "invalid learning rate: -1"});
    check_error([&] { optim::SGD({w}, {.lr = 0.1, .nesterov = true}); }, {"Nesterov"});
    check_error([&] { optim::Adam({w}, {.betas = {1.0, 0.999}}); }, {"Adam", "beta parameter at index 0"});
    check_error([&] { optim::RMSprop({w}, {.alpha = 2}); }, {"RMSprop", "alpha"});
    check_error([] { optim::SGD({ones({2}).requires_grad_() * 2.0}); }, {"SGD", "not a leaf"});
    // NaN and infinite options are refused by every optimizer, whatever the option.
    const double nan = std::nan(""), inf = std::numeric_limits<double>::infinity();
    check_error([&] { optim::Adam({w}, {.lr = nan}); }, {"Adam", "invalid lr", "nan"});
    check_error([&] { optim::SGD({w}, {.lr = 0.1, .weight_decay = inf}); }, {"SGD", "invalid weight_decay", "inf"});
    check_error([&] { optim::RMSprop({w}, {.eps = nan}); }, {"RMSprop", "eps"});
    optim::Adagrad adagrad({w}, {});
    check_error([&] { adagrad.set_group_option(0, "lr", inf); }, {"Adagrad", "lr", "inf"});
    BOOST_TEST(adagrad.lr(0) == optim::AdagradOptions{}.lr);
}

BOOST_AUTO_TEST_CASE(momentum_turned_on_later_starts_its_buffer_then) {
    // A scheduler may turn SGD's momentum on after steps without it. Step 1 plain: w = 1 - 0.1 * 1
    // = 0.9. The state saved now has no buffer, and loads into a fresh optimizer. Step 2 with
    // momentum 0.9 starts the buffer as the gradient (as PyTorch does): b = 1, w = 0.8. Step 3:
    // b = 0.9 + 1 = 1.9, w = 0.8 - 0.19 = 0.61.
    Tensor w = param_with_grad({1}, {1});
    optim::SGD opt({w}, {.lr = 0.1});
    opt.step();
    opt.set_group_option(0, "momentum", 0.9);
    const auto before_buffer = opt.state_dict();
    BOOST_TEST(!before_buffer.count("state.0.0.momentum_buffer"));
    opt.step();
    check_values(w, {0.8}, 1e-15);
    opt.step();
    check_values(w, {0.61}, 1e-15);
    BOOST_TEST(opt.state_dict().count("state.0.0.momentum_buffer"));

    Tensor v = param_with_grad({0.9}, {1});
    optim::SGD resumed({v}, {.lr = 0.1, .momentum = 0.9});
    resumed.load_state_dict(before_buffer);
    resumed.step();
    resumed.step();
    check_values(v, {0.61}, 1e-15);

    // A bad value is refused and leaves the options as they were.
    check_error([&] { opt.set_group_option(0, "momentum", -1); }, {"SGD", "momentum"});
    BOOST_TEST(*opt.group_option(0, "momentum") == 0.9);
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
    auto sequence = [](auto make_scheduler, int epochs) { return lr_sequence(make_scheduler, epochs); };
    auto close = [](const std::vector<double>& a, const std::vector<double>& b) {
        if (a.size() != b.size()) return false;
        for (std::size_t i = 0; i < a.size(); ++i)
            if (std::abs(a[i] - b[i]) > 1e-12) return false;
        return true;
    };
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::StepLR(o, {.step_size = 2, .gamma = 0.5}); }, 6),
                     {1, 1, 0.5, 0.5, 0.25, 0.25}));
    BOOST_TEST(close(sequence(
                         [](optim::Optimizer& o) {
                             return optim::MultiStepLR(o, {.milestones = {2, 4}, .gamma = 0.1});
                         },
                         6),
                     {1, 1, 0.1, 0.1, 0.01, 0.01}));
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::ExponentialLR(o, {.gamma = 0.5}); }, 4),
                     {1, 0.5, 0.25, 0.125}));
    // cos(pi e / 4): 1, (1 + 0.7071) / 2, 0.5, (1 - 0.7071) / 2, 0
    BOOST_TEST(close(sequence([](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, {.T_max = 4}); }, 5),
                     {1, (1 + std::sqrt(0.5)) / 2, 0.5, (1 - std::sqrt(0.5)) / 2, 0}));
    BOOST_TEST(close(
        sequence([](optim::Optimizer& o) { return optim::LinearLR(o, {.start_factor = 0.25, .total_iters = 3}); }, 5),
        {0.25, 0.5, 0.75, 1, 1}));
}

BOOST_AUTO_TEST_CASE(schedulers_chain_as_pytorch_steps_them) {
    // Two schedules on one optimizer multiply (PyTorch's chainable step()): 0.9 per epoch and 0.1
    // at epochs 3 and 6 give 1, 0.9, 0.81, 0.0729, 0.06561, 0.059049, 0.0053144, 0.00478297.
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    optim::ExponentialLR decay(opt, {.gamma = 0.9});
    optim::MultiStepLR drops(opt, {.milestones = {3, 6}, .gamma = 0.1});
    std::vector<double> lrs = {opt.lr(0)};
    for (int e = 1; e < 8; ++e) {
        decay.step();
        drops.step();
        lrs.push_back(opt.lr(0));
    }
    check_sequence(lrs, {1, 0.9, 0.81, 0.0729, 0.06561, 0.059049, 0.0053144100000000008, 0.004782969});

    // A lr set by hand (or cut by ReduceLROnPlateau) stays: StepLR halves what the group has.
    Tensor v = param_with_grad({1}, {0});
    optim::SGD sgd({v}, {.lr = 1.0});
    optim::StepLR step(sgd, {.step_size = 2, .gamma = 0.5});
    std::vector<double> stepped = {sgd.lr(0)};
    for (int e = 1; e < 6; ++e) {
        if (e == 3) sgd.set_lr(0, 10);
        step.step();
        stepped.push_back(sgd.lr(0));
    }
    // epoch 1: 1; 2: 0.5; 3: set 10, no drop; 4: 5; 5: 5.
    check_sequence(stepped, {1, 1, 0.5, 10, 5, 5});

    // A milestone listed twice multiplies by gamma twice; cosine annealing past T_max climbs back
    // as the closed form does (its recursion divides by zero one epoch after the minimum).
    check_sequence(lr_sequence(
                       [](optim::Optimizer& o) {
                           return optim::MultiStepLR(o, {.milestones = {2, 2}, .gamma = 0.5});
                       },
                       4),
                   {1, 1, 0.25, 0.25});
    check_sequence(
        lr_sequence([](optim::Optimizer& o) { return optim::CosineAnnealingLR(o, {.T_max = 2, .eta_min = 0.1}); }, 6),
        {1, 0.55, 0.1, 0.55, 1, 0.55});
}

BOOST_AUTO_TEST_CASE(constant_polynomial_and_chained_schedules) {
    // Values as PyTorch 1.13 prints them for lr 1.
    check_sequence(
        lr_sequence([](optim::Optimizer& o) { return optim::ConstantLR(o, {.factor = 0.5, .total_iters = 3}); }, 5),
        {0.5, 0.5, 0.5, 1, 1});
    // (1 - e / 4)^2
    check_sequence(
        lr_sequence([](optim::Optimizer& o) { return optim::PolynomialLR(o, {.total_iters = 4, .power = 2}); }, 6),
        {1, 0.5625, 0.25, 0.0625, 0, 0});
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    auto warm = std::make_shared<optim::ConstantLR>(opt, optim::ConstantLROptions{.factor = 0.1, .total_iters = 2});
    auto decay = std::make_shared<optim::ExponentialLR>(opt, optim::ExponentialLROptions{.gamma = 0.9});
    optim::ChainedScheduler chain({warm, decay});
    std::vector<double> lrs = {opt.lr(0)};
    for (int e = 1; e < 5; ++e) {
        chain.step();
        lrs.push_back(opt.lr(0));
    }
    check_sequence(lrs, {0.1, 0.09, 0.81, 0.729, 0.6561});
    BOOST_TEST(chain.get_last_lr()[0] == opt.lr(0));
    // Its state holds each schedule's, and resumes the chain.
    const optim::SchedulerState saved = chain.state_dict();
    BOOST_TEST(saved.count("schedulers.1.last_epoch") == 1u);
    chain.step();
    chain.load_state_dict(saved);
    BOOST_TEST(opt.lr(0) == lrs.back());
    chain.step();
    BOOST_TEST(std::abs(opt.lr(0) - 0.59049) < 1e-12);

    check_error([] { optim::ChainedScheduler(std::vector<std::shared_ptr<optim::LRScheduler>>{}); },
                {"ChainedScheduler", "at least one"});
    Tensor v = param_with_grad({1}, {0});
    optim::SGD other({v}, {.lr = 1.0});
    check_error(
        [&] {
            optim::ChainedScheduler({warm, std::make_shared<optim::StepLR>(other, optim::StepLROptions{})});
        },
        {"ChainedScheduler", "scheduler 1", "another optimizer"});
    check_error([&] { optim::ConstantLR(other, {.factor = 1.5}); }, {"ConstantLR", "factor", "1.5"});
    check_error([&] { optim::ConstantLR(other, {.factor = 0}); }, {"ConstantLR", "factor", "(0, 1]"});
    // The chain reports the optimizer's lr, also when its last schedule was built first.
    Tensor u = param_with_grad({1}, {0});
    optim::SGD third({u}, {.lr = 1.0});
    auto built_first = std::make_shared<optim::ExponentialLR>(third, optim::ExponentialLROptions{.gamma = 0.9});
    auto built_second = std::make_shared<optim::ConstantLR>(third, optim::ConstantLROptions{.factor = 0.1});
    optim::ChainedScheduler reversed({built_second, built_first});
    BOOST_TEST(reversed.get_last_lr()[0] == 0.1);
    // A state one schedule refuses (a NaN lr) changes nothing, not even the schedules before it.
    optim::SchedulerState bad = chain.state_dict();
    bad["schedulers.0.last_epoch"] = 7;
    bad["schedulers.1.last_lrs.0"] = std::nan("");
    const double lr_before = opt.lr(0);
    const auto state_before = chain.state_dict();
    check_error([&] { chain.load_state_dict(bad); }, {"load_state_dict", "last_lrs.0"});
    BOOST_TEST(opt.lr(0) == lr_before);
    BOOST_TEST((chain.state_dict() == state_before));
    check_error([&] { optim::PolynomialLR(other, {.total_iters = 0}); }, {"PolynomialLR", "total_iters"});
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

BOOST_AUTO_TEST_CASE(reduce_on_plateau_threshold_modes_follow_pytorch) {
    auto lrs_for = [](optim::ReduceLROnPlateau::Options options, const std::vector<double>& metrics) {
        Tensor w = param_with_grad({1}, {0});
        optim::SGD opt({w}, {.lr = 1.0});
        optim::ReduceLROnPlateau plateau(opt, options);
        std::vector<double> lrs;
        for (double m : metrics) {
            plateau.step(m);
            lrs.push_back(opt.lr(0));
        }
        return std::make_pair(lrs, plateau.best());
    };
    using Plateau = optim::ReduceLROnPlateau;
    // min, threshold 0.1, patience 0: after best 10, rel needs < 10 * 0.9 = 9, abs needs < 10 - 0.1 = 9.9.
    // rel: 9.5 and 9.5 are both bad (halve twice); abs: 9.5 improves, the second 9.5 needs < 9.4.
    const auto rel_min = lrs_for({.factor = 0.5, .patience = 0, .threshold = 0.1}, {10, 9.5, 9.5});
    BOOST_TEST((rel_min.first == std::vector<double>{1, 0.5, 0.25}));
    BOOST_TEST(rel_min.second == 10);
    const auto abs_min =
        lrs_for({.factor = 0.5, .patience = 0, .threshold = 0.1, .threshold_mode = Plateau::ThresholdMode::abs},
                {10, 9.5, 9.5});
    BOOST_TEST((abs_min.first == std::vector<double>{1, 1, 0.5}));
    BOOST_TEST(abs_min.second == 9.5);
    // max, threshold 0.5: abs needs > best + 0.5, rel > best * 1.5. From best 1: 1.4 is bad in both;
    // 1.6 beats both 1.5s; then abs needs > 2.1 (2.0 bad, 2.2 good), rel > 2.4 (both bad).
    const std::vector<double> rising = {1, 1.4, 1.6, 2.0, 2.2};
    const auto abs_max = lrs_for({.mode = Plateau::Mode::max,
                                  .factor = 0.5,
                                  .patience = 0,
                                  .threshold = 0.5,
                                  .threshold_mode = Plateau::ThresholdMode::abs},
                                 rising);
    BOOST_TEST((abs_max.first == std::vector<double>{1, 0.5, 0.5, 0.25, 0.25}));
    BOOST_TEST(abs_max.second == 2.2);
    const auto rel_max = lrs_for({.mode = Plateau::Mode::max, .factor = 0.5, .patience = 0, .threshold = 0.5}, rising);
    BOOST_TEST((rel_max.first == std::vector<double>{1, 0.5, 0.5, 0.25, 0.125}));
    BOOST_TEST(rel_max.second == 1.6);
    // The comparison is strict: 0.9 does not beat 1.0 - 0.1 (== 0.9 in doubles).
    const auto tie = lrs_for(
        {.factor = 0.5, .patience = 0, .threshold = 0.1, .threshold_mode = Plateau::ThresholdMode::abs}, {1.0, 0.9});
    BOOST_TEST((tie.first == std::vector<double>{1, 0.5}));

    // The state carries the counters and the options, threshold_mode included.
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    Plateau saved(opt, {.factor = 0.5, .patience = 1, .threshold = 0.1, .threshold_mode = Plateau::ThresholdMode::abs});
    saved.step(10);
    saved.step(9.95);  // not below 9.9: one bad epoch
    Plateau resumed(opt, {});
    resumed.load_state_dict(saved.state_dict());
    BOOST_TEST((resumed.options().threshold_mode == Plateau::ThresholdMode::abs));
    BOOST_TEST(resumed.options().patience == 1);
    BOOST_TEST(resumed.num_bad_epochs() == 1);
    resumed.step(9.95);  // the second bad epoch exceeds patience 1
    BOOST_TEST(opt.lr(0) == 0.5);
    auto broken = saved.state_dict();
    broken.erase("threshold_mode");
    check_error([&] { resumed.load_state_dict(broken); }, {"load_state_dict", "threshold_mode"});
}

BOOST_AUTO_TEST_CASE(lambda_and_multiplicative_schedules) {
    // LambdaLR: lr = base * lambda(epoch) = 1 / (epoch + 1).
    check_sequence(
        lr_sequence([](optim::Optimizer& o) { return optim::LambdaLR(o, [](int64_t e) { return 1.0 / (e + 1); }); }, 4),
        {1, 0.5, 1.0 / 3, 0.25});
    // MultiplicativeLR multiplies the lr it finds: 1, 0.9, 0.9 * 0.8, 0.9 * 0.8 * 0.7 (a closed form
    // base * lambda(3) would give 0.7).
    check_sequence(
        lr_sequence(
            [](optim::Optimizer& o) { return optim::MultiplicativeLR(o, [](int64_t e) { return 1 - 0.1 * e; }); }, 4),
        {1, 0.9, 0.72, 0.504});

    // One lambda per group; LambdaLR applies lambda(0) at construction.
    Tensor a = param_with_grad({1}, {0}), b = param_with_grad({1}, {0});
    optim::SGD opt({{{a}, optim::SGDOptions{.lr = 1.0}}, {{b}, optim::SGDOptions{.lr = 0.1}}});
    optim::LambdaLR per_group(opt, std::vector<optim::LambdaLR::Lambda>{[](int64_t e) { return std::pow(0.5, e); },
                                                                        [](int64_t e) { return e + 2.0; }});
    check_sequence(per_group.get_last_lr(), {1, 0.2});
    per_group.step();
    check_sequence({opt.lr(0), opt.lr(1)}, {0.5, 0.3});
    check_error(
        [&] {
            optim::MultiplicativeLR(opt, std::vector<optim::MultiplicativeLR::Lambda>(3, [](int64_t) { return 1.0; }));
        },
        {"MultiplicativeLR", "expected 2 lr_lambdas", "got 3"});
    check_error([&] { optim::LambdaLR(opt, optim::LambdaLR::Lambda()); }, {"LambdaLR", "lr_lambda 0 is empty"});
}

BOOST_AUTO_TEST_CASE(sequential_lr_hands_over_at_milestones) {
    Tensor w = param_with_grad({1}, {0});
    auto run = [&](auto make_schedulers, std::vector<int64_t> milestones, int epochs) {
        optim::SGD opt({w}, {.lr = 1.0});
        optim::SequentialLR schedule(opt, make_schedulers(opt), std::move(milestones));
        std::vector<double> lrs = {opt.lr(0)};
        for (int e = 1; e < epochs; ++e) {
            schedule.step();
            lrs.push_back(opt.lr(0));
        }
        BOOST_TEST(schedule.get_last_lr().front() == lrs.back());
        return lrs;
    };
    using Schedules = std::vector<std::shared_ptr<optim::LRScheduler>>;
    auto warmup = [](optim::Optimizer& o) {
        return std::make_shared<optim::LinearLR>(o, optim::LinearLR::Options{.start_factor = 0.25, .total_iters = 2});
    };
    // Warm-up 0.25, 0.625 (LinearLR), then at epoch 2 ExponentialLR from its epoch 0: 1, 0.5, 0.25, 0.125.
    // ExponentialLR starts from the shared initial lr 1, not the 0.25 the warm-up had set when it was built.
    check_sequence(run(
                       [&](optim::Optimizer& o) {
                           return Schedules{warmup(o), std::make_shared<optim::ExponentialLR>(
                                                           o, optim::ExponentialLR::Options{.gamma = 0.5})};
                       },
                       {2}, 6),
                   {0.25, 0.625, 1, 0.5, 0.25, 0.125});
    // MultiplicativeLR restarts from the lr it finds (0.625) and halves it from the next epoch on.
    check_sequence(
        run(
            [&](optim::Optimizer& o) {
                return Schedules{warmup(o), std::make_shared<optim::MultiplicativeLR>(o, [](int64_t) { return 0.5; })};
            },
            {2}, 5),
        {0.25, 0.625, 0.625, 0.3125, 0.15625});
    // Three schedules: StepLR takes over at epoch 4 from its epoch 0 (lr 1), then 0.1, 0.01.
    check_sequence(
        run(
            [&](optim::Optimizer& o) {
                return Schedules{
                    warmup(o), std::make_shared<optim::ExponentialLR>(o, optim::ExponentialLR::Options{.gamma = 0.5}),
                    std::make_shared<optim::StepLR>(o, optim::StepLR::Options{.step_size = 1, .gamma = 0.1})};
            },
            {2, 4}, 7),
        {0.25, 0.625, 1, 0.5, 1, 0.1, 0.01});

    optim::SGD opt({w}, {.lr = 1.0}), other({param_with_grad({1}, {0})}, {.lr = 1.0});
    check_error(
        [&] {
            optim::SequentialLR(opt, {warmup(opt), warmup(opt)}, {2, 3});
        },
        {"SequentialLR", "2 schedulers and 2 milestones"});
    check_error([&] { optim::SequentialLR(opt, {warmup(opt)}, {1}); },
                {"SequentialLR", "1 schedulers and 1 milestones"});
    check_error(
        [&] {
            optim::SequentialLR(opt, {warmup(opt), warmup(other)}, {2});
        },
        {"SequentialLR", "scheduler 1 drives another optimizer"});
    check_error(
        [&] {
            optim::SequentialLR(opt, {warmup(opt), warmup(opt), warmup(opt)}, {4, 2});
        },
        {"SequentialLR", "milestones must be increasing"});
}

BOOST_AUTO_TEST_CASE(one_cycle_follows_the_documented_phases) {
    // max_lr 1, 10 steps, pct_start 0.3, div_factor 25, final_div_factor 1e4: initial lr 1 / 25 = 0.04,
    // min lr 0.04 / 1e4 = 4e-6. Phase 1 ends at step 0.3 * 10 - 1 = 2, phase 2 at 10 - 1 = 9.
    // cos annealing from start to end at fraction pct: end + (start - end) (1 + cos(pi pct)) / 2.
    auto cos_anneal = [](double start, double end, double pct) {
        return end + (start - end) * (1 + std::cos(M_PI * pct)) / 2;
    };
    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 0.5, .momentum = 0.5});
    optim::OneCycleLR cycle(opt, {.max_lr = 1.0, .total_steps = 10});
    std::vector<double> lrs = {opt.lr(0)}, momenta = {opt.options(0).momentum};
    for (int s = 1; s <= 10; ++s) {
        cycle.step();
        lrs.push_back(opt.lr(0));
        momenta.push_back(opt.options(0).momentum);
    }
    // Phase 1: 0.04 -> 1 over steps 0..2 (step 1 is halfway: 0.52); momentum 0.95 -> 0.85.
    // Phase 2: 1 -> 4e-6 over steps 2..9, pct = (step - 2) / 7; step 10 runs past the end (pct 8/7),
    // as PyTorch allows one step more than total_steps counting construction.
    std::vector<double> expected_lr = {0.04, 0.52, 1.0}, expected_momentum = {0.95, 0.90, 0.85};
    for (int s = 3; s <= 10; ++s) {
        expected_lr.push_back(cos_anneal(1.0, 4e-6, (s - 2) / 7.0));
        expected_momentum.push_back(cos_anneal(0.85, 0.95, (s - 2) / 7.0));
    }
    check_sequence(lrs, expected_lr);
    check_sequence(momenta, expected_momentum);
    BOOST_TEST(std::abs(lrs[9] - 4e-6) < 1e-15);
    BOOST_TEST(std::abs(lrs[3] - (4e-6 + (1 - 4e-6) * (1 + std::cos(M_PI / 7)) / 2)) < 1e-12);
    BOOST_TEST(opt.initial_lr(0).value() == 0.04);
    check_error([&] { cycle.step(); }, {"OneCycleLR", "tried to step 12 times", "total steps is 10"});
    BOOST_TEST(cycle.last_epoch() == 10);  // the failed step changed nothing

    // Linear, three phases: up 0.04 -> 1 over steps 0..2, down to 0.04 by step 2 * 0.3 * 10 - 2 = 4,
    // then to 4e-6 by step 9 in steps of (0.04 - 4e-6) / 5 = 0.0079992. Momentum mirrors phases 1-2
    // and stays at max_momentum in phase 3. Adam cycles beta1 instead of momentum.
    Tensor v = param_with_grad({1}, {0});
    optim::Adam adam({v}, {.lr = 0.5});
    optim::OneCycleLR three(adam, {.max_lr = 1.0,
                                   .epochs = 2,
                                   .steps_per_epoch = 5,
                                   .anneal_strategy = optim::OneCycleLR::Options::Anneal::linear,
                                   .three_phase = true});
    BOOST_TEST(three.total_steps() == 10);
    lrs = {adam.lr(0)};
    momenta = {adam.options(0).betas.first};
    for (int s = 1; s <= 9; ++s) {
        three.step();
        lrs.push_back(adam.lr(0));
        momenta.push_back(adam.options(0).betas.first);
    }
    check_sequence(lrs, {0.04, 0.52, 1.0, 0.52, 0.04, 0.0320008, 0.0240016, 0.0160024, 0.0080032, 4e-6});
    check_sequence(momenta, {0.95, 0.90, 0.85, 0.90, 0.95, 0.95, 0.95, 0.95, 0.95, 0.95});
    BOOST_TEST(adam.options(0).betas.second == 0.999);

    optim::Adagrad adagrad({param_with_grad({1}, {0})}, {});
    check_error([&] { optim::OneCycleLR(adagrad, {.max_lr = 1.0, .total_steps = 10}); },
                {"OneCycleLR", "cycle_momentum"});
    optim::OneCycleLR no_momentum(adagrad, {.max_lr = 1.0, .total_steps = 10, .cycle_momentum = false});
    BOOST_TEST(std::abs(adagrad.lr(0) - 0.04) < 1e-15);
    check_error([&] { optim::OneCycleLR(opt, {.max_lr = 1.0}); },
                {"OneCycleLR", "total_steps", "epochs and steps_per_epoch"});
    check_error([&] { optim::OneCycleLR(opt, {.max_lr = 1.0, .total_steps = 10, .pct_start = 1.5}); },
                {"OneCycleLR", "pct_start", "1.5"});
}

BOOST_AUTO_TEST_CASE(cyclic_lr_follows_its_cycles) {
    using Cyclic = optim::CyclicLR::Options;
    // The lr (and momentum) after construction and after each of 12 steps.
    const auto run = [](Cyclic options, std::vector<double>& momenta) {
        Tensor w = param_with_grad({1}, {0});
        optim::SGD opt({w}, {.lr = 0.5, .momentum = 0.5});
        optim::CyclicLR cyclic(opt, std::move(options));
        std::vector<double> lrs = {opt.lr(0)};
        momenta = {opt.options(0).momentum};
        for (int s = 1; s <= 12; ++s) {
            cyclic.step();
            lrs.push_back(opt.lr(0));
            momenta.push_back(opt.options(0).momentum);
        }
        return lrs;
    };
    std::vector<double> momenta;
    // triangular, 4 up and 4 down from 0.01 to 0.1: steps of 0.09 / 4 = 0.0225; momentum 0.9 at
    // the bottom, 0.8 at the top, in steps of 0.025.
    check_sequence(run({.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 4}, momenta),
                   {0.01, 0.0325, 0.055, 0.0775, 0.1, 0.0775, 0.055, 0.0325, 0.01, 0.0325, 0.055, 0.0775, 0.1});
    check_sequence(momenta, {0.9, 0.875, 0.85, 0.825, 0.8, 0.825, 0.85, 0.875, 0.9, 0.875, 0.85, 0.825, 0.8});
    // triangular2, 2 up and 3 down: the second cycle (steps 5-9) reaches half the height,
    // 0.01 + 0.09 / 2 = 0.055, the third a quarter, 0.0325.
    check_sequence(run({.base_lr = {0.01},
                        .max_lr = {0.1},
                        .step_size_up = 2,
                        .step_size_down = 3,
                        .mode = Cyclic::Mode::triangular2},
                       momenta),
                   {0.01, 0.055, 0.1, 0.07, 0.04, 0.01, 0.0325, 0.055, 0.04, 0.025, 0.01, 0.02125, 0.0325});
    check_sequence(momenta, {0.9, 0.85, 0.8, 0.9 - 0.1 * 2 / 3, 0.9 - 0.1 / 3, 0.9, 0.875, 0.85, 0.9 - 0.05 * 2 / 3,
                             0.9 - 0.05 / 3, 0.9, 0.8875, 0.875});
    // exp_range, gamma 0.9, 3 up and 3 down: the height at step t is scaled by 0.9^t, e.g. step 3
    // 0.01 + 0.09 * 0.729 = 0.07561, step 4 0.01 + 0.09 * (2 / 3) * 0.6561 = 0.049366.
    check_sequence(
        run({.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 3, .mode = Cyclic::Mode::exp_range, .gamma = 0.9},
            momenta),
        {0.01, 0.037, 0.0586, 0.07561, 0.049366, 0.0277147, 0.01, 0.024348907, 0.0358280326, 0.04486784401,
         0.030920706406, 0.0194143178827, 0.01});
    check_sequence(momenta, {0.9, 0.87, 0.846, 0.8271, 0.85626, 0.880317, 0.9, 0.88405677, 0.871302186, 0.8612579511,
                             0.87675477066, 0.889539646797, 0.9});
    // A scale of one's own, 0.5^x, of the cycle number or of the step.
    const auto halves = [](double x) { return std::pow(0.5, x); };
    check_sequence(
        run({.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 2, .scale_fn = halves}, momenta),
        {0.01, 0.0325, 0.055, 0.0325, 0.01, 0.02125, 0.0325, 0.02125, 0.01, 0.015625, 0.02125, 0.015625, 0.01});
    check_sequence(run({.base_lr = {0.01},
                        .max_lr = {0.1},
                        .step_size_up = 2,
                        .scale_fn = halves,
                        .scale_mode = Cyclic::ScaleMode::iterations},
                       momenta),
                   {0.01, 0.0325, 0.0325, 0.015625, 0.01, 0.01140625, 0.01140625, 0.0103515625, 0.01, 0.010087890625,
                    0.010087890625, 0.01002197265625, 0.01});
    check_sequence(momenta, {0.9, 0.875, 0.875, 0.89375, 0.9, 0.8984375, 0.8984375, 0.899609375, 0.9, 0.89990234375,
                             0.89990234375, 0.8999755859375, 0.9});

    // One value per group; construction sets the lr to base_lr, which becomes the initial lr.
    Tensor a = param_with_grad({1}, {0}), b = param_with_grad({1}, {0});
    optim::Adam adam({{{a}, std::nullopt}, {{b}, std::nullopt}}, {.lr = 0.5});
    optim::CyclicLR two(adam, {.base_lr = {0.01, 0.02}, .max_lr = {0.1, 0.2}, .step_size_up = 2});
    BOOST_TEST(adam.initial_lr(1).value() == 0.02);
    BOOST_TEST(adam.options(1).betas.first == 0.9);  // Adam cycles beta1 (PyTorch 2's choice)
    two.step();
    BOOST_TEST(std::abs(adam.lr(0) - 0.055) < 1e-15);
    BOOST_TEST(std::abs(adam.lr(1) - 0.11) < 1e-15);
    BOOST_TEST(std::abs(adam.options(0).betas.first - 0.85) < 1e-15);

    optim::Adagrad adagrad({param_with_grad({1}, {0})}, {});
    check_error([&] { optim::CyclicLR(adagrad, {.base_lr = {0.01}, .max_lr = {0.1}}); },
                {"CyclicLR", "cycle_momentum"});
    check_error(
        [&] {
            optim::CyclicLR(adam, {.base_lr = {0.01, 0.02, 0.03}, .max_lr = {0.1}});
        },
        {"CyclicLR", "expected 2 values for base_lr", "got 3"});
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {}}); },
                {"CyclicLR", "expected 2 values for max_lr", "got 0"});
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 0}); },
                {"CyclicLR", "step_size_up", "0"});
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {0.1}, .step_size_down = -1}); },
                {"CyclicLR", "step_size_down", "-1"});
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {-0.01}, .max_lr = {0.1}}); },
                {"CyclicLR", "base_lr", "-0.01"});
    check_error(
        [&] {
            optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {0.1}, .base_momentum = {0.8, 0.7, 0.6}});
        },
        {"CyclicLR", "base_momentum", "got 3"});
    // Momenta the optimizer would refuse at some step are refused now, and a refused schedule
    // leaves the optimizer as it was.
    adam.set_lr(0, 0.7);
    const double beta1 = adam.options(0).betas.first;
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {0.1}, .max_momentum = {1.0}}); },
                {"CyclicLR", "max_momentum 1", "beta1"});
    check_error([&] { optim::CyclicLR(adam, {.base_lr = {0.01}, .max_lr = {0.1}, .step_size_up = 0}); },
                {"CyclicLR", "step_size_up"});
    BOOST_TEST(adam.lr(0) == 0.7);
    BOOST_TEST(adam.options(0).betas.first == beta1);
    optim::SGD nesterov({param_with_grad({1}, {0})}, {.lr = 0.1, .momentum = 0.9, .nesterov = true});
    check_error([&] { optim::CyclicLR(nesterov, {.base_lr = {0.01}, .max_lr = {0.1}, .base_momentum = {0.0}}); },
                {"CyclicLR", "base_momentum 0", "Nesterov"});
    check_error([&] { optim::OneCycleLR(nesterov, {.max_lr = 1.0, .total_steps = 10, .base_momentum = 0.0}); },
                {"OneCycleLR", "base_momentum 0", "Nesterov"});
    BOOST_TEST(nesterov.lr(0) == 0.1);
    BOOST_TEST(nesterov.options(0).momentum == 0.9);
}

BOOST_AUTO_TEST_CASE(cosine_warm_restarts_with_fractional_epochs) {
    // T_0 = 2, T_mult = 2: periods of 2, 4, 8 epochs starting at epochs 0, 2, 6;
    // lr = (1 + cos(pi T_cur / T_i)) / 2 with eta_min 0.
    const double c4 = std::cos(M_PI / 4), c8 = std::cos(M_PI / 8);
    check_sequence(
        lr_sequence([](optim::Optimizer& o) { return optim::CosineAnnealingWarmRestarts(o, {.T_0 = 2, .T_mult = 2}); },
                    8),
        {1, 0.5, 1, (1 + c4) / 2, 0.5, (1 - c4) / 2, 1, (1 + c8) / 2});

    Tensor w = param_with_grad({1}, {0});
    optim::SGD opt({w}, {.lr = 1.0});
    optim::CosineAnnealingWarmRestarts sgdr(opt, {.T_0 = 2, .T_mult = 2});
    // Epoch 2.5 lies 0.5 into the second period (T_i = 4): lr = (1 + cos(pi / 8)) / 2.
    sgdr.step(2.5);
    BOOST_TEST(sgdr.T_cur() == 0.5);
    BOOST_TEST(sgdr.T_i() == 4);
    BOOST_TEST(sgdr.last_epoch() == 2);
    BOOST_TEST(std::abs(opt.lr(0) - (1 + c8) / 2) < 1e-12);
    // Epoch 7 is 1 into the third period (6..14, T_i = 8); step() then goes on to T_cur 2, epoch 8.
    sgdr.step(7.0);
    BOOST_TEST(sgdr.T_cur() == 1.0);
    BOOST_TEST(sgdr.T_i() == 8);
    BOOST_TEST(std::abs(opt.lr(0) - (1 + c8) / 2) < 1e-12);
    sgdr.step();
    BOOST_TEST(sgdr.T_cur() == 2.0);
    BOOST_TEST(sgdr.last_epoch() == 8);
    BOOST_TEST(std::abs(opt.lr(0) - (1 + c4) / 2) < 1e-12);

    // Epoch 121 with T_0 = 1, T_mult = 3 is exactly the fifth restart (1 + 3 + 9 + 27 + 81), where
    // the logarithm rounds to 4.999...: the new period of 243 starts, lr back at 1.
    optim::CosineAnnealingWarmRestarts boundary(opt, {.T_0 = 1, .T_mult = 3});
    boundary.step(121.0);
    BOOST_TEST(boundary.T_cur() == 0.0);
    BOOST_TEST(boundary.T_i() == 243);
    BOOST_TEST(opt.lr(0) == 1.0);
    boundary.step(120.5);  // half-way through the period of 81
    BOOST_TEST(boundary.T_cur() == 80.5);
    BOOST_TEST(boundary.T_i() == 81);

    // T_mult = 1, eta_min 0.1: epoch 5.5 is 1.5 into a period of 2: 0.1 + 0.9 (1 + cos(0.75 pi)) / 2.
    optim::SGD opt2({param_with_grad({1}, {0})}, {.lr = 1.0});
    optim::CosineAnnealingWarmRestarts fixed(opt2, {.T_0 = 2, .eta_min = 0.1});
    fixed.step(5.5);
    BOOST_TEST(std::abs(opt2.lr(0) - (0.1 + 0.9 * (1 + std::cos(0.75 * M_PI)) / 2)) < 1e-12);
    check_error([&] { fixed.step(-1.0); }, {"CosineAnnealingWarmRestarts", "non-negative epoch", "-1"});
    check_error([&] { optim::CosineAnnealingWarmRestarts(opt2, {.T_0 = 0}); },
                {"CosineAnnealingWarmRestarts", "T_0", "0"});
}

BOOST_AUTO_TEST_CASE(every_schedule_resumes_identically_from_its_state) {
    using Make = std::function<std::unique_ptr<optim::LRScheduler>(optim::Optimizer&)>;
    // k steps, save, a new optimizer and scheduler load the state and continue: the lrs (and the
    // cycled momentum) must match an uninterrupted run bit for bit.
    auto check_resume = [](const std::string& name, const Make& make, int k, int steps) {
        BOOST_TEST_CONTEXT(name) {
            auto record = [](optim::SGD& opt, optim::LRScheduler& s, int n, std::vector<double>& out) {
                for (int i = 0; i < n; ++i) {
                    s.step();
                    out.push_back(opt.lr(0));
                    out.push_back(opt.options(0).momentum);
                }
            };
            optim::SGD opt({param_with_grad({1}, {0})}, {.lr = 1.0, .momentum = 0.9});
            auto scheduler = make(opt);
            std::vector<double> uninterrupted;
            record(opt, *scheduler, k, uninterrupted);
            const optim::SchedulerState state = scheduler->state_dict();
            record(opt, *scheduler, steps - k, uninterrupted);

            optim::SGD fresh({param_with_grad({1}, {0})}, {.lr = 1.0, .momentum = 0.9});
            auto resumed = make(fresh);
            resumed->load_state_dict(state);
            std::vector<double> continued(uninterrupted.begin(), uninterrupted.begin() + 2 * k);
            BOOST_TEST(fresh.lr(0) == continued[2 * k - 2]);  // restored before any step
            record(fresh, *resumed, steps - k, continued);
            BOOST_TEST((continued == uninterrupted));
        }
    };
    using LambdaFn = optim::LambdaLR::Lambda;
    check_resume(
        "LambdaLR",
        [](optim::Optimizer& o) {
            return std::make_unique<optim::LambdaLR>(o, LambdaFn([](int64_t e) { return 1.0 / (e + 1); }));
        },
        3, 6);
    check_resume(
        "MultiplicativeLR",
        [](optim::Optimizer& o) {
            return std::make_unique<optim::MultiplicativeLR>(o, LambdaFn([](int64_t e) { return 1 - 0.05 * e; }));
        },
        3, 6);
    check_resume(
        "SequentialLR",
        [](optim::Optimizer& o) {
            auto warmup =
                std::make_shared<optim::LinearLR>(o, optim::LinearLR::Options{.start_factor = 0.25, .total_iters = 2});
            auto decay = std::make_shared<optim::MultiplicativeLR>(o, LambdaFn([](int64_t) { return 0.5; }));
            return std::make_unique<optim::SequentialLR>(
                o, std::vector<std::shared_ptr<optim::LRScheduler>>{warmup, decay}, std::vector<int64_t>{2});
        },
        3, 6);
    check_resume(
        "SequentialLR saved before its milestone",
        [](optim::Optimizer& o) {
            auto warmup =
                std::make_shared<optim::LinearLR>(o, optim::LinearLR::Options{.start_factor = 0.25, .total_iters = 4});
            auto decay = std::make_shared<optim::ExponentialLR>(o, optim::ExponentialLR::Options{.gamma = 0.5});
            return std::make_unique<optim::SequentialLR>(
                o, std::vector<std::shared_ptr<optim::LRScheduler>>{warmup, decay}, std::vector<int64_t>{4});
        },
        2, 7);
    check_resume(
        "OneCycleLR",
        [](optim::Optimizer& o) {
            return std::make_unique<optim::OneCycleLR>(o, optim::OneCycleLR::Options{.max_lr = 2.0, .total_steps = 12});
        },
        5, 12);
    check_resume(
        "CyclicLR",
        [](optim::Optimizer& o) {
            return std::make_unique<optim::CyclicLR>(
                o, optim::CyclicLR::Options{.base_lr = {0.1},
                                            .max_lr = {1.0},
                                            .step_size_up = 2,
                                            .step_size_down = 3,
                                            .mode = optim::CyclicLR::Options::Mode::triangular2});
        },
        4, 11);
    check_resume(
        "CosineAnnealingWarmRestarts",
        [](optim::Optimizer& o) {
            auto sgdr = std::make_unique<optim::CosineAnnealingWarmRestarts>(
                o, optim::CosineAnnealingWarmRestarts::Options{.T_0 = 2, .T_mult = 2, .eta_min = 0.01});
            sgdr->step(2.5);  // a fractional T_cur (0.5) that the state must carry
            return sgdr;
        },
        3, 9);
    check_resume(
        "StepLR",
        [](optim::Optimizer& o) {
            return std::make_unique<optim::StepLR>(o, optim::StepLR::Options{.step_size = 2, .gamma = 0.5});
        },
        3, 6);
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

    // A NaN gradient makes the norm NaN and every gradient NaN (PyTorch multiplies by the NaN
    // coefficient), in the infinity norm too; with error_if_nonfinite nothing changes.
    for (const double order : {2.0, std::numeric_limits<double>::infinity()}) {
        Tensor n = param_with_grad({0, 0}, {std::nan(""), 1}), m = param_with_grad({0}, {5});
        check_error(
            [&] {
                optim::clip_grad_norm_({n, m}, 1.0, order, /*error_if_nonfinite=*/true);
            },
            {"clip_grad_norm_", "nan", "error_if_nonfinite"});
        BOOST_TEST(m.grad().item() == 5.0);
        BOOST_TEST(std::isnan(optim::clip_grad_norm_({n, m}, 1.0, order)));
        BOOST_TEST(std::isnan(m.grad().item()));
        BOOST_TEST(std::isnan(n.grad().to_vector<double>()[1]));
    }

    // Rows are incoming weight vectors: (3, 4) has norm 5 -> scaled to norm 2; (0.6, 0.8) stays.
    Tensor w = tensor({{3.0, 4.0}, {0.6, 0.8}}, kFloat64).requires_grad_();
    optim::max_norm_(w, 2.0);
    check_values(w, {1.2, 1.6, 0.6, 0.8}, 1e-12);
    check_error([&] { optim::max_norm_(w, -1); }, {"max_norm_"});
}

BOOST_AUTO_TEST_CASE(exponential_moving_average_of_weights) {
    // Without warm-up: avg = 0.5 * avg + 0.5 * p after each step.
    Tensor w = tensor({2.0, -4.0}, kFloat64).requires_grad_();
    optim::ExponentialMovingAverage average({w}, {.decay = 0.5, .warmup = false});
    check_values(average.averages()[0], {2, -4}, 0);  // starts at the weights
    {
        NoGradGuard no_grad;
        w.copy_(tensor({4.0, 0.0}, kFloat64));
    }
    average.update();
    check_values(average.averages()[0], {3, -2}, 1e-15);  // 0.5 * (2, -4) + 0.5 * (4, 0)
    average.update();
    check_values(average.averages()[0], {3.5, -1}, 1e-15);
    BOOST_TEST(average.num_updates() == 2);

    // store / copy_to / restore: evaluate with the averages, then train on from the weights.
    average.store();
    average.copy_to();
    check_values(w, {3.5, -1}, 0);
    BOOST_TEST(w.requires_grad());  // still the model's parameter, written in place
    average.restore();
    check_values(w, {4, 0}, 0);
    check_error([&] { average.restore(); }, {"ExponentialMovingAverage::restore", "store()"});

    // Warm-up: update n uses min(decay, (1 + n) / (10 + n)): 0.1, then 2/11, ...
    Tensor v = tensor({0.0}, kFloat64).requires_grad_();
    optim::ExponentialMovingAverage warm({v}, {.decay = 0.999});
    BOOST_TEST(std::abs(warm.next_decay() - 0.1) < 1e-15);
    {
        NoGradGuard no_grad;
        v.fill_(10.0);
    }
    warm.update();
    check_values(warm.averages()[0], {9}, 1e-12);  // 0.1 * 0 + 0.9 * 10
    BOOST_TEST(std::abs(warm.next_decay() - 2.0 / 11.0) < 1e-15);
    for (int i = 0; i < 10000; ++i) warm.update();
    BOOST_TEST(warm.next_decay() == 0.999);  // the warm-up is over
    check_values(warm.averages()[0], {10}, 1e-9);

    // Training with it: SGD on the quadratic with a step size that makes the weights oscillate
    // around the minimum; their average sits much nearer to it than the last iterate.
    Tensor q = tensor({0.0, 0.0}, kFloat64).requires_grad_();
    optim::SGD sgd({q}, {.lr = 0.099});  // the stiff direction (a = 10) oscillates, factor -0.98
    optim::ExponentialMovingAverage polyak({q}, {.decay = 0.9});
    for (int step = 0; step < 150; ++step) {
        sgd.zero_grad();
        quadratic(q).backward();
        sgd.step();
        polyak.update();
    }
    const double last_error = std::abs(q.select(0, 1).item() + 1);
    const double average_error = std::abs(polyak.averages()[0].select(0, 1).item() + 1);
    BOOST_TEST(last_error > 0.01);
    BOOST_TEST(average_error < last_error / 10);

    // A parameter that is a transposed view (not contiguous) averages like its contiguous copy,
    // in float32 as in float64.
    for (DType dtype : {kFloat32, kFloat64}) {
        const Tensor base = arange(0, 6, 1, dtype).reshape({2, 3});
        Tensor view = base.t(), copy = base.t().contiguous();
        optim::ExponentialMovingAverage of_view({view}, {.decay = 0.75, .warmup = false});
        optim::ExponentialMovingAverage of_copy({copy}, {.decay = 0.75, .warmup = false});
        {
            NoGradGuard no_grad;
            view.mul_(3.0);
            copy.mul_(3.0);
        }
        of_view.update();
        of_copy.update();
        // 3/4 of x and 1/4 of 3x: 1.5x, for x = base.t() = (0, 3, 1, 4, 2, 5)
        check_values(of_view.averages()[0], {0, 4.5, 1.5, 6, 3, 7.5}, 1e-6);
        check_values(of_copy.averages()[0], {0, 4.5, 1.5, 6, 3, 7.5}, 1e-6);
    }

    // A parameter given new data of another shape (PyTorch's `p.data = ...`) is named.
    Tensor u = tensor({1.0, 2.0}, kFloat64).requires_grad_();
    optim::ExponentialMovingAverage of_u({u});
    u.set_data(zeros({3}, kFloat64).data());
    check_error([&] { of_u.update(); }, {"ExponentialMovingAverage::update", "parameter 0", "[2]", "[3]"});

    check_error([&] { optim::ExponentialMovingAverage bad({w}, {.decay = 1.5}); },
                {"ExponentialMovingAverage", "decay", "1.5"});
    check_error(
        [&] {
            optim::ExponentialMovingAverage bad({tensor({1, 2}, kInt64)});
        },
        {"ExponentialMovingAverage", "parameter 0", "floating"});
}

BOOST_AUTO_TEST_SUITE_END()
