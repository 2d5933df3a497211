// A file fuzzer for every reader: valid files (an .npz archive, plain and gzipped IDX images and
// labels, a CSV with a header, HoC TSV, word vectors) are mutated (bytes flipped, cut short,
// bytes inserted, the numbers in headers replaced by negative, huge or non-numeric ones) and read
// back. Each read must succeed or throw xgrad::Error; anything else is a failure.
//
//     build/tests/fuzz_readers --cases 100000 --seed 3   # a longer run
#include <zlib.h>
#include <CLI/CLI.hpp>

#include <xgrad/xgrad.hpp>

#include <unistd.h>

#include <cctype>
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <functional>
#include <sstream>
#include <string>
#include <vector>

#include "../zip_builder.hpp"
#include "fuzz_random.hpp"

using namespace xgrad;

namespace {

std::string read_bytes(const std::string& path) {
    std::ifstream in(path, std::ios::binary);
    std::ostringstream out;
    out << in.rdbuf();
    return out.str();
}

void write_bytes(const std::string& path, const std::string& bytes, bool gzip = false) {
    if (gzip) {
        gzFile file = gzopen(path.c_str(), "wb");
        gzwrite(file, bytes.data(), static_cast<unsigned>(bytes.size()));
        gzclose(file);
        return;
    }
    std::ofstream(path, std::ios::binary) << bytes;
}

std::string idx_bytes(const std::vector<uint32_t>& dims, int64_t classes) {
    std::string b = {0, 0, 8, static_cast<char>(dims.size())};
    uint64_t count = 1;
    for (uint32_t d : dims) {
        for (int shift = 24; shift >= 0; shift -= 8) b += static_cast<char>(d >> shift & 0xff);
        count *= d;
    }
    for (uint64_t i = 0; i < count; ++i) b += static_cast<char>(i % static_cast<uint64_t>(classes));
    return b;
}

struct Sample {
    std::string name;
    std::string bytes;  // uncompressed content
    /// Reads the file; `intact`: with options that fit the file as made (mutated files get random ones).
    std::function<void(const std::string& path, fuzz::Random& rng, bool intact)> read;
    bool gzip = false;
    /// Applied after mutating: the .npy sample is mutated as an .npy and then stored in a zip with
    /// a correct CRC, so its header reaches the parser instead of stopping at the CRC check.
    std::function<std::string(const std::string&)> wrap = [](const std::string& b) { return b; };
};

std::vector<Sample> samples(const std::filesystem::path& dir) {
    const std::string npz = (dir / "valid.npz").string();
    save_npz(npz, {{"weight", randn({3, 4}).data()},
                   {"bias", zeros({4}, kFloat64).data()},
                   {"steps", arange(5).data()},
                   {"mask", (randn({2, 2}) > 0.0).data()}});
    const data::Vocabulary vocab({"<pad>", "<unk>", "tumor", "cell", "growth"});
    auto idx_reader = [](const std::string& path, fuzz::Random& rng, bool intact) {
        const auto kind = rng.pick<data::IdxKind>({data::IdxKind::any, data::IdxKind::images, data::IdxKind::labels});
        data::read_idx(path, {.dtype = rng.pick<DType>({kFloat32, kInt64, kFloat64}),
                              .expect = intact ? data::IdxKind::images : kind,
                              .num_classes = 0});
    };
    return {
        {"npz", read_bytes(npz), [](const std::string& path, fuzz::Random&, bool) { load_npz(path); }},
        {"npy-header",
         test::npy_file("{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }", std::string(24, '\0')),
         [](const std::string& path, fuzz::Random&, bool) { load_npz(path); }, false,
         [](const std::string& npy) {
             return test::stored_zip({{"x.npy", npy}});
         }},
        {"idx-images", idx_bytes({3, 4, 5}, 256), idx_reader},
        {"idx-images.gz", idx_bytes({3, 4, 5}, 256), idx_reader, true},
        {"idx-labels", idx_bytes({7}, 10),
         [](const std::string& path, fuzz::Random& rng, bool intact) {
             const int64_t classes = rng.pick<int64_t>({0, 3, 10});
             data::read_idx(path,
                            {.dtype = kInt64, .expect = data::IdxKind::labels, .num_classes = intact ? 10 : classes});
         }},
        {"csv", "a,b,c\n1,2.5,-3\n4,5e3,6\n",
         [](const std::string& path, fuzz::Random& rng, bool intact) {
             const int64_t skip = rng.pick<int64_t>({0, 0, 1});
             const bool header = rng.chance(0.5);
             data::read_csv_table(path, {.skip_lines = intact ? 0 : skip, .header = intact || header});
         }},
        {"hoc",
         "101\t0\tnone\tTumor cells grow .\n101\t1\tangiogenesis,inflammation\tVessels form .\n"
         "102\t0\tcell_death\tCells die .\n",
         [](const std::string& path, fuzz::Random&, bool) { data::hoc_abstracts(data::read_hoc(path)); }},
        {"word-vectors", "3 2\ntumor 0.5 -1\ncell 1e-3 2\ngrowth 3 4\n",
         [vocab](const std::string& path, fuzz::Random&, bool) { data::read_word_vectors(path, vocab); }},
    };
}

// One mutation of bytes: flips, a cut, an insertion or a number in the text replaced.
std::string mutate(std::string b, fuzz::Random& rng) {
    const int kinds = 1 + static_cast<int>(rng.below(3));
    for (int k = 0; k < kinds; ++k) {
        switch (rng.below(5)) {
            case 0:  // flip bytes
                for (uint64_t i = 0, n = 1 + rng.below(8); i < n && !b.empty(); ++i)
                    b[rng.below(b.size())] ^= static_cast<char>(1 << rng.below(8));
                break;
            case 1:  // cut short
                b.resize(rng.below(b.size() + 1));
                break;
            case 2:  // insert bytes
                b.insert(rng.below(b.size() + 1), std::string(1 + rng.below(4), static_cast<char>(rng.below(256))));
                break;
            case 3: {  // replace a run of digits by a hostile number
                std::vector<std::size_t> starts;
                for (std::size_t i = 0; i < b.size(); ++i)
                    if (std::isdigit(static_cast<unsigned char>(b[i])) &&
                        (i == 0 || !std::isdigit(static_cast<unsigned char>(b[i - 1]))))
                        starts.push_back(i);
                if (starts.empty()) break;
                const std::size_t at = starts[rng.below(starts.size())];
                std::size_t end = at;
                while (end < b.size() && std::isdigit(static_cast<unsigned char>(b[end]))) ++end;
                b.replace(
                    at, end - at,
                    rng.pick<const char*>({"-4", "0", "99999999999999999999", "4611686018427387912",
                                           "9223372036854775807", "1e999", "x", "", "-0", "18446744073709551615"}));
                break;
            }
            default:  // a big-endian 32-bit word (IDX sizes) set to an extreme
                if (b.size() >= 8) {
                    const std::size_t at = rng.below(b.size() - 3);
                    const uint32_t v = rng.pick<uint32_t>({0u, 1u, 0x7fffffffu, 0xffffffffu, 0x10000u});
                    for (int i = 0; i < 4; ++i)
                        b[at + static_cast<std::size_t>(i)] = static_cast<char>(v >> (24 - 8 * i));
                }
        }
    }
    return b;
}

}  // namespace

