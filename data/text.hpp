#pragma once
/// Text pipeline for biomedical text classification: tokenizer, vocabulary, encoding to padded
/// index tensors, and the Hallmarks of Cancer corpus.
///
///     auto corpus = data::read_hoc(data::datasets_dir() + "/hoc/train.tsv");
///     data::Vocabulary vocab = data::Vocabulary::build(tokenized_train, {.min_freq = 2});
///     data::Encoded x = data::encode(tokenized, vocab, 64);   // [N, 64] indices + lengths

#include <array>
#include <map>
#include <string>
#include <unordered_map>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::data {

/// Lower-cases ASCII, splits on anything that is not a letter or digit (bytes of non-ASCII UTF-8
/// characters count as letters, so "µm" stays one token), and maps tokens made only of digits
/// (with '.' or ',' inside, e.g. "3.5") to the token class "<num>".
std::vector<std::string> tokenize(const std::string& text);

struct VocabularyOptions {
    int64_t min_freq = 1;   ///< tokens seen fewer times become <unk>
    int64_t max_size = -1;  ///< keep only the most frequent (after <pad> and <unk>); -1: all
};

/// Token <-> index. Index 0 is "<pad>", 1 is "<unk>"; the rest by decreasing frequency (ties
/// alphabetically, so the vocabulary does not depend on hash order).
class Vocabulary {
public:
    static constexpr int64_t kPad = 0;
    static constexpr int64_t kUnk = 1;
    /// Built from the training texts only.
    static Vocabulary build(const std::vector<std::vector<std::string>>& texts, VocabularyOptions options = {});
    explicit Vocabulary(std::vector<std::string> tokens);
    int64_t size() const { return static_cast<int64_t>(tokens_.size()); }
    /// The index of token, or kUnk.
    int64_t index(const std::string& token) const;
    const std::string& token(int64_t index) const;
    const std::vector<std::string>& tokens() const { return tokens_; }

private:
    std::vector<std::string> tokens_;
    std::unordered_map<std::string, int64_t> index_;
};

struct Encoded {
    Tensor indices;  ///< [N, max_length] int64, padded with kPad
    Tensor lengths;  ///< [N] int64: tokens kept per text (after truncation)
};
/// Encodes token lists, truncating to max_length and padding the rest.
Encoded encode(const std::vector<std::vector<std::string>>& texts, const Vocabulary& vocab, int64_t max_length);
/// The tokens of one encoded row (padding dropped).
std::vector<std::string> decode(const Tensor& row, const Vocabulary& vocab);

/// The ten hallmarks, in the corpus's fixed order (label k is column k of the label tensor).
const std::array<std::string, 10>& hoc_labels();

struct HocSentence {
    std::string pmid;
    int64_t index = 0;                 ///< position in its abstract
    std::array<bool, 10> labels = {};  ///< multi-label
    std::string text;
};
/// Reads a Hallmarks of Cancer TSV file (PMID, sentence index, labels, sentence).
std::vector<HocSentence> read_hoc(const std::string& path);

struct HocAbstract {
    std::string pmid;
    std::array<bool, 10> labels = {};  ///< the union of its sentences' labels
    std::vector<std::string> sentences;
};
/// Groups sentences into abstracts (the abstract-level task).
std::vector<HocAbstract> hoc_abstracts(const std::vector<HocSentence>& sentences);
/// [N, 10] float32 multi-hot targets.
Tensor hoc_targets(const std::vector<std::array<bool, 10>>& labels);

}  // namespace xgrad::data
