// Joining and indexing ops, with the bounds checks that keep bad indices from writing anywhere.
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

BOOST_AUTO_TEST_SUITE(indexing)

BOOST_AUTO_TEST_CASE(cat_and_stack) {
    Tensor a = tensor({{1, 2}, {3, 4}}), b = tensor({{5, 6}});
    check_values(cat({a, b}, 0), {1, 2, 3, 4, 5, 6});
    check_values(cat({a, a.t()}, 1), {1, 2, 1, 3, 3, 4, 2, 4});
    Tensor s = stack({a, a}, 1);
    BOOST_TEST((s.sizes() == Shape{2, 2, 2}));
    check_values(s, {1, 2, 1, 2, 3, 4, 3, 4});
    BOOST_TEST(cat({a, a.to(kFloat64)}).dtype() == kFloat64);
    check_error([&] { cat({a, b}, 1); }, {"cat", "[1, 2]", "[2, 2]"});
    check_error([&] { stack({a, b}); }, {"stack", "[1, 2]"});
    check_error([] { cat({}, 0); }, {"cat", "non-empty"});

    // PyTorch's legacy rule: a 1-D tensor with no elements joins any rank and adds only its dtype;
    // a 2-D empty one is an ordinary input.
    const Tensor nothing = zeros({0}, kFloat64).requires_grad_();
    const Tensor rows = ones({2, 3}).requires_grad_();
    const Tensor joined = cat({nothing, rows});
    BOOST_TEST((joined.sizes() == Shape{2, 3}));
    BOOST_TEST(joined.dtype() == kFloat64);
    BOOST_TEST((cat({rows, zeros({0})}, 1).sizes() == Shape{2, 3}));
    BOOST_TEST((cat({zeros({0}), zeros({0})}).sizes() == Shape{0}));
    BOOST_TEST((cat({zeros({0}), zeros({0}, kInt64)}, 1).sizes() == Shape{0}));  // any dim when all are
    BOOST_TEST((cat({nothing}, -2).sizes() == Shape{0}));
    BOOST_TEST((cat({zeros({0, 3}), rows}).sizes() == Shape{2, 3}));
    check_error([&] { cat({zeros({0, 4}), rows}); }, {"cat", "[2, 3]", "[0, 4]"});
    check_error([&] { cat({nothing, rows}, 2); }, {"cat", "2"});
    joined.sum().backward();
    BOOST_TEST((nothing.grad().sizes() == Shape{0}));
    check_values(rows.grad(), std::vector<double>(6, 1.0));
}

BOOST_AUTO_TEST_CASE(split_and_chunk_are_views) {
    Tensor x = arange(10, kFloat32);
    auto parts = split(x, 4);
    BOOST_TEST(parts.size() == 3u);
    check_values(parts[2], {8, 9});
    BOOST_TEST(parts[1].data().storage() == x.data().storage());
    auto chunks = chunk(arange(12, kFloat32).view({2, 6}), 4, 1);  // ceil(6/4) = 2 each
    BOOST_TEST(chunks.size() == 3u);
    check_values(chunks[1], {2, 3, 8, 9});
    auto sized = split_with_sizes(x, {3, 7});
    check_values(sized[0], {0, 1, 2});
    check_error([&] { split_with_sizes(x, {3, 3}); }, {"split", "add up to 6"});
    auto columns = unbind(arange(6, kFloat32).view({2, 3}), 1);
    BOOST_TEST(columns.size() == 3u);
    check_values(columns[2], {2, 5});
    BOOST_TEST((columns[0].sizes() == Shape{2}));
    check_error([&] { unbind(x, 1); }, {"unbind", "dimension 1"});
    check_error([] { unbind(zeros({})); }, {"unbind", "0-d"});
}

