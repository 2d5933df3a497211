#include <xgrad/tensor/device.hpp>

#include <ostream>

#include <xgrad/tensor/error.hpp>

namespace xgrad {
namespace {
[[noreturn]] void no_cuda(const std::string& asked) {
    fail("Device: '", asked, "' asked for, but xgrad runs on the CPU only (cuda::is_available() is false; use kCPU)");
}
}  // namespace

Device::Device(DeviceType type, int index) : type_(type), index_(index) {
    if (type == DeviceType::CUDA) no_cuda(index >= 0 ? "cuda:" + std::to_string(index) : "cuda");
    XGRAD_CHECK(index >= -1 && index <= 0, "Device: the CPU is device 0 (or no index), got index ", index);
}

Device::Device(const std::string& spec) {
    const std::size_t colon = spec.find(':');
    const std::string type = spec.substr(0, colon);
    if (type == "cuda") no_cuda(spec);
    XGRAD_CHECK(type == "cpu", "Device: unknown device '", spec, "' (expected 'cpu' or 'cpu:0')");
    if (colon != std::string::npos) {
        const std::string index = spec.substr(colon + 1);
        XGRAD_CHECK(index == "0", "Device: the CPU is device 0, got '", spec, "'");
        index_ = 0;
    }
}

std::string Device::str() const {
    return index_ >= 0 ? "cpu:" + std::to_string(index_) : "cpu";
}

std::ostream& operator<<(std::ostream& out, const Device& device) {
    return out << device.str();
}

}  // namespace xgrad
