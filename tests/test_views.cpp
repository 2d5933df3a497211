// Views share storage and copy nothing; reshape copies only when strides force it.
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

BOOST_AUTO_TEST_SUITE(views)

BOOST_AUTO_TEST_CASE(view_shares_storage_and_reorders_nothing) {
    Tensor x = arange(12, kFloat32);
    Tensor v = x.view({3, 4});
    BOOST_TEST(v.data().storage() == x.data().storage());
    BOOST_TEST((v.sizes() == Shape{3, 4}));
    BOOST_TEST((v.strides() == Shape{4, 1}));
    v.select(0, 1).fill_(-1);
    check_values(x, {0, 1, 2, 3, -1, -1, -1, -1, 8, 9, 10, 11});
    BOOST_TEST((x.view({2, -1}).sizes() == Shape{2, 6}));
}

BOOST_AUTO_TEST_CASE(transpose_and_permute_swap_strides) {
    Tensor x = arange(24, kFloat32).view({2, 3, 4});
    Tensor t = x.transpose(0, 2);
    BOOST_TEST((t.sizes() == Shape{4, 3, 2}));
    BOOST_TEST((t.strides() == Shape{1, 4, 12}));
    BOOST_TEST(!t.is_contiguous());
    Tensor p = x.permute({1, 2, 0});
    BOOST_TEST((p.sizes() == Shape{3, 4, 2}));
    // p[i][j][k] == x[k][i][j]
    for (int64_t i = 0; i < 3; ++i)
        for (int64_t j = 0; j < 4; ++j)
            for (int64_t k = 0; k < 2; ++k) BOOST_TEST(p[i][j][k].item() == x[k][i][j].item());
    check_values(t.contiguous(),
                 {0, 12, 4, 16, 8, 20, 1, 13, 5, 17, 9, 21, 2, 14, 6, 18, 10, 22, 3, 15, 7, 19, 11, 23});
}

BOOST_AUTO_TEST_CASE(flip_reverses_the_chosen_dims_into_a_copy) {
    const Tensor x = tensor({{1.0, 2.0, 3.0}, {4.0, 5.0, 6.0}});
    check_values(x.flip({1}), {3, 2, 1, 6, 5, 4}, 0);
    check_values(flip(x, {0, -1}), {6, 5, 4, 3, 2, 1}, 0);
    check_values(flip(x.t(), {0}), {3, 6, 2, 5, 1, 4}, 0);  // a transposed view
    const Tensor copy = flip(x, {});
    check_values(copy, {1, 2, 3, 4, 5, 6}, 0);
    BOOST_TEST(copy.data_ptr<float>() != x.data_ptr<float>());
    BOOST_TEST(flip(zeros({0, 3}), {0}).sizes() == Shape({0, 3}));
    check_values(x.flip(0), {4, 5, 6, 1, 2, 3}, 0);  // one dim as a plain integer, as in LibTorch
    // A 0-d tensor: a copy, for dim 0 or -1 (as PyTorch).
    BOOST_TEST(flip(scalar_tensor(2.5), {0}).item() == 2.5);
    check_error([] { flip(scalar_tensor(2.5), {1}); }, {"flip", "dim"});
    check_error([&] { flip(x, {1, -1}); }, {"flip", "dim 1", "more than once"});
    check_error([&] { flip(x, {2}); }, {"flip", "dim"});
}

BOOST_AUTO_TEST_CASE(slice_narrow_select_pick_the_right_elements) {
    Tensor x = arange(20, kFloat64).view({4, 5});
    check_values(x.narrow(1, 1, 2), {1, 2, 6, 7, 11, 12, 16, 17});
    check_values(x.slice(1, 0, 5, 2), {0, 2, 4, 5, 7, 9, 10, 12, 14, 15, 17, 19});
    check_values(x.slice(0, -2, 100), {10, 11, 12, 13, 14, 15, 16, 17, 18, 19});
    check_values(x.select(1, -1), {4, 9, 14, 19});
    BOOST_TEST(x.select(0, 2).data().storage() == x.data().storage());
}

BOOST_AUTO_TEST_CASE(squeeze_unsqueeze_expand) {
    Tensor x = arange(3, kFloat32).view({1, 3, 1});
    BOOST_TEST((x.squeeze().sizes() == Shape{3}));
    BOOST_TEST((x.squeeze(0).sizes() == Shape{3, 1}));
    BOOST_TEST((x.squeeze(1).sizes() == Shape{1, 3, 1}));  // size 3: unchanged, as PyTorch
    BOOST_TEST((x.unsqueeze(-1).sizes() == Shape{1, 3, 1, 1}));
    Tensor e = arange(3, kFloat32).view({3, 1}).expand({2, 3, 4});
    BOOST_TEST((e.sizes() == Shape{2, 3, 4}));
    BOOST_TEST((e.strides() == Shape{0, 1, 0}));
    check_values(e.contiguous().select(0, 1).select(1, 3), {0, 1, 2});
}

BOOST_AUTO_TEST_CASE(reshape_copies_only_when_needed) {
    Tensor x = arange(6, kFloat32).view({2, 3});
    BOOST_TEST(x.reshape({3, 2}).data().storage() == x.data().storage());
    Tensor t = x.t();
    Tensor r = t.reshape({6});
    BOOST_TEST(r.data().storage() != x.data().storage());
    check_values(r, {0, 3, 1, 4, 2, 5});
    // A transposed tensor whose dims merge into one run can still be viewed.
    Tensor y = arange(24, kFloat32).view({2, 3, 4}).transpose(0, 1);  // [3, 2, 4]
    BOOST_TEST(y.reshape({3, 8}).data().storage() != y.data().storage());
    BOOST_TEST(y.reshape({3, 2, 2, 2}).data().storage() == y.data().storage());
}

BOOST_AUTO_TEST_CASE(clone_and_contiguous_copy_data) {
    Tensor x = arange(6, kFloat32).view({2, 3});
    Tensor c = x.clone();
    BOOST_TEST(c.data().storage() != x.data().storage());
    BOOST_TEST(x.contiguous().data().storage() == x.data().storage());
    Tensor nc = x.t();
    BOOST_TEST(nc.contiguous().is_contiguous());
}

BOOST_AUTO_TEST_CASE(empty_tensors_have_views_too) {
    Tensor x = zeros({0, 3});
    BOOST_TEST(x.numel() == 0);
    BOOST_TEST((x.t().sizes() == Shape{3, 0}));
    BOOST_TEST((x.reshape({3, 0, 5}).sizes() == Shape{3, 0, 5}));
    BOOST_TEST(x.sum().item() == 0.0);
}

BOOST_AUTO_TEST_CASE(bad_views_name_the_op_and_shapes) {
    Tensor x = arange(6, kFloat32).view({2, 3});
    check_error([&] { x.view({4, 2}); }, {"view", "[4, 2]", "[2, 3]"});
    check_error([&] { x.t().view({6}); }, {"view", "reshape"});
    check_error([&] { x.transpose(0, 2); }, {"transpose", "dimension 2", "out of range"});
    check_error([&] { x.narrow(1, 2, 2); }, {"narrow", "out of bounds"});
    check_error([&] { x.select(0, 5); }, {"select", "index 5"});
    check_error([&] { x.expand({4, 3, 2}); }, {"expand", "[2, 3]", "[4, 3, 2]"});
    check_error([&] { x.permute({0, 0}); }, {"permute", "repeats"});
    check_error([&] { x.view({-1, -1}); }, {"view", "-1"});
}

BOOST_AUTO_TEST_SUITE_END()
