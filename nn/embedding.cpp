#include <xgrad/nn/embedding.hpp>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/init.hpp>

namespace xgrad::nn {

namespace functional {
namespace {

// weight[indices], with the padding row's gradient withheld (as torch.nn.functional.embedding):
// the row itself is returned like any other, so loaded weights behave as in PyTorch.
struct EmbeddingLookup : autograd::Function<EmbeddingLookup> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& weight, const Tensor& flat_indices,
                          int64_t padding_idx) {
        ctx->save_for_backward({flat_indices});
        ctx->saved_data["padding_idx"] = static_cast<double>(padding_idx);
        ctx->saved_data["rows"] = static_cast<double>(weight.size(0));
        return index_select(weight, 0, flat_indices);
    }
    // Differentiable in the incoming gradient, so second derivatives pass through.
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const Tensor indices = ctx->get_saved_variables()[0];
        const auto padding_idx = static_cast<int64_t>(ctx->saved_data["padding_idx"]);
        const auto rows = static_cast<int64_t>(ctx->saved_data["rows"]);
        Tensor g = grads[0];
        if (padding_idx >= 0) g = g * (!(indices == static_cast<double>(padding_idx))).unsqueeze(1).to(g.dtype());
        return {index_add(zeros({rows, g.size(1)}, g.dtype()), 0, indices, g), Tensor()};
    }
};

}  // namespace

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
    XGRAD_CHECK(!padding_idx || (*padding_idx >= 0 && *padding_idx < rows), "embedding: padding_idx ",
                padding_idx.value_or(0), " is out of range for ", rows, " embeddings");
    Shape out_sizes = indices.sizes();
    out_sizes.push_back(weight.size(1));
    return EmbeddingLookup::apply(weight, indices.reshape({-1}), padding_idx.value_or(-1)).view(out_sizes);
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
    init::embedding_default_(weight, options.padding_idx, generator);
}

std::shared_ptr<Embedding> Embedding::from_pretrained(const Tensor& embeddings, bool freeze,
                                                      std::optional<int64_t> padding_idx) {
    XGRAD_CHECK(embeddings.dim() == 2,
                "Embedding::from_pretrained: expected embeddings [num_embeddings, "
                "embedding_dim], got shape ",
                embeddings.sizes());
    XGRAD_CHECK(is_floating(embeddings.dtype()), "Embedding::from_pretrained: expected floating embeddings, got ",
                embeddings.dtype());
    auto layer = std::make_shared<Embedding>(EmbeddingOptions{.num_embeddings = embeddings.size(0),
                                                              .embedding_dim = embeddings.size(1),
                                                              .padding_idx = padding_idx,
                                                              .dtype = embeddings.dtype()});
    {
        NoGradGuard no_grad;
        layer->weight.copy_(embeddings);  // the padding row too, as PyTorch keeps it
    }
    if (freeze) layer->weight.requires_grad_(false);
    return layer;
}

Tensor Embedding::forward(const Tensor& indices) {
    return functional::embedding(indices, weight, options.padding_idx);
}

std::string Embedding::extra_repr() const {
    return std::to_string(options.num_embeddings) + ", " + std::to_string(options.embedding_dim) +
           (options.padding_idx ? ", padding_idx=" + std::to_string(*options.padding_idx) : "");
}

}  // namespace xgrad::nn
