#pragma once
/// Resizing feature maps: F::interpolate and the Upsample module, as in PyTorch, for [N, C, L]
/// (modes nearest and linear) and [N, C, H, W] (nearest and bilinear). Each output position reads
/// input positions through index_select (and mixes two of them with fixed weights for the linear
/// modes), so the gradient follows by the chain rule: each input position receives the gradients
/// of the outputs that read it.

#include <optional>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

enum class InterpolateMode { nearest, linear, bilinear };
inline constexpr InterpolateMode kNearest = InterpolateMode::nearest;
inline constexpr InterpolateMode kLinear = InterpolateMode::linear;
inline constexpr InterpolateMode kBilinear = InterpolateMode::bilinear;

struct InterpolateOptions {
    /// The output's spatial sizes (one per spatial dim, or one for all); or else
    std::optional<std::vector<int64_t>> size;
    /// the factors the spatial sizes are multiplied by (rounded down). With a factor the source
    /// coordinates are computed from the factor itself, as PyTorch does by default.
    std::optional<std::vector<double>> scale_factor;
    InterpolateMode mode = InterpolateMode::nearest;
    /// Linear modes only: map the corner pixels' centres onto each other (true) or the corners of
    /// the pixel grid (false, PyTorch's default).
    std::optional<bool> align_corners;
};

namespace functional {
/// x [N, C, L] or [N, C, H, W] resized to options.size or by options.scale_factor.
Tensor interpolate(const Tensor& x, const InterpolateOptions& options);
}  // namespace functional

using UpsampleOptions = InterpolateOptions;

/// F::interpolate as a module, e.g. Upsample({.scale_factor = {{2}}, .mode = kBilinear}) in a decoder.
class Upsample : public Module {
public:
    using Options = UpsampleOptions;
    explicit Upsample(UpsampleOptions options = {}) : options(std::move(options)) {}
    Tensor forward(const Tensor& input) override { return functional::interpolate(input, options); }
    std::string type_name() const override { return "Upsample"; }
    const UpsampleOptions options;
};

}  // namespace xgrad::nn
