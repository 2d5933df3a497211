#include <xgrad/data/readers.hpp>

#include <zlib.h>

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include <xgrad/autograd/ops.hpp>
#include <xgrad/tensor/input_file.hpp>

#ifndef XGRAD_DEFAULT_DATASETS_DIR
#define XGRAD_DEFAULT_DATASETS_DIR "datasets"
#endif

namespace xgrad::data {

std::string datasets_dir() {
    if (const char* env = std::getenv("XGRAD_DATASETS")) return env;
    return XGRAD_DEFAULT_DATASETS_DIR;
}

namespace {
// The whole file, decompressed when it is gzip (zlib reads plain files unchanged too).
std::string read_file_bytes(const std::string& path) {
    check_readable_file(path);
    gzFile file = gzopen(path.c_str(), "rb");
    XGRAD_CHECK(file != nullptr, path, ": cannot open (", std::strerror(errno), ")");
    std::string bytes;
    char buffer[1 << 16];
    int n;
    while ((n = gzread(file, buffer, sizeof buffer)) > 0) bytes.append(buffer, static_cast<std::size_t>(n));
    int err = 0;
    const char* message = gzerror(file, &err);
    const std::string error_text = n < 0 ? std::string(message) : "";
    gzclose(file);
    XGRAD_CHECK(n == 0, path, ": cannot decompress after byte ", bytes.size(), " of the uncompressed data (",
                error_text, ")");
    return bytes;
}

uint32_t big_endian(const std::string& b, std::size_t at) {
    auto byte = [&](std::size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
    return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}

const char* kind_name(IdxKind kind) {
    return kind == IdxKind::images ? "images" : "labels";
}
}  // namespace

Tensor read_idx(const std::string& path, DType dtype) {
    return read_idx(path, IdxOptions{.dtype = dtype});
}

Tensor read_idx(const std::string& path, IdxOptions options) {
    XGRAD_CHECK(options.num_classes >= 0, "read_idx: num_classes must be non-negative, got ", options.num_classes);
    XGRAD_CHECK(options.num_classes == 0 || options.expect == IdxKind::labels,
                "read_idx: num_classes applies to label files (expect = IdxKind::labels)");
    const std::string bytes = read_file_bytes(path);
    XGRAD_CHECK(!bytes.empty(), path, ": the file is empty");
    XGRAD_CHECK(bytes.size() >= 4, path, ": truncated header (", bytes.size(), " bytes, the magic number needs 4)");
    // Magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dims.
    XGRAD_CHECK(bytes[0] == 0 && bytes[1] == 0, path, ": byte 0: not an IDX file (bad magic number 0x", std::hex,
                big_endian(bytes, 0), ")");
    XGRAD_CHECK(static_cast<unsigned char>(bytes[2]) == 0x08, path, ": byte 2: unsupported IDX element type 0x",
                std::hex, static_cast<int>(static_cast<unsigned char>(bytes[2])), " (only unsigned bytes, 0x08)");
    const int ndim = static_cast<unsigned char>(bytes[3]);
    XGRAD_CHECK(ndim >= 1 && ndim <= 4, path, ": byte 3: unsupported number of dimensions ", ndim, " (1 to 4)");
    if (options.expect != IdxKind::any) {
        const bool fits = options.expect == IdxKind::labels ? ndim == 1 : ndim >= 2;
        XGRAD_CHECK(fits, path, ": byte 3: expected ", kind_name(options.expect), " (",
                    options.expect == IdxKind::labels ? "1 dimension" : "2 or more dimensions", "), but the file has ",
                    ndim, " dimension", ndim == 1 ? "" : "s", ndim == 1 ? " (a label file?)" : " (an image file?)");
    }
    const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndim);
    XGRAD_CHECK(bytes.size() >= header, path, ": truncated header (", bytes.size(), " bytes, the ", ndim,
                " sizes need ", header, ")");
    Shape sizes;
    for (int d = 0; d < ndim; ++d) sizes.push_back(big_endian(bytes, 4 + 4 * static_cast<std::size_t>(d)));
    const auto count = static_cast<std::size_t>(checked_numel(sizes, path.c_str()));
    const std::size_t payload = bytes.size() - header;
    if (payload < count) {
        // Items are the slices along dim 0 (images, labels): say which one the data stops in.
        const std::size_t item_bytes = std::max<std::size_t>(count / static_cast<std::size_t>(sizes[0]), 1);
        fail(path, ": truncated at byte ", bytes.size(), ": ", sizes, " needs ", count, " data bytes after the ",
             header, "-byte header, the file has ", payload, " (item ", payload / item_bytes, " of ", sizes[0],
             " is incomplete)");
    }
    XGRAD_CHECK(payload == count, path, ": ", payload - count, " trailing bytes from byte ", header + count, " (",
                sizes, " needs ", count, " data bytes after the ", header, "-byte header)");
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + header);
    if (options.num_classes > 0)
        for (std::size_t i = 0; i < count; ++i)
            XGRAD_CHECK(data[i] < options.num_classes, path, ": item ", i, " (byte ", header + i, ") has label ",
                        static_cast<int>(data[i]), ", outside the ", options.num_classes, " classes 0..",
                        options.num_classes - 1);
    Tensor out = empty(sizes, options.dtype);
    auto fill = [&](auto* p) {
        for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(data[i]);
    };
    switch (options.dtype) {
        case DType::float32:
            fill(out.data_ptr<float>());
            break;
        case DType::float64:
            fill(out.data_ptr<double>());
            break;
        case DType::int64:
            fill(out.data_ptr<int64_t>());
            break;
        default:
            fail("read_idx: ", path, ": cannot read into dtype ", options.dtype);
    }
    return out;
}

