// Tutorial: a bidirectional GRU or LSTM with max or attention pooling on Hallmarks of Cancer
// abstracts.
//
// A GRU (Cho et al. 2014; --cell lstm: an LSTM, Hochreiter & Schmidhuber 1997) reads the embedded
// abstract left to right, a second one right to left (padding handled by the lengths), so that
// each word's state h_t = [->h_t; <-h_t] knows its whole abstract. The states are then pooled to
// one vector per abstract: max pooling (BiGRU-max, Conneau et al. 2017) keeps each feature's
// strongest value anywhere in the abstract; --pooling attention (Yang et al. 2016) learns which
// words matter instead: a score per word, s_t = v . tanh(W h_t + b), a softmax over the real
// words a_t = exp(s_t) / sum exp(s), and the abstract is sum a_t h_t. Max pooling is the default
// because it won on dev (micro-F1 0.79 against 0.71 for attention; docs/hoc.md): on abstracts of
// hundreds of words, a hallmark is often signalled by a few phrases anywhere, which the max finds
// at once, while the attention scores have to learn it from 1,300 abstracts.
//
// Dropout on a recurrent network: Zaremba et al. (2014) drop only the non-recurrent connections,
// the word vectors going in and the features going out, never the h -> h path across time steps,
// whose noise would compound over hundreds of steps. --recurrent-dropout naive also drops h
// between steps with a fresh mask at every step (the "naive" recurrent dropout Zaremba et al.
// argued against), run by a step loop of cells, so that the two can be compared:
//
//   hoc_recurrent --embeddings vectors/hoc_word2vec_100d.txt                      (BiGRU, Zaremba dropout)
//   hoc_recurrent --embeddings vectors/hoc_word2vec_100d.txt --recurrent-dropout naive
//   hoc_recurrent --embeddings vectors/hoc_word2vec_100d.txt --cell lstm --pooling attention
//
// Training, evaluation and the report come from hoc_training.hpp, shared with the other models.
#include "hoc_training.hpp"

using namespace xgrad;

namespace {

/// sum_t a_t h_t with a = softmax over the real words of v . tanh(W h_t + b).
struct AttentionPooling : nn::Module {
    nn::Linear project, score;

    AttentionPooling(int64_t features, int64_t size)
        : project({.in_features = features, .out_features = size}),
          score({.in_features = size, .out_features = 1, .bias = false}) {
        register_module("project", project);
        register_module("score", score);
    }
    // h [N, T, D], padding [N, T] (true past each abstract's end) -> [N, D]
    Tensor pool(const Tensor& h, const Tensor& padding) {
        const Tensor scores = score(tanh(project(h))).squeeze(2);                // [N, T]
        const Tensor weights = masked_softmax(scores, padding, 1).unsqueeze(2);  // [N, T, 1]
        return (weights * h).sum({1});
    }
    Tensor forward(const Tensor& h) override { return pool(h, Tensor()); }
};

/// A bidirectional GRU or LSTM made of two cells stepped by hand, with dropout on the recurrent
/// state h between steps, a new mask at every step (the naive recurrent dropout). The dropout is a
/// module, so that Monte Carlo dropout samples it too.
struct NaiveDropoutBiRnn : nn::Module {
    bool lstm;
    nn::Dropout recurrent_dropout;
    std::unique_ptr<nn::Module> forward_cell, backward_cell;

    NaiveDropoutBiRnn(bool lstm, int64_t input, int64_t hidden, double p) : lstm(lstm), recurrent_dropout({.p = p}) {
        for (auto* cell : {&forward_cell, &backward_cell}) {
            if (lstm)
                *cell = std::make_unique<nn::LSTMCell>(nn::LSTMCellOptions{.input_size = input, .hidden_size = hidden});
            else
                *cell = std::make_unique<nn::GRUCell>(nn::GRUCellOptions{.input_size = input, .hidden_size = hidden});
        }
        register_module("forward_cell", *forward_cell);
        register_module("backward_cell", *backward_cell);
        register_module("recurrent_dropout", recurrent_dropout);
    }
    // x [N, T, E] -> [N, T, H], zero past each sequence's end; the state stays put over padding,
    // so the backward direction starts at each abstract's last word.
    Tensor run(nn::Module& cell, const Tensor& x, const Tensor& lengths, bool backwards) {
        const int64_t steps = x.size(1);
        const int64_t hidden = lstm ? static_cast<nn::LSTMCell&>(cell).options.hidden_size
                                    : static_cast<nn::GRUCell&>(cell).options.hidden_size;
        std::vector<Tensor> outputs(static_cast<std::size_t>(steps));
        Tensor h = zeros({x.size(0), hidden}), c = zeros({x.size(0), hidden});
        for (int64_t s = 0; s < steps; ++s) {
            const int64_t t = backwards ? steps - 1 - s : s;
            const Tensor dropped = recurrent_dropout(h);
            nn::LSTMState next;
            if (lstm)
                next = static_cast<nn::LSTMCell&>(cell).forward_with_state(x.select(1, t), {dropped, c});
            else
                next.h = static_cast<nn::GRUCell&>(cell).forward_with_state(x.select(1, t), dropped);
            const Tensor real = (lengths > static_cast<double>(t)).to(kFloat32).unsqueeze(1);  // [N, 1]
            h = real * next.h + (1.0 - real) * h;
            if (lstm) c = real * next.c + (1.0 - real) * c;
            outputs[static_cast<std::size_t>(t)] = real * next.h;
        }
        return stack(outputs, 1);
    }
    Tensor forward_with_lengths(const Tensor& x, const Tensor& lengths) {
        return cat({run(*forward_cell, x, lengths, false), run(*backward_cell, x, lengths, true)}, 2);
    }
    Tensor forward(const Tensor& x) override { return forward_with_lengths(x, full({x.size(0)}, x.size(1), kInt64)); }
};

struct RecurrentOptions {
    bool lstm = false, attention = false, naive_dropout = false;
    int64_t hidden = 64;
    double recurrent_p = 0.25;
};

struct BiRnnClassifier : hoc::TextClassifier {
    RecurrentOptions options;
    std::unique_ptr<nn::GRU> gru;
    std::unique_ptr<nn::LSTM> lstm;
    std::unique_ptr<NaiveDropoutBiRnn> naive;
    AttentionPooling pooling;

