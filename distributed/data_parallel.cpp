#include <xgrad/distributed/data_parallel.hpp>

#include <algorithm>
#include <chrono>
#include <limits>
#include <sstream>
#include <type_traits>

#include <xgrad/autograd/engine.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/distributed/communicator.hpp>
#include <xgrad/distributed/distributed.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad::nn {

namespace {
using Clock = std::chrono::steady_clock;

double seconds_since(Clock::time_point start) {
    return std::chrono::duration<double>(Clock::now() - start).count();
}

// One line per parameter, "name [shape] dtype", then one per buffer: what every rank must agree
// on, since it decides the buckets and the broadcasts (a layer frozen on one rank only would
// change both).
std::string describe_model(const Module& module) {
    std::ostringstream out;
    for (const auto& [name, p] : module.named_parameters())
        out << name << ' ' << p.sizes() << ' ' << p.dtype() << (p.requires_grad() ? "" : " frozen") << '\n';
    for (const auto& [name, b] : module.named_buffers())
        out << "buffer " << name << ' ' << b.sizes() << ' ' << b.dtype() << '\n';
    return out.str();
}

std::vector<std::string> lines_of(const std::string& text) {
    std::vector<std::string> lines;
    std::istringstream in(text);
    for (std::string line; std::getline(in, line);) lines.push_back(line);
    return lines;
}

// The first n elements of a contiguous floating-point buffer divided by world, in place: a plain
// loop the compiler vectorizes (the broadcasting kernel with a scalar operand took 8% of a 2-rank
// epoch here). A division, not a multiplication by 1 / world, so that the average is exactly what
// one process computes as sum / world.
void divide(const NDArray& flat, int64_t n, int world) {
    auto run = [&](auto* p) {
        using T = std::remove_pointer_t<decltype(p)>;
        const T w = static_cast<T>(world);
        for (int64_t i = 0; i < n; ++i) p[i] /= w;
    };
    if (flat.dtype() == kFloat64)
        run(flat.data<double>());
    else
        run(flat.data<float>());
}

// Throws on every rank, naming the first difference, unless all ranks describe the same model.
void check_same_model(const std::string& mine) {
    const std::vector<std::string> all = distributed::all_gather_string(mine);
    const std::vector<std::string> reference = lines_of(all[0]);
    for (std::size_t r = 1; r < all.size(); ++r) {
        if (all[r] == all[0]) continue;
        const std::vector<std::string> theirs = lines_of(all[r]);
        std::ostringstream why;
        why << "DistributedDataParallel: the model differs between ranks (seen on rank " << distributed::rank()
            << "): rank 0 has " << reference.size() - 1 << " parameters and buffers, rank " << r << " has "
            << theirs.size() - 1;  // the last line holds the options
        for (std::size_t i = 0; i < std::min(reference.size(), theirs.size()); ++i)
            if (reference[i] != theirs[i]) {
                why << "; entry " << i << " is '" << reference[i] << "' on rank 0 but '" << theirs[i] << "' on rank "
                    << r;
                break;
            }
        fail(why.str());
    }
}
}  // namespace

// The buckets and the bookkeeping of one backward pass.
struct DistributedDataParallel::State {
    struct Bucket {
        std::vector<int64_t> params;   // indices into State::params
        std::vector<int64_t> offsets;  // where each starts in flat
        int64_t numel = 0;
        DType dtype = kFloat32;
        // The gradients side by side, then one presence flag per parameter (1 where this rank has a
        // gradient): after the sum, 0 means no rank had one, and grad() stays undefined.
        NDArray flat, gathered;  // gathered: [world * flat size], deterministic mode only
        int64_t ready = 0;       // parameters whose gradient is in this pass
        distributed::detail::Request request;
        Clock::time_point started;
    };

    DistributedDataParallelOptions options;
    distributed::detail::Communicator comm;
    std::vector<Tensor> params;
    std::vector<int> hooks;
    std::vector<int64_t> bucket_of;
    std::vector<char> ready;
    std::vector<Bucket> buckets;
    std::size_t next_bucket = 0;  // the next bucket to start: they start in index order everywhere
    bool pass_open = false;       // a backward pass has reported gradients and queued its finish
    bool sync = true;             // false while a NoSync lives
    bool armed = false;           // backward has reached an output of the wrapper made with sync on
    bool buffers_due = true;      // the last forward had gradients and sync on (PyTorch's require_forward_param_sync)
    Clock::time_point first_start;
    Stats stats;

