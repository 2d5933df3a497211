#include <xgrad/nn/embedding.hpp>

#include <algorithm>
#include <cmath>
#include <unordered_map>
#include <vector>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

namespace xgrad::nn {

namespace functional {
namespace {

// What each position's gradient is multiplied by: 0 at padding, 1 / (its index's count) with
// scale_grad_by_freq, else 1.
std::vector<double> position_scales(const Tensor& flat_indices, std::optional<int64_t> padding_idx,
                                    bool scale_grad_by_freq) {
    const int64_t n = flat_indices.numel();
    const int64_t* index = flat_indices.data_ptr<int64_t>();
    std::unordered_map<int64_t, int64_t> count;
    if (scale_grad_by_freq)
        for (int64_t i = 0; i < n; ++i) ++count[index[i]];
    std::vector<double> scale(static_cast<std::size_t>(n), 1.0);
    for (int64_t i = 0; i < n; ++i) {
        if (padding_idx && index[i] == *padding_idx)
            scale[static_cast<std::size_t>(i)] = 0.0;
        else if (scale_grad_by_freq)
            scale[static_cast<std::size_t>(i)] = 1.0 / static_cast<double>(count[index[i]]);
    }
    return scale;
}

// weight[indices]; the gradient of each position scaled by position_scales (the rows themselves
// are returned like any other, so loaded weights behave as in PyTorch).
struct EmbeddingLookup : autograd::Function<EmbeddingLookup> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& weight, const Tensor& flat_indices,
                          std::optional<int64_t> padding_idx, bool scale_grad_by_freq) {
        const Tensor indices = flat_indices.contiguous();
        if (padding_idx || scale_grad_by_freq)
            ctx->save_for_backward({indices, from_vector(position_scales(indices, padding_idx, scale_grad_by_freq),
                                                         {indices.numel(), 1}, weight.dtype())});
        else
            ctx->save_for_backward({indices});
        ctx->saved_data["rows"] = static_cast<double>(weight.size(0));
        return index_select(weight, 0, indices);
    }
    // Differentiable in the incoming gradient, so second derivatives pass through.
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const auto saved = ctx->get_saved_variables();
        const auto rows = static_cast<int64_t>(ctx->saved_data["rows"]);
        const Tensor g = saved.size() > 1 ? grads[0] * saved[1] : grads[0];
        return {index_add(zeros({rows, g.size(1)}, g.dtype()), 0, saved[0], g), Tensor()};
    }
};

}  // namespace

namespace detail {
void check_pretrained(const Tensor& embeddings, const char* op) {
    XGRAD_CHECK(embeddings.dim() == 2, op, ": expected embeddings [num_embeddings, embedding_dim], got shape ",
                embeddings.sizes());
    XGRAD_CHECK(is_floating(embeddings.dtype()), op, ": expected floating embeddings, got ", embeddings.dtype());
}

std::optional<int64_t> checked_table_options(int64_t num_embeddings, int64_t embedding_dim,
                                             std::optional<int64_t> padding_idx, std::optional<double> max_norm,
                                             double norm_type, const char* op) {
    XGRAD_CHECK(num_embeddings > 0 && embedding_dim > 0, op,
                ": num_embeddings and embedding_dim must be positive, got ", num_embeddings, " and ", embedding_dim);
    check_norm_options(max_norm, norm_type, op);
    return wrapped_padding_idx(padding_idx, num_embeddings, op);
}

std::string table_options_repr(std::optional<int64_t> padding_idx, std::optional<double> max_norm, double norm_type,
                               bool scale_grad_by_freq) {
    std::string repr;
    if (padding_idx) repr += ", padding_idx=" + std::to_string(*padding_idx);
    if (max_norm) repr += ", max_norm=" + std::to_string(*max_norm);
    if (norm_type != 2.0) repr += ", norm_type=" + std::to_string(norm_type);
    if (scale_grad_by_freq) repr += ", scale_grad_by_freq=true";
    return repr;
}

void check_norm_options(std::optional<double> max_norm, double norm_type, const char* op) {
    XGRAD_CHECK(!max_norm || *max_norm > 0, op, ": max_norm must be positive, got ", max_norm.value_or(0));
    XGRAD_CHECK(norm_type > 0, op, ": norm_type must be positive (or infinity), got ", norm_type);
}

std::optional<int64_t> wrapped_padding_idx(std::optional<int64_t> padding_idx, int64_t rows, const char* op) {
    if (!padding_idx) return std::nullopt;
    XGRAD_CHECK(*padding_idx >= -rows && *padding_idx < rows, op, ": padding_idx ", *padding_idx,
                " is out of range for ", rows, " embeddings");
    return *padding_idx < 0 ? *padding_idx + rows : *padding_idx;
}

Tensor lookup_rows(const Tensor& weight, const Tensor& flat_indices, std::optional<int64_t> padding_idx,
                   bool scale_grad_by_freq) {
    return EmbeddingLookup::apply(weight, flat_indices, padding_idx, scale_grad_by_freq);
}
}  // namespace detail