    BiRnnClassifier(int64_t vocab, const hoc::Settings& s, const RecurrentOptions& o)
        : TextClassifier(vocab, s, 2 * o.hidden), options(o), pooling(2 * o.hidden, 2 * o.hidden) {
        const nn::RecurrentOptions layer{
            .input_size = s.dim, .hidden_size = o.hidden, .batch_first = true, .bidirectional = true};
        if (o.naive_dropout) {
            naive = std::make_unique<NaiveDropoutBiRnn>(o.lstm, s.dim, o.hidden, o.recurrent_p);
            register_module("rnn", *naive);
        } else if (o.lstm) {
            lstm = std::make_unique<nn::LSTM>(layer);
            register_module("rnn", *lstm);
        } else {
            gru = std::make_unique<nn::GRU>(layer);
            register_module("rnn", *gru);
        }
        if (o.attention) register_module("pooling", pooling);
    }
    Tensor classify(const Tensor& indices, const Tensor& lengths) override {
        const Tensor x = embed(indices);
        const Tensor h = naive  ? naive->forward_with_lengths(x, lengths)
                         : lstm ? lstm->forward_with_state(x, {}, lengths).output
                                : gru->forward_with_state(x, Tensor(), lengths).output;  // [N, T, 2H]
        const Tensor padding = indices == static_cast<double>(data::Vocabulary::kPad);
        // Max pooling: padding positions hold zeros, so they are masked out of the max as well.
        return head(options.attention ? pooling.pool(h, padding)
                                      : amax(h.masked_fill(padding.unsqueeze(2), -1e30), {1}));
    }
};

}  // namespace

int main(int argc, char** argv) try {
    hoc::Settings s;
    s.lr = 2e-3;
    s.dropout = 0.5;
    s.embedding_dropout = 0.3;
    RecurrentOptions o;
    std::string cell = "gru", pooling = "max", recurrent_dropout = "zaremba";
    tutorial::Cli cli(
        "Tutorial: a bidirectional GRU or LSTM with max or attention pooling on Hallmarks of Cancer abstracts.");
    hoc::add_options(cli, s, 2e-3);
    cli.option("--cell", cell, "gru or lstm");
    cli.option("--hidden", o.hidden, "units each way").at_least(1);
    cli.option("--pooling", pooling, "max or attention");
    cli.option("--recurrent-dropout", recurrent_dropout,
               "zaremba (input and output only) or naive (also h between steps, --recurrent-p)");
    cli.option("--recurrent-p", o.recurrent_p, "dropout on h between steps with --recurrent-dropout naive").at_least(0);
    s.quick = cli.parse(argc, argv);
    if (cell != "gru" && cell != "lstm") fail("--cell: expected gru or lstm, got \"", cell, "\"");
    if (pooling != "attention" && pooling != "max") fail("--pooling: expected attention or max, got \"", pooling, "\"");
    if (recurrent_dropout != "zaremba" && recurrent_dropout != "naive")
        fail("--recurrent-dropout: expected zaremba or naive, got \"", recurrent_dropout, "\"");
    o.lstm = cell == "lstm";
    o.attention = pooling == "attention";
    o.naive_dropout = recurrent_dropout == "naive";
    const std::string name =
        std::string(o.lstm ? "BiLSTM-" : "BiGRU-") + pooling + (o.naive_dropout ? " (naive recurrent dropout)" : "");
    return hoc::run(
        name,
        [&](int64_t vocab, const hoc::Settings& settings) {
            return std::make_unique<BiRnnClassifier>(vocab, settings, o);
        },
        s);
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
