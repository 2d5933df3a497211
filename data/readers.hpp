#pragma once
/// File readers: IDX (MNIST / Fashion-MNIST, gzip or plain) and numeric CSV, with the data sets
/// the project uses. Malformed files throw xgrad::Error naming the file and the position.

#include <string>

#include "autograd/tensor.hpp"

namespace xgrad::data {

/// The folder holding the project's data sets: $XGRAD_DATASETS if set, else the repository's
/// datasets/ (fixed at build time).
std::string datasets_dir();
/// Where Debian's dataset-fashion-mnist installs the IDX files.
inline constexpr const char* kFashionMnistDir = "/usr/share/datasets/fashion-mnist";

/// Reads an IDX file (".gz" is decompressed): unsigned-byte data as a uint8-valued tensor of the
/// file's dims, in `dtype` (int64 for labels, float32 for images).
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
    int64_t skip_lines = 0;  ///< header lines before the numbers
};
/// A numeric table as [rows, columns] float64. Every row must have the same number of fields.
Tensor read_csv(const std::string& path, CsvOptions options = {});

struct TabularSet {
    Tensor features;  ///< [569, 30] float32
    Tensor labels;    ///< [569] int64: 0 malignant, 1 benign
};
/// The Wisconsin Diagnostic Breast Cancer table (datasets/breast_cancer/breast_cancer.csv).
TabularSet load_breast_cancer(const std::string& path = "");

}  // namespace xgrad::data