    void prepare_for_backward();
    void on_gradient(int64_t index);
    void start_ready_buckets();
    void start(Bucket& b, bool blocking = false);
    void finish_pass();
    void write_back(Bucket& b);
};

// Called by forward: a pass left open by an exception in the last backward (its finish never
// ran) is cleared; its requests are waited for, so MPI writes into no buffer that is reused.
void DistributedDataParallel::State::prepare_for_backward() {
    if (!pass_open) return;
    for (Bucket& b : buckets) b.request.wait();
    std::fill(ready.begin(), ready.end(), 0);
    for (Bucket& b : buckets) b.ready = 0;
    next_bucket = 0;
    pass_open = false;
    armed = false;
}

void DistributedDataParallel::State::on_gradient(int64_t index) {
    if (!armed || ready[index]) return;
    ready[index] = 1;
    ++buckets[bucket_of[index]].ready;
    if (!pass_open) {
        pass_open = true;
        autograd::queue_callback([this] { finish_pass(); });
    }
    if (options.overlap) start_ready_buckets();
    // Open MPI advances non-blocking collectives only inside MPI calls: give the ones in flight a turn.
    for (std::size_t b = 0; b < next_bucket; ++b)
        if (buckets[b].request.pending()) buckets[b].request.test();
}

// Every bucket but the last: the last one's gradients arrive at the very end of backward, with
// nothing left to overlap, so finish_pass reduces it with a (faster) blocking call.
void DistributedDataParallel::State::start_ready_buckets() {
    while (next_bucket + 1 < buckets.size() &&
           buckets[next_bucket].ready == static_cast<int64_t>(buckets[next_bucket].params.size()))
        start(buckets[next_bucket++]);
}

void DistributedDataParallel::State::start(Bucket& b, bool blocking) {
    b.started = Clock::now();
    if (&b == &buckets.front()) first_start = b.started;
    // The bucket's gradients side by side in one buffer (one message instead of one per tensor),
    // then a flag per parameter: 1 where this rank has a gradient.
    for (std::size_t i = 0; i < b.params.size(); ++i) {
        const Tensor& p = params[b.params[i]];
        NDArray slot = b.flat.slice(0, b.offsets[i], b.offsets[i] + p.numel()).reshape(p.sizes());
        const bool has = p.grad().defined();
        if (has)
            kernels::copy_(slot, p.grad().data());
        else
            kernels::fill_(slot, 0.0);  // no gradient on this rank: zeros from here
        const int64_t flag = b.numel + static_cast<int64_t>(i);
        kernels::fill_(b.flat.slice(0, flag, flag + 1), has ? 1.0 : 0.0);
    }
    const int64_t size = b.flat.numel();
    const char* gather = "DistributedDataParallel (gradient all-gather)";
    const char* reduce = "DistributedDataParallel (gradient all-reduce)";
    if (options.deterministic && blocking)
        comm.all_gather(b.flat.raw_data(), b.gathered.raw_data(), size, b.dtype, gather);
    else if (options.deterministic)
        b.request = comm.iall_gather(b.flat.raw_data(), b.gathered.raw_data(), size, b.dtype, gather);
    else if (blocking)
        comm.all_reduce_sum(b.flat.raw_data(), size, b.dtype, reduce);
    else
        b.request = comm.iall_reduce_sum(b.flat.raw_data(), size, b.dtype, reduce);
    stats.bytes += size * static_cast<int64_t>(element_size(b.dtype));
    ++stats.buckets;
}

void DistributedDataParallel::State::finish_pass() {
    // Every bucket but the last is reduced non-blocking on every rank (MPI never matches a
    // non-blocking collective with a blocking one): those a parameter without a gradient on this
    // rank held back start now, in index order. The last bucket, which the hooks never start, is
    // reduced blocking on every rank once the others are done.
    const auto waiting = Clock::now();
    while (next_bucket + 1 < buckets.size()) start(buckets[next_bucket++]);
    for (Bucket& b : buckets) b.request.wait();
    if (next_bucket < buckets.size()) start(buckets[next_bucket++], true);
    stats.wait_seconds += seconds_since(waiting);
    stats.reduce_seconds += seconds_since(first_start);
    ++stats.passes;
    for (Bucket& b : buckets) write_back(b);
    std::fill(ready.begin(), ready.end(), 0);
    for (Bucket& b : buckets) b.ready = 0;
    next_bucket = 0;
    pass_open = false;
    armed = false;
}

