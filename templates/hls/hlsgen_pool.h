// hlsgen kernel library: pooling. Max is exact on codes; a sum pool feeds the
// average's division into its requantization functor (never a float).
#ifndef HLSGEN_POOL_H
#define HLSGEN_POOL_H

#include "hlsgen_stream.h"
#include "hlsgen_requant.h"

namespace hlsgen {

struct PoolMax {
    template <typename TAcc, typename TIn>
    static TAcc first(const TIn &v) { return TAcc(v); }
    template <typename TAcc, typename TIn>
    static TAcc step(const TAcc &acc, const TIn &v) { return v > acc ? TAcc(v) : acc; }
};

struct PoolSum {
    template <typename TAcc, typename TIn>
    static TAcc first(const TIn &v) { return TAcc(v); }
    template <typename TAcc, typename TIn>
    static TAcc step(const TAcc &acc, const TIn &v) { return acc + v; }
};

// Reduces each window of KK pixels (C/SIMD words each, order k, cf) per
// channel, then requantizes: the activation after the pool is fused here,
// saving a pass over the data. Windows come from the sliding-window unit;
// global pooling is the single window of all pixels, straight from the
// producer (no window buffer).
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS, class Op,
          typename TIn, typename TAcc, typename TOut, typename InWord, typename OutWord,
          typename Requant>
void window_reduce(hls::stream<InWord> &in, hls::stream<OutWord> &out, const Requant &requant) {
    static const unsigned CF = C / SIMD;
    TAcc acc[CF][SIMD];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
    for (unsigned p = 0; p < PIXELS; p++) {
        for (unsigned k = 0; k < KK; k++) {
            for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
                TIn x[SIMD];
                unpack<TIn, SIMD>(in.read(), x);
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    acc[cf][s] = k == 0 ? Op::template first<TAcc>(x[s]) : Op::template step<TAcc>(acc[cf][s], x[s]);
                }
            }
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            out.write(requant_word<TOut, SIMD, OutWord>(acc[cf], requant, cf * SIMD));
        }
    }
}

} // namespace hlsgen

#endif
