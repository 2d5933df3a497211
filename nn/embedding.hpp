#pragma once
/// Embedding: a lookup table of learned vectors, one per token index (the first layer of the
/// text models: [N, T] token indices -> [N, T, embedding_dim]).

#include <memory>
#include <optional>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

namespace functional {
/// weight[indices]: int64 indices of any shape -> [*indices.shape, embedding_dim]. As in PyTorch,
/// positions equal to padding_idx give the stored row (zeros unless weights were loaded) and send
/// no gradient to it.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);
}  // namespace functional

struct EmbeddingOptions {
    int64_t num_embeddings = 0;  ///< vocabulary size
    int64_t embedding_dim = 0;
    std::optional<int64_t> padding_idx;  ///< e.g. data::Vocabulary::kPad: a row initialized to zeros that never trains
    DType dtype = kFloat32;
};

/// Initialized as PyTorch does: N(0, 1), the padding row zero.
class Embedding : public Module {
public:
    using Options = EmbeddingOptions;
    explicit Embedding(EmbeddingOptions options);
    /// LibTorch's positional form: Embedding(vocabulary, 300).
    Embedding(int64_t num_embeddings, int64_t embedding_dim)
        : Embedding(EmbeddingOptions{.num_embeddings = num_embeddings, .embedding_dim = embedding_dim}) {}
    /// A layer holding the given [num_embeddings, embedding_dim] vectors (copied, padding row too),
    /// not trained when freeze is set (torch.nn.Embedding.from_pretrained). Modules do not move,
    /// so the layer comes in a shared_ptr (as LibTorch's module holders share theirs).
    static std::shared_ptr<Embedding> from_pretrained(const Tensor& embeddings, bool freeze = true,
                                                      std::optional<int64_t> padding_idx = std::nullopt);
    Tensor forward(const Tensor& indices) override;
    std::string type_name() const override { return "Embedding"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const EmbeddingOptions options;
    Tensor weight;  ///< [num_embeddings, embedding_dim]
};

}  // namespace xgrad::nn
