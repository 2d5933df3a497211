#pragma once
// What the Hallmarks of Cancer classifiers share, so that each program is only its model:
//  - TextClassifier, the frame of every model: an embedding layer (random, or started from word
//    vectors such as word2vec_hoc's) with dropout on the words, and a head (optional batch or
//    layer normalization, dropout, a linear layer to the ten hallmark logits);
//  - Settings and their command-line flags: the lecture's techniques, switchable (initialization,
//    dropout, normalization, optimizer, L2, max-norm, embeddings);
//  - one training loop: binary cross-entropy per hallmark with the positives weighted by their
//    rarity, minibatches, optionally a moving average of the weights (--average), early stopping
//    on dev micro-F1 (the best epoch's weights are kept, for each rule of prediction);
//  - the evaluation: the rule chosen on dev (one deterministic pass or the mean of Monte Carlo
//    dropout passes, at the threshold 1/2 or at per-hallmark thresholds tuned on dev, each rule at
//    its own best dev epoch, compared by cross-fitted dev scores: each half of dev labelled with
//    the epoch and thresholds the other half chose), test F1 with it and with the alternatives,
//    over several seeds and for their averaged probabilities, the per-hallmark table, and Monte
//    Carlo dropout's uncertainty: which abstracts the model is unsure of, and F1 when it abstains
//    on them;
//  - --ensemble K: each model the mean of K networks' probabilities (a deep ensemble);
//  - --refit: once dev has chosen, each seed trained again on train + dev for its chosen epochs
//    and tested once more (the usual last step when dev is too small to be worth holding out);
//  - --save-predictions: every model's dev and test probabilities to a file, which hoc_ensemble
//    combines with other programs' (the rules, what a seed keeps and those files live in
//    hoc_predictions.hpp).
#include <xgrad/xgrad.hpp>

#include <algorithm>
#include <cctype>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <functional>
#include <map>
#include <memory>
#include <numeric>
#include <string>
#include <tuple>
#include <unordered_set>
#include <vector>

#include "hoc_corpus.hpp"
#include "hoc_predictions.hpp"
#include "optimizer_by_name.hpp"
#include "tutorial.hpp"

namespace hoc {

using xgrad::Tensor;

struct Settings {
    int epochs = 30, patience = 5, seeds = 3, mc_samples = 20, threads = 1;
    int ensemble = 1;  ///< networks per model: a model is the mean of their probabilities
    int64_t batch_size = 32, max_tokens = 384, abstracts = -1, dim = 100;
    double lr = 1e-3, l2 = 0, max_norm = 0;
    double average = 0;              ///< decay of the weights' moving average (0: off)
    double dropout = 0.5;            ///< before the output layer
    double embedding_dropout = 0.2;  ///< on the word vectors going in
    std::string optimizer = "adam";
    std::string pos_weight = "ratio";  ///< ratio (negatives / positives), sqrt (of it) or none
    std::string init = "default";      ///< default (PyTorch's), xavier, he, normal, uniform, zeros
    std::string norm = "none";         ///< none, batch, layer: on the pooled features
    std::string embeddings;            ///< word-vector file to start from; empty: random N(0, 1)
    std::string subwords;              ///< n-gram vectors for the dev/test words training did not show
    bool freeze_embeddings = false;
    bool mc_selection = true;      ///< early stopping keeps the Monte Carlo mean's best dev epoch too
    bool refit = false;            ///< train each seed again on train + dev for its chosen epochs
    std::string save_predictions;  ///< .npz file for every model's dev and test probabilities (hoc_ensemble)
    std::string out = ".";
    bool quick = false;
};

/// The flags every model program takes. `s` arrives with the model's defaults; --quick (400
/// abstracts of 64 tokens, 5 epochs) trains with `quick_lr`.
inline void add_options(tutorial::Cli& cli, Settings& s, double quick_lr) {
    cli.option("--epochs", s.epochs, s.epochs, 5, "most epochs per seed (early stopping on dev)").at_least(1);
    cli.option("--patience", s.patience, "epochs without a better dev micro-F1 (one pass, at 1/2) before stopping")
        .at_least(1);
    cli.option("--seeds", s.seeds, s.seeds, 1, "seeds trained (1, 2, ...); results are their mean").at_least(1);
    cli.option("--ensemble", s.ensemble,
               "networks per model (a deep ensemble): each of the --seeds models is the mean of the probabilities "
               "of this many networks, each trained from a seed of its own (costs that many times the training)")
        .at_least(1);
    cli.option("--batch-size", s.batch_size, "abstracts per minibatch").at_least(1);
    cli.option("--max-tokens", s.max_tokens, s.max_tokens, 64, "tokens kept per abstract").at_least(5);
    cli.option("--abstracts", s.abstracts, -1, 400, "training abstracts used (-1: all)").at_least(-1);
    cli.option("--dim", s.dim, "word-vector size (must match --embeddings)").at_least(1);
    cli.option("--embeddings", s.embeddings, "word2vec text file to start the embeddings from (word2vec_hoc's)");
    cli.option("--subwords", s.subwords,
               "character n-gram vectors (word2vec_hoc's hoc_subwords_<dim>d.txt): dev and test words outside the "
               "vocabulary get the mean of their n-grams' vectors instead of <unk>'s (needs --embeddings)");
    cli.flag("--freeze-embeddings", s.freeze_embeddings, "keep the loaded word vectors fixed");
    cli.option("--init", s.init, "weights: default, xavier, he, normal, uniform, zeros");
    cli.option("--dropout", s.dropout, "dropout before the output layer (0: off)").at_least(0);
    cli.option("--embedding-dropout", s.embedding_dropout, "dropout on the word vectors (0: off)").at_least(0);
    cli.option("--norm", s.norm, "on the pooled features: none, batch, layer");
    cli.option(
        "--pos-weight", s.pos_weight,
        "weight of a hallmark's positives in the loss: ratio (negatives / positives), sqrt (of the ratio), none");
    cli.option("--optimizer", s.optimizer, "sgd, momentum, nesterov, adagrad, rmsprop, adadelta, adam, nadam, ...");
    cli.option("--lr", s.lr, s.lr, quick_lr, "learning rate").at_least(0);
    cli.option("--l2", s.l2, "L2 penalty lambda / 2 * sum w^2 on the weights (not biases, norms, embeddings)")
        .at_least(0);
    cli.option("--max-norm", s.max_norm, "largest norm of each output-layer row after a step (0: off)").at_least(0);
    cli.option("--average", s.average,
               "evaluate and keep a moving average of the weights with this decay per step (0: the weights)")
        .at_least(0);
    cli.option("--mc-samples", s.mc_samples, s.mc_samples, 4, "Monte Carlo dropout passes").at_least(1);
    cli.option("--mc-selection", s.mc_selection,
               "1: score the Monte Carlo mean on dev every epoch and keep its own best epoch, so that dev chooses "
               "between the predictions fairly (costs --mc-samples dev passes per epoch); 0: it takes the one "
               "pass's epoch");
    cli.flag("--refit", s.refit,
             "once dev has chosen the rule and each seed's epoch, train each seed again on train + dev for that many "
             "epochs and report its test micro-F1 (the last line then gives this figure)");
    cli.option("--save-predictions", s.save_predictions,
               ".npz file to write every model's dev and test probabilities to, for each rule at the epoch it kept "
               "(hoc_ensemble combines the models of several programs from such files)");
    cli.option("--threads", s.threads, "threads for kernels and BLAS").at_least(1);
    cli.option("--out", s.out, "folder for the abstention plot");
}

/// The frame of every HoC model. A model reads embed(indices), pools its own way to
/// `features` numbers per abstract and returns head(pooled).
struct TextClassifier : xgrad::nn::Module {
    xgrad::nn::Embedding embedding;
    xgrad::nn::Dropout embedding_dropout;
    xgrad::nn::Sequential norm;  ///< empty, BatchNorm1d or LayerNorm
    xgrad::nn::Dropout dropout;
    xgrad::nn::Linear out;

