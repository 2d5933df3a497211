#include "data/readers.hpp"

#include <zlib.h>

#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <sstream>

#include "autograd/ops.hpp"

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
    XGRAD_CHECK(n == 0, path, ": cannot decompress (", error_text, ")");
    return bytes;
}

uint32_t big_endian(const std::string& b, std::size_t at) {
    auto byte = [&](std::size_t i) { return static_cast<uint32_t>(static_cast<unsigned char>(b[at + i])); };
    return byte(0) << 24 | byte(1) << 16 | byte(2) << 8 | byte(3);
}
}  // namespace

Tensor read_idx(const std::string& path, DType dtype) {
    const std::string bytes = read_file_bytes(path);
    XGRAD_CHECK(!bytes.empty(), path, ": the file is empty");
    XGRAD_CHECK(bytes.size() >= 4, path, ": truncated header (", bytes.size(), " bytes)");
    // Magic: two zero bytes, the element type (0x08 = unsigned byte), the number of dims.
    XGRAD_CHECK(bytes[0] == 0 && bytes[1] == 0, path, ": not an IDX file (bad magic number 0x", std::hex,
                big_endian(bytes, 0), ")");
    XGRAD_CHECK(static_cast<unsigned char>(bytes[2]) == 0x08, path, ": unsupported IDX element type 0x", std::hex,
                static_cast<int>(static_cast<unsigned char>(bytes[2])), " (only unsigned bytes, 0x08)");
    const int ndim = static_cast<unsigned char>(bytes[3]);
    XGRAD_CHECK(ndim >= 1 && ndim <= 4, path, ": unsupported number of dimensions ", ndim);
    const std::size_t header = 4 + 4 * static_cast<std::size_t>(ndim);
    XGRAD_CHECK(bytes.size() >= header, path, ": truncated header (", bytes.size(), " bytes, need ", header, ")");
    Shape sizes;
    for (int d = 0; d < ndim; ++d) sizes.push_back(big_endian(bytes, 4 + 4 * static_cast<std::size_t>(d)));
    const auto count = static_cast<std::size_t>(shape_numel(sizes));
    XGRAD_CHECK(bytes.size() - header == count, path, ": ", sizes, " needs ", count, " data bytes but the file has ",
                bytes.size() - header, bytes.size() - header < count ? " (truncated)" : " (trailing bytes)");
    Tensor out = empty(sizes, dtype);
    const auto* data = reinterpret_cast<const unsigned char*>(bytes.data() + header);
    auto fill = [&](auto* p) {
        for (std::size_t i = 0; i < count; ++i) p[i] = static_cast<std::remove_pointer_t<decltype(p)>>(data[i]);
    };
    switch (dtype) {
        case DType::float32: fill(out.data_ptr<float>()); break;
        case DType::float64: fill(out.data_ptr<double>()); break;
        case DType::int64: fill(out.data_ptr<int64_t>()); break;
        default: fail("read_idx: ", path, ": cannot read into dtype ", dtype);
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
    Tensor images = read_idx(image_path, kFloat32);
    Tensor labels = read_idx(label_path, kInt64);
    XGRAD_CHECK(images.dim() == 3, image_path, ": expected images [N, rows, cols], got shape ", images.sizes());
    XGRAD_CHECK(labels.dim() == 1 && labels.size(0) == images.size(0), label_path, ": ", labels.numel(),
                " labels for ", images.size(0), " images in ", image_path);
    images.div_(255.0);  // in place: a second 188 MB copy would be the peak of a training run
    return {images, labels};
}

const std::vector<std::string>& fashion_mnist_classes() {
    static const std::vector<std::string> names = {"T-shirt/top", "Trouser", "Pullover", "Dress", "Coat",
                                                   "Sandal",      "Shirt",   "Sneaker",  "Bag",   "Ankle boot"};
    return names;
}

Tensor read_csv(const std::string& path, CsvOptions options) {
    std::ifstream in(path);
    XGRAD_CHECK(in.good(), path, ": cannot open (", std::strerror(errno), ")");
    std::string line;
    int64_t line_number = 0;
    for (int64_t i = 0; i < options.skip_lines && std::getline(in, line); ++i) ++line_number;
    std::vector<double> values;
    int64_t columns = -1, rows = 0;
    while (std::getline(in, line)) {
        ++line_number;
        if (!line.empty() && line.back() == '\r') line.pop_back();
        if (line.empty()) continue;
        int64_t column = 0;
        std::size_t start = 0;
        while (true) {
            const std::size_t end = line.find(options.delimiter, start);
            const std::string field = line.substr(start, end == std::string::npos ? std::string::npos : end - start);
            XGRAD_CHECK(!field.empty(), path, ":", line_number, ": column ", column + 1, " is empty");
            char* parsed_end = nullptr;
            errno = 0;
            const double v = std::strtod(field.c_str(), &parsed_end);
            XGRAD_CHECK(parsed_end != field.c_str() && *parsed_end == '\0' && errno != ERANGE, path, ":", line_number,
                        ": column ", column + 1, " is not a number: \"", field, "\"");
            values.push_back(v);
            ++column;
            if (end == std::string::npos) break;
            start = end + 1;
        }
        XGRAD_CHECK(columns < 0 || column == columns, path, ":", line_number, ": ", column, " fields, but earlier rows have ",
                    columns);
        columns = column;
        ++rows;
    }
    XGRAD_CHECK(rows > 0, path, ": no data rows (the file is empty)");
    return from_vector(values, {rows, columns}, kFloat64);
}

TabularSet load_breast_cancer(const std::string& path_in) {
    const std::string path = path_in.empty() ? datasets_dir() + "/breast_cancer/breast_cancer.csv" : path_in;
    std::ifstream in(path);
    XGRAD_CHECK(in.good(), path, ": cannot open (", std::strerror(errno), ")");
    std::string header;
    std::getline(in, header);
    // The header is "rows,features,name of class 0,name of class 1".
    int64_t rows = 0, features = 0;
    XGRAD_CHECK(std::sscanf(header.c_str(), "%" SCNd64 ",%" SCNd64, &rows, &features) == 2, path,
                ":1: expected the header \"rows,features,class0,class1\", got \"", header, "\"");
    const Tensor table = read_csv(path, {.skip_lines = 1});
    XGRAD_CHECK(table.size(0) == rows && table.size(1) == features + 1, path, ": the header announces ", rows, " rows of ",
                features, " features and a class, but the file has shape ", table.sizes());
    const Tensor labels = table.select(1, features).to(kInt64);
    for (int64_t v : labels.to_vector<int64_t>())
        XGRAD_CHECK(v == 0 || v == 1, path, ": class labels must be 0 or 1, found ", v);
    return {table.narrow(1, 0, features).to(kFloat32).contiguous(), labels};
}

}  // namespace xgrad::data
