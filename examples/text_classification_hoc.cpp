// Tutorial: CNN and LSTM text classifiers on biomedical abstracts (Hallmarks of Cancer).
//
// The task: which of the ten hallmarks of cancer (Hanahan & Weinberg) does a PubMed abstract
// discuss? Multi-label: an abstract may discuss several or none, so each hallmark gets its own
// sigmoid output and binary cross-entropy, and we report F1 (micro: over all decisions; macro:
// the mean of the ten per-hallmark F1 scores).
//
// Two models over the same word embeddings (the lecture's CNNs and LSTMs for text):
//  - a CNN (Kim 2014): filters 3, 4 and 5 words wide slide over the embedded abstract (Conv1d),
//    each feature map is max-pooled over time ("does this n-gram detector fire anywhere?"),
//    dropout, then a linear layer;
//  - a bidirectional LSTM: reads the abstract in both directions (padding masked by the
//    lengths); its outputs are max-pooled over time (BiLSTM-max, Conneau et al. 2017), which
//    gives every position a short path for its gradient, unlike the final states alone, whose
//    gradient must travel back through hundreds of steps. Dropout follows Zaremba et al.: on
//    the embeddings going in and on the features going out, never across time steps.
//
// Hallmarks are rare (each is discussed by 5-25% of the abstracts), so the positive term of each
// hallmark's loss is weighted by its negatives-to-positives ratio in the training set.
//
//   text_classification_hoc [--epochs 8] [--max-tokens 256] [--abstracts all] [--threads 2] [--quick]
#include <xgrad.hpp>

#include <chrono>
#include <cstdio>

#include "tutorial.hpp"

using namespace xgrad;

namespace {

struct Corpus {
    Tensor indices, lengths, targets;  // [N, T] int64, [N] int64, [N, 10] float32
};

Corpus load(const std::string& file, const data::Vocabulary* vocab_in, data::Vocabulary* vocab_out, int64_t max_tokens,
            int64_t limit) {
    std::vector<data::HocAbstract> abstracts = data::hoc_abstracts(data::read_hoc(data::datasets_dir() + "/hoc/" + file));
    if (limit > 0 && static_cast<int64_t>(abstracts.size()) > limit) abstracts.resize(static_cast<std::size_t>(limit));
    std::vector<std::vector<std::string>> texts;
    std::vector<std::array<bool, 10>> labels;
    for (const data::HocAbstract& a : abstracts) {
        std::vector<std::string> tokens;
        for (const std::string& sentence : a.sentences)
            for (std::string& token : data::tokenize(sentence)) tokens.push_back(std::move(token));
        texts.push_back(std::move(tokens));
        labels.push_back(a.labels);
    }
    if (vocab_out) *vocab_out = data::Vocabulary::build(texts, {.min_freq = 2});  // from the training texts only
    const data::Encoded encoded = data::encode(texts, vocab_out ? *vocab_out : *vocab_in, max_tokens);
    return {encoded.indices, encoded.lengths, data::hoc_targets(labels)};
}

// Embedding -> [N, E, T] -> Conv1d k = 3, 4, 5 -> ReLU -> max over time -> dropout -> linear.
struct TextCnn : nn::Module {
    nn::Embedding embedding;
    nn::ModuleList convs;
    nn::Dropout dropout{{.p = 0.5}};
    nn::Linear out;