ImageSet load_fashion_mnist(bool train, const std::string& folder) {
    const std::string prefix = folder + "/" + (train ? "train" : "t10k");
    auto existing = [](const std::string& base) {
        std::ifstream gz(base + ".gz");
        return gz.good() ? base + ".gz" : base;
    };
    const std::string image_path = existing(prefix + "-images-idx3-ubyte");
    const std::string label_path = existing(prefix + "-labels-idx1-ubyte");
    Tensor images = read_idx(image_path, {.dtype = kFloat32, .expect = IdxKind::images});
    Tensor labels = read_idx(label_path, {.dtype = kInt64,
                                          .expect = IdxKind::labels,
                                          .num_classes = static_cast<int64_t>(fashion_mnist_classes().size())});
    XGRAD_CHECK(images.dim() == 3, image_path, ": expected images [N, rows, cols], got shape ", images.sizes());
    XGRAD_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), label_path, ": ", labels.numel(), " labels for ",
                images.size(0), " images in ", image_path);
    images.div_(255.0);  // in place: a second 188 MB copy would be the peak of a training run
    return {images, labels};
}

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

namespace {
// The fields of one line as RFC 4180 reads them: split at the delimiter except inside double
// quotes, a quoted field's quotes removed and "" inside it read as one quote; an unquoted field
// loses the spaces around it (a spreadsheet's "1, 2"). An empty line gives one empty field.
std::vector<std::string> split_fields(const std::string& line, char delimiter, const std::string& where) {
    const auto is_blank = [&](char c) { return (c == ' ' || c == '\t') && c != delimiter; };
    std::vector<std::string> fields;
    std::size_t i = 0;
    while (true) {
        std::string field;
        while (i < line.size() && is_blank(line[i])) ++i;
        if (i < line.size() && line[i] == '"') {
            const std::size_t open = i++;
            while (true) {
                XGRAD_CHECK(i < line.size(), where, ": the quote opened at column ", open + 1,
                            " is not closed on this line (fields spanning lines are not read)");
                if (line[i] == '"' && i + 1 < line.size() && line[i + 1] == '"') {
                    field += '"';
                    i += 2;
                } else if (line[i] == '"') {
                    ++i;
                    break;
                } else {
                    field += line[i++];
                }
            }
            while (i < line.size() && is_blank(line[i])) ++i;
            XGRAD_CHECK(i == line.size() || line[i] == delimiter, where, ": text after the closing quote at column ",
                        i + 1);
        } else {
            const std::size_t end = std::min(line.find(delimiter, i), line.size());
            std::size_t last = end;
            while (last > i && is_blank(line[last - 1])) --last;
            field = line.substr(i, last - i);
            i = end;
        }
        fields.push_back(std::move(field));
        if (i >= line.size()) return fields;
        ++i;  // the delimiter
        if (i == line.size()) {
            fields.emplace_back();  // a line ending in the delimiter has an empty last field
            return fields;
        }
    }
}

// A field as a number: all of it (an embedded NUL byte or trailing text refused), decimal only
// (strtod's hexadecimal "0x10" refused, as numpy and Python refuse it); values too small for a
// double come back as subnormals or zero, values too large are refused.
bool parse_number(const std::string& field, double& value) {
    if (field.empty() || field.find_first_of("xX") != std::string::npos) return false;
    char* end = nullptr;
    errno = 0;
    value = std::strtod(field.c_str(), &end);
    if (end != field.data() + field.size()) return false;
    return !(errno == ERANGE && std::abs(value) == HUGE_VAL);
}
}  // namespace

