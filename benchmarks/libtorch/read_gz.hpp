#pragma once
// The bytes of a gzip file (the Fashion-MNIST IDX files), for the LibTorch peers.
#include <zlib.h>

#include <string>
#include <vector>

inline std::vector<unsigned char> read_gz(const std::string& path) {
    gzFile f = gzopen(path.c_str(), "rb");
    std::vector<unsigned char> bytes;
    unsigned char buffer[1 << 16];
    int n;
    while ((n = gzread(f, buffer, sizeof buffer)) > 0) bytes.insert(bytes.end(), buffer, buffer + n);
    gzclose(f);
    return bytes;
}