    TextClassifier(int64_t vocab, const Settings& s, int64_t features)
        : embedding({.num_embeddings = vocab, .embedding_dim = s.dim, .padding_idx = xgrad::data::Vocabulary::kPad}),
          embedding_dropout({.p = s.embedding_dropout}),
          dropout({.p = s.dropout}),
          out({.in_features = features, .out_features = 10}) {
        using namespace xgrad;
        if (s.norm == "batch")
            norm.emplace<nn::BatchNorm1d>({.num_features = features});
        else if (s.norm == "layer")
            norm.emplace<nn::LayerNorm>({.normalized_shape = {features}});
        else if (s.norm != "none")
            fail("--norm: expected none, batch or layer, got \"", s.norm, "\"");
        register_module("embedding", embedding);
        register_module("embedding_dropout", embedding_dropout);
        register_module("norm", norm);
        register_module("dropout", dropout);
        register_module("out", out);
    }
    /// Logits [N, 10] for token indices [N, T] and lengths [N].
    virtual Tensor classify(const Tensor& indices, const Tensor& lengths) = 0;
    /// The fewest token columns the model can read (a convolution needs its width).
    virtual int64_t min_tokens() const { return 1; }
    /// Called once the word vectors of --embeddings are in `embedding` (a model that keeps a
    /// second copy of them, such as Kim's static channel, takes it here).
    virtual void embeddings_loaded() {}

    /// classify() on the columns up to the batch's longest abstract, rounded up to a multiple of
    /// 64: the padding beyond it is masked out by every model anyway, so the logits are the same,
    /// and the work is less. (Rounded, so that a few shapes recur: xgrad's allocator reuses the
    /// memory of a shape it has seen, while a new shape every batch costs fresh pages.)
    Tensor classify_batch(const Tensor& indices, const Tensor& lengths) {
        const int64_t longest = std::max(min_tokens(), lengths.max().item<int64_t>());
        const int64_t kept = std::min(indices.size(1), (longest + 63) / 64 * 64);
        return classify(kept < indices.size(1) ? indices.narrow(1, 0, kept) : indices, lengths);
    }