void DistributedDataParallel::State::write_back(Bucket& b) {
    const int world = comm.size();
    const int64_t size = b.flat.numel();
    if (options.deterministic && world > 1) {
        // Rank 0's gradient, plus rank 1's, plus rank 2's ...: the same additions in every launch.
        kernels::copy_(b.flat, b.gathered.slice(0, 0, size));
        for (int r = 1; r < world; ++r)
            kernels::binary_out(kernels::Binary::add, b.flat, b.flat, b.gathered.slice(0, r * size, (r + 1) * size));
    }
    if (world > 1) divide(b.flat, b.numel, world);
    const std::vector<double> had = Tensor(b.flat.slice(0, b.numel, size)).to_vector<double>();
    for (std::size_t i = 0; i < b.params.size(); ++i) {
        const Tensor& p = params[b.params[i]];
        if (had[i] == 0) continue;  // no rank had a gradient: grad() stays undefined, as in PyTorch
        const NDArray averaged = b.flat.slice(0, b.offsets[i], b.offsets[i] + p.numel()).reshape(p.sizes());
        if (p.grad().defined() && !p.grad().requires_grad()) {
            kernels::copy_(p.grad().data(), averaged);
            p.grad().data().bump_version();
        } else {
            p.set_grad(Tensor(averaged.clone()));
        }
    }
}

DistributedDataParallel::DistributedDataParallel(Module& module, DistributedDataParallelOptions options)
    : module_(&module), state_(std::make_shared<State>()) {
    state_->options = options;
    set_up();
}

DistributedDataParallel::DistributedDataParallel(std::shared_ptr<Module> module, DistributedDataParallelOptions options)
    : owned_(std::move(module)), module_(owned_.get()), state_(std::make_shared<State>()) {
    XGRAD_CHECK(module_ != nullptr, "DistributedDataParallel: the module is null");
    state_->options = options;
    set_up();
}

void DistributedDataParallel::set_up() {
    const DistributedDataParallelOptions& o = state_->options;
    distributed::check_initialized_if_launched("DistributedDataParallel");
    register_module("module", *module_);
    const auto named = module_->named_parameters();
    // The options decide the buckets and which collectives run: they must agree too.
    check_same_model(describe_model(*module_) + "options first_bucket_bytes=" + std::to_string(o.first_bucket_bytes) +
                     " bucket_bytes=" + std::to_string(o.bucket_bytes) +
                     " deterministic=" + std::to_string(o.deterministic) + " overlap=" + std::to_string(o.overlap) +
                     " broadcast_buffers=" + std::to_string(o.broadcast_buffers) + "\n");
    // Checked once every rank is known to have the same options: all of them throw, none waits.
    XGRAD_CHECK(o.first_bucket_bytes > 0 && o.bucket_bytes > 0,
                "DistributedDataParallel: bucket sizes must be positive, got first_bucket_bytes = ",
                o.first_bucket_bytes, " and bucket_bytes = ", o.bucket_bytes);
    XGRAD_CHECK(std::any_of(named.begin(), named.end(), [](const auto& p) { return p.second.requires_grad(); }),
                "DistributedDataParallel: the module has no parameter that requires grad: there is nothing to "
                "average (PyTorch refuses it too)");
    {
        NoGradGuard no_grad;
        for (const auto& [name, p] : named) distributed::broadcast(p, 0);
        for (const auto& [name, b] : module_->named_buffers()) distributed::broadcast(b, 0);
    }

    State& s = *state_;
    for (const auto& [name, p] : named)
        if (p.requires_grad()) s.params.push_back(p);
    s.bucket_of.assign(s.params.size(), 0);
    s.ready.assign(s.params.size(), 0);
    // Reverse registration order: backward reaches the last layers first.
    for (int64_t i = static_cast<int64_t>(s.params.size()) - 1; i >= 0; --i) {
        const Tensor& p = s.params[i];
        const int64_t cap = s.buckets.size() == 1 ? o.first_bucket_bytes : o.bucket_bytes;
        const bool open = !s.buckets.empty() && s.buckets.back().dtype == p.dtype() &&
                          s.buckets.back().numel * static_cast<int64_t>(element_size(p.dtype())) < cap;
        if (!open) s.buckets.emplace_back().dtype = p.dtype();
        State::Bucket& b = s.buckets.back();
        s.bucket_of[i] = static_cast<int64_t>(s.buckets.size()) - 1;
        b.params.push_back(i);
        b.offsets.push_back(b.numel);
        b.numel += p.numel();
    }
    for (State::Bucket& b : s.buckets) {
        const int64_t size = b.numel + static_cast<int64_t>(b.params.size());
        // Checked here rather than mid-backward: MPI counts elements in an int.
        XGRAD_CHECK(size <= std::numeric_limits<int>::max() / std::max(1, s.comm.size()),
                    "DistributedDataParallel: a bucket of ", size,
                    " elements is more than one MPI call can reduce (a parameter of more than 2^31 elements?)");
        b.flat = NDArray::empty({size}, b.dtype, "DistributedDataParallel");
        if (o.deterministic) b.gathered = NDArray::empty({s.comm.size() * size}, b.dtype, "DistributedDataParallel");
    }
    for (std::size_t i = 0; i < s.params.size(); ++i)
        s.hooks.push_back(s.params[i].register_post_accumulate_grad_hook(
            [state = state_.get(), i](const Tensor&) { state->on_gradient(static_cast<int64_t>(i)); }));
}

