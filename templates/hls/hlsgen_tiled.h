// hlsgen kernel library: the tiled engine (Zhang et al., FPGA 2015).
// One convolution/matrix engine of TM x TN MAC lanes (TM output channels x
// TN input channels) runs a whole network layer by layer from DDR, driven by
// a per-layer descriptor table (also in DDR) that the generator writes
// (gen/arch/tiled/design.py): shapes, strides, padding, tile sizes, requantization.
//
// Memories, all reached through AXI masters:
//   desc    per layer N_FIELDS 64-bit words (enum Field)
//   fmap    every feature map, byte addressed; a value takes IN/OUT_BYTES
//           little-endian bytes, signed or not as the descriptor says
//   weights per layer, tile by tile: [m tile][n tile][ky*KW+kx][TM][TN],
//           zero padded to whole tiles, one wmem_t (a weight in whole
//           bytes, 1, 2, 4 or 8) per weight
//   params  64-bit words: biases, thresholds, negation flags, lookup tables
//
// On chip: input and weight tiles double buffered (the next input-channel
// tile loads while the current one is multiplied), an accumulator tile, and
// the requantized output tile double buffered (the previous output tile is
// stored while the next one is computed). A dense layer is a 1x1
// convolution of one pixel; pooling (max, sum) and a requantization alone
// (a 1x1 sum) reuse the input-tile loader and the output path with TN lanes.
// Edge tiles are clipped to the layer (gen/arch/tiled/roofline.py counts them whole,
// as the paper does, so its cycles are an upper bound).
//
// Arithmetic is integer only, with the semantics of gen/ir/intmath.py. As in
// the dataflow kernels, C simulation computes on native 64-bit integers and
// checks that every accumulator stays within the layer's declared type, so
// it proves that no accumulator overflows. The synthesis branch
// (HLSGEN_SYNTHESIS, what Vitis HLS compiles) holds every buffer in its
// sized ap_int type, accumulates in acc_t and runs all TM x TN lanes (the
// padded ones multiply zeros); `hlsgen csim` runs both branches against the
// golden executor.
#ifndef HLSGEN_TILED_H
#define HLSGEN_TILED_H

#include "hlsgen_config.h"
#include "ap_int.h"
#include "hlsgen_stream.h"