    Tensor embed(const Tensor& indices) { return embedding_dropout(embedding(indices)); }
    Tensor head(const Tensor& pooled) { return out(dropout(norm.size() ? norm(pooled) : pooled)); }
    Tensor forward(const Tensor& indices) override {
        const Tensor real = xgrad::logical_not(indices == static_cast<double>(xgrad::data::Vocabulary::kPad));
        return classify(indices, real.to(xgrad::kInt64).sum({1}));
    }
};

using ModelFactory = std::function<std::unique_ptr<TextClassifier>(int64_t vocab, const Settings&)>;

/// The weights of the layers (not biases, norms or the embeddings): what --init and --l2 act on.
inline std::vector<Tensor> layer_weights(const xgrad::nn::Module& model) {
    std::vector<Tensor> weights;
    for (const auto& [name, p] : model.named_parameters())
        if (p.dim() >= 2 && name.find("embedding") == std::string::npos && name.find("norm") == std::string::npos)
            weights.push_back(p);
    return weights;
}

/// --init: the lecture's schemes on every layer weight (the biases stay as the layers made them).
/// Zeros makes all units of a layer compute the same thing forever, which the lecture warns of.
inline void initialize(xgrad::nn::Module& model, const std::string& scheme) {
    using namespace xgrad::nn::init;
    if (scheme == "default") return;  // each layer's own (PyTorch's) initialization
    for (const Tensor& w : layer_weights(model)) {
        if (scheme == "xavier")
            xavier_uniform_(w);
        else if (scheme == "he")
            kaiming_normal_(w, 0.0, FanMode::fan_in, Nonlinearity::relu);
        else if (scheme == "normal")
            normal_(w, 0.0, 0.05);
        else if (scheme == "uniform")
            uniform_(w, -0.05, 0.05);
        else if (scheme == "zeros")
            zeros_(w);
        else
            xgrad::fail("--init: expected default, xavier, he, normal, uniform or zeros, got \"", scheme, "\"");
    }
}

/// --embeddings: the word vectors of the file for the words it has (found in the vocabulary),
/// small random ones for the rest, zeros for <pad>; with --subwords, the unseen words' vectors
/// spelled from their n-grams. (Those words never occur in training: their rows get no gradient and
/// keep their spelled vectors, unless the optimizer decays weights, as adamw does, or --refit
/// trains on dev, where the dev words among them then learn like any other.)
inline void load_embeddings(TextClassifier& model, const Settings& s, const Corpus& corpus, bool report) {
    using namespace xgrad;
    if (s.embeddings.empty()) return;
    const data::Vocabulary& vocab = corpus.vocab;
    const data::WordVectors vectors = data::read_word_vectors(s.embeddings, vocab, {.expected_dim = s.dim});
    {
        NoGradGuard no_grad;
        model.embedding.weight.copy_(vectors.weights);
    }
    int64_t spelled = 0;  // unseen words the word-vector file does not have either
    if (corpus.spelled.defined()) {
        NoGradGuard no_grad;
        const std::unordered_set<std::string> missing(vectors.missing.begin(), vectors.missing.end());
        for (int64_t row = corpus.trained_words; row < vocab.size(); ++row) {
            if (!missing.count(vocab.token(row))) continue;
            model.embedding.weight[row].copy_(corpus.spelled[row - corpus.trained_words]);
            ++spelled;
        }
    }
    if (s.freeze_embeddings) model.embedding.weight.requires_grad_(false);
    model.embeddings_loaded();
    if (report)
        std::printf(
            "word vectors from %s: %lld of %lld words found%s\n", s.embeddings.c_str(),
            static_cast<long long>(vectors.hits), static_cast<long long>(vocab.size() - 1),
            spelled ? (", " + std::to_string(spelled) + " unseen ones spelled from their n-grams").c_str() : "");
}

/// Logits of a whole split in batches, in evaluation mode, without a graph, in the split's order.
/// The batches take the abstracts longest first: a batch is padded to its longest abstract, so in
/// file order nearly every batch would run at the full 384 tokens, while sorted ones shrink with
/// their abstracts (a third less evaluation time for the Transformer, whose attention is quadratic
/// in the length). Each abstract's logits do not depend on its batch-mates, only Monte Carlo
/// dropout's masks fall on other abstracts.
inline Tensor logits_of(TextClassifier& model, const Split& split, int64_t batch = 64) {
    using namespace xgrad;
    NoGradGuard no_grad;
    const Tensor longest_first = argsort(split.lengths, 0, /*descending=*/true);
    std::vector<Tensor> parts;
    for (int64_t begin = 0; begin < split.size(); begin += batch) {
        const Tensor rows = longest_first.narrow(0, begin, std::min(batch, split.size() - begin));
        parts.push_back(
            model.classify_batch(index_select(split.indices, 0, rows), index_select(split.lengths, 0, rows)));
    }
    return index_select(cat(parts, 0), 0, argsort(longest_first, 0));
}

/// One seed's model and everything that trains it, on the split it is given (train, or train +
/// dev for --refit): built, initialized and given its word vectors under the seed, with its
/// optimizer, L2 penalty, weight average and the positives' weights of that split.
class SeedTraining {
public:
    SeedTraining(const ModelFactory& make, const Corpus& corpus, const Split& train, const Settings& s, uint64_t seed,
                 bool report)
        : s_(s), train_(train), seed_(seed), shuffle_(seed) {
        using namespace xgrad;
        manual_seed(seed);
        model_ = make(corpus.vocab.size(), s);
        initialize(*model_, s.init);
        if (report) {
            int64_t count = 0;
            for (const Tensor& p : model_->parameters()) count += p.numel();
            std::printf("%lld parameters\n", static_cast<long long>(count));
        }
        load_embeddings(*model_, s, corpus, report);
        std::vector<Tensor> trainable;
        for (const Tensor& p : model_->parameters())
            if (p.requires_grad()) trainable.push_back(p);
        optimizer_ = example::make_optimizer(s.optimizer, trainable, s.lr);
        penalized_ = layer_weights(*model_);
        // --average: what is scored (and kept) is the weights' moving average. (Batch
        // normalization's running statistics are not averaged: they were gathered under the
        // weights themselves, a small mismatch PyTorch's swa_utils.update_bn would recompute.)
        if (s.average > 0)
            average_ = std::make_unique<optim::ExponentialMovingAverage>(
                trainable, optim::ExponentialMovingAverageOptions{.decay = s.average});
        // Hallmarks are rare (5-25% of the abstracts): each one's positives weigh negatives/positives
        // (as many positives as negatives in effect), the square root of that, or 1.
        const Tensor positives = train.targets.sum({0});
        const Tensor ratio = (static_cast<double>(train.size()) - positives) / clamp_min(positives, 1.0);
        pos_weight_ = s.pos_weight == "ratio" ? ratio : s.pos_weight == "sqrt" ? ratio.sqrt() : Tensor();
    }

    TextClassifier& model() { return *model_; }

