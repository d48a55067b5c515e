// hlsgen kernel library: packed stream words.
// A stream word is an ap_uint holding N lanes of W bits, lane 0 in the low
// bits. Lanes are integer codes (ap_int / ap_uint); binary points live in the
// generator, never in hardware, so every operation here is integer-exact.
#ifndef HLSGEN_STREAM_H
#define HLSGEN_STREAM_H

#include "ap_int.h"
#include "hls_stream.h"

// AXI-Stream words with side channels: Vitis HLS emits TLAST only for
// hls::axis. Without the Vitis headers (C simulation with the open-source
// ap_types) a stand-in with the same fields is used.
#if defined(__has_include)
#if __has_include("ap_axi_sdata.h")
#include "ap_axi_sdata.h"
#define HLSGEN_VITIS_AXIS 1
#endif
#endif

// Dataflow processes. For synthesis and ordinary C simulation a process is a
// plain call (processes run one after another on unbounded streams). The
// threaded C simulation (HLSGEN_THREADED_CSIM, sim/threaded/hls_stream.h)
// runs every process in its own thread on FIFOs of their declared depth, as
// hardware does, so an undersized FIFO deadlocks there as it would on the chip.
#ifdef HLSGEN_THREADED_CSIM
#include <thread>
#include <vector>
namespace hlsgen {
inline std::vector<std::thread> &processes() {
    static std::vector<std::thread> threads;
    return threads;
}
} // namespace hlsgen
#define HLSGEN_PROCESS(...) hlsgen::processes().emplace_back([&] { __VA_ARGS__; })
#define HLSGEN_JOIN_PROCESSES()                                       \
    do {                                                              \
        for (auto &t : hlsgen::processes()) t.join();                 \
        hlsgen::processes().clear();                                  \
    } while (0)
#define HLSGEN_FIFO_DEPTH(stream, depth) (stream).set_depth(depth)
#else
#define HLSGEN_PROCESS(...) __VA_ARGS__
#define HLSGEN_JOIN_PROCESSES() ((void)0)
#define HLSGEN_FIFO_DEPTH(stream, depth) ((void)0)
#endif

namespace hlsgen {

#ifdef HLSGEN_VITIS_AXIS
template <int W>
using axis_word = hls::axis<ap_uint<W>, 0, 0, 0>;
#else
template <int W>
struct axis_word {
    ap_uint<W> data;
    ap_uint<(W + 7) / 8> keep;
    ap_uint<(W + 7) / 8> strb;
    ap_uint<1> last;
};
#endif

// AXI-Stream -> internal stream: drops the byte padding of each word.
template <unsigned WORDS, typename Word, typename AxisWord>
void axis_in(hls::stream<AxisWord> &in, hls::stream<Word> &out) {
    for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        const AxisWord w = in.read();
        out.write(Word(w.data));
    }
}

// Internal stream -> AXI-Stream: TLAST marks the last word of every frame,
// so a DMA receive ends exactly at a frame boundary.
template <unsigned WORDS, typename Word, typename AxisWord>
void axis_out(hls::stream<Word> &in, hls::stream<AxisWord> &out) {
    for (unsigned i = 0; i < WORDS; i++) {
#pragma HLS PIPELINE II = 1
        AxisWord w;
        w.data = in.read();
        w.keep = -1;
        w.strb = -1;
        w.last = i == WORDS - 1;
        out.write(w);
    }
}

// Lane i of a packed word, reinterpreted as the lane type T (sign included).
template <typename T, typename Word>
inline T get_lane(const Word &word, unsigned i) {
#pragma HLS INLINE
    ap_uint<T::width> bits = word.range((i + 1) * T::width - 1, i * T::width);
    T value;
    value.range(T::width - 1, 0) = bits;
    return value;
}

// Writes the T::width bits of value into lane i of word.
template <typename T, typename Word>
inline void set_lane(Word &word, unsigned i, const T &value) {
#pragma HLS INLINE
    ap_uint<T::width> bits = value.range(T::width - 1, 0);
    word.range((i + 1) * T::width - 1, i * T::width) = bits;
}

} // namespace hlsgen

#endif
