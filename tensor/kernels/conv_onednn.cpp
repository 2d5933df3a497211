// 2-D convolutions through oneDNN (Debian's libdnnl, what PyTorch uses on CPUs), measured here at
// about twice the speed of im2col + GEMM for the lecture's CNN: its kernels work on channel-blocked
// layouts (nChw16c) with the filter held in registers. xgrad keeps NCHW tensors, so each call
// reorders its operands into the layouts the primitive picked and the result back.
//
// Threads: oneDNN in Debian runs on OpenMP, whose idle threads spin. So oneDNN is kept to one
// thread per call, and xgrad's own pool splits the batch: each task convolves a slice of 16
// examples (the weight gradient sums the slices' parts in slice order, so the result does not
// depend on the thread count). Primitives are built once per shape and cached.
//
// Without oneDNN (XGRAD_WITH_ONEDNN=OFF) or with XGRAD_CONV=im2col, convolution_backend() says
// im2col and the callers use the im2col form.

#include <cstdlib>
#include <cstring>
#include <deque>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include <xgrad/tensor/kernels.hpp>
#include <xgrad/tensor/parallel.hpp>

#ifdef XGRAD_HAVE_ONEDNN
#include <oneapi/dnnl/dnnl.hpp>
extern "C" void omp_set_num_threads(int);  // libgomp, which libdnnl links
extern "C" int omp_get_max_threads();
#endif