    /// One pass over the training split in shuffled minibatches; returns the mean loss.
    double epoch() {
        using namespace xgrad;
        model_->train();
        const int64_t n = train_.size();
        const Tensor order = randperm(n, &shuffle_);
        double total = 0;
        int64_t steps = 0;
        for (int64_t begin = 0; begin < n; begin += s_.batch_size, ++steps) {
            const Tensor idx = order.slice(0, begin, std::min(n, begin + s_.batch_size));
            optimizer_->zero_grad();
            const Tensor logits =
                model_->classify_batch(index_select(train_.indices, 0, idx), index_select(train_.lengths, 0, idx));
            const Tensor loss = nn::F::binary_cross_entropy_with_logits(logits, index_select(train_.targets, 0, idx),
                                                                        Tensor(), pos_weight_);
            (s_.l2 > 0 ? loss + nn::l2_penalty(penalized_, s_.l2) : loss).backward();
            optimizer_->step();
            if (s_.max_norm > 0) optim::max_norm_(model_->out.weight, s_.max_norm);
            if (average_) average_->update();
            total += loss.item();
        }
        return total / static_cast<double>(steps);
    }

    /// Evaluation mode with the weights to score: the moving average's with --average, until
    /// resume() brings the trained weights back.
    void evaluate() {
        model_->eval();
        if (!average_) return;
        average_->store();
        average_->copy_to();
    }
    void resume() {
        if (average_) average_->restore();
    }

    /// The mean of the Monte Carlo dropout passes over a split. The passes draw the same dropout
    /// masks at every call (common random numbers): their mean is then a function of the weights
    /// alone, like the one pass, so that keeping its best epoch does not also keep a lucky draw;
    /// and training's own random stream is left where it was, so that the one-pass rules come out
    /// the same with or without --mc-selection.
    xgrad::nn::McDropoutPrediction mc_mean_of(const Split& split) {
        using namespace xgrad;
        Generator& generator = default_generator();
        const Generator::State training_stream = generator.get_state();
        generator.manual_seed(seed_ + 0x4d43);
        nn::McDropoutPrediction prediction = nn::mc_dropout_predict(
            *model_, [&] { return logits_of(*model_, split); }, s_.mc_samples, nn::McOutput::sigmoid);
        generator.set_state(training_stream);
        return prediction;
    }