BOOST_AUTO_TEST_CASE(index_select_picks_rows) {
    Tensor table = arange(12, kFloat32).view({4, 3});
    check_values(index_select(table, 0, tensor({3, 0, 3}, kInt64)), {9, 10, 11, 0, 1, 2, 9, 10, 11});
    check_values(index_select(table, 1, tensor({2, 0}, kInt64)), {2, 0, 5, 3, 8, 6, 11, 9});
    check_values(index_select(table.t(), 0, tensor({1}, kInt64)), {1, 4, 7, 10});
    check_values(index_add(zeros({3}), 0, tensor({0, 2, 0}, kInt64), tensor({1, 2, 3})), {4, 0, 2});
    check_error([&] { index_select(table, 0, tensor({4}, kInt64)); }, {"index_select", "index 4", "size 4"});
    // As in PyTorch, no negative indices here (x.index({idx}) takes them, counting from the end).
    check_error([&] { index_select(table, 0, tensor({-1}, kInt64)); }, {"index_select", "index -1", "size 4"});
    check_error([&] { index_add(zeros({4}), 0, tensor({-1}, kInt64), ones({1})); }, {"index_add", "index -1"});
    check_error([&] { index_select(table, 0, tensor({1.0})); }, {"index_select", "int64"});
}

BOOST_AUTO_TEST_CASE(gather_and_scatter_add_are_adjoint) {
    Tensor x = tensor({{1, 2, 3}, {4, 5, 6}});
    Tensor idx = tensor({{2, 0}, {1, 1}}, kInt64);
    check_values(gather(x, 1, idx), {3, 1, 5, 5});
    check_values(gather(x, 0, tensor({{1, 0, 1}}, kInt64)), {4, 2, 6});
    Tensor out = scatter_add(zeros({2, 3}), 1, idx, tensor({{10, 20}, {30, 40}}));
    check_values(out, {20, 0, 10, 0, 70, 0});
    check_error([&] { gather(x, 1, full({1, 1}, 3, kInt64)); }, {"gather", "index 3", "size 3"});
    check_error([&] { gather(x, 1, full({1, 1}, -1, kInt64)); }, {"gather", "index -1", "size 3"});
    check_error([&] { gather(x, 1, tensor({1}, kInt64)); }, {"gather", "ranks must match"});
    check_error([&] { scatter_add(zeros({2, 3}), 1, idx, ones({1, 1})); }, {"scatter_add", "source"});
}

BOOST_AUTO_TEST_CASE(one_hot_encodes_classes) {
    Tensor h = one_hot(tensor({2, 0}, kInt64), 3);
    BOOST_TEST((h.sizes() == Shape{2, 3}));
    check_values(h, {0, 0, 1, 1, 0, 0});
    BOOST_TEST((one_hot(tensor({1, 3}, kInt64)).sizes() == Shape{2, 4}));
    check_error([] { one_hot(tensor({3}, kInt64), 3); }, {"one_hot", "index 3"});
}

// ---- Tensor::index and index_put_ (LibTorch's torch::indexing) --------------------------------
// Shapes and values below were derived by hand from Python's rules and agree with PyTorch 1.13.

BOOST_AUTO_TEST_CASE(index_with_integers_slices_none_and_ellipsis_gives_views) {
    using namespace xgrad::indexing;
    const Tensor x = arange(24, kFloat32).reshape({2, 3, 4});
    const Tensor column = x.index({Slice(), 1});  // x[:, 1]
    BOOST_TEST((column.sizes() == Shape{2, 4}));
    check_values(column, {4, 5, 6, 7, 16, 17, 18, 19});
    BOOST_TEST(column.data().storage() == x.data().storage());
    check_values(x.index({Slice(None, None, 2), Slice(-2), Slice(None, -1, 2)}), {4, 6, 8, 10});  // x[::2, -2:, :-1:2]
    BOOST_TEST((x.index({Ellipsis, None}).sizes() == Shape{2, 3, 4, 1}));
    check_values(x.index({0, "...", 1}), {1, 5, 9});  // x[0, ..., 1]
    BOOST_TEST((x.index({None, 1, None}).sizes() == Shape{1, 1, 3, 4}));
    check_values(x.index({-1, -1, -1}), {23});
    BOOST_TEST(x.index({1, 2, 3}).dim() == 0);
    BOOST_TEST((x.index({Slice(5, 9)}).sizes() == Shape{0, 3, 4}));  // bounds past the end are clamped
    const Tensor whole = x.index({});
    BOOST_TEST((whole.sizes() == x.sizes()));
    BOOST_TEST(whole.data().storage() == x.data().storage());
    // Writing through an index view reaches x, as x[:, 1] = 0 does.
    Tensor y = x.clone();
    y.index({Slice(), 1}).fill_(0);
    check_values(y.index({Slice(), 1}), std::vector<double>(8, 0.0));
    check_values(y.index({Slice(), 0, 0}), {0, 12});
}

