#include <xgrad/nn/pooling.hpp>

#include <algorithm>
#include <limits>
#include <vector>

#include <xgrad/autograd/ops.hpp>

namespace xgrad::nn {
namespace {

// PyTorch's pooled size along one dim. With ceil_mode the last window may hang past the input,
// but it must start inside the input or its left padding.
int64_t pooled_size(int64_t size, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode,
                    const char* op) {
    XGRAD_CHECK(kernel > 0 && stride > 0 && dilation > 0 && padding >= 0, op,
                ": kernel size, stride and dilation must be positive and padding non-negative, got kernel ", kernel,
                ", stride ", stride, ", padding ", padding, ", dilation ", dilation);
    XGRAD_CHECK(padding <= kernel / 2, op, ": padding ", padding, " must be at most half the kernel (", kernel, ")");
    // Sizes from the user: checked before the products below could overflow.
    XGRAD_CHECK(kernel - 1 <= (std::numeric_limits<int64_t>::max() / 4) / dilation &&
                    size <= std::numeric_limits<int64_t>::max() / 4 - 2 * padding,
                op, ": kernel ", kernel, " with dilation ", dilation, " and padding ", padding, " on ", size,
                " elements overflow int64");
    const int64_t span = dilation * (kernel - 1) + 1, room = size + 2 * padding - span;
    XGRAD_CHECK(room >= 0, op, ": the window (", span, " with dilation) is larger than the padded input (",
                size + 2 * padding, ")");
    // Rounded up without room + stride - 1, which overflows for a stride near INT64_MAX.
    int64_t out = room / stride + (ceil_mode && room % stride != 0 ? 1 : 0) + 1;
    if (ceil_mode && (out - 1) * stride >= size + padding) --out;
    return out;
}

// How far the last of `out` windows reaches past the right padding (ceil_mode only).
int64_t overhang(int64_t out, int64_t size, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation) {
    return std::max<int64_t>(0, (out - 1) * stride + dilation * (kernel - 1) + 1 - (size + 2 * padding));
}

// x with `extra` elements of value appended along dim.
Tensor extend(const Tensor& x, int64_t dim, int64_t extra, double value) {
    if (extra == 0) return x;
    Shape sizes = x.sizes();
    sizes[dim] = extra;
    return cat({x, full(sizes, value, x.dtype())}, dim);
}

// Runs pool on a batched input: unbatched inputs get a batch of one, removed again.
template <class Pool>
Tensor batched(const Tensor& x, int64_t dims, const char* op, const char* expected, Pool&& pool) {
    XGRAD_CHECK(x.dim() == dims || x.dim() == dims - 1, op, ": expected input ", expected, ", got shape ", x.sizes());
    return x.dim() == dims ? pool(x) : pool(x.unsqueeze(0)).squeeze(0);
}

Size2 default_stride(Size2 stride, Size2 kernel) {
    return {stride.h == 0 ? kernel.h : stride.h, stride.w == 0 ? kernel.w : stride.w};
}

// PyTorch's adaptive windows [floor(i n / m), ceil((i + 1) n / m)) of x4 [N, C, H, W], each
// reduced to [N, C] by reduce, stacked into [N, C, oh, ow].
template <class Reduce>
Tensor adaptive_windows(const Tensor& x4, Size2 output_size, const char* op, Reduce&& reduce) {
    const int64_t N = x4.size(0), C = x4.size(1), H = x4.size(2), W = x4.size(3);
    const int64_t oh = output_size.h, ow = output_size.w;
    // Nothing to pool, however many windows: an empty result that stays in the graph.
    if (N == 0 || C == 0) return sum(x4, {2, 3}, true).expand({N, C, oh, ow});
    // The output's memory is claimed first, as PyTorch allocates it first: an output size beyond
    // int64 or memory fails here at once, not after building billions of windows one by one.
    NDArray::empty({N, C, oh, ow}, x4.dtype(), op);
    std::vector<Tensor> cells;
    for (int64_t i = 0; i < oh; ++i) {
        const int64_t h0 = i * H / oh, h1 = ((i + 1) * H + oh - 1) / oh;
        for (int64_t j = 0; j < ow; ++j) {
            const int64_t w0 = j * W / ow, w1 = ((j + 1) * W + ow - 1) / ow;
            cells.push_back(reduce(x4.narrow(2, h0, h1 - h0).narrow(3, w0, w1 - w0)));
        }
    }
    return stack(cells, 2).view({N, C, oh, ow});
}

void check_output_size(Size2 size, const char* op) {
    XGRAD_CHECK(size.h > 0 && size.w > 0, op, ": output_size must be positive, got ", to_string(size));
}

}  // namespace

namespace functional {

namespace {
// op names the caller in errors: max_pool1d pools a [N, C, 1, L] view through here.
Tensor max_pool2d_with(bool relu, const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding,
                       Size2 dilation, bool ceil_mode) {
    return batched(x, 4, op, "[N, C, H, W] or [C, H, W]", [&](const Tensor& x4) {
        const Size2 s = default_stride(stride, kernel);
        const int64_t H = x4.size(2), W = x4.size(3);
        const int64_t oh = pooled_size(H, kernel.h, s.h, padding.h, dilation.h, ceil_mode, op);
        const int64_t ow = pooled_size(W, kernel.w, s.w, padding.w, dilation.w, ceil_mode, op);
        // A ceil_mode window's overhang reads -inf, which never wins (each window holds an input).
        const double lowest = -std::numeric_limits<double>::infinity();
        const Tensor extended = extend(extend(x4, 2, overhang(oh, H, kernel.h, s.h, padding.h, dilation.h), lowest), 3,
                                       overhang(ow, W, kernel.w, s.w, padding.w, dilation.w), lowest);
        const Window2d window{kernel.h, kernel.w, s.h, s.w, padding.h, padding.w, dilation.h, dilation.w};
        return relu ? xgrad::relu_max_pool2d(extended, window) : xgrad::max_pool2d(extended, window);
    });
}
}  // namespace

Tensor max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, bool ceil_mode) {
    return max_pool2d_with(false, "max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
}

Tensor relu_max_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, Size2 dilation, bool ceil_mode) {
    return max_pool2d_with(true, "relu_max_pool2d", x, kernel, stride, padding, dilation, ceil_mode);
}

Tensor max_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, int64_t dilation, bool ceil_mode) {
    return batched(x, 3, "max_pool1d", "[N, C, L] or [C, L]", [&](const Tensor& x3) {
        return max_pool2d_with(false, "max_pool1d", x3.unsqueeze(2), {1, kernel}, {1, stride == 0 ? kernel : stride},
                               {0, padding}, {1, dilation}, ceil_mode)
            .squeeze(2);
    });
}

