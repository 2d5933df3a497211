#include <xgrad/training/logger.hpp>

#include <cctype>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>

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
            fresh.csv = std::make_unique<std::ofstream>(path, options_.append ? std::ios::app : std::ios::trunc);
            XGRAD_CHECK(fresh.csv->good(), "ScalarLogger: cannot write ", path);
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
        if (!same) {
            std::string expected, got;
            for (const auto& c : p.columns) expected += (expected.empty() ? "" : ", ") + c;
            for (const auto& [name, value] : values) got += (got.empty() ? "" : ", ") + name;
            fail("ScalarLogger::log: phase \"", phase, "\" records ", expected, " but this record has ", got);
        }
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
