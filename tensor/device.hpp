#pragma once
/// Where a tensor lives: always the CPU. The type is here so that code written for LibTorch,
/// which names a device everywhere, compiles and runs unchanged:
///
///     Device device(cuda::is_available() ? kCUDA : kCPU);   // kCPU here
///     model.to(device);
///     Tensor x = batch.data.to(device);
///
/// Asking for a CUDA device is an error at once, naming the device, rather than a program that
/// silently trains on the CPU while its author thinks otherwise.

#include <iosfwd>
#include <string>

namespace xgrad {

enum class DeviceType { CPU, CUDA };
inline constexpr DeviceType kCPU = DeviceType::CPU;
inline constexpr DeviceType kCUDA = DeviceType::CUDA;

class Device {
public:
    /// kCPU (index -1 or 0); kCUDA throws xgrad::Error.
    Device(DeviceType type, int index = -1);  // NOLINT: implicit on purpose, like LibTorch
    /// "cpu" or "cpu:0"; "cuda", "cuda:1" and anything else throw xgrad::Error.
    explicit Device(const std::string& spec);

    DeviceType type() const { return type_; }
    int index() const { return index_; }
    bool is_cpu() const { return type_ == DeviceType::CPU; }
    bool is_cuda() const { return type_ == DeviceType::CUDA; }
    bool has_index() const { return index_ >= 0; }
    /// "cpu", or "cpu:0" with an index.
    std::string str() const;
    bool operator==(const Device& other) const = default;

private:
    DeviceType type_ = DeviceType::CPU;
    int index_ = -1;
};

/// Prints str().
std::ostream& operator<<(std::ostream& out, const Device& device);

namespace cuda {
/// No CUDA in xgrad: false, and 0 devices.
inline bool is_available() {
    return false;
}
inline int device_count() {
    return 0;
}
}  // namespace cuda

}  // namespace xgrad