    TextCnn(int64_t vocab, int64_t dim, int64_t filters)
        : embedding({.num_embeddings = vocab, .embedding_dim = dim, .padding_idx = data::Vocabulary::kPad}),
          out({.in_features = 3 * filters, .out_features = 10}) {
        for (int64_t width : {3, 4, 5})
            convs.emplace<nn::Conv1d>({.in_channels = dim, .out_channels = filters, .kernel_size = width});
        register_module("embedding", embedding);
        register_module("convs", convs);
        register_module("dropout", dropout);
        register_module("out", out);
    }
    Tensor forward(const Tensor& indices) override {
        const Tensor embedded = embedding(indices).transpose(1, 2);  // [N, E, T]: channels first
        std::vector<Tensor> pooled;
        for (std::size_t i = 0; i < convs.size(); ++i) pooled.push_back(amax(relu(convs[i](embedded)), {2}));
        return out(dropout(cat(pooled, 1)));
    }
};

// Embedding -> dropout -> BiLSTM (lengths) -> max over time -> dropout -> linear.
struct BiLstm : nn::Module {
    nn::Embedding embedding;
    nn::Dropout in_dropout{{.p = 0.3}}, out_dropout{{.p = 0.5}};
    nn::LSTM lstm;
    nn::Linear out;
    Tensor lengths;  // set before each forward

