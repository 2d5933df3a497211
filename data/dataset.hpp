#pragma once
/// Datasets and the DataLoader: shuffled mini-batches, collated into tensors.
///
///     data::TensorDataset train(images, labels);
///     data::DataLoader loader(train, {.batch_size = 128, .shuffle = true});
///     for (const data::Batch& batch : loader) { ... batch.data, batch.target ... }
///
/// Every epoch (every range-for) visits each sample exactly once, reshuffled from the loader's
/// generator, so one seed reproduces the whole sequence of batches.

#include <cstdint>
#include <future>
#include <memory>
#include <vector>

#include "autograd/tensor.hpp"

namespace xgrad::data {

struct Example {
    Tensor data;
    Tensor target;
};

struct Batch {
    Tensor data;    ///< [B, ...]
    Tensor target;  ///< [B, ...]
    int64_t size() const { return data.size(0); }
};

/// A data set: its size and one example by index. get_batch has a default (stack the examples)
/// that tensor-backed datasets replace with one gather.
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

struct DataLoaderOptions {
    int64_t batch_size = 1;
    bool shuffle = false;
    bool drop_last = false;          ///< skip a last batch smaller than batch_size
    Generator* generator = nullptr;  ///< for shuffling; the default generator when null
    bool prefetch = false;           ///< assemble the next batch on a worker thread meanwhile
};

class DataLoader {
public:
    DataLoader(const Dataset& dataset, DataLoaderOptions options = {});

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
    const DataLoaderOptions& options() const { return options_; }

private:
    Batch assemble(const std::vector<int64_t>& order, int64_t batch) const;
    const Dataset& dataset_;
    DataLoaderOptions options_;
};

}  // namespace xgrad::data