namespace hlsgen {
namespace tiled {

// The descriptor's fields, in the order gen/arch/tiled/design.py FIELDS writes them.
enum Field {
    F_OP, F_IN, F_OUT, F_IN_BYTES, F_IN_SIGNED, F_OUT_BYTES,
    F_IH, F_IW, F_N, F_OH, F_OW, F_M, F_KH, F_KW, F_SH, F_SW, F_PT, F_PL, F_TR, F_TC,
    F_W, F_B, F_POOL, F_RQ, F_SHIFT, F_ROUND, F_CLAMP_LO, F_LO, F_CLAMP_HI, F_HI,
    F_BASE, F_CH, F_NT, F_NEG, F_THR, F_IN_LO, F_ACC_LO, F_ACC_HI,
    N_FIELDS
};
enum Op { OP_CONV = 0, OP_POOL = 1, OP_ARGMAX = 2 };
enum Pool { POOL_MAX = 0, POOL_SUM = 1 };
enum Rq { RQ_IDENTITY = 0, RQ_SHIFT = 1, RQ_THRESHOLDS = 2, RQ_LUT = 3, RQ_MULTIPLY = 4 };
enum Round { ROUND_FLOOR = 0, ROUND_HALF_UP = 1, ROUND_HALF_EVEN = 2 };

typedef long long i64;

// Buffer element of a sized type: the type itself in synthesis, a native
// integer in C simulation (checked when narrowed, see narrow()).
template <typename T>
struct buf {
#ifdef HLSGEN_SYNTHESIS
    typedef T type;
#else
    typedef i64 type;
#endif
};

// A 64-bit value into a buffer of type T: C simulation checks that it fits.
template <typename T>
inline typename buf<T>::type narrow(i64 v) {
#pragma HLS INLINE
#ifndef HLSGEN_SYNTHESIS
    if (T(v).to_int64() != v) overflow(v, T::width);
#endif
    return typename buf<T>::type(v);
}

inline int ceil_div(int a, int b) { return (a + b - 1) / b; }
inline int min_int(i64 a, i64 b) { return (int)(a < b ? a : b); }

#ifndef HLSGEN_SYNTHESIS
// An accumulator outside the bounds the generator proved: a sizing bug.
[[noreturn]] inline void out_of_bounds(i64 v, i64 lo, i64 hi) {
    std::fprintf(stderr, "hlsgen: value %lld outside its proven range [%lld, %lld]: accumulator sizing bug\n",
                 v, lo, hi);
    std::abort();
}
#endif

// One code of `bytes` little-endian bytes at fmap[addr], sign- or zero-extended.
inline i64 read_code(const ap_uint<8> *fmap, i64 addr, int bytes, bool is_signed) {
#pragma HLS INLINE
    unsigned long long v = 0;
    for (int b = 0; b < 8; b++) {
        if (b < bytes) v |= (unsigned long long)fmap[addr + b].to_uint() << (8 * b);
    }
    const int unused = 64 - 8 * bytes;
    if (unused == 0) return (i64)v;
    return is_signed ? ((i64)(v << unused)) >> unused : (i64)v;
}

inline void write_code(ap_uint<8> *fmap, i64 addr, int bytes, i64 code) {
#pragma HLS INLINE
    for (int b = 0; b < 8; b++) {
        if (b < bytes) fmap[addr + b] = (unsigned)((unsigned long long)code >> (8 * b)) & 0xff;
    }
}

// round(acc * 2^-shift) with the given rounding (exact for shift <= 0):
// gen/ir/intmath.py shift_round. Accumulators hold at most 60 bits and left
// shifts stay within them (gen/arch/tiled/design.py MAX_ACC_BITS); a right shift of 62
// or more rounds every such accumulator as a shift of 62 does (to -1 or 0
// with floor, to 0 otherwise), so larger shifts become 62: a 64-bit shift
// by 63 or more is undefined in C++ and wraps modulo 64 on x86.
inline i64 shift_round(i64 acc, int shift, int round) {
#pragma HLS INLINE
    if (shift <= 0) return acc * ((i64)1 << -shift);
    if (shift > 62) shift = 62;
    const i64 q = acc >> shift;  // arithmetic shift: floor
    const i64 rem = acc & (((i64)1 << shift) - 1), half = (i64)1 << (shift - 1);
    if (round == ROUND_HALF_UP) return q + (rem >= half);
    if (round == ROUND_HALF_EVEN) return q + (rem > half || (rem == half && (q & 1)));
    return q;
}

// The requantization of one layer, for TL consecutive channels from c0:
// its per-channel parameters are copied on chip when c0 changes.
template <class Cfg>
struct Requant {
    static const unsigned TL = Cfg::TL;
    typedef typename Cfg::thr_t thr_t;
    // Per channel: thresholds, the lookup table's entries, or the multiplier
    // form's m, b and exception pairs (x, y)...
    typename buf<thr_t>::type thr[TL][Cfg::NT_MAX];
    ap_uint<1> neg[TL];
    int loaded;                       // c0 of the channels held, -1 for none

    void load(const i64 *d, const ap_int<64> *params, int c0) {
        if (loaded == c0) return;
        loaded = c0;
        if (d[F_RQ] != RQ_THRESHOLDS && d[F_RQ] != RQ_LUT && d[F_RQ] != RQ_MULTIPLY) return;
        const int per_channel = d[F_CH] > 1, n = d[F_NT];
        for (unsigned l = 0; l < TL; l++) {
            const int set = per_channel ? c0 + (int)l : 0;
            if (per_channel && set >= d[F_CH]) continue;
            neg[l] = d[F_RQ] == RQ_THRESHOLDS ? (int)params[d[F_NEG] + set].to_int64() : 0;
            for (int k = 0; k < n; k++) {
#pragma HLS PIPELINE II = 1
                thr[l][k] = narrow<thr_t>(params[d[F_THR] + (i64)set * n + k].to_int64());
            }
        }
    }

