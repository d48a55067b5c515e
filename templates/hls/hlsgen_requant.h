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

// Bits of the smallest ap_int holding the constant V.
template <long long V>
struct signed_bits {
    static const int value = 1 + signed_bits<(V >> 1)>::value;
};
template <>
struct signed_bits<0> {
    static const int value = 1;
};
template <>
struct signed_bits<-1> {
    static const int value = 1;
};

// The wider of two widths.
template <int A, int B>
struct wider {
    static const int value = A > B ? A : B;
};

// out = clamp(round(acc * 2^-SHIFT), LO, HI): a power-of-two rescale.
// SHIFT > 0 drops fraction bits with the given rounding; SHIFT <= 0 is exact.
template <typename TAcc, typename TOut, int SHIFT, int ROUND,
          bool CLAMP_LO, long long LO, bool CLAMP_HI, long long HI>
struct RequantShift {
    static const int LSHIFT = SHIFT < 0 ? -SHIFT : 0;
    static const int RSHIFT = SHIFT > 0 ? SHIFT : 0;
    // The arithmetic type holds every value rescale() computes: the shifted
    // accumulator with a sign bit and the rounding carry; 2^RSHIFT, the
    // rounding mask (shifts may reach the accumulator's width or exceed it);
    // the clamp bounds (the output grid's, often wider than the accumulator).
    static const int WIDTH = wider<wider<TAcc::width + LSHIFT + 2, RSHIFT + 2>::value,
                                   wider<signed_bits<LO>::value, signed_bits<HI>::value>::value>::value;
    typedef ap_int<WIDTH> wide_t;

    // The rescale, written once for any integer type with two's-complement
    // shifts that holds WIDTH bits: ap_int in synthesis, a native integer in
    // C simulation when WIDTH <= 62.
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
        if (WIDTH <= 62) return TOut(rescale<long long>(acc.to_int64() * (1LL << (WIDTH <= 62 ? LSHIFT : 0))));
#endif
        return TOut(rescale<wide_t>(wide_t(acc) << LSHIFT));
    }
};

// out = BASE + #{k : acc >= thr[ch][k]}: any monotonic quantizer, exactly.
// CH is 1 when one set of thresholds serves every channel. With NEG, the
// channels flagged in neg[] compare -acc (their function decreases, e.g. a
// negative batch-norm gain). Thresholds are 2 bits wider than the
// accumulator so that negation and "never reached" values always fit.
// Partitioning, so that every lane of an output word is served in one cycle:
// a lane compares with all NT thresholds of its channel at once (dim 2
// complete). With CH > 1 the lanes of one word read as many different
// channels in the same cycle, lane i channel ch0 + i with ch0 a multiple of
// the lane count (mvu: PE; window reductions: SIMD); so dim 1 is split
// cyclically into LANES banks (at most CH), lane i reading only bank i
// (FINN's layout). The default LANES = CH partitions completely, which
// serves any mapping of lanes to channels at CH*NT registers (Vitis HLS
// refuses complete partitions above 4096 elements; passing PE as LANES
// avoids that).
template <typename TAcc, typename TOut, unsigned CH, unsigned NT, long long BASE, bool NEG,
          unsigned LANES = CH>
struct RequantThresholds {
    typedef ap_int<TAcc::width + 2> thr_t;
    static const unsigned BANKS = LANES < CH ? LANES : CH;
    thr_t thr[CH][NT];
    ap_uint<1> neg[CH];

