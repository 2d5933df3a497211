#pragma once
// Vectors for the words training never showed, from their spelling. A word is represented by the
// character n-grams of "<word>" (3 to 6 characters, fastText's units: Bojanowski et al. 2017), and
// its vector is the mean of their vectors. word2vec_hoc fits the n-gram vectors so that this mean
// reproduces the skip-gram vector of every training word (the "mimick" idea of Pinter et al. 2017,
// with a bag of n-grams for their character RNN); the classifiers then give every dev or test word
// outside their vocabulary the mean of its n-grams' vectors instead of the one <unk> vector, so
// that "lymphangiogenic" lands near "lymphangiogenesis" and an unseen kinase near the kinases.
// Nothing here reads a label, and the n-gram vectors are fitted on the training split alone.
#include <xgrad/xgrad.hpp>

#include <string>
#include <unordered_set>
#include <vector>

namespace hoc {

inline constexpr int kShortestNgram = 3, kLongestNgram = 6;

/// The character n-grams of "<word>", shortest first ("<ca", "can", ..., "er>", "<can", ...).
inline std::vector<std::string> char_ngrams(const std::string& word) {
    const std::string marked = "<" + word + ">";
    std::vector<std::string> ngrams;
    for (int n = kShortestNgram; n <= kLongestNgram; ++n)
        for (std::size_t at = 0; at + static_cast<std::size_t>(n) <= marked.size(); ++at)
            ngrams.push_back(marked.substr(at, static_cast<std::size_t>(n)));
    return ngrams;
}

/// Words as the n-grams a table knows: ids [W, L] padded with Vocabulary::kPad (whose row is zero)
/// and counts [W, 1] float32 (at least 1, so that a word with no known n-gram gets a zero vector).
struct NgramBags {
    xgrad::Tensor ids, counts;
};

inline NgramBags ngram_bags(const std::vector<std::string>& words, const xgrad::data::Vocabulary& ngrams,
                            const std::unordered_set<int64_t>& unusable = {}) {
    using namespace xgrad;
    std::vector<std::vector<int64_t>> bags;
    std::size_t longest = 1;
    for (const std::string& word : words) {
        std::vector<int64_t> bag;
        for (const std::string& ngram : char_ngrams(word)) {
            const int64_t id = ngrams.index(ngram);
            if (id != data::Vocabulary::kUnk && !unusable.count(id)) bag.push_back(id);
        }
        longest = std::max(longest, bag.size());
        bags.push_back(std::move(bag));
    }
    std::vector<int64_t> ids(words.size() * longest, data::Vocabulary::kPad);
    std::vector<float> counts;
    for (std::size_t w = 0; w < bags.size(); ++w) {
        std::copy(bags[w].begin(), bags[w].end(), ids.begin() + static_cast<std::ptrdiff_t>(w * longest));
        counts.push_back(static_cast<float>(std::max<std::size_t>(1, bags[w].size())));
    }
    const auto n = static_cast<int64_t>(words.size());
    return {from_vector(ids, {n, static_cast<int64_t>(longest)}), from_vector(counts, {n, 1})};
}

/// The words' vectors [W, D]: the mean of their n-grams' rows of `table` [G, D].
inline xgrad::Tensor compose(const xgrad::Tensor& table, const NgramBags& bags) {
    return xgrad::nn::F::embedding(bags.ids, table, xgrad::data::Vocabulary::kPad).sum({1}) / bags.counts;
}

}  // namespace hoc
