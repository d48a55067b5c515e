// Kernel property harness (tests/test_kernel_properties.py).
// The test generates one translation unit defining run_cases(): a call per
// parameter set, on functors and matrix-vector units of the kernel library. It is
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

// A matrix-vector unit (hlsgen_mvu.h mvu, accumulators out unchanged) of MH
// rows x MW columns folded onto PE x SIMD, on NX input vectors; from stdin
// the MH x MW weight codes (row-major), MH bias codes, the NX x MW input
// codes; results [NX][MH]. The C-simulation branch computes over packed
// words (hlsgen_packed.h), the synthesis branch lane by lane.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned NX, class Dot, typename TW,
          typename TIn, typename TAcc>
void mvu(Io &io) {
    static const unsigned SF = MW / SIMD, NF = MH / PE;
    typedef ap_uint<SIMD * TW::width> MemWord;
    typedef ap_uint<SIMD * TIn::width> InWord;
    typedef ap_uint<PE * TAcc::width> OutWord;
    static MemWord weights[PE][NF * SF];  // static: one instantiation may serve several sets
    static TAcc bias[PE][NF];
    for (unsigned r = 0; r < MH; r++)
        for (unsigned c = 0; c < MW; c++)
            hlsgen::set_lane<TW>(weights[r % PE][(r / PE) * SF + c / SIMD], c % SIMD, TW(io.next()));
    for (unsigned r = 0; r < MH; r++) bias[r % PE][r / PE] = TAcc(io.next());
    hlsgen::params_generation()++;  // new weights: C simulation re-packs them
    hls::stream<InWord> in;
    hls::stream<OutWord> out;
    for (unsigned j = 0; j < NX * SF; j++) {
        InWord word = 0;
        for (unsigned s = 0; s < SIMD; s++) hlsgen::set_lane<TIn>(word, s, TIn(io.next()));
        in.write(word);
    }
    hlsgen::mvu<MW, MH, SIMD, PE, NX, TIn, TW, TAcc, TAcc, Dot>(in, out, weights, bias,
                                                            hlsgen::RequantIdentity<TAcc, TAcc>());
    for (unsigned j = 0; j < NX * NF; j++) {
        const OutWord word = out.read();
        for (unsigned pe = 0; pe < PE; pe++) io.out.push_back(hlsgen::get_lane<TAcc>(word, pe).to_int64());
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
