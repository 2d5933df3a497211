// The .npz format: zip (stored entries on write; stored or deflated on read) of .npy v1.0/2.0
// files. Little-endian machines only, like the rest of xgrad.

#include <xgrad/tensor/npz.hpp>

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>
#include <zlib.h>

#include <atomic>
#include <cerrno>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <sstream>

#include <xgrad/tensor/input_file.hpp>
#include <xgrad/tensor/kernels.hpp>

namespace xgrad {
namespace {

const char* npy_descr(DType dtype) {
    switch (dtype) {
        case DType::float32:
            return "<f4";
        case DType::float64:
            return "<f8";
        case DType::int64:
            return "<i8";
        case DType::boolean:
            return "|b1";
    }
    return "";
}

std::string npy_bytes(const NDArray& array) {
    const NDArray c = array.contiguous();
    std::ostringstream shape;
    shape << '(';
    for (int64_t d = 0; d < c.dim(); ++d) shape << c.sizes()[d] << (c.dim() == 1 ? "," : (d + 1 < c.dim() ? ", " : ""));
    shape << ')';
    std::string header = std::string("{'descr': '") + npy_descr(c.dtype()) +
                         "', 'fortran_order': False, 'shape': " + shape.str() + ", }";
    // Pad with spaces so that the data starts on a 64-byte boundary, ending in '\n'.
    const std::size_t preamble = 10;
    while ((preamble + header.size() + 1) % 64 != 0) header += ' ';
    header += '\n';
    std::string out = "\x93NUMPY";
    out += static_cast<char>(1);
    out += static_cast<char>(0);
    out += static_cast<char>(header.size() & 0xff);
    out += static_cast<char>((header.size() >> 8) & 0xff);
    out += header;
    out.append(static_cast<const char*>(c.raw_data()), static_cast<std::size_t>(c.numel()) * element_size(c.dtype()));
    return out;
}

void put16(std::string& s, uint32_t v) {
    s += static_cast<char>(v & 0xff);
    s += static_cast<char>((v >> 8) & 0xff);
}
void put32(std::string& s, uint32_t v) {
    put16(s, v & 0xffff);
    put16(s, v >> 16);
}
uint32_t get16(const std::string& s, std::size_t at) {
    return static_cast<uint32_t>(static_cast<unsigned char>(s[at])) |
           static_cast<uint32_t>(static_cast<unsigned char>(s[at + 1])) << 8;
}
uint32_t get32(const std::string& s, std::size_t at) {
    return get16(s, at) | get16(s, at + 2) << 16;
}

// The sizes in a header's "(2, 3)" / "(4,)" / "()": each a plain non-negative decimal.
Shape parse_npy_shape(const std::string& text, const std::string& where) {
    const std::size_t open = text.find('('), close = text.find(')');
    XGRAD_CHECK(open != std::string::npos && close != std::string::npos && open < close, where,
                ": the .npy header's 'shape' is not a tuple");
    Shape sizes;
    std::stringstream parts(text.substr(open + 1, close - open - 1));
    std::string part;
    while (std::getline(parts, part, ',')) {
        const std::size_t first = part.find_first_not_of(' ');
        if (first == std::string::npos) continue;
        const std::string digits = part.substr(first, part.find_last_not_of(' ') - first + 1);
        errno = 0;
        char* end = nullptr;
        const long long size = std::strtoll(digits.c_str(), &end, 10);
        XGRAD_CHECK(*end == '\0' && digits.find_first_not_of("0123456789") == std::string::npos && errno != ERANGE,
                    where, ": dimension ", sizes.size(), " of the .npy shape is \"", digits,
                    "\", not a non-negative integer below 2^63");
        sizes.push_back(size);
    }
    return sizes;
}

// Parses one .npy entry; `where` names it in errors ("model.npz: entry fc1.weight").
NDArray parse_npy(const std::string& b, const std::string& where) {
    XGRAD_CHECK(b.size() >= 10 && b.compare(0, 6, "\x93NUMPY") == 0, where, ": not an .npy array (bad magic)");
    const int major = static_cast<unsigned char>(b[6]);
    XGRAD_CHECK(major == 1 || major == 2 || major == 3, where, ": unsupported .npy version ", major);
    const std::size_t header_len = major == 1 ? get16(b, 8) : get32(b, 8);
    const std::size_t start = major == 1 ? 10 : 12;
    XGRAD_CHECK(b.size() >= start + header_len, where, ": truncated .npy header");
    const std::string header = b.substr(start, header_len);
    auto field = [&](const std::string& key) {
        const std::size_t at = header.find("'" + key + "'");
        XGRAD_CHECK(at != std::string::npos, where, ": the .npy header has no '", key, "'");
        const std::size_t colon = header.find(':', at);
        XGRAD_CHECK(colon != std::string::npos, where, ": the .npy header has no value for '", key, "'");
        return header.substr(colon + 1);
    };
    const std::string descr_text = field("descr");
    const std::size_t q0 = descr_text.find_first_not_of(' ');
    const std::size_t q1 =
        q0 == std::string::npos || descr_text[q0] != '\'' ? std::string::npos : descr_text.find('\'', q0 + 1);
    XGRAD_CHECK(q1 != std::string::npos, where, ": the .npy header's 'descr' is not a quoted string");
    const std::string descr = descr_text.substr(q0 + 1, q1 - q0 - 1);
    DType dtype;
    if (descr == "<f4")
        dtype = kFloat32;
    else if (descr == "<f8")
        dtype = kFloat64;
    else if (descr == "<i8")
        dtype = kInt64;
    else if (descr == "|b1")
        dtype = kBool;
    else
        fail(where, ": unsupported dtype '", descr, "' (float32, float64, int64 and bool are supported)");
    XGRAD_CHECK(field("fortran_order").find("False") != std::string::npos, where,
                ": Fortran-ordered arrays are not supported");
    const Shape sizes = parse_npy_shape(field("shape"), where);
    const int64_t count = checked_numel(sizes, where.c_str());
    std::size_t bytes = 0;
    XGRAD_CHECK(!__builtin_mul_overflow(static_cast<std::size_t>(count), element_size(dtype), &bytes), where,
                ": shape ", sizes, " of ", dtype_name(dtype), " needs more bytes than memory can address");
    XGRAD_CHECK(b.size() - start - header_len == bytes, where, ": shape ", sizes, " of ", dtype_name(dtype), " needs ",
                bytes, " bytes of data, found ", b.size() - start - header_len);
    NDArray out = NDArray::empty(sizes, dtype);
    if (bytes) std::memcpy(out.raw_data(), b.data() + start + header_len, bytes);
    return out;
}

std::string read_all(const std::string& path) {
    std::ifstream in = open_input_file(path, std::ios::binary);
    std::ostringstream buffer;
    buffer << in.rdbuf();
    return buffer.str();
}

std::string inflate_raw(const std::string& compressed, std::size_t size, const std::string& where) {
    std::string out(size, '\0');
    z_stream z{};
    XGRAD_CHECK(inflateInit2(&z, -MAX_WBITS) == Z_OK, where, ": cannot start decompression");
    z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(compressed.data()));
    z.avail_in = static_cast<uInt>(compressed.size());
    z.next_out = reinterpret_cast<Bytef*>(out.data());
    z.avail_out = static_cast<uInt>(out.size());
    const int rc = inflate(&z, Z_FINISH);
    inflateEnd(&z);
    XGRAD_CHECK(rc == Z_STREAM_END && z.total_out == size, where, ": corrupt compressed data");
    return out;
}

// Temporaries are named <file>.tmp.<pid>.<n>, n counting this process's saves (so two threads
// saving the same file never share a temporary). One whose process is gone was left by a save
// that was killed (the named file exists only for the instant between linkat and rename, or
// throughout on file systems without O_TMPFILE); the next save into the same directory removes
// it. (On a folder shared between machines or PID namespaces another writer's pid may look dead:
// its save then fails cleanly at its rename rather than replacing the file with a part.)
void remove_stale_temporaries(const std::filesystem::path& path) {
    const std::filesystem::path dir = path.has_parent_path() ? path.parent_path() : std::filesystem::path(".");
    const std::string prefix = path.filename().string() + ".tmp.";
    std::error_code ec;
    for (const auto& entry : std::filesystem::directory_iterator(dir, ec)) {
        const std::string name = entry.path().filename().string();
        if (name.size() <= prefix.size() || name.compare(0, prefix.size(), prefix) != 0) continue;
        const std::string rest = name.substr(prefix.size());
        const std::string pid_text = rest.substr(0, rest.find('.'));
        if (pid_text.empty() || pid_text.find_first_not_of("0123456789") != std::string::npos || pid_text.size() > 9)
            continue;
        const auto pid = static_cast<pid_t>(std::stol(pid_text));
        if (pid != ::getpid() && ::kill(pid, 0) != 0 && errno == ESRCH) std::filesystem::remove(entry.path(), ec);
    }
}

bool write_all(int fd, const std::string& bytes) {
    std::size_t done = 0;
    while (done < bytes.size()) {
        const ssize_t n = ::write(fd, bytes.data() + done, bytes.size() - done);
        if (n < 0 && errno == EINTR) continue;
        if (n < 0) return false;
        if (n == 0) {
            errno = EIO;
            return false;
        }
        done += static_cast<std::size_t>(n);
    }
    return ::fsync(fd) == 0;
}

// The rename is durable once the directory entry is on disk too.
void sync_directory(const std::string& dir) {
    const int fd = ::open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) return;  // best effort: the file itself is already synced
    ::fsync(fd);
    ::close(fd);
}

