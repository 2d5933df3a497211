// Tutorial: CNN, LSTM and Transformer text classifiers on biomedical abstracts (Hallmarks of Cancer).
//
// The task: which of the ten hallmarks of cancer (Hanahan & Weinberg) does a PubMed abstract
// discuss? Multi-label: an abstract may discuss several or none, so each hallmark gets its own
// sigmoid output and binary cross-entropy, and we report F1 (micro: over all decisions; macro:
// the mean of the ten per-hallmark F1 scores).
//
// Three models over the same kind of word embeddings (the lecture's CNNs and LSTMs for text, and
// the self-attention that replaced recurrence in most of NLP):
//  - a CNN (Kim 2014): filters 3, 4 and 5 words wide slide over the embedded abstract (Conv1d),
//    each feature map is max-pooled over time ("does this n-gram detector fire anywhere?"),
//    dropout, then a linear layer;
//  - a bidirectional LSTM: reads the abstract in both directions (padding masked by the
//    lengths); its outputs are max-pooled over time (BiLSTM-max, Conneau et al. 2017), which
//    gives every position a short path for its gradient, unlike the final states alone, whose
//    gradient must travel back through hundreds of steps. Dropout follows Zaremba et al.: on
//    the embeddings going in and on the features going out, never across time steps;
//  - a Transformer encoder (Vaswani et al. 2017): sinusoidal positions are added to the
//    embeddings, two layers of multi-head self-attention let every word look at every other word
//    of the abstract at once (padding masked out by key_padding_mask), and the outputs of the real
//    words are averaged. Without recurrence, the path between any two words is one step long.
//
// Hallmarks are rare (each is discussed by 5-25% of the abstracts), so the positive term of each
// hallmark's loss is weighted by its negatives-to-positives ratio in the training set.
//
//   text_classification_hoc [--epochs 8] [--max-tokens 256] [--abstracts all] [--threads 2] [--out .] [--quick]
//                           [--models cnn,lstm,transformer]
//   (plot: hoc_micro_f1, the test micro-F1 of each model per epoch)
#include <xgrad/xgrad.hpp>

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
    std::vector<data::HocAbstract> abstracts =
        data::hoc_abstracts(data::read_hoc(data::datasets_dir() + "/hoc/" + file));
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
    Tensor forward(const Tensor& indices, const Tensor& lengths) {
        const nn::LSTMOutput run = lstm.forward_with_state(in_dropout(embedding(indices)), {}, lengths);
        // [N, T, 2H], zero past each abstract's end (h lies in (-1, 1), so padding can only win
        // the max where every real step was negative).
        return out(out_dropout(amax(run.output, {1})));
    }
};

// Embedding (scaled by sqrt(d), as in the paper) + positions -> 2 encoder layers over the real
// words -> mean over the real words -> dropout -> linear.
struct TextTransformer : nn::Module {
    int64_t dim;
    nn::Embedding embedding;
    nn::PositionalEncoding position;
    nn::TransformerEncoder encoder;
    nn::Dropout dropout{{.p = 0.3}};
    nn::Linear out;

    TextTransformer(int64_t vocab, int64_t dim, int64_t heads, int64_t max_tokens)
        : dim(dim),
          embedding({.num_embeddings = vocab, .embedding_dim = dim, .padding_idx = data::Vocabulary::kPad}),
          position({.d_model = dim, .max_len = max_tokens, .dropout = 0.1, .batch_first = true}),
          encoder({.layer = {.d_model = dim,
                             .nhead = heads,
                             .dim_feedforward = 2 * dim,
                             .dropout = 0.1,
                             .batch_first = true,
                             .norm_first = true},
                   .num_layers = 2,
                   .final_norm = true}),
          out({.in_features = dim, .out_features = 10}) {
        register_module("embedding", embedding);
        register_module("position", position);
        register_module("encoder", encoder);
        register_module("dropout", dropout);
        register_module("out", out);
    }
    Tensor forward(const Tensor& indices, const Tensor&) {
        const Tensor padding = indices == static_cast<double>(data::Vocabulary::kPad);  // [N, T], true = ignore
        const Tensor embedded = embedding(indices);
        const Tensor h = encoder(position(embedded), {.src_key_padding_mask = padding});  // [N, T, E]
        const Tensor real = logical_not(padding).to(h.dtype()).unsqueeze(2);              // [N, T, 1]
        return out(dropout((h * real).sum({1}) / real.sum({1})));
    }
};