namespace xgrad::kernels {

ConvolutionBackend convolution_backend() {
    static const ConvolutionBackend backend = [] {
        const char* choice = std::getenv("XGRAD_CONV");
        const std::string name = choice ? choice : "";
        XGRAD_CHECK(name.empty() || name == "onednn" || name == "im2col",
                    "XGRAD_CONV must be 'onednn' or 'im2col', got '", name, "'");
#ifdef XGRAD_HAVE_ONEDNN
        return name == "im2col" ? ConvolutionBackend::im2col : ConvolutionBackend::onednn;
#else
        return ConvolutionBackend::im2col;
#endif
    }();
    return backend;
}

#ifdef XGRAD_HAVE_ONEDNN
namespace {
using dnnl::memory;
using Tag = memory::format_tag;

dnnl::engine& cpu_engine() {
    static dnnl::engine engine(dnnl::engine::kind::cpu, 0);
    return engine;
}

// One shape's primitives: forward, backward data, backward weights (and bias), for a batch slice.
struct ConvPrimitives {
    dnnl::convolution_forward::primitive_desc forward_pd;
    dnnl::convolution_backward_data::primitive_desc data_pd;
    dnnl::convolution_backward_weights::primitive_desc weights_pd;
    dnnl::convolution_forward forward;
    dnnl::convolution_backward_data data;
    dnnl::convolution_backward_weights weights;
};

using ConvKey = std::tuple<int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t, int64_t,
                           int64_t, int64_t, int64_t, int64_t, bool>;

// The cache holds the most recently built kMaxCachedShapes shapes: inputs whose size changes every
// call (texts of every length through a 1-D convolution) must not grow it without bound. Callers
// hold a shared_ptr, so an entry evicted while in use lives until its call ends.
constexpr std::size_t kMaxCachedShapes = 256;

std::shared_ptr<const ConvPrimitives> primitives_for(int64_t batch, const Shape& x, const Shape& w, const Window2d& win,
                                                     bool bias) {
    static std::mutex mutex;
    static std::map<ConvKey, std::shared_ptr<const ConvPrimitives>> cache;
    static std::deque<ConvKey> built;  // oldest first
    const ConvKey key{batch,        x[1],         x[2],          x[3],          w[0],           w[2],           w[3],
                      win.stride_h, win.stride_w, win.padding_h, win.padding_w, win.dilation_h, win.dilation_w, 0,
                      bias};
    std::lock_guard<std::mutex> lock(mutex);
    if (auto it = cache.find(key); it != cache.end()) return it->second;
    const Shape out_hw = window_output_size(x, win, "conv2d");
    const memory::dims src{batch, x[1], x[2], x[3]}, weights{w[0], w[1], w[2], w[3]}, bias_dims{w[0]},
        dst{batch, w[0], out_hw[0], out_hw[1]}, strides{win.stride_h, win.stride_w},
        dilation{win.dilation_h - 1, win.dilation_w - 1}, padding{win.padding_h, win.padding_w};
    const auto f32 = memory::data_type::f32;
    const memory::desc src_md(src, f32, Tag::any), weights_md(weights, f32, Tag::any), dst_md(dst, f32, Tag::any),
        bias_md = bias ? memory::desc(bias_dims, f32, Tag::a) : memory::desc();
    // oneDNN refuses some windows the definition allows (strides or padding near 2^40): an
    // xgrad::Error naming the convolution, not a dnnl::error from deep inside it.
    std::shared_ptr<const ConvPrimitives> primitives;
    try {
        dnnl::primitive_attr attr;
        attr.set_scratchpad_mode(dnnl::scratchpad_mode::user);  // per call: concurrent calls stay apart
        auto& engine = cpu_engine();
        const auto algo = dnnl::algorithm::convolution_direct;
        dnnl::convolution_forward::primitive_desc forward_pd(
            dnnl::convolution_forward::desc(dnnl::prop_kind::forward_training, algo, src_md, weights_md, bias_md,
                                            dst_md, strides, dilation, padding, padding),
            attr, engine);
        dnnl::convolution_backward_data::primitive_desc data_pd(
            dnnl::convolution_backward_data::desc(algo, src_md, weights_md, dst_md, strides, dilation, padding,
                                                  padding),
            attr, engine, forward_pd);
        dnnl::convolution_backward_weights::primitive_desc weights_pd(
            dnnl::convolution_backward_weights::desc(algo, src_md, weights_md, bias_md, dst_md, strides, dilation,
                                                     padding, padding),
            attr, engine, forward_pd);
        primitives = std::make_shared<const ConvPrimitives>(
            ConvPrimitives{forward_pd, data_pd, weights_pd, dnnl::convolution_forward(forward_pd),
                           dnnl::convolution_backward_data(data_pd), dnnl::convolution_backward_weights(weights_pd)});
    } catch (const dnnl::error& e) {
        fail("conv2d: oneDNN cannot build the convolution of input [", batch, ", ", x[1], ", ", x[2], ", ", x[3],
             "] with weight ", w, " (stride ", win.stride_h, "x", win.stride_w, ", padding ", win.padding_h, "x",
             win.padding_w, ", dilation ", win.dilation_h, "x", win.dilation_w, "): ", e.what());
    }
    if (built.size() == kMaxCachedShapes) {
        cache.erase(built.front());
        built.pop_front();
    }
    cache.emplace(key, primitives);
    built.push_back(key);
    return primitives;
}

// A cached buffer for one task's temporaries (no page faults per step).
struct Scratch {
    explicit Scratch(std::size_t bytes) : bytes(bytes), ptr(xgrad::memory::allocate(bytes)) {}
    ~Scratch() { xgrad::memory::deallocate(ptr, bytes); }
    Scratch(const Scratch&) = delete;
    Scratch& operator=(const Scratch&) = delete;
    std::size_t bytes;
    void* ptr;
};

// `plain` (user NCHW / OIHW data) as the layout `wanted`: itself when they agree, else reordered
// into a buffer that `owner` keeps.
dnnl::memory as_layout(const dnnl::memory& plain, const memory::desc& wanted, std::unique_ptr<Scratch>& owner,
                       dnnl::stream& stream) {
    if (plain.get_desc() == wanted) return plain;
    owner = std::make_unique<Scratch>(wanted.get_size());
    dnnl::memory converted(wanted, cpu_engine(), owner->ptr);
    dnnl::reorder(plain, converted).execute(stream, const_cast<dnnl::memory&>(plain), converted);
    return converted;
}

// The batch is cut into slices of kSliceExamples (the last may be shorter) whatever the thread
// count, so the weight gradient's sum over slices, and thus every result, is the same at any
// thread count; the pool hands the slices to its threads.
constexpr int64_t kSliceExamples = 16;
int64_t slice_count(int64_t batch) {
    return (batch + kSliceExamples - 1) / kSliceExamples;
}
std::pair<int64_t, int64_t> slice(int64_t batch, int64_t s) {
    return {s * kSliceExamples, std::min(batch, (s + 1) * kSliceExamples)};
}
int threads_for_slices(int64_t slices, double work) {
    return static_cast<int>(std::min<int64_t>(slices, xgrad::detail::threads_for(work)));
}

memory::dims dims_of(const Shape& s) {
    return memory::dims(s.begin(), s.end());
}

// oneDNN on one OpenMP thread for the task, and the caller's own OpenMP setting back afterwards
// (the calling thread runs tasks too, and a user's OpenMP code on it should keep its threads).
class OneOpenMPThread {
public:
    OneOpenMPThread() : before_(omp_get_max_threads()) { omp_set_num_threads(1); }
    ~OneOpenMPThread() { omp_set_num_threads(before_); }
    OneOpenMPThread(const OneOpenMPThread&) = delete;
    OneOpenMPThread& operator=(const OneOpenMPThread&) = delete;

private:
    int before_;
};

}  // namespace

NDArray onednn_conv2d(const NDArray& x, const NDArray& w, const NDArray& bias, const Window2d& win) {
    const Shape out_hw = window_output_size(x.sizes(), win, "conv2d");
    const int64_t N = x.size(0), O = w.size(0);
    const NDArray xc = x.contiguous(), wc = w.contiguous(), bc = bias.defined() ? bias.contiguous() : NDArray();
    NDArray out = NDArray::empty({N, O, out_hw[0], out_hw[1]}, kFloat32);
    if (out.numel() == 0) return out;  // nothing to convolve (and no slice to divide by)
    const int64_t in_step = x.numel() / N, out_step = out.numel() / N;
    const int64_t slices = slice_count(N);
    const double work = static_cast<double>(out.numel() * w.numel() / O);
    xgrad::detail::parallel_tasks(slices, threads_for_slices(slices, work), [&](int64_t s) {
        const OneOpenMPThread one_thread;
        const auto [n0, n1] = slice(N, s);
        if (n1 == n0) return;
        const auto primitives = primitives_for(n1 - n0, x.sizes(), w.sizes(), win, bias.defined());
        const ConvPrimitives& p = *primitives;
        dnnl::stream stream(cpu_engine());
        const auto f32 = memory::data_type::f32;
        dnnl::memory src({{n1 - n0, x.size(1), x.size(2), x.size(3)}, f32, Tag::nchw}, cpu_engine(),
                         const_cast<float*>(xc.data<float>()) + n0 * in_step);
        dnnl::memory weights({dims_of(w.sizes()), f32, Tag::oihw}, cpu_engine(), const_cast<float*>(wc.data<float>()));
        dnnl::memory dst({{n1 - n0, O, out_hw[0], out_hw[1]}, f32, Tag::nchw}, cpu_engine(),
                         out.data<float>() + n0 * out_step);
        std::unique_ptr<Scratch> src_buf, weights_buf, dst_buf;
        const dnnl::memory src_in = as_layout(src, p.forward_pd.src_desc(), src_buf, stream);
        const dnnl::memory weights_in = as_layout(weights, p.forward_pd.weights_desc(), weights_buf, stream);
        const bool dst_plain = p.forward_pd.dst_desc() == dst.get_desc();
        Scratch dst_scratch(dst_plain ? 64 : p.forward_pd.dst_desc().get_size());
        dnnl::memory dst_out = dst_plain ? dst : dnnl::memory(p.forward_pd.dst_desc(), cpu_engine(), dst_scratch.ptr);
        Scratch pad(std::max<std::size_t>(64, p.forward_pd.scratchpad_desc().get_size()));
        std::unordered_map<int, dnnl::memory> args{
            {DNNL_ARG_SRC, src_in},
            {DNNL_ARG_WEIGHTS, weights_in},
            {DNNL_ARG_DST, dst_out},
            {DNNL_ARG_SCRATCHPAD, dnnl::memory(p.forward_pd.scratchpad_desc(), cpu_engine(), pad.ptr)}};
        if (bias.defined())
            args[DNNL_ARG_BIAS] = dnnl::memory({{O}, f32, Tag::a}, cpu_engine(), const_cast<float*>(bc.data<float>()));
        p.forward.execute(stream, args);
        if (!dst_plain) dnnl::reorder(dst_out, dst).execute(stream, dst_out, dst);
        stream.wait();
    });
    return out;
}

Conv2dGrads onednn_conv2d_backward(const NDArray& grad_out, const NDArray& x, const NDArray& w, const Window2d& win,
                                   bool need_input, bool need_weight, bool need_bias) {
    const int64_t N = x.size(0), O = w.size(0);
    const NDArray gc = grad_out.contiguous(), xc = x.contiguous(), wc = w.contiguous();
    Conv2dGrads grads;
    if (N == 0 || O == 0 || x.numel() == 0) {  // empty: zero gradients, and no slice to divide by
        if (need_input) grads.input = full(x.sizes(), 0, kFloat32);
        if (need_weight) grads.weight = full(w.sizes(), 0, kFloat32);
        if (need_bias) grads.bias = full({O}, 0, kFloat32);
        return grads;
    }
    if (need_input) grads.input = NDArray::empty(x.sizes(), kFloat32);
    const int64_t slices = slice_count(N);
    const double work = static_cast<double>(2 * grad_out.numel() * w.numel() / O);
    // Each slice's weight and bias gradient, summed in slice order afterwards.
    std::vector<NDArray> weight_parts(static_cast<std::size_t>(slices)), bias_parts(static_cast<std::size_t>(slices));
    const int64_t in_step = x.numel() / N, out_step = grad_out.numel() / N;
    xgrad::detail::parallel_tasks(slices, threads_for_slices(slices, work), [&](int64_t s) {
        const OneOpenMPThread one_thread;
        const auto [n0, n1] = slice(N, s);
        if (n1 == n0) return;
        const auto primitives = primitives_for(n1 - n0, x.sizes(), w.sizes(), win, true);
        const ConvPrimitives& p = *primitives;
        dnnl::stream stream(cpu_engine());
        const auto f32 = memory::data_type::f32;
        const memory::dims src_dims{n1 - n0, x.size(1), x.size(2), x.size(3)};
        const memory::dims dst_dims{n1 - n0, O, grad_out.size(2), grad_out.size(3)};
        dnnl::memory diff_dst({dst_dims, f32, Tag::nchw}, cpu_engine(),
                              const_cast<float*>(gc.data<float>()) + n0 * out_step);
        std::unique_ptr<Scratch> diff_dst_buf, weights_buf, src_buf, diff_dst_w_buf;
        if (need_input) {
            dnnl::memory weights({dims_of(w.sizes()), f32, Tag::oihw}, cpu_engine(),
                                 const_cast<float*>(wc.data<float>()));
            dnnl::memory diff_src({src_dims, f32, Tag::nchw}, cpu_engine(), grads.input.data<float>() + n0 * in_step);
            const dnnl::memory dd = as_layout(diff_dst, p.data_pd.diff_dst_desc(), diff_dst_buf, stream);
            const dnnl::memory wt = as_layout(weights, p.data_pd.weights_desc(), weights_buf, stream);
            const bool plain = p.data_pd.diff_src_desc() == diff_src.get_desc();
            Scratch out_scratch(plain ? 64 : p.data_pd.diff_src_desc().get_size());
            dnnl::memory ds = plain ? diff_src : dnnl::memory(p.data_pd.diff_src_desc(), cpu_engine(), out_scratch.ptr);
            Scratch pad(std::max<std::size_t>(64, p.data_pd.scratchpad_desc().get_size()));
            p.data.execute(stream,
                           {{DNNL_ARG_DIFF_DST, dd},
                            {DNNL_ARG_WEIGHTS, wt},
                            {DNNL_ARG_DIFF_SRC, ds},
                            {DNNL_ARG_SCRATCHPAD, dnnl::memory(p.data_pd.scratchpad_desc(), cpu_engine(), pad.ptr)}});
            if (!plain) dnnl::reorder(ds, diff_src).execute(stream, ds, diff_src);
            stream.wait();  // before this block's scratch buffers go
        }
        if (need_weight || need_bias) {
            dnnl::memory src({src_dims, f32, Tag::nchw}, cpu_engine(),
                             const_cast<float*>(xc.data<float>()) + n0 * in_step);
            const dnnl::memory sr = as_layout(src, p.weights_pd.src_desc(), src_buf, stream);
            const dnnl::memory dd = as_layout(diff_dst, p.weights_pd.diff_dst_desc(), diff_dst_w_buf, stream);
            NDArray part = NDArray::empty(w.sizes(), kFloat32);
            NDArray bias_part = NDArray::empty({O}, kFloat32);
            dnnl::memory diff_weights({dims_of(w.sizes()), f32, Tag::oihw}, cpu_engine(), part.data<float>());
            const bool plain = p.weights_pd.diff_weights_desc() == diff_weights.get_desc();
            Scratch out_scratch(plain ? 64 : p.weights_pd.diff_weights_desc().get_size());
            dnnl::memory dw =
                plain ? diff_weights : dnnl::memory(p.weights_pd.diff_weights_desc(), cpu_engine(), out_scratch.ptr);
            Scratch pad(std::max<std::size_t>(64, p.weights_pd.scratchpad_desc().get_size()));
            p.weights.execute(
                stream, {{DNNL_ARG_SRC, sr},
                         {DNNL_ARG_DIFF_DST, dd},
                         {DNNL_ARG_DIFF_WEIGHTS, dw},
                         {DNNL_ARG_DIFF_BIAS, dnnl::memory({{O}, f32, Tag::a}, cpu_engine(), bias_part.data<float>())},
                         {DNNL_ARG_SCRATCHPAD, dnnl::memory(p.weights_pd.scratchpad_desc(), cpu_engine(), pad.ptr)}});
            if (!plain) dnnl::reorder(dw, diff_weights).execute(stream, dw, diff_weights);
            stream.wait();  // before this block's scratch buffers go
            weight_parts[static_cast<std::size_t>(s)] = part;
            bias_parts[static_cast<std::size_t>(s)] = bias_part;
        }
        stream.wait();
    });
    if (need_weight || need_bias) {
        NDArray weight_sum, bias_sum;
        for (int64_t s = 0; s < slices; ++s) {
            const std::size_t i = static_cast<std::size_t>(s);
            if (!weight_parts[i].defined()) continue;
            weight_sum = weight_sum.defined() ? binary(Binary::add, weight_sum, weight_parts[i]) : weight_parts[i];
            bias_sum = bias_sum.defined() ? binary(Binary::add, bias_sum, bias_parts[i]) : bias_parts[i];
        }
        if (need_weight) grads.weight = weight_sum;
        if (need_bias) grads.bias = bias_sum;
    }
    return grads;
}

#else

NDArray onednn_conv2d(const NDArray&, const NDArray&, const NDArray&, const Window2d&) {
    fail("conv2d: xgrad was built without oneDNN");
}
Conv2dGrads onednn_conv2d_backward(const NDArray&, const NDArray&, const NDArray&, const Window2d&, bool, bool, bool) {
    fail("conv2d: xgrad was built without oneDNN");
}

#endif

}  // namespace xgrad::kernels