void embedding_renorm_(const Tensor& weight, const Tensor& indices, double max_norm, double norm_type) {
    XGRAD_CHECK(weight.dim() == 2, "embedding_renorm_: expected a weight [num_embeddings, embedding_dim], got shape ",
                weight.sizes());
    XGRAD_CHECK(indices.dtype() == kInt64, "embedding_renorm_: indices must be int64, got ", indices.dtype());
    detail::check_norm_options(max_norm, norm_type, "embedding_renorm_");
    const int64_t rows = weight.size(0), dim = weight.size(1);
    const Tensor flat = indices.contiguous().reshape({-1});
    const int64_t* index = flat.data_ptr<int64_t>();
    std::vector<int64_t> named(index, index + flat.numel());
    std::sort(named.begin(), named.end());
    named.erase(std::unique(named.begin(), named.end()), named.end());
    XGRAD_CHECK(named.empty() || (named.front() >= 0 && named.back() < rows), "embedding_renorm_: index ",
                named.front() < 0 ? named.front() : named.back(), " is out of range for ", rows, " embeddings");
    // Rows are scaled through the weight's own strides (a parameter need not be contiguous).
    const int64_t row_step = weight.strides()[0], col_step = weight.strides()[1];
    dispatch_floating(weight.dtype(), "embedding_renorm_", [&](auto tag) {
        using T = decltype(tag);
        T* data = weight.data_ptr<T>();
        for (int64_t r : named) {
            T* row = data + r * row_step;
            double norm = 0;
            for (int64_t j = 0; j < dim; ++j) {
                const double v = std::abs(static_cast<double>(row[j * col_step]));
                norm = std::isinf(norm_type) ? std::max(norm, v) : norm + std::pow(v, norm_type);
            }
            if (!std::isinf(norm_type)) norm = std::pow(norm, 1.0 / norm_type);
            // As PyTorch: the norm in the weight's type (a float32 row at max_norm stays), the
            // scale applied in it.
            norm = static_cast<T>(norm);
            if (!(norm > max_norm)) continue;
            const auto scale = static_cast<T>(max_norm / (norm + 1e-7));
            for (int64_t j = 0; j < dim; ++j) row[j * col_step] *= scale;
        }
    });
    weight.data().bump_version();  // an in-place change, as any other
}

Tensor embedding(const Tensor& indices, const Tensor& weight, const EmbeddingFuncOptions& o) {
    XGRAD_CHECK(weight.dim() == 2, "embedding: expected a weight [num_embeddings, embedding_dim], got shape ",
                weight.sizes());
    XGRAD_CHECK(indices.dtype() == kInt64, "embedding: indices must be int64, got ", indices.dtype());
    detail::check_norm_options(o.max_norm, o.norm_type, "embedding");
    const int64_t rows = weight.size(0);
    if (indices.numel() > 0) {
        const int64_t low = indices.min().item<int64_t>(), high = indices.max().item<int64_t>();
        XGRAD_CHECK(low >= 0 && high < rows, "embedding: index ", low < 0 ? low : high, " is out of range for ", rows,
                    " embeddings (indices of shape ", indices.sizes(), ")");
    }
    const std::optional<int64_t> padding_idx = detail::wrapped_padding_idx(o.padding_idx, rows, "embedding");
    if (o.max_norm) embedding_renorm_(weight, indices, *o.max_norm, o.norm_type);
    Shape out_sizes = indices.sizes();
    out_sizes.push_back(weight.size(1));
    return detail::lookup_rows(weight, indices.reshape({-1}), padding_idx, o.scale_grad_by_freq).view(out_sizes);
}

Tensor embedding(const Tensor& indices, const Tensor& weight, std::optional<int64_t> padding_idx) {
    return embedding(indices, weight, EmbeddingFuncOptions{.padding_idx = padding_idx});
}
}  // namespace functional

namespace {
// The options with a negative padding_idx counted from the end (-1: the last row), as PyTorch keeps them.
EmbeddingOptions checked(EmbeddingOptions o) {
    o.padding_idx = functional::detail::checked_table_options(o.num_embeddings, o.embedding_dim, o.padding_idx,
                                                              o.max_norm, o.norm_type, "Embedding");
    return o;
}
}  // namespace

Embedding::Embedding(EmbeddingOptions o) : options(checked(o)) {
    weight = register_parameter("weight", empty({options.num_embeddings, options.embedding_dim}, options.dtype));
    reset_parameters();
}

void Embedding::reset_parameters(Generator* generator) {
    init::embedding_default_(weight, options.padding_idx, generator);
}

std::shared_ptr<Embedding> Embedding::from_pretrained(const Tensor& embeddings, bool freeze,
                                                      std::optional<int64_t> padding_idx) {
    return from_pretrained(embeddings, EmbeddingFromPretrainedOptions{.freeze = freeze, .padding_idx = padding_idx});
}

std::shared_ptr<Embedding> Embedding::from_pretrained(const Tensor& embeddings,
                                                      const EmbeddingFromPretrainedOptions& o) {
    return functional::detail::pretrained(embeddings, o.freeze, "Embedding::from_pretrained", [&] {
        return std::make_shared<Embedding>(EmbeddingOptions{.num_embeddings = embeddings.size(0),
                                                            .embedding_dim = embeddings.size(1),
                                                            .padding_idx = o.padding_idx,
                                                            .max_norm = o.max_norm,
                                                            .norm_type = o.norm_type,
                                                            .scale_grad_by_freq = o.scale_grad_by_freq,
                                                            .dtype = embeddings.dtype()});
    });
}

Tensor Embedding::forward(const Tensor& indices) {
    return functional::embedding(indices, weight,
                                 functional::EmbeddingFuncOptions{.padding_idx = options.padding_idx,
                                                                  .max_norm = options.max_norm,
                                                                  .norm_type = options.norm_type,
                                                                  .scale_grad_by_freq = options.scale_grad_by_freq});
}

std::string Embedding::extra_repr() const {
    return std::to_string(options.num_embeddings) + ", " + std::to_string(options.embedding_dim) +
           functional::detail::table_options_repr(options.padding_idx, options.max_norm, options.norm_type,
                                                  options.scale_grad_by_freq);
}

}  // namespace xgrad::nn
