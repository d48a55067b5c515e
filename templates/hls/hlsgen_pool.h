// hlsgen kernel library: pooling. Max is exact on codes; a sum pool feeds the
// average's division into its requantization functor (never a float).
#ifndef HLSGEN_POOL_H
#define HLSGEN_POOL_H

#include "hlsgen_stream.h"
#include "hlsgen_requant.h"

namespace hlsgen {

// Taps of a window reduction: first(x, cf, s) starts a channel's
// accumulator with the window's first value, step(acc, x, k, cf, s) adds the
// k-th. Pooling ignores the position; depthwise convolution (hlsgen_mvu.h
// DepthwiseTaps) weights by it.
struct PoolMax {
    template <typename TAcc, typename TIn>
    TAcc first(const TIn &v, unsigned, unsigned) const { return TAcc(v); }
    template <typename TAcc, typename TIn>
    TAcc step(const TAcc &acc, const TIn &v, unsigned, unsigned, unsigned) const {
        return v > acc ? TAcc(v) : acc;
    }
};

struct PoolSum {
    template <typename TAcc, typename TIn>
    TAcc first(const TIn &v, unsigned, unsigned) const { return TAcc(v); }
    template <typename TAcc, typename TIn>
    TAcc step(const TAcc &acc, const TIn &v, unsigned, unsigned, unsigned) const { return acc + v; }
};

// Reduces each window of KK pixels (C/SIMD words each, order k, cf) per
// channel with the taps, then requantizes: the activation after the pool or
// convolution is fused here, saving a pass over the data.
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS, typename TIn, typename TAcc,
          typename TOut, typename InWord, typename OutWord, class Taps, typename Requant>
void reduce_windows(hls::stream<InWord> &in, hls::stream<OutWord> &out, const Taps &taps,
                    const Requant &requant) {
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
                    acc[cf][s] = k == 0 ? taps.template first<TAcc>(x[s], cf, s)
                                        : taps.template step<TAcc>(acc[cf][s], x[s], k, cf, s);
                }
            }
        }
        for (unsigned cf = 0; cf < CF; cf++) {
#pragma HLS PIPELINE II = 1
            out.write(requant_word<TOut, SIMD, OutWord>(acc[cf], requant, cf * SIMD));
        }
    }
}

// Pooling: windows from the sliding-window unit; global pooling is the
// single window of all pixels, straight from the producer (no window buffer).
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS, class Op,
          typename TIn, typename TAcc, typename TOut, typename InWord, typename OutWord,
          typename Requant>
void window_reduce(hls::stream<InWord> &in, hls::stream<OutWord> &out, const Requant &requant) {
    reduce_windows<KK, C, SIMD, PIXELS, TIn, TAcc, TOut>(in, out, Op(), requant);
}

} // namespace hlsgen

#endif
