#include <xgrad/data/sampler.hpp>

#include <algorithm>
#include <cmath>
#include <numeric>
#include <utility>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/distributed/distributed.hpp>

namespace xgrad::data {
namespace {
// randperm's order, so a RandomSampler visits what DataLoader's shuffle = true visits.
std::vector<int64_t> permutation(int64_t n, Generator& gen) {
    return randperm(n, &gen).to_vector<int64_t>();
}
}  // namespace

namespace {
// The world's size or this rank, for a -1 option: only once MPI is up, when launched under it.
int world_value(int option, int (*of_world)()) {
    if (option != -1) return option;
    distributed::check_initialized_if_launched("DistributedSampler");
    return of_world();
}
}  // namespace

DistributedSampler::DistributedSampler(int64_t n, DistributedSamplerOptions options)
    : n_(n),
      replicas_(world_value(options.num_replicas, distributed::world_size)),
      rank_(world_value(options.rank, distributed::rank)),
      options_(options) {
    XGRAD_CHECK(n >= 0, "DistributedSampler: expected a non-negative size, got ", n);
    XGRAD_CHECK(replicas_ >= 1, "DistributedSampler: num_replicas must be at least 1 (or -1 for the world size), got ",
                options.num_replicas);
    XGRAD_CHECK(rank_ >= 0 && rank_ < replicas_, "DistributedSampler: rank ", rank_, " is not in [0, ", replicas_, ")");
    shard_size_ = options.drop_last ? n / replicas_ : (n + replicas_ - 1) / replicas_;
}

std::vector<int64_t> DistributedSampler::epoch(Generator&) const {
    std::vector<int64_t> order;
    if (options_.shuffle) {
        Generator shared(options_.seed + static_cast<uint64_t>(epoch_));
        order = permutation(n_, shared);
    } else {
        order.resize(static_cast<std::size_t>(n_));
        std::iota(order.begin(), order.end(), int64_t{0});
    }
    const auto total = static_cast<std::size_t>(shard_size_ * replicas_);
    // Pad by repeating the order from its start (as often as needed when n < num_replicas).
    for (std::size_t i = 0; order.size() < total && n_ > 0; ++i) order.push_back(order[i]);
    order.resize(std::min(order.size(), total));
    std::vector<int64_t> shard;
    shard.reserve(static_cast<std::size_t>(shard_size_));
    for (std::size_t i = static_cast<std::size_t>(rank_); i < order.size(); i += static_cast<std::size_t>(replicas_))
        shard.push_back(order[i]);
    return shard;
}

SequentialSampler::SequentialSampler(int64_t n) : n_(n) {
    XGRAD_CHECK(n >= 0, "SequentialSampler: expected a non-negative size, got ", n);
}

std::vector<int64_t> SequentialSampler::epoch(Generator&) const {
    std::vector<int64_t> order(static_cast<std::size_t>(n_));
    std::iota(order.begin(), order.end(), int64_t{0});
    return order;
}

RandomSampler::RandomSampler(int64_t n, RandomSamplerOptions options)
    : n_(n), num_samples_(options.num_samples < 0 ? n : options.num_samples), replacement_(options.replacement) {
    XGRAD_CHECK(n >= 0, "RandomSampler: expected a non-negative size, got ", n);
    XGRAD_CHECK(options.num_samples > 0 || options.num_samples == -1,
                "RandomSampler: num_samples must be positive (or -1 for all), got ", options.num_samples);
    XGRAD_CHECK(n > 0 || num_samples_ == 0, "RandomSampler: cannot draw ", num_samples_, " samples from an empty set");
}

std::vector<int64_t> RandomSampler::epoch(Generator& gen) const {
    auto hold = gen.lock();
    std::vector<int64_t> order;
    order.reserve(static_cast<std::size_t>(num_samples_));
    if (replacement_) {
        for (int64_t i = 0; i < num_samples_; ++i)
            order.push_back(static_cast<int64_t>(gen.next_below(static_cast<uint64_t>(n_))));
        return order;
    }
    while (static_cast<int64_t>(order.size()) < num_samples_) {  // whole permutations, the last one cut
        const std::vector<int64_t> perm = permutation(n_, gen);
        const auto take = std::min<std::size_t>(perm.size(), static_cast<std::size_t>(num_samples_) - order.size());
        order.insert(order.end(), perm.begin(), perm.begin() + static_cast<std::ptrdiff_t>(take));
    }
    return order;
}

SubsetRandomSampler::SubsetRandomSampler(std::vector<int64_t> indices) : indices_(std::move(indices)) {
    for (std::size_t i = 0; i < indices_.size(); ++i)
        XGRAD_CHECK(indices_[i] >= 0, "SubsetRandomSampler: index ", i, " is negative (", indices_[i], ")");
}

std::vector<int64_t> SubsetRandomSampler::epoch(Generator& gen) const {
    auto hold = gen.lock();
    std::vector<int64_t> order;
    order.reserve(indices_.size());
    for (int64_t k : permutation(static_cast<int64_t>(indices_.size()), gen))
        order.push_back(indices_[static_cast<std::size_t>(k)]);
    return order;
}

WeightedRandomSampler::WeightedRandomSampler(std::vector<double> weights, int64_t num_samples, bool replacement)
    : weights_(std::move(weights)), num_samples_(num_samples), replacement_(replacement) {
    XGRAD_CHECK(!weights_.empty(), "WeightedRandomSampler: no weights");
    XGRAD_CHECK(num_samples > 0, "WeightedRandomSampler: num_samples must be positive, got ", num_samples);
    int64_t positive = 0;
    double total = 0;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
        XGRAD_CHECK(std::isfinite(weights_[i]) && weights_[i] >= 0, "WeightedRandomSampler: weight ", i,
                    " must be finite and non-negative, got ", weights_[i]);
        positive += weights_[i] > 0;
        total += weights_[i];
        cumulative_.push_back(total);
    }
    XGRAD_CHECK(positive > 0, "WeightedRandomSampler: all ", weights_.size(), " weights are zero");
    // Finite weights whose sum overflows would send every draw to the last index.
    XGRAD_CHECK(std::isfinite(total), "WeightedRandomSampler: the weights sum to ", total,
                "; scale them down (only their ratios matter)");
    XGRAD_CHECK(replacement || num_samples <= positive, "WeightedRandomSampler: cannot draw ", num_samples,
                " samples without replacement from ", positive, " indices of positive weight");
}

