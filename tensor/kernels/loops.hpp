#pragma once
/// The one iterator behind every element-wise kernel (internal to tensor/).
///
/// It lines up an output and its inputs under broadcasting (a broadcast dim gets stride 0),
/// drops size-1 dims, merges dims that are contiguous for every operand, and calls an inner
/// loop on runs along the last remaining dim: `inner(ptrs, strides, n)` with element strides.
/// Kernels pick a SIMD path when the inner strides are 1 (or 0 for a broadcast scalar) and a
/// strided loop otherwise. Large work is split into tasks on xgrad's pool; every element is
/// computed the same way whichever thread takes it, so results do not depend on scheduling.

#include <array>
#include <cstdint>

#include <xgrad/tensor/ndarray.hpp>
#include <xgrad/tensor/parallel.hpp>

namespace xgrad::kernels::detail {

template <std::size_t N>
struct Loop {
    Shape sizes;                   // coalesced; the last is the inner run
    std::array<Shape, N> strides;  // per operand, in elements
    std::array<char*, N> base{};   // first element of each operand
    std::array<int64_t, N> itemsize{};
};

/// operands[0] is the output, whose sizes are the loop's; the others broadcast to them.
template <std::size_t N>
Loop<N> make_loop(const std::array<const NDArray*, N>& operands) {
    const Shape& out_sizes = operands[0]->sizes();
    const std::size_t nd = out_sizes.size();
    std::array<Shape, N> full_strides;
    for (std::size_t k = 0; k < N; ++k) {
        const NDArray& op = *operands[k];
        const std::size_t lead = nd - op.sizes().size();
        full_strides[k] = Shape(nd, 0);
        for (std::size_t i = lead; i < nd; ++i)
            full_strides[k][i] = op.sizes()[i - lead] == 1 ? 0 : op.strides()[i - lead];
    }
    Loop<N> loop;
    for (std::size_t k = 0; k < N; ++k) {
        loop.base[k] = static_cast<char*>(operands[k]->raw_data());
        loop.itemsize[k] = static_cast<int64_t>(element_size(operands[k]->dtype()));
    }
    // Walk dims from the innermost out, merging a dim into the run below it when every operand
    // steps through both as one.
    for (std::size_t i = nd; i-- > 0;) {
        const int64_t size = out_sizes[i];
        if (size == 1) continue;
        if (!loop.sizes.empty()) {
            const int64_t inner_size = loop.sizes[0];
            bool mergeable = true;
            for (std::size_t k = 0; k < N; ++k)
                mergeable = mergeable && full_strides[k][i] == loop.strides[k][0] * inner_size;
            if (mergeable) {
                loop.sizes[0] *= size;
                continue;
            }
        }
        loop.sizes.insert(0, size);
        for (std::size_t k = 0; k < N; ++k) loop.strides[k].insert(0, full_strides[k][i]);
    }
    if (loop.sizes.empty()) {  // a single element
        loop.sizes.push_back(1);
        for (std::size_t k = 0; k < N; ++k) loop.strides[k].push_back(0);
    }
    return loop;
}

/// Runs inner over rows [row_begin, row_end), each restricted to inner positions [i0, i1).
template <std::size_t N, class Inner>
void run_rows(const Loop<N>& loop, int64_t row_begin, int64_t row_end, int64_t i0, int64_t i1, Inner& inner) {
    const std::size_t nd = loop.sizes.size();
    const std::size_t outer = nd - 1;
    Shape index(outer, 0);
    int64_t rem = row_begin;
    for (std::size_t d = outer; d-- > 0;) {
        index[d] = rem % loop.sizes[d];
        rem /= loop.sizes[d];
    }
    std::array<int64_t, N> inner_strides;
    for (std::size_t k = 0; k < N; ++k) inner_strides[k] = loop.strides[k][outer];
    for (int64_t row = row_begin; row < row_end; ++row) {
        std::array<char*, N> ptrs;
        for (std::size_t k = 0; k < N; ++k) {
            int64_t off = i0 * inner_strides[k];
            for (std::size_t d = 0; d < outer; ++d) off += index[d] * loop.strides[k][d];
            ptrs[k] = loop.base[k] + off * loop.itemsize[k];
        }
        inner(ptrs, inner_strides, i1 - i0);
        for (std::size_t d = outer; d-- > 0;) {
            if (++index[d] < loop.sizes[d]) break;
            index[d] = 0;
        }
    }
}

/// Calls inner(ptrs, strides, n) over every run of the loop, on several threads when large.
template <std::size_t N, class Inner>
void for_each_run(const Loop<N>& loop, Inner&& inner) {
    const int64_t inner_n = loop.sizes.back();
    int64_t numel = 1;
    for (int64_t s : loop.sizes) numel *= s;
    if (numel == 0) return;
    const int64_t rows = numel / inner_n;
    const int threads = ::xgrad::detail::threads_for(static_cast<double>(numel));
    if (threads <= 1) {
        run_rows(loop, 0, rows, 0, inner_n, inner);
        return;
    }
    const int64_t tasks = threads * ::xgrad::detail::kTasksPerThread;
    if (rows >= tasks) {
        ::xgrad::detail::parallel_tasks(tasks, threads, [&](int64_t p) {
            run_rows(loop, rows * p / tasks, rows * (p + 1) / tasks, 0, inner_n, inner);
        });
        return;
    }
    // Few long rows: split each row into pieces, 64-element aligned so SIMD runs stay whole.
    const int64_t pieces = (tasks + rows - 1) / rows;
    ::xgrad::detail::parallel_tasks(rows * pieces, threads, [&](int64_t task) {
        const int64_t row = task / pieces, piece = task % pieces;
        const auto [i0, i1] = ::xgrad::detail::aligned_piece(inner_n, piece, pieces, 64);
        if (i1 > i0) run_rows(loop, row, row + 1, i0, i1, inner);
    });
}

}  // namespace xgrad::kernels::detail
