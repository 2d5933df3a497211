#pragma once
/// Pretrained word vectors (word2vec's text format, GloVe) laid out for a Vocabulary, to start an
/// Embedding from, and vectors trained with xgrad written in word2vec's text format:
///
///     data::WordVectors glove = data::read_word_vectors("glove.6B.100d.txt", vocab);
///     auto embed = nn::Embedding::from_pretrained(glove.weights, /*freeze=*/true, data::Vocabulary::kPad);
///     data::write_word_vectors("hoc_vectors.txt", vocab, skipgram.input.weight);
///
/// Each line is a word and its dim values, separated by spaces ("the 0.418 0.24968 ..."); trailing
/// spaces (word2vec writes one) and '\r' are ignored, as are blank lines. word2vec's text files
/// begin with a header "count dim", recognised as a first line of exactly two integers and checked
/// against the file; GloVe's have none, and the first line sets dim. Only plain text is read
/// (unzip GloVe, and convert word2vec's binary .bin files to text first). Words are split on
/// spaces, so a word that contains one (a few in GloVe 840B) makes its line malformed.
///
/// Every line is checked: a wrong number of values, a value that is not a finite number, or a
/// header that disagrees with the file throws xgrad::Error naming the file and the line.

#include <functional>
#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>
#include <xgrad/data/text.hpp>

namespace xgrad::data {

struct WordVectorsOptions {
    /// Fills the rows of the vocabulary words the file lacks, in place: it receives one [misses,
    /// dim] float32 tensor (e.g. [](const Tensor& t) { nn::init::uniform_(t, -0.25, 0.25); }).
    /// Unset: N(0, 0.1^2) from `generator`, small next to typical pretrained vectors.
    std::function<void(const Tensor& rows)> init_missing;
    Generator* generator = nullptr;  ///< for the default initializer (the default generator if null)
    /// A vocabulary word with no exact match takes the vector of the first file word that equals
    /// it once lower-cased (ASCII, as tokenize() lower-cases): "Cancer" serves "cancer" in
    /// word2vec's cased vocabulary. An exact match always wins over the fallback.
    bool lowercase_fallback = true;
    int64_t expected_dim = -1;  ///< the dim the caller needs (e.g. the model's embedding size); -1: the file's
};

struct WordVectors {
    Tensor weights;    ///< [vocab.size(), dim] float32: the file's vectors, init_missing's rows, a zero <pad> row
    int64_t hits = 0;  ///< vocabulary words given a file vector (<pad> is not counted)
    int64_t lowercase_hits = 0;        ///< of those, the ones found only through the lower-cased fallback
    std::vector<std::string> missing;  ///< vocabulary words the file lacks, by index (<pad> excluded)
    int64_t vectors_in_file = 0;       ///< the lines with a vector, used or not
    int64_t dim() const { return weights.size(1); }
    int64_t misses() const { return static_cast<int64_t>(missing.size()); }
};

/// Reads a word-vector text file and returns one row per vocabulary index. Words outside the
/// vocabulary are skipped; a word listed twice keeps its first vector.
WordVectors read_word_vectors(const std::string& path, const Vocabulary& vocab, WordVectorsOptions options = {});

/// Writes row i of weights ([vocab.size(), dim], float32 or float64) as the vector of vocab.token(i)
/// in word2vec's text format: a "count dim" header, then "word v1 ... vdim" per line, every
/// vocabulary word but <pad> and <unk> (no word: a reader initializes them its own way), values
/// in the shortest text that reads back to the same float (read_word_vectors returns them bit for
/// bit). Throws xgrad::Error naming the file when it cannot be written, the shapes when weights
/// do not match the vocabulary, and the word when a value is not finite.
void write_word_vectors(const std::string& path, const Vocabulary& vocab, const Tensor& weights);

}  // namespace xgrad::data