    TOut operator()(const TAcc &acc, unsigned ch) const {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = thr complete dim = 2
#pragma HLS ARRAY_PARTITION variable = thr cyclic factor = BANKS dim = 1
#pragma HLS ARRAY_PARTITION variable = neg cyclic factor = BANKS dim = 1
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

// out = clamp(floor((acc * m[ch] + b[ch]) * 2^-SHIFT), LO, HI): Jacob et al.
// 2018's integer multiplier and shift (M0 * 2^-n, the rounding folded into
// b), for monotonic quantizers after batch-norm or per-channel scales whose
// thresholds would be many; except at the NX codes x[ch][k], where out =
// y[ch][k] (codes where the framework's own float32 arithmetic rounds
// across a boundary that no line follows; unused entries repeat a code with
// the line's own output). The generator chooses m, b, SHIFT and the
// exceptions and proves the result equal to the framework on every
// reachable accumulator code (gen/passes/requant.py); M_BITS and B_BITS are
// the widths of m and b. CH is 1 when one line serves every channel; LANES
// as for RequantThresholds (m, b, x and y are banked alike).
template <typename TAcc, typename TOut, unsigned CH, int M_BITS, int B_BITS, int SHIFT,
          long long LO, long long HI, unsigned NX, unsigned LANES = CH>
struct RequantMultiply {
    static const unsigned BANKS = LANES < CH ? LANES : CH;
    static const unsigned NXA = NX > 0 ? NX : 1;   // C++ has no empty arrays
    // The product of the accumulator (a sign bit added when unsigned) and
    // m, plus b: the wider of the two, and a carry.
    static const int ACC_BITS = TAcc::width + (is_signed_lane<TAcc>::value ? 0 : 1);
    static const int WIDTH = wider<ACC_BITS + M_BITS, B_BITS>::value + 1;
    // The shifted value is compared with the clamp bounds: they fit too.
    static const int CMP = wider<WIDTH, wider<signed_bits<LO>::value, signed_bits<HI>::value>::value>::value;
    typedef ap_int<M_BITS> m_t;
    typedef ap_int<B_BITS> b_t;
    typedef ap_int<ACC_BITS> acc_t;
    typedef ap_int<WIDTH> wide_t;
    typedef ap_int<CMP> cmp_t;
    m_t m[CH];
    b_t b[CH];
    TAcc x[CH][NXA];
    TOut y[CH][NXA];

    // Clamp of the shifted value to [LO, HI], in any integer type holding CMP bits.
    template <typename Int>
    static TOut clamp(Int q) {
#pragma HLS INLINE
        if (q < Int(LO)) q = Int(LO);
        if (q > Int(HI)) q = Int(HI);
        return TOut(q);
    }

    TOut operator()(const TAcc &acc, unsigned ch) const {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = m cyclic factor = BANKS dim = 1
#pragma HLS ARRAY_PARTITION variable = b cyclic factor = BANKS dim = 1
#pragma HLS ARRAY_PARTITION variable = x complete dim = 2
#pragma HLS ARRAY_PARTITION variable = x cyclic factor = BANKS dim = 1
#pragma HLS ARRAY_PARTITION variable = y complete dim = 2
#pragma HLS ARRAY_PARTITION variable = y cyclic factor = BANKS dim = 1
        const unsigned c = CH == 1 ? 0 : ch;
        TOut out;
#ifndef HLSGEN_SYNTHESIS
        if (CMP <= 62) {
            out = clamp<long long>((acc.to_int64() * m[c].to_int64() + b[c].to_int64()) >> SHIFT);
        } else
#endif
        {
            const wide_t v = wide_t(acc_t(acc) * m[c]) + wide_t(b[c]);
            out = clamp<cmp_t>(cmp_t(v >> SHIFT));
        }
        for (unsigned k = 0; k < NX; k++) {
#pragma HLS UNROLL
            if (acc == x[c][k]) out = y[c][k];
        }
        return out;
    }
};

// out = table[ch][acc - IN_LO]: the framework's own output for every input
// code (smooth or non-monotonic activations; at most 4096 entries).
// Several lanes read data-dependent entries in the same cycle, while a block
// RAM has two ports: the constant table is partitioned completely, so each
// lane's lookup becomes its own function of the accumulator in logic (a ROM
// in LUTs per lane). CH * N must stay within Vitis HLS's 4096 elements.
template <typename TAcc, typename TOut, unsigned CH, unsigned N, long long IN_LO>
struct RequantLUT {
    TOut table[CH][N];

    TOut operator()(const TAcc &acc, unsigned ch) const {
#pragma HLS INLINE
#pragma HLS ARRAY_PARTITION variable = table complete dim = 0
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
