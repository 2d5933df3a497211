#include <xgrad/data/dataset.hpp>

#include <xgrad/autograd/ops.hpp>

namespace xgrad::data {

int64_t Batch::size() const {
    if (data.defined()) return data.size(0);
    if (target.defined()) return target.size(0);
    for (const auto& [name, field] : fields)
        if (field.defined() && field.dim() > 0) return field.size(0);
    XGRAD_CHECK(false, "Batch::size: the batch has no data, target or field with a first dimension to count");
    return 0;
}

const Tensor& Batch::field(const std::string& name) const {
    auto it = fields.find(name);
    if (it == fields.end()) {
        std::string names;
        for (const auto& [key, value] : fields) names += (names.empty() ? "" : ", ") + key;
        fail("Batch::field: no field \"", name, "\" (the batch has ", names.empty() ? "none" : names, ")");
    }
    return it->second;
}

Batch default_collate(const std::vector<Example>& examples) {
    XGRAD_CHECK(!examples.empty(), "default_collate: no examples");
    std::vector<Tensor> data, target;
    std::map<std::string, std::vector<Tensor>> fields;
    for (std::size_t i = 0; i < examples.size(); ++i) {
        const Example& e = examples[i];
        XGRAD_CHECK(e.fields.size() == examples[0].fields.size(), "default_collate: example ", i, " has ",
                    e.fields.size(), " fields but example 0 has ", examples[0].fields.size());
        data.push_back(e.data);
        target.push_back(e.target);
        for (const auto& [name, value] : e.fields) {
            XGRAD_CHECK(examples[0].fields.count(name), "default_collate: example ", i, " has a field \"", name,
                        "\" that example 0 lacks");
            fields[name].push_back(value);
        }
    }
    // Stacking checks the shapes and names the sizes; a missing tensor stays missing.
    auto stack_defined = [](const std::vector<Tensor>& parts) {
        return parts.front().defined() ? stack(parts) : Tensor();
    };
    Batch batch{stack_defined(data), stack_defined(target), {}};
    for (auto& [name, parts] : fields) batch.fields[name] = stack(parts);
    return batch;
}

namespace {
std::vector<Example> examples_at(const Dataset& dataset, const std::vector<int64_t>& indices) {
    std::vector<Example> examples;
    examples.reserve(indices.size());
    for (int64_t i : indices) examples.push_back(dataset.get(i));
    return examples;
}
}  // namespace

Batch Dataset::get_batch(const std::vector<int64_t>& indices) const {
    return default_collate(examples_at(*this, indices));
}

TensorDataset::TensorDataset(Tensor data, Tensor target) : data_(std::move(data)), target_(std::move(target)) {
    XGRAD_CHECK(data_.dim() >= 1 && target_.dim() >= 1, "TensorDataset: data and target need a sample dimension");
    XGRAD_CHECK(data_.size(0) == target_.size(0), "TensorDataset: ", data_.size(0), " samples of data (shape ",
                data_.sizes(), ") but ", target_.size(0), " targets (shape ", target_.sizes(), ")");
    data_ = data_.contiguous();
    target_ = target_.contiguous();
}

Example TensorDataset::get(int64_t index) const {
    XGRAD_CHECK(index >= 0 && index < size(), "TensorDataset: index ", index, " is out of range for ", size(),
                " samples");
    return {data_.select(0, index), target_.select(0, index), {}};
}

Batch TensorDataset::get_batch(const std::vector<int64_t>& indices) const {
    const Tensor idx = from_vector(indices, {static_cast<int64_t>(indices.size())});
    return {index_select(data_, 0, idx), index_select(target_, 0, idx), {}};
}

Subset::Subset(const Dataset& dataset, std::vector<int64_t> indices)
    : dataset_(&dataset), indices_(std::move(indices)) {
    const int64_t n = dataset.size();
    for (std::size_t i = 0; i < indices_.size(); ++i)
        XGRAD_CHECK(indices_[i] >= 0 && indices_[i] < n, "Subset: index ", indices_[i], " (position ", i,
                    ") is out of range for a dataset of ", n, " examples");
}

namespace {
// The position in the underlying dataset of a subset's example `index`, checked.
int64_t underlying_index(const std::vector<int64_t>& positions, int64_t index) {
    const auto size = static_cast<int64_t>(positions.size());
    XGRAD_CHECK(index >= 0 && index < size, "Subset: index ", index, " is out of range for a subset of ", size,
                " examples");
    return positions[static_cast<std::size_t>(index)];
}
}  // namespace

Example Subset::get(int64_t index) const {
    return dataset_->get(underlying_index(indices_, index));
}

Batch Subset::get_batch(const std::vector<int64_t>& indices) const {
    std::vector<int64_t> underlying;
    underlying.reserve(indices.size());
    for (int64_t index : indices) underlying.push_back(underlying_index(indices_, index));
    return dataset_->get_batch(underlying);
}

std::vector<Subset> random_split(const Dataset& dataset, const std::vector<int64_t>& lengths, Generator* generator) {
    const int64_t n = dataset.size();
    // Summed only while it stays within n, so that the sum cannot overflow.
    int64_t total = 0;
    bool valid = true;
    for (int64_t length : lengths) {
        valid = valid && length >= 0 && length <= n - total;
        if (valid) total += length;
    }
    XGRAD_CHECK(valid && total == n, "random_split: lengths must be non-negative and sum to the ", n,
                " examples of the dataset, got ", Shape(lengths));
    const std::vector<int64_t> order = randperm(n, generator).to_vector<int64_t>();
    std::vector<Subset> subsets;
    int64_t start = 0;
    for (int64_t length : lengths) {
        subsets.emplace_back(dataset, std::vector<int64_t>(order.begin() + start, order.begin() + start + length));
        start += length;
    }
    return subsets;
}

DataLoader::DataLoader(const Dataset& dataset, DataLoaderOptions options)
    : dataset_(dataset), options_(std::move(options)) {
    XGRAD_CHECK(options_.batch_size > 0, "DataLoader: batch_size must be positive, got ", options_.batch_size);
    XGRAD_CHECK(!(options_.sampler && options_.shuffle),
                "DataLoader: shuffle must be false when a sampler is given (the sampler sets the order)");
}

int64_t DataLoader::examples_per_epoch() const {
    return options_.sampler ? options_.sampler->size() : dataset_.size();
}

int64_t DataLoader::size() const {
    const int64_t n = examples_per_epoch(), b = options_.batch_size;
    return n / b + (!options_.drop_last && n % b != 0);  // not (n + b - 1) / b: b may be near INT64_MAX
}

Batch DataLoader::assemble(const std::vector<int64_t>& order, int64_t batch) const {
    const int64_t start = batch * options_.batch_size;
    const int64_t stop = start + std::min<int64_t>(options_.batch_size, static_cast<int64_t>(order.size()) - start);
    const std::vector<int64_t> indices(order.begin() + start, order.begin() + stop);
    return options_.collate ? options_.collate(examples_at(dataset_, indices)) : dataset_.get_batch(indices);
}

DataLoader::Iterator DataLoader::begin() const {
    // Each epoch draws a new order from the loader's generator.
    Generator& gen = generator_or_default(options_.generator);
    std::vector<int64_t> order;
    if (options_.sampler) {
        order = options_.sampler->epoch(gen);
        XGRAD_CHECK(static_cast<int64_t>(order.size()) == options_.sampler->size(), "DataLoader: the sampler gave ",
                    order.size(), " indices for an epoch but its size() says ", options_.sampler->size());
        const int64_t n = dataset_.size();
        for (std::size_t i = 0; i < order.size(); ++i)
            XGRAD_CHECK(order[i] >= 0 && order[i] < n, "DataLoader: the sampler gave index ", order[i], " (position ",
                        i, ") for a dataset of ", n, " examples");
    } else {
        order = (options_.shuffle ? randperm(dataset_.size(), &gen) : arange(dataset_.size())).to_vector<int64_t>();
    }
    return Iterator(this, std::make_shared<std::vector<int64_t>>(std::move(order)), 0);
}

DataLoader::Iterator DataLoader::end() const {
    return Iterator(this, nullptr, size());
}

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
        next_ =
            std::async(std::launch::async, [loader, order, next] { return loader->assemble(*order, next); }).share();
    }
}

DataLoader::Iterator& DataLoader::Iterator::operator++() {
    ++batch_;
    if (batch_ < loader_->size()) load();
    return *this;
}

}  // namespace xgrad::data
