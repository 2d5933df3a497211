#pragma once
/// SmallVector: a vector of trivially copyable values that keeps up to N of them inline, so that
/// describing a tensor (its shape and strides) needs no heap allocation in the common case.

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <ostream>
#include <type_traits>
#include <vector>

namespace xgrad {

template <class T, std::size_t N>
class SmallVector {
    static_assert(std::is_trivially_copyable_v<T>, "SmallVector holds trivially copyable values");

public:
    using value_type = T;
    using iterator = T*;
    using const_iterator = const T*;

    SmallVector() = default;
    SmallVector(std::initializer_list<T> values) { assign(values.begin(), values.end()); }
    SmallVector(const std::vector<T>& values) { assign(values.begin(), values.end()); }
    template <class It, class = decltype(*std::declval<It>())>
    SmallVector(It first, It last) {
        assign(first, last);
    }
    explicit SmallVector(std::size_t count, T value = T()) { resize(count, value); }

    SmallVector(const SmallVector& other) { assign(other.begin(), other.end()); }
    SmallVector(SmallVector&& other) noexcept { steal(other); }
    SmallVector& operator=(const SmallVector& other) {
        if (this != &other) assign(other.begin(), other.end());
        return *this;
    }
    SmallVector& operator=(SmallVector&& other) noexcept {
        if (this != &other) steal(other);
        return *this;
    }

    template <class It>
    void assign(It first, It last) {
        const auto count = static_cast<std::size_t>(std::distance(first, last));
        size_ = 0;
        reserve(count);
        std::copy(first, last, data());
        size_ = count;
    }

    T* data() { return heap_ ? heap_.get() : inline_; }
    const T* data() const { return heap_ ? heap_.get() : inline_; }
    std::size_t size() const { return size_; }
    bool empty() const { return size_ == 0; }
    T& operator[](std::size_t i) { return data()[i]; }
    const T& operator[](std::size_t i) const { return data()[i]; }
    T& back() { return data()[size_ - 1]; }
    const T& back() const { return data()[size_ - 1]; }
    T* begin() { return data(); }
    T* end() { return data() + size_; }
    const T* begin() const { return data(); }
    const T* end() const { return data() + size_; }

    void reserve(std::size_t count) {
        if (count <= capacity_) return;
        auto grown = std::make_unique<T[]>(count);
        std::copy(begin(), end(), grown.get());
        heap_ = std::move(grown);
        capacity_ = count;
    }
    void resize(std::size_t count, T value = T()) {
        reserve(count);
        std::fill(data() + std::min(count, size_), data() + count, value);
        size_ = count;
    }
    void push_back(T value) {
        if (size_ == capacity_) reserve(capacity_ * 2);
        data()[size_++] = value;
    }
    void pop_back() { --size_; }
    void insert(std::size_t pos, T value) {
        push_back(value);
        std::rotate(begin() + pos, end() - 1, end());
    }
    void erase(std::size_t pos) {
        std::copy(begin() + pos + 1, end(), begin() + pos);
        --size_;
    }
    void clear() { size_ = 0; }

    std::vector<T> to_vector() const { return std::vector<T>(begin(), end()); }

    friend bool operator==(const SmallVector& a, const SmallVector& b) {
        return std::equal(a.begin(), a.end(), b.begin(), b.end());
    }

private:
    void steal(SmallVector& other) {
        if (other.heap_) {
            heap_ = std::move(other.heap_);
            capacity_ = other.capacity_;
        } else {
            heap_.reset();
            capacity_ = N;
            std::copy(other.begin(), other.end(), inline_);
        }
        size_ = other.size_;
        other.size_ = 0;
        other.capacity_ = N;
    }

    T inline_[N] = {};
    std::unique_ptr<T[]> heap_;
    std::size_t size_ = 0;
    std::size_t capacity_ = N;
};

/// Sizes or strides of a tensor, in elements.
using Shape = SmallVector<int64_t, 6>;

/// Prints a shape as [2, 3], the form every error message uses.
std::ostream& operator<<(std::ostream& out, const Shape& shape);

}  // namespace xgrad
