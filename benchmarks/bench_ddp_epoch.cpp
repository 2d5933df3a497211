// Data-parallel training over MPI: seconds per epoch of the main example's model (784-256-256-10,
// ReLU, Adam 1e-3, global batch 128 split over the ranks, dropout off) on Fashion-MNIST, and what
// the gradient averaging costs: the seconds backward spent waiting for it at its end (the
// communication it did not hide; backward's seconds include it) and the size of the buffers each
// rank reduced per epoch (an all-reduce moves about twice that per rank; the deterministic mode's
// all-gather world times that).
//
//   mpirun -np 2 bench_ddp_epoch [--epochs 3] [--threads 1] [--overlap 1] [--deterministic 0]
//                                [--first-bucket-kb 1024] [--global-batch 128]
//   bench_ddp_epoch                one process, no wrapper: the baseline
//
// --overlap 0 starts every reduction after backward (as LibTorch's MPI example does): the
// difference in wait time between the two is what the overlap hides. Rank 0 prints.
#include <chrono>
#include <cstdio>
#include <cstring>
#include <memory>
#include <optional>
#include <xgrad/xgrad.hpp>

#include "mlp_benchmark.hpp"

using namespace xgrad;

int main(int argc, char** argv) {
    std::optional<distributed::Guard> mpi;
    if (distributed::launched_by_mpi()) mpi.emplace(argc, argv);
    int threads = 1, epochs = 3;
    bool overlap = true, deterministic = false;
    int64_t first_bucket_kb = 1024, global_batch = 128;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--epochs"))
            epochs = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--overlap"))
            overlap = std::atoi(argv[++i]) != 0;
        else if (!std::strcmp(argv[i], "--deterministic"))
            deterministic = std::atoi(argv[++i]) != 0;
        else if (!std::strcmp(argv[i], "--global-batch"))
            global_batch = std::atoll(argv[++i]);
        else if (!std::strcmp(argv[i], "--first-bucket-kb"))
            first_bucket_kb = std::atoll(argv[++i]);
    }
    const int world = distributed::world_size();
    if (global_batch % world != 0) {
        std::fprintf(stderr, "bench_ddp_epoch: the global batch of %lld does not split over %d ranks\n",
                     static_cast<long long>(global_batch), world);
        return 2;
    }
    set_num_threads(threads);
    manual_seed(0);
    const auto [x, y] = bench::load_standardized_fashion_mnist();
    nn::Sequential model;
    bench::build_mlp(model);
    std::unique_ptr<nn::DistributedDataParallel> parallel;
    if (world > 1)
        parallel = std::make_unique<nn::DistributedDataParallel>(
            model,
            nn::DistributedDataParallelOptions{
                .first_bucket_bytes = first_bucket_kb * 1024, .deterministic = deterministic, .overlap = overlap});
    nn::Module& trained = parallel ? static_cast<nn::Module&>(*parallel) : model;
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    data::TensorDataset dataset(x, y);
    auto shards =
        std::make_shared<data::DistributedSampler>(dataset.size(), data::DistributedSamplerOptions{.seed = 1});
    data::DataLoader loader(dataset, {.batch_size = global_batch / world, .sampler = shards});

    std::vector<double> seconds, waits, forwards, backwards;
    using Clock = std::chrono::steady_clock;
    auto since = [](Clock::time_point t) { return std::chrono::duration<double>(Clock::now() - t).count(); };
    double last_loss = 0;
    for (int epoch = 0; epoch < epochs; ++epoch) {
        shards->set_epoch(epoch);
        if (parallel) parallel->reset_stats();
        distributed::barrier();
        const auto start = Clock::now();
        double forward = 0, backward = 0;
        for (const data::Batch& batch : loader) {
            opt.zero_grad();
            auto t = Clock::now();
            Tensor loss = nn::F::cross_entropy(trained(batch.data), batch.target);
            forward += since(t);
            t = Clock::now();
            loss.backward();
            backward += since(t);
            opt.step();
            last_loss = loss.item();
        }
        forwards.push_back(forward);
        backwards.push_back(backward);
        distributed::barrier();
        seconds.push_back(std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
        waits.push_back(parallel ? parallel->stats().wait_seconds : 0.0);
    }
    // The median epoch, and the wait of that same epoch.
    std::vector<std::size_t> order(seconds.size());
    for (std::size_t i = 0; i < order.size(); ++i) order[i] = i;
    std::sort(order.begin(), order.end(), [&](std::size_t a, std::size_t b) { return seconds[a] < seconds[b]; });
    const std::size_t median = order[order.size() / 2];
    if (distributed::rank() == 0) {
        const double mb = parallel ? static_cast<double>(parallel->stats().bytes) / 1e6 : 0.0;
        char setting[160];
        std::snprintf(setting, sizeof setting,
                      "ranks=%d threads=%d batch=%lld first_bucket_kb=%lld overlap=%d deterministic=%d", world, threads,
                      static_cast<long long>(global_batch), static_cast<long long>(first_bucket_kb), overlap,
                      deterministic);
        std::printf("ddp_epoch_seconds\t%s\t%.3f\ts\n", setting, seconds[median]);
        std::printf("ddp_forward_seconds\t%s\t%.3f\ts\n", setting, forwards[median]);
        std::printf("ddp_backward_seconds\t%s\t%.3f\ts\n", setting, backwards[median]);
        std::printf("ddp_wait_seconds\t%s\t%.3f\ts\n", setting, waits[median]);
        std::printf("ddp_reduced_mb_per_epoch\t%s buckets=%zu\t%.1f\tMB\n", setting,
                    parallel ? parallel->bucket_layout().size() : 0, mb);
        std::fprintf(stderr, "xgrad: last batch loss %.4f\n", last_loss);
    }
    return 0;
}