    /// Probabilities [N, 10] of a split: one pass, or the Monte Carlo mean.
    xgrad::Tensor predict(const Split& split, bool monte_carlo) {
        return monte_carlo ? mc_mean_of(split).mean : xgrad::sigmoid(logits_of(*model_, split));
    }

private:
    const Settings& s_;
    const Split& train_;
    uint64_t seed_;
    xgrad::Generator shuffle_;
    std::unique_ptr<TextClassifier> model_;
    std::unique_ptr<xgrad::optim::Optimizer> optimizer_;
    std::vector<Tensor> penalized_;
    std::unique_ptr<xgrad::optim::ExponentialMovingAverage> average_;
    Tensor pos_weight_;
};

inline SeedRun train_seed(const ModelFactory& make, const Corpus& corpus, const Settings& s, uint64_t seed) {
    using namespace xgrad;
    SeedTraining training(make, corpus, corpus.train, s, seed, seed == 1);
    TextClassifier& model = training.model();
    const auto start = std::chrono::steady_clock::now();
    // Early stopping keeps, for each rule, the epoch with that rule's best dev score: every rule
    // then comes out of the same selection over epochs (made again on each half of dev for the
    // cross-fitted scores evaluate_models() chooses by). (Kept by the one-pass score at 1/2 alone,
    // every other rule would lose on dev at an epoch picked for that one.) Without --mc-selection
    // the Monte Carlo rules take the one-pass rules' epochs.
    SeedRun run;
    run.seed = seed;
    nn::StateDict states[kRules];
    const auto offer = [&](int rule, const Tensor& dev_probabilities, int epoch) {
        const double score = dev_score(rule, dev_probabilities, corpus.dev.targets);
        Kept& kept = run.kept[rule];
        if (score <= kept.dev_f1) return false;
        kept.epoch = epoch;
        kept.dev_f1 = score;
        kept.dev = dev_probabilities;
        states[rule] = model.state_dict();  // copies, not views of the parameters
        return true;
    };
    // The same choice made by each half of dev alone, for the cross-fitted dev score
    // (cross_fitted_f1): the epoch each half prefers, with all of dev's probabilities there. The
    // Monte Carlo rules without --mc-selection are not scored every epoch: their halves' epochs
    // are the one-pass rules', whose weights are kept to predict them after training.
    const auto [even, odd] = halves_of(corpus.dev.size());
    const Tensor half_rows[2] = {even, odd};
    const Tensor half_targets[2] = {index_select(corpus.dev.targets, 0, even),
                                    index_select(corpus.dev.targets, 0, odd)};
    double half_best[kRules][2];
    nn::StateDict half_states[kRules][2];
    for (auto& best : half_best) best[0] = best[1] = -1;
    const auto offer_halves = [&](int rule, const Tensor& dev_probabilities, int epoch) {
        for (int half = 0; half < 2; ++half) {
            const double score =
                dev_score(rule, index_select(dev_probabilities, 0, half_rows[half]), half_targets[half]);
            if (score <= half_best[rule][half]) continue;
            half_best[rule][half] = score;
            run.kept[rule].epoch_chosen_on_half[half] = epoch;
            run.kept[rule].dev_chosen_on_half[half] = dev_probabilities;
            if (!s.mc_selection) half_states[rule][half] = model.state_dict();
        }
    };
    double training_seconds = 0;
    for (int epoch = 1; epoch <= s.epochs; ++epoch) {
        const auto epoch_start = std::chrono::steady_clock::now();
        const double loss = training.epoch();
        training_seconds += std::chrono::duration<double>(std::chrono::steady_clock::now() - epoch_start).count();
        training.evaluate();
        const Tensor dev = training.predict(corpus.dev, false);
        std::printf("  seed %llu epoch %2d: train loss %.4f, dev micro-F1 %.3f", static_cast<unsigned long long>(seed),
                    epoch, loss, micro_f1(dev, corpus.dev.targets));
        const Tensor mc_dev = s.mc_selection ? training.predict(corpus.dev, true) : Tensor();
        if (s.mc_selection) std::printf(", Monte Carlo mean %.3f", micro_f1(mc_dev, corpus.dev.targets));
        std::string improved;  // the rules whose best dev epoch this is
        for (int rule = 0; rule < (s.mc_selection ? kRules : kMonteCarlo); ++rule) {
            const Tensor& probabilities = is_monte_carlo(rule) ? mc_dev : dev;
            offer_halves(rule, probabilities, epoch);
            if (offer(rule, probabilities, epoch))
                improved += std::string(improved.empty() ? "" : ", ") + rule_tag(rule);
        }
        std::printf("%s\n", improved.empty() ? "" : (" (best so far: " + improved + ")").c_str());
        std::fflush(stdout);
        run.epochs = epoch;
        training.resume();
        // One stopping rule for all (the one pass at 1/2): every rule still picks its best among the
        // same epochs, which is what makes their comparison fair. (Waiting for all four to stall
        // ran 40-47 epochs instead of 30: the tuned thresholds' cross-validated score is noisy
        // enough to improve now and then long after the model has stopped improving.)
        if (epoch - run.kept[kOnePass].epoch >= s.patience) break;
    }
    run.seconds_per_epoch = training_seconds / run.epochs;
    model.eval();
    // Predictions of a kept epoch's weights, computed once: rules that kept the same epoch share
    // them (the one pass is deterministic, and the Monte Carlo mean is too, by its common random
    // numbers), which halves the passes after training when the rules agree on their epochs. The
    // epoch's weights are loaded only when its predictions are not there yet.
    std::map<std::tuple<int, bool, const Split*>, Tensor> predicted;
    const auto predict = [&](int epoch, const nn::StateDict& weights, bool monte_carlo, const Split& split) {
        auto [at, fresh] = predicted.try_emplace({epoch, monte_carlo, &split});
        if (fresh) {
            model.load_state_dict(weights);
            at->second = training.predict(split, monte_carlo);
        }
        return at->second;
    };
    for (int rule = 0; rule < kRules; ++rule) {
        Kept& kept = run.kept[rule];
        int source = rule;                              // the rule whose kept weights predict
        if (is_monte_carlo(rule) && !s.mc_selection) {  // at the one-pass rule's epochs, scored there
            source = is_tuned(rule) ? kOnePassTuned : kOnePass;
            kept.epoch = run.kept[source].epoch;
            kept.dev = predict(kept.epoch, states[source], true, corpus.dev);
            kept.dev_f1 = dev_score(rule, kept.dev, corpus.dev.targets);
            for (int half = 0; half < 2; ++half) {
                kept.epoch_chosen_on_half[half] = run.kept[source].epoch_chosen_on_half[half];
                kept.dev_chosen_on_half[half] =
                    predict(kept.epoch_chosen_on_half[half], half_states[source][half], true, corpus.dev);
            }
        }
        kept.test = predict(kept.epoch, states[source], is_monte_carlo(rule), corpus.test);
        kept.cross_fitted_f1 = cross_fitted_f1(rule, kept.dev_chosen_on_half, corpus.dev.targets);
        if (rule == kMonteCarlo) run.one_pass_test = predict(kept.epoch, states[source], false, corpus.test);
    }
    run.seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
    return run;
}

/// Mean binary entropy over the ten hallmarks of probabilities [N, 10]: 0 when every decision is
/// sure, log 2 when every probability is 1/2.
inline std::vector<double> uncertainty(const Tensor& p) {
    const Tensor q = xgrad::clamp(p, 1e-7, 1 - 1e-7);
    return (-(q * q.log() + (1 - q) * (1 - q).log())).mean({1}).to_vector<double>();
}

/// Micro-F1 on the abstracts left after abstaining on the `fraction` least certain ones.
inline double f1_after_abstaining(const Tensor& p, const Tensor& targets, const std::vector<double>& unsure,
                                  double fraction) {
    std::vector<int64_t> order(unsure.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return unsure[a] < unsure[b]; });
    const auto keep = static_cast<int64_t>(std::lround((1 - fraction) * static_cast<double>(order.size())));
    order.resize(static_cast<std::size_t>(std::max<int64_t>(keep, 1)));
    const Tensor rows = xgrad::from_vector(order, {static_cast<int64_t>(order.size())});
    return micro_f1(xgrad::index_select(p, 0, rows), xgrad::index_select(targets, 0, rows));
}

inline double mean(const std::vector<double>& v) {
    return std::accumulate(v.begin(), v.end(), 0.0) / static_cast<double>(v.size());
}
inline double stddev(const std::vector<double>& v) {
    if (v.size() < 2) return 0;
    const double m = mean(v);
    double s = 0;
    for (double x : v) s += (x - m) * (x - m);
    return std::sqrt(s / static_cast<double>(v.size() - 1));
}

