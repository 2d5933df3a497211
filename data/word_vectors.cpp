#include <xgrad/data/word_vectors.hpp>

#include <algorithm>
#include <cerrno>
#include <charconv>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <fstream>
#include <string_view>
#include <type_traits>
#include <utility>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/input_file.hpp>

namespace xgrad::data {
namespace {
// The fields of a line, split on spaces and tabs (runs of them, and trailing ones, give no empty field).
void split_fields(std::string_view line, std::vector<std::string_view>& fields) {
    fields.clear();
    std::size_t i = 0;
    while (i < line.size()) {
        while (i < line.size() && (line[i] == ' ' || line[i] == '\t')) ++i;
        const std::size_t start = i;
        while (i < line.size() && line[i] != ' ' && line[i] != '\t') ++i;
        if (i > start) fields.push_back(line.substr(start, i - start));
    }
}

template <class T>
bool parse_whole(std::string_view text, T& value) {
    const auto [end, error] = std::from_chars(text.data(), text.data() + text.size(), value);
    if (end != text.data() + text.size()) return false;
    if constexpr (std::is_same_v<T, float>) {
        // Out of float's range: a value too small for a normal float (1e-40, which trained vectors
        // hold) rounds towards zero as a C cast would; one too large is an error.
        if (error == std::errc::result_out_of_range) {
            double wide = 0;
            const auto [wide_end, wide_error] = std::from_chars(text.data(), text.data() + text.size(), wide);
            if (wide_error != std::errc() || wide_end != end || std::abs(wide) > 1.0) return false;
            value = static_cast<float>(wide);
            return true;
        }
    }
    return error == std::errc();
}

// A first line of exactly two integers: word2vec's "count dim".
bool is_header(const std::vector<std::string_view>& fields, int64_t& count, int64_t& dim) {
    return fields.size() == 2 && parse_whole(fields[0], count) && parse_whole(fields[1], dim);
}

std::string ascii_lower(std::string_view word) {
    std::string lower(word);
    for (char& c : lower)
        if (c >= 'A' && c <= 'Z') c = static_cast<char>(c - 'A' + 'a');
    return lower;
}

// Where a row's vector came from; an exact match replaces a lower-cased one, nothing replaces an exact one.
enum class Source : char { none, lowercase, exact };
}  // namespace

WordVectors read_word_vectors(const std::string& path, const Vocabulary& vocab, WordVectorsOptions options) {
    std::ifstream in = open_input_file(path);
    const auto vocab_size = static_cast<std::size_t>(vocab.size());
    int64_t dim = -1, announced = -1, dim_line = 0;
    // [vocab_size, dim], allocated once a vector line has confirmed dim (a header's dim alone could
    // be any number a corrupt file holds); <pad> stays zero.
    std::vector<float> table;
    std::vector<Source> source(vocab_size, Source::none);
    WordVectors out;

    auto set_dim = [&](int64_t d, int64_t line_number) {
        XGRAD_CHECK(options.expected_dim < 0 || d == options.expected_dim, path, ":", line_number,
                    ": the vectors have dim ", d, " but dim ", options.expected_dim, " was expected");
        dim = d;
        dim_line = line_number;
    };

    std::string line;
    std::vector<std::string_view> fields;
    std::vector<float> values;
    int64_t line_number = 0;
    bool first = true;
    while (std::getline(in, line)) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);  // a UTF-8 byte-order mark
        split_fields(line, fields);
        if (fields.empty()) continue;
        if (std::exchange(first, false)) {
            int64_t count = 0, header_dim = 0;
            if (is_header(fields, count, header_dim)) {
                XGRAD_CHECK(count >= 0 && header_dim > 0, path, ":", line_number, ": the header \"", line,
                            "\" must give a vector count and a positive dim");
                announced = count;
                set_dim(header_dim, line_number);
                continue;
            }
        }
        const std::string_view word = fields[0];
        const auto found = static_cast<int64_t>(fields.size()) - 1;
        if (dim < 0) {
            XGRAD_CHECK(found > 0, path, ":", line_number, ": expected a word and its values, got \"", line, "\"");
            set_dim(found, line_number);
        }
        if (found != dim)
            fail(path, ":", line_number, ": \"", word, "\" has ", found, " values, expected ", dim,
                 announced >= 0 ? " (the header's dim)" : " (as on line " + std::to_string(dim_line) + ")");
        // Every line is parsed, used or not, so that a corrupt file never passes unnoticed.
        values.resize(static_cast<std::size_t>(dim));
        for (int64_t k = 0; k < dim; ++k) {
            const std::string_view text = fields[static_cast<std::size_t>(k) + 1];
            float& v = values[static_cast<std::size_t>(k)];
            XGRAD_CHECK(parse_whole(text, v) && std::isfinite(v), path, ":", line_number, ": value ", k + 1, " of \"",
                        word, "\" is not a finite number: \"", text, "\"");
        }
        ++out.vectors_in_file;
        if (table.empty()) table.assign(vocab_size * static_cast<std::size_t>(dim), 0.0f);

