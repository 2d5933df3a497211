#pragma once
// A stored (uncompressed) zip archive built byte by byte, with correct CRCs: for tests that hand a
// reader an .npz whose .npy headers were crafted (a CRC mismatch would stop the reader before it
// ever parses the header).
#include <zlib.h>

#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace xgrad::test {

inline void put_le(std::string& s, uint32_t v, int bytes) {
    for (int i = 0; i < bytes; ++i) s += static_cast<char>(v >> (8 * i) & 0xff);
}

/// An .npy v1.0 file: the header dict text (padded to 64 bytes) followed by payload.
inline std::string npy_file(const std::string& header_dict, const std::string& payload) {
    std::string header = header_dict;
    while ((10 + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += '\x01';
    out += '\x00';
    put_le(out, static_cast<uint32_t>(header.size()), 2);
    return out + header + payload;
}

/// A zip archive holding (name, bytes) entries, stored.
inline std::string stored_zip(const std::vector<std::pair<std::string, std::string>>& entries) {
    std::string archive, directory;
    for (const auto& [name, data] : entries) {
        const auto crc = static_cast<uint32_t>(
            crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
        const auto offset = static_cast<uint32_t>(archive.size()), size = static_cast<uint32_t>(data.size());
        const auto name_len = static_cast<uint32_t>(name.size());
        put_le(archive, 0x04034b50, 4), put_le(archive, 20, 2), put_le(archive, 0, 2), put_le(archive, 0, 2);
        put_le(archive, 0, 2), put_le(archive, 0x21, 2), put_le(archive, crc, 4), put_le(archive, size, 4);
        put_le(archive, size, 4), put_le(archive, name_len, 2), put_le(archive, 0, 2);
        archive += name + data;
        put_le(directory, 0x02014b50, 4), put_le(directory, 20, 2), put_le(directory, 20, 2), put_le(directory, 0, 2);
        put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0x21, 2), put_le(directory, crc, 4);
        put_le(directory, size, 4), put_le(directory, size, 4), put_le(directory, name_len, 2);
        put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 2), put_le(directory, 0, 2);
        put_le(directory, 0, 4), put_le(directory, offset, 4);
        directory += name;
    }
    const auto directory_offset = static_cast<uint32_t>(archive.size());
    const auto count = static_cast<uint32_t>(entries.size());
    archive += directory;
    put_le(archive, 0x06054b50, 4), put_le(archive, 0, 2), put_le(archive, 0, 2), put_le(archive, count, 2);
    put_le(archive, count, 2), put_le(archive, static_cast<uint32_t>(directory.size()), 4);
    put_le(archive, directory_offset, 4), put_le(archive, 0, 2);
    return archive;
}

}  // namespace xgrad::test