CsvTable read_csv_table(const std::string& path, CsvOptions options) {
    XGRAD_CHECK(options.skip_lines >= 0, "read_csv: skip_lines must be non-negative, got ", options.skip_lines);
    std::ifstream in = open_input_file(path);
    std::string line;
    int64_t line_number = 0;
    for (int64_t i = 0; i < options.skip_lines && std::getline(in, line); ++i) ++line_number;
    auto next_line = [&] {
        while (std::getline(in, line)) {
            ++line_number;
            // A UTF-8 byte-order mark, as spreadsheets write one, is no part of the first field.
            if (line_number == 1 && line.rfind("\xEF\xBB\xBF", 0) == 0) line.erase(0, 3);
            if (!line.empty() && line.back() == '\r') line.pop_back();
            if (!line.empty()) return true;
        }
        return false;
    };
    CsvTable table;
    int64_t header_line = 0;
    if (options.header) {
        XGRAD_CHECK(next_line(), path, ": no header line (the file is empty",
                    options.skip_lines > 0 ? " after the skipped lines)" : ")");
        header_line = line_number;
        table.columns = split_fields(line, options.delimiter, path + ":" + std::to_string(line_number));
        for (std::size_t c = 0; c < table.columns.size(); ++c)
            XGRAD_CHECK(!table.columns[c].empty(), path, ":", line_number, ": the header's column ", c + 1,
                        " has no name");
    }
    std::vector<double> values;
    int64_t columns = options.header ? static_cast<int64_t>(table.columns.size()) : -1, rows = 0;
    while (next_line()) {
        const std::vector<std::string> fields =
            split_fields(line, options.delimiter, path + ":" + std::to_string(line_number));
        for (std::size_t column = 0; column < fields.size(); ++column) {
            const std::string& field = fields[column];
            XGRAD_CHECK(!field.empty(), path, ":", line_number, ": column ", column + 1, " is empty");
            double v = 0;
            XGRAD_CHECK(parse_number(field, v), path, ":", line_number, ": column ", column + 1, " is not a number: \"",
                        field, "\"");
            values.push_back(v);
        }
        const auto count = static_cast<int64_t>(fields.size());
        XGRAD_CHECK(columns < 0 || count == columns, path, ":", line_number, ": ", count, " fields, but ",
                    options.header ? "the header has " : "earlier rows have ", columns);
        columns = count;
        ++rows;
    }
    if (options.header)
        XGRAD_CHECK(rows > 0, path, ": the header (line ", header_line, ") is followed by no data rows");
    else
        XGRAD_CHECK(rows > 0, path, ": no data rows (the file is empty",
                    options.skip_lines > 0 ? " after the skipped lines)" : ")");
    table.values = from_vector(values, {rows, columns}, kFloat64);
    return table;
}

Tensor read_csv(const std::string& path, CsvOptions options) {
    return read_csv_table(path, options).values;
}

TabularSet load_breast_cancer(const std::string& path_in) {
    const std::string path = path_in.empty() ? datasets_dir() + "/breast_cancer/breast_cancer.csv" : path_in;
    std::ifstream in = open_input_file(path);
    std::string header;
    std::getline(in, header);
    // The header is "rows,features,name of class 0,name of class 1".
    int64_t rows = 0, features = 0;
    XGRAD_CHECK(std::sscanf(header.c_str(), "%" SCNd64 ",%" SCNd64, &rows, &features) == 2, path,
                ":1: expected the header \"rows,features,class0,class1\", got \"", header, "\"");
    const Tensor table = read_csv(path, {.skip_lines = 1});
    XGRAD_CHECK(table.size(0) == rows && table.size(1) == features + 1, path, ": the header announces ", rows,
                " rows of ", features, " features and a class, but the file has shape ", table.sizes());
    // Checked before the conversion to int64, which would truncate 0.7 (and turn NaN) into 0.
    const Tensor label_column = table.select(1, features);
    const std::vector<double> labels = label_column.to_vector<double>();
    for (std::size_t row = 0; row < labels.size(); ++row)
        XGRAD_CHECK(labels[row] == 0 || labels[row] == 1, path, ": data row ", row + 1,
                    ": class labels must be 0 or 1, found ", labels[row]);
    return {table.narrow(1, 0, features).to(kFloat32).contiguous(), label_column.to(kInt64)};
}

}  // namespace xgrad::data
