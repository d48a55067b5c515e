// hlsgen kernel library: the matrix-vector unit.
// y = requant(W x + b) with W of MH rows x MW columns, folded onto PE
// processing elements (rows in parallel) x SIMD lanes (columns in parallel).
// One input vector is MW/SIMD words; one output vector is MH/PE words; the
// loop runs NF*SF iterations at II=1 per vector. A convolution is the same
// unit applied to PIXELS window vectors from the sliding-window generator
// (window order ky, kx, c matches the weight rows).
// Weight layout: w[pe][nf*SF + sf][s] = W[nf*PE + pe][sf*SIMD + s].
// Accumulators are sized by the generator from value bounds over every
// partial sum, so they never overflow in any order of summation.
#ifndef HLSGEN_MVU_H
#define HLSGEN_MVU_H

#include "hlsgen_stream.h"

namespace hlsgen {

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut,
          typename InWord, typename OutWord, typename Requant>
void mvu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const TW weights[PE][(MH / PE) * (MW / SIMD)][SIMD],
         const TAcc bias[PE][MH / PE], const Requant &requant) {
    static const unsigned SF = MW / SIMD;
    static const unsigned NF = MH / PE;
    // The input vector is reused by every neuron fold; it is kept unpacked so
    // each lane is extracted from its stream word once per frame.
    TIn inbuf[SF][SIMD];
#pragma HLS ARRAY_PARTITION variable = inbuf complete dim = 2
    TAcc acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
    unsigned sf = 0, nf = 0;
    for (unsigned i = 0; i < PIXELS * NF * SF; i++) {
#pragma HLS PIPELINE II = 1
        if (nf == 0) {
            const InWord word = in.read();
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                inbuf[sf][s] = get_lane<TIn>(word, s);
            }
        }
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            TAcc a = sf == 0 ? bias[pe][nf] : acc[pe];
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                a += weights[pe][nf * SF + sf][s] * inbuf[sf][s];
            }
            acc[pe] = a;
        }
        if (++sf == SF) {
            OutWord result = 0;
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                set_lane<TOut>(result, pe, requant(acc[pe], nf * PE + pe));
            }
            out.write(result);
            sf = 0;
            if (++nf == NF) nf = 0;
        }
    }
}

// Depthwise convolution: every channel has its own KK-tap filter. Per output
// pixel the window arrives as KK*C/SIMD words (order ky, kx, c); SIMD
// channels are processed in parallel. Weight layout: w[k][c/SIMD][SIMD].
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut,
          typename InWord, typename OutWord, typename Requant>
void dwu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const TW weights[KK][C / SIMD][SIMD], const TAcc bias[C / SIMD][SIMD],
         const Requant &requant) {
    static const unsigned CF = C / SIMD;
    TAcc acc[CF][SIMD];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 3
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 2
    for (unsigned p = 0; p < PIXELS; p++) {
        for (unsigned k = 0; k < KK; k++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                const InWord word = in.read();
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    TAcc a = k == 0 ? bias[cf][s] : acc[cf][s];
                    acc[cf][s] = a + weights[k][cf][s] * get_lane<TIn>(word, s);
                }
            }
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            OutWord result = 0;
            for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                set_lane<TOut>(result, s, requant(acc[cf][s], cf * SIMD + s));
            }
            out.write(result);
        }
    }
}

// Elementwise requantization of a stream of LANES-lane words (an activation
// that does not follow a matrix-vector unit); C channels, channels last.
template <unsigned N, unsigned LANES, unsigned C, typename TIn, typename TOut,
          typename InWord, typename OutWord, typename Requant>
void requant_stream(hls::stream<InWord> &in, hls::stream<OutWord> &out,
                    const Requant &requant) {
    for (unsigned i = 0; i < N / LANES; i++) {
#pragma HLS PIPELINE II = 1
        InWord word = in.read();
        OutWord result = 0;
        for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
            set_lane<TOut>(result, l, requant(get_lane<TIn>(word, l), (i * LANES + l) % C));
        }
        out.write(result);
    }
}

} // namespace hlsgen

#endif