namespace {
// Window sums through im2col, divided by each window's count; op names the caller in errors.
Tensor avg_pool2d_named(const char* op, const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode,
                        bool count_include_pad) {
    return batched(x, 4, op, "[N, C, H, W] or [C, H, W]", [&](const Tensor& x4) {
        const Size2 s = default_stride(stride, kernel);
        const int64_t N = x4.size(0), C = x4.size(1), H = x4.size(2), W = x4.size(3);
        const int64_t oh = pooled_size(H, kernel.h, s.h, padding.h, 1, ceil_mode, op);
        const int64_t ow = pooled_size(W, kernel.w, s.w, padding.w, 1, ceil_mode, op);
        const Tensor extended = extend(extend(x4, 2, overhang(oh, H, kernel.h, s.h, padding.h, 1), 0.0), 3,
                                       overhang(ow, W, kernel.w, s.w, padding.w, 1), 0.0);
        const Tensor cols = unfold2d(extended, {kernel.h, kernel.w, s.h, s.w, padding.h, padding.w, 1, 1});
        const Tensor sums = sum(cols.view({N, C, kernel.h * kernel.w, oh * ow}), {2});
        std::vector<double> counts;
        for (int64_t i = 0; i < oh; ++i)
            for (int64_t j = 0; j < ow; ++j) {
                const int64_t h0 = i * s.h - padding.h, w0 = j * s.w - padding.w;
                const int64_t h1 = std::min(h0 + kernel.h, H + padding.h), w1 = std::min(w0 + kernel.w, W + padding.w);
                const int64_t with_pad = (h1 - h0) * (w1 - w0);
                const int64_t inside =
                    (std::min(h1, H) - std::max<int64_t>(h0, 0)) * (std::min(w1, W) - std::max<int64_t>(w0, 0));
                counts.push_back(static_cast<double>(count_include_pad ? with_pad : inside));
            }
        return div(sums, from_vector(counts, {oh * ow}, x4.dtype())).view({N, C, oh, ow});
    });
}
}  // namespace

Tensor avg_pool2d(const Tensor& x, Size2 kernel, Size2 stride, Size2 padding, bool ceil_mode, bool count_include_pad) {
    return avg_pool2d_named("avg_pool2d", x, kernel, stride, padding, ceil_mode, count_include_pad);
}

Tensor avg_pool1d(const Tensor& x, int64_t kernel, int64_t stride, int64_t padding, bool ceil_mode,
                  bool count_include_pad) {
    return batched(x, 3, "avg_pool1d", "[N, C, L] or [C, L]", [&](const Tensor& x3) {
        return avg_pool2d_named("avg_pool1d", x3.unsqueeze(2), {1, kernel}, {1, stride == 0 ? kernel : stride},
                                {0, padding}, ceil_mode, count_include_pad)
            .squeeze(2);
    });
}

// Window means, never a product with an averaging matrix: that would spread an inf or NaN of
// one window into the others (0 * inf is NaN).
Tensor adaptive_avg_pool2d(const Tensor& x, Size2 output_size) {
    check_output_size(output_size, "adaptive_avg_pool2d");
    return batched(x, 4, "adaptive_avg_pool2d", "[N, C, H, W] or [C, H, W]", [&](const Tensor& x4) {
        const int64_t H = x4.size(2), W = x4.size(3), oh = output_size.h, ow = output_size.w;
        XGRAD_CHECK(H > 0 && W > 0, "adaptive_avg_pool2d: empty input of shape ", x4.sizes());
        if (oh == 1 && ow == 1) return mean(x4, {2, 3}, true);  // global average pooling
        if (H % oh == 0 && W % ow == 0) return functional::avg_pool2d(x4, Size2{H / oh, W / ow});  // equal windows
        return adaptive_windows(x4, output_size, "adaptive_avg_pool2d", [](const Tensor& window) {
            return mean(window, {2, 3});
        });
    });
}

