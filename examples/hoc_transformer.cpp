// Tutorial: a small Transformer encoder (Vaswani et al. 2017) on Hallmarks of Cancer abstracts.
//
// Self-attention lets every word look at every other word of the abstract at once: the path
// between any two words is one step long, where a recurrent network needs as many steps as the
// words between them. Word vectors plus sinusoidal position encodings go through pre-norm encoder layers of multi-head
// self-attention and a feed-forward block, padding masked out of every attention (src_key_padding_mask); the states of
// the real words are averaged (--pooling mean) or weighted by a learned attention (--pooling attention) into the
// abstract's features:
//
//   hoc_transformer --embeddings vectors/hoc_word2vec_100d.txt [--layers 2] [--heads 4]
//
// Training, evaluation and the report come from hoc_training.hpp, shared with the other models.
#include "hoc_training.hpp"

using namespace xgrad;

namespace {

struct TextTransformer : hoc::TextClassifier {
    bool attention_pooling;
    nn::PositionalEncoding position;
    nn::TransformerEncoder encoder;
    nn::Linear score;  ///< attention pooling: one score per word

    TextTransformer(int64_t vocab, const hoc::Settings& s, int64_t layers, int64_t heads, double attention_dropout,
                    bool attention_pooling)
        : TextClassifier(vocab, s, s.dim),
          attention_pooling(attention_pooling),
          position({.d_model = s.dim, .max_len = s.max_tokens, .dropout = attention_dropout, .batch_first = true}),
          encoder({.layer = {.d_model = s.dim,
                             .nhead = heads,
                             .dim_feedforward = 2 * s.dim,
                             .dropout = attention_dropout,
                             .batch_first = true,
                             .norm_first = true},
                   .num_layers = layers,
                   .final_norm = true}),
          score({.in_features = s.dim, .out_features = 1}) {
        register_module("position", position);
        register_module("encoder", encoder);
        if (attention_pooling) register_module("score", score);
    }
    Tensor classify(const Tensor& indices, const Tensor&) override {
        const Tensor padding = indices == static_cast<double>(data::Vocabulary::kPad);  // [N, T], true = ignore
        // Not scaled by sqrt(d) as in the paper: these vectors (N(0, 1) or word2vec's) are already
        // on the scale of the position encodings (values in [-1, 1]), which a factor 10 would drown.
        const Tensor h = encoder(position(embed(indices)), {.src_key_padding_mask = padding});  // [N, T, E]
        if (attention_pooling) {
            const Tensor weights = masked_softmax(score(h).squeeze(2), padding, 1).unsqueeze(2);  // [N, T, 1]
            return head((weights * h).sum({1}));
        }
        const Tensor real = logical_not(padding).to(h.dtype()).unsqueeze(2);  // [N, T, 1]
        return head((h * real).sum({1}) / real.sum({1}));
    }
};

}  // namespace

int main(int argc, char** argv) try {
    hoc::Settings s;
    s.lr = 1e-3;
    // An epoch here takes 7x the CNN's (attention over 384 words): fewer epochs, so that the three
    // models with 3 seeds stay within the comparison's 30 minutes on 2 cores.
    s.epochs = 15;
    s.patience = 4;
    // For the same reason the Monte Carlo mean is not scored every epoch (20 dev passes would add
    // a third to each): it is evaluated at the one-pass best epoch, so dev's choice between the
    // two predictions leans towards the one pass (see --mc-selection).
    s.mc_selection = false;
    s.dropout = 0.3;
    s.embedding_dropout = 0.1;
    int64_t layers = 2, heads = 4;
    double attention_dropout = 0.1;
    std::string pooling = "mean";
    tutorial::Cli cli("Tutorial: a Transformer encoder on Hallmarks of Cancer abstracts.");
    hoc::add_options(cli, s, 3e-3);
    cli.option("--layers", layers, "encoder layers").at_least(1);
    cli.option("--heads", heads, "attention heads (must divide --dim)").at_least(1);
    cli.option("--attention-dropout", attention_dropout, "dropout inside the encoder layers").at_least(0);
    cli.option("--pooling", pooling, "mean or attention");
    s.quick = cli.parse(argc, argv);
    if (pooling != "mean" && pooling != "attention")
        fail("--pooling: expected mean or attention, got \"", pooling, "\"");
    return hoc::run(
        "Transformer",
        [&](int64_t vocab, const hoc::Settings& settings) {
            return std::make_unique<TextTransformer>(vocab, settings, layers, heads, attention_dropout,
                                                     pooling == "attention");
        },
        s);
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
