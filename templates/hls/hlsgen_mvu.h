// hlsgen kernel library: the matrix-vector unit.
// y = requant(W x + b) with W of MH rows x MW columns, folded onto PE
// processing elements (rows in parallel) x SIMD lanes (columns in parallel).
// One input vector is MW/SIMD words; one output vector is MH/PE words; the
// loop runs NF*SF iterations at II=1 per vector. A convolution is the same
// unit applied to PIXELS window vectors from the sliding-window generator
// (window order ky, kx, c matches the weight rows).
// Weight layout: one memory per PE of words of SIMD lanes, word
// j = nf*SF + sf holding W[nf*PE + pe][sf*SIMD + s] in lane s (so a 1-bit
// design stores 1 bit per weight); narrow words are packed K to a memory
// word (see WeightMemory).
// Accumulators are sized by the generator from value bounds over every
// partial sum, so they never overflow in any order of summation.
// Fully unrolled (SIMD = MW, PE = MH) every weight memory is one word of
// constants, so synthesis propagates them: zero products disappear and
// +-2^k ones become shifts (the constant-weight unit of the cost model).
// A pruned or weight-shared matrix walks a tile list instead (TileWeights).
#ifndef HLSGEN_MVU_H
#define HLSGEN_MVU_H

#include "hlsgen_stream.h"
#include "hlsgen_requant.h"
#include "hlsgen_pool.h"
#include "hlsgen_packed.h"

namespace hlsgen {

// Dot products of SIMD lanes, one per kind of arithmetic the lane types
// stand for. The matrix-vector unit takes one of them as a type parameter
// (one kernel, specialised by type, as in finn-hlslib). N is native<TAcc>.

// Sums the products of SIMD lanes; Mul says what one lane product is.
template <class Mul>
struct DotSum {
    static const bool W_BIPOLAR = Mul::A_BIPOLAR, X_BIPOLAR = Mul::B_BIPOLAR;
    template <unsigned SIMD, typename N, typename TW, typename TIn>
    static typename N::type apply(const TW w[SIMD], const TIn x[SIMD]) {
#pragma HLS INLINE
        typename N::type sum = 0;
        for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
            sum += Mul::template product<N>(w[s], x[s]);
        }
        return sum;
    }
};

// Integer times integer.
struct MulInt {
    static const bool A_BIPOLAR = false, B_BIPOLAR = false;
    template <typename N, typename A, typename B>
    static typename N::type product(const A &a, const B &b) { return N::of(a) * N::of(b); }
};

// A +-1 factor (bit 1 = +1) times an integer: a conditional negation.
struct MulBipolar {
    static const bool A_BIPOLAR = true, B_BIPOLAR = false;
    template <typename N, typename Bit, typename B>
    static typename N::type product(const Bit &sign, const B &b) {
        return sign == 1 ? typename N::type(N::of(b)) : typename N::type(-N::of(b));
    }
};

// The same with the roles of weight and input swapped.
struct MulBipolarInput {
    static const bool A_BIPOLAR = false, B_BIPOLAR = true;
    template <typename N, typename A, typename Bit>
    static typename N::type product(const A &a, const Bit &sign) {
        return MulBipolar::template product<N>(sign, a);
    }
};

typedef DotSum<MulInt> DotInt;                        // integer weights, integer inputs
typedef DotSum<MulBipolar> DotBipolarWeights;         // +-1 weights, integer inputs
typedef DotSum<MulBipolarInput> DotBipolarInputs;     // integer weights, +-1 inputs