/// The evaluation of trained models, from run() or from hoc_ensemble's combinations of saved ones:
/// the rule chosen on dev, test F1 per model and for their probabilities averaged, --refit (which
/// needs `make`), the per-hallmark table, Monte Carlo dropout's abstention, the summary line and
/// the last line "test micro-F1: 0.xxx". Returns the program's exit status.
inline int evaluate_models(const std::string& name, const std::vector<SeedRun>& runs, const Corpus& corpus,
                           const Settings& s, const ModelFactory* make) {
    using namespace xgrad;
    if (s.refit && !make) fail("--refit: needs the models' factory, and these models were loaded, not built");
    const Tensor& y = corpus.test.targets;
    const double everything = micro_f1(ones_like(y), y);

    // The rule, chosen on dev: the best mean cross-fitted dev score over the models (ties: the
    // simpler rule, in the order of Rule). The scores at the best epochs are shown beside them.
    double dev_by_rule[kRules] = {}, best_epochs_by_rule[kRules] = {};
    for (const SeedRun& r : runs)
        for (int rule = 0; rule < kRules; ++rule) {
            dev_by_rule[rule] += r.kept[rule].cross_fitted_f1 / static_cast<double>(runs.size());
            best_epochs_by_rule[rule] += r.kept[rule].dev_f1 / static_cast<double>(runs.size());
        }
    const int chosen_rule =
        static_cast<int>(std::max_element(std::begin(dev_by_rule), std::end(dev_by_rule)) - std::begin(dev_by_rule));
    const bool use_mc = is_monte_carlo(chosen_rule), use_tuned = is_tuned(chosen_rule);
    std::printf(
        "\nRule chosen on dev: %s. Mean dev micro-F1 by rule: cross-fitted (each half of dev labelled at the "
        "epochs\nand thresholds chosen on the other half), and at the best epochs of all of dev (tuned thresholds "
        "scored\non the half of dev they were not tuned on):\n%-44s %12s %12s\n",
        rule_name(chosen_rule), "", "cross-fitted", "best epochs");
    for (int rule = 0; rule < kRules; ++rule)
        std::printf("  %-42s %12.3f %12.3f\n", rule_name(rule), dev_by_rule[rule], best_epochs_by_rule[rule]);
    if (!s.mc_selection)
        std::printf(
            "  (--mc-selection 0: the Monte Carlo rules at the one-pass rules' epochs, which favours those in the "
            "best-epochs column; not in the cross-fitted one, where neither kind chose on the half it labels)\n");
    // The chosen prediction at 1/2 and at dev-tuned thresholds, reported next to the choice.
    const int half_rule = use_mc ? kMonteCarlo : kOnePass, tuned_rule = use_mc ? kMonteCarloTuned : kOnePassTuned;
    const auto report = [&](const Kept& kept, bool tuned) {
        return metrics::multilabel_report(
            tuned ? decide(kept.test, tune_thresholds(kept.dev, corpus.dev.targets)) : kept.test, y, 0.5);
    };

    std::vector<metrics::ClassReport> chosen_reports;
    std::vector<double> chosen, fixed, tuned, macro, tuned_macro, dev;
    for (std::size_t i = 0; i < runs.size(); ++i) {
        const SeedRun& r = runs[i];
        const metrics::ClassReport at_half = report(r.kept[half_rule], false);
        const metrics::ClassReport at_tuned = report(r.kept[tuned_rule], true);
        chosen_reports.push_back(use_tuned ? at_tuned : at_half);
        chosen.push_back(chosen_reports.back().micro_f1);
        dev.push_back(r.kept[chosen_rule].cross_fitted_f1);
        fixed.push_back(at_half.micro_f1);
        macro.push_back(at_half.macro_f1);
        tuned.push_back(at_tuned.micro_f1);
        tuned_macro.push_back(at_tuned.macro_f1);
        std::printf("%s: %s epochs, %.1f s per epoch, %.0f s in all\n", r.label(i).c_str(), r.epochs_run().c_str(),
                    r.seconds_per_epoch, r.seconds);
        for (int rule = 0; rule < kRules; ++rule)
            std::printf("  %-42s epoch %2s (halves %s, %s), dev micro-F1 %.3f (cross-fitted %.3f), test %.3f%s\n",
                        rule_name(rule), r.epochs_kept(rule).c_str(), r.epochs_chosen_on_half(rule, 0).c_str(),
                        r.epochs_chosen_on_half(rule, 1).c_str(), r.kept[rule].dev_f1, r.kept[rule].cross_fitted_f1,
                        report(r.kept[rule], is_tuned(rule)).micro_f1, rule == chosen_rule ? " (chosen)" : "");
    }

    // The seeds' probabilities averaged (the chosen rule's): an ensemble at no extra training cost.
    Tensor dev_mean = zeros_like(runs[0].kept[half_rule].dev), test_mean = zeros_like(runs[0].kept[half_rule].test);
    Tensor tuned_dev_mean = dev_mean, tuned_test_mean = test_mean;
    for (const SeedRun& r : runs) {
        const double share = 1.0 / static_cast<double>(runs.size());
        dev_mean = dev_mean + r.kept[half_rule].dev * share;
        test_mean = test_mean + r.kept[half_rule].test * share;
        tuned_dev_mean = tuned_dev_mean + r.kept[tuned_rule].dev * share;
        tuned_test_mean = tuned_test_mean + r.kept[tuned_rule].test * share;
    }
    const metrics::ClassReport ensemble = report({.dev = dev_mean, .test = test_mean}, false);
    const metrics::ClassReport ensemble_tuned = report({.dev = tuned_dev_mean, .test = tuned_test_mean}, true);
    const metrics::ClassReport& ensemble_chosen = use_tuned ? ensemble_tuned : ensemble;

    // --refit: each seed trained again, from the same start, on train + dev for the epochs dev
    // chose for it, then tested once with the rule dev chose (at the thresholds tuned on the dev
    // probabilities of the same seed's train-only model when the rule tunes them). Dev has nothing left to choose by
    // then, so its 170 abstracts (13% more data) can teach the model instead. The vocabulary stays the training
    // split's: words only dev has remain <unk> (or spelled, with --subwords).
    std::vector<double> refit, refit_macro;
    Tensor refit_mean = zeros_like(test_mean);
    double refit_seconds = 0;
    if (s.refit) {
        const Split train_and_dev = concatenate(corpus.train, corpus.dev);
        std::printf("\nRefit on train + dev (%lld abstracts), each seed for the epochs dev chose for it:\n",
                    static_cast<long long>(train_and_dev.size()));
        for (std::size_t i = 0; i < runs.size(); ++i) {
            const std::vector<const SeedRun*> networks = runs[i].networks();
            Tensor p;  // the test probabilities of the model: the mean of its networks'
            for (const SeedRun* network : networks) {
                const auto start = std::chrono::steady_clock::now();
                const int epochs = network->kept[chosen_rule].epoch;
                SeedTraining training(*make, corpus, train_and_dev, s, network->seed, false);
                double loss = 0;
                for (int epoch = 1; epoch <= epochs; ++epoch) loss = training.epoch();
                training.evaluate();
                const Tensor q = training.predict(corpus.test, use_mc) * (1.0 / static_cast<double>(networks.size()));
                p = p.defined() ? p + q : q;
                const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
                refit_seconds += seconds;
                std::printf("  seed %llu: %d epochs, last train loss %.4f; %.0f s\n",
                            static_cast<unsigned long long>(network->seed), epochs, loss, seconds);
                std::fflush(stdout);
            }
            refit_mean = refit_mean + p * (1.0 / static_cast<double>(runs.size()));
            const metrics::ClassReport scores = report({.dev = runs[i].kept[chosen_rule].dev, .test = p}, use_tuned);
            refit.push_back(scores.micro_f1);
            refit_macro.push_back(scores.macro_f1);
            std::printf("  %s refit: test micro-F1 %.3f (before: %.3f)\n", runs[i].label(i).c_str(), refit.back(),
                        chosen[i]);
        }
    }

    std::printf("\nPer-hallmark test F1 at the thresholds chosen (mean over seeds):\n%-26s %8s %8s\n", "hallmark", "F1",
                "support");
    std::vector<double> per_label(10, 0.0);
    for (const metrics::ClassReport& report : chosen_reports)
        for (std::size_t k = 0; k < 10; ++k) per_label[k] += report.f1[k] / static_cast<double>(runs.size());
    for (std::size_t k = 0; k < 10; ++k)
        std::printf("%-26s %8.3f %8lld\n", data::hoc_labels()[k].c_str(), per_label[k],
                    static_cast<long long>(chosen_reports[0].support[k]));

    // Monte Carlo dropout (the first model): abstaining on the abstracts the model is least sure of should
    // leave the rest more accurately labelled; the two curves show whether judging "sure" over
    // dropout samples does better than one deterministic pass of the same weights.
    const Tensor& mc_test = runs[0].kept[kMonteCarlo].test;
    const Tensor& plain_test = runs[0].one_pass_test;  // the same weights, one pass
    const std::vector<double> mc_unsure = uncertainty(mc_test), plain_unsure = uncertainty(plain_test);
    tutorial::Series by_mc{"MC dropout uncertainty", {}, {}}, by_plain{"one deterministic pass", {}, {}};
    std::printf(
        "\nMonte Carlo dropout (%d passes, %s): test micro-F1 when abstaining on the least certain "
        "abstracts\n%-12s %14s %16s\n",
        s.mc_samples, runs[0].label(0).c_str(), "abstain", "MC dropout", "one pass");
    for (int percent = 0; percent <= 50; percent += 5) {
        by_mc.x.push_back(percent);
        by_plain.x.push_back(percent);
        by_mc.y.push_back(f1_after_abstaining(mc_test, y, mc_unsure, percent / 100.0));
        by_plain.y.push_back(f1_after_abstaining(plain_test, y, plain_unsure, percent / 100.0));
        if (percent % 10 == 0) std::printf("%10d%% %14.3f %16.3f\n", percent, by_mc.y.back(), by_plain.y.back());
    }
    std::vector<int64_t> order(mc_unsure.size());
    std::iota(order.begin(), order.end(), 0);
    std::stable_sort(order.begin(), order.end(), [&](int64_t a, int64_t b) { return mc_unsure[a] > mc_unsure[b]; });
    std::printf("The abstracts the model is least sure of:\n");
    const std::vector<float> probabilities = mc_test.to_vector<float>(), truth = y.to_vector<float>();
    for (std::size_t i = 0; i < 3 && i < order.size(); ++i) {
        const auto a = static_cast<std::size_t>(order[i]);
        std::printf("  PMID %s (uncertainty %.2f): %s\n    hallmark probabilities:", corpus.test.pmids[a].c_str(),
                    mc_unsure[a], corpus.test.openings[a].c_str());
        for (std::size_t k = 0; k < 10; ++k)
            std::printf(" %.2f%s", probabilities[a * 10 + k], truth[a * 10 + k] > 0.5 ? "*" : "");
        std::printf("  (* = true)\n");
    }
    std::string base = name;
    for (char& c : base) c = std::isalnum(static_cast<unsigned char>(c)) ? static_cast<char>(std::tolower(c)) : '_';
    std::filesystem::create_directories(s.out);
    tutorial::plot(s.out + "/hoc_abstention_" + base, name + ": test micro-F1 when abstaining", "abstained (%)",
                   "micro-F1 on the rest", {by_mc, by_plain}, false);

    const double mean_epoch = [&] {
        double t = 0;
        for (const SeedRun& r : runs) t += r.seconds_per_epoch / static_cast<double>(runs.size());
        return t;
    }();
    double total_seconds = 0;
    for (const SeedRun& r : runs) total_seconds += r.seconds;
    total_seconds += refit_seconds;
    std::printf("\nEvery hallmark everywhere: micro-F1 %.3f\n", everything);
    const char* rule = use_tuned ? "dev-tuned thresholds" : "threshold 1/2";
    std::printf(
        "%s, %d seed(s): test micro-F1 %.3f +- %.3f at %s (chosen on dev); at 1/2 %.3f +- %.3f (macro %.3f), at "
        "dev-tuned thresholds %.3f +- %.3f (macro %.3f); seeds' probabilities averaged: %.3f (macro %.3f), dev-tuned "
        "%.3f\n",
        name.c_str(), static_cast<int>(runs.size()), mean(chosen), stddev(chosen), rule, mean(fixed), stddev(fixed),
        mean(macro), mean(tuned), stddev(tuned), mean(tuned_macro), ensemble.micro_f1, ensemble.macro_f1,
        ensemble_tuned.micro_f1);
    if (runs[0].members.size() > 1) {  // what the ensembles' networks score alone, with the same rule
        std::vector<double> alone;
        for (const SeedRun& r : runs)
            for (const SeedRun* network : r.networks())
                alone.push_back(report(network->kept[chosen_rule], use_tuned).micro_f1);
        std::printf("each model an ensemble of %zu networks; the %zu networks alone: test micro-F1 %.3f +- %.3f\n",
                    runs[0].members.size(), alone.size(), mean(alone), stddev(alone));
    }
    std::string refit_column = "-";
    if (s.refit) {
        const metrics::ClassReport refit_ensemble =
            report({.dev = use_tuned ? tuned_dev_mean : dev_mean, .test = refit_mean}, use_tuned);
        std::printf(
            "refit on train + dev, %d seed(s): test micro-F1 %.3f +- %.3f at %s%s (macro %.3f); seeds' "
            "probabilities averaged: %.3f\n",
            static_cast<int>(runs.size()), mean(refit), stddev(refit), use_mc ? "the Monte Carlo mean, " : "", rule,
            mean(refit_macro), refit_ensemble.micro_f1);
        char column[32];
        std::snprintf(column, sizeof column, "%.3f +- %.3f", mean(refit), stddev(refit));
        refit_column = column;
    }
    std::printf("summary | %s | %.3f | %.3f | %.3f | %s%s | %.3f | %.3f | %.3f | %.2f | %.0f | %s\n", name.c_str(),
                mean(dev), mean(chosen), stddev(chosen), use_mc ? "MC mean, " : "", rule, mean(fixed), mean(tuned),
                ensemble_chosen.micro_f1, mean_epoch, total_seconds, refit_column.c_str());
    // The figure of the configuration run: with --refit, the refitted seeds'.
    const double result = mean(s.refit ? refit : chosen);
    std::printf("test micro-F1: %.3f\n", result);
    // The quick run (a smoke test on 400 abstracts) must beat the trivial answer; a full run must
    // be far beyond it.
    const bool holds = result > everything + (s.quick ? 0.0 : 0.3);
    if (!holds) std::printf("unexpected: the model did not learn as it should\n");
    return holds ? 0 : 1;
}

