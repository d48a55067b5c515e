// hlsgen kernel library: the recurrent unit (QSimpleRNN, QLSTM, QGRU).
// One frame is T time steps of F input codes (one word each); the state
// stays on chip from step to step. Per step the gates' pre-activations are
// one matrix-vector product of v = [x ; s] (a GRU's candidate: [x ; r*s])
// with the stacked, accumulator-aligned [kernel ; recurrent kernel], folded
// on PE x SIMD with the matrix-vector unit's dot products (hlsgen_mvu.h);
// then an elementwise pass over the U units applies the gate quantizers
// (hlsgen_requant.h functors: a shift and round, or thresholds, equal to the
// framework's own quantizers) and the exact integer state update that
// gen/ir/recurrent.py specifies.
// P is the generated parameter struct (params/<id>.h): sizes, lane types,
// the fixed shifts of the update; RQ holds the requantization functors.
// Weight layout as the matrix-vector unit's, unpacked: w[pe][nf*SF + sf][s]
// = M[sf*SIMD + s][nf*PE + pe]; bias b[pe][nf]. Every type is sized by the
// generator from value bounds, so nothing overflows in either branch.
#ifndef HLSGEN_RNN_H
#define HLSGEN_RNN_H

#include "hlsgen_mvu.h"

namespace hlsgen {

enum RnnCell { RNN_SIMPLE = 0, RNN_LSTM = 1, RNN_GRU = 2 };
template <int K>
struct rnn_cell {};

// The state kept from step to step: h's quantized codes s (and an LSTM's
// quantized cell state cs).
template <class P>
struct RnnState {
    typename P::s_t s[P::U];
    typename P::cs_t cs[P::U];
};

// acc[r] = b[R0 + r] + sum_c M[c][R0 + r] * v[c] for ROWS rows from R0 (both
// multiples of PE): (ROWS/PE) * (MW/SIMD) iterations at II=1.
template <class P, unsigned R0, unsigned ROWS, typename TV>
void rnn_matvec(const TV v[P::MW], const typename P::w_t w[P::PE][P::WROWS][P::SIMD],
                const typename P::acc_t b[P::PE][P::NF], typename P::acc_t acc[ROWS]) {
#pragma HLS INLINE
// One weight memory per PE of SIMD-lane words, as the matrix-vector unit's;
// the gates' accumulators in registers (the elementwise pass reads one unit
// of every gate per cycle).
#pragma HLS ARRAY_PARTITION variable = w complete dim = 1
#pragma HLS ARRAY_PARTITION variable = w complete dim = 3
#pragma HLS ARRAY_PARTITION variable = b complete dim = 1
#pragma HLS ARRAY_PARTITION variable = acc complete dim = 1
    typedef native<typename P::acc_t> N;
    static const unsigned SIMD = P::SIMD, SF = P::MW / SIMD, NF0 = R0 / P::PE, NF = ROWS / P::PE;
#pragma HLS ARRAY_PARTITION variable = v cyclic factor = SIMD dim = 1
    for (unsigned nf = 0; nf < NF; nf++) {
        for (unsigned sf = 0; sf < SF; sf++) {
#pragma HLS PIPELINE II = 1
            for (unsigned pe = 0; pe < P::PE; pe++) {
#pragma HLS UNROLL
                const unsigned r = nf * P::PE + pe;
                typename N::type a = N::of(sf == 0 ? b[pe][NF0 + nf] : acc[r]);
                a += DotInt::template apply<P::SIMD, N>(w[pe][(NF0 + nf) * SF + sf], &v[sf * P::SIMD]);
                acc[r] = N::store(a);
            }
        }
    }
}

// v = [x ; s]
template <class P, typename TV, typename TS>
void rnn_input(const typename P::x_t x[P::F], const TS s[P::U], TV v[P::MW]) {
#pragma HLS INLINE
    for (unsigned c = 0; c < P::F; c++) {
#pragma HLS UNROLL
        v[c] = x[c];
    }
    for (unsigned j = 0; j < P::U; j++) {
#pragma HLS UNROLL
        v[P::F + j] = s[j];
    }
}

// SimpleRNN: h = act(v M + b).
template <class P, class RQ>
void rnn_step(rnn_cell<RNN_SIMPLE>, const typename P::x_t x[P::F], RnnState<P> &st, typename P::h_t h[P::U],
              const typename P::w_t w[P::PE][P::WROWS][P::SIMD], const typename P::acc_t b[P::PE][P::NF], const RQ &rq) {
#pragma HLS INLINE
    typename P::v_t v[P::MW];
    typename P::acc_t acc[P::U];
    rnn_input<P>(x, st.s, v);
    rnn_matvec<P, 0, P::U>(v, w, b, acc);
    for (unsigned j = 0; j < P::U; j++) {
#pragma HLS PIPELINE II = 1
        h[j] = rq.act(acc[j], 0);
        st.s[j] = rq.state_h(h[j], 0);
    }
}

// LSTM: gates i f g o; c = (f*cs << C_F) + (i*g << C_I); h = o * act(c).
template <class P, class RQ>
void rnn_step(rnn_cell<RNN_LSTM>, const typename P::x_t x[P::F], RnnState<P> &st, typename P::h_t h[P::U],
              const typename P::w_t w[P::PE][P::WROWS][P::SIMD], const typename P::acc_t b[P::PE][P::NF], const RQ &rq) {
#pragma HLS INLINE
    typedef native<typename P::c_t> NC;
    typedef native<typename P::h_t> NH;
    typename P::v_t v[P::MW];
    typename P::acc_t acc[4 * P::U];
    rnn_input<P>(x, st.s, v);
    rnn_matvec<P, 0, 4 * P::U>(v, w, b, acc);
    for (unsigned j = 0; j < P::U; j++) {
#pragma HLS PIPELINE II = 1
        const typename P::gate_t i = rq.rec(acc[j], 0), f = rq.rec(acc[P::U + j], 0);
        const typename P::gate_t o = rq.rec(acc[3 * P::U + j], 0);
        const typename P::act_t g = rq.act(acc[2 * P::U + j], 0);
        typename NC::type keep = NC::of(f) * NC::of(st.cs[j]), add = NC::of(i) * NC::of(g);
        const typename P::c_t c = NC::store((keep << P::C_F) + (add << P::C_I));
        h[j] = NH::store(NH::of(o) * NH::of(rq.cell_act(c, 0)));
        st.s[j] = rq.state_h(h[j], 0);
        st.cs[j] = rq.state_c(c, 0);
    }
}

// GRU (reset before the product): z r from [x ; s]; hh = act([x ; r*s] M_h + b_h);
// h = (z*s << K_KEEP) + ((ONE - z)*hh << K_NEW).
template <class P, class RQ>
void rnn_step(rnn_cell<RNN_GRU>, const typename P::x_t x[P::F], RnnState<P> &st, typename P::h_t h[P::U],
              const typename P::w_t w[P::PE][P::WROWS][P::SIMD], const typename P::acc_t b[P::PE][P::NF], const RQ &rq) {
#pragma HLS INLINE
    typedef native<typename P::h_t> NH;
    typename P::v_t v[P::MW];
    typename P::vh_t vh[P::MW];
    typename P::acc_t acc[2 * P::U], acc_h[P::U];
    typename P::gate_t z[P::U];
    typedef native<typename P::vh_t> NV;
    rnn_input<P>(x, st.s, v);
    rnn_matvec<P, 0, 2 * P::U>(v, w, b, acc);
    typename P::vh_t rs[P::U];
    for (unsigned j = 0; j < P::U; j++) {
#pragma HLS PIPELINE II = 1
        z[j] = rq.rec(acc[j], 0);
        rs[j] = NV::store(NV::of(rq.rec(acc[P::U + j], 0)) * NV::of(st.s[j]));
    }
    rnn_input<P>(x, rs, vh);
    rnn_matvec<P, 2 * P::U, P::U>(vh, w, b, acc_h);
    for (unsigned j = 0; j < P::U; j++) {
#pragma HLS PIPELINE II = 1
        const typename P::act_t hh = rq.act(acc_h[j], 0);
        typename NH::type keep = NH::of(z[j]) * NH::of(st.s[j]);
        typename NH::type add = (typename NH::type(P::ONE) - NH::of(z[j])) * NH::of(hh);
        h[j] = NH::store((keep << P::K_KEEP) + (add << P::K_NEW));
        st.s[j] = rq.state_h(h[j], 0);   // after its last read, above
    }
}

template <class P, typename InWord, typename OutWord, class RQ>
void rnn(hls::stream<InWord> &in, hls::stream<OutWord> &out,
         const typename P::w_t w[P::PE][P::WROWS][P::SIMD],
         const typename P::acc_t b[P::PE][P::NF], const RQ &rq) {
    RnnState<P> st;
    for (unsigned j = 0; j < P::U; j++) {
        st.s[j] = P::S0;
        st.cs[j] = P::C0;
    }
    for (unsigned t = 0; t < P::T; t++) {
        typename P::x_t x[P::F];
        typename P::h_t h[P::U];
        unpack<typename P::x_t, P::F>(in.read(), x);
        rnn_step<P>(rnn_cell<P::KIND>(), x, st, h, w, b, rq);   // updates the state
        if (P::SEQ || t == P::T - 1) out.write(pack<typename P::h_t, P::U, OutWord>(h));
    }
}

} // namespace hlsgen

#endif
