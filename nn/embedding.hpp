#pragma once
/// Embedding: a lookup table of learned vectors, one per token index (the first layer of the
/// text models: [N, T] token indices -> [N, T, embedding_dim]).

#include <memory>
#include <optional>

#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

namespace functional {
struct EmbeddingFuncOptions {
    /// Positions holding this index give its stored row and send it no gradient; a negative
    /// value counts from the end.
    std::optional<int64_t> padding_idx{};
    /// Before the lookup, every looked-up row whose norm_type-norm exceeds max_norm is scaled in
    /// place (without gradient) to norm max_norm, as torch.embedding_renorm_.
    std::optional<double> max_norm{};
    double norm_type = 2.0;  ///< p > 0, or infinity
    /// Each row's gradient divided by how often its index occurs in the batch (so frequent words
    /// do not dominate the update).
    bool scale_grad_by_freq = false;
};
/// weight[indices]: int64 indices of any shape -> [*indices.shape, embedding_dim]. As in PyTorch,
/// positions equal to padding_idx give the stored row (zeros unless weights were loaded) and send
/// no gradient to it.
Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingFuncOptions& options);
/// The same with only a padding index.
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx = std::nullopt);

/// Scales, in place and without recording, each row of weight named in indices whose
/// norm_type-norm exceeds max_norm to norm max_norm (max_norm / (norm + 1e-7), as PyTorch).
void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type = 2.0);

namespace detail {
/// Internal, shared with EmbeddingBag::from_pretrained: embeddings [num_embeddings,
/// embedding_dim], floating, or an error naming op.
void check_pretrained(const Tensor& embeddings, const char* op);
/// Internal, shared with EmbeddingBag::from_pretrained: the embeddings checked (naming op), then
/// the layer make() returns, holding a copy of them (the padding row too, as PyTorch keeps it),
/// frozen if asked. The constructor's random initialization is overwritten, so its draws are
/// given back: as in PyTorch, loading vectors leaves the default generator where it was.
template <class Make>
auto pretrained(const Tensor& embeddings, bool freeze, const char* op, Make make) {
    check_pretrained(embeddings, op);
    const Generator::State before = default_generator().get_state();
    auto layer = make();
    default_generator().set_state(before);
    {
        NoGradGuard no_grad;
        layer->weight.copy_(embeddings);
    }
    if (freeze) layer->weight.requires_grad_(false);
    return layer;
}
/// Internal, shared with EmbeddingBag: a layer's table options checked, naming op (sizes and
/// max_norm positive, norm_type positive, padding_idx in range); padding_idx counted from the start.
std::optional<int64_t> checked_table_options(int64_t num_embeddings, int64_t embedding_dim,
                                             std::optional<int64_t> padding_idx, std::optional<double> max_norm,
                                             double norm_type, const char* op);
/// Internal, shared with EmbeddingBag: ", padding_idx=..., max_norm=..., norm_type=...,
/// scale_grad_by_freq=true" for the options that differ from their defaults, for extra_repr.
std::string table_options_repr(std::optional<int64_t> padding_idx, std::optional<double> max_norm, double norm_type,
                               bool scale_grad_by_freq);
/// Internal, shared with EmbeddingBag: max_norm positive if set, norm_type positive, or an error
/// naming op.
void check_norm_options(std::optional<double> max_norm, double norm_type, const char* op);
/// Internal, shared with EmbeddingBag: padding_idx in [-rows, rows) counted from the start, or
/// an error naming op.
std::optional<int64_t> wrapped_padding_idx(std::optional<int64_t> padding_idx, int64_t rows, const char* op);
/// Internal, shared with EmbeddingBag: weight's rows at 1-D flat_indices, the gradient withheld
/// from padding_idx (from the start, or none) and divided by each index's count if asked.
Tensor lookup_rows(const Tensor& weight, const Tensor& flat_indices, std::optional<int64_t> padding_idx,
                   bool scale_grad_by_freq);
}  // namespace detail
}  // namespace functional

struct EmbeddingOptions {
    int64_t num_embeddings = 0;  ///< vocabulary size
    int64_t embedding_dim = 0;
    /// e.g. data::Vocabulary::kPad: a row initialized to zeros that never trains; a negative
    /// value counts from the end (kept counted from the start, as PyTorch).
    std::optional<int64_t> padding_idx{};
    std::optional<double> max_norm{};  ///< see EmbeddingFuncOptions
    double norm_type = 2.0;
    bool scale_grad_by_freq = false;
    DType dtype = kFloat32;
};

/// Embedding::from_pretrained's settings besides the vectors.
struct EmbeddingFromPretrainedOptions {
    bool freeze = true;  ///< the layer's weight does not require grad
    std::optional<int64_t> padding_idx{};
    std::optional<double> max_norm{};
    double norm_type = 2.0;
    bool scale_grad_by_freq = false;
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
    static std::shared_ptr<Embedding> from_pretrained(const Tensor& embeddings,
                                                      const EmbeddingFromPretrainedOptions& options);
    Tensor forward(const Tensor& indices) override;
    std::string type_name() const override { return "Embedding"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const EmbeddingOptions options;
    Tensor weight;  ///< [num_embeddings, embedding_dim]
};

}  // namespace xgrad::nn
