#include "data/dataset.hpp"

#include "autograd/ops.hpp"

namespace xgrad::data {

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
    std::vector<Tensor> data, target;
    for (int64_t i : indices) {
        Example e = get(i);
        data.push_back(e.data);
        target.push_back(e.target);
    }
    return {stack(data), stack(target)};
}

TensorDataset::TensorDataset(Tensor data, Tensor target) : data_(std::move(data)), target_(std::move(target)) {
    XGRAD_CHECK(data_.dim() >= 1 && target_.dim() >= 1, "TensorDataset: data and target need a sample dimension");
    XGRAD_CHECK(data_.size(0) == target_.size(0), "TensorDataset: ", data_.size(0), " samples of data (shape ",
                data_.sizes(), ") but ", target_.size(0), " targets (shape ", target_.sizes(), ")");
    data_ = data_.contiguous();
    target_ = target_.contiguous();
}

Example TensorDataset::get(int64_t index) const {
    XGRAD_CHECK(index >= 0 && index < size(), "TensorDataset: index ", index, " is out of range for ", size(), " samples");
    return {data_.select(0, index), target_.select(0, index)};
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
    const Tensor idx = from_vector(indices, {static_cast<int64_t>(indices.size())});
    return {index_select(data_, 0, idx), index_select(target_, 0, idx)};
}

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options) : dataset_(dataset), options_(options) {
    XGRAD_CHECK(options.batch_size > 0, "DataLoader: batch_size must be positive, got ", options.batch_size);
}

int64_t DataLoader::size() const {
    const int64_t n = dataset_.size(), b = options_.batch_size;
    return options_.drop_last ? n / b : (n + b - 1) / b;
}

Batch DataLoader::assemble(const std::vector<int64_t>& order, int64_t batch) const {
    const int64_t start = batch * options_.batch_size;
    const int64_t stop = std::min<int64_t>(start + options_.batch_size, static_cast<int64_t>(order.size()));
    return dataset_.get_batch(std::vector<int64_t>(order.begin() + start, order.begin() + stop));
}

DataLoader::Iterator DataLoader::begin() const {
    // Each epoch draws a new permutation from the loader's generator.
    auto order = std::make_shared<std::vector<int64_t>>(
        (options_.shuffle ? randperm(dataset_.size(), options_.generator) : arange(dataset_.size())).to_vector<int64_t>());
    return Iterator(this, std::move(order), 0);
}

DataLoader::Iterator DataLoader::end() const { return Iterator(this, nullptr, size()); }

DataLoader::Iterator::Iterator(const DataLoader* loader, std::shared_ptr<std::vector<int64_t>> order, int64_t batch)
    : loader_(loader), order_(std::move(order)), batch_(batch) {
    if (order_ && batch_ < loader_->size()) load();
}

void DataLoader::Iterator::load() {
    current_ = next_.valid() ? next_.get() : loader_->assemble(*order_, batch_);
    next_ = std::shared_future<Batch>();
    if (loader_->options_.prefetch && batch_ + 1 < loader_->size()) {
        const DataLoader* loader = loader_;
        auto order = order_;
        const int64_t next = batch_ + 1;
        next_ = std::async(std::launch::async, [loader, order, next] { return loader->assemble(*order, next); }).share();
    }
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    ++batch_;
    if (batch_ < loader_->size()) load();
    return *this;
}

}  // namespace xgrad::data
