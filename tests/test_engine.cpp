// The autograd engine: accumulation, graph lifetime, grad mode, hooks, custom functions,
// in-place safety, anomaly mode, higher derivatives, and memory.
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

namespace {
TensorOptions grad64() {
    return TensorOptions(kFloat64).requires_grad(true);
}
}  // namespace

BOOST_AUTO_TEST_SUITE(engine)

BOOST_AUTO_TEST_CASE(gradients_accumulate_over_uses_and_calls) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = x * x + x * 3.0;  // two uses: dy/dx = 2x + 3
    y.sum().backward();
    check_values(x.grad(), {5, 7});
    (x * 2.0).sum().backward();  // accumulates
    check_values(x.grad(), {7, 9});
    x.grad().zero_();
    (x * 2.0).sum().backward();
    check_values(x.grad(), {2, 2});
    BOOST_TEST(x.is_leaf());
    BOOST_TEST(!y.is_leaf());
    BOOST_TEST(std::string(y.grad_fn()->name()) == "add");
}

BOOST_AUTO_TEST_CASE(backward_from_a_tensor_needs_a_gradient_of_its_shape) {
    Tensor x = tensor({1.0, 2.0, 3.0}, grad64());
    Tensor y = x * 2.0;
    check_error([&] { y.backward(); }, {"backward", "one-element", "[3]"});
    check_error([&] { y.backward(ones({2}, kFloat64)); }, {"backward", "[2]", "[3]"});
    y.backward(tensor({1.0, 0.0, -1.0}, kFloat64));
    check_values(x.grad(), {2, 0, -2});
    check_error([] { ones({2}).sum().backward(); }, {"does not require grad"});
}

BOOST_AUTO_TEST_CASE(graph_is_freed_after_backward_unless_retained) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = (x.exp() * x).sum();
    y.backward({}, /*retain_graph=*/true);
    y.backward();  // allowed: the first call kept the graph
    check_error([&] { y.backward(); }, {"second time", "retain_graph"});
    const double e1 = std::exp(1.0), e2 = std::exp(2.0);
    check_values(x.grad(), {2 * (e1 + e1), 2 * (e2 + 2 * e2)}, 1e-12);
}

BOOST_AUTO_TEST_CASE(no_grad_and_detach_stop_recording) {
    Tensor x = tensor({1.0}, grad64());
    {
        NoGradGuard guard;
        Tensor y = x * 2.0;
        BOOST_TEST(!y.requires_grad());
        BOOST_TEST(!GradMode::is_enabled());
    }
    BOOST_TEST(GradMode::is_enabled());
    {
        InferenceMode guard;  // LibTorch's name for the same
        BOOST_TEST(!(x * 2.0).requires_grad());
        {
            InferenceMode off(false);  // recording again inside
            BOOST_TEST((x * 2.0).requires_grad());
        }
        BOOST_TEST(!GradMode::is_enabled());
    }
    BOOST_TEST(GradMode::is_enabled());
    Tensor d = (x * 2.0).detach();
    BOOST_TEST(!d.requires_grad());
    BOOST_TEST(d.is_leaf());
    Tensor z = (d * x).sum();  // d is a constant here
    z.backward();
    check_values(x.grad(), {2});
}

BOOST_AUTO_TEST_CASE(retain_grad_keeps_gradients_of_intermediate_tensors) {
    Tensor x = tensor({1.0, -2.0}, grad64());
    Tensor h = x * 3.0;
    h.retain_grad();
    Tensor y = (h * h).sum();
    y.backward();
    check_values(h.grad(), {6, -12});  // d(h^2)/dh = 2h
    BOOST_TEST(!((x * 1.0).grad().defined()));
}