std::vector<int64_t> WeightedRandomSampler::epoch(Generator& gen) const {
    auto hold = gen.lock();
    std::vector<int64_t> order;
    order.reserve(static_cast<std::size_t>(num_samples_));
    if (replacement_) {
        // Inverse CDF: the first running sum above u * total. An index of weight zero has the same
        // running sum as the one before it, so upper_bound never lands on it.
        const double total = cumulative_.back();
        for (int64_t i = 0; i < num_samples_; ++i) {
            const double u = gen.next_double() * total;
            const auto at = std::upper_bound(cumulative_.begin(), cumulative_.end(), u) - cumulative_.begin();
            order.push_back(std::min<int64_t>(at, static_cast<int64_t>(weights_.size()) - 1));
        }
        return order;
    }
    // Efraimidis and Spirakis (2006): the indices sorted by u^(1 / w), largest first, are
    // distributed as successive draws proportional to the weights left. log(u) / w keeps the
    // order and does not underflow.
    std::vector<std::pair<double, int64_t>> keys;
    for (std::size_t i = 0; i < weights_.size(); ++i) {
        const double u = gen.next_double();
        if (weights_[i] > 0)
            keys.emplace_back(std::log1p(-u) / weights_[i], static_cast<int64_t>(i));  // log(1 - u): u may be 0
    }
    std::partial_sort(keys.begin(), keys.begin() + num_samples_, keys.end(), [](const auto& a, const auto& b) {
        return a.first > b.first || (a.first == b.first && a.second < b.second);
    });
    for (int64_t i = 0; i < num_samples_; ++i) order.push_back(keys[static_cast<std::size_t>(i)].second);
    return order;
}

std::vector<double> balanced_class_weights(const std::vector<int64_t>& labels) {
    int64_t classes = 0;
    for (std::size_t i = 0; i < labels.size(); ++i) {
        XGRAD_CHECK(labels[i] >= 0, "balanced_class_weights: label ", i, " is negative (", labels[i], ")");
        classes = std::max(classes, labels[i] + 1);
    }
    std::vector<int64_t> counts(static_cast<std::size_t>(classes), 0);
    for (int64_t label : labels) ++counts[static_cast<std::size_t>(label)];
    std::vector<double> weights;
    weights.reserve(labels.size());
    for (int64_t label : labels) weights.push_back(1.0 / static_cast<double>(counts[static_cast<std::size_t>(label)]));
    return weights;
}

}  // namespace xgrad::data
