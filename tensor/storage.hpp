#pragma once
/// Storage: one buffer shared by a tensor and all its views, with the version counter that lets
/// autograd detect in-place changes to a tensor saved for backward.

#include <cstddef>
#include <cstdint>
#include <memory>

namespace xgrad {

class Storage {
public:
    /// A fresh buffer of nbytes from the caching allocator (contents uninitialized).
    explicit Storage(std::size_t nbytes);
    /// Wraps memory owned elsewhere; keep_alive (may be null) is held as long as the storage lives.
    Storage(void* data, std::size_t nbytes, std::shared_ptr<void> keep_alive);
    ~Storage();
    Storage(const Storage&) = delete;
    Storage& operator=(const Storage&) = delete;

    void* data() const { return data_; }
    std::size_t nbytes() const { return nbytes_; }
    bool owns_memory() const { return owned_; }

    /// Bumped by every in-place write through any view of this storage.
    uint64_t version() const { return version_; }
    void bump_version() { ++version_; }

private:
    void* data_;
    std::size_t nbytes_;
    bool owned_;
    std::shared_ptr<void> keep_alive_;
    uint64_t version_ = 0;
};

}  // namespace xgrad