BOOST_AUTO_TEST_CASE(hooks_see_and_can_replace_gradients) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor h = x * 2.0;
    std::vector<double> seen;
    h.register_hook([&](const Tensor& g) {
        seen = g.to_vector<double>();
        return Tensor();  // observe only
    });
    const int handle = x.register_hook([](const Tensor& g) { return g * 10.0; });  // leaf: replace
    (h * h).sum().backward();
    BOOST_TEST((seen == std::vector<double>{4, 8}));
    check_values(x.grad(), {80, 160});
    x.remove_hook(handle);
    x.set_grad(Tensor());
    (x * 1.0).sum().backward();
    check_values(x.grad(), {1, 1});
    // A hook registered before an in-place op stays with the value it was registered on, and
    // remove_hook still finds it there.
    x.set_grad(Tensor());
    Tensor y = x * 2.0;
    const int scaled = y.register_hook([](const Tensor& g) { return g * 10.0; });
    y.add_(1.0);
    y.remove_hook(scaled);
    (y * y).sum().backward();
    check_values(x.grad(), {12, 20});  // d(2x + 1)^2 / dx = 4 (2x + 1)
}

namespace {
struct ScaledCube : autograd::Function<ScaledCube> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x, double scale) {
        ctx->save_for_backward({x});
        ctx->saved_data["scale"] = scale;
        return x * x * x * scale;
    }
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const Tensor x = ctx->get_saved_variables()[0];
        return {grads[0] * 3.0 * ctx->saved_data["scale"] * x * x, Tensor()};  // one per argument
    }
};

struct SaveOutput : autograd::Function<SaveOutput> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& x) {
        Tensor y = exp(x);
        ctx->save_for_backward({y});  // an output: stored without a cycle
        return y;
    }
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        return {grads[0] * ctx->get_saved_variables()[0]};
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(custom_functions_compose_with_everything_else) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = ScaledCube::apply(x, 2.0);
    check_values(y, {2, 16});
    (y.sin()).sum().backward();
    check_values(x.grad(), {std::cos(2.0) * 6, std::cos(16.0) * 24}, 1e-12);
    BOOST_TEST(autograd::gradcheck([](const std::vector<Tensor>& a) { return ScaledCube::apply(a[0], 0.5); },
                                   {tensor({0.3, -1.2}, grad64())})
                   .ok);
    BOOST_TEST(autograd::gradgradcheck([](const std::vector<Tensor>& a) { return SaveOutput::apply(a[0]); },
                                       {tensor({0.3, -1.2}, grad64())})
                   .ok);
    const int64_t before = live_node_count();
    { Tensor z = SaveOutput::apply(tensor({1.0}, grad64())); }
    BOOST_TEST(live_node_count() == before);  // no cycle through the saved output
}

BOOST_AUTO_TEST_CASE(in_place_changes_to_saved_tensors_are_detected) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor e = x.exp();  // saves its output
    e.add_(1.0);
    check_error([&] { e.sum().backward(); }, {"exp", "modified by an in-place operation", "version 0", "version 1"});

    // An in-place op that its consumers do not need to remember is fine.
    Tensor y = x * 2.0;
    y.add_(1.0);
    y.mul_(3.0);
    y.sum().backward();
    check_values(x.grad(), {6, 6});

    // Leaves that require grad are guarded; under NoGradGuard (an optimizer step) they are not.
    check_error([&] { x.add_(1.0); }, {"add_", "leaf"});
    {
        NoGradGuard guard;
        x.add_(1.0);
    }
    check_values(x, {2, 3});

    // A view whose base changed after the view was taken is re-taken from the base's new history
    // when next used (as PyTorch regenerates it), so its gradient sees the change.
    x.grad().zero_();
    Tensor base = x * 1.0;
    Tensor row = base.narrow(0, 0, 1);
    base.mul_(2.0);
    row.sum().backward();
    check_values(x.grad(), {2, 0});
}

