#pragma once
/// Opening a file for reading with an error that says what is wrong with the path: every reader
/// (npz, IDX, CSV, HoC, word vectors) starts here, so a directory or a missing file is reported
/// the same way everywhere, not as "the file is empty" after reading nothing.

#include <fstream>
#include <string>

namespace xgrad {

/// Throws xgrad::Error naming path when it does not exist, is a directory (or another non-file)
/// or cannot be opened for reading.
void check_readable_file(const std::string& path);
/// check_readable_file, then the open stream.
std::ifstream open_input_file(const std::string& path, std::ios::openmode mode = std::ios::in);

}  // namespace xgrad