BOOST_AUTO_TEST_CASE(index_with_tensors_picks_places_as_pytorch) {
    using namespace xgrad::indexing;
    const Tensor x = arange(24, kFloat32).reshape({2, 3, 4});
    const Tensor i = tensor({0, 2}, kInt64), j = tensor({1, 3}, kInt64);
    // Adjacent advanced indices: their broadcast shape stands where they stood.
    const Tensor pairs = x.index({Slice(), i, j});  // x[:, i, j]
    BOOST_TEST((pairs.sizes() == Shape{2, 2}));
    check_values(pairs, {1, 11, 13, 23});
    BOOST_TEST(pairs.data().storage() != x.data().storage());
    // Separated by a slice: in front.
    const Tensor apart = x.index({tensor({1, 0}, kInt64), Slice(), j});  // x[[1, 0], :, j]
    BOOST_TEST((apart.sizes() == Shape{2, 3}));
    check_values(apart, {13, 17, 21, 3, 7, 11});
    // Broadcast against each other: [2, 1] and [2] give [2, 2].
    check_values(x.index({0, tensor({{0}, {2}}, kInt64), j}), {1, 3, 9, 11});
    BOOST_TEST((x.index({Slice(), tensor({0, 2}, kInt64), Slice(1, 3)}).sizes() == Shape{2, 2, 2}));
    BOOST_TEST((x.index({Slice(), scalar_tensor(1, kInt64)}).sizes() == Shape{2, 4}));
    check_values(x.index({tensor({-1}, kInt64), 0, 0}), {12});  // negative indices wrap
    // A 0-d int64 tensor indexes as the integer it holds (x[tensor(0), :, [0, 2]] is [3, 2]).
    const Tensor zero_d = x.index({scalar_tensor(0, kInt64), Slice(), tensor({0, 2}, kInt64)});
    BOOST_TEST((zero_d.sizes() == Shape{3, 2}));
    check_values(zero_d, {0, 2, 4, 6, 8, 10});
    // Bool masks: the places of their true elements.
    const Tensor big = x.index({x > 20.0});
    check_values(big, {21, 22, 23});
    check_values(x.index({Slice(), tensor({1, 0, 1}, kBool), 0}), {0, 8, 12, 20});
    // Bools: a dimension of 1 (true) or 0 (false), as advanced indices.
    BOOST_TEST((x.index({true}).sizes() == Shape{1, 2, 3, 4}));
    BOOST_TEST((x.index({false}).sizes() == Shape{0, 2, 3, 4}));
    BOOST_TEST((x.index({1, true, i}).sizes() == Shape{2, 4}));
    BOOST_TEST((x.index({scalar_tensor(1, kBool)}).sizes() == Shape{1, 2, 3, 4}));
    // Of a non-contiguous tensor (a transpose): the same places as of its contiguous copy.
    const Tensor t = x.transpose(0, 2);
    BOOST_TEST(equal(t.index({j, i}), t.contiguous().index({j, i})));
}