BOOST_AUTO_TEST_CASE(in_place_writes_into_views_reach_the_viewed_tensors_gradient) {
    // y[0].mul_(3): y becomes "old y with row 0 tripled", so x's gradient is 6 there, 2 elsewhere
    // (as PyTorch's CopySlices), and the view itself is row 0 of the new y.
    Tensor x = tensor({{1.0, 2.0}, {3.0, 4.0}}, grad64());
    Tensor y = x * 2.0;
    Tensor row = y[0];
    row.mul_(3.0);
    check_values(y, {6, 12, 6, 8});
    (y.sum() + row.sum() * 10.0).backward();
    check_values(x.grad(), {66, 66, 2, 2});

    // Writing values that require grad into a buffer that does not: the buffer takes a history.
    Tensor h = tensor({0.5, -1.0}, grad64());
    const Tensor buffer = zeros({3, 2}, kFloat64);
    buffer[1].copy_(h * h);
    buffer.narrow(0, 2, 1).add_(h);
    BOOST_TEST(buffer.requires_grad());
    (buffer * tensor({{1.0, 1.0}, {2.0, 3.0}, {5.0, 7.0}}, kFloat64)).sum().backward();
    check_values(h.grad(), {2 * 2 * 0.5 + 5, 3 * 2 * -1.0 + 7});

    // Gradchecked, float64, over writes through a transposed (strided) view, a view of a view,
    // broadcast operands, and an RNN-style buffer filled step by step; and twice differentiated.
    const auto strided = [](const std::vector<Tensor>& in) {
        Tensor y = in[0] * in[0];
        y.t()[1].mul_(in[1]);                 // column 1 of y, a strided view
        y.narrow(0, 1, 2)[1].add_(in[1][0]);  // row 2 through a view of a view; a 0-d operand broadcasts
        return y;
    };
    const std::vector<Tensor> inputs = {random_tensor({2, 3}, kFloat64, 5).t().requires_grad_(true),
                                        random_tensor({3}, kFloat64, 6).requires_grad_(true)};
    const auto r1 = autograd::gradcheck(strided, inputs, {.raise = false});
    BOOST_TEST(r1.ok, r1.message);
    const auto r2 = autograd::gradgradcheck(strided, inputs, {.raise = false});
    BOOST_TEST(r2.ok, r2.message);
    const auto filled = [](const std::vector<Tensor>& in) {
        Tensor states = zeros({3, 2}, kFloat64);
        Tensor state = zeros({2}, kFloat64);
        for (int64_t t = 0; t < 3; ++t) {
            state = tanh(in[0][t] + state * in[1]);
            states[t].copy_(state);
        }
        return states;
    };
    const std::vector<Tensor> rnn = {random_tensor({3, 2}, kFloat64, 7).requires_grad_(true),
                                     random_tensor({2}, kFloat64, 8).requires_grad_(true)};
    const auto r3 = autograd::gradcheck(filled, rnn, {.raise = false});
    BOOST_TEST(r3.ok, r3.message);
    // The same gradient, to the bit, as building the buffer out of place.
    filled(rnn).sum().backward();
    const Tensor in_place = rnn[0].grad().clone();
    rnn[0].grad().zero_();
    Tensor state = zeros({2}, kFloat64);
    std::vector<Tensor> steps;
    for (int64_t t = 0; t < 3; ++t) steps.push_back(state = tanh(rnn[0][t] + state * rnn[1]));
    stack(steps).sum().backward();
    BOOST_TEST(equal(in_place, rnn[0].grad()));

    // Writes through a view whose tensor changed since the view was taken, through a view taken
    // before another view's write, and into the base with a view of it used after.
    const Tensor w = tensor({{1.0, 2.0}, {3.0, 4.0}}, grad64());
    Tensor z = w * 1.0;
    Tensor first = z[0], second = z[1];
    z.mul_(2.0);
    first.mul_(3.0);              // row 0: 6 w
    second.add_(w[0]);            // row 1: 2 w[1] + w[0]
    const Tensor both = z * 1.0;  // u: rows u0 = 6 w0, u1 = 2 w1 + w0
    z.mul_(both);                 // u squared
    check_values(z, {36, 144, 49, 100});
    // first is row 0 of the squares now: d/dw0 = 72 w0 (z) + 2 u1 (z) + 72 w0 (first) + 6 + 1
    // (both); d/dw1 = 4 u1 + 2.
    (z.sum() + first.sum() + both.sum()).backward();
    check_values(w.grad(), {72 + 14 + 72 + 7, 144 + 20 + 144 + 7, 28 + 2, 40 + 2});

    // A reshape that had to copy (of a transposed tensor) is no view: writing into it leaves y.
    const Tensor m = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, grad64());
    Tensor ym = m * 1.0;
    Tensor copied = ym.t().reshape({6});
    copied.mul_(10.0);
    (ym * m.detach()).sum().backward();
    check_values(m.grad(), {1, 2, 3, 4, 5, 6});
    // Views made under NoGradGuard, and views of them, never follow their base (as PyTorch), and
    // writing into one while recording is refused.
    const Tensor n = tensor({1.0, 2.0, 3.0}, grad64());
    const Tensor yn = n * 2.0;
    Tensor detached_view;
    {
        NoGradGuard guard;
        detached_view = yn.narrow(0, 0, 2);
    }
    BOOST_TEST(!detached_view.unsqueeze(0).requires_grad());
    check_error([&] { detached_view.mul_(n.narrow(0, 0, 2)); }, {"mul_", "NoGradGuard"});
    // retain_grad() follows the new value of a tensor written in place (a re-taken view, or any
    // tensor), as PyTorch; a hook registered on the re-taken view fires; a broadcast view cannot
    // be re-taken.
    Tensor yh = n * 1.0;
    Tensor head = yh.narrow(0, 0, 2);
    head.retain_grad();
    yh.mul_(2.0);
    int fired = 0;
    head.register_hook([&](const Tensor&) {
        ++fired;
        return Tensor();
    });
    (head * 5.0).sum().backward();
    BOOST_TEST(fired == 1);
    check_values(head.grad(), {5, 5});
    // A hook registered with register_hook stays with the value it saw (PyTorch's rule): a read
    // of the view before the base's write sends its gradient through it, the re-taken view not.
    Tensor yo = n * 1.0;
    Tensor early = yo.narrow(0, 0, 2);
    std::vector<double> seen;
    early.register_hook([&](const Tensor& g) {
        seen = g.to_vector<double>();
        return Tensor();
    });
    const Tensor read_before = (early * 2.0).sum();
    yo.mul_(2.0);
    const Tensor read_after = (early * 3.0).sum();
    (read_before + read_after).backward();
    BOOST_TEST((seen == std::vector<double>{2, 2}));
    Tensor written = n * 1.0;
    written.retain_grad();
    written.mul_(3.0);
    (written * 5.0).sum().backward();
    check_values(written.grad(), {5, 5, 5});
    Tensor yb = n * 1.0;
    const Tensor broadcast = yb.expand({2, 3});
    yb.mul_(2.0);
    check_error([&] { broadcast.sum(); }, {"broadcast", "take the view again"});
    // Saved views hold no reference to their base: a graph that reads a row of a buffer it writes
    // into is freed with its tensors (its backward is refused, as PyTorch's, since the row read
    // was overwritten).
    std::weak_ptr<TensorImpl> buffer_impl;
    {
        const Tensor states = zeros({3, 2}, kFloat64);
        buffer_impl = states.impl();
        states[0].copy_(n.narrow(0, 0, 2));
        for (int64_t t = 1; t < 3; ++t) states[t].copy_(tanh(states[t - 1] * n.narrow(0, 1, 2)));
        check_error([&] { states.sum().backward(); }, {"mul", "modified by an in-place operation"});
    }
    BOOST_TEST(buffer_impl.expired());

    // Refused: a view of a leaf that requires grad, as PyTorch, also when that leaf is itself a
    // view of other memory (a parameter made as randn(...).view(...)).
    check_error([&] { x.narrow(0, 0, 1).mul_(2.0); }, {"mul_", "view of a leaf"});
    const Tensor parameter = tensor({1.0, 2.0, 3.0, 4.0}, kFloat64).view({2, 2}).requires_grad_(true);
    check_error([&] { parameter[0].mul_(2.0); }, {"mul_", "view of a leaf"});
    // Unrecorded writes into views work as always.
    {
        NoGradGuard guard;
        x[0].mul_(3.0);
    }
    const Tensor plain = zeros({2, 2}, kFloat64);
    plain[1].copy_(x[1].detach());
    BOOST_TEST(!plain.requires_grad());
    check_values(plain, {0, 0, 3, 4});
}