// Each model's call with the abstracts' lengths (the CNN does not need them).
Tensor predict(TextCnn& model, const Tensor& indices, const Tensor&) {
    return model(indices);
}
template <class Model>
Tensor predict(Model& model, const Tensor& indices, const Tensor& lengths) {
    return model.forward(indices, lengths);
}

// The test set in batches: attention over a whole test set at once would need an [N heads, T, T]
// score tensor of gigabytes.
template <class Model>
Tensor predict_in_batches(Model& model, const Corpus& corpus, int64_t batch) {
    std::vector<Tensor> parts;
    for (int64_t begin = 0; begin < corpus.indices.size(0); begin += batch) {
        const int64_t n = std::min(batch, corpus.indices.size(0) - begin);
        parts.push_back(predict(model, corpus.indices.narrow(0, begin, n), corpus.lengths.narrow(0, begin, n)));
    }
    return cat(parts, 0);
}

struct Scores {
    double micro_f1, macro_f1;
    std::vector<double> per_label;
    double best_micro_f1 = 0;            ///< over the epochs (train_and_test)
    std::vector<double> micro_f1_curve;  ///< test micro-F1 after each epoch (train_and_test)
};

// Label l is predicted where its logit is above 0 (probability above 1/2).
Scores f1_scores(const Tensor& logits, const Tensor& targets) {
    const metrics::ClassReport r = metrics::multilabel_report(logits, targets, 0.0);
    return {r.micro_f1, r.macro_f1, r.f1};
}

template <class Model>
Scores train_and_test(const char* name, Model& model, const Corpus& train, const Corpus& test, int epochs, double lr) {
    optim::Adam opt(model.parameters(), {.lr = lr});
    const Tensor positives = train.targets.sum({0});
    const Tensor pos_weight = (static_cast<double>(train.targets.size(0)) - positives) / clamp_min(positives, 1.0);
    Generator gen(1);
    const int64_t n = train.indices.size(0);
    int64_t parameter_count = 0;
    for (const Tensor& p : model.parameters()) parameter_count += p.numel();
    std::printf("%s (%lld parameters)\n", name, static_cast<long long>(parameter_count));
    Scores scores{};
    std::vector<double> curve;
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        model.train();
        const Tensor order = randperm(n, &gen);
        double total = 0;
        int64_t steps = 0;
        const int64_t batches = (n + 31) / 32;
        // A live bar on a terminal; in a log, one line at the end of the epoch.
        training::ProgressBar bar({.total = batches,
                                   .description = tutorial::format("  epoch %d/%d", epoch, epochs),
                                   .out = &std::cout,
                                   .line_every = batches});
        for (int64_t begin = 0; begin < n; begin += 32, ++steps) {
            const Tensor idx = order.slice(0, begin, std::min(n, begin + 32));
            opt.zero_grad();
            const Tensor logits =
                predict(model, index_select(train.indices, 0, idx), index_select(train.lengths, 0, idx));
            Tensor loss = nn::F::binary_cross_entropy_with_logits(logits, index_select(train.targets, 0, idx), Tensor(),
                                                                  pos_weight);
            loss.backward();
            opt.step();
            total += loss.item();
            bar.update(idx.size(0), {{"loss", loss.item()}});
        }
        bar.finish();
        model.eval();
        NoGradGuard no_grad;
        const double best = scores.best_micro_f1;
        const Tensor logits = predict_in_batches(model, test, 64);
        scores = f1_scores(logits, test.targets);
        scores.best_micro_f1 = std::max(best, scores.micro_f1);
        curve.push_back(scores.micro_f1);
        scores.micro_f1_curve = curve;
        std::printf("  epoch %d: train loss %.4f, test micro-F1 %.3f, macro-F1 %.3f, macro ROC AUC %.3f (%.1f s)\n",
                    epoch, total / static_cast<double>(steps), scores.micro_f1, scores.macro_f1,
                    metrics::macro_roc_auc(logits, test.targets),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return scores;
}

}  // namespace

