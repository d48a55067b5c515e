// hlsgen kernel library: an image resampled in the stream: nearest-neighbour
// upsampling, zero insertion (a transposed convolution's input) and cropping.
// Images are streamed channels last, one pixel as CF words; codes pass
// through unchanged, so one kernel serves every lane type.
#ifndef HLSGEN_RESAMPLE_H
#define HLSGEN_RESAMPLE_H

#include "hlsgen_stream.h"

namespace hlsgen {

// Each of IH x IW input pixels becomes an FH x FW block of output pixels: a
// copy in every position (ZEROS false: nearest neighbour), or the pixel in
// the block's first position and the code of 0 elsewhere (ZEROS true). The
// input row is kept to be written FH times; every input word is read once.
template <unsigned IH, unsigned IW, unsigned CF, unsigned FH, unsigned FW, bool ZEROS, typename Word>
void upsample(hls::stream<Word> &in, hls::stream<Word> &out) {
    Word row[IW * CF];
    for (unsigned y = 0; y < IH; y++) {
        for (unsigned fy = 0; fy < FH; fy++) {
            for (unsigned x = 0; x < IW; x++) {
                for (unsigned fx = 0; fx < FW; fx++) {
                    for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                        const bool first = fy == 0 && fx == 0;
                        Word w;
                        if (first) {
                            w = in.read();
                            row[x * CF + cf] = w;
                        } else {
                            w = row[x * CF + cf];
                        }
                        out.write(ZEROS && !first ? Word(0) : w);
                    }
                }
            }
        }
    }
}

// The IH x IW image without T rows on top, B at the bottom, L columns on the
// left and R on the right: every word is read, the kept ones written.
template <unsigned IH, unsigned IW, unsigned CF, unsigned T, unsigned B, unsigned L, unsigned R,
          typename Word>
void crop(hls::stream<Word> &in, hls::stream<Word> &out) {
    for (unsigned y = 0; y < IH; y++) {
        for (unsigned x = 0; x < IW; x++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                const Word w = in.read();
                if (y >= T && y < IH - B && x >= L && x < IW - R) {
                    out.write(w);
                }
            }
        }
    }
}

}  // namespace hlsgen

#endif
