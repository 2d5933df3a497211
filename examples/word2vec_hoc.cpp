// Tutorial: word embeddings trained with xgrad itself, by skip-gram with negative sampling
// (word2vec, Mikolov et al. 2013), on the abstracts of the Hallmarks of Cancer training split.
//
// A word is known by the company it keeps: skip-gram learns, for every word w, an input vector
// v_w and an output vector u_w such that sigma(v_w . u_c) is high for the words c seen around w
// (within a window of up to 5 words each side) and low for k "negative" words drawn at random
// from the unigram distribution raised to the power 3/4 (which samples rare words more often
// than their counts). Per (word, context) pair the loss is
//     -log sigma(v_w . u_c) - sum over the k negatives n of log sigma(-v_w . u_n),
// a binary classification "real context or noise?" whose only way to succeed is to give words
// that occur in similar contexts similar vectors. Very frequent words ("the", "of") are dropped
// at random (subsampling) so that they do not dominate the pairs, and the window width is drawn
// anew for each word, which weighs near neighbours more than far ones.
//
// Only the training split is read, so the dev and test abstracts the classifiers are judged on
// stay unseen. The vectors are written in word2vec's text format, which the HoC classifiers (and
// gensim, and word2vec's own tools) read:
//
//   word2vec_hoc [--dim 100] [--epochs 15] [--out .] [--quick]   -> hoc_word2vec_100d.txt
//   word2vec_hoc --tiny-corpus    (the check the test suite runs: synonyms end up closest)
//
// The gradients are derived by xgrad's autograd from the loss above (Embedding lookups, a dot
// product, binary cross-entropy with logits); the
// optimizer is word2vec's: plain SGD whose rate falls linearly over the run (to 1e-4 of its start).
//
// Then vectors for words it never saw, from their spelling (hoc_subwords.hpp): vectors for the
// character n-grams of the words ("<angio", "genes", "sis>"), fitted with Adam so that the mean of a
// word's n-gram vectors reproduces its skip-gram vector. A tenth of the words is held out of the
// fit and says how well the spelling predicts the meaning of a word the fit never saw; the
// classifiers give such words (--subwords hoc_subwords_100d.txt) these vectors instead of <unk>'s.
#include <xgrad/xgrad.hpp>

#include <chrono>
#include <cmath>
#include <cstdio>

#include "hoc_corpus.hpp"
#include "hoc_subwords.hpp"
#include "tutorial.hpp"

using namespace xgrad;

namespace {

struct Word2VecOptions {
    int64_t dim = 100;
    int64_t window = 5;     ///< the largest distance between a word and a context word
    int64_t negatives = 5;  ///< noise words per pair
    double subsample = 1e-3;
    double lr = 0.025;
    int epochs = 15;
    int64_t batch_size = 512;
};

// The two tables of vectors. The input vectors are the embeddings kept at the end; the output
// vectors start at zero (as in word2vec), so every first prediction is sigma(0) = 1/2.
struct SkipGram : nn::Module {
    nn::Embedding input, output;

