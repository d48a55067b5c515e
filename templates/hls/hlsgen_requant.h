// hlsgen kernel library: requantization of an accumulator to an output code.
// Each functor maps (accumulator, channel) -> output code with integer
// arithmetic only. The generator derives the parameters from the framework's
// own quantizer and proves them equal to it; this file only evaluates them.
#ifndef HLSGEN_REQUANT_H
#define HLSGEN_REQUANT_H

#include "ap_int.h"
#include "hlsgen_stream.h"

namespace hlsgen {

enum RoundMode { ROUND_FLOOR = 0, ROUND_HALF_UP = 1, ROUND_HALF_EVEN = 2 };

// The accumulator passed through unchanged (logits of a last layer).
template <typename TAcc, typename TOut>
struct RequantIdentity {
    TOut operator()(const TAcc &acc, unsigned) const {
#pragma HLS INLINE
        return TOut(acc);
    }
};

// out = clamp(round(acc * 2^-SHIFT), LO, HI): a power-of-two rescale.
// SHIFT > 0 drops fraction bits with the given rounding; SHIFT <= 0 is exact.
template <typename TAcc, typename TOut, int SHIFT, int ROUND,
          bool CLAMP_LO, long long LO, bool CLAMP_HI, long long HI>
struct RequantShift {
    static const int LSHIFT = SHIFT < 0 ? -SHIFT : 0;
    static const int RSHIFT = SHIFT > 0 ? SHIFT : 0;
    typedef ap_int<TAcc::width + LSHIFT + 2> wide_t;

    // The rescale, written once for any integer type with two's-complement
    // shifts: ap_int in synthesis, a native integer in C simulation when the
    // value fits in 62 bits.
    template <typename Int>
    static Int rescale(Int v) {
#pragma HLS INLINE
        Int q = v >> RSHIFT;  // arithmetic shift: floor
        if (RSHIFT > 0 && ROUND != ROUND_FLOOR) {
            const Int one = 1;
            const Int mask = (one << RSHIFT) - one;
            const Int half = one << (RSHIFT > 0 ? RSHIFT - 1 : 0);
            const Int rem = v & mask;
            const bool up = ROUND == ROUND_HALF_UP ? rem >= half
                                                   : (rem > half || (rem == half && (q & one) == one));
            if (up) q = q + one;
        }
        if (CLAMP_LO && q < Int(LO)) q = Int(LO);
        if (CLAMP_HI && q > Int(HI)) q = Int(HI);
        return q;
    }

    TOut operator()(const TAcc &acc, unsigned) const {
#pragma HLS INLINE
#ifndef HLSGEN_SYNTHESIS
        if (TAcc::width + LSHIFT + 2 <= 62) return TOut(rescale<long long>(acc.to_int64() * (1LL << LSHIFT)));
#endif
        return TOut(rescale<wide_t>(wide_t(acc) << LSHIFT));
    }
};

// out = BASE + #{k : acc >= thr[ch][k]}: any monotonic quantizer, exactly.
// CH is 1 when one set of thresholds serves every channel. With NEG, the
// channels flagged in neg[] compare -acc (their function decreases, e.g. a
// negative batch-norm gain). Thresholds are 2 bits wider than the
// accumulator so that negation and "never reached" values always fit.
template <typename TAcc, typename TOut, unsigned CH, unsigned NT, long long BASE, bool NEG>
struct RequantThresholds {
    typedef ap_int<TAcc::width + 2> thr_t;
    thr_t thr[CH][NT];
    ap_uint<1> neg[CH];

    TOut operator()(const TAcc &acc, unsigned ch) const {
#pragma HLS INLINE
        typedef native<thr_t> N;
        const unsigned c = CH == 1 ? 0 : ch;
        typename N::type v = N::of(thr_t(acc));
        if (NEG && neg[c] == 1) v = -v;
        unsigned count = 0;
        for (unsigned k = 0; k < NT; k++) {
#pragma HLS UNROLL
            count += v >= N::of(thr[c][k]) ? 1 : 0;
        }
        return TOut(BASE + (long long)count);
    }
};

// out = table[ch][acc - IN_LO]: the framework's own output for every input
// code (smooth or non-monotonic activations; at most 4096 entries).
template <typename TAcc, typename TOut, unsigned CH, unsigned N, long long IN_LO>
struct RequantLUT {
    TOut table[CH][N];

    TOut operator()(const TAcc &acc, unsigned ch) const {
#pragma HLS INLINE
        const unsigned c = CH == 1 ? 0 : ch;
        const long long index = acc.to_int64() - IN_LO;
#ifndef HLSGEN_SYNTHESIS
        if (index < 0 || index >= (long long)N) overflow(acc.to_int64(), TAcc::width);
#endif
        return table[c][index];
    }
};

// N accumulators of consecutive channels (from ch0) requantized and packed
// into one output word: the last step of every kernel with a requantization.
template <typename TOut, unsigned N, typename OutWord, typename TAcc, typename Requant>
inline OutWord requant_word(const TAcc acc[N], const Requant &requant, unsigned ch0) {
#pragma HLS INLINE
    TOut y[N];
#pragma HLS ARRAY_PARTITION variable = y complete dim = 1
    for (unsigned i = 0; i < N; i++) {
#pragma HLS UNROLL
        y[i] = requant(acc[i], ch0 + i);
    }
    return pack<TOut, N, OutWord>(y);
}

} // namespace hlsgen

#endif