BOOST_AUTO_TEST_CASE(anomaly_mode_names_the_op_that_produced_nan) {
    Tensor x = tensor({0.0, 1.0}, grad64());
    {
        DetectAnomalyGuard anomaly;
        Tensor y = sqrt(x).sum();  // d sqrt at 0 = inf
        check_error([&] { y.backward(); }, {"anomaly", "sqrt", "NaN or Inf"});
    }
    sqrt(x).sum().backward();  // outside the guard: no check
    BOOST_TEST(std::isinf(x.grad().to_vector<double>()[0]));
}

BOOST_AUTO_TEST_CASE(functional_grad_and_second_derivatives) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = (x * x * x).sum();
    auto g = autograd::grad({y}, {x}, {}, std::nullopt, /*create_graph=*/true);
    check_values(g[0], {3, 12});      // 3x^2
    BOOST_TEST(!x.grad().defined());  // grad() does not touch .grad
    auto h = autograd::grad({g[0].sum()}, {x});
    check_values(h[0], {6, 12});  // 6x
    // Hessian-vector product of f = sum(x^2 * w) with v: H v = 2 w v.
    Tensor w = tensor({3.0, 5.0}, kFloat64);
    Tensor f = (x * x * w).sum();
    Tensor gx = autograd::grad({f}, {x}, {}, std::nullopt, true)[0];
    Tensor v = tensor({1.0, -1.0}, kFloat64);
    check_values(autograd::grad({(gx * v).sum()}, {x})[0], {6, -10});
    Tensor unused = tensor({1.0}, grad64());
    check_error([&] { autograd::grad({(x * 2.0).sum()}, {unused}); }, {"grad", "not used"});
    BOOST_TEST(!autograd::grad({(x * 2.0).sum()}, {unused}, {}, std::nullopt, false, true)[0].defined());
}

