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

// A memory word from its bits: an ap_uint as is, a native integer by value.
template <int B>
inline void assign_bits(ap_uint<B> &dst, const ap_uint<B> &bits) { dst = bits; }
template <typename Native, int B>
inline void assign_bits(Native &dst, const ap_uint<B> &bits) { dst = (Native)bits.to_uint64(); }

// Packed words (weight memories, ap_uint or native): each word is BYTES
// little-endian bytes, lane 0 in the low bits, exactly as the synthesis
// header's initialisers spell them.
template <typename Word>
void load_words(const std::string &dir, const char *file, Word *dst, size_t count) {
    static const int WIDTH = word_bits<Word>::value;
    static const int BYTES = (WIDTH + 7) / 8;
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
        ap_uint<WIDTH> w = 0;
        for (int c = 0; c * 64 < WIDTH; c++) {
            unsigned long long chunk = 0;
            for (int b = 0; b < 8 && c * 8 + b < BYTES; b++)
                chunk |= (unsigned long long)bytes[i * BYTES + c * 8 + b] << (8 * b);
            const int hi = c * 64 + 63 < WIDTH ? c * 64 + 63 : WIDTH - 1;
            w.range(hi, c * 64) = chunk;
        }
        assign_bits(dst[i], w);
    }
    params_generation()++;
}

} // namespace hlsgen
#endif

#endif
