#pragma once
/// EmbeddingBag: the sum, mean or max of the embeddings of each bag of tokens, without
/// materializing the [N, T, embedding_dim] lookups first as Embedding followed by a reduction
/// would (a bag-of-words text classifier, fastText's average of word vectors).
///
///     nn::EmbeddingBag bag({.num_embeddings = vocab, .embedding_dim = 64, .mode = nn::EmbeddingBagMode::mean});
///     Tensor docs = bag(tokens);                 // tokens [N, T]: N bags of T tokens each -> [N, 64]
///     Tensor docs = bag.forward(flat, offsets);  // flat [n] tokens, offsets [N]: bag i starts at offsets[i]
///
/// As in PyTorch: a bag with no tokens gives zeros; tokens equal to padding_idx are left out of
/// their bag (a mean divides by the count of the others, a max ignores them) and so never train;
/// per_sample_weights (mode sum only) scale each token's embedding before the sum.
/// A negative padding_idx counts from the end. The gradient of a sum or mean comes from the ops
/// they are built of (index_select, index_add); a bag's maximum is found in one pass over its
/// tokens and sends its gradient to the first token that holds it.

#include <cstdint>
#include <memory>
#include <optional>

#include <xgrad/nn/module.hpp>

namespace xgrad::nn {

enum class EmbeddingBagMode { sum, mean, max };

namespace functional {
struct EmbeddingBagFuncOptions {
    /// With a 1-D input: where each bag starts (int64, non-decreasing, the first 0). With a 2-D
    /// input [N, T]: undefined (each row is a bag).
    Tensor offsets;
    EmbeddingBagMode mode = EmbeddingBagMode::mean;
    /// Same shape as the input, the weight's dtype; mode sum only.
    Tensor per_sample_weights;
    /// offsets has one more entry, the end of the last bag (CSR's layout); 1-D input only.
    bool include_last_offset = false;
    std::optional<int64_t> padding_idx{};
    /// As Embedding's (see EmbeddingFuncOptions): rows named in the input renormed in place
    /// before the lookup, and each row's gradient divided by its count (modes sum and mean).
    std::optional<double> max_norm{};
    double norm_type = 2.0;
    bool scale_grad_by_freq = false;
};
/// input int64 [N, T] or [n] (with offsets), weight [num_embeddings, embedding_dim] -> [bags, embedding_dim].
Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& options = {});
}  // namespace functional

struct EmbeddingBagOptions {
    int64_t num_embeddings = 0;
    int64_t embedding_dim = 0;
    EmbeddingBagMode mode = EmbeddingBagMode::mean;
    bool include_last_offset = false;
    std::optional<int64_t> padding_idx{};  ///< a row initialized to zeros, left out of every bag
    std::optional<double> max_norm{};      ///< see EmbeddingBagFuncOptions
    double norm_type = 2.0;
    bool scale_grad_by_freq = false;
    DType dtype = kFloat32;
};

/// EmbeddingBag::from_pretrained's settings besides the vectors.
struct EmbeddingBagFromPretrainedOptions {
    bool freeze = true;  ///< the layer's weight does not require grad
    EmbeddingBagMode mode = EmbeddingBagMode::mean;
    bool include_last_offset = false;
    std::optional<int64_t> padding_idx{};
    std::optional<double> max_norm{};
    double norm_type = 2.0;
    bool scale_grad_by_freq = false;
};

/// Initialized as PyTorch does: N(0, 1), the padding row zero.
class EmbeddingBag : public Module {
public:
    using Options = EmbeddingBagOptions;
    explicit EmbeddingBag(EmbeddingBagOptions options);
    /// LibTorch's positional form: EmbeddingBag(vocabulary, 64).
    EmbeddingBag(int64_t num_embeddings, int64_t embedding_dim)
        : EmbeddingBag(EmbeddingBagOptions{.num_embeddings = num_embeddings, .embedding_dim = embedding_dim}) {}
    /// A layer holding the given [num_embeddings, embedding_dim] vectors (copied, padding row too),
    /// as torch.nn.EmbeddingBag.from_pretrained; in a shared_ptr, as Embedding::from_pretrained.
    static std::shared_ptr<EmbeddingBag> from_pretrained(const Tensor& embeddings,
                                                         const EmbeddingBagFromPretrainedOptions& options = {});
    /// Bags given by offsets into a 1-D input (or undefined offsets for a 2-D input).
    Tensor forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = Tensor());
    /// A 2-D input [N, T]: each row a bag.
    Tensor forward(const Tensor& input) override;
    /// forward, then the forward hooks (which see the input and the output).
    Tensor operator()(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights = Tensor());
    using Module::operator();
    std::string type_name() const override { return "EmbeddingBag"; }
    std::string extra_repr() const override;
    void reset_parameters(Generator* generator = nullptr);

    const EmbeddingBagOptions options;
    Tensor weight;  ///< [num_embeddings, embedding_dim]
};

}  // namespace xgrad::nn
