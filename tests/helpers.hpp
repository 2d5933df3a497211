#pragma once
// Shared test helpers: random inputs, non-contiguous views, and reference loops that the kernels
// are checked against.

#include <boost/test/unit_test.hpp>

#include <unistd.h>

#include <cmath>
#include <filesystem>
#include <functional>
#include <vector>

#include <xgrad/xgrad.hpp>

namespace xgrad::test {

/// Uniform values in [low, high), from a fixed seed.
inline Tensor random_tensor(const Shape& sizes, DType dtype = kFloat32, uint64_t seed = 1, double low = -2.0,
                            double high = 2.0) {
    Generator gen(seed);
    return uniform(sizes, low, high, dtype, &gen);
}

/// A path in a scratch folder of this test run.
inline std::filesystem::path scratch(const std::string& name) {
    const auto dir = std::filesystem::temp_directory_path() / ("xgrad_test_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    return dir / name;
}

/// Same shape and values as t, but laid out non-contiguously (a transposed or strided view).
inline Tensor noncontiguous(const Tensor& t) {
    if (t.dim() >= 2) {
        Shape perm;
        for (int64_t d = t.dim() - 1; d >= 0; --d) perm.push_back(d);
        Tensor base = t.permute(perm).contiguous().detach();  // reversed dims, contiguous
        Tensor view = base.permute(perm);                     // original shape, reversed strides
        return view;
    }
    if (t.dim() == 1) {
        Tensor doubled = zeros({t.size(0) * 2}, t.dtype());
        doubled.slice(0, 0, 2 * t.size(0), 2).copy_(t);
        return doubled.slice(0, 0, 2 * t.size(0), 2);
    }
    return t;
}

/// Row-major multi-index of flat position i.
inline Shape unravel(int64_t i, const Shape& sizes) {
    Shape idx(sizes.size(), 0);
    for (std::size_t d = sizes.size(); d-- > 0;) {
        idx[d] = i % sizes[d];
        i /= sizes[d];
    }
    return idx;
}

/// Flat position in a (row-major, contiguous) tensor of `sizes` of an index into a broadcast
/// shape (size-1 dims pinned to 0, missing leading dims dropped).
inline int64_t broadcast_position(const Shape& index, const Shape& sizes) {
    const std::size_t lead = index.size() - sizes.size();
    int64_t pos = 0;
    for (std::size_t d = 0; d < sizes.size(); ++d) pos = pos * sizes[d] + (sizes[d] == 1 ? 0 : index[lead + d]);
    return pos;
}

/// The reference for a broadcasting binary op: a plain loop over the output in double.
inline std::vector<double> reference_binary(const Tensor& a, const Tensor& b,
                                            const std::function<double(double, double)>& f) {
    const Shape out = broadcast_shapes(a.sizes(), b.sizes(), "reference");
    const std::vector<double> x = a.to_vector<double>(), y = b.to_vector<double>();
    std::vector<double> r(static_cast<std::size_t>(shape_numel(out)));
    for (std::size_t i = 0; i < r.size(); ++i) {
        const Shape idx = unravel(static_cast<int64_t>(i), out);
        r[i] = f(x[broadcast_position(idx, a.sizes())], y[broadcast_position(idx, b.sizes())]);
    }
    return r;
}

/// Every element of actual within tol (relative to max(1, |expected|)) of expected.
inline void check_values(const Tensor& actual, const std::vector<double>& expected, double tol = 1e-5) {
    const std::vector<double> got = actual.to_vector<double>();
    BOOST_TEST_REQUIRE(got.size() == expected.size());
    for (std::size_t i = 0; i < got.size(); ++i) {
        const bool both_nan = std::isnan(got[i]) && std::isnan(expected[i]);
        const bool close =
            got[i] == expected[i] || std::abs(got[i] - expected[i]) <= tol * std::max(1.0, std::abs(expected[i]));
        BOOST_TEST((both_nan || close), "element " << i << ": got " << got[i] << ", expected " << expected[i]);
    }
}

/// Runs fn and checks that it throws xgrad::Error whose message contains every fragment.
template <class F>
void check_error(F&& fn, const std::vector<std::string>& fragments) {
    try {
        fn();
        BOOST_ERROR("expected xgrad::Error, nothing was thrown");
    } catch (const Error& e) {
        const std::string message = e.what();
        for (const std::string& f : fragments)
            BOOST_TEST(message.find(f) != std::string::npos, "message \"" << message << "\" lacks \"" << f << "\"");
    }
}

}  // namespace xgrad::test
