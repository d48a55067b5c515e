// Kernel property harness (tests/test_kernel_properties.py).
// The test generates one translation unit defining run_cases(): a call per
// parameter set, on functors and dot products of the kernel library. It is
// compiled twice, with and without HLSGEN_SYNTHESIS, and both executables
// read the same codes (int64) from stdin and write their results (int64) to
// stdout, in the order of the calls.
#ifndef HLSGEN_KERNEL_HARNESS_H
#define HLSGEN_KERNEL_HARNESS_H

#include <cstdio>
#include <vector>

#include "hlsgen_mvu.h"

namespace harness {

struct Io {
    std::vector<long long> in, out;
    size_t pos;
    long long next() { return in.at(pos++); }
};

// A requantization functor on `count` accumulator codes (from stdin), on
// each of `channels` channels: channel-major results.
template <typename TAcc, typename Requant>
void requant(Io &io, const Requant &rq, unsigned channels) {
    const long long count = io.next();
    std::vector<TAcc> acc;
    for (long long i = 0; i < count; i++) acc.push_back(TAcc(io.next()));
    for (unsigned c = 0; c < channels; c++)
        for (long long i = 0; i < count; i++) io.out.push_back(rq(acc[i], c).to_int64());
}

// A dot product of SIMD lanes for every pair of NW weight vectors and NX
// input vectors (from stdin): results [NX][NW], a dense layer's output on
// NX inputs. Stored into TAcc as the matrix-vector unit does (in C
// simulation, native<TAcc>::store aborts if the sum does not fit).
template <unsigned SIMD, class Dot, typename TW, typename TIn, typename TAcc>
void dot(Io &io) {
    typedef hlsgen::native<TAcc> N;
    const long long nw = io.next(), nx = io.next();
    std::vector<TW> w;
    std::vector<TIn> x;
    for (long long i = 0; i < nw * SIMD; i++) w.push_back(TW(io.next()));
    for (long long i = 0; i < nx * SIMD; i++) x.push_back(TIn(io.next()));
    for (long long j = 0; j < nx; j++)
        for (long long i = 0; i < nw; i++) {
            const TAcc acc = N::store(Dot::template apply<SIMD, N>(&w[i * SIMD], &x[j * SIMD]));
            io.out.push_back(acc.to_int64());
        }
}

} // namespace harness

void run_cases(harness::Io &io);  // the generated parameter sets

int main() {
    harness::Io io;
    io.pos = 0;
    long long v;
    while (std::fread(&v, sizeof v, 1, stdin) == 1) io.in.push_back(v);
    run_cases(io);
    if (io.pos != io.in.size()) {
        std::fprintf(stderr, "harness: %zu of %zu input codes read\n", io.pos, io.in.size());
        return 1;
    }
    std::fwrite(io.out.data(), sizeof(long long), io.out.size(), stdout);
    return 0;
}

#endif
