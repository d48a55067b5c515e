// hlsgen kernel library: stream lane-count conversion between layers whose
// folding differs (producer PE lanes -> consumer SIMD lanes). The generator
// only instantiates it where one lane count divides the other, going through
// their gcd otherwise, so both directions run at II=1 without lane buffers.
#ifndef HLSGEN_RESIZE_H
#define HLSGEN_RESIZE_H

#include "hlsgen_stream.h"

namespace hlsgen {

// N lanes of type T per frame, from words of A lanes to words of B lanes.
template <unsigned N, unsigned A, unsigned B, typename T, typename InWord, typename OutWord>
void resize_lanes(hls::stream<InWord> &in, hls::stream<OutWord> &out) {
    if (A == B) {
        for (unsigned i = 0; i < N / A; i++) {
#pragma HLS PIPELINE II = 1
            InWord w = in.read();
            OutWord o = 0;
            for (unsigned l = 0; l < A; l++) {
#pragma HLS UNROLL
                set_lane<T>(o, l, get_lane<T>(w, l));
            }
            out.write(o);
        }
    } else if (A > B) {
        // Split: each input word gives A/B output words.
        InWord w = 0;
        for (unsigned i = 0; i < N / B; i++) {
#pragma HLS PIPELINE II = 1
            const unsigned part = i % (A / B);
            if (part == 0) w = in.read();
            OutWord o = 0;
            for (unsigned l = 0; l < B; l++) {
#pragma HLS UNROLL
                set_lane<T>(o, l, get_lane<T>(w, part * B + l));
            }
            out.write(o);
        }
    } else {
        // Gather: B/A input words make one output word.
        OutWord o = 0;
        for (unsigned i = 0; i < N / A; i++) {
#pragma HLS PIPELINE II = 1
            const unsigned part = i % (B / A);
            InWord w = in.read();
            for (unsigned l = 0; l < A; l++) {
#pragma HLS UNROLL
                set_lane<T>(o, part * A + l, get_lane<T>(w, l));
            }
            if (part == B / A - 1) out.write(o);
        }
    }
}

} // namespace hlsgen

#endif