BOOST_AUTO_TEST_CASE(index_put_writes_and_accumulates_in_place) {
    using namespace xgrad::indexing;
    Tensor z = zeros({2, 3});
    z.index_put_({Slice(), tensor({0, 2}, kInt64)}, tensor({7.f, 8.f}));  // z[:, [0, 2]] = [7, 8]
    check_values(z, {7, 0, 8, 7, 0, 8});
    z.index_put_({z > 7.5}, -1.0);  // z[z > 7.5] = -1
    check_values(z, {7, 0, -1, 7, 0, -1});
    Tensor sums = zeros({5});
    sums.index_put_({tensor({1, 1, 3}, kInt64)}, scalar_tensor(2.0), true);  // repeats add up
    check_values(sums, {0, 4, 0, 2, 0});
    // Into a non-contiguous tensor, through its strides.
    Tensor t = arange(12, kFloat32).reshape({3, 4}).t();
    t.index_put_({Slice(1, 3), 0}, -1.0);
    check_values(t.contiguous(), {0, 4, 8, -1, 5, 9, -1, 6, 10, 3, 7, 11});
    // Values read from the tensor written to are read before any write (a shift, not a smear).
    Tensor shift = arange(5, kFloat32);
    shift.index_put_({Slice(1, None)}, shift.index({Slice(None, -1)}));
    check_values(shift, {0, 0, 1, 2, 3});
    // int64 and bool tensors too.
    Tensor counts = zeros({3}, kInt64);
    counts.index_put_({tensor({2, 2, 0}, kInt64)}, scalar_tensor(1, kInt64), true);
    check_values(counts, {1, 0, 2});
    Tensor flags = zeros({3}, kBool);
    flags.index_put_({tensor({1}, kInt64)}, 1.0);
    check_values(flags, {0, 1, 0});
    // As x[...] = v: leading size-1 dimensions of the values are dropped, and the values are
    // converted where PyTorch converts (basic indices only; one bool mask with a 0-d value).
    Tensor w = zeros({2, 3, 4});
    w.index_put_({tensor({0, 1}, kInt64), 0}, full({1, 2, 4}, -1.0));
    check_values(w.index({Slice(), 0}), std::vector<double>(8, -1.0));
    w.index_put_({1, 2, 3}, tensor({{7.0}}));
    check_values(w.index({1, 2, 3}), {7});
    w.index_put_({0, 1}, tensor({1, 2, 3, 4}, kInt64));
    check_values(w.index({0, 1}), {1, 2, 3, 4});
    w.index_put_({w > 6.5}, scalar_tensor(9, kInt64));
    check_values(w.index({1, 2, 3}), {9});
    w.index_put_({1, Slice(), tensor({1, 0, 0, 1}, kBool)}, full({1}, 5, kInt64));  // one mask, one value
    check_values(w.index({1, 0}), {5, -1, -1, 5});
    Tensor v4 = zeros({4});
    v4.index_put_({true}, tensor({1, 2, 3, 4}, kInt64));  // a lone bool: a copy
    check_values(v4, {1, 2, 3, 4});
    check_error(
        [&] {
            v4.index_put_({tensor({true, false, true, false}, kBool)}, tensor({1, 2}, kInt64));
        },
        {"index_put_", "int64", "float32"});
    // Each call bumps the version, as any in-place op.
    const auto before = z.data().version();
    z.index_put_({0}, 3.0);
    BOOST_TEST(z.data().version() > before);
}