BOOST_AUTO_TEST_CASE(grad_runs_only_the_graph_between_outputs_and_inputs) {
    // As PyTorch's exec_info: nodes below the inputs are neither run nor freed, nor hooked.
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = x * 2.0;
    check_values(autograd::grad({y.sum()}, {y})[0], {1, 1});
    check_values(autograd::grad({y.sum()}, {x})[0], {2, 2});  // mul's saved tensors still there
    // A gradient with respect to an intermediate, then a backward through it (Grad-CAM's pattern).
    Tensor h = x.exp();
    int upstream_calls = 0;
    h.register_hook([&](const Tensor&) {
        ++upstream_calls;
        return Tensor();
    });
    Tensor m = h * h;
    check_values(autograd::grad({m.sum()}, {m})[0], {1, 1});
    BOOST_TEST(upstream_calls == 0);
    check_values(autograd::grad({(m * 3.0).sum()}, {h})[0], {6 * std::exp(1.0), 6 * std::exp(2.0)},
                 1e-12);  // captured before h's hook runs
    BOOST_TEST(upstream_calls == 0);
    h.sum().backward();
    BOOST_TEST(upstream_calls == 1);
    check_values(x.grad(), {std::exp(1.0), std::exp(2.0)}, 1e-12);
    // The same input twice gets its gradient twice.
    const auto twice = autograd::grad({(x * 3.0).sum()}, {x, x});
    check_values(twice[0], {3, 3});
    check_values(twice[1], {3, 3});
}

