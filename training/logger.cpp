#include <xgrad/training/logger.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>

#include <xgrad/tensor/error.hpp>

namespace xgrad::training {
namespace {
// Shortest text that reads back as the same double.
std::string number(double v) {
    if (std::isnan(v)) return "nan";
    if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
    char buffer[64];
    for (int digits = 6; digits <= 17; ++digits) {
        std::snprintf(buffer, sizeof buffer, "%.*g", digits, v);
        if (std::strtod(buffer, nullptr) == v) break;
    }
    return buffer;
}

std::string json_string(const std::string& s) {
    std::string out = "\"";
    for (char c : s) {
        if (c == '"' || c == '\\')
            out += std::string("\\") + c;
        else if (static_cast<unsigned char>(c) < 0x20) {
            char buffer[8];
            std::snprintf(buffer, sizeof buffer, "\\u%04x", c);
            out += buffer;
        } else
            out += c;
    }
    return out + "\"";
}

// A CSV field: quoted when it holds a comma, a quote or a line break.
std::string csv_field(const std::string& s) {
    if (s.find_first_of(",\"\n\r") == std::string::npos) return s;
    std::string out = "\"";
    for (char c : s) out += c == '"' ? std::string("\"\"") : std::string(1, c);
    return out + "\"";
}

// The fields of one CSV line as csv_field wrote them (quoted fields with doubled quotes).
std::vector<std::string> csv_fields(const std::string& line) {
    std::vector<std::string> fields(1);
    bool quoted = false;
    for (std::size_t i = 0; i < line.size(); ++i) {
        const char c = line[i];
        if (quoted && c == '"' && i + 1 < line.size() && line[i + 1] == '"') {
            fields.back() += '"';
            ++i;
        } else if (c == '"') {
            quoted = !quoted;
        } else if (c == ',' && !quoted) {
            fields.emplace_back();
        } else {
            fields.back() += c;
        }
    }
    return fields;
}

// Whether the file's last byte is a line break (a killed run can leave a row without one).
bool ends_with_line_break(const std::string& path) {
    std::ifstream in(path, std::ios::binary | std::ios::ate);
    if (!in || in.tellg() == 0) return true;
    in.seekg(-1, std::ios::end);
    return in.get() == '\n';
}

// "a, b, c": names for an error message, from the first-th on.
std::string joined(const std::vector<std::string>& names, std::size_t first = 0) {
    std::string out;
    for (std::size_t i = first; i < names.size(); ++i) out += (out.empty() ? "" : ", ") + names[i];
    return out;
}
std::vector<std::string> names_of(const std::map<std::string, double>& values) {
    std::vector<std::string> names;
    for (const auto& [name, value] : values) names.push_back(name);
    return names;
}

bool valid_phase(const std::string& phase) {
    if (phase.empty()) return false;
    for (char c : phase)
        if (!(std::isalnum(static_cast<unsigned char>(c)) || c == '_' || c == '-')) return false;
    return true;
}
}  // namespace

ScalarLogger::ScalarLogger(ScalarLoggerOptions options) : options_(std::move(options)) {
    std::error_code ec;
    std::filesystem::create_directories(options_.directory, ec);
    XGRAD_CHECK(std::filesystem::is_directory(options_.directory), "ScalarLogger: cannot create the directory ",
                options_.directory, ec ? " (" + ec.message() + ")" : "");
    if (options_.jsonl) {
        jsonl_.open(jsonl_path(), options_.append ? std::ios::app : std::ios::trunc);
        XGRAD_CHECK(jsonl_.good(), "ScalarLogger: cannot write ", jsonl_path());
    }
}

std::string ScalarLogger::csv_path(const std::string& phase) const {
    return options_.directory + "/" + phase + ".csv";
}
std::string ScalarLogger::jsonl_path() const {
    return options_.directory + "/" + options_.jsonl_name;
}

void ScalarLogger::log(const std::string& phase, int64_t index, const std::map<std::string, double>& values) {
    XGRAD_CHECK(valid_phase(phase), "ScalarLogger::log: the phase \"", phase,
                "\" must be letters, digits, '_' or '-' (it names a file)");
    XGRAD_CHECK(!values.empty(), "ScalarLogger::log: no values for phase \"", phase, "\" at ", index);
    XGRAD_CHECK(!values.count("index") && !values.count("phase"),
                "ScalarLogger::log: \"index\" and \"phase\" name the record itself; call the value something else");
    // A line break would split the CSV header that a resumed run reads back line by line.
    for (const auto& [name, value] : values)
        XGRAD_CHECK(name.find_first_of("\r\n") == std::string::npos, "ScalarLogger::log: the value name \"", name,
                    "\" holds a line break");
    const bool first = !phases_.count(phase);
    if (first) {
        // Set up completely (file open, header written) before the phase exists: a failure
        // leaves no half-made phase behind.
        Phase fresh;
        for (const auto& [name, value] : values) fresh.columns.push_back(name);
        if (options_.csv) {
            const std::string path = csv_path(phase);
            const bool continuing =
                options_.append && std::filesystem::exists(path) && std::filesystem::file_size(path) > 0;
            if (continuing) read_history(path, values, fresh);
            const bool cut_short = continuing && !ends_with_line_break(path);
            fresh.csv = std::make_unique<std::ofstream>(path, options_.append ? std::ios::app : std::ios::trunc);
            XGRAD_CHECK(fresh.csv->good(), "ScalarLogger: cannot write ", path);
            if (cut_short) *fresh.csv << '\n';  // the new rows start on a line of their own
            if (!continuing) {
                *fresh.csv << "index";
                for (const auto& c : fresh.columns) *fresh.csv << ',' << csv_field(c);
                *fresh.csv << '\n';
            }
        }
        phases_.emplace(phase, std::move(fresh));
    }
    Phase& p = phases_.at(phase);
    if (!first) {
        bool same = values.size() == p.columns.size();
        for (std::size_t i = 0; same && i < p.columns.size(); ++i) same = values.count(p.columns[i]) > 0;
        if (!same)
            fail("ScalarLogger::log: phase \"", phase, "\" records ", joined(p.columns), " but this record has ",
                 joined(names_of(values)));
    }
    p.indices.push_back(index);
    for (const auto& [name, value] : values) p.values[name].push_back(value);
    if (p.csv) {
        *p.csv << index;
        for (const auto& c : p.columns) *p.csv << ',' << number(values.at(c));
        *p.csv << '\n';
        p.csv->flush();
        XGRAD_CHECK(p.csv->good(), "ScalarLogger: cannot write ", csv_path(phase), " (disk full?)");
    }
    if (options_.jsonl) {
        jsonl_ << "{\"phase\": " << json_string(phase) << ", \"index\": " << index;
        for (const auto& [name, value] : values)
            jsonl_ << ", " << json_string(name) << ": " << (std::isfinite(value) ? number(value) : "null");
        jsonl_ << "}\n";
        jsonl_.flush();
        XGRAD_CHECK(jsonl_.good(), "ScalarLogger: cannot write ", jsonl_path(), " (disk full?)");
    }
}

// A resumed run's earlier records, so that history() and the plots made from it cover the whole
// run and not only the epochs since the resume.
void ScalarLogger::read_history(const std::string& path, const std::map<std::string, double>& values, Phase& phase) {
    std::ifstream in(path);
    std::string line;
    std::getline(in, line);
    const std::vector<std::string> header = csv_fields(line);
    std::vector<std::string> expected = names_of(values);
    expected.insert(expected.begin(), "index");
    if (header != expected)
        fail("ScalarLogger: ", path, " records ", joined(header, 1), " but the resumed run logs ", joined(expected, 1),
             " (start a new directory, or log the same values)");
    int64_t line_number = 1;
    while (std::getline(in, line)) {
        ++line_number;
        if (line.empty()) continue;
        // A row that does not read back whole (a run killed in the middle of writing it) is left
        // out of the history; the rows after it still count.
        const std::vector<std::string> fields = csv_fields(line);
        if (fields.size() != header.size()) continue;
        char* end = nullptr;
        const long long index = std::strtoll(fields[0].c_str(), &end, 10);
        bool whole = !fields[0].empty() && *end == '\0';
        std::vector<double> row;
        for (std::size_t i = 1; whole && i < fields.size(); ++i) {
            row.push_back(std::strtod(fields[i].c_str(), &end));
            whole = !fields[i].empty() && *end == '\0';
        }
        if (!whole) continue;
        phase.indices.push_back(index);
        for (std::size_t i = 1; i < fields.size(); ++i) phase.values[header[i]].push_back(row[i - 1]);
    }
}

std::vector<double> ScalarLogger::history(const std::string& phase, const std::string& name) const {
    auto it = phases_.find(phase);
    XGRAD_CHECK(it != phases_.end(), "ScalarLogger::history: nothing logged for phase \"", phase, "\"");
    auto values = it->second.values.find(name);
    XGRAD_CHECK(values != it->second.values.end(), "ScalarLogger::history: phase \"", phase, "\" has no value \"", name,
                "\"");
    return values->second;
}

std::vector<int64_t> ScalarLogger::indices(const std::string& phase) const {
    auto it = phases_.find(phase);
    XGRAD_CHECK(it != phases_.end(), "ScalarLogger::indices: nothing logged for phase \"", phase, "\"");
    return it->second.indices;
}

}  // namespace xgrad::training
