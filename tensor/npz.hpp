#pragma once
/// NumPy's .npz format: a zip archive of .npy arrays, so weights move to and from NumPy and
/// PyTorch (numpy.load reads what save_npz writes; savez and savez_compressed files load here).
///
/// Writes are atomic: the archive goes to a temporary file in the same folder, which then
/// replaces the target by rename(), so a crash mid-save never destroys an earlier file.
/// Reading checks every CRC, header and size, and names the file and the entry on any error.

#include <map>
#include <string>

#include <xgrad/tensor/ndarray.hpp>

namespace xgrad {

/// Writes arrays (any layout; stored C-contiguous) as name.npy entries of an .npz archive.
void save_npz(const std::string& path, const std::map<std::string, NDArray>& arrays);
/// Reads every entry of an .npz archive (float32, float64, int64 or bool arrays).
std::map<std::string, NDArray> load_npz(const std::string& path);

}  // namespace xgrad
