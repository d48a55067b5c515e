// hlsgen kernel library: parameter loading for C simulation only.
// Synthesis sees weights as initialised constants (the params headers guard
// them with __SYNTHESIS__); C simulation reads the same codes from .bin files
// (little-endian int64, one per element, in array order) at start-up, so g++
// never has to compile large initialiser lists.
#ifndef HLSGEN_PARAMS_H
#define HLSGEN_PARAMS_H

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
}

} // namespace hlsgen
#endif

#endif