BOOST_AUTO_TEST_CASE(writing_constants_into_a_non_leaf_keeps_its_history) {
    // zero_ or fill_ on an intermediate: it stays a non-leaf, its old history gets zeros (PyTorch).
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = x * 1.0;
    y.zero_();
    BOOST_TEST(!y.is_leaf());
    y.add_(1.0);
    (y * y).sum().backward();
    check_values(x.grad(), {0, 0});
    BOOST_TEST(!y.grad().defined());
    Tensor z = x * 2.0;
    z.fill_(3.0);
    z.copy_(tensor({4.0, 5.0}, kFloat64));
    (z * x).sum().backward();
    check_values(x.grad(), {4, 5});  // only z * x's own factor reaches x
}

BOOST_AUTO_TEST_CASE(hooks_and_gradients_keep_their_shape_and_dtype) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor h = x * 2.0;
    h.register_hook([](const Tensor&) { return ones({2, 2}, kFloat64); });
    check_error([&] { h.sum().backward(); }, {"register_hook", "[2, 2]", "[2]", "shape"});
    Tensor w = tensor({1.0, 2.0}, grad64());
    w.register_hook([](const Tensor& g) { return g.to(kFloat32); });
    check_error([&] { (w * 1.0).sum().backward(); }, {"register_hook", "float32", "float64", "dtype"});
    check_error([&] { x.set_grad(ones({2}, kFloat32)); }, {"set_grad", "float32", "float64"});
    // requires_grad_(true) on a non-leaf asks for what it has: a no-op, as in PyTorch.
    BOOST_TEST((x * 2.0).requires_grad_(true).requires_grad());
    check_error([&] { (x * 2.0).requires_grad_(false); }, {"requires_grad_", "leaf"});
}

namespace {
// Saves nothing; its gradient is [2, 1] for a [1] argument: summed down, as PyTorch does.
struct BroadcastGradient : autograd::Function<BroadcastGradient> {
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x * 2.0; }
    static std::vector<Tensor> backward(autograd::AutogradContext*, std::vector<Tensor> grads) {
        return {grads[0].expand({2, 1})};
    }
};

// Writes into its argument: refused while recording, as it would leave a wrong history.
struct Doubles : autograd::Function<Doubles> {
    static constexpr const char* name = "Doubles";
    static Tensor forward(autograd::AutogradContext*, const Tensor& x) { return x.mul_(2.0); }
    static std::vector<Tensor> backward(autograd::AutogradContext*, std::vector<Tensor> grads) {
        return {grads[0] * 2.0};
    }
};
}  // namespace

BOOST_AUTO_TEST_CASE(custom_functions_backward_twice_and_broadcast_gradients) {
    Tensor x = tensor({1.0, 2.0}, grad64());
    Tensor y = ScaledCube::apply(x, 1.0).sum();
    y.backward();
    check_error([&] { y.backward(); }, {"second time", "retain_graph"});  // not a crash
    Tensor b = tensor({3.0}, grad64());
    Tensor out = BroadcastGradient::apply(b).sum();
    out.backward();
    check_values(b.grad(), {2});
    out.backward();  // nothing was saved: it may run again
    check_values(b.grad(), {4});
    Tensor a = b * 1.0;
    check_error([&] { Doubles::apply(a); }, {"Doubles: forward modified tensor argument 0 in place", "mark_dirty"});
    Tensor plain = tensor({1.0, 2.0}, kFloat64);
    check_values(Doubles::apply(plain), {2, 4});  // nothing recorded: allowed
}

BOOST_AUTO_TEST_CASE(a_thousand_step_chain_does_not_overflow_the_stack) {
    Tensor x = tensor({0.5}, grad64());
    Tensor h = x;
    for (int i = 0; i < 100000; ++i) h = h * 1.0 + 0.0;
    h.sum().backward();
    check_values(x.grad(), {1});
}

