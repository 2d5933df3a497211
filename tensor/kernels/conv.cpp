// Sliding windows over [N, C, H, W] arrays: im2col (unfold2d) and its adjoint col2im (fold2d),
// which turn a convolution into one matrix product per image, and the arg-max of every pooling
// window. Zero padding is virtual: out-of-range positions read as 0 (unfold) or as absent (max).

#include <algorithm>
#include <cstdint>
#include <limits>

#include "tensor/kernels.hpp"
#include "tensor/kernels/dispatch.hpp"
#include "tensor/parallel.hpp"

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
    const int64_t span_h = win.dilation_h * (win.kernel_h - 1) + 1, span_w = win.dilation_w * (win.kernel_w - 1) + 1;
    const int64_t padded_h = sizes[2] + 2 * win.padding_h, padded_w = sizes[3] + 2 * win.padding_w;
    XGRAD_CHECK(padded_h >= span_h && padded_w >= span_w, op, ": the window (", span_h, " x ", span_w,
                " with dilation) is larger than the padded input (", padded_h, " x ", padded_w, ") of shape ", sizes);
    return {sizes[0], sizes[1], sizes[2], sizes[3], (padded_h - span_h) / win.stride_h + 1,
            (padded_w - span_w) / win.stride_w + 1};
}

}  // namespace

Shape window_output_size(const Shape& input_sizes, const Window2d& window, const char* op) {
    const Geometry g = geometry(input_sizes, window, op);
    return {g.out_h, g.out_w};
}

