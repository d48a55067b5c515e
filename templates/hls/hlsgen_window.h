// hlsgen kernel library: the streaming sliding-window unit (CNP's line
// buffer) and explicit zero padding.
// Images are streamed channels last, one pixel as C/SIMD words of SIMD lanes.
#ifndef HLSGEN_WINDOW_H
#define HLSGEN_WINDOW_H

#include "hlsgen_stream.h"

namespace hlsgen {

// Zero padding in the stream: the padding word holds the code of 0 in every
// lane. IH x IW pixels of CF words in, (IH+T+B) x (IW+L+R) pixels out.
template <unsigned IH, unsigned IW, unsigned CF, unsigned T, unsigned B, unsigned L, unsigned R,
          typename Word>
void pad(hls::stream<Word> &in, hls::stream<Word> &out) {
    for (unsigned y = 0; y < IH + T + B; y++) {
        for (unsigned x = 0; x < IW + L + R; x++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                const bool inside = y >= T && y < T + IH && x >= L && x < L + IW;
                out.write(inside ? in.read() : Word(0));
            }
        }
    }
}

// Sliding windows of KH x KW pixels with strides SH, SW over an IH x IW image
// (already padded). The line buffer holds KH rows: each input row is written
// once into row slot y % KH, and after the row that completes a window row
// every window of that output row is read out once, in (ky, kx, cf) order.
// Rows and columns beyond the last full window are read and dropped, as a
// 'valid' convolution does.
template <unsigned KH, unsigned KW, unsigned SH, unsigned SW, unsigned IH, unsigned IW,
          unsigned CF, typename Word>
void sliding_window(hls::stream<Word> &in, hls::stream<Word> &out) {
    static const unsigned OH = (IH - KH) / SH + 1;
    static const unsigned OW = (IW - KW) / SW + 1;
    Word lines[KH][IW * CF];
#pragma HLS ARRAY_PARTITION variable = lines complete dim = 1
    for (unsigned y = 0; y < IH; y++) {
        const unsigned slot = y % KH;
        for (unsigned i = 0; i < IW * CF; i++) {
#pragma HLS PIPELINE II = 1
            lines[slot][i] = in.read();
        }
        if (y + 1 < KH || (y + 1 - KH) % SH != 0 || (y + 1 - KH) / SH >= OH) continue;
        const unsigned top = y + 1 - KH;  // first image row of these windows
        for (unsigned ox = 0; ox < OW; ox++) {
            for (unsigned ky = 0; ky < KH; ky++) {
                for (unsigned kx = 0; kx < KW; kx++) {
                    for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                        out.write(lines[(top + ky) % KH][(ox * SW + kx) * CF + cf]);
                    }
                }
            }
        }
    }
}

} // namespace hlsgen

#endif
