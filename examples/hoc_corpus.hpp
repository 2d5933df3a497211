#pragma once
// The Hallmarks of Cancer corpus (datasets/hoc) as the text programs read it: abstracts made of
// their sentences, tokenized, with the union of their sentences' labels; a vocabulary built from
// the training split only (so the dev and test abstracts stay unseen); padded index tensors.
#include <xgrad/xgrad.hpp>

#include <array>
#include <string>
#include <unordered_set>
#include <vector>

#include "hoc_subwords.hpp"

namespace hoc {

struct Abstracts {
    std::vector<std::string> pmids;
    std::vector<std::vector<std::string>> tokens;  ///< data::tokenize over the sentences in order
    std::vector<std::array<bool, 10>> labels;      ///< which hallmarks each abstract discusses
    std::size_t size() const { return pmids.size(); }
};

/// The abstracts of one split: "train", "dev" or "test" (datasets/hoc/<split>.tsv); the first
/// `limit` of them, or all with limit -1.
inline Abstracts read_abstracts(const std::string& split, int64_t limit = -1) {
    using namespace xgrad;
    std::vector<data::HocAbstract> abstracts =
        data::hoc_abstracts(data::read_hoc(data::datasets_dir() + "/hoc/" + split + ".tsv"));
    if (limit >= 0 && static_cast<int64_t>(abstracts.size()) > limit) abstracts.resize(static_cast<std::size_t>(limit));
    Abstracts out;
    for (const data::HocAbstract& a : abstracts) {
        std::vector<std::string> tokens;
        for (const std::string& sentence : a.sentences)
            for (std::string& token : data::tokenize(sentence)) tokens.push_back(std::move(token));
        out.pmids.push_back(a.pmid);
        out.tokens.push_back(std::move(tokens));
        out.labels.push_back(a.labels);
    }
    return out;
}

/// One split as tensors, with what is needed to show an abstract to a reader.
struct Split {
    xgrad::Tensor indices;  ///< [N, max_tokens] int64, padded with Vocabulary::kPad
    xgrad::Tensor lengths;  ///< [N] int64
    xgrad::Tensor targets;  ///< [N, 10] float32, multi-hot
    std::vector<std::string> pmids;
    std::vector<std::string> openings;  ///< the first words of each abstract
    int64_t size() const { return indices.size(0); }
};

inline Split encode(const Abstracts& abstracts, const xgrad::data::Vocabulary& vocab, int64_t max_tokens) {
    using namespace xgrad;
    const data::Encoded encoded = data::encode(abstracts.tokens, vocab, max_tokens);
    Split split{encoded.indices, encoded.lengths, data::hoc_targets(abstracts.labels), abstracts.pmids, {}};
    for (const std::vector<std::string>& tokens : abstracts.tokens) {
        std::string opening;
        for (std::size_t i = 0; i < tokens.size() && i < 12; ++i) opening += (i ? " " : "") + tokens[i];
        split.openings.push_back(opening + (tokens.size() > 12 ? " ..." : ""));
    }
    return split;
}

/// Two splits as one, the rows of `a` then those of `b` (--refit trains on train + dev).
inline Split concatenate(const Split& a, const Split& b) {
    using xgrad::cat;
    Split both{cat({a.indices, b.indices}, 0), cat({a.lengths, b.lengths}, 0), cat({a.targets, b.targets}, 0), a.pmids,
               a.openings};
    both.pmids.insert(both.pmids.end(), b.pmids.begin(), b.pmids.end());
    both.openings.insert(both.openings.end(), b.openings.begin(), b.openings.end());
    return both;
}

struct Corpus {
    xgrad::data::Vocabulary vocab{{"<pad>", "<unk>"}};
    Split train, dev, test;
    /// Rows [0, trained_words) of the vocabulary are the training split's words; with subword
    /// vectors, the rest are dev and test words the training split did not show (enough), whose
    /// vectors `spelled` [rest, dim] are the mean of their character n-grams' vectors.
    int64_t trained_words = 0;
    xgrad::Tensor spelled;
};

/// The three splits, the vocabulary from the words seen at least min_freq times in the training
/// abstracts kept (`train_limit`; -1 keeps all). With `subwords` (word2vec_hoc's n-gram vectors),
/// a dev or test word outside it that has a known n-gram gets a row of its own, the mean of its
/// n-grams' vectors, instead of <unk>: only the words' spelling is read, never a label.
inline Corpus load_corpus(int64_t max_tokens, int64_t train_limit, int64_t min_freq = 2,
                          const std::string& subwords = "", int64_t dim = -1) {
    using namespace xgrad;
    const Abstracts train = read_abstracts("train", train_limit);
    const Abstracts dev = read_abstracts("dev"), test = read_abstracts("test");
    Corpus corpus;
    corpus.vocab = data::Vocabulary::build(train.tokens, {.min_freq = min_freq});
    corpus.trained_words = corpus.vocab.size();
    corpus.train = encode(train, corpus.vocab, max_tokens);
    if (!subwords.empty()) {
        std::vector<std::string> unseen;
        std::unordered_set<std::string> listed;
        for (const Abstracts* split : {&dev, &test})
            for (const auto& tokens : split->tokens)
                for (const std::string& token : tokens)
                    if (corpus.vocab.index(token) == data::Vocabulary::kUnk && listed.insert(token).second)
                        unseen.push_back(token);
        // The n-grams of those words that the file has a vector for.
        std::vector<std::vector<std::string>> bags;
        for (const std::string& word : unseen) bags.push_back(char_ngrams(word));
        const data::Vocabulary ngrams = data::Vocabulary::build(bags);
        const data::WordVectors table = data::read_word_vectors(subwords, ngrams, {.expected_dim = dim});
        std::unordered_set<int64_t> absent;
        for (const std::string& ngram : table.missing) absent.insert(ngrams.index(ngram));
        std::vector<std::string> tokens = corpus.vocab.tokens(), spelled;
        for (const std::string& word : unseen) {
            bool known = false;
            for (const std::string& ngram : char_ngrams(word)) known = known || !absent.count(ngrams.index(ngram));
            if (known) spelled.push_back(word);
        }
        tokens.insert(tokens.end(), spelled.begin(), spelled.end());
        corpus.vocab = data::Vocabulary(std::move(tokens));
        NoGradGuard no_grad;
        corpus.spelled = compose(table.weights, ngram_bags(spelled, ngrams, absent));
    }
    corpus.dev = encode(dev, corpus.vocab, max_tokens);
    corpus.test = encode(test, corpus.vocab, max_tokens);
    return corpus;
}

}  // namespace hoc
