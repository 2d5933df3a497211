#include <xgrad/nn/upsample.hpp>

#include <cmath>
#include <string>

#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {
namespace {

const char* mode_name(InterpolateMode mode) {
    switch (mode) {
        case InterpolateMode::nearest:
            return "nearest";
        case InterpolateMode::linear:
            return "linear";
        case InterpolateMode::bilinear:
            return "bilinear";
    }
    return "?";
}

// The option given once or per spatial dim, as a value for spatial dim i.
template <class T>
T per_dim(const std::vector<T>& values, std::size_t i) {
    return values.size() == 1 ? values[0] : values[i];
}

// One spatial dim of x resized to `out` positions, with the arithmetic of PyTorch 1.13's CPU
// kernels, so that the same source positions are read:
//  - nearest: the scale in float (in / out, or 1 / factor), floorf(o * scale); the same size is a
//    copy and twice the size o / 2.
//  - linear: the source coordinate scale (o + 1/2) - 1/2 in double, rounded once to the tensor's
//    precision S (opmath), clamped at 0; align_corners: scale o with scale (in - 1) / (out - 1).
//    The same size is a copy.
template <class S>
Tensor resize_dim(const Tensor& x, int64_t dim, int64_t out, std::optional<double> factor, InterpolateMode mode,
                  bool align_corners) {
    const int64_t in = x.size(dim);
    if (out == in) return x;
    if (mode == InterpolateMode::nearest) {
        const float scale =
            factor ? static_cast<float>(1.0 / *factor) : static_cast<float>(in) / static_cast<float>(out);
        std::vector<int64_t> index(static_cast<std::size_t>(out));
        for (int64_t o = 0; o < out; ++o)
            index[static_cast<std::size_t>(o)] =
                out == 2 * in
                    ? o >> 1
                    : std::min<int64_t>(static_cast<int64_t>(std::floor(static_cast<float>(o) * scale)), in - 1);
        return index_select(x, dim, from_vector(index, {out}));
    }
    S scale;
    if (align_corners)
        scale = out > 1 ? static_cast<S>(in - 1) / static_cast<S>(out - 1) : S(0);
    else
        scale = factor ? static_cast<S>(1.0 / *factor) : static_cast<S>(in) / static_cast<S>(out);
    std::vector<int64_t> lower(static_cast<std::size_t>(out)), upper(static_cast<std::size_t>(out));
    std::vector<double> weight(static_cast<std::size_t>(out));
    for (int64_t o = 0; o < out; ++o) {
        S source;
        if (align_corners) {
            source = scale * static_cast<S>(o);
        } else {
            source = static_cast<S>(static_cast<double>(scale) * (static_cast<double>(o) + 0.5) - 0.5);
            if (source < 0) source = 0;
        }
        const int64_t i0 = std::min<int64_t>(static_cast<int64_t>(source), in - 1);
        const auto k = static_cast<std::size_t>(o);
        lower[k] = i0;
        upper[k] = i0 + (i0 < in - 1 ? 1 : 0);
        weight[k] = static_cast<double>(std::min<S>(std::max<S>(source - static_cast<S>(i0), S(0)), S(1)));
    }
    Shape along(static_cast<std::size_t>(x.dim()), 1);
    along[static_cast<std::size_t>(dim)] = out;
    const Tensor w1 = from_vector(weight, along, x.dtype());
    const Tensor w0 = 1.0 - w1;
    return index_select(x, dim, from_vector(lower, {out})) * w0 + index_select(x, dim, from_vector(upper, {out})) * w1;
}

}  // namespace

namespace functional {

Tensor interpolate(const Tensor& x, const InterpolateOptions& options) {
    XGRAD_CHECK(x.dim() == 3 || x.dim() == 4, "interpolate: expected input [N, C, L] or [N, C, H, W], got shape ",
                x.sizes());
    XGRAD_CHECK(x.is_floating_point(), "interpolate: expected a floating-point input, got ", x.dtype());
    const std::size_t spatial = static_cast<std::size_t>(x.dim() - 2);
    const InterpolateMode mode = options.mode;
    XGRAD_CHECK(mode == InterpolateMode::nearest || (mode == InterpolateMode::linear) == (spatial == 1),
                "interpolate: mode '", mode_name(mode), "' does not apply to input of shape ", x.sizes(),
                " (linear is for [N, C, L], bilinear for [N, C, H, W])");
    XGRAD_CHECK(!options.align_corners || mode != InterpolateMode::nearest,
                "interpolate: align_corners applies to the linear modes only, not to 'nearest'");
    XGRAD_CHECK(options.size.has_value() != options.scale_factor.has_value(),
                "interpolate: give exactly one of size and scale_factor");
    std::vector<int64_t> out(spatial);
    std::vector<std::optional<double>> factors(spatial);
    if (options.size) {
        const auto& size = *options.size;
        XGRAD_CHECK(size.size() == 1 || size.size() == spatial, "interpolate: size has ", size.size(), " entries for ",
                    spatial, " spatial dims of input ", x.sizes());
        for (std::size_t i = 0; i < spatial; ++i) {
            out[i] = per_dim(size, i);
            XGRAD_CHECK(out[i] > 0, "interpolate: output sizes must be positive, got ", out[i]);
        }
    } else {
        const auto& scale = *options.scale_factor;
        XGRAD_CHECK(scale.size() == 1 || scale.size() == spatial, "interpolate: scale_factor has ", scale.size(),
                    " entries for ", spatial, " spatial dims of input ", x.sizes());
        for (std::size_t i = 0; i < spatial; ++i) {
            const double f = per_dim(scale, i);
            const double size = std::floor(static_cast<double>(x.size(static_cast<int64_t>(i) + 2)) * f);
            XGRAD_CHECK(std::isfinite(f) && f > 0 && size >= 1 && size < 9.2e18, "interpolate: scale_factor ", f,
                        " does not give a positive output size for input ", x.sizes());
            out[i] = static_cast<int64_t>(size);
            factors[i] = f;
        }
    }
    for (std::size_t i = 0; i < spatial; ++i)
        XGRAD_CHECK(x.size(static_cast<int64_t>(i) + 2) > 0, "interpolate: input ", x.sizes(),
                    " has an empty spatial dim");
    Shape out_sizes{x.size(0), x.size(1)};
    for (int64_t size : out) out_sizes.push_back(size);
    // Nothing to resize, however large the output: an empty result that stays in the graph.
    if (x.size(0) == 0 || x.size(1) == 0) {
        Dims spatial_dims;
        for (std::size_t i = 0; i < spatial; ++i) spatial_dims.push_back(static_cast<int64_t>(i) + 2);
        return sum(x, spatial_dims, true).expand(out_sizes);
    }
    // The output's memory is claimed first: a size beyond int64 or memory is an error here, not
    // index tables of billions of entries.
    NDArray::empty(out_sizes, x.dtype(), "interpolate");
    const bool align = options.align_corners.value_or(false);
    Tensor y = x;
    for (std::size_t i = 0; i < spatial; ++i) {
        const int64_t dim = static_cast<int64_t>(i) + 2;
        y = x.dtype() == kFloat32 ? resize_dim<float>(y, dim, out[i], factors[i], mode, align)
                                  : resize_dim<double>(y, dim, out[i], factors[i], mode, align);
    }
    return y;
}

}  // namespace functional

}  // namespace xgrad::nn
