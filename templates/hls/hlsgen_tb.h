// hlsgen kernel library: what every testbench shares (host code, never
// synthesized): the project folder, test-vector files, the comparison.
// Files hold little-endian int64 codes, one frame after another.
#ifndef HLSGEN_TB_H
#define HLSGEN_TB_H

#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

namespace hlsgen {

// The project folder, from where this testbench's source lies
// (<project>/tb/<name>_tb.cpp): no path passes through a compiler flag or a
// shell, so Vitis HLS's csim/cosim and g++ find the vectors wherever the
// project is, spaces in its path included. HLSGEN_PROJECT_DIR overrides it.
inline std::string project_dir(const char *tb_source) {
#ifdef HLSGEN_PROJECT_DIR
    (void)tb_source;
    return HLSGEN_PROJECT_DIR;
#else
    const std::string f(tb_source);
    const size_t slash = f.find_last_of('/');
    return (slash == std::string::npos ? std::string(".") : f.substr(0, slash)) + "/..";
#endif
}

inline std::vector<int64_t> read_codes(const std::string &path) {
    std::vector<int64_t> codes;
    FILE *f = std::fopen(path.c_str(), "rb");
    if (!f) return codes;
    // In one read: a value at a time costs more than simulating a small network.
    int64_t chunk[4096];
    size_t got;
    while ((got = std::fread(chunk, sizeof(int64_t), 4096, f)) > 0) codes.insert(codes.end(), chunk, chunk + got);
    std::fclose(f);
    return codes;
}

inline bool write_codes(const std::string &path, const std::vector<int64_t> &codes) {
    FILE *f = std::fopen(path.c_str(), "wb");
    const bool ok = f && std::fwrite(codes.data(), sizeof(int64_t), codes.size(), f) == codes.size();
    if (f) std::fclose(f);
    return ok;
}

// The testbench's arguments: params_dir inputs.bin outputs.bin [expected.bin];
// with none, the project's own test vectors and golden outputs.
struct TbPaths {
    std::string params, inputs, outputs, expected;
    TbPaths(int argc, char **argv, const char *tb_source) {
        const std::string root = project_dir(tb_source);
        params = argc > 1 ? argv[1] : root + "/firmware/params";
        inputs = argc > 2 ? argv[2] : root + "/tb/inputs.bin";
        outputs = argc > 3 ? argv[3] : root + "/tb/csim_outputs.bin";
        expected = argc > 4 ? argv[4] : (argc > 1 ? "" : root + "/tb/golden.bin");
    }
};

// Writes the outputs, then compares them with the expected file (if any):
// the testbench's exit code (0 equal, 1 any difference, 2 bad files).
inline int finish(const char *tb, const TbPaths &paths, size_t frames, const std::vector<int64_t> &outputs) {
    if (!write_codes(paths.outputs, outputs)) {
        std::fprintf(stderr, "%s: cannot write %s\n", tb, paths.outputs.c_str());
        return 2;
    }
    if (paths.expected.empty()) return 0;
    const std::vector<int64_t> expected = read_codes(paths.expected);
    if (expected.size() != outputs.size()) {
        std::fprintf(stderr, "%s: %s holds %zu values, expected %zu\n", tb, paths.expected.c_str(),
                     expected.size(), outputs.size());
        return 2;
    }
    size_t diff = 0;
    for (size_t i = 0; i < outputs.size(); i++) diff += outputs[i] != expected[i];
    std::printf("%s: %zu frames, %zu of %zu outputs differ from the golden executor\n", tb, frames, diff,
                outputs.size());
    return diff ? 1 : 0;
}

} // namespace hlsgen

#endif
