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
    check_values(index_select(table, 1, tensor({2, -3}, kInt64)), {2, 0, 5, 3, 8, 6, 11, 9});
    check_values(index_select(table.t(), 0, tensor({1}, kInt64)), {1, 4, 7, 10});
    check_values(index_add(zeros({3}), 0, tensor({0, 2, 0}, kInt64), tensor({1, 2, 3})), {4, 0, 2});
    check_error([&] { index_select(table, 0, tensor({4}, kInt64)); }, {"index_select", "index 4", "size 4"});
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

BOOST_AUTO_TEST_SUITE_END()
