// hlsgen kernel library: label select. Reads one frame of N logits in words
// of LANES lanes and writes the index of the largest; ties go to the lowest
// index, as numpy.argmax does.
#ifndef HLSGEN_ARGMAX_H
#define HLSGEN_ARGMAX_H

#include "hlsgen_stream.h"

namespace hlsgen {

template <unsigned N, unsigned LANES, typename TIn, typename TIdx, typename InWord, typename OutWord>
void argmax(hls::stream<InWord> &in, hls::stream<OutWord> &out) {
    TIn best = 0;
    TIdx best_index = 0;
    for (unsigned i = 0; i < N / LANES; i++) {
#pragma HLS PIPELINE II = 1
        InWord word = in.read();
        for (unsigned l = 0; l < LANES; l++) {
            TIn v = get_lane<TIn>(word, l);
            if ((i == 0 && l == 0) || v > best) {
                best = v;
                best_index = i * LANES + l;
            }
        }
    }
    OutWord result = 0;
    set_lane<TIdx>(result, 0, best_index);
    out.write(result);
}

} // namespace hlsgen

#endif
