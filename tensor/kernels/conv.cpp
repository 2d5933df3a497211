// Sliding windows over [N, C, H, W] arrays: im2col (unfold2d) and its adjoint col2im (fold2d),
// which turn a convolution into one matrix product per image (pooling: pooling.cpp). Zero padding
// is virtual: out-of-range positions read as 0 (unfold).

#include <algorithm>
#include <cstdint>
#include <limits>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/kernels/dispatch.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels {
namespace {

struct Geometry {
    int64_t n, c, h, w, out_h, out_w;
};

Geometry geometry(const Shape& sizes, const Window2d& win, const char* op) {
    XGRAD_CHECK(sizes.size() == 4, op, ": expected input [N, C, H, W], got shape ", sizes);
    XGRAD_CHECK(win.kernel_h > 0 && win.kernel_w > 0 && win.stride_h > 0 && win.stride_w > 0 && win.dilation_h > 0 &&
                    win.dilation_w > 0 && win.padding_h >= 0 && win.padding_w >= 0,
                op, ": kernel size, stride and dilation must be positive and padding non-negative, got kernel (",
                win.kernel_h, ", ", win.kernel_w, "), stride (", win.stride_h, ", ", win.stride_w, "), padding (",
                win.padding_h, ", ", win.padding_w, "), dilation (", win.dilation_h, ", ", win.dilation_w, ")");
    // Windows and padding near 2^62 are refused here, not wrapped around in the sums below.
    int64_t span_h = 0, span_w = 0, padded_h = 0, padded_w = 0;
    const bool overflow =
        __builtin_mul_overflow(win.dilation_h, win.kernel_h - 1, &span_h) ||
        __builtin_mul_overflow(win.dilation_w, win.kernel_w - 1, &span_w) ||
        __builtin_mul_overflow(win.padding_h, 2, &padded_h) || __builtin_mul_overflow(win.padding_w, 2, &padded_w) ||
        __builtin_add_overflow(padded_h, sizes[2], &padded_h) ||
        __builtin_add_overflow(padded_w, sizes[3], &padded_w) || span_h == INT64_MAX || span_w == INT64_MAX;
    XGRAD_CHECK(!overflow, op, ": kernel (", win.kernel_h, ", ", win.kernel_w, "), padding (", win.padding_h, ", ",
                win.padding_w, ") and dilation (", win.dilation_h, ", ", win.dilation_w,
                ") reach beyond int64 for input of shape ", sizes);
    span_h += 1;
    span_w += 1;
    XGRAD_CHECK(padded_h >= span_h && padded_w >= span_w, op, ": the window (", span_h, " x ", span_w,
                " with dilation) is larger than the padded input (", padded_h, " x ", padded_w, ") of shape ", sizes);
    const int64_t out_h = (padded_h - span_h) / win.stride_h + 1, out_w = (padded_w - span_w) / win.stride_w + 1;
    // The columns of im2col, [N, C kh kw, out_h out_w], must be countable too.
    checked_numel({sizes[0], sizes[1], win.kernel_h, win.kernel_w, out_h, out_w}, op);
    return {sizes[0], sizes[1], sizes[2], sizes[3], out_h, out_w};
}

}  // namespace

Shape window_output_size(const Shape& input_sizes, const Window2d& window, const char* op) {
    const Geometry g = geometry(input_sizes, window, op);
    return {g.out_h, g.out_w};
}