    i64 operator()(const i64 *d, i64 acc, unsigned lane) const {
#pragma HLS INLINE
        // A lane's NT_MAX thresholds are compared in one cycle: one register
        // (or TL-deep memory) per entry; a table lookup reads one entry.
#pragma HLS ARRAY_PARTITION variable = thr complete dim = 2
#ifndef HLSGEN_SYNTHESIS
        if (acc < d[F_ACC_LO] || acc > d[F_ACC_HI]) out_of_bounds(acc, d[F_ACC_LO], d[F_ACC_HI]);
#endif
        switch (d[F_RQ]) {
        case RQ_SHIFT: {
            i64 q = shift_round(acc, d[F_SHIFT], d[F_ROUND]);
            if (d[F_CLAMP_LO] && q < d[F_LO]) q = d[F_LO];
            if (d[F_CLAMP_HI] && q > d[F_HI]) q = d[F_HI];
            return q;
        }
        case RQ_THRESHOLDS:
        case RQ_MULTIPLY: {
            // One pass over the lane's entries (one read of each, as the
            // partitioning provides) serves both kinds. Thresholds: count
            // those <= acc (-acc on negated channels). The multiplier form
            // (hlsgen_requant.h RequantMultiply): entries m, b, then pairs
            // (x, y); clamp(floor((acc * m + b) * 2^-shift)), or y where
            // acc == x; |acc * m| + |b| < 2^61 (gen/passes/requant.py).
            const i64 v = neg[lane] == 1 ? -acc : acc;
            i64 count = d[F_BASE], m = 0, b = 0, y = 0;
            bool match = false, hit = false;
            for (unsigned k = 0; k < Cfg::NT_MAX; k++) {
#pragma HLS UNROLL
                const i64 t = (i64)thr[lane][k];
                if ((int)k < d[F_NT] && v >= t) count++;
                if (k == 0) m = t;
                if (k == 1) b = t;
                if (k >= 2 && (int)k < d[F_NT]) {
                    if (k % 2 == 0) {
                        match = acc == t;
                    } else if (match) {
                        hit = true;
                        y = t;
                    }
                }
            }
            if (d[F_RQ] == RQ_THRESHOLDS) return count;
#ifdef HLSGEN_SYNTHESIS
            typedef ap_int<Cfg::acc_t::width + thr_t::width + 1> wide_t;
            const wide_t p = wide_t(typename Cfg::acc_t(acc) * thr_t(m)) + wide_t(thr_t(b));
            i64 q = (p >> (int)d[F_SHIFT]).to_int64();
#else
            i64 q = (acc * m + b) >> d[F_SHIFT];
#endif
            if (q < d[F_LO]) q = d[F_LO];
            if (q > d[F_HI]) q = d[F_HI];
            return hit ? y : q;
        }
        case RQ_LUT: {
            const i64 index = acc - d[F_IN_LO];
#ifndef HLSGEN_SYNTHESIS
            if (index < 0 || index >= d[F_NT]) out_of_bounds(acc, d[F_IN_LO], d[F_IN_LO] + d[F_NT] - 1);
#endif
            return (i64)thr[lane][index];
        }
        default:
            return acc;
        }
    }
};

// One output tile: where it is and how large (edge tiles are clipped).
struct Tile {
    int c0, r0, x0, tr, tc;  // first channel, first row, first column, rows, columns
    bool valid;
};

// The input window of an output tile, TN channels from n0, zero outside the
// feature map (the layer's padding) and beyond its channels.
template <class Cfg>
void load_input(const i64 *d, const ap_uint<8> *fmap, const Tile &t, int n0,
                typename buf<typename Cfg::a_t>::type in[Cfg::IN_BUF][Cfg::TN]) {
    const int in_h = (t.tr - 1) * d[F_SH] + d[F_KH], in_w = (t.tc - 1) * d[F_SW] + d[F_KW];
    const int bytes = d[F_IN_BYTES];
    for (int y = 0; y < in_h; y++) {
        for (int x = 0; x < in_w; x++) {
            const int gy = t.r0 * d[F_SH] - d[F_PT] + y, gx = t.x0 * d[F_SW] - d[F_PL] + x;
            const bool inside = gy >= 0 && gy < d[F_IH] && gx >= 0 && gx < d[F_IW];
            const i64 pixel = d[F_IN] + ((i64)gy * d[F_IW] + gx) * d[F_N] * bytes;
            for (unsigned l = 0; l < Cfg::TN; l++) {
#pragma HLS PIPELINE II = 1
                const int ch = n0 + (int)l;
                const i64 v = inside && ch < d[F_N] ? read_code(fmap, pixel + (i64)ch * bytes, bytes, d[F_IN_SIGNED]) : 0;
                in[y * in_w + x][l] = narrow<typename Cfg::a_t>(v);
            }
        }
    }
}

// The weight tile (m tile mt, n tile nt): one burst of KH*KW*TM*TN weights.
template <class Cfg>
void load_weights(const i64 *d, const typename Cfg::wmem_t *weights, int mt, int nt,
                  typename buf<typename Cfg::w_t>::type w[Cfg::KK_MAX][Cfg::TM][Cfg::TN]) {
    const int kk = d[F_KH] * d[F_KW];
    const i64 base = d[F_W] + ((i64)mt * ceil_div(d[F_N], Cfg::TN) + nt) * kk * Cfg::TM * Cfg::TN;
    for (int k = 0; k < kk; k++) {
        for (unsigned m = 0; m < Cfg::TM; m++) {
            for (unsigned n = 0; n < Cfg::TN; n++) {
#pragma HLS PIPELINE II = 1
                w[k][m][n] = narrow<typename Cfg::w_t>(weights[base + ((i64)k * Cfg::TM + m) * Cfg::TN + n].to_int64());
            }
        }
    }
}

// acc[p][m] += sum over n, ky, kx of w[ky*KW+kx][m][n] * in[window pixel][n]:
// the TM x TN lanes every cycle, the ky, kx, rows, columns loops pipelined.
template <class Cfg>
void multiply(const i64 *d, const Tile &t, int lanes_m, int lanes_n,
              const typename buf<typename Cfg::a_t>::type in[Cfg::IN_BUF][Cfg::TN],
              const typename buf<typename Cfg::w_t>::type w[Cfg::KK_MAX][Cfg::TM][Cfg::TN],
              typename buf<typename Cfg::acc_t>::type acc[Cfg::OUT_BUF][Cfg::TL]) {
#pragma HLS ARRAY_PARTITION variable = in complete dim = 2
#pragma HLS ARRAY_PARTITION variable = w complete dim = 2
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 2
    const int in_w = (t.tc - 1) * d[F_SW] + d[F_KW];
#ifdef HLSGEN_SYNTHESIS
    // Hardware runs every lane; padded lanes hold zero weights and inputs.
    lanes_m = Cfg::TM;
    lanes_n = Cfg::TN;
#endif
    for (int ky = 0; ky < d[F_KH]; ky++) {
        for (int kx = 0; kx < d[F_KW]; kx++) {
            const int k = ky * d[F_KW] + kx;
            for (int r = 0; r < t.tr; r++) {
                for (int c = 0; c < t.tc; c++) {
#pragma HLS PIPELINE II = 1
#pragma HLS DEPENDENCE variable = acc inter false
                    const int p = r * t.tc + c, ip = (r * d[F_SH] + ky) * in_w + c * d[F_SW] + kx;
                    for (int m = 0; m < lanes_m; m++) {
                        typename native<typename Cfg::acc_t>::type sum = acc[p][m];
                        for (int n = 0; n < lanes_n; n++) sum += w[k][m][n] * in[ip][n];
                        acc[p][m] = sum;
                    }
                }
            }
        }
    }
}

// The accumulators of one output tile of a convolution: bias, then every
// input-channel tile, loading tile nt + 1 while multiplying tile nt.
template <class Cfg>
void conv_tile(const i64 *d, const ap_uint<8> *fmap, const typename Cfg::wmem_t *weights,
               const ap_int<64> *params, const Tile &t,
               typename buf<typename Cfg::acc_t>::type acc[Cfg::OUT_BUF][Cfg::TL]) {
    typedef typename buf<typename Cfg::a_t>::type a_b;
    typedef typename buf<typename Cfg::w_t>::type w_b;
    static a_b in_a[Cfg::IN_BUF][Cfg::TN], in_b[Cfg::IN_BUF][Cfg::TN];
    static w_b w_a[Cfg::KK_MAX][Cfg::TM][Cfg::TN], w_b_[Cfg::KK_MAX][Cfg::TM][Cfg::TN];
    const int mt = t.c0 / Cfg::TM, n_tiles = ceil_div(d[F_N], Cfg::TN);
    const int lanes_m = min_int(d[F_M] - t.c0, Cfg::TM);
    for (int p = 0; p < t.tr * t.tc; p++) {
        for (unsigned m = 0; m < Cfg::TM; m++) {
#pragma HLS PIPELINE II = 1
            acc[p][m] = narrow<typename Cfg::acc_t>((int)m < lanes_m ? params[d[F_B] + t.c0 + m].to_int64() : 0);
        }
    }
    load_input<Cfg>(d, fmap, t, 0, in_a);
    load_weights<Cfg>(d, weights, mt, 0, w_a);
    for (int nt = 0; nt < n_tiles; nt++) {
        const int more = nt + 1 < n_tiles;
        const int lanes_n = min_int(d[F_N] - nt * (i64)Cfg::TN, Cfg::TN);
        if (nt & 1) {
            if (more) {
                load_input<Cfg>(d, fmap, t, (nt + 1) * Cfg::TN, in_a);
                load_weights<Cfg>(d, weights, mt, nt + 1, w_a);
            }
            multiply<Cfg>(d, t, lanes_m, lanes_n, in_b, w_b_, acc);
        } else {
            if (more) {
                load_input<Cfg>(d, fmap, t, (nt + 1) * Cfg::TN, in_b);
                load_weights<Cfg>(d, weights, mt, nt + 1, w_b_);
            }
            multiply<Cfg>(d, t, lanes_m, lanes_n, in_a, w_a, acc);
        }
    }
}

// The accumulators of one output tile of a pooling (TN channels from t.c0):
// the maximum or the sum of each window.
template <class Cfg>
void pool_tile(const i64 *d, const ap_uint<8> *fmap, const Tile &t,
               typename buf<typename Cfg::acc_t>::type acc[Cfg::OUT_BUF][Cfg::TL]) {
    static typename buf<typename Cfg::a_t>::type in[Cfg::IN_BUF][Cfg::TN];
    load_input<Cfg>(d, fmap, t, t.c0, in);
    const int in_w = (t.tc - 1) * d[F_SW] + d[F_KW];
    for (int r = 0; r < t.tr; r++) {
        for (int c = 0; c < t.tc; c++) {
            for (unsigned l = 0; l < Cfg::TN; l++) {
                i64 a = 0;
                for (int ky = 0; ky < d[F_KH]; ky++) {
                    for (int kx = 0; kx < d[F_KW]; kx++) {
#pragma HLS PIPELINE II = 1
                        const i64 v = in[(r * d[F_SH] + ky) * in_w + c * d[F_SW] + kx][l];
                        const bool first = ky == 0 && kx == 0;
                        a = d[F_POOL] == POOL_MAX ? (first || v > a ? v : a) : a + v;
                    }
                }
                acc[r * t.tc + c][l] = narrow<typename Cfg::acc_t>(a);
            }
        }
    }
}

// Requantizes an accumulator tile into output codes (the tile's channels).
template <class Cfg>
void requant_tile(const i64 *d, const Tile &t, const Requant<Cfg> &rq, int lanes,
                  const typename buf<typename Cfg::acc_t>::type acc[Cfg::OUT_BUF][Cfg::TL],
                  typename buf<typename Cfg::code_t>::type out[Cfg::OUT_BUF][Cfg::TL]) {
    for (int p = 0; p < t.tr * t.tc; p++) {
        for (int l = 0; l < lanes; l++) {
#pragma HLS PIPELINE II = 1
            out[p][l] = narrow<typename Cfg::code_t>(rq(d, acc[p][l], l));
        }
    }
}

// Writes an output tile's codes to fmap (channels beyond the layer's skipped).
template <class Cfg>
void store_tile(const i64 *d, ap_uint<8> *fmap, const Tile &t, int channels, unsigned lanes,
                const typename buf<typename Cfg::code_t>::type out[Cfg::OUT_BUF][Cfg::TL]) {
    if (!t.valid) return;
    const int bytes = d[F_OUT_BYTES];
    for (int r = 0; r < t.tr; r++) {
        for (int c = 0; c < t.tc; c++) {
            const i64 pixel = d[F_OUT] + ((i64)(t.r0 + r) * d[F_OW] + t.x0 + c) * channels * bytes;
            for (unsigned l = 0; l < lanes; l++) {
#pragma HLS PIPELINE II = 1
                if (t.c0 + (int)l < channels)
                    write_code(fmap, pixel + (i64)(t.c0 + l) * bytes, bytes, out[r * t.tc + c][l]);
            }
        }
    }
}

// A convolution or a pooling: output tiles (channels outer, then rows and
// columns), each computed and requantized while the previous one is stored.
template <class Cfg>
void tiled_layer(const i64 *d, ap_uint<8> *fmap, const typename Cfg::wmem_t *weights,
                 const ap_int<64> *params) {
    typedef typename buf<typename Cfg::code_t>::type code_b;
    static typename buf<typename Cfg::acc_t>::type acc[Cfg::OUT_BUF][Cfg::TL];
    static code_b out_a[Cfg::OUT_BUF][Cfg::TL], out_b[Cfg::OUT_BUF][Cfg::TL];
    static Requant<Cfg> rq;
    rq.loaded = -1;
    const bool conv = d[F_OP] == OP_CONV;
    const int channels = conv ? d[F_M] : d[F_N];
    const unsigned lanes = conv ? Cfg::TM : Cfg::TN;
    Tile prev = {0, 0, 0, 0, 0, false};
    int i = 0;
    for (int c0 = 0; c0 < channels; c0 += lanes) {
        rq.load(d, params, c0);
        for (int r0 = 0; r0 < d[F_OH]; r0 += d[F_TR]) {
            for (int x0 = 0; x0 < d[F_OW]; x0 += d[F_TC], i++) {
                const Tile t = {c0, r0, x0, min_int(d[F_OH] - r0, d[F_TR]),
                                min_int(d[F_OW] - x0, d[F_TC]), true};
                if (conv) conv_tile<Cfg>(d, fmap, weights, params, t, acc);
                else pool_tile<Cfg>(d, fmap, t, acc);
                const int valid = min_int(channels - c0, lanes);
                if (i & 1) {
                    requant_tile<Cfg>(d, t, rq, valid, acc, out_b);
                    store_tile<Cfg>(d, fmap, prev, channels, lanes, out_a);
                } else {
                    requant_tile<Cfg>(d, t, rq, valid, acc, out_a);
                    store_tile<Cfg>(d, fmap, prev, channels, lanes, out_b);
                }
                prev = t;
            }
        }
    }
    store_tile<Cfg>(d, fmap, prev, channels, lanes, (i & 1) ? out_a : out_b);
}

// The index of the first largest of N values (np.argmax).
inline void argmax_layer(const i64 *d, ap_uint<8> *fmap) {
    i64 best = 0, index = 0;
    for (int i = 0; i < d[F_N]; i++) {
#pragma HLS PIPELINE II = 1
        const i64 v = read_code(fmap, d[F_IN] + (i64)i * d[F_IN_BYTES], d[F_IN_BYTES], d[F_IN_SIGNED]);
        if (i == 0 || v > best) {
            best = v;
            index = i;
        }
    }
    write_code(fmap, d[F_OUT], d[F_OUT_BYTES], index);
}

// Runs the n_layers layers of the descriptor table, one after another.
template <class Cfg>
void run(const ap_int<64> *desc, int n_layers, ap_uint<8> *fmap,
         const typename Cfg::wmem_t *weights, const ap_int<64> *params) {
    for (int l = 0; l < n_layers; l++) {
        i64 d[N_FIELDS];
        for (int f = 0; f < N_FIELDS; f++) {
#pragma HLS PIPELINE II = 1
            d[f] = desc[(i64)l * N_FIELDS + f].to_int64();
        }
        if (d[F_OP] == OP_ARGMAX) argmax_layer(d, fmap);
        else tiled_layer<Cfg>(d, fmap, weights, params);
    }
}

} // namespace tiled
} // namespace hlsgen

#endif
