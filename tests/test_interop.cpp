// xtensor interop: copies both ways, zero-copy adaption, and xtensor views of strided tensors.
#include <xtensor/xmath.hpp>

#include <xgrad/tensor/xtensor_interop.hpp>
#include "helpers.hpp"

using namespace xgrad;
using namespace xgrad::test;

BOOST_AUTO_TEST_SUITE(interop)

BOOST_AUTO_TEST_CASE(xarray_round_trip) {
    xt::xarray<double> a = {{1, 2, 3}, {4, 5, 6}};
    Tensor t(from_xarray(a));
    BOOST_TEST(t.dtype() == kFloat64);
    BOOST_TEST((t.sizes() == Shape{2, 3}));
    check_values(t, {1, 2, 3, 4, 5, 6});
    xt::xarray<double> back = to_xarray<double>(t.t().data());
    BOOST_TEST((back == xt::xarray<double>{{1, 4}, {2, 5}, {3, 6}}));
}

BOOST_AUTO_TEST_CASE(adapt_shares_memory) {
    xt::xarray<float> a = {{1, 2}, {3, 4}};
    Tensor t(adapt(a));
    t.mul_(10.0);
    BOOST_TEST(a(1, 1) == 40.0f);
}

BOOST_AUTO_TEST_CASE(as_xtensor_views_strided_tensors) {
    Tensor x = arange(12, kFloat32).view({3, 4});
    auto v = as_xtensor<float>(x.t().data());
    BOOST_TEST(v.shape()[0] == 4u);
    BOOST_TEST(v(1, 2) == 9.0f);  // x[2][1]
    BOOST_TEST(xt::sum(v)() == 66.0f);
}

BOOST_AUTO_TEST_SUITE_END()