    SkipGram(int64_t vocab, int64_t dim)
        : input({.num_embeddings = vocab, .embedding_dim = dim}),
          output({.num_embeddings = vocab, .embedding_dim = dim}) {
        nn::init::uniform_(input.weight, -0.5 / static_cast<double>(dim), 0.5 / static_cast<double>(dim));
        nn::init::zeros_(output.weight);
        register_module("input", input);
        register_module("output", output);
    }
    // The summed loss of a batch of pairs: centers [B], then per pair its context word and k noise
    // words, targets [B, 1 + k] (one lookup of the output vectors for both, so that their
    // gradients are gathered into the table once).
    Tensor loss(const Tensor& centers, const Tensor& targets) {
        const Tensor v = input(centers).unsqueeze(1);          // [B, 1, D]
        const Tensor scores = (output(targets) * v).sum({2});  // [B, 1 + k]: v_w . u_c, then v_w . u_n
        // Column 0 is the real context (label 1), the others noise (label 0).
        const Tensor labels = cat({ones({scores.size(0), 1}), zeros({scores.size(0), scores.size(1) - 1})}, 1);
        return nn::F::binary_cross_entropy_with_logits(scores, labels, {}, {}, nn::F::Reduction::sum);
    }
    Tensor forward(const Tensor& words) override { return input(words); }
};

// Word indices per text (words outside the vocabulary dropped, as word2vec does) and counts.
struct IndexedCorpus {
    std::vector<std::vector<int64_t>> texts;
    std::vector<int64_t> counts;  ///< per vocabulary index
    int64_t words = 0;
};

IndexedCorpus index_corpus(const std::vector<std::vector<std::string>>& texts, const data::Vocabulary& vocab) {
    IndexedCorpus corpus;
    corpus.counts.assign(static_cast<std::size_t>(vocab.size()), 0);
    for (const auto& text : texts) {
        std::vector<int64_t> ids;
        for (const std::string& token : text) {
            const int64_t id = vocab.index(token);
            if (id == data::Vocabulary::kUnk) continue;
            ids.push_back(id);
            ++corpus.counts[static_cast<std::size_t>(id)];
        }
        corpus.words += static_cast<int64_t>(ids.size());
        corpus.texts.push_back(std::move(ids));
    }
    return corpus;
}

// Noise words are drawn from a table where each word fills a share of the slots proportional to
// count^(3/4) (word2vec's unigram table): one draw is one uniform index.
std::vector<int64_t> noise_table(const std::vector<int64_t>& counts, std::size_t slots = 1 << 20) {
    double total = 0;
    for (int64_t c : counts) total += std::pow(static_cast<double>(c), 0.75);
    std::vector<int64_t> table;
    table.reserve(slots);
    double filled = 0;
    for (std::size_t w = 0; w < counts.size(); ++w) {
        filled += std::pow(static_cast<double>(counts[w]), 0.75) / total;
        while (table.size() < slots && static_cast<double>(table.size()) < filled * static_cast<double>(slots))
            table.push_back(static_cast<int64_t>(w));
    }
    while (table.size() < slots) table.push_back(static_cast<int64_t>(counts.size()) - 1);
    return table;
}

// One epoch's (center, context) pairs: frequent words dropped with word2vec's probability
// 1 - (sqrt(f / t) + 1) t / f (f the word's share of the corpus), a window of 1..window words
// drawn per center word, then the pairs shuffled.
std::pair<std::vector<int64_t>, std::vector<int64_t>> draw_pairs(const IndexedCorpus& corpus, const Word2VecOptions& o,
                                                                 Generator& gen) {
    const auto lock = gen.lock();
    std::vector<int64_t> centers, contexts;
    std::vector<int64_t> kept;
    for (const auto& text : corpus.texts) {
        kept.clear();
        for (int64_t w : text) {
            const double f =
                static_cast<double>(corpus.counts[static_cast<std::size_t>(w)]) / static_cast<double>(corpus.words);
            const double keep = (std::sqrt(f / o.subsample) + 1) * o.subsample / f;
            if (keep >= 1 || gen.next_double() < keep) kept.push_back(w);
        }
        const auto n = static_cast<int64_t>(kept.size());
        for (int64_t i = 0; i < n; ++i) {
            const auto reach = 1 + static_cast<int64_t>(gen.next_below(static_cast<uint64_t>(o.window)));
            for (int64_t j = std::max<int64_t>(0, i - reach); j <= std::min(n - 1, i + reach); ++j) {
                if (j == i) continue;
                centers.push_back(kept[static_cast<std::size_t>(i)]);
                contexts.push_back(kept[static_cast<std::size_t>(j)]);
            }
        }
    }
    for (std::size_t i = centers.size(); i > 1; --i) {  // Fisher-Yates
        const auto j = static_cast<std::size_t>(gen.next_below(i));
        std::swap(centers[i - 1], centers[j]);
        std::swap(contexts[i - 1], contexts[j]);
    }
    return {centers, contexts};
}

// Trains on the texts and returns the model; prints the mean loss per pair after each epoch.
std::unique_ptr<SkipGram> train_skipgram(const IndexedCorpus& corpus, int64_t vocab_size, const Word2VecOptions& o,
                                         Generator& gen, std::vector<double>& epoch_losses) {
    auto model = std::make_unique<SkipGram>(vocab_size, o.dim);
    optim::SGD sgd(model->parameters(), {.lr = o.lr});
    const std::vector<int64_t> table = noise_table(corpus.counts);
    // The rate falls linearly to 1e-4 of its start over all pairs of all epochs, as in word2vec;
    // the number of pairs per epoch varies a little with the draws, so it is estimated first.
    const double expected_pairs =
        static_cast<double>(draw_pairs(corpus, o, gen).first.size()) * static_cast<double>(o.epochs);
    double done = 0;
    for (int epoch = 1; epoch <= o.epochs; ++epoch) {
        const auto start = std::chrono::steady_clock::now();
        const auto [centers, contexts] = draw_pairs(corpus, o, gen);
        const auto pairs = static_cast<int64_t>(centers.size());
        double total = 0;
        std::vector<int64_t> targets;  // per pair: its context word, then k noise words
        for (int64_t begin = 0; begin < pairs; begin += o.batch_size) {
            const int64_t b = std::min(o.batch_size, pairs - begin);
            targets.resize(static_cast<std::size_t>(b * (1 + o.negatives)));
            {
                const auto lock = gen.lock();
                for (int64_t i = 0; i < b; ++i) {
                    int64_t* row = targets.data() + i * (1 + o.negatives);
                    row[0] = contexts[static_cast<std::size_t>(begin + i)];
                    for (int64_t k = 1; k <= o.negatives; ++k) {
                        // The real context is no noise (word2vec redraws it; a few tries bound the
                        // loop for a corpus of one word).
                        for (int tries = 0; tries < 8 && (tries == 0 || row[k] == row[0]); ++tries)
                            row[k] = table[gen.next_below(table.size())];
                    }
                }
            }
            const auto at = centers.begin() + begin;
            const Tensor c = from_vector(std::vector<int64_t>(at, at + b), {b});
            sgd.set_lr(0, o.lr * std::max(1e-4, 1.0 - done / expected_pairs));
            sgd.zero_grad();
            const Tensor loss = model->loss(c, from_vector(targets, {b, 1 + o.negatives}));
            loss.backward();
            sgd.step();
            total += loss.item();
            done += static_cast<double>(b);
        }
        epoch_losses.push_back(total / static_cast<double>(pairs));
        std::printf("  epoch %2d: %lld pairs, loss per pair %.4f (%.1f s)\n", epoch, static_cast<long long>(pairs),
                    epoch_losses.back(),
                    std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count());
    }
    return model;
}

// Unit-length rows, so that a product of two rows is their cosine similarity.
Tensor unit_rows(const Tensor& vectors) {
    return vectors / clamp_min(vectors.pow(2.0).sum({1}, true).sqrt(), 1e-12);
}

double cosine(const Tensor& unit, const data::Vocabulary& vocab, const std::string& a, const std::string& b) {
    return (unit[vocab.index(a)] * unit[vocab.index(b)]).sum().item();
}

void print_neighbours(const Tensor& unit, const data::Vocabulary& vocab, const std::vector<std::string>& words,
                      int64_t k) {
    for (const std::string& word : words) {
        const int64_t w = vocab.index(word);
        if (w == data::Vocabulary::kUnk) continue;
        const std::vector<float> similarity = unit.matmul(unit[w].unsqueeze(1)).squeeze(1).to_vector<float>();
        std::vector<int64_t> order(similarity.size());
        for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<int64_t>(i);
        std::partial_sort(order.begin(), order.begin() + k + 3, order.end(),
                          [&](int64_t x, int64_t y) { return similarity[x] > similarity[y]; });
        std::printf("  %-16s", word.c_str());
        int64_t shown = 0;
        for (int64_t i : order) {
            if (i == w || i == data::Vocabulary::kPad || i == data::Vocabulary::kUnk) continue;
            std::printf(" %s (%.2f)", vocab.token(i).c_str(), similarity[static_cast<std::size_t>(i)]);
            if (++shown == k) break;
        }
        std::printf("\n");
    }
}

struct SubwordFit {
    data::Vocabulary ngrams{{"<pad>", "<unk>"}};
    Tensor table;                       ///< [ngrams, D]: row kPad zero
    Tensor center;                      ///< [1, D]: the mean skip-gram vector, what all words share
    double held_out_cosine = 0;         ///< mean cosine of composed and skip-gram vectors (centered), unseen words
    double held_out_baseline = 0;       ///< the same against another held-out word's vector
    std::vector<std::string> held_out;  ///< the words kept out of the fit
    Tensor held_out_vectors;            ///< their composed vectors [H, D]
};

// Mean cosine similarity of the rows of a and b [W, D], measured from `center`: skip-gram
// vectors share a common direction (frequent words pull every vector their way), which would
// make any two words look alike.
double mean_row_cosine(const Tensor& a, const Tensor& b, const Tensor& center) {
    return (unit_rows(a - center) * unit_rows(b - center)).sum({1}).mean().item();
}

// The n-gram vectors, fitted on nine words in ten (each the mean of its n-grams reproducing its
// skip-gram vector, squared error), the tenth held out; the epoch with the best held-out cosine is
// kept (chosen on the same held-out words it is reported on: a slightly flattering figure, though
// the curve is flat). Only n-grams seen twice among the fitted words' n-grams get a vector (in
// practice, in two words): one word's own n-grams could only memorize it, which would say
// nothing about new words.
SubwordFit fit_subwords(const data::Vocabulary& vocab, const Tensor& vectors, int epochs, Generator& gen) {
    std::vector<int64_t> order;
    for (int64_t i = 2; i < vocab.size(); ++i) order.push_back(i);  // not <pad>, <unk>
    {
        const auto lock = gen.lock();
        for (std::size_t i = order.size(); i > 1; --i) std::swap(order[i - 1], order[gen.next_below(i)]);
    }
    std::vector<std::string> fitted, held_out;
    std::vector<int64_t> fitted_rows, held_out_rows;
    std::vector<std::vector<std::string>> bags;
    for (std::size_t i = 0; i < order.size(); ++i) {
        const std::string& word = vocab.token(order[i]);
        (i % 10 == 9 ? held_out : fitted).push_back(word);
        (i % 10 == 9 ? held_out_rows : fitted_rows).push_back(order[i]);
        if (i % 10 != 9) bags.push_back(hoc::char_ngrams(word));
    }
    if (held_out.size() < 2)
        fail("subword vectors: ", order.size(), " words are too few to hold a tenth out (at least 20 needed)");
    SubwordFit fit;
    fit.center = vectors.narrow(0, 2, vectors.size(0) - 2).mean({0}, true);
    fit.ngrams = data::Vocabulary::build(bags, {.min_freq = 2});
    const hoc::NgramBags train = hoc::ngram_bags(fitted, fit.ngrams);
    const hoc::NgramBags test = hoc::ngram_bags(held_out, fit.ngrams);
    const auto rows = [](const std::vector<int64_t>& r) { return from_vector(r, {static_cast<int64_t>(r.size())}); };
    // Fitted from the center (the mean vector, added back to every n-gram's row at the end, which
    // adds it to every mean): fitted raw, the shared direction dominates the squared error and
    // every spelled vector comes out near the mean.
    const Tensor targets = index_select(vectors, 0, rows(fitted_rows)) - fit.center;
    const Tensor test_targets = index_select(vectors, 0, rows(held_out_rows)) - fit.center;
    nn::Embedding table(
        {.num_embeddings = fit.ngrams.size(), .embedding_dim = vectors.size(1), .padding_idx = data::Vocabulary::kPad});
    nn::init::zeros_(table.weight);
    optim::Adam adam({table.weight}, {.lr = 3e-3});
    const int64_t n = targets.size(0), batch = 256;
    fit.held_out_cosine = -2;
    std::printf("\nSubword vectors: %lld n-grams of 3-6 characters from %lld words (%lld held out)\n",
                static_cast<long long>(fit.ngrams.size() - 2), static_cast<long long>(n),
                static_cast<long long>(test_targets.size(0)));
    for (int epoch = 1; epoch <= epochs; ++epoch) {
        const Tensor shuffled = randperm(n, &gen);
        for (int64_t begin = 0; begin < n; begin += batch) {
            const Tensor idx = shuffled.slice(0, begin, std::min(n, begin + batch));
            const hoc::NgramBags part{index_select(train.ids, 0, idx), index_select(train.counts, 0, idx)};
            adam.zero_grad();
            nn::F::mse_loss(hoc::compose(table.weight, part), index_select(targets, 0, idx)).backward();
            adam.step();
        }
        NoGradGuard no_grad;
        const Tensor composed = hoc::compose(table.weight, test);
        const double cosine = mean_row_cosine(composed, test_targets, Tensor(zeros({1, 1})));
        if (epoch % 5 == 0 || epoch == epochs)
            std::printf("  epoch %2d: held-out words, cosine of spelled and word vectors %.3f\n", epoch, cosine);
        if (cosine > fit.held_out_cosine) {
            fit.held_out_cosine = cosine;
            fit.table = table.weight.detach() + fit.center;
            fit.held_out_vectors = composed + fit.center;
        }
    }
    fit.table[data::Vocabulary::kPad].zero_();
    // What a vector that knows nothing of the word would score: another held-out word's.
    const int64_t h = fit.held_out_vectors.size(0);
    const Tensor others = cat({fit.held_out_vectors.narrow(0, 1, h - 1), fit.held_out_vectors.narrow(0, 0, 1)}, 0);
    fit.held_out_baseline = mean_row_cosine(others, test_targets + fit.center, fit.center);
    fit.held_out = held_out;
    return fit;
}

// A made-up corpus in which "aspirin" and "ibuprofen" fill exactly the same slots, as do "brca1"
// and "kras", and the two pairs never share a context: each word's nearest neighbour must be its
// synonym.
std::vector<std::vector<std::string>> tiny_corpus(Generator& gen) {
    const std::vector<std::vector<std::string>> drug_sentences = {{"patients", "received", "@", "twice", "daily"},
                                                                  {"the", "dose", "of", "@", "was", "lowered"},
                                                                  {"@", "relieved", "the", "pain", "quickly"}};
    const std::vector<std::vector<std::string>> gene_sentences = {
        {"a", "somatic", "@", "mutation", "was", "sequenced"},
        {"tumours", "carrying", "mutant", "@", "grew", "faster"},
        {"we", "silenced", "@", "in", "cell", "lines"}};
    std::vector<std::vector<std::string>> texts;
    const auto lock = gen.lock();
    for (int i = 0; i < 600; ++i) {
        const bool drug = gen.next_below(2) == 0;
        const auto& templates = drug ? drug_sentences : gene_sentences;
        std::vector<std::string> sentence = templates[gen.next_below(templates.size())];
        const std::string word =
            drug ? (gen.next_below(2) ? "aspirin" : "ibuprofen") : (gen.next_below(2) ? "brca1" : "kras");
        for (std::string& token : sentence)
            if (token == "@") token = word;
        texts.push_back(sentence);
    }
    return texts;
}

// Made-up words whose meaning is in their spelling: 24 random stems times 8 suffixes, each word's
// vector its stem's plus its suffix's (random, 16 dimensions). A held-out word's stem and suffix
// both occur in fitted words, so its spelled vector must come out near its own vector.
bool spelling_check(Generator& gen) {
    const std::vector<std::string> suffixes = {"ase", "osis", "ic", "ing", "ed", "tion", "al", "ous"};
    std::vector<std::string> stems;
    {
        const auto lock = gen.lock();
        for (int s = 0; s < 24; ++s) {
            std::string stem;
            for (int c = 0; c < 5; ++c) stem += static_cast<char>('a' + gen.next_below(26));
            stems.push_back(stem);
        }
    }
    const int64_t dim = 16;
    const Tensor stem_vectors = randn({24, dim}, {}, &gen), suffix_vectors = randn({8, dim}, {}, &gen);
    std::vector<std::string> tokens = {"<pad>", "<unk>"};
    std::vector<Tensor> rows = {zeros({2, dim})};
    for (int64_t s = 0; s < 24; ++s)
        for (int64_t f = 0; f < 8; ++f) {
            tokens.push_back(stems[static_cast<std::size_t>(s)] + suffixes[static_cast<std::size_t>(f)]);
            rows.push_back((stem_vectors[s] + suffix_vectors[f]).unsqueeze(0));
        }
    const SubwordFit fit = fit_subwords(data::Vocabulary(tokens), cat(rows, 0), 60, gen);
    std::printf("made-up words held out: cosine %.3f with their own vector, %.3f with another word's\n",
                fit.held_out_cosine, fit.held_out_baseline);
    const bool holds = fit.held_out_cosine > fit.held_out_baseline + 0.4;
    std::printf(holds ? "claim holds: unseen words are spelled near their meaning\n"
                      : "unexpected: the spelled vectors are no nearer their words than others\n");
    return holds;
}

}  // namespace

