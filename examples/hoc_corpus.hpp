#pragma once
// The Hallmarks of Cancer corpus (datasets/hoc) as the text programs read it: abstracts made of
// their sentences, tokenized, with the union of their sentences' labels; a vocabulary built from
// the training split only (so the dev and test abstracts stay unseen); padded index tensors.
#include <xgrad/xgrad.hpp>

#include <array>
#include <string>
#include <vector>

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

struct Corpus {
    xgrad::data::Vocabulary vocab{{"<pad>", "<unk>"}};
    Split train, dev, test;
};

/// The three splits, the vocabulary from the words seen at least min_freq times in the training
/// abstracts kept (`train_limit`; -1 keeps all).
inline Corpus load_corpus(int64_t max_tokens, int64_t train_limit, int64_t min_freq = 2) {
    using namespace xgrad;
    const Abstracts train = read_abstracts("train", train_limit);
    Corpus corpus;
    corpus.vocab = data::Vocabulary::build(train.tokens, {.min_freq = min_freq});
    corpus.train = encode(train, corpus.vocab, max_tokens);
    corpus.dev = encode(read_abstracts("dev"), corpus.vocab, max_tokens);
    corpus.test = encode(read_abstracts("test"), corpus.vocab, max_tokens);
    return corpus;
}

}  // namespace hoc
