// hlsgen kernel library, C simulation only: dot products over packed words.
// A vector of N codes is held as bit planes of N bits (64 to a word): plane
// q holds bit q of every code. With a code standing for
// sum_q c_q * bit_q + d (c_q = 2^q, the top plane of a signed code
// -2^(W-1), d = 0; a bipolar code, bit 1 = +1, is 2 * bit - 1), a dot
// product is
//   sum_i w_i x_i = sum_{p,q} cw_p cx_q popcount(Wp & Xq)
//                   + dx * sum_p cw_p popcount(Wp) + dw * sum_q cx_q popcount(Xq) + dw dx N,
// one popcount per 64 lanes and plane pair; +-1 x +-1 is N - 2 popcount(W ^ X)
// (XNOR-popcount). Unused bits of the last word are zero in both vectors,
// so they count nowhere. Codes with more plane pairs than PLANAR_PAIRS
// multiply natively instead (a popcount per plane pair would cost more than
// a multiply-add per lane). The synthesis branch keeps its lane arithmetic;
// both are compared with the golden executor.
#ifndef HLSGEN_PACKED_H
#define HLSGEN_PACKED_H

#include "hlsgen_stream.h"

#ifndef HLSGEN_SYNTHESIS
namespace hlsgen {
namespace packed {

typedef unsigned long long u64;

static const int PLANAR_PAIRS = 16;

// How the codes of lane type T stand for values (BIPOLAR: bit 1 = +1).
template <typename T, bool BIPOLAR>
struct Code {
    static const int W = T::width;
    static const int PLANES = BIPOLAR ? 1 : W;
    static const long long OFFSET = BIPOLAR ? -1 : 0;
    static long long coef(int q) {
        return BIPOLAR ? 2 : (is_signed_lane<T>::value && q == W - 1) ? -(1LL << q) : (1LL << q);
    }
    // The value of a code given by its W low bits.
    static long long value(u64 bits) {
        if (BIPOLAR) return bits ? 1 : -1;
        if (is_signed_lane<T>::value && ((bits >> (W - 1)) & 1)) return (long long)bits - (1LL << W);
        return (long long)bits;
    }
};

// N codes of kind C, as bit planes (PLANAR) or as native values.
template <class C, unsigned N, bool PLANAR>
struct Vec;

template <class C, unsigned N>
struct Vec<C, N, true> {
    static const unsigned WORDS = (N + 63) / 64;
    u64 plane[C::PLANES][WORDS];
    long long sum;  // sum_q c_q popcount(plane q): the offsets' term

    void clear() {
        for (int q = 0; q < C::PLANES; q++)
            for (unsigned k = 0; k < WORDS; k++) plane[q][k] = 0;
    }
    // Code i from its W low bits.
    void put(unsigned i, u64 bits) {
        for (int q = 0; q < C::PLANES; q++) plane[q][i / 64] |= ((bits >> q) & 1) << (i % 64);
    }
    // `count` consecutive 1-bit codes from i on (count <= 64): whole words.
    void put_bits(unsigned i, u64 bits, unsigned count) {
        const unsigned k = i / 64, off = i % 64;
        plane[0][k] |= bits << off;
        if (off + count > 64) plane[0][k + 1] |= bits >> (64 - off);
    }
    void finish() {
        sum = 0;
        for (int q = 0; q < C::PLANES; q++) {
            long long pop = 0;
            for (unsigned k = 0; k < WORDS; k++) pop += __builtin_popcountll(plane[q][k]);
            sum += C::coef(q) * pop;
        }
    }
};

template <class C, unsigned N>
struct Vec<C, N, false> {
    long long v[N];
    void clear() {}
    void put(unsigned i, u64 bits) { v[i] = C::value(bits); }
    void put_bits(unsigned i, u64 bits, unsigned count) {
        for (unsigned l = 0; l < count; l++) put(i + l, (bits >> l) & 1);
    }
    void finish() {}
};

// Puts the LANES codes of stream word `word` (lane 0 in the low bits) at
// positions i, i+1, ...: words of 1-bit codes 64 lanes at a time.
template <class C, unsigned LANES, class V, typename Word>
inline void put_word(V &v, unsigned i, const Word &word) {
    static const int W = C::W;
    const Bits<Word::width> bits(word);
    if (W == 1) {
        for (unsigned l = 0; l < LANES; l += 64) {
            const unsigned count = LANES - l < 64 ? LANES - l : 64;
            v.put_bits(i + l, bits.get(l, count), count);
        }
        return;
    }
    for (unsigned l = 0; l < LANES; l++) v.put(i + l, bits.get(l * W, W));
}

template <class CW, class CX, unsigned N>
inline long long dot(const Vec<CW, N, true> &w, const Vec<CX, N, true> &x) {
    static const unsigned WORDS = Vec<CW, N, true>::WORDS;
    if (CW::OFFSET != 0 && CX::OFFSET != 0) {  // +-1 x +-1: XNOR-popcount
        long long differ = 0;
        for (unsigned k = 0; k < WORDS; k++) differ += __builtin_popcountll(w.plane[0][k] ^ x.plane[0][k]);
        return (long long)N - 2 * differ;
    }
    long long cross = 0;
    for (int p = 0; p < CW::PLANES; p++) {
        for (int q = 0; q < CX::PLANES; q++) {
            long long both = 0;
            for (unsigned k = 0; k < WORDS; k++) both += __builtin_popcountll(w.plane[p][k] & x.plane[q][k]);
            cross += CW::coef(p) * CX::coef(q) * both;
        }
    }
    return cross + CX::OFFSET * w.sum + CW::OFFSET * x.sum + CW::OFFSET * CX::OFFSET * (long long)N;
}

template <class CW, class CX, unsigned N>
inline long long dot(const Vec<CW, N, false> &w, const Vec<CX, N, false> &x) {
    long long sum = 0;
    for (unsigned i = 0; i < N; i++) sum += w.v[i] * x.v[i];
    return sum;
}

// The dot product of N weights of lane type TW and N inputs of lane type TX
// (bipolar or integer codes), in the form their widths favour.
template <typename TW, bool W_BIPOLAR, typename TX, bool X_BIPOLAR, unsigned N>
struct Dot {
    typedef Code<TW, W_BIPOLAR> CW;
    typedef Code<TX, X_BIPOLAR> CX;
    static const bool PLANAR = CW::PLANES * CX::PLANES <= PLANAR_PAIRS;
    typedef Vec<CW, N, PLANAR> WVec;
    typedef Vec<CX, N, PLANAR> XVec;
    static long long apply(const WVec &w, const XVec &x) { return dot(w, x); }
};

} // namespace packed
} // namespace hlsgen
#endif

#endif