namespace {
// The one walk behind im2col and its adjoint: visit(in, col) for every entry of the columns of
// every (n, c) plane, `col` its flat position in the [N, C kh kw, out_h out_w] columns and `in`
// the flat position in [N, C, H, W] of the input element under it (-1 where it falls on the
// padding). Row (c, ki, kj) of image n holds input[n, c, oh s - p + ki d, ow s - p + kj d]. The
// planes are split among threads, so a visitor may write to its plane of the input without locks.
template <class Visit>
void for_each_window_entry(const Geometry& g, const Window2d& win, Visit&& visit) {
    const int64_t kk = win.kernel_h * win.kernel_w, cols = g.out_h * g.out_w;
    xgrad::detail::parallel_for(g.n * g.c, static_cast<double>(kk * cols), 1, [&](int64_t plane_begin, int64_t plane_end) {
        for (int64_t plane = plane_begin; plane < plane_end; ++plane) {
            for (int64_t ki = 0; ki < win.kernel_h; ++ki)
                for (int64_t kj = 0; kj < win.kernel_w; ++kj) {
                    const int64_t row = (plane * kk + ki * win.kernel_w + kj) * cols;
                    const int64_t offset = kj * win.dilation_w - win.padding_w;
                    for (int64_t oh = 0; oh < g.out_h; ++oh) {
                        const int64_t ih = oh * win.stride_h - win.padding_h + ki * win.dilation_h;
                        const bool row_inside = ih >= 0 && ih < g.h;
                        const int64_t in_row = (plane * g.h + ih) * g.w;
                        for (int64_t ow = 0; ow < g.out_w; ++ow) {
                            const int64_t iw = ow * win.stride_w + offset;
                            visit(row_inside && iw >= 0 && iw < g.w ? in_row + iw : int64_t{-1}, row + oh * g.out_w + ow);
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
        for_each_window_entry(g, win, [&](int64_t in, int64_t col) { dst[col] = in < 0 ? T(0) : src[in]; });
    });
    return out;
}

NDArray fold2d(const NDArray& cols_in, const Shape& input_sizes, const Window2d& win) {
    const Geometry g = geometry(input_sizes, win, "fold2d");
    const int64_t kk = win.kernel_h * win.kernel_w, cols = g.out_h * g.out_w;
    XGRAD_CHECK(cols_in.dim() == 3 && cols_in.sizes()[0] == g.n && cols_in.sizes()[1] == g.c * kk &&
                    cols_in.sizes()[2] == cols,
                "fold2d: expected columns of shape [", g.n, ", ", g.c * kk, ", ", cols, "] for input shape ",
                input_sizes, ", got ", cols_in.sizes());
    const NDArray src_array = cols_in.contiguous();
    NDArray out = full(input_sizes, 0, cols_in.dtype());
    detail::dispatch_numeric(out.dtype(), "fold2d", [&](auto tag) {
        using T = decltype(tag);
        const T* src = src_array.data<T>();
        T* dst = out.data<T>();
        for_each_window_entry(g, win, [&](int64_t in, int64_t col) {
            if (in >= 0) dst[in] += src[col];  // overlapping windows add up
        });
    });
    return out;
}

NDArray max_pool2d_indices(const NDArray& x_in, const Window2d& win) {
    const Geometry g = geometry(x_in.sizes(), win, "max_pool2d");
    XGRAD_CHECK(win.padding_h * 2 <= win.kernel_h && win.padding_w * 2 <= win.kernel_w,
                "max_pool2d: padding (", win.padding_h, ", ", win.padding_w, ") must be at most half the kernel (",
                win.kernel_h, ", ", win.kernel_w, ")");
    const NDArray x = x_in.contiguous();
    NDArray out = NDArray::empty({g.n, g.c, g.out_h, g.out_w}, kInt64);
    int64_t* idx = out.data<int64_t>();
    detail::dispatch_numeric(x.dtype(), "max_pool2d", [&](auto tag) {
        using T = decltype(tag);
        const T* src = x.data<T>();
        // The first maximum of each window wins (as in PyTorch); NaN counts as the maximum.
        const double cost = static_cast<double>(g.out_h * g.out_w * win.kernel_h * win.kernel_w);
        xgrad::detail::parallel_for(g.n * g.c, cost, 1, [&](int64_t plane_begin, int64_t plane_end) {
            for (int64_t p = plane_begin; p < plane_end; ++p) {
                const T* plane = src + p * g.h * g.w;
                int64_t* out_plane = idx + p * g.out_h * g.out_w;
                for (int64_t oh = 0; oh < g.out_h; ++oh) {
                    // The kernel rows inside the input, found once per output row.
                    const int64_t top = oh * win.stride_h - win.padding_h;
                    const int64_t ki_begin = top >= 0 ? 0 : (-top + win.dilation_h - 1) / win.dilation_h;
                    const int64_t ki_end = std::min(win.kernel_h, (g.h - top + win.dilation_h - 1) / win.dilation_h);
                    for (int64_t ow = 0; ow < g.out_w; ++ow) {
                        const int64_t left = ow * win.stride_w - win.padding_w;
                        const int64_t kj_begin = left >= 0 ? 0 : (-left + win.dilation_w - 1) / win.dilation_w;
                        const int64_t kj_end = std::min(win.kernel_w, (g.w - left + win.dilation_w - 1) / win.dilation_w);
                        // Branch-free running arg-max (comparisons of data are unpredictable),
                        // seeded with the window's first element.
                        int64_t best = (top + ki_begin * win.dilation_h) * g.w + left + kj_begin * win.dilation_w;
                        T best_value = plane[best];
                        for (int64_t ki = ki_begin; ki < ki_end; ++ki) {
                            const int64_t row = (top + ki * win.dilation_h) * g.w + left;  // + kj d: in range
                            for (int64_t kj = kj_begin; kj < kj_end; ++kj) {
                                const int64_t at = row + kj * win.dilation_w;
                                const T v = plane[at];
                                const bool take = v > best_value || (v != v && best_value == best_value);  // NOLINT
                                best = take ? at : best;
                                best_value = take ? v : best_value;
                            }
                        }
                        out_plane[oh * g.out_w + ow] = best;
                    }
                }
            }
        });
    });
    return out;
}

}  // namespace xgrad::kernels