// +-1 times +-1 over packed bits: 2 * popcount(XNOR(w, x)) - SIMD, no multiplier.
struct DotXnor {
    static const bool W_BIPOLAR = true, X_BIPOLAR = true;
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

// A weight memory of DEPTH memory words (type MemWord: an ap_uint, or a
// native unsigned integer whose initialiser g++ compiles as constant data)
// holding WORDS words of SIMD lanes of type TW: K = WORDS / DEPTH
// consecutive words per memory word (the generator picks K, a power of two,
// so that narrow words fill memory words of up to 64 bits: BRAM-shaped ROMs
// with short initialisers), word j in bits [(j%K)*SIMD*W, (j%K+1)*SIMD*W)
// of memory word j/K. Both branches read the same memory words: synthesis
// selects the word from the ROM word (a range select), C simulation unpacks
// every lane once per parameter load (unpacked()), in the same order.
template <typename TW, unsigned SIMD, unsigned WORDS, unsigned DEPTH, typename MemWord>
struct WeightMemory {
    static const unsigned K = WORDS / DEPTH;
    static const unsigned WORD_BITS = SIMD * TW::width;
    typedef ap_uint<WORD_BITS> word_t;
    typedef ap_uint<K * WORD_BITS> mem_t;
    // The generator's packing, checked at compile time.
    typedef char depth_is_a_multiple[K * DEPTH == WORDS ? 1 : -1];
    typedef char k_is_a_power_of_two[(K & (K - 1)) == 0 ? 1 : -1];
    typedef char words_fit[K * WORD_BITS <= word_bits<MemWord>::value ? 1 : -1];

#ifdef HLSGEN_SYNTHESIS
    // Word j of a memory: the SIMD lanes of word j % K of memory word j / K.
    static word_t word(const MemWord mem[DEPTH], unsigned j) {
#pragma HLS INLINE
        const mem_t m = mem_t(mem[j / K]);
        return get_lane<word_t>(m, j % K);
    }
#else
    // C simulation: the lanes of `memories` memories, lane s of word j of
    // memory b at [(b*WORDS + j)*SIMD + s].
    static const TW *lanes(const MemWord *mem, unsigned memories) {
        return unpacked<TW, K * SIMD>(mem, (size_t)memories * DEPTH);
    }
#endif
};

#ifndef HLSGEN_SYNTHESIS
// C simulation: the MH weight rows of a matrix-vector unit in the packed dot
// product's form P, built once per parameter load from the unpacked lanes
// (lane s of word nf*SF + sf of memory pe is W[nf*PE + pe][sf*SIMD + s]).
template <class P, unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, typename MemWord, typename TW>
const typename P::WVec *packed_rows(const MemWord *mem, const TW *lanes) {
    return derived<std::vector<typename P::WVec> >(mem, [&] {
        static const unsigned SF = MW / SIMD, NF = MH / PE;
        std::vector<typename P::WVec> rows(MH);
        for (unsigned r = 0; r < MH; r++) {
            const unsigned nf = r / PE, pe = r % PE;
            rows[r].clear();
            for (unsigned c = 0; c < MW; c++) {
                const TW &w = lanes[((size_t)pe * NF * SF + nf * SF + c / SIMD) * SIMD + c % SIMD];
                rows[r].put(c, w.range(TW::width - 1, 0).to_uint64());
            }
            rows[r].finish();
        }
        return rows;
    }).data();
}
#endif

#ifndef HLSGEN_SYNTHESIS
// C simulation of a matrix-vector unit: a pixel's whole input vector, packed
// once, against every weight row (hlsgen_packed.h), in the same order of
// reads and writes as the synthesis branch. Only the whole sum is checked to
// fit the accumulator: the synthesis branch's partial sums wrap modulo
// 2^width, so a sum that fits is exact in any order (and the generator
// bounds every partial sum anyway).
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS, typename TAcc,
          typename TOut, class P, typename InWord, typename OutWord, typename Requant>
void mvu_rows(hls::stream<InWord> &in, hls::stream<OutWord> &out, const typename P::WVec *rows,
              const TAcc bias[PE][MH / PE], const Requant &requant) {
    static const unsigned SF = MW / SIMD, NF = MH / PE;
    typedef native<TAcc> N;
    std::vector<typename P::XVec> xbuf(1);
    typename P::XVec &x = xbuf[0];
    for (unsigned px = 0; px < PIXELS; px++) {
        x.clear();
        for (unsigned sf = 0; sf < SF; sf++) packed::put_word<typename P::CX, SIMD>(x, sf * SIMD, in.read());
        x.finish();
        for (unsigned nf = 0; nf < NF; nf++) {
            TAcc acc[PE];
            for (unsigned lane = 0; lane < PE; lane++)
                acc[lane] = N::store(N::of(bias[lane][nf]) + P::apply(rows[nf * PE + lane], x));
            out.write(requant_word<TOut, PE, OutWord>(acc, requant, nf * PE));
        }
    }
}
#endif

template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut, class Dot,
          typename InWord, typename OutWord, typename MemWord, unsigned WDEPTH, typename Requant>
void mvu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const MemWord weights[PE][WDEPTH],
         const TAcc bias[PE][MH / PE], const Requant &requant) {
    static const unsigned SF = MW / SIMD;
    static const unsigned NF = MH / PE;
    typedef WeightMemory<TW, SIMD, NF * SF, WDEPTH, MemWord> Mem;
#ifdef HLSGEN_SYNTHESIS
    typedef native<TAcc> N;
    // The input vector is reused by every neuron fold; it is kept unpacked so
    // each lane is extracted from its stream word once per frame.
    TIn inbuf[SF][SIMD];
#pragma HLS ARRAY_RESHAPE variable = inbuf complete dim = 2
    TAcc acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
// One memory per PE (as FINN packs them), of packed SIMD-lane words.
#pragma HLS ARRAY_PARTITION variable = weights complete dim = 1
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
    unsigned sf = 0, nf = 0;
    for (unsigned i = 0; i < PIXELS * NF * SF; i++) {
#pragma HLS PIPELINE II = 1
        if (nf == 0) unpack<TIn, SIMD>(in.read(), inbuf[sf]);
        for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
            TW w[SIMD];
            unpack<TW, SIMD>(Mem::word(weights[pe], nf * SF + sf), w);
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
#else
    typedef packed::DotProduct<TW, Dot::W_BIPOLAR, TIn, Dot::X_BIPOLAR, MW> P;
    mvu_rows<MW, MH, SIMD, PE, PIXELS, TAcc, TOut, P, InWord, OutWord>(
        in, out, packed_rows<P, MW, MH, SIMD, PE>(&weights[0][0], Mem::lanes(&weights[0][0], PE)),
        bias, requant);
#endif
}

// How a tile-walking unit's memories hold its weights: as the weights
// themselves (Plain), or as codes into a codebook of CODES weights (weight
// sharing: a layer with at most 2^b distinct weights stores b-bit codes).
struct Plain {
    char book[1];  // unused (an aggregate needs a member; the kernel partitions `book`)
    template <typename TW> struct lane { typedef TW type; };
    template <typename TW, typename TS>
    TW weight(const TS &w) const {
#pragma HLS INLINE
        return w;
    }
};

template <typename TCode, unsigned CODES, typename TBook>
struct Codebook {
    TBook book[CODES];
    template <typename TW> struct lane { typedef TCode type; };
    template <typename TW, typename TS>
    TW weight(const TS &code) const {
#pragma HLS INLINE
        return TW(book[(unsigned)code]);
    }
};

// The weights of a tile-walking unit (gen/arch/dataflow/sparse.py, design.py).
// Of the NF x SF tiles of PE rows x SIMD columns, the TILES stored are
// visited in order, neuron fold by neuron fold, column tiles ascending. When
// INDEXED, only tiles holding a non-zero weight are stored (a neuron fold
// with none keeps one zero tile) and idx[t] = column tile of stored tile t
// * 2 + 1 if it is the last of its neuron fold; otherwise every tile is
// stored in the dense order and idx is unused. Book: Plain or a Codebook.
// ITERS: the trip count of the unit's loop, computed by the generator from
// the same schedule.
template <typename MemWord, unsigned PE, unsigned DEPTH, unsigned TILES, bool INDEXED,
          typename IdxWord, unsigned ITERS, class Book>
struct TileWeights {
    MemWord mem[PE][DEPTH];  // as the dense unit's memories, TILES words each
    IdxWord idx[INDEXED ? TILES : 1];
    Book codes;
};

// Visit code of stored tile t: column tile * 2 + last of its neuron fold.
template <unsigned SF, unsigned TILES, bool INDEXED, typename IdxWord>
inline unsigned tile_code(const IdxWord idx[INDEXED ? TILES : 1], unsigned t) {
#pragma HLS INLINE
    if (INDEXED) return (unsigned)idx[t];
    const unsigned sf = t % SF;
    return sf * 2 + (sf == SF - 1 ? 1 : 0);
}

#ifndef HLSGEN_SYNTHESIS
// C simulation: the MH dense weight rows of a tile list (zero where no tile
// is stored), decoded, in the packed dot product's form P, built once per load.
template <class P, unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, typename TW, typename TS,
          unsigned TILES, bool INDEXED, typename MemWord, typename IdxWord, unsigned ITERS,
          class Book, unsigned DEPTH>
const typename P::WVec *tile_rows(const TileWeights<MemWord, PE, DEPTH, TILES, INDEXED, IdxWord,
                                                    ITERS, Book> &weights,
                                  const TS *lanes) {
    return derived<std::vector<typename P::WVec> >(&weights.mem[0][0], [&] {
        std::vector<typename P::WVec> rows(MH);
        for (unsigned r = 0; r < MH; r++) rows[r].clear();
        unsigned nf = 0;
        for (unsigned t = 0; t < TILES; t++) {
            const unsigned code = tile_code<MW / SIMD, TILES, INDEXED>(weights.idx, t);
            for (unsigned lane = 0; lane < PE; lane++)
                for (unsigned s = 0; s < SIMD; s++) {
                    const TW w = weights.codes.template weight<TW>(lanes[((size_t)lane * TILES + t) * SIMD + s]);
                    rows[nf * PE + lane].put((code >> 1) * SIMD + s, w.range(TW::width - 1, 0).to_uint64());
                }
            if (code & 1) nf++;
        }
        for (unsigned r = 0; r < MH; r++) rows[r].finish();
        return rows;
    }).data();
}
#endif

#ifdef HLSGEN_SYNTHESIS
// Synthesis: the tile walk over the unit's memories as arrays, partitioned
// as the dense unit's are.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut, class Dot,
          typename InWord, typename OutWord, typename MemWord, unsigned WDEPTH, unsigned TILES,
          bool INDEXED, typename IdxWord, unsigned ITERS, class Book, typename Requant>
void tile_walk(hls::stream<InWord> &in, hls::stream<OutWord> &out, const MemWord mem[PE][WDEPTH],
               const IdxWord idx[INDEXED ? TILES : 1], const Book &codes,
               const TAcc bias[PE][MH / PE], const Requant &requant) {
    static const unsigned SF = MW / SIMD;
    typedef typename Book::template lane<TW>::type TS;   // a lane as stored
    typedef WeightMemory<TS, SIMD, TILES, WDEPTH, MemWord> Mem;
    static const unsigned NF = MH / PE;
    typedef native<TAcc> N;
    TIn inbuf[2][SF][SIMD];
#pragma HLS ARRAY_RESHAPE variable = inbuf complete dim = 3
#pragma HLS ARRAY_PARTITION variable = inbuf complete dim = 1
    TAcc acc[PE];
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
#pragma HLS ARRAY_PARTITION variable = mem complete dim = 1
#pragma HLS ARRAY_PARTITION variable = codes.book complete dim = 1
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 1
    unsigned rpx = 0, rsf = 0;          // the next input word to read: pixel, word
    unsigned vpx = 0, t = 0, nf = 0;    // the next tile to visit: pixel, tile, its neuron fold
    bool first = true;                  // the next tile starts its neuron fold
    // The codes of tiles t and t+1 in registers: the visit test compares a
    // register, and the index memory is read two tiles ahead (address t+2,
    // known at the start of the iteration), so no index-memory read lies on
    // the loop-carried visit -> t path. Same visiting schedule as reading idx[t].
    unsigned code = tile_code<SF, TILES, INDEXED>(idx, 0);
    unsigned code1 = tile_code<SF, TILES, INDEXED>(idx, 1 % TILES);
    for (unsigned i = 0; i < ITERS; i++) {
#pragma HLS PIPELINE II = 1
        unsigned ahead = t + 2;          // tile t+2, wrapping to the next pixel's
        if (ahead >= TILES) ahead -= TILES;
        if (ahead >= TILES) ahead -= TILES;
        const unsigned code2 = tile_code<SF, TILES, INDEXED>(idx, ahead);
        const unsigned sf = code >> 1;
        const bool last = (code & 1) != 0;
        // Decided before this iteration's read: a word is used from the next one.
        const bool visit = vpx < PIXELS && (rpx > vpx || rsf > sf);
        if (rpx < PIXELS && rpx <= vpx + 1) {
            unpack<TIn, SIMD>(in.read(), inbuf[rpx & 1][rsf]);
            if (++rsf == SF) {
                rsf = 0;
                rpx++;
            }
        }
        if (visit) {
            for (unsigned pe = 0; pe < PE; pe++) {
#pragma HLS UNROLL
                TS stored[SIMD];
                TW w[SIMD];
                unpack<TS, SIMD>(Mem::word(mem[pe], t), stored);
                for (unsigned s = 0; s < SIMD; s++) {
#pragma HLS UNROLL
                    w[s] = codes.template weight<TW>(stored[s]);
                }
                typename N::type a = N::of(first ? bias[pe][nf] : acc[pe]);
                a += Dot::template apply<SIMD, N>(w, inbuf[vpx & 1][sf]);
                acc[pe] = N::store(a);
            }
            first = last;
            if (last) {
                out.write(requant_word<TOut, PE, OutWord>(acc, requant, nf * PE));
                if (++nf == NF) nf = 0;
            }
            if (++t == TILES) {
                t = 0;
                vpx++;
            }
            code = code1;
            code1 = code2;
        }
    }
}
#endif

// The matrix-vector unit walking a tile list: one loop iteration per cycle
// reads the next input word (pixel px+1's while pixel px is visited: two
// input buffers) and visits the next stored tile once its input word has
// been read; a neuron fold's output is written at its last tile. A frame
// takes ITERS cycles, about PIXELS * max(SF, TILES) instead of PIXELS * SF * NF.
template <unsigned MW, unsigned MH, unsigned SIMD, unsigned PE, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut, class Dot,
          typename InWord, typename OutWord, typename MemWord, unsigned WDEPTH, unsigned TILES,
          bool INDEXED, typename IdxWord, unsigned ITERS, class Book, typename Requant>
void mvu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const TileWeights<MemWord, PE, WDEPTH, TILES, INDEXED, IdxWord, ITERS, Book> &weights,
         const TAcc bias[PE][MH / PE], const Requant &requant) {
#ifdef HLSGEN_SYNTHESIS
    tile_walk<MW, MH, SIMD, PE, PIXELS, TIn, TW, TAcc, TOut, Dot, InWord, OutWord, MemWord, WDEPTH,
              TILES, INDEXED, IdxWord, ITERS, Book, Requant>(in, out, weights.mem, weights.idx,
                                                             weights.codes, bias, requant);
#else
    typedef typename Book::template lane<TW>::type TS;   // a lane as stored
    typedef WeightMemory<TS, SIMD, TILES, WDEPTH, MemWord> Mem;
    typedef packed::DotProduct<TW, Dot::W_BIPOLAR, TIn, Dot::X_BIPOLAR, MW> P;
    mvu_rows<MW, MH, SIMD, PE, PIXELS, TAcc, TOut, P, InWord, OutWord>(
        in, out, tile_rows<P, MW, MH, SIMD, PE, TW>(weights, Mem::lanes(&weights.mem[0][0], PE)),
        bias, requant);
#endif
}

