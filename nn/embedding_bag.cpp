#include <xgrad/nn/embedding_bag.hpp>

#include <algorithm>
#include <cmath>
#include <vector>

#include <xgrad/autograd/function.hpp>
#include <xgrad/autograd/grad_mode.hpp>
#include <xgrad/autograd/ops.hpp>
#include <xgrad/nn/embedding.hpp>
#include <xgrad/nn/init.hpp>
#include <xgrad/tensor/dispatch_floating.hpp>

namespace xgrad::nn {

namespace functional {
namespace {
const char* mode_name(EmbeddingBagMode mode) {
    return mode == EmbeddingBagMode::sum ? "sum" : mode == EmbeddingBagMode::mean ? "mean" : "max";
}

// Which tokens go into which bag: the kept token indices (padding left out), each one's bag and
// its position in the input (to pick its per-sample weight), and the bag count.
struct Bags {
    std::vector<int64_t> tokens, bag_of, position;
    int64_t count = 0;
};

Bags gather_bags(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& o) {
    XGRAD_CHECK(input.dtype() == kInt64, "embedding_bag: the input must be int64 token indices, got ", input.dtype());
    XGRAD_CHECK(input.dim() == 1 || input.dim() == 2,
                "embedding_bag: expected an input [N, T] or [n] with offsets, got shape ", input.sizes());
    const int64_t rows = weight.size(0), n = input.numel();
    const Tensor flat = input.contiguous();
    const int64_t* token = flat.data_ptr<int64_t>();
    // Bag b holds positions [starts[b], starts[b + 1]).
    std::vector<int64_t> starts;
    if (input.dim() == 2) {
        XGRAD_CHECK(!o.offsets.defined() && !o.include_last_offset, "embedding_bag: a 2-D input ", input.sizes(),
                    " makes each row a bag; offsets must be left undefined and include_last_offset false");
        const int64_t length = input.size(1);
        for (int64_t b = 0; b <= input.size(0); ++b) starts.push_back(b * length);
    } else {
        XGRAD_CHECK(o.offsets.defined(), "embedding_bag: a 1-D input ", input.sizes(), " needs offsets");
        XGRAD_CHECK(o.offsets.dim() == 1 && o.offsets.dtype() == kInt64,
                    "embedding_bag: offsets must be a 1-D int64 tensor, got shape ", o.offsets.sizes(), " and dtype ",
                    o.offsets.dtype());
        const Tensor offsets = o.offsets.contiguous();
        const int64_t* at = offsets.data_ptr<int64_t>();
        const int64_t entries = offsets.numel();
        XGRAD_CHECK(!o.include_last_offset || entries > 0,
                    "embedding_bag: include_last_offset needs at least one offset (the end of the last bag)");
        XGRAD_CHECK(entries == 0 || at[0] == 0, "embedding_bag: the first offset must be 0, got ", entries ? at[0] : 0);
        for (int64_t i = 0; i < entries; ++i) {
            XGRAD_CHECK(at[i] >= 0 && at[i] <= n && (i == 0 || at[i] >= at[i - 1]), "embedding_bag: offset ", i, " (",
                        at[i], ") must lie in [", i == 0 ? 0 : at[i - 1], ", ", n, "] for an input of ", n,
                        " tokens (offsets never decrease)");
            starts.push_back(at[i]);
        }
        if (!o.include_last_offset) starts.push_back(n);
    }
    Bags bags;
    bags.count = static_cast<int64_t>(starts.size()) - 1;
    if (bags.count < 0) bags.count = 0;
    for (int64_t b = 0; b < bags.count; ++b)
        for (int64_t i = starts[b]; i < starts[b + 1]; ++i) {
            XGRAD_CHECK(token[i] >= 0 && token[i] < rows, "embedding_bag: index ", token[i], " at position ", i,
                        " is out of range for ", rows, " embeddings");
            if (o.padding_idx && token[i] == *o.padding_idx) continue;
            bags.tokens.push_back(token[i]);
            bags.bag_of.push_back(b);
            bags.position.push_back(i);
        }
    return bags;
}

// Each bag's maximum per component over its rows of `rows` (a bag's rows are consecutive: bag b
// holds rows [starts[b], starts[b + 1])), 0 for an empty bag, in one pass; the gradient goes to
// the row that held the maximum, the first among ties (a NaN counts as the largest value).
struct BagMax : autograd::Function<BagMax> {
    static Tensor forward(autograd::AutogradContext* ctx, const Tensor& rows, const std::vector<int64_t>& starts) {
        const int64_t bags = static_cast<int64_t>(starts.size()) - 1, dim = rows.size(1);
        const Tensor in = rows.contiguous();
        Tensor out = zeros({bags, dim}, rows.dtype());
        Tensor at = zeros({bags, dim}, kInt64);          // the row of each maximum (0 for an empty bag)
        Tensor filled = zeros({bags, 1}, rows.dtype());  // 1 for a bag with rows
        int64_t* where_max = at.data_ptr<int64_t>();
        dispatch_floating(rows.dtype(), "embedding_bag", [&](auto tag) {
            using T = decltype(tag);
            const T* src = in.data_ptr<T>();
            T* dst = out.data_ptr<T>();
            T* has_rows = filled.data_ptr<T>();
            for (int64_t b = 0; b < bags; ++b) {
                if (starts[b + 1] == starts[b]) continue;
                has_rows[b] = 1;
                for (int64_t j = 0; j < dim; ++j) {
                    int64_t best = starts[b];
                    for (int64_t r = starts[b] + 1; r < starts[b + 1]; ++r) {
                        const T v = src[r * dim + j], m = src[best * dim + j];
                        if (!std::isnan(m) && (v > m || std::isnan(v))) best = r;
                    }
                    dst[b * dim + j] = src[best * dim + j];
                    where_max[b * dim + j] = best;
                }
            }
        });
        ctx->save_for_backward({at, filled});
        ctx->saved_data["rows"] = static_cast<double>(rows.size(0));
        return out;
    }
    // Differentiable in the incoming gradient, so second derivatives pass through.
    static std::vector<Tensor> backward(autograd::AutogradContext* ctx, std::vector<Tensor> grads) {
        const auto saved = ctx->get_saved_variables();
        const auto rows = static_cast<int64_t>(ctx->saved_data["rows"]);
        // An empty bag sends nothing (not even an inf or NaN times 0) to the row its entry names.
        const Tensor g = where(saved[1] != 0.0, grads[0], zeros({1, 1}, grads[0].dtype()));
        if (rows == 0) return {zeros({0, g.size(1)}, g.dtype())};
        return {scatter_add(zeros({rows, g.size(1)}, g.dtype()), 0, saved[0], g)};
    }
};

}  // namespace

Tensor embedding_bag(const Tensor& input, const Tensor& weight, const EmbeddingBagFuncOptions& o) {
    XGRAD_CHECK(weight.dim() == 2 && is_floating(weight.dtype()),
                "embedding_bag: expected a floating weight [num_embeddings, embedding_dim], got shape ", weight.sizes(),
                " and dtype ", weight.dtype());
    const int64_t rows = weight.size(0), dim = weight.size(1);
    EmbeddingBagFuncOptions normalized = o;  // a negative padding_idx counts from the end, as in PyTorch
    normalized.padding_idx = detail::wrapped_padding_idx(o.padding_idx, rows, "embedding_bag");
    detail::check_norm_options(o.max_norm, o.norm_type, "embedding_bag");
    XGRAD_CHECK(!o.scale_grad_by_freq || o.mode != EmbeddingBagMode::max,
                "embedding_bag: scale_grad_by_freq is not supported with mode max");
    const Tensor& psw = o.per_sample_weights;
    if (psw.defined()) {
        XGRAD_CHECK(o.mode == EmbeddingBagMode::sum, "embedding_bag: per_sample_weights need mode sum, got mode ",
                    mode_name(o.mode));
        XGRAD_CHECK(psw.sizes() == input.sizes() && psw.dtype() == weight.dtype(), "embedding_bag: per_sample_weights ",
                    psw.sizes(), " ", psw.dtype(), " must have the input's shape ", input.sizes(),
                    " and the weight's dtype ", weight.dtype());
    }
    const Bags bags = gather_bags(input, weight, normalized);  // checks the input's indices
    if (o.max_norm) embedding_renorm_(weight, input, *o.max_norm, o.norm_type);
    const auto kept = static_cast<int64_t>(bags.tokens.size());
    const Tensor bag_of = from_vector(bags.bag_of, {kept});
    Tensor looked_up =  // [kept, dim]
        detail::lookup_rows(weight, from_vector(bags.tokens, {kept}), std::nullopt, o.scale_grad_by_freq);
    if (psw.defined())
        looked_up = looked_up * index_select(psw.reshape({-1}), 0, from_vector(bags.position, {kept})).unsqueeze(1);

    if (o.mode != EmbeddingBagMode::max) {
        const Tensor sums = index_add(zeros({bags.count, dim}, weight.dtype()), 0, bag_of, looked_up);
        if (o.mode == EmbeddingBagMode::sum) return sums;
        std::vector<double> counts(static_cast<std::size_t>(bags.count), 0.0);
        for (int64_t b : bags.bag_of) counts[static_cast<std::size_t>(b)] += 1;
        for (double& c : counts) c = std::max(c, 1.0);  // an empty bag: 0 / 1
        return sums / from_vector(counts, {bags.count, 1}, weight.dtype());
    }
    // max: the kept tokens are in bag order, so each bag's rows are consecutive.
    std::vector<int64_t> starts(static_cast<std::size_t>(bags.count) + 1, 0);
    for (int64_t b : bags.bag_of) ++starts[static_cast<std::size_t>(b) + 1];
    for (std::size_t b = 1; b < starts.size(); ++b) starts[b] += starts[b - 1];
    return BagMax::apply(looked_up, starts);
}

}  // namespace functional

namespace {
// The options with a negative padding_idx counted from the end (-1: the last row), as PyTorch keeps them.
EmbeddingBagOptions checked(EmbeddingBagOptions o) {
    XGRAD_CHECK(!o.scale_grad_by_freq || o.mode != EmbeddingBagMode::max,
                "EmbeddingBag: scale_grad_by_freq is not supported with mode max");
    o.padding_idx = functional::detail::checked_table_options(o.num_embeddings, o.embedding_dim, o.padding_idx,
                                                              o.max_norm, o.norm_type, "EmbeddingBag");
    return o;
}
}  // namespace

EmbeddingBag::EmbeddingBag(EmbeddingBagOptions o) : options(checked(o)) {
    weight = register_parameter("weight", empty({options.num_embeddings, options.embedding_dim}, options.dtype));
    reset_parameters();
}

void EmbeddingBag::reset_parameters(Generator* generator) {
    init::embedding_default_(weight, options.padding_idx, generator);
}

std::shared_ptr<EmbeddingBag> EmbeddingBag::from_pretrained(const Tensor& embeddings,
                                                            const EmbeddingBagFromPretrainedOptions& o) {
    return functional::detail::pretrained(embeddings, o.freeze, "EmbeddingBag::from_pretrained", [&] {
        return std::make_shared<EmbeddingBag>(EmbeddingBagOptions{.num_embeddings = embeddings.size(0),
                                                                  .embedding_dim = embeddings.size(1),
                                                                  .mode = o.mode,
                                                                  .include_last_offset = o.include_last_offset,
                                                                  .padding_idx = o.padding_idx,
                                                                  .max_norm = o.max_norm,
                                                                  .norm_type = o.norm_type,
                                                                  .scale_grad_by_freq = o.scale_grad_by_freq,
                                                                  .dtype = embeddings.dtype()});
    });
}

Tensor EmbeddingBag::forward(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
    return functional::embedding_bag(input, weight,
                                     {.offsets = offsets,
                                      .mode = options.mode,
                                      .per_sample_weights = per_sample_weights,
                                      .include_last_offset = options.include_last_offset,
                                      .padding_idx = options.padding_idx,
                                      .max_norm = options.max_norm,
                                      .norm_type = options.norm_type,
                                      .scale_grad_by_freq = options.scale_grad_by_freq});
}

Tensor EmbeddingBag::forward(const Tensor& input) {
    return forward(input, Tensor());
}

Tensor EmbeddingBag::operator()(const Tensor& input, const Tensor& offsets, const Tensor& per_sample_weights) {
    return run_forward_hooks(input, forward(input, offsets, per_sample_weights));
}

std::string EmbeddingBag::extra_repr() const {
    return std::to_string(options.num_embeddings) + ", " + std::to_string(options.embedding_dim) +
           ", mode=" + functional::mode_name(options.mode) +
           functional::detail::table_options_repr(options.padding_idx, options.max_norm, options.norm_type,
                                                  options.scale_grad_by_freq);
}

}  // namespace xgrad::nn