        int64_t row = vocab.index(std::string(word));
        Source kind = Source::exact;
        if (row == Vocabulary::kUnk && word != "<unk>") {
            if (!options.lowercase_fallback) continue;
            const std::string lower = ascii_lower(word);
            row = vocab.index(lower);
            if (row == Vocabulary::kUnk && lower != "<unk>") continue;
            kind = Source::lowercase;
        }
        const auto r = static_cast<std::size_t>(row);
        if (row == Vocabulary::kPad || source[r] >= kind) continue;  // <pad> stays zero; first exact match wins
        source[r] = kind;
        std::copy(values.begin(), values.end(), table.begin() + static_cast<std::ptrdiff_t>(r * values.size()));
    }
    XGRAD_CHECK(out.vectors_in_file > 0, path, ": no word vectors (", dim > 0 ? "only a header" : "the file is empty",
                ")");
    XGRAD_CHECK(announced < 0 || announced == out.vectors_in_file, path, ": the header announces ", announced,
                " vectors but the file has ", out.vectors_in_file);

    std::vector<std::size_t> missing_rows;
    for (std::size_t r = 1; r < vocab_size; ++r) {
        if (source[r] == Source::none) {
            missing_rows.push_back(r);
            out.missing.push_back(vocab.token(static_cast<int64_t>(r)));
        } else {
            ++out.hits;
            if (source[r] == Source::lowercase) ++out.lowercase_hits;
        }
    }
    if (!missing_rows.empty()) {
        const Shape shape = {static_cast<int64_t>(missing_rows.size()), dim};
        Tensor rows;
        if (options.init_missing) {
            rows = zeros(shape, kFloat32);
            options.init_missing(rows);
        } else {
            rows = normal(shape, 0.0, 0.1, kFloat32, options.generator);
        }
        const std::vector<float> filled = rows.to_vector<float>();
        for (std::size_t i = 0; i < missing_rows.size(); ++i)
            std::copy_n(filled.begin() + static_cast<std::ptrdiff_t>(i * static_cast<std::size_t>(dim)), dim,
                        table.begin() + static_cast<std::ptrdiff_t>(missing_rows[i] * static_cast<std::size_t>(dim)));
    }
    out.weights = from_vector(table, {vocab.size(), dim}, kFloat32);
    return out;
}

void write_word_vectors(const std::string& path, const Vocabulary& vocab, const Tensor& weights) {
    XGRAD_CHECK(weights.defined(), "write_word_vectors: ", path, ": the weights are an undefined tensor");
    XGRAD_CHECK(weights.dim() == 2 && weights.size(0) == vocab.size(), "write_word_vectors: ", path,
                ": weights must be [vocabulary size, dim] = [", vocab.size(), ", dim], got ", weights.sizes());
    XGRAD_CHECK(weights.dtype() == kFloat32 || weights.dtype() == kFloat64, "write_word_vectors: ", path,
                ": weights must be float32 or float64, got ", dtype_name(weights.dtype()));
    const std::vector<float> values = weights.to(kFloat32).to_vector<float>();
    const auto dim = static_cast<std::size_t>(weights.size(1));
    // <pad> and <unk> stand for no word: a reader gives them rows of its own.
    std::string text = std::to_string(std::max<int64_t>(vocab.size() - 2, 0)) + " " + std::to_string(dim) + "\n";
    char number[32];
    for (int64_t row = 0; row < vocab.size(); ++row) {
        if (row == Vocabulary::kPad || row == Vocabulary::kUnk) continue;
        const std::string& word = vocab.token(row);
        XGRAD_CHECK(!word.empty() && word.find_first_of(" \t\r\n") == std::string::npos, "write_word_vectors: ", path,
                    ": word ", row, " (\"", word, "\") is empty or holds a space, which the format cannot hold");
        text += word;
        for (std::size_t k = 0; k < dim; ++k) {
            const float v = values[static_cast<std::size_t>(row) * dim + k];
            XGRAD_CHECK(std::isfinite(v), "write_word_vectors: ", path, ": value ", k + 1, " of \"", word, "\" is ", v,
                        " (training diverged?)");
            const auto [end, error] = std::to_chars(number, number + sizeof number, v);
            text += ' ';
            text.append(number, end);
        }
        text += '\n';
    }
    std::FILE* file = std::fopen(path.c_str(), "wb");
    if (!file) fail("write_word_vectors: cannot write ", path, " (", std::strerror(errno), ")");
    const bool written = std::fwrite(text.data(), 1, text.size(), file) == text.size();
    const int error = written ? 0 : errno;
    if (std::fclose(file) != 0 || !written)
        fail("write_word_vectors: cannot write ", path, " (", std::strerror(error ? error : errno), ")");
}

}  // namespace xgrad::data