Tensor adaptive_avg_pool1d(const Tensor& x, int64_t output_size) {
    check_output_size({1, output_size}, "adaptive_avg_pool1d");
    return batched(x, 3, "adaptive_avg_pool1d", "[N, C, L] or [C, L]", [&](const Tensor& x3) {
        return adaptive_avg_pool2d(x3.unsqueeze(2), {1, output_size}).squeeze(2);
    });
}

Tensor adaptive_max_pool2d(const Tensor& x, Size2 output_size) {
    check_output_size(output_size, "adaptive_max_pool2d");
    return batched(x, 4, "adaptive_max_pool2d", "[N, C, H, W] or [C, H, W]", [&](const Tensor& x4) {
        const int64_t N = x4.size(0), C = x4.size(1), H = x4.size(2), W = x4.size(3);
        const int64_t oh = output_size.h, ow = output_size.w;
        XGRAD_CHECK(H > 0 && W > 0, "adaptive_max_pool2d: empty input of shape ", x4.sizes());
        if (H % oh == 0 && W % ow == 0)
            return functional::max_pool2d(x4, Size2{H / oh, W / ow});  // equal windows: the fast kernel
        return adaptive_windows(x4, output_size, "adaptive_max_pool2d", [N, C](const Tensor& window) {
            return std::get<0>(max(window.reshape({N, C, -1}), 2));  // the first maximum takes the gradient
        });
    });
}

Tensor adaptive_max_pool1d(const Tensor& x, int64_t output_size) {
    check_output_size({1, output_size}, "adaptive_max_pool1d");
    return batched(x, 3, "adaptive_max_pool1d", "[N, C, L] or [C, L]", [&](const Tensor& x3) {
        return adaptive_max_pool2d(x3.unsqueeze(2), {1, output_size}).squeeze(2);
    });
}

}  // namespace functional

Tensor MaxPool2d::forward(const Tensor& input) {
    return functional::max_pool2d(input, options.kernel_size, options.stride, options.padding, options.dilation,
                                  options.ceil_mode);
}

std::string MaxPool2d::extra_repr() const {
    return "kernel_size=" + to_string(options.kernel_size) +
           ", stride=" + to_string(default_stride(options.stride, options.kernel_size)) +
           ", padding=" + to_string(options.padding) + ", dilation=" + to_string(options.dilation) +
           ", ceil_mode=" + (options.ceil_mode ? "true" : "false");
}

Tensor MaxPool1d::forward(const Tensor& input) {
    return functional::max_pool1d(input, options.kernel_size, options.stride, options.padding, options.dilation,
                                  options.ceil_mode);
}

std::string MaxPool1d::extra_repr() const {
    return "kernel_size=" + std::to_string(options.kernel_size) +
           ", stride=" + std::to_string(options.stride == 0 ? options.kernel_size : options.stride) +
           ", padding=" + std::to_string(options.padding) + ", dilation=" + std::to_string(options.dilation) +
           ", ceil_mode=" + (options.ceil_mode ? "true" : "false");
}

Tensor AvgPool2d::forward(const Tensor& input) {
    return functional::avg_pool2d(input, options.kernel_size, options.stride, options.padding, options.ceil_mode,
                                  options.count_include_pad);
}

std::string AvgPool2d::extra_repr() const {
    return "kernel_size=" + to_string(options.kernel_size) +
           ", stride=" + to_string(default_stride(options.stride, options.kernel_size)) +
           ", padding=" + to_string(options.padding) + ", ceil_mode=" + (options.ceil_mode ? "true" : "false") +
           ", count_include_pad=" + (options.count_include_pad ? "true" : "false");
}

Tensor AvgPool1d::forward(const Tensor& input) {
    return functional::avg_pool1d(input, options.kernel_size, options.stride, options.padding, options.ceil_mode,
                                  options.count_include_pad);
}

std::string AvgPool1d::extra_repr() const {
    return "kernel_size=" + std::to_string(options.kernel_size) +
           ", stride=" + std::to_string(options.stride == 0 ? options.kernel_size : options.stride) +
           ", padding=" + std::to_string(options.padding) + ", ceil_mode=" + (options.ceil_mode ? "true" : "false") +
           ", count_include_pad=" + (options.count_include_pad ? "true" : "false");
}

std::string AdaptiveAvgPool2d::extra_repr() const {
    return "output_size=" + to_string(options.output_size);
}
std::string AdaptiveAvgPool1d::extra_repr() const {
    return "output_size=" + std::to_string(options.output_size);
}
std::string AdaptiveMaxPool2d::extra_repr() const {
    return "output_size=" + to_string(options.output_size);
}
std::string AdaptiveMaxPool1d::extra_repr() const {
    return "output_size=" + std::to_string(options.output_size);
}

}  // namespace xgrad::nn