// The taps of a depthwise convolution as a window reduction (see
// hlsgen_pool.h reduce_windows): acc = bias + sum over the window of
// w[k][c] * x[k][c]. Weight layout: per tap k, a memory of CF words of SIMD
// lanes, word c/SIMD holding channel c's weight in lane c%SIMD, packed into
// DEPTH memory words (see WeightMemory).
template <unsigned KK, unsigned CF, unsigned SIMD, typename TW, typename TAccBias,
          typename MemWord, unsigned DEPTH>
struct DepthwiseTaps {
    typedef WeightMemory<TW, SIMD, CF, DEPTH, MemWord> Mem;
    const MemWord (*weights)[DEPTH];  // [KK][DEPTH] memory words
    const TAccBias (*bias)[SIMD];     // [CF][SIMD]
#ifndef HLSGEN_SYNTHESIS
    const TW *lanes;  // C simulation: unpacked once per parameter load
#endif

    DepthwiseTaps(const MemWord w[KK][DEPTH], const TAccBias b[CF][SIMD])
        : weights(w), bias(b)
#ifndef HLSGEN_SYNTHESIS
          , lanes(Mem::lanes(&w[0][0], KK))
#endif
    {
    }

    TW tap(unsigned k, unsigned cf, unsigned s) const {
#pragma HLS INLINE
#ifdef HLSGEN_SYNTHESIS
        return get_lane<TW>(Mem::word(weights[k], cf), s);
#else
        return lanes[((size_t)k * CF + cf) * SIMD + s];
#endif
    }
    template <typename TAcc, typename TIn>
    TAcc first(const TIn &x, unsigned cf, unsigned s) const {
#pragma HLS INLINE
        typedef native<TAcc> N;
        return N::store(N::of(bias[cf][s]) + N::of(tap(0, cf, s)) * N::of(x));
    }
    template <typename TAcc, typename TIn>
    TAcc step(const TAcc &acc, const TIn &x, unsigned k, unsigned cf, unsigned s) const {
#pragma HLS INLINE
        typedef native<TAcc> N;
        return N::store(N::of(acc) + N::of(tap(k, cf, s)) * N::of(x));
    }
};

// Depthwise convolution: every channel has its own KK-tap filter. Per output
// pixel the window arrives as KK*C/SIMD words (order ky, kx, c); SIMD
// channels are processed in parallel.
template <unsigned KK, unsigned C, unsigned SIMD, unsigned PIXELS,
          typename TIn, typename TW, typename TAcc, typename TOut,
          typename InWord, typename OutWord, typename MemWord, unsigned WDEPTH, typename Requant>
void dwu(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const MemWord weights[KK][WDEPTH], const TAcc bias[C / SIMD][SIMD],
         const Requant &requant) {
#pragma HLS ARRAY_PARTITION variable = bias complete dim = 2
    const DepthwiseTaps<KK, C / SIMD, SIMD, TW, TAcc, MemWord, WDEPTH> taps(weights, bias);
    reduce_windows<KK, C, SIMD, PIXELS, TIn, TAcc, TOut>(in, out, taps, requant);
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
