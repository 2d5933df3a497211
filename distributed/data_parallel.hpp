#pragma once
/// nn::DistributedDataParallel: data-parallel training over MPI, one process per rank, each with
/// a full copy of the model and its own shard of every batch (torch.nn.parallel.DistributedDataParallel).
///
///     distributed::Guard mpi(argc, argv);
///     Net net;                                   // same construction on every rank
///     nn::DistributedDataParallel model(net);    // rank 0's parameters and buffers everywhere
///     optim::Adam adam(model.parameters(), {.lr = 1e-3});
///     for (const auto& batch : loader) {         // a DistributedSampler: this rank's shard
///         adam.zero_grad();
///         nn::F::cross_entropy(model(batch.data), batch.target).backward();   // gradients averaged
///         adam.step();                           // the same step on every rank
///     }
///
/// How the averaging overlaps backward: the parameters are grouped into buckets in reverse
/// registration order (about the order backward produces their gradients), the first bucket
/// small (1 MiB) so communication starts early, the others 25 MiB. When backward has accumulated
/// the gradient of every parameter of a bucket (a post-accumulate-grad hook on each), the bucket
/// is copied into one flat buffer and its all-reduce started without blocking, while backward goes
/// on with earlier layers. Buckets always start in the same order on every rank (bucket k waits
/// for bucket k - 1), as MPI requires. Before backward() returns, every reduction is waited for
/// and the averages are written back into each grad(). A parameter that got no gradient on this
/// rank in a pass contributes its grad() as it is (zeros when undefined); one that got none on any
/// rank keeps an undefined grad(), as in PyTorch.
///
/// Only a backward pass that reaches an output of the wrapper reduces (a hook on each output arms
/// it): a backward through the wrapped module itself stays local, and a second backward through
/// the same graph (retain_graph) is averaged again. Every rank must build the same model (checked
/// at construction: names, shapes, dtypes, frozen parameters and buffers, and the options) and run
/// the same forward and backward passes.

#include <memory>
#include <vector>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

struct DistributedDataParallelOptions {
    /// The first bucket closes once it holds this many bytes: the last layers' gradients, which
    /// backward produces first, start their reduction early.
    int64_t first_bucket_bytes = int64_t{1} << 20;
    /// Every later bucket closes at this many bytes: fewer, larger messages.
    int64_t bucket_bytes = int64_t{25} << 20;
    /// Sum the ranks' gradients here in rank order (each bucket gathered from every rank, then
    /// added 0 + 1 + 2 ...) instead of in MPI's reduction, whose order may change with the
    /// library, the world size or the message size: bitwise the same result in every launch,
    /// for world_size times the traffic.
    bool deterministic = false;
    /// Start reductions from backward's hooks (true) or all after backward, as LibTorch's MPI
    /// example does (false): for measuring what the overlap saves.
    bool overlap = true;
    /// Copy rank 0's buffers (BatchNorm's running statistics) to every rank at the start of each
    /// forward that follows a forward with gradients and sync on, whatever the mode of this one,
    /// as PyTorch does (its default too): an evaluation through the wrapper sees rank 0's
    /// statistics on every rank. Off: each rank keeps the statistics of its own shard.
    bool broadcast_buffers = true;
};

class DistributedDataParallel : public Module {
public:
    using Options = DistributedDataParallelOptions;
    /// Wraps module (not owned: it must outlive this wrapper). Collective: every rank constructs
    /// its wrapper at the same point; rank 0's parameters and buffers are broadcast to the others.
    explicit DistributedDataParallel(Module& module, DistributedDataParallelOptions options = {});
    /// Wraps and keeps module alive.
    explicit DistributedDataParallel(std::shared_ptr<Module> module, DistributedDataParallelOptions options = {});
    ~DistributedDataParallel() override;

    Tensor forward(const Tensor& input) override;
    std::string type_name() const override { return "DistributedDataParallel"; }
    /// The wrapped module: save and load checkpoints of it, so that any world size can load them
    /// (the wrapper's own names carry a "module." prefix, as in PyTorch).
    Module& module() const { return *module_; }

    /// The outputs of forwards made while a NoSync lives are not reduced in backward: those passes
    /// only accumulate gradients on each rank (micro-batches of one large batch), and the first
    /// backward through an output made after it averages everything accumulated.
    class NoSync {
    public:
        ~NoSync();
        NoSync(NoSync&& other) noexcept;
        NoSync(const NoSync&) = delete;
        NoSync& operator=(const NoSync&) = delete;
        NoSync& operator=(NoSync&&) = delete;

    private:
        friend class DistributedDataParallel;
        explicit NoSync(DistributedDataParallel* owner);
        DistributedDataParallel* owner_;
        bool previous_;
    };
    [[nodiscard]] NoSync no_sync();

    /// Parameter indices (into parameters() of the wrapped module) of each bucket, in the order
    /// the buckets are reduced.
    std::vector<std::vector<int64_t>> bucket_layout() const;

    /// What the reductions cost: wait_seconds is the time backward() spent waiting for them at its
    /// end (the communication backward did not hide), reduce_seconds the time from the first
    /// bucket's start to the last one's end.
    struct Stats {
        int64_t passes = 0, buckets = 0, bytes = 0;
        double wait_seconds = 0, reduce_seconds = 0;
    };
    const Stats& stats() const;
    void reset_stats();

private:
    struct State;
    void set_up();
    std::shared_ptr<Module> owned_;
    Module* module_;
    std::shared_ptr<State> state_;  // shared: the hook on each output holds it weakly
};

}  // namespace xgrad::nn
