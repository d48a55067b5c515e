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
    static const bool PLANAR = true;
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
    // Bit q of `count` consecutive codes from i on (count <= 64): whole words.
    void put_bits(int q, unsigned i, u64 bits, unsigned count) {
        const unsigned k = i / 64, off = i % 64;
        plane[q][k] |= bits << off;
        if (off + count > 64) plane[q][k + 1] |= bits >> (64 - off);
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
    static const bool PLANAR = false;
    long long v[N];
    void clear() {}
    void put(unsigned i, u64 bits) { v[i] = C::value(bits); }
    void finish() {}
};

// Bits set at every `period` bits, in runs of `run`.
constexpr u64 runs(unsigned run, unsigned period) {
    u64 m = 0;
    for (unsigned b = 0; b < 64; b++) m |= (b % period < run ? 1ULL : 0ULL) << b;
    return m;
}

// Bit 0 of each W-bit lane of x (W a power of two) gathered into the low
// 64/W bits: neighbouring runs of bits are joined, doubling, log2(64/W) times.
template <unsigned W>
inline u64 gather_lanes(u64 x) {
    static const u64 first = runs(1, W), join[6] = {runs(2, 2 * W), runs(4, 4 * W), runs(8, 8 * W),
                                                    runs(16, 16 * W), runs(32, 32 * W), runs(64, 64 * W)};
    x &= first;
    for (unsigned s = 1, j = 0; s < 64 / W; s *= 2, j++) x = (x | (x >> (s * (W - 1)))) & join[j];
    return x;
}

// Puts the LANES codes of a stream word's bits (lane 0 in the low bits) at
// positions i, i+1, ...: into bit planes a 64-bit chunk at a time where
// lanes do not straddle chunks (CHUNKS), otherwise lane by lane.
template <class C, unsigned LANES, bool CHUNKS>
struct PutLanes {
    template <class V, int WB>
    static void put(V &v, unsigned i, const Bits<WB> &bits) {
        for (unsigned l = 0; l < LANES; l++) v.put(i + l, bits.get(l * C::W, C::W));
    }
};

template <class C, unsigned LANES>
struct PutLanes<C, LANES, true> {
    template <class V, int WB>
    static void put(V &v, unsigned i, const Bits<WB> &bits) {
        static const unsigned W = C::W, L = 64 / W;  // lanes per chunk
        for (unsigned l = 0; l < LANES; l += L) {
            const unsigned count = LANES - l < L ? LANES - l : L;
            const u64 chunk = bits.get(l * W, count * W);
            for (int q = 0; q < C::PLANES; q++) v.put_bits(q, i + l, gather_lanes<W>(chunk >> q), count);
        }
    }
};

template <class C, unsigned LANES, class V, typename Word>
inline void put_word(V &v, unsigned i, const Word &word) {
    PutLanes<C, LANES, V::PLANAR && 64 % C::W == 0>::put(v, i, Bits<Word::width>(word));
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
struct DotProduct {
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