namespace {
// The one walk behind im2col and its adjoint, a row of columns at a time: visit(row) for every
// (n, c, ki, kj, oh), where row.col is the flat position in the [N, C kh kw, out_h out_w] columns
// of output position (oh, 0), and output positions ow in [row.begin, row.end) read the input at
// flat position row.in + (ow - row.begin) * row.stride (in [N, C, H, W]); the others fall on the
// padding. Row (c, ki, kj) of image n holds input[n, c, oh s - p + ki d, ow s - p + kj d]. The
// planes are split among threads, so a visitor may write to its plane of the input without locks.
struct WindowRow {
    int64_t col, in, begin, end, stride;
};

template <class Visit>
void for_each_window_row(const Geometry& g, const Window2d& win, Visit&& visit) {
    const int64_t kk = win.kernel_h * win.kernel_w, cols = g.out_h * g.out_w;
    xgrad::detail::parallel_for(
        g.n * g.c, static_cast<double>(kk * cols), 1, [&](int64_t plane_begin, int64_t plane_end) {
            for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
                for (int64_t ki = 0; ki < win.kernel_h; ++ki)
                    for (int64_t kj = 0; kj < win.kernel_w; ++kj) {
                        const int64_t row = (plane * kk + ki * win.kernel_w + kj) * cols;
                        // iw = ow s + offset lies in [0, W) for ow in [begin, end).
                        const int64_t offset = kj * win.dilation_w - win.padding_w;
                        const int64_t begin = offset >= 0 ? 0 : (-offset + win.stride_w - 1) / win.stride_w;
                        const int64_t end =
                            g.w - offset <= 0 ? 0 : std::min(g.out_w, (g.w - offset - 1) / win.stride_w + 1);
                        for (int64_t oh = 0; oh < g.out_h; ++oh) {
                            const int64_t ih = oh * win.stride_h - win.padding_h + ki * win.dilation_h;
                            const bool inside = ih >= 0 && ih < g.h && begin < end;
                            if (inside) {
                                visit(WindowRow{row + oh * g.out_w,
                                                (plane * g.h + ih) * g.w + offset + begin * win.stride_w, begin, end,
                                                win.stride_w});
                            } else {
                                visit(WindowRow{row + oh * g.out_w, 0, 0, 0, win.stride_w});
                            }
                        }
                    }
            }
        });
}
}  // namespace

NDArray unfold2d(const NDArray& x_in, const Window2d& win) {
    const Geometry g = geometry(x_in.sizes(), win, "unfold2d");
    const NDArray x = x_in.contiguous();
    NDArray out = NDArray::empty({g.n, g.c * win.kernel_h * win.kernel_w, g.out_h * g.out_w}, x.dtype());
    detail::dispatch_numeric(x.dtype(), "unfold2d", [&](auto tag) {
        using T = decltype(tag);
        const T* src = x.data<T>();
        T* dst = out.data<T>();
        for_each_window_row(g, win, [&](const WindowRow& r) {
            T* col = dst + r.col;
            std::fill(col, col + r.begin, T(0));
            const T* in = src + r.in;
            if (r.stride == 1)
                std::copy(in, in + (r.end - r.begin), col + r.begin);
            else
                for (int64_t ow = r.begin; ow < r.end; ++ow) col[ow] = in[(ow - r.begin) * r.stride];
            std::fill(col + r.end, col + g.out_w, T(0));
        });
    });
    return out;
}

NDArray fold2d(const NDArray& cols_in, const Shape& input_sizes, const Window2d& win) {
    const Geometry g = geometry(input_sizes, win, "fold2d");
    const int64_t kk = win.kernel_h * win.kernel_w, cols = g.out_h * g.out_w;
    XGRAD_CHECK(
        cols_in.dim() == 3 && cols_in.sizes()[0] == g.n && cols_in.sizes()[1] == g.c * kk && cols_in.sizes()[2] == cols,
        "fold2d: expected columns of shape [", g.n, ", ", g.c * kk, ", ", cols, "] for input shape ", input_sizes,
        ", got ", cols_in.sizes());
    const NDArray src_array = cols_in.contiguous();
    NDArray out = full(input_sizes, 0, cols_in.dtype());
    detail::dispatch_numeric(out.dtype(), "fold2d", [&](auto tag) {
        using T = decltype(tag);
        const T* src = src_array.data<T>();
        T* dst = out.data<T>();
        for_each_window_row(g, win, [&](const WindowRow& r) {
            const T* col = src + r.col + r.begin;
            T* in = dst + r.in;  // overlapping windows add up
            const int64_t count = r.end - r.begin;
            if (r.stride == 1) {
                for (int64_t k = 0; k < count; ++k) in[k] += col[k];
            } else {
                for (int64_t k = 0; k < count; ++k) in[k * r.stride] += col[k];
            }
        });
    });
    return out;
}

}  // namespace xgrad::kernels
