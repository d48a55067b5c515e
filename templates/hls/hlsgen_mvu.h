// hlsgen kernel library: the matrix-vector unit.
// y = requant(W x + b) with W of MH rows x MW columns, folded onto PE
// processing elements (rows in parallel) x SIMD lanes (columns in parallel).
// One input vector is MW/SIMD words; one output vector is MH/PE words; the
// loop runs NF*SF iterations at II=1 per vector. A convolution is the same
// unit applied to PIXELS window vectors from the sliding-window generator
// (window order ky, kx, c matches the weight rows).
// Weight layout: w[pe][nf*SF + sf] is a word of SIMD lanes, lane s holding
// W[nf*PE + pe][sf*SIMD + s] (so a 1-bit design stores 1 bit per weight).
// Accumulators are sized by the generator from value bounds over every
// partial sum, so they never overflow in any order of summation.
#ifndef HLSGEN_MVU_H
#define HLSGEN_MVU_H

#include "hlsgen_stream.h"
#include "hlsgen_requant.h"

namespace hlsgen {

// Dot products of SIMD lanes, one per kind of arithmetic the lane types
// stand for. The matrix-vector unit takes one of them as a type parameter
// (one kernel, specialised by type, as in finn-hlslib). N is native<TAcc>.

// Integer weights times integer inputs.
struct DotInt {
    template <unsigned SIMD, typename N, typename TW, typename TIn>
    static typename N::type apply(const TW w[SIMD], const TIn x[SIMD]) {
#pragma HLS INLINE
        typename N::type sum = 0;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            sum += N::of(w[s]) * N::of(x[s]);
        }
        return sum;
    }
};

// +-1 weights (bit 1 = +1) times integer inputs: a conditional negation.
struct DotBipolarWeights {
    template <unsigned SIMD, typename N, typename TW, typename TIn>
    static typename N::type apply(const TW w[SIMD], const TIn x[SIMD]) {
#pragma HLS INLINE
        typename N::type sum = 0;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            sum += w[s] == 1 ? typename N::type(N::of(x[s])) : typename N::type(-N::of(x[s]));
        }
        return sum;
    }
};

// Integer weights times +-1 inputs (bit 1 = +1): the same negation, roles swapped.
struct DotBipolarInputs {
    template <unsigned SIMD, typename N, typename TW, typename TIn>
    static typename N::type apply(const TW w[SIMD], const TIn x[SIMD]) {
#pragma HLS INLINE
        return DotBipolarWeights::template apply<SIMD, N>(x, w);
    }
};

// +-1 times +-1 over packed bits: 2 * popcount(XNOR(w, x)) - SIMD, no multiplier.
struct DotXnor {
    template <unsigned SIMD, typename N, typename TW, typename TIn>
    static typename N::type apply(const TW w[SIMD], const TIn x[SIMD]) {
#pragma HLS INLINE
        unsigned pop = 0;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            pop += N::of(w[s]) == N::of(x[s]) ? 1 : 0;  // XNOR of the two bits
        }
        return typename N::type(2 * (int)pop - (int)SIMD);
    }
};

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut, class Dot,
          typename InWord, typename OutWord, typename WWord, typename Requant>
void mvu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const WWord weights[PE][(MH / PE) * (MW / SIMD)],
         const TAcc bias[PE][MH / PE], const Requant &requant) {
    static const unsigned SF = MW / SIMD;
    static const unsigned NF = MH / PE;
    typedef native<TAcc> N;
    // The input vector is reused by every neuron fold; it is kept unpacked so
    // each lane is extracted from its stream word once per frame.
    TIn inbuf[SF][SIMD];
#pragma HLS ARRAY_RESHAPE variable = inbuf complete dim = 2
    TAcc acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
// One memory per PE holding SIMD-lane words (as FINN packs them).
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
#ifndef __SYNTHESIS__
    const TW *wlanes = unpacked<TW, SIMD>(&weights[0][0], (size_t)PE * NF * SF);
#endif
    unsigned sf = 0, nf = 0;
    for (unsigned i = 0; i < PIXELS * NF * SF; i++) {
#pragma HLS PIPELINE II = 1
        if (nf == 0) unpack<TIn, SIMD>(in.read(), inbuf[sf]);
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
#ifdef __SYNTHESIS__
            TW w[SIMD];
            unpack<TW, SIMD>(weights[pe][nf * SF + sf], w);
#else
            const TW *w = wlanes + ((size_t)pe * NF * SF + nf * SF + sf) * SIMD;
#endif
            typename N::type a = N::of(sf == 0 ? bias[pe][nf] : acc[pe]);
            a += Dot::template apply<SIMD, N>(w, inbuf[sf]);
            acc[pe] = N::store(a);
        }
        if (++sf == SF) {
            out.write(requant_word<TOut, PE, OutWord>(acc, requant, nf * PE));
            sf = 0;
            if (++nf == NF) nf = 0;
        }
    }
}

// Depthwise convolution: every channel has its own KK-tap filter. Per output
// pixel the window arrives as KK*C/SIMD words (order ky, kx, c); SIMD
// channels are processed in parallel. Weight layout: w[k][c/SIMD] is a word
// of SIMD lanes.
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut,
          typename InWord, typename OutWord, typename WWord, typename Requant>
void dwu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const WWord weights[KK][C / SIMD], const TAcc bias[C / SIMD][SIMD],
         const Requant &requant) {
    static const unsigned CF = C / SIMD;
    typedef native<TAcc> N;
    TAcc acc[CF][SIMD];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 2
#ifndef __SYNTHESIS__
    const TW *wlanes = unpacked<TW, SIMD>(&weights[0][0], (size_t)KK * CF);
#endif
    for (unsigned p = 0; p < PIXELS; p++) {
        for (unsigned k = 0; k < KK; k++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                TIn x[SIMD];
                unpack<TIn, SIMD>(in.read(), x);
#ifdef __SYNTHESIS__
                TW w[SIMD];
                unpack<TW, SIMD>(weights[k][cf], w);
#else
                const TW *w = wlanes + ((size_t)k * CF + cf) * SIMD;
#endif
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    typename N::type a = N::of(k == 0 ? bias[cf][s] : acc[cf][s]);
                    acc[cf][s] = N::store(a + N::of(w[s]) * N::of(x[s]));
                }
            }
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            out.write(requant_word<TOut, SIMD, OutWord>(acc[cf], requant, cf * SIMD));
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
        TIn x[LANES];
        TOut y[LANES];
        unpack<TIn, LANES>(in.read(), x);
        for (unsigned l = 0; l < LANES; l++) {
#pragma HLS UNROLL
            y[l] = requant(x[l], (i * LANES + l) % C);
        }
        out.write(pack<TOut, LANES, OutWord>(y));
    }
}

} // namespace hlsgen

#endif
