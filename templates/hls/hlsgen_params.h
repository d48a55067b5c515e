// hlsgen kernel library: parameter loading for C simulation only.
// Synthesis sees weights as initialised constants (the params headers guard
// them with HLSGEN_SYNTHESIS); C simulation reads the same codes from .bin files
// (little-endian int64, one per element, in array order) at start-up, so g++
// never has to compile large initialiser lists.
#ifndef HLSGEN_PARAMS_H
#define HLSGEN_PARAMS_H

#include "hlsgen_stream.h"

// Host code (testbenches, C simulation), never synthesized.
#ifndef __SYNTHESIS__
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <vector>

namespace hlsgen {

template <typename T>
void load_codes(const std::string &dir, const char *file, T *dst, size_t count) {
    const std::string path = dir + "/" + file;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "hlsgen: cannot open parameter file %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<int64_t> codes(count);
    const size_t got = std::fread(codes.data(), sizeof(int64_t), count, f);
    std::fclose(f);
    if (got != count) {
        std::fprintf(stderr, "hlsgen: %s holds %zu values, expected %zu\n", path.c_str(), got, count);
        std::exit(2);
    }
    for (size_t i = 0; i < count; i++) dst[i] = codes[i];
    params_generation()++;
}

// Packed words (weights): each word is BYTES little-endian bytes, lane 0 in
// the low bits, exactly as the synthesis header's initialisers spell them.
template <typename Word>
void load_words(const std::string &dir, const char *file, Word *dst, size_t count) {
    static const int BYTES = (Word::width + 7) / 8;
    const std::string path = dir + "/" + file;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) {
        std::fprintf(stderr, "hlsgen: cannot open parameter file %s\n", path.c_str());
        std::exit(2);
    }
    std::vector<unsigned char> bytes(count * BYTES);
    const size_t got = std::fread(bytes.data(), 1, bytes.size(), f);
    std::fclose(f);
    if (got != bytes.size()) {
        std::fprintf(stderr, "hlsgen: %s holds %zu bytes, expected %zu\n", path.c_str(), got, bytes.size());
        std::exit(2);
    }
    for (size_t i = 0; i < count; i++) {
        Word w = 0;
        for (int c = 0; c * 64 < Word::width; c++) {
            unsigned long long chunk = 0;
            for (int b = 0; b < 8 && c * 8 + b < BYTES; b++)
                chunk |= (unsigned long long)bytes[i * BYTES + c * 8 + b] << (8 * b);
            const int hi = c * 64 + 63 < Word::width ? c * 64 + 63 : Word::width - 1;
            w.range(hi, c * 64) = chunk;
        }
        dst[i] = w;
    }
    params_generation()++;
}

} // namespace hlsgen
#endif

#endif
