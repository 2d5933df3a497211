#pragma once
/// File readers: IDX (MNIST / Fashion-MNIST, gzip or plain) and numeric CSV, with the data sets
/// the project uses. Malformed files throw xgrad::Error naming the file and the position.

#include <string>
#include <vector>

#include <xgrad/autograd/tensor.hpp>

namespace xgrad::data {

/// The folder holding the project's data sets: $XGRAD_DATASETS if set, else the repository's
/// datasets/ (fixed at build time).
std::string datasets_dir();
/// Where Debian's dataset-fashion-mnist installs the IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// What read_idx expects to find: any IDX array, images (two or more dims) or labels (one dim).
enum class IdxKind { any, images, labels };
struct IdxOptions {
    DType dtype = kFloat32;  ///< int64 for labels, float32 for images
    IdxKind expect = IdxKind::any;
    int64_t num_classes = 0;  ///< for labels: each must lie in [0, num_classes); 0 skips the check
};
/// Reads an IDX file (".gz" is decompressed): unsigned-byte data as a uint8-valued tensor of the
/// file's dims. Errors name the file and the byte offset or item index where it goes wrong.
Tensor read_idx(const std::string& path, IdxOptions options);
Tensor read_idx(const std::string& path, DType dtype = kFloat32);

struct ImageSet {
    Tensor images;  ///< [N, 28, 28] float32 in [0, 1]
    Tensor labels;  ///< [N] int64 in 0..9
};
/// Fashion-MNIST's training (60,000) or test (10,000) split; the same files in MNIST's format
/// work too. Checks that images and labels agree in count.
ImageSet load_fashion_mnist(bool train, const std::string& folder = kFashionMnistDir);
/// The ten Fashion-MNIST class names, by label.
const std::vector<std::string>& fashion_mnist_classes();

struct CsvOptions {
    char delimiter = ',';
    int64_t skip_lines = 0;  ///< lines before the table (comments, a title)
    bool header = false;     ///< the first line after skip_lines names the columns
};
struct CsvTable {
    std::vector<std::string> columns;  ///< the header's names (empty without a header)
    Tensor values;                     ///< [rows, columns] float64
};
/// A numeric table with its column names. Every row must have as many fields as the header
/// (or as the first row); errors name the file, the line and the column.
CsvTable read_csv_table(const std::string& path, CsvOptions options = {});
/// The values of read_csv_table.
Tensor read_csv(const std::string& path, CsvOptions options = {});

struct TabularSet {
    Tensor features;  ///< [569, 30] float32
    Tensor labels;    ///< [569] int64: 0 malignant, 1 benign
};
/// The Wisconsin Diagnostic Breast Cancer table (datasets/breast_cancer/breast_cancer.csv).
TabularSet load_breast_cancer(const std::string& path = "");

}  // namespace xgrad::data
