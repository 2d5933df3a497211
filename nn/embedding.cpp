#include "nn/embedding.hpp"

#include "autograd/grad_mode.hpp"
#include "autograd/ops.hpp"
#include "nn/init.hpp"

namespace xgrad::nn {

namespace functional {
Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
    XGRAD_CHECK(weight.dim() == 2, "embedding: expected a weight [num_embeddings, embedding_dim], got shape ",
                weight.sizes());
    XGRAD_CHECK(indices.dtype() == kInt64, "embedding: indices must be int64, got ", indices.dtype());
    const int64_t rows = weight.size(0);
    if (indices.numel() > 0) {
        const int64_t low = indices.min().item<int64_t>(), high = indices.max().item<int64_t>();
        XGRAD_CHECK(low >= 0 && high < rows, "embedding: index ", low < 0 ? low : high, " is out of range for ", rows,
                    " embeddings (indices of shape ", indices.sizes(), ")");
    }
    Shape out_sizes = indices.sizes();
    out_sizes.push_back(weight.size(1));
    Tensor out = index_select(weight, 0, indices.reshape({-1})).view(out_sizes);
    if (padding_idx) {
        // Zero rows at padding positions; the mask also stops their gradient reaching the row.
        out = out * (!(indices == static_cast<double>(*padding_idx))).unsqueeze(-1).to(weight.dtype());
    }
    return out;
}
}  // namespace functional

Embedding::Embedding(EmbeddingOptions o) : options(o) {
    XGRAD_CHECK(o.num_embeddings > 0 && o.embedding_dim > 0,
                "Embedding: num_embeddings and embedding_dim must be positive, got ", o.num_embeddings, " and ",
                o.embedding_dim);
    XGRAD_CHECK(!o.padding_idx || (*o.padding_idx >= 0 && *o.padding_idx < o.num_embeddings), "Embedding: padding_idx ",
                o.padding_idx.value_or(0), " is out of range for ", o.num_embeddings, " embeddings");
    weight = register_parameter("weight", empty({o.num_embeddings, o.embedding_dim}, o.dtype));
    reset_parameters();
}

void Embedding::reset_parameters(Generator* generator) {
    init::normal_(weight, 0.0, 1.0, generator);
    if (options.padding_idx) {
        NoGradGuard no_grad;
        weight[*options.padding_idx].zero_();
    }
}

Tensor Embedding::forward(const Tensor& indices) { return functional::embedding(indices, weight, options.padding_idx); }

std::string Embedding::extra_repr() const {
    return std::to_string(options.num_embeddings) + ", " + std::to_string(options.embedding_dim) +
           (options.padding_idx ? ", padding_idx=" + std::to_string(*options.padding_idx) : "");
}

}  // namespace xgrad::nn