int main(int argc, char** argv) try {
    Word2VecOptions o;
    int64_t abstracts = -1;
    int threads = get_num_threads();
    bool tiny = false;
    std::string out = ".";
    tutorial::Cli cli("Tutorial: word2vec (skip-gram with negative sampling) on the HoC training abstracts.");
    cli.option("--dim", o.dim, "vector size").at_least(1);
    cli.option("--epochs", o.epochs, 15, 4, "passes over the corpus").at_least(1);
    cli.option("--window", o.window, "largest distance of a context word").at_least(1);
    cli.option("--negatives", o.negatives, "noise words per pair").at_least(1);
    cli.option("--abstracts", abstracts, -1, 300, "training abstracts read (-1: all)").at_least(-1);
    cli.option("--threads", threads, "threads for kernels and BLAS").at_least(1);
    int subword_epochs = 40;
    cli.option("--subword-epochs", subword_epochs, 40, 10, "passes of the n-gram vectors' fit").at_least(1);
    cli.option("--out", out, "folder for the vectors (hoc_word2vec_<dim>d.txt, hoc_subwords_<dim>d.txt)");
    cli.flag("--tiny-corpus", tiny, "train on a made-up corpus of two synonym pairs and check they end up closest");
    const bool quick = cli.parse(argc, argv);
    set_num_threads(threads);
    manual_seed(0);
    Generator gen(0);

    if (tiny) {
        // Small enough to learn in a blink: 10-dimensional vectors, 30 passes.
        o.dim = 10;
        o.epochs = 30;
        o.subsample = 1.0;  // a handful of words, all frequent: keep them all
        o.batch_size = 64;
        const std::vector<std::vector<std::string>> texts = tiny_corpus(gen);
        const data::Vocabulary vocab = data::Vocabulary::build(texts);
        std::vector<double> losses;
        const IndexedCorpus corpus = index_corpus(texts, vocab);
        const Tensor unit = unit_rows(train_skipgram(corpus, vocab.size(), o, gen, losses)->input.weight.detach());
        const double synonyms = cosine(unit, vocab, "aspirin", "ibuprofen");
        const double genes = cosine(unit, vocab, "brca1", "kras");
        const double unrelated =
            std::max(cosine(unit, vocab, "aspirin", "kras"), cosine(unit, vocab, "ibuprofen", "brca1"));
        std::printf("cosine(aspirin, ibuprofen) = %.3f, cosine(brca1, kras) = %.3f, largest unrelated pair %.3f\n",
                    synonyms, genes, unrelated);
        const bool holds = synonyms > unrelated + 0.2 && genes > unrelated + 0.2;
        std::printf(holds ? "claim holds: words that share every context are nearest\n"
                          : "unexpected: the synonyms are not nearest\n");
        const bool spells = spelling_check(gen);
        return holds && spells ? 0 : 1;
    }

    const hoc::Abstracts train = hoc::read_abstracts("train", abstracts);
    // The classifiers' vocabulary: words seen at least twice in the training abstracts.
    const data::Vocabulary vocab = data::Vocabulary::build(train.tokens, {.min_freq = 2});
    const IndexedCorpus corpus = index_corpus(train.tokens, vocab);
    if (corpus.words == 0)
        fail("skip-gram: no word occurs twice in the ", train.size(), " training abstracts read (--abstracts)");
    std::printf(
        "skip-gram on %zu training abstracts: %lld words, vocabulary %lld, %lld-dimensional vectors, "
        "window %lld, %lld negatives\n",
        train.size(), static_cast<long long>(corpus.words), static_cast<long long>(vocab.size()),
        static_cast<long long>(o.dim), static_cast<long long>(o.window), static_cast<long long>(o.negatives));
    std::vector<double> losses;
    const auto start = std::chrono::steady_clock::now();
    const auto model = train_skipgram(corpus, vocab.size(), o, gen, losses);
    const double seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();

    const std::string path = out + "/hoc_word2vec_" + std::to_string(o.dim) + "d.txt";
    std::filesystem::create_directories(out);
    data::write_word_vectors(path, vocab, model->input.weight.detach());
    std::printf("wrote %s (%lld vectors) in %.1f s of training\n\nNearest neighbours (cosine similarity):\n",
                path.c_str(), static_cast<long long>(vocab.size() - 1), seconds);
    print_neighbours(unit_rows(model->input.weight.detach()), vocab,
                     {"apoptosis", "angiogenesis", "metastasis", "telomerase", "inflammation", "glycolysis",
                      "proliferation", "mutations"},
                     5);
    // Before training every pair costs (1 + k) log 2 (all predictions 1/2); learning must bring
    // the loss well below that.
    const double untrained = static_cast<double>(1 + o.negatives) * std::log(2.0);
    const bool predicts = losses.back() < (quick ? 0.9 : 0.7) * untrained;
    std::printf("loss per pair: %.3f untrained, %.3f after %d epochs\n%s\n", untrained, losses.back(), o.epochs,
                predicts ? "claim holds: the vectors predict their contexts" : "unexpected: the loss did not fall");

    const auto fit_start = std::chrono::steady_clock::now();
    const SubwordFit fit = fit_subwords(vocab, model->input.weight.detach(), subword_epochs, gen);
    const double fit_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - fit_start).count();
    const std::string subword_path = out + "/hoc_subwords_" + std::to_string(o.dim) + "d.txt";
    data::write_word_vectors(subword_path, fit.ngrams, fit.table);
    std::printf(
        "wrote %s (fitted in %.1f s)\nNearest words (centered cosine) of held-out words* from their spelling alone:\n",
        subword_path.c_str(), fit_seconds);
    std::vector<std::string> shown;  // the first few held-out words long enough to have a stem
    for (const std::string& word : fit.held_out)
        if (word.size() >= 8 && shown.size() < 6) shown.push_back(word + "*");
    print_neighbours(unit_rows(cat({model->input.weight.detach(), fit.held_out_vectors}, 0) - fit.center),
                     data::Vocabulary([&] {
                         std::vector<std::string> tokens = vocab.tokens();
                         for (const std::string& word : fit.held_out) tokens.push_back(word + "*");
                         return tokens;
                     }()),
                     shown, 5);
    // The spelling must carry meaning: a held-out word's spelled vector nearer its own skip-gram
    // vector than another word's.
    // (--quick's vectors, 4 epochs on 300 abstracts, are too rough to say; --tiny-corpus checks the
    // fit on made-up words whose meaning is in their spelling.)
    const bool spells = quick || fit.held_out_cosine > fit.held_out_baseline + 0.1;
    std::printf("held-out words: cosine %.3f with their own skip-gram vector, %.3f with another word's\n%s\n",
                fit.held_out_cosine, fit.held_out_baseline,
                spells ? "claim holds: spelling predicts the vectors of unseen words"
                       : "unexpected: the spelled vectors are no nearer their words than others");
    return predicts && spells ? 0 : 1;
} catch (const std::exception& e) {
    return tutorial::fail(e);
}
