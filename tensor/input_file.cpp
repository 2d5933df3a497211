#include <xgrad/tensor/input_file.hpp>

#include <cerrno>
#include <cstring>
#include <filesystem>

#include <xgrad/tensor/error.hpp>

namespace xgrad {

void check_readable_file(const std::string& path) {
    std::error_code error;
    const auto status = std::filesystem::status(path, error);
    XGRAD_CHECK(!error || error == std::errc::no_such_file_or_directory, path, ": cannot open (", error.message(), ")");
    XGRAD_CHECK(std::filesystem::exists(status), path, ": cannot open (no such file)");
    XGRAD_CHECK(!std::filesystem::is_directory(status), path, ": is a directory, not a file");
}

std::ifstream open_input_file(const std::string& path, std::ios::openmode mode) {
    check_readable_file(path);
    std::ifstream in(path, mode);
    XGRAD_CHECK(in.good(), path, ": cannot open (", std::strerror(errno), ")");
    return in;
}

}  // namespace xgrad
