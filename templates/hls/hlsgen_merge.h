// hlsgen kernel library: forks and joins of the dataflow graph.
#ifndef HLSGEN_MERGE_H
#define HLSGEN_MERGE_H

#include "hlsgen_stream.h"

namespace hlsgen {

// One stream to two (a tensor with two consumers, e.g. a residual's skip
// path). The generator sizes the FIFO of the path that waits.
template <unsigned WORDS, typename Word>
void fork2(hls::stream<Word> &in, hls::stream<Word> &out_a, hls::stream<Word> &out_b) {
    for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const Word w = in.read();
        out_a.write(w);
        out_b.write(w);
    }
}

// One operand of a sum: its code times the integer of its branch's scale
// (1 unless the branches' float scales differ), shifted left to the common
// binary point. Exact: the generator sizes TAcc from the value bounds, and
// C simulation checks every value fits it (native<>::store).
template <typename TAcc, long long MUL, int SHIFT, typename T>
inline TAcc scaled_term(const T &code) {
#pragma HLS INLINE
    typedef native<TAcc> acc;
    return acc::store(acc::of(TAcc(code)) * MUL << SHIFT);
}

// Elementwise sum of two streams with the same lanes, each operand first
// scaled to the common grid (scaled_term), then requantized.
template <unsigned N, unsigned LANES, unsigned C, int SHIFT_A, int SHIFT_B, long long MUL_A,
          long long MUL_B, typename TA, typename TB, typename TAcc, typename TOut, typename WordA,
          typename WordB, typename OutWord, typename Requant>
void add_streams(hls::stream<WordA> &in_a, hls::stream<WordB> &in_b, hls::stream<OutWord> &out,
                 const Requant &requant) {
    for (unsigned i = 0; i < N / LANES; i++) {
#pragma HLS PIPELINE II = 1
        const WordA wa = in_a.read();
        const WordB wb = in_b.read();
        OutWord result = 0;
        for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
            const TAcc a = scaled_term<TAcc, MUL_A, SHIFT_A>(get_lane<TA>(wa, l));
            const TAcc b = scaled_term<TAcc, MUL_B, SHIFT_B>(get_lane<TB>(wb, l));
            typedef native<TAcc> acc;
            set_lane<TOut>(result, l, requant(acc::store(acc::of(a) + acc::of(b)),
                                              (i * LANES + l) % C));
        }
        out.write(result);
    }
}

// Channel concatenation: per pixel, CA channels from a then CB from b, in
// words of LANES lanes (LANES divides both), each shifted to the common
// binary point.
template <unsigned PIXELS, unsigned CA, unsigned CB, unsigned LANES, int SHIFT_A, int SHIFT_B,
          typename TA, typename TB, typename TOut, typename WordA, typename WordB, typename OutWord>
void concat_channels(hls::stream<WordA> &in_a, hls::stream<WordB> &in_b, hls::stream<OutWord> &out) {
    for (unsigned p = 0; p < PIXELS; p++) {
        for (unsigned i = 0; i < (CA + CB) / LANES; i++) {
#pragma HLS PIPELINE II = 1
            OutWord result = 0;
            if (i < CA / LANES) {
                const WordA w = in_a.read();
                for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
                    set_lane<TOut>(result, l, TOut(TOut(get_lane<TA>(w, l)) << SHIFT_A));
                }
            } else {
                const WordB w = in_b.read();
                for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
                    set_lane<TOut>(result, l, TOut(TOut(get_lane<TB>(w, l)) << SHIFT_B));
                }
            }
            out.write(result);
        }
    }
}

} // namespace hlsgen

#endif