int main(int argc, char** argv) {
    uint64_t seed = 1, first = 0, cases = 3000;
    CLI::App app("File fuzzer: every reader reads a mutated file or throws xgrad::Error.");
    app.add_option("--seed", seed, "seed of the whole run")->capture_default_str();
    app.add_option("--first", first, "number of the first case (to replay one)")->capture_default_str();
    app.add_option("--cases", cases, "how many cases to run")->capture_default_str();
    CLI11_PARSE(app, argc, argv);

    const std::filesystem::path dir =
        std::filesystem::temp_directory_path() / ("xgrad_fuzz_readers_" + std::to_string(::getpid()));
    std::filesystem::create_directories(dir);
    const std::vector<Sample> all = samples(dir);
    uint64_t failures = 0, errors = 0;
    for (uint64_t k = first; k < first + cases; ++k) {
        fuzz::Random rng(seed, k);
        const Sample& sample = all[rng.below(all.size())];
        const std::string path = (dir / ("case." + sample.name)).string();
        const bool intact = rng.chance(0.05);
        const std::string bytes = intact ? sample.bytes : mutate(sample.bytes, rng);
        write_bytes(path, sample.wrap(bytes), sample.gzip);
        if (!intact && sample.gzip && rng.chance(0.3))
            write_bytes(path, mutate(read_bytes(path), rng));  // corrupt the gzip
        try {
            sample.read(path, rng, intact);
        } catch (const Error& e) {
            ++errors;
            const std::string message = e.what();
            // A reader's error names the file it read.
            if (intact) {  // the files as made must read back
                ++failures;
                std::fprintf(stderr, "FAIL case %llu (%s): the intact file was refused: %s\n",
                             static_cast<unsigned long long>(k), sample.name.c_str(), message.c_str());
            }
            if (message.find(path) == std::string::npos) {
                ++failures;
                std::fprintf(stderr, "FAIL case %llu (%s): the error does not name the file: %s\n",
                             static_cast<unsigned long long>(k), sample.name.c_str(), message.c_str());
            }
        } catch (const std::exception& e) {
            ++failures;
            std::fprintf(stderr, "FAIL case %llu (%s): std::exception (not xgrad::Error): %s\n",
                         static_cast<unsigned long long>(k), sample.name.c_str(), e.what());
        }
        if (failures >= 20) break;
    }
    std::filesystem::remove_all(dir);
    std::printf("fuzz_readers: %llu cases from %llu (seed %llu), %llu rejected with xgrad::Error, %llu failures\n",
                static_cast<unsigned long long>(cases), static_cast<unsigned long long>(first),
                static_cast<unsigned long long>(seed), static_cast<unsigned long long>(errors),
                static_cast<unsigned long long>(failures));
    return failures == 0 ? 0 : 1;
}