// Replaces path with bytes so that a reader sees the old file or the new one, never a part:
// the bytes go to an unnamed file in the same directory (O_TMPFILE, so a process killed while
// writing leaves nothing), which is then linked under the temporary name and renamed over path.
void write_atomically(const std::string& path, const std::string& bytes) {
    static std::atomic<uint64_t> saves{0};
    remove_stale_temporaries(path);
    const std::string temporary = path + ".tmp." + std::to_string(::getpid()) + "." + std::to_string(saves++);
    const std::filesystem::path p(path);
    const std::string dir = p.has_parent_path() ? p.parent_path().string() : ".";
    auto failed = [&](int error) {  // errno as it was, before remove() could change it
        std::remove(temporary.c_str());
        fail("save_npz: cannot write ", path, " (", std::strerror(error), ")");
    };
    int fd = ::open(dir.c_str(), O_TMPFILE | O_WRONLY | O_CLOEXEC, 0644);
    if (fd >= 0) {
        const bool written = write_all(fd, bytes);
        int error = errno;
        const std::string proc = "/proc/self/fd/" + std::to_string(fd);
        const bool linked =
            written && ::linkat(AT_FDCWD, proc.c_str(), AT_FDCWD, temporary.c_str(), AT_SYMLINK_FOLLOW) == 0;
        if (written && !linked) error = errno;
        ::close(fd);
        if (!written) failed(error);
        if (linked) {
            if (std::rename(temporary.c_str(), path.c_str()) != 0) failed(errno);
            sync_directory(dir);
            return;
        }
        // No /proc to link through: write the named temporary instead.
    }
    fd = ::open(temporary.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
    if (fd < 0) failed(errno);
    const bool written = write_all(fd, bytes);
    const int error = errno;
    ::close(fd);
    if (!written) failed(error);
    if (std::rename(temporary.c_str(), path.c_str()) != 0) failed(errno);
    sync_directory(dir);
}

}  // namespace

