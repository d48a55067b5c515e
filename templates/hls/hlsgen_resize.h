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
    if (A >= B) {
        // Split (or copy): each input word gives A/B output words.
        T x[A];
        for (unsigned i = 0; i < N / B; i++) {
#pragma HLS PIPELINE II = 1
            const unsigned part = i % (A / B);
            if (part == 0) unpack<T, A>(in.read(), x);
            out.write(pack<T, B, OutWord>(x + part * B));
        }
    } else {
        // Gather: B/A input words make one output word.
        T y[B];
        for (unsigned i = 0; i < N / A; i++) {
#pragma HLS PIPELINE II = 1
            const unsigned part = i % (B / A);
            unpack<T, A>(in.read(), y + part * A);
            if (part == B / A - 1) out.write(pack<T, B, OutWord>(y));
        }
    }
}

} // namespace hlsgen

#endif
