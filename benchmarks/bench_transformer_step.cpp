// One Transformer-encoder training step for text classification (forward, backward, Adam) on a
// random batch, in milliseconds (median of --repeats), and the process's peak resident memory:
// the Transformer of the former text_classification_hoc tutorial (examples/hoc_transformer.cpp
// is its successor, with 100-dimensional vectors). Embedding 64 (vocabulary 9,000) scaled by
// sqrt(64), sinusoidal positions, dropout 0.1, 2 pre-norm encoder layers (4 heads, feed-forward
// 128, dropout 0.1) with a final norm, a key padding mask (the last 56 of 256 tokens are
// padding), mean over the real tokens, dropout 0.3, linear to 10 logits, BCE with logits.
// Batch 32. Peer, the same program: bench_transformer_step_torch.py.
//
//   bench_transformer_step [--threads N] [--repeats 10]
#include <sys/resource.h>

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <xgrad/xgrad.hpp>

using namespace xgrad;

namespace {
constexpr int64_t kVocab = 9000, kDim = 64, kTokens = 256, kReal = 200, kBatch = 32;

struct TextTransformer : nn::Module {
    nn::Embedding embedding{{.num_embeddings = kVocab, .embedding_dim = kDim, .padding_idx = 0}};
    nn::PositionalEncoding position{{.d_model = kDim, .max_len = kTokens, .dropout = 0.1, .batch_first = true}};
    nn::TransformerEncoder encoder{{.layer = {.d_model = kDim,
                                              .nhead = 4,
                                              .dim_feedforward = 2 * kDim,
                                              .dropout = 0.1,
                                              .batch_first = true,
                                              .norm_first = true},
                                    .num_layers = 2,
                                    .final_norm = true}};
    nn::Dropout dropout{{.p = 0.3}};
    nn::Linear out{{.in_features = kDim, .out_features = 10}};
    TextTransformer() {
        register_module("embedding", embedding);
        register_module("position", position);
        register_module("encoder", encoder);
        register_module("dropout", dropout);
        register_module("out", out);
    }
    Tensor forward(const Tensor& indices) override {
        const Tensor padding = indices == 0.0;
        const Tensor h = encoder(position(embedding(indices) * std::sqrt(static_cast<double>(kDim))),
                                 {.src_key_padding_mask = padding});
        const Tensor real = logical_not(padding).to(h.dtype()).unsqueeze(2);
        return out(dropout((h * real).sum({1}) / real.sum({1})));
    }
};

double median_step_ms(int repeats) {
    TextTransformer model;
    optim::Adam opt(model.parameters(), {.lr = 1e-3});
    Tensor indices = randint(1, kVocab, {kBatch, kTokens});
    indices.narrow(1, kReal, kTokens - kReal).zero_();
    const Tensor targets = (rand({kBatch, 10}) < 0.2).to(kFloat32);
    std::vector<double> ms;
    for (int r = 0; r < repeats + 2; ++r) {  // two warm-up steps
        const auto start = std::chrono::steady_clock::now();
        opt.zero_grad();
        Tensor loss = nn::F::binary_cross_entropy_with_logits(model(indices), targets);
        loss.backward();
        opt.step();
        if (r >= 2)
            ms.push_back(std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - start).count());
    }
    std::sort(ms.begin(), ms.end());
    return ms[ms.size() / 2];
}
}  // namespace

int main(int argc, char** argv) {
    int threads = 1, repeats = 10;
    for (int i = 1; i + 1 < argc; ++i) {
        if (!std::strcmp(argv[i], "--threads"))
            threads = std::atoi(argv[++i]);
        else if (!std::strcmp(argv[i], "--repeats"))
            repeats = std::atoi(argv[++i]);
    }
    set_num_threads(threads);
    manual_seed(0);
    std::printf("transformer_step_ms\t%d\t%.2f\tms\n", threads, median_step_ms(repeats));
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    std::printf("transformer_peak_rss_mb\t%d\t%.1f\tMB\n", threads, static_cast<double>(usage.ru_maxrss) / 1024);
    return 0;
}
