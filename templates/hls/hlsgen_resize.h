// hlsgen kernel library: stream lane-count conversion between layers whose
// folding differs (producer PE lanes -> consumer SIMD lanes), and at the
// AXI-Stream ports (words of at most 1024 bits, PG021). The generator only
// instantiates it where one lane count divides the other, going through their
// gcd otherwise, so both directions run at II=1. The lanes move as bit fields
// of one word register (a shift register), so no lane buffer needs
// partitioning: lane 0 stays in the low bits, as everywhere in hlsgen.
#ifndef HLSGEN_RESIZE_H
#define HLSGEN_RESIZE_H

#include "hlsgen_stream.h"

namespace hlsgen {

// N lanes of type T per frame, from words of A lanes to words of B lanes.
template <unsigned N, unsigned A, unsigned B, typename T, typename InWord, typename OutWord>
void resize_lanes(hls::stream<InWord> &in, hls::stream<OutWord> &out) {
    const unsigned W = T::width;
#ifndef HLSGEN_SYNTHESIS
    // C simulation: the same words, cut and joined as native 64-bit chunks.
    if (A >= B) {
        for (unsigned i = 0; i < N / A; i++) {
            const Bits<InWord::width> w(in.read());
            for (unsigned j = 0; j < A / B; j++) {
                Bits<OutWord::width> y;
                y.put(0, w, j * B * W, B * W);
                out.write(y.template word<OutWord>());
            }
        }
    } else {
        for (unsigned i = 0; i < N / B; i++) {
            Bits<OutWord::width> y;
            for (unsigned j = 0; j < B / A; j++) y.put(j * A * W, Bits<InWord::width>(in.read()), 0, A * W);
            out.write(y.template word<OutWord>());
        }
    }
#else
    if (A >= B) {
        // Split (or copy): each input word gives A/B output words, its low
        // B lanes first, shifted down by B lanes after each.
        InWord w = 0;
        for (unsigned i = 0; i < N / B; i++) {
#pragma HLS PIPELINE II = 1
            if (i % (A / B) == 0) w = in.read();
            out.write(OutWord(w));              // the low B lanes
            if (A > B) w = w >> (B * W);
        }
    } else {
        // Gather: B/A input words make one output word; each enters at the
        // top while the earlier ones move down by A lanes.
        OutWord y = 0;
        for (unsigned i = 0; i < N / A; i++) {
#pragma HLS PIPELINE II = 1
            y = (y >> (A * W)) | (OutWord(in.read()) << ((B - A) * W));
            if (i % (B / A) == B / A - 1) out.write(y);
        }
    }
#endif
}

} // namespace hlsgen

#endif
