#include <xgrad/data/text.hpp>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>
#include <fstream>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/input_file.hpp>

namespace xgrad::data {

std::vector<std::string> tokenize(const std::string& text) {
    std::vector<std::string> tokens;
    std::string current;
    auto flush = [&] {
        if (current.empty()) return;
        // Trailing separators of a number ("3.") are not part of it.
        while (!current.empty() && (current.back() == '.' || current.back() == ',')) current.pop_back();
        if (current.empty()) return;
        const bool numeric = std::all_of(current.begin(), current.end(), [](char c) {
            return std::isdigit(static_cast<unsigned char>(c)) || c == '.' || c == ',';
        });
        tokens.push_back(numeric ? "<num>" : current);
        current.clear();
    };
    for (std::size_t i = 0; i < text.size(); ++i) {
        const auto c = static_cast<unsigned char>(text[i]);
        const bool inside_number = (c == '.' || c == ',') && !current.empty() &&
                                   std::isdigit(static_cast<unsigned char>(current.back())) && i + 1 < text.size() &&
                                   std::isdigit(static_cast<unsigned char>(text[i + 1]));
        if (std::isalnum(c) || c >= 0x80 || inside_number)
            current += static_cast<char>(std::tolower(c));
        else
            flush();
    }
    flush();
    return tokens;
}

Vocabulary::Vocabulary(std::vector<std::string> tokens) : tokens_(std::move(tokens)) {
    XGRAD_CHECK(tokens_.size() >= 2 && tokens_[0] == "<pad>" && tokens_[1] == "<unk>",
                "Vocabulary: the first two tokens must be <pad> and <unk>");
    for (std::size_t i = 0; i < tokens_.size(); ++i) {
        XGRAD_CHECK(index_.emplace(tokens_[i], static_cast<int64_t>(i)).second, "Vocabulary: token \"", tokens_[i],
                    "\" appears twice");
    }
}

Vocabulary Vocabulary::build(const std::vector<std::vector<std::string>>& texts, VocabularyOptions options) {
    XGRAD_CHECK(options.min_freq >= 1, "Vocabulary: min_freq must be at least 1, got ", options.min_freq);
    XGRAD_CHECK(options.max_size >= -1, "Vocabulary: max_size must be non-negative (or -1 for all), got ",
                options.max_size);
    std::unordered_map<std::string, int64_t> counts;
    for (const auto& text : texts)
        for (const std::string& t : text) ++counts[t];
    std::vector<std::pair<std::string, int64_t>> sorted;
    for (auto& [token, count] : counts)
        if (count >= options.min_freq && token != "<pad>" && token != "<unk>") sorted.emplace_back(token, count);
    std::sort(sorted.begin(), sorted.end(), [](const auto& a, const auto& b) {
        return a.second != b.second ? a.second > b.second : a.first < b.first;
    });
    if (options.max_size >= 0 && static_cast<int64_t>(sorted.size()) > options.max_size)
        sorted.resize(static_cast<std::size_t>(options.max_size));
    std::vector<std::string> tokens = {"<pad>", "<unk>"};
    for (auto& [token, count] : sorted) tokens.push_back(token);
    return Vocabulary(std::move(tokens));
}

int64_t Vocabulary::index(const std::string& token) const {
    auto it = index_.find(token);
    return it == index_.end() ? kUnk : it->second;
}

const std::string& Vocabulary::token(int64_t index) const {
    XGRAD_CHECK(index >= 0 && index < size(), "Vocabulary: index ", index, " is out of range for ", size(), " tokens");
    return tokens_[static_cast<std::size_t>(index)];
}

Encoded encode(const std::vector<std::vector<std::string>>& texts, const Vocabulary& vocab, int64_t max_length) {
    XGRAD_CHECK(max_length > 0, "encode: max_length must be positive, got ", max_length);
    const auto n = static_cast<int64_t>(texts.size());
    std::vector<int64_t> indices(static_cast<std::size_t>(n * max_length), Vocabulary::kPad), lengths;
    for (int64_t i = 0; i < n; ++i) {
        const auto& text = texts[static_cast<std::size_t>(i)];
        const int64_t kept = std::min<int64_t>(max_length, static_cast<int64_t>(text.size()));
        for (int64_t j = 0; j < kept; ++j)
            indices[static_cast<std::size_t>(i * max_length + j)] = vocab.index(text[static_cast<std::size_t>(j)]);
        lengths.push_back(kept);
    }
    return {from_vector(indices, {n, max_length}), from_vector(lengths, {n})};
}

std::vector<std::string> decode(const Tensor& row, const Vocabulary& vocab) {
    XGRAD_CHECK(row.dim() <= 1, "decode: expected one row of token indices (a 0-d or 1-d tensor), got shape ",
                row.sizes(), "; decode each row of a batch on its own (batch[i])");
    std::vector<std::string> tokens;
    for (int64_t i : row.to_vector<int64_t>())
        if (i != Vocabulary::kPad) tokens.push_back(vocab.token(i));
    return tokens;
}

const std::array<std::string, 10>& hoc_labels() {
    static const std::array<std::string, 10> labels = {
        "proliferative_signaling", "growth_suppressors", "cell_death",
        "replicative_immortality", "angiogenesis",       "invasion_metastasis",
        "genomic_instability",     "inflammation",       "cellular_energetics",
        "immune_destruction"};
    return labels;
}

std::vector<HocSentence> read_hoc(const std::string& path) {
    std::ifstream in = open_input_file(path);
    std::vector<HocSentence> sentences;
    std::string line;
    int64_t line_number = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();  // a file saved with CRLF endings
        if (line.empty()) continue;
        std::vector<std::string> fields;
        std::size_t start = 0;
        for (int k = 0; k < 3; ++k) {
            const std::size_t tab = line.find('\t', start);
            XGRAD_CHECK(tab != std::string::npos, path, ":", line_number, ": expected 4 tab-separated fields, found ",
                        k + 1);
            fields.push_back(line.substr(start, tab - start));
            start = tab + 1;
        }
        HocSentence s;
        s.pmid = fields[0];
        XGRAD_CHECK(!s.pmid.empty() && s.pmid.find_first_not_of("0123456789") == std::string::npos, path, ":",
                    line_number, ": column 1: the PubMed id \"", s.pmid, "\" is not a number");
        char* end = nullptr;
        errno = 0;
        s.index = std::strtoll(fields[1].c_str(), &end, 10);
        // The whole field (strtoll stops at a NUL byte inside it), decimal digits only.
        XGRAD_CHECK(!fields[1].empty() && fields[1].find_first_not_of("0123456789") == std::string::npos &&
                        end == fields[1].data() + fields[1].size() && errno != ERANGE,
                    path, ":", line_number, ": column 2: the sentence index \"", fields[1],
                    "\" is not a non-negative number");
        if (fields[2] != "none") {
            std::size_t at = 0;
            while (at <= fields[2].size()) {
                const std::size_t comma = std::min(fields[2].find(',', at), fields[2].size());
                const std::string name = fields[2].substr(at, comma - at);
                const auto& labels = hoc_labels();
                const auto it = std::find(labels.begin(), labels.end(), name);
                XGRAD_CHECK(it != labels.end(), path, ":", line_number, ": unknown hallmark label \"", name, "\"");
                s.labels[static_cast<std::size_t>(it - labels.begin())] = true;
                at = comma + 1;
            }
        }
        s.text = line.substr(start);
        sentences.push_back(std::move(s));
    }
    XGRAD_CHECK(!sentences.empty(), path, ": no sentences (the file is empty)");
    return sentences;
}

std::vector<HocAbstract> hoc_abstracts(const std::vector<HocSentence>& sentences) {
    std::vector<HocAbstract> abstracts;
    for (const HocSentence& s : sentences) {
        if (abstracts.empty() || abstracts.back().pmid != s.pmid) abstracts.push_back({s.pmid, {}, {}});
        HocAbstract& a = abstracts.back();
        for (std::size_t k = 0; k < 10; ++k) a.labels[k] = a.labels[k] || s.labels[k];
        a.sentences.push_back(s.text);
    }
    return abstracts;
}

Tensor hoc_targets(const std::vector<std::array<bool, 10>>& labels) {
    std::vector<float> values;
    for (const auto& row : labels)
        for (bool b : row) values.push_back(b ? 1.0f : 0.0f);
    return from_vector(values, {static_cast<int64_t>(labels.size()), 10});
}

}  // namespace xgrad::data