BOOST_AUTO_TEST_CASE(graphs_are_freed_when_outputs_go_out_of_scope) {
    const int64_t before = live_node_count();
    Tensor w = randn({8, 4}, grad64());
    Tensor b = zeros({4}, grad64());
    for (int step = 0; step < 1000; ++step) {
        Tensor x = randn({16, 8}, kFloat64);
        Tensor logits = linear(x, w.t(), b).tanh();
        Tensor loss = (logits.log_softmax(1) * -1.0).mean();
        loss.backward();
        NoGradGuard guard;
        w.add_(w.grad() * -0.01);
        w.grad().zero_();
        b.grad().zero_();
    }
    // Only the two leaves' AccumulateGrad nodes may remain, and only while something holds them.
    BOOST_TEST(live_node_count() <= before + 2);
}

BOOST_AUTO_TEST_CASE(gradients_broadcast_back_and_cast_to_input_dtype) {
    Tensor a = ones({3, 1}, grad64());
    Tensor b = ones({4}, TensorOptions(kFloat32).requires_grad(true));
    (a * b.to(kFloat64)).sum().backward();
    BOOST_TEST((a.grad().sizes() == Shape{3, 1}));
    check_values(a.grad(), {4, 4, 4});
    BOOST_TEST(b.grad().dtype() == kFloat32);
    check_values(b.grad(), {3, 3, 3, 3});
}

BOOST_AUTO_TEST_CASE(overlapping_region_views_accumulate_into_one_gradient) {
    // Views of one tensor, overlapping, nested, strided and of a transposed view, each adding its
    // gradient into its region; checked against the same sum of masks worked out directly.
    Tensor x = random_tensor({6, 8}, kFloat64, 3).requires_grad_();
    Tensor xt = x.t();  // [8, 6], a view that is not a region
    Tensor loss = (x.narrow(0, 1, 3) * 2).sum() + (x.slice(1, 0, 8, 2) * 3).sum() + (x.select(0, 2) * 5).sum() +
                  x.narrow(1, 2, 4).narrow(0, 0, 2).sum() + (xt.select(0, 7) * 7).sum() + (xt.slice(1, 1, 6, 3)).sum() +
                  x.sum();
    loss.backward();
    std::vector<double> expected(48, 1.0);
    for (int64_t i = 0; i < 6; ++i)
        for (int64_t j = 0; j < 8; ++j) {
            double& e = expected[i * 8 + j];
            if (i >= 1 && i < 4) e += 2;
            if (j % 2 == 0) e += 3;
            if (i == 2) e += 5;
            if (i < 2 && j >= 2 && j < 6) e += 1;
            if (j == 7) e += 7;
            if (i == 1 || i == 4) e += 1;
        }
    check_values(x.grad(), expected, 0);
}

BOOST_AUTO_TEST_CASE(region_views_give_the_same_gradient_with_and_without_create_graph) {
    // create_graph takes the recorded path (slice_backward nodes); plain backward adds regions in
    // place. Both must agree, also through a hook on a view and with retain_graph.
    Tensor x = random_tensor({5, 4, 3}, kFloat64, 4).requires_grad_();
    Tensor v = x.select(1, 2);
    v.register_hook([](const Tensor& g) { return g * 2; });
    Tensor loss = (v * v).sum() + x.narrow(2, 1, 2).exp().sum() + (x.slice(0, 0, 5, 2) * 3).sum();
    const Tensor recorded = autograd::grad({loss}, {x}, {}, true, true)[0];
    loss.backward();
    check_values(x.grad(), recorded.to_vector<double>(), 1e-12);
}

