#pragma once
/// Samplers: which dataset indices a DataLoader visits in one epoch, and in what order, as in
/// torch.utils.data.
///
///     // An imbalanced set: draw each class about equally often.
///     auto sampler = std::make_shared<data::WeightedRandomSampler>(per_sample_weights, train.size());
///     data::DataLoader loader(train, {.batch_size = 64, .sampler = sampler});
///
/// A sampler draws from the generator it is given (the loader's, or the default one), so one
/// seed reproduces every epoch's order.

#include <cstdint>
#include <vector>

#include <xgrad/tensor/random.hpp>

namespace xgrad::data {

class Sampler {
public:
    virtual ~Sampler() = default;
    /// The indices of one epoch, drawn from gen where the sampler is random.
    virtual std::vector<int64_t> epoch(Generator& gen) const = 0;
    /// How many indices every epoch has.
    virtual int64_t size() const = 0;
};

/// 0, 1, ..., n - 1.
class SequentialSampler : public Sampler {
public:
    explicit SequentialSampler(int64_t n);
    std::vector<int64_t> epoch(Generator& gen) const override;
    int64_t size() const override { return n_; }

private:
    int64_t n_;
};

struct RandomSamplerOptions {
    bool replacement = false;
    /// Indices per epoch; -1 means n. Without replacement, more than n takes further permutations.
    int64_t num_samples = -1;
};

/// A random permutation of 0..n-1 every epoch, or num_samples uniform draws with replacement.
class RandomSampler : public Sampler {
public:
    explicit RandomSampler(int64_t n, RandomSamplerOptions options = {});
    std::vector<int64_t> epoch(Generator& gen) const override;
    int64_t size() const override { return num_samples_; }

private:
    int64_t n_, num_samples_;
    bool replacement_;
};

/// The given indices in a random order every epoch (a validation split, a class subset).
class SubsetRandomSampler : public Sampler {
public:
    explicit SubsetRandomSampler(std::vector<int64_t> indices);
    std::vector<int64_t> epoch(Generator& gen) const override;
    int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
    const std::vector<int64_t>& indices() const { return indices_; }

private:
    std::vector<int64_t> indices_;
};

/// num_samples indices, index i drawn with probability weights[i] / sum(weights). With
/// replacement the draws are independent; without, each draw takes one of the indices left with
/// probability proportional to its weight (torch.multinomial's rule), so indices of weight zero
/// never appear and num_samples may not exceed the number of positive weights.
class WeightedRandomSampler : public Sampler {
public:
    WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, bool replacement = true);
    std::vector<int64_t> epoch(Generator& gen) const override;
    int64_t size() const override { return num_samples_; }

private:
    std::vector<double> weights_;
    std::vector<double> cumulative_;  // running sums, for draws with replacement
    int64_t num_samples_;
    bool replacement_;
};

struct DistributedSamplerOptions {
    int num_replicas = -1;  ///< processes sharing the data; -1: distributed::world_size()
    int rank = -1;          ///< this process's shard; -1: distributed::rank()
    bool shuffle = true;    ///< a fresh permutation every epoch (else 0..n-1)
    uint64_t seed = 0;      ///< the permutation of epoch e is drawn from Generator(seed + e) on every rank
    /// Uneven n: drop the tail so every shard is n / num_replicas long; otherwise pad with the
    /// first indices again up to ceil(n / num_replicas) per shard.
    bool drop_last = false;
};

/// Data-parallel training's sampler (torch.utils.data.DistributedSampler): every rank draws the
/// same permutation, from the shared seed and the epoch number rather than the loader's
/// generator, and takes every num_replicas-th index of it from its rank on, so the shards of an
/// epoch are disjoint and together cover the data set. Every shard has the same length (padding
/// or dropping, see drop_last), so all ranks take the same number of steps. Call set_epoch(e)
/// before each epoch, or every epoch repeats the first one's order.
///
///     auto sampler = std::make_shared<data::DistributedSampler>(train.size(), data::DistributedSamplerOptions{.seed =
///     1}); data::DataLoader loader(train, {.batch_size = 64, .sampler = sampler}); for (int epoch = 0; epoch < epochs;
///     ++epoch) { sampler->set_epoch(epoch); for (auto& batch : loader) ...; }
class DistributedSampler : public Sampler {
public:
    explicit DistributedSampler(int64_t n, DistributedSamplerOptions options = {});
    /// This rank's shard of epoch set_epoch(e)'s order; gen is not used (the ranks must agree).
    std::vector<int64_t> epoch(Generator& gen) const override;
    int64_t size() const override { return shard_size_; }
    void set_epoch(int64_t epoch) { epoch_ = epoch; }
    int num_replicas() const { return replicas_; }
    int rank() const { return rank_; }

private:
    int64_t n_, shard_size_, epoch_ = 0;
    int replicas_, rank_;
    DistributedSamplerOptions options_;
};

/// Per-sample weights that make every class equally likely under a WeightedRandomSampler:
/// 1 / (count of the sample's class). labels are class indices in [0, classes).
std::vector<double> balanced_class_weights(const std::vector<int64_t>& labels);

}  // namespace xgrad::data