/// Trains `s.seeds` seeds of a model (each an ensemble of `s.ensemble` networks), prints the
/// evaluation and ends with the line "test micro-F1: 0.xxx" (the mean over the seeds with the rule
/// chosen on dev; with --refit, the refitted seeds'). Returns the program's exit status: 0 when the
/// model beats flagging every hallmark everywhere by the margin it claims.
inline int run(const std::string& name, const ModelFactory& make, Settings s) {
    using namespace xgrad;
    if (s.pos_weight != "ratio" && s.pos_weight != "sqrt" && s.pos_weight != "none")
        fail("--pos-weight: expected ratio, sqrt or none, got \"", s.pos_weight, "\"");
    if (s.average >= 1) fail("--average: expected a decay below 1 (0: off), got ", s.average);
    if (!s.subwords.empty() && s.embeddings.empty())
        fail("--subwords: needs --embeddings (the spelled vectors live in the space of those word vectors)");
    if (!s.save_predictions.empty()) {  // found out now, not after hours of training
        const std::filesystem::path folder = std::filesystem::absolute(s.save_predictions).parent_path();
        if (!std::filesystem::is_directory(folder))
            fail("--save-predictions: folder ", folder.string(), " of ", s.save_predictions, " does not exist");
    }
    set_num_threads(s.threads);
    const Corpus corpus = load_corpus(s.max_tokens, s.abstracts, 2, s.subwords, s.dim);
    std::printf(
        "%s on Hallmarks of Cancer: %lld training, %lld dev, %lld test abstracts, vocabulary %lld, "
        "%lld tokens per abstract, %d thread(s)\n",
        name.c_str(), static_cast<long long>(corpus.train.size()), static_cast<long long>(corpus.dev.size()),
        static_cast<long long>(corpus.test.size()), static_cast<long long>(corpus.trained_words),
        static_cast<long long>(s.max_tokens), s.threads);
    if (corpus.spelled.defined())
        std::printf("%lld dev and test words outside the vocabulary with a known n-gram (%s) get rows of their own\n",
                    static_cast<long long>(corpus.spelled.size(0)), s.subwords.c_str());
    std::printf(
        "%s, lr %g, dropout %.2f (words %.2f), init %s, norm %s, L2 %g, max-norm %g, weight average %g, "
        "positives weighted by %s, embeddings %s%s\n",
        s.optimizer.c_str(), s.lr, s.dropout, s.embedding_dropout, s.init.c_str(), s.norm.c_str(), s.l2, s.max_norm,
        s.average, s.pos_weight.c_str(), s.embeddings.empty() ? "random" : s.embeddings.c_str(),
        s.freeze_embeddings ? " (frozen)" : "");

    // The models: networks one by one, or with --ensemble K, K networks per model (seeds 1-K make
    // the first, K+1-2K the second, ...).
    std::vector<SeedRun> runs;
    for (int model = 0; model < s.seeds; ++model) {
        std::vector<SeedRun> networks;
        for (int member = 1; member <= s.ensemble; ++member)
            networks.push_back(train_seed(make, corpus, s, static_cast<uint64_t>(model * s.ensemble + member)));
        runs.push_back(model_of(std::move(networks), corpus.dev.targets));
    }
    if (!s.save_predictions.empty()) {
        save_models(s.save_predictions, runs, corpus.dev.targets, corpus.test.targets,
                    {.mc_samples = s.mc_samples, .quick = s.quick, .mc_selection = s.mc_selection});
        std::printf("\nEvery model's dev and test probabilities written to %s\n", s.save_predictions.c_str());
    }
    return evaluate_models(name, runs, corpus, s, &make);
}

}  // namespace hoc