BOOST_AUTO_TEST_CASE(index_put_differentiates_through_the_graph) {
    using namespace xgrad::indexing;
    const Tensor base = arange(6, kFloat64).reshape({2, 3}).requires_grad_();
    const Tensor values = tensor({10.0, 20.0}, kFloat64).requires_grad_();
    Tensor y = base * 1.0;
    y.index_put_({Slice(), 1}, values);  // y[:, 1] = values
    (y * tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}}, kFloat64)).sum().backward();
    check_values(base.grad(), {1, 0, 3, 4, 0, 6});  // the written places get nothing
    check_values(values.grad(), {2, 5});
    // Accumulating: the tensor keeps all of its gradient; a broadcast value gets the sum of its places.
    const Tensor b2 = zeros({4}, kFloat64).requires_grad_();
    const Tensor v2 = scalar_tensor(1.0, kFloat64).requires_grad_();
    Tensor y2 = b2 * 1.0;
    y2.index_put_({tensor({0, 0, 3}, kInt64)}, v2, true);
    (y2 * tensor({1.0, 2.0, 3.0, 4.0}, kFloat64)).sum().backward();
    check_values(b2.grad(), {1, 2, 3, 4});
    check_values(v2.grad(), {6});  // 1 + 1 + 4
    // A leaf that requires grad cannot be written in place while recording, as in PyTorch.
    check_error([&] { base.index_put_({0}, 1.0); }, {"index_put_", "leaf"});
    {
        NoGradGuard no_grad;
        Tensor leaf = zeros({2}, kFloat64).requires_grad_();
        leaf.index_put_({1}, 5.0);
        check_values(leaf, {0, 5});
    }
}

BOOST_AUTO_TEST_CASE(index_errors_name_the_op_and_the_shapes) {
    using namespace xgrad::indexing;
    const Tensor x = arange(24, kFloat32).reshape({2, 3, 4});
    check_error([&] { x.index({0, 0, 0, 0}); }, {"index", "too many indices", "[2, 3, 4]"});
    check_error([&] { x.index({0, 3}); }, {"index", "index 3", "dimension 1", "size 3"});
    check_error([&] { x.index({tensor({5}, kInt64)}); }, {"index", "index 5", "dimension 0", "size 2"});
    check_error([&] { x.index({tensor({-3}, kInt64)}); }, {"index", "index -3"});
    check_error([&] { x.index({tensor({0.0})}); }, {"index", "int64 or bool", "float32"});
    check_error([&] { x.index({Slice(), ones({2, 4}, kBool)}); }, {"index", "mask", "[2, 4]", "dimension 1", "size 3"});
    check_error([&] { x.index({Ellipsis, 0, "..."}); }, {"index", "one Ellipsis"});
    check_error([&] { x.index({"..x"}); }, {"TensorIndex", "..x"});
    check_error([] { xgrad::indexing::Slice(0, 4, 0); }, {"Slice", "step", "0"});
    check_error([] { xgrad::indexing::Slice(0, 4, -1); }, {"Slice", "step", "-1"});
    check_error(
        [&] {
            x.index({tensor({0, 1}, kInt64), Slice(), tensor({0, 1, 2}, kInt64)});
        },
        {"index", "[2]", "[3]"});
    Tensor y = x.clone();
    check_error([&] { y.index_put_({0}, zeros({5})); }, {"index_put_", "values of shape [5]", "indexed shape [3, 4]"});
    check_error([&] { y.index_put_({tensor({0}, kInt64)}, zeros({4}, kFloat64)); },
                {"index_put_", "float64", "float32"});
    check_error([&] { index_put(y, {0, tensor({1}, kInt64)}, zeros({4}, kInt64)); }, {"index_put", "int64", "float32"});
    {  // recording: the error still names the method called
        const Tensor w = ones({2, 3}, kFloat64).requires_grad_();
        Tensor h = w * 1.0;
        check_error([&] { h.index_put_({tensor({9}, kInt64)}, 1.0); }, {"index_put_:", "index 9"});
    }
    check_error([&] { y.index_put_({tensor({2}, kInt64)}, 0.0); }, {"index_put_", "index 2", "size 2"});
    BOOST_TEST(equal(y, x));  // nothing written by the failed calls
    // Through tensor indices, a broadcast view is not written (its elements share memory).
    Tensor wide = zeros({3}).expand({2, 3});
    check_error([&] { wide.index_put_({tensor({0}, kInt64)}, 1.0); }, {"index_put_", "broadcast"});
}

BOOST_AUTO_TEST_SUITE_END()