DistributedDataParallel::~DistributedDataParallel() {
    for (std::size_t i = 0; i < state_->params.size(); ++i) state_->params[i].remove_hook(state_->hooks[i]);
}

Tensor DistributedDataParallel::forward(const Tensor& input) {
    State& s = *state_;
    // After a forward that backward will reduce, rank 0's buffers go to every rank before the
    // next forward, also one under NoGradGuard or in eval mode (every rank makes it: the
    // forwards of the wrapper are collective, as PyTorch's are).
    if (s.options.broadcast_buffers && s.buffers_due) {
        NoGradGuard no_grad;
        for (const auto& [name, b] : module_->named_buffers()) distributed::broadcast(b, 0);
    }
    s.buffers_due = GradMode::is_enabled() && s.sync;
    if (!GradMode::is_enabled()) return (*module_)(input);
    s.prepare_for_backward();
    Tensor output = (*module_)(input);
    // The reduction is armed by backward reaching this output, with no_sync as it was here: a
    // backward through the wrapped module alone stays local (on whichever ranks run it), and a
    // second backward through this graph (retain_graph) is averaged again, like the first.
    if (output.requires_grad()) {
        output.register_hook([weak = std::weak_ptr<State>(state_), sync = state_->sync](const Tensor&) {
            if (const auto state = weak.lock(); state && sync) {
                state->armed = true;
                // The pass is reduced even if no parameter gets a gradient on this rank (the
                // output depends on the input alone here): the other ranks wait for it.
                if (!state->pass_open) {
                    state->pass_open = true;
                    autograd::queue_callback([raw = state.get()] { raw->finish_pass(); });
                }
            }
            return Tensor();
        });
    }
    return output;
}

DistributedDataParallel::NoSync::NoSync(DistributedDataParallel* owner)
    : owner_(owner), previous_(owner->state_->sync) {
    owner_->state_->sync = false;
}

DistributedDataParallel::NoSync::NoSync(NoSync&& other) noexcept : owner_(other.owner_), previous_(other.previous_) {
    other.owner_ = nullptr;
}

DistributedDataParallel::NoSync::~NoSync() {
    if (owner_) owner_->state_->sync = previous_;
}

DistributedDataParallel::NoSync DistributedDataParallel::no_sync() {
    return NoSync(this);
}

std::vector<std::vector<int64_t>> DistributedDataParallel::bucket_layout() const {
    // State::params holds the parameters that require grad; map back to parameters() positions.
    const std::vector<Tensor> all = module_->parameters();
    std::vector<std::vector<int64_t>> layout;
    for (const State::Bucket& b : state_->buckets) {
        std::vector<int64_t>& indices = layout.emplace_back();
        for (int64_t i : b.params)
            for (std::size_t j = 0; j < all.size(); ++j)
                if (all[j].impl() == state_->params[i].impl()) indices.push_back(static_cast<int64_t>(j));
    }
    return layout;
}

const DistributedDataParallel::Stats& DistributedDataParallel::stats() const {
    return state_->stats;
}
void DistributedDataParallel::reset_stats() {
    state_->stats = {};
}

}  // namespace xgrad::nn