BOOST_AUTO_TEST_CASE(a_thousand_step_recurrence_reads_its_input_in_linear_traffic) {
    // h_t = tanh(h_{t-1} * w + x[t]): the backward of each x[t] must cost what x[t] covers. Built
    // as before (a zero tensor of all of x per step, then summed), it moved 1,000 times x's size.
    const int64_t T = 1000, N = 64;
    Tensor x = random_tensor({T, N}, kFloat32, 5).requires_grad_();
    Tensor w = random_tensor({N}, kFloat32, 6, 0.1, 0.5).requires_grad_();
    Tensor h = zeros({N});
    for (int64_t t = 0; t < T; ++t) h = tanh(h * w + x.select(0, t));
    Tensor loss = h.sum();
    const auto before = memory::stats().bytes_allocated_total;
    loss.backward();
    const double traffic = static_cast<double>(memory::stats().bytes_allocated_total - before);
    const double x_bytes = static_cast<double>(T * N * sizeof(float));
    BOOST_TEST(traffic < 40 * x_bytes, "backward allocated " << traffic / x_bytes << " times the size of x");
    // The gradient reaches the first step (through 1,000 tanh) and is finite everywhere.
    const std::vector<float> g = x.grad().to_vector<float>();
    BOOST_TEST(std::all_of(g.begin(), g.end(), [](float v) { return std::isfinite(v); }));
    BOOST_TEST(g.back() != 0.0f);
}

BOOST_AUTO_TEST_CASE(post_accumulate_grad_hooks_see_the_finished_gradient) {
    // x is used twice: the hook runs once per backward pass, after both uses are added in.
    Tensor x = tensor({1.0, 2.0}, grad64());
    std::vector<std::vector<double>> seen;
    const int handle = x.register_post_accumulate_grad_hook(
        [&seen](const Tensor& leaf) { seen.push_back(leaf.grad().to_vector<double>()); });
    (x * x + x * 3.0).sum().backward();  // 2x + 3
    (x * 2.0).sum().backward();          // + 2, accumulated
    BOOST_TEST(seen.size() == 2u);
    BOOST_TEST((seen[0] == std::vector<double>{5, 7}));
    BOOST_TEST((seen[1] == std::vector<double>{7, 9}));
    x.remove_hook(handle);
    (x * 2.0).sum().backward();
    BOOST_TEST(seen.size() == 2u);
    // autograd::grad leaves grad() alone, so nothing is accumulated and no hook runs.
    x.register_post_accumulate_grad_hook([&seen](const Tensor&) { seen.push_back({}); });
    autograd::grad({(x * x).sum()}, {x});
    BOOST_TEST(seen.size() == 2u);
    BOOST_CHECK_EXCEPTION(
        (x * 2.0).register_post_accumulate_grad_hook([](const Tensor&) {}), Error, [](const Error& e) {
            return std::string(e.what()).find("only a leaf that requires grad accumulates a gradient") !=
                   std::string::npos;
        });
}

BOOST_AUTO_TEST_CASE(queued_callbacks_run_once_the_pass_is_done_in_order) {
    Tensor a = tensor({1.0}, grad64()), b = tensor({2.0}, grad64());
    std::vector<std::string> events;
    a.register_post_accumulate_grad_hook([&](const Tensor&) {
        events.push_back("a");
        autograd::queue_callback([&] {
            // Every gradient of the pass is in place when callbacks run.
            events.push_back(b.grad().defined() ? "first callback, b done" : "first callback, b missing");
            autograd::queue_callback([&] { events.push_back("queued by a callback"); });
        });
    });
    b.register_post_accumulate_grad_hook([&](const Tensor&) { events.push_back("b"); });
    (a * b).sum().backward();
    BOOST_TEST(events.size() == 4u);
    BOOST_TEST(events[2] == "first callback, b done");
    BOOST_TEST(events[3] == "queued by a callback");
    BOOST_CHECK_EXCEPTION(autograd::queue_callback([] {}), Error, [](const Error& e) {
        return std::string(e.what()).find("queue_callback: no backward pass is running") != std::string::npos;
    });
}

BOOST_AUTO_TEST_SUITE_END()
