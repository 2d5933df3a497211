#pragma once
/// Datasets and the DataLoader: shuffled mini-batches, collated into tensors.
///
///     data::TensorDataset train(images, labels);
///     data::DataLoader loader(train, {.batch_size = 128, .shuffle = true});
///     for (const data::Batch& batch : loader) { ... batch.data, batch.target ... }
///
/// Every epoch (every range-for) visits each sample exactly once, reshuffled from the loader's
/// generator, so one seed reproduces the whole sequence of batches. A Sampler chooses another
/// order or multiset (weighted draws for an imbalanced set, a subset), and a collate function
/// builds batches the default stacking cannot (texts of different lengths, padded, with their
/// lengths as an extra field):
///
///     data::DataLoader loader(texts, {.batch_size = 32, .collate = [](std::vector<data::Example> examples) {
///         ... pad to the longest ...
///         return data::Batch{padded, labels, {{"lengths", lengths}}};
///     }});
///     for (const data::Batch& batch : loader) model(batch.data, batch.field("lengths"));

#include <cstdint>
#include <functional>
#include <future>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>
#include <xgrad/data/sampler.hpp>

namespace xgrad::data {

struct Example {
    Tensor data;
    Tensor target;
    std::map<std::string, Tensor> fields;  ///< anything else a sample carries (a length, an id)
};

struct Batch {
    Tensor data;                           ///< [B, ...]
    Tensor target;                         ///< [B, ...]
    std::map<std::string, Tensor> fields;  ///< extra per-batch tensors: lengths, masks, ids
    /// Examples in the batch: the first dimension of data, else of the target, else of the first
    /// field (by name) that has one (a collate that returns only fields); an error when none has.
    int64_t size() const;
    /// The named extra field; an error lists the fields there are.
    const Tensor& field(const std::string& name) const;
};

/// A data set: its size and one example by index. get_batch has a default (stack the examples'
/// data, targets and fields) that tensor-backed datasets replace with one gather.
class Dataset {
public:
    virtual ~Dataset() = default;
    virtual int64_t size() const = 0;
    virtual Example get(int64_t index) const = 0;
    virtual Batch get_batch(const std::vector<int64_t>& indices) const;
};

/// Rows of a data tensor and a target tensor, both indexed along dim 0.
class TensorDataset : public Dataset {
public:
    TensorDataset(Tensor data, Tensor target);
    int64_t size() const override { return data_.size(0); }
    Example get(int64_t index) const override;
    Batch get_batch(const std::vector<int64_t>& indices) const override;
    const Tensor& data() const { return data_; }
    const Tensor& target() const { return target_; }

private:
    Tensor data_, target_;
};

/// The examples of `dataset` at `indices`, in that order (PyTorch's Subset): a validation split,
/// a class's examples. It reads the dataset, which must outlive it; batches come from the
/// dataset's own get_batch (one gather for a TensorDataset).
class Subset : public Dataset {
public:
    Subset(const Dataset& dataset, std::vector<int64_t> indices);
    Subset(const Dataset&& dataset, std::vector<int64_t> indices) = delete;  // would dangle
    int64_t size() const override { return static_cast<int64_t>(indices_.size()); }
    Example get(int64_t index) const override;
    Batch get_batch(const std::vector<int64_t>& indices) const override;
    /// The positions in the underlying dataset.
    const std::vector<int64_t>& indices() const { return indices_; }

private:
    const Dataset* dataset_;
    std::vector<int64_t> indices_;
};

/// torch.utils.data.random_split: the dataset's examples shuffled (randperm from `generator`, or
/// the default one) and cut into consecutive subsets of the given lengths, which must sum to
/// its size.
std::vector<Subset> random_split(const Dataset& dataset, const std::vector<int64_t>& lengths,
                                 Generator* generator = nullptr);
std::vector<Subset> random_split(const Dataset&& dataset, const std::vector<int64_t>& lengths,
                                 Generator* generator = nullptr) = delete;  // the subsets would dangle

/// Examples stacked along a new first dimension: data, target and each field (every example
/// must carry the same fields, with equal shapes). The DataLoader's default collate.
Batch default_collate(const std::vector<Example>& examples);

struct DataLoaderOptions {
    int64_t batch_size = 1;
    bool shuffle = false;
    bool drop_last = false;          ///< skip a last batch smaller than batch_size
    Generator* generator = nullptr;  ///< for shuffling and samplers; the default generator when null
    bool prefetch = false;           ///< assemble the next batch on a worker thread meanwhile
    /// The indices of each epoch (instead of shuffle, which must then stay false). Indices must
    /// lie in [0, dataset size).
    std::shared_ptr<const Sampler> sampler;
    /// Builds a batch from its examples (Dataset::get of each index); when empty, the dataset's
    /// get_batch (default_collate for a plain Dataset, one gather for a TensorDataset).
    std::function<Batch(std::vector<Example>)> collate;
};

class DataLoader {
public:
    /// Reads `dataset`, which must outlive the loader (it is not copied: a dataset can be large).
    DataLoader(const Dataset& dataset, DataLoaderOptions options = {});
    /// A temporary dataset would be gone before the first batch: a compile error, not a dangling
    /// reference. Keep the dataset in a variable of its own.
    DataLoader(const Dataset&& dataset, DataLoaderOptions options = {}) = delete;

    class Iterator {
    public:
        Iterator(const DataLoader* loader, std::shared_ptr<std::vector<int64_t>> order, int64_t batch);
        const Batch& operator*() const { return current_; }
        const Batch* operator->() const { return &current_; }
        Iterator& operator++();
        bool operator!=(const Iterator& other) const { return batch_ != other.batch_; }

    private:
        void load();
        const DataLoader* loader_;
        std::shared_ptr<std::vector<int64_t>> order_;
        int64_t batch_;
        Batch current_;
        std::shared_future<Batch> next_;
    };

    /// Starts an epoch: a fresh order (shuffled if asked) and the first batch.
    Iterator begin() const;
    Iterator end() const;
    /// Batches per epoch.
    int64_t size() const;
    /// Examples per epoch: the sampler's size, else the dataset's.
    int64_t examples_per_epoch() const;
    const DataLoaderOptions& options() const { return options_; }

private:
    Batch assemble(const std::vector<int64_t>& order, int64_t batch) const;
    const Dataset& dataset_;
    DataLoaderOptions options_;
};

}  // namespace xgrad::data