int main(int argc, char** argv) try {
    int epochs = 0, threads = get_num_threads();
    int64_t max_tokens = 0, limit = 0;
    std::string models = "cnn,lstm,transformer";
    tutorial::Cli cli("Tutorial: Hallmarks of Cancer, multi-label, with a CNN, a BiLSTM and a Transformer.");
    cli.option("--epochs", epochs, 8, 4, "training epochs per model").at_least(1);
    // --quick (the test suite, also under the sanitizers, where every op is ~30x slower) keeps
    // 800 abstracts and their first 64 tokens.
    cli.option("--max-tokens", max_tokens, 256, 64, "tokens kept per abstract").at_least(1);
    cli.option("--abstracts", limit, -1, 800, "abstracts used (-1: all)").at_least(-1);
    cli.option("--threads", threads, "threads for kernels and BLAS").at_least(1);
    cli.option("--models", models, "comma-separated: cnn, lstm, transformer");
    std::string out = ".";
    cli.option("--out", out, "folder for the plot of the test micro-F1 per epoch");
    const bool quick = cli.parse(argc, argv);
    set_num_threads(threads);
    const auto wanted = [&](const std::string& name) { return models.find(name) != std::string::npos; };
    manual_seed(0);

    data::Vocabulary vocab({"<pad>", "<unk>"});
    const Corpus train = load("train.tsv", nullptr, &vocab, max_tokens, limit);
    const Corpus test = load("test.tsv", &vocab, nullptr, max_tokens, -1);
    std::printf(
        "Hallmarks of Cancer, abstract level: %lld training and %lld test abstracts, vocabulary %lld "
        "(words seen twice in training), %lld tokens kept per abstract\n\n",
        static_cast<long long>(train.indices.size(0)), static_cast<long long>(test.indices.size(0)),
        static_cast<long long>(vocab.size()), static_cast<long long>(max_tokens));

    // The score to beat: flagging every hallmark in every abstract (recall 1, precision = how
    // common the hallmarks are).
    const Scores everything = f1_scores(full(test.targets.sizes(), 1.0), test.targets);
    std::printf("Predicting every hallmark everywhere: micro-F1 %.3f, macro-F1 %.3f\n\n", everything.micro_f1,
                everything.macro_f1);

    std::vector<std::pair<std::string, Scores>> results;
    if (wanted("cnn")) {
        manual_seed(0);
        TextCnn cnn(vocab.size(), 64, 64);
        results.emplace_back("CNN",
                             train_and_test("CNN, filters of 3, 4, 5 words x 64", cnn, train, test, epochs, 2e-3));
    }
    if (wanted("lstm")) {
        manual_seed(0);
        BiLstm lstm(vocab.size(), 64, 64);
        results.emplace_back("BiLSTM",
                             train_and_test("Bidirectional LSTM, 64 units each way", lstm, train, test, epochs, 2e-3));
    }
    if (wanted("transformer")) {
        manual_seed(0);
        TextTransformer transformer(vocab.size(), 64, 4, max_tokens);
        results.emplace_back("Transformer", train_and_test("Transformer encoder, 2 layers of 4 heads x 16", transformer,
                                                           train, test, epochs, 3e-3));
    }

    std::printf("\nPer-hallmark test F1:\n%-26s", "hallmark");
    for (const auto& [name, s] : results) std::printf(" %11s", name.c_str());
    for (std::size_t k = 0; k < 10; ++k) {
        std::printf("\n%-26s", data::hoc_labels()[k].c_str());
        for (const auto& [name, s] : results) std::printf(" %11.3f", s.per_label[k]);
    }
    std::printf("\n");
    std::vector<tutorial::Series> curves;
    for (const auto& [name, sc] : results) {
        tutorial::Series c{name, {}, sc.micro_f1_curve};
        for (int e = 1; e <= static_cast<int>(sc.micro_f1_curve.size()); ++e) c.x.push_back(e);
        curves.push_back(c);
    }
    if (!curves.empty()) {
        curves.push_back(
            {"every hallmark everywhere", curves[0].x, std::vector<double>(curves[0].x.size(), everything.micro_f1)});
        tutorial::plot(out + "/hoc_micro_f1", "Hallmarks of Cancer: test micro-F1 per epoch", "epoch", "micro-F1",
                       curves, false);
    }
    // Predicting "no hallmark" scores 0 and "every hallmark" the line above: every model must
    // learn well beyond that. The short --quick run, a smoke test, has to beat it in some epoch.
    bool holds = true;
    for (const auto& [name, s] : results)
        holds = holds && (quick ? s.best_micro_f1 > everything.micro_f1 : s.micro_f1 > everything.micro_f1 + 0.25);
    if (!holds) std::printf("unexpected: the models did not learn as expected\n");
    return holds ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