void save_npz(const std::string& path, const std::map<std::string, NDArray>& arrays) {
    std::string archive, directory;
    uint32_t count = 0;
    for (const auto& [name, array] : arrays) {
        XGRAD_CHECK(!name.empty(), "save_npz: ", path, ": an entry has an empty name");
        XGRAD_CHECK(array.defined(), "save_npz: ", path, ": entry \"", name, "\" is undefined");
        const std::string file = name + ".npy";
        const std::string data = npy_bytes(array);
        XGRAD_CHECK(data.size() < 0xffffffffu && archive.size() < 0xffffffffu, "save_npz: ", path, ": entry \"", name,
                    "\" makes the archive larger than 4 GiB (zip64 is not supported)");
        const uint32_t crc = static_cast<uint32_t>(
            crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
        const auto offset = static_cast<uint32_t>(archive.size());
        // Local file header: stored (method 0), no extra field.
        put32(archive, 0x04034b50), put16(archive, 20), put16(archive, 0), put16(archive, 0);
        put16(archive, 0), put16(archive, 0x21);  // time, date: 1980-01-01
        put32(archive, crc), put32(archive, static_cast<uint32_t>(data.size())),
            put32(archive, static_cast<uint32_t>(data.size()));
        put16(archive, static_cast<uint32_t>(file.size())), put16(archive, 0);
        archive += file;
        archive += data;
        // Its central directory record.
        put32(directory, 0x02014b50), put16(directory, 20), put16(directory, 20), put16(directory, 0),
            put16(directory, 0);
        put16(directory, 0), put16(directory, 0x21);
        put32(directory, crc), put32(directory, static_cast<uint32_t>(data.size())),
            put32(directory, static_cast<uint32_t>(data.size()));
        put16(directory, static_cast<uint32_t>(file.size())), put16(directory, 0), put16(directory, 0);
        put16(directory, 0), put16(directory, 0), put32(directory, 0), put32(directory, offset);
        directory += file;
        ++count;
    }
    const auto directory_offset = static_cast<uint32_t>(archive.size());
    archive += directory;
    put32(archive, 0x06054b50), put16(archive, 0), put16(archive, 0), put16(archive, count), put16(archive, count);
    put32(archive, static_cast<uint32_t>(directory.size())), put32(archive, directory_offset), put16(archive, 0);

    write_atomically(path, archive);
}

std::map<std::string, NDArray> load_npz(const std::string& path) {
    const std::string b = read_all(path);
    XGRAD_CHECK(!b.empty(), path, ": the file is empty");
    // The end-of-central-directory record sits in the last 22 + 65535 bytes.
    std::size_t eocd = std::string::npos;
    if (b.size() >= 22) {
        const std::size_t lowest = b.size() > 22 + 65535 ? b.size() - 22 - 65535 : 0;
        for (std::size_t i = b.size() - 22; i + 1 > lowest; --i)
            if (get32(b, i) == 0x06054b50) {
                eocd = i;
                break;
            }
    }
    XGRAD_CHECK(eocd != std::string::npos, path, ": not a zip/.npz archive, or truncated (no end-of-archive record)");
    const uint32_t count = get16(b, eocd + 10);
    std::size_t at = get32(b, eocd + 16);
    std::map<std::string, NDArray> arrays;
    for (uint32_t e = 0; e < count; ++e) {
        XGRAD_CHECK(at + 46 <= b.size() && get32(b, at) == 0x02014b50, path, ": corrupt central directory (entry ", e,
                    ")");
        const uint32_t method = get16(b, at + 10), crc = get32(b, at + 16);
        const uint32_t compressed = get32(b, at + 20), size = get32(b, at + 24);
        const uint32_t name_len = get16(b, at + 28), extra_len = get16(b, at + 30), comment_len = get16(b, at + 32);
        const std::size_t local = get32(b, at + 42);  // size_t: local + 30 must not wrap
        std::string name = b.substr(at + 46, name_len);
        at += 46 + name_len + extra_len + comment_len;
        const std::string where = path + ": entry " + name;
        XGRAD_CHECK(local + 30 <= b.size() && get32(b, local) == 0x04034b50, where, ": corrupt local header");
        XGRAD_CHECK(get16(b, local + 26) == name_len && b.compare(local + 30, name_len, name) == 0, where,
                    ": the local header names a different entry (the file is corrupt)");
        const std::size_t data_at = local + 30 + get16(b, local + 26) + get16(b, local + 28);
        XGRAD_CHECK(data_at + compressed <= b.size(), where, ": truncated data (the file is cut short)");
        std::string data = b.substr(data_at, compressed);
        // Deflate shrinks at most ~1032:1, so a larger claim is a corrupt size, not a buffer to allocate.
        if (method == 8)
            XGRAD_CHECK(size / 1032 <= compressed, where, ": claims ", size, " bytes from ", compressed,
                        " compressed bytes (the file is corrupt)");
        if (method == 8)
            data = inflate_raw(data, size, where);
        else
            XGRAD_CHECK(method == 0, where, ": unsupported compression method ", method);
        const uint32_t actual = static_cast<uint32_t>(
            crc32(0, reinterpret_cast<const Bytef*>(data.data()), static_cast<uInt>(data.size())));
        XGRAD_CHECK(actual == crc, where, ": CRC mismatch (the file is corrupt)");
        if (name.size() > 4 && name.compare(name.size() - 4, 4, ".npy") == 0) name.resize(name.size() - 4);
        arrays[name] = parse_npy(data, path + ": entry " + name);
    }
    return arrays;
}

}  // namespace xgrad