    BiLstm(int64_t vocab, int64_t dim, int64_t hidden)
        : embedding({.num_embeddings = vocab, .embedding_dim = dim, .padding_idx = data::Vocabulary::kPad}),
          lstm({.input_size = dim, .hidden_size = hidden, .batch_first = true, .bidirectional = true}),
          out({.in_features = 2 * hidden, .out_features = 10}) {
        register_module("embedding", embedding);
        register_module("in_dropout", in_dropout);
        register_module("lstm", lstm);
        register_module("out_dropout", out_dropout);
        register_module("out", out);
    }
    Tensor forward(const Tensor& indices) override {
        const nn::LSTMOutput run = lstm.forward_with_state(in_dropout(embedding(indices)), {}, lengths);
        // [N, T, 2H], zero past each abstract's end (h lies in (-1, 1), so padding can only win
        // the max where every real step was negative).
        return out(out_dropout(amax(run.output, {1})));
    }
};

struct Scores {
    double micro_f1, macro_f1;
    std::vector<double> per_label;
    double best_micro_f1 = 0;  ///< over the epochs (train_and_test)
};

Scores f1_scores(const Tensor& logits, const Tensor& targets) {
    const Tensor predicted = (logits > 0.0).to(kFloat64), truth = targets.to(kFloat64);
    const Tensor tp = (predicted * truth).sum({0}), fp = (predicted * (1 - truth)).sum({0});
    const Tensor fn = ((1 - predicted) * truth).sum({0});
    Scores s{};
    const double tp_all = tp.sum().item(), fp_all = fp.sum().item(), fn_all = fn.sum().item();
    s.micro_f1 = 2 * tp_all / std::max(1.0, 2 * tp_all + fp_all + fn_all);
    const auto tpv = tp.to_vector<double>(), fpv = fp.to_vector<double>(), fnv = fn.to_vector<double>();
    for (std::size_t k = 0; k < tpv.size(); ++k) s.per_label.push_back(2 * tpv[k] / std::max(1.0, 2 * tpv[k] + fpv[k] + fnv[k]));
    for (double f : s.per_label) s.macro_f1 += f / static_cast<double>(s.per_label.size());
    return s;
}

template <class Model>
Scores train_and_test(const char* name, Model& model, const Corpus& train, const Corpus& test, int epochs) {
    constexpr bool is_lstm = std::is_same_v<Model, BiLstm>;
    optim::Adam opt(model.parameters(), {.lr = 2e-3});
    const Tensor positives = train.targets.sum({0});
    const Tensor pos_weight = (static_cast<double>(train.targets.size(0)) - positives) / clamp_min(positives, 1.0);
    Generator gen(1);
    const int64_t n = train.indices.size(0);
    int64_t parameter_count = 0;
    for (const Tensor& p : model.parameters()) parameter_count += p.numel();
    std::printf("%s (%lld parameters)\n", name, static_cast<long long>(parameter_count));
    Scores scores{};
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        model.train();
        const Tensor order = randperm(n, &gen);
        double total = 0;
        int64_t steps = 0;
        for (int64_t begin = 0; begin < n; begin += 32, ++steps) {
            const Tensor idx = order.slice(0, begin, std::min(n, begin + 32));
            if constexpr (is_lstm) model.lengths = index_select(train.lengths, 0, idx);
            opt.zero_grad();
            Tensor loss = nn::F::binary_cross_entropy_with_logits(model(index_select(train.indices, 0, idx)),
                                                                  index_select(train.targets, 0, idx), Tensor(), pos_weight);
            loss.backward();
            opt.step();
            total += loss.item();
        }
        model.eval();
        NoGradGuard no_grad;
        if constexpr (is_lstm) model.lengths = test.lengths;
        const double best = scores.best_micro_f1;
        scores = f1_scores(model(test.indices), test.targets);
        scores.best_micro_f1 = std::max(best, scores.micro_f1);
        std::printf("  epoch %d: train loss %.4f, test micro-F1 %.3f, macro-F1 %.3f (%.1f s)\n", epoch,
                    total / static_cast<double>(steps), scores.micro_f1, scores.macro_f1,
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return scores;
}

}  // namespace

int main(int argc, char** argv) {
    tutorial::Flags flags(argc, argv);
    const bool quick = flags.has("quick");
    const int epochs = static_cast<int>(flags.number("epochs", quick ? 4 : 8));
    // --quick (the test suite, also under the sanitizers, where every op is ~30x slower) keeps
    // 800 abstracts and their first 64 tokens.
    const int64_t max_tokens = static_cast<int64_t>(flags.number("max-tokens", quick ? 64 : 256));
    const int64_t limit = static_cast<int64_t>(flags.number("abstracts", quick ? 800 : -1));
    set_num_threads(static_cast<int>(flags.number("threads", get_num_threads())));
    flags.reject_unknown();
    manual_seed(0);

    data::Vocabulary vocab({"<pad>", "<unk>"});
    const Corpus train = load("train.tsv", nullptr, &vocab, max_tokens, limit);
    const Corpus test = load("test.tsv", &vocab, nullptr, max_tokens, -1);
    std::printf("Hallmarks of Cancer, abstract level: %lld training and %lld test abstracts, vocabulary %lld "
                "(words seen twice in training), %lld tokens kept per abstract\n\n",
                static_cast<long long>(train.indices.size(0)), static_cast<long long>(test.indices.size(0)),
                static_cast<long long>(vocab.size()), static_cast<long long>(max_tokens));

    // The score to beat: flagging every hallmark in every abstract (recall 1, precision = how
    // common the hallmarks are).
    const Scores everything = f1_scores(full(test.targets.sizes(), 1.0), test.targets);
    std::printf("Predicting every hallmark everywhere: micro-F1 %.3f, macro-F1 %.3f\n\n", everything.micro_f1,
                everything.macro_f1);

    TextCnn cnn(vocab.size(), 64, 64);
    const Scores cnn_scores = train_and_test("CNN, filters of 3, 4, 5 words x 64", cnn, train, test, epochs);
    manual_seed(0);
    BiLstm lstm(vocab.size(), 64, 64);
    const Scores lstm_scores = train_and_test("Bidirectional LSTM, 64 units each way", lstm, train, test, epochs);

    std::printf("\nPer-hallmark test F1:\n%-26s %8s %8s\n", "hallmark", "CNN", "BiLSTM");
    for (std::size_t k = 0; k < 10; ++k)
        std::printf("%-26s %8.3f %8.3f\n", data::hoc_labels()[k].c_str(), cnn_scores.per_label[k], lstm_scores.per_label[k]);
    // Predicting "no hallmark" scores 0 and "every hallmark" the line above: both models must
    // learn well beyond that. The short --quick run, a smoke test, has to beat it in some epoch.
    const bool holds = quick ? cnn_scores.best_micro_f1 > everything.micro_f1 && lstm_scores.best_micro_f1 > everything.micro_f1
                             : cnn_scores.micro_f1 > everything.micro_f1 + 0.25 && lstm_scores.micro_f1 > everything.micro_f1 + 0.25;
    if (!holds) std::printf("unexpected: the models did not learn as expected\n");
    return holds ? 0 : 1;
}
