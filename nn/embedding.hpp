#pragma once
/// Embedding: a lookup table of learned vectors, one per token index (the first layer of the
/// text models: [N, T] token indices -> [N, T, embedding_dim]).

#include <optional>

#include "nn/module.hpp"

namespace xgrad::nn {

namespace functional {
/// weight[indices]: int64 indices of any shape -> [*indices.shape, embedding_dim]. Positions equal
/// to padding_idx give zeros and send no gradient to their row.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
}  // namespace functional

struct EmbeddingOptions {
    int64_t num_embeddings = 0;              ///< vocabulary size
    int64_t embedding_dim = 0;
    std::optional<int64_t> padding_idx;      ///< e.g. data::Vocabulary::kPad: a row of zeros that never trains
    DType dtype = kFloat32;
};

/// Initialized as PyTorch does: N(0, 1), the padding row zero.
class Embedding : public Module {
public:
    using Options = EmbeddingOptions;
    explicit Embedding(EmbeddingOptions options);
    Tensor forward(const Tensor& indices) override;
    std::string type_name() const override { return "Embedding"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const EmbeddingOptions options;
    Tensor weight;  ///< [num_embeddings, embedding_dim]
};

}  // namespace xgrad::nn
