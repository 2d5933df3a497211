#include <xgrad/tensor/storage.hpp>

#include <xgrad/tensor/allocator.hpp>

namespace xgrad {

Storage::Storage(std::size_t nbytes) : data_(memory::allocate(nbytes)), nbytes_(nbytes), owned_(true) {}

Storage::Storage(void* data, std::size_t nbytes, std::shared_ptr<void> keep_alive)
    : data_(data), nbytes_(nbytes), owned_(false), keep_alive_(std::move(keep_alive)) {}

Storage::~Storage() {
    if (owned_) memory::deallocate(data_, nbytes_);
}

}  // namespace xgrad
