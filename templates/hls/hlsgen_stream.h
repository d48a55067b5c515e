// hlsgen kernel library: packed stream words.
// A stream word is an ap_uint holding N lanes of W bits, lane 0 in the low
// bits. Lanes are integer codes (ap_int / ap_uint); binary points live in the
// generator, never in hardware, so every operation here is integer-exact.
#ifndef HLSGEN_STREAM_H
#define HLSGEN_STREAM_H

#include "hlsgen_config.h"
#include "ap_int.h"
#include "hls_stream.h"
#ifndef __SYNTHESIS__  // host code below: diagnostics, parameter caches
#include <cstdio>
#include <cstdlib>
#include <map>
#include <mutex>
#include <string>
#include <vector>
#endif

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
// threaded C simulation (HLSGEN_THREADED_CSIM, sim/threaded/hlsgen_threaded_stream.h)
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

// Arithmetic on sized integers. The kernels are written once over the type
// native<T>::type: in synthesis that is the sized ap_int T itself; in C
// simulation it is a native 64-bit integer (hlsgen sizes every accumulator
// to at most 62 bits), so simulation runs at native speed, and every value
// stored back into T is checked to fit, so C simulation also proves that no
// accumulator overflows (ap_int arithmetic would silently wrap).
#ifndef HLSGEN_SYNTHESIS
[[noreturn]] inline void overflow(long long v, int width) {
    std::fprintf(stderr, "hlsgen: value %lld does not fit its %d-bit type: accumulator sizing bug\n",
                 v, width);
    std::abort();
}
#endif

template <typename T>
struct native {
#ifdef HLSGEN_SYNTHESIS
    typedef T type;
    template <typename V>
    static const V &of(const V &v) { return v; }
    static T store(const T &v) { return v; }
#else
    typedef long long type;
    template <typename V>
    static long long of(const V &v) { return v.to_int64(); }
    static T store(long long v) {
        const T t = v;
        if (t.to_int64() != v) overflow(v, T::width);
        return t;
    }
#endif
};

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

// Bits of a memory word type: an ap_uint, or a native unsigned integer
// (weight memories of 8/16/32/64-bit words are declared with native types,
// whose initialisers g++ compiles as constant data).
template <typename Word>
struct word_bits {
    static const int value = Word::width;
};
template <>
struct word_bits<unsigned char> {
    static const int value = 8;
};
template <>
struct word_bits<unsigned short> {
    static const int value = 16;
};
template <>
struct word_bits<unsigned int> {
    static const int value = 32;
};
template <>
struct word_bits<unsigned long long> {
    static const int value = 64;
};

// Whether a lane type is signed (ap_int) or not (ap_uint).
template <typename T>
struct is_signed_lane;
template <int W>
struct is_signed_lane<ap_int<W> > {
    static const bool value = true;
};
template <int W>
struct is_signed_lane<ap_uint<W> > {
    static const bool value = false;
};

#ifndef HLSGEN_SYNTHESIS
// C simulation: the WB bits of a word as native 64-bit chunks (bit 0 in bit
// 0 of chunk 0), since ap_uint words over 64 bits shift through slow
// multi-word arithmetic. Fields of up to 64 bits are read and written with
// native shifts; a spare zero chunk lets a field straddle the end.
template <int WB>
struct Bits {
    static const int NC = (WB + 63) / 64;
    unsigned long long c[NC + 1];

    Bits() {
        for (int i = 0; i <= NC; i++) c[i] = 0;
    }
    template <typename Word>
    explicit Bits(const Word &word) {
        for (int i = 0; i < NC; i++) c[i] = word.range(64 * i + 63 < WB ? 64 * i + 63 : WB - 1, 64 * i).to_uint64();
        c[NC] = 0;
    }
    // The n <= 64 bits from bit on.
    unsigned long long get(unsigned bit, unsigned n) const {
        const unsigned k = bit / 64, off = bit % 64;
        unsigned long long v = c[k] >> off;
        if (off + n > 64) v |= c[k + 1] << (64 - off);
        return n == 64 ? v : v & ((1ULL << n) - 1);
    }
    // ORs in the n <= 64 low bits of v (the higher ones zero) at bit.
    void put(unsigned bit, unsigned long long v, unsigned n) {
        const unsigned k = bit / 64, off = bit % 64;
        c[k] |= v << off;
        if (off + n > 64) c[k + 1] |= v >> (64 - off);
    }
    // ORs in n bits of src from src_bit on, at bit.
    template <int WS>
    void put(unsigned bit, const Bits<WS> &src, unsigned src_bit, unsigned n) {
        for (unsigned i = 0; i < n; i += 64) put(bit + i, src.get(src_bit + i, n - i < 64 ? n - i : 64), n - i < 64 ? n - i : 64);
    }
    template <typename Word>
    Word word() const {
        Word w = 0;
        for (int i = 0; i < NC; i++) w.range(64 * i + 63 < WB ? 64 * i + 63 : WB - 1, 64 * i) = c[i];
        return w;
    }
};
#endif

// All N lanes of a word at once. Synthesis: wiring (range selects).
// C simulation: the word is read as 64-bit chunks and lanes are cut with
// native shifts, avoiding ap_int's multi-word shifts on words over 64 bits.
template <typename T, unsigned N, typename Word>
inline void unpack(const Word &word, T out[N]) {
#pragma HLS INLINE
#ifdef HLSGEN_SYNTHESIS
    for (unsigned i = 0; i < N; i++) {
#pragma HLS UNROLL
        out[i] = get_lane<T>(word, i);
    }
#else
    static const int W = T::width;
    const Bits<Word::width> bits(word);
    const unsigned long long mask = W == 64 ? ~0ULL : (1ULL << W) - 1;
    for (unsigned i = 0; i < N; i++) {
        unsigned long long v = bits.get(i * W, W);
        if (is_signed_lane<T>::value && W < 64 && (v >> (W - 1)) & 1) v |= ~mask;
        out[i] = T((long long)v);
    }
#endif
}

#ifndef __SYNTHESIS__
// Bumped whenever C simulation loads parameters, so caches derived from them
// (unpacked weights) are rebuilt.
inline unsigned &params_generation() {
    static unsigned generation = 0;
    return generation;
}
#endif

#ifndef HLSGEN_SYNTHESIS

// C simulation only: a value derived from parameter arrays (unpacked or
// re-packed weights), built once per parameter load and keyed by the array,
// since layers of the same shape share one template instantiation.
template <typename Value, typename Key, typename Build>
const Value &derived(const Key *key, const Build &build) {
    struct Entry {
        bool built;
        unsigned generation;
        Value value;
        Entry() : built(false), generation(0) {}
    };
    static std::map<const Key *, Entry> cache;
    static std::mutex mutex;  // threaded C simulation runs layers concurrently
    std::lock_guard<std::mutex> lock(mutex);
    Entry &e = cache[key];
    if (!e.built || e.generation != params_generation()) {
        e.value = build();
        e.built = true;
        e.generation = params_generation();
    }
    return e.value;
}

// C simulation only: the lanes of `count` packed words (ap_uint or native
// memory words of N lanes), unpacked once per parameter load.
template <typename T, unsigned N, typename Word>
const T *unpacked(const Word *words, size_t count) {
    return derived<std::vector<T> >(words, [&] {
        std::vector<T> lanes(count * N, T(0));
        for (size_t i = 0; i < count; i++)
            unpack<T, N>(ap_uint<N * T::width>(words[i]), &lanes[i * N]);
        return lanes;
    }).data();
}
#endif

// Packs N lanes into a word (the inverse of unpack; unused high bits zero).
template <typename T, unsigned N, typename Word>
inline Word pack(const T in[N]) {
#pragma HLS INLINE
    Word word = 0;
#ifdef HLSGEN_SYNTHESIS
    for (unsigned i = 0; i < N; i++) {
#pragma HLS UNROLL
        set_lane<T>(word, i, in[i]);
    }
#else
    static const int W = T::width;
    Bits<Word::width> bits;
    const unsigned long long mask = W == 64 ? ~0ULL : (1ULL << W) - 1;
    for (unsigned i = 0; i < N; i++) bits.put(i * W, (unsigned long long)in[i].to_int64() & mask, W);
    word = bits.template word<Word>();
#endif
    return word;
}

// Per-layer traces (C simulation built with HLSGEN_TRACE_CSIM, sequential):
// after a process has run, its output stream holds the whole frame; the
// trace appends its lanes as int64 codes to $HLSGEN_TRACE_DIR/<stream>.bin
// and puts the words back for the next process.
#ifdef HLSGEN_TRACE_CSIM
template <typename T, unsigned LANES, typename Word>
void trace(hls::stream<Word> &s, const char *name) {
    const char *dir = std::getenv("HLSGEN_TRACE_DIR");
    std::vector<Word> words;
    while (!s.empty()) words.push_back(s.read());
    if (dir) {
        const std::string path = std::string(dir) + "/" + name + ".bin";
        FILE *f = std::fopen(path.c_str(), "ab");
        for (size_t i = 0; f && i < words.size(); i++) {
            T lanes[LANES];
            unpack<T, LANES>(words[i], lanes);
            for (unsigned l = 0; l < LANES; l++) {
                const long long code = lanes[l].to_int64();
                std::fwrite(&code, sizeof code, 1, f);
            }
        }
        if (f) std::fclose(f);
    }
    for (size_t i = 0; i < words.size(); i++) s.write(words[i]);
}
#define HLSGEN_TRACE(stream, name, lanes, T) hlsgen::trace<T, lanes>(stream, name)
#else
#define HLSGEN_TRACE(stream, name, lanes, T) ((void)0)
#endif

} // namespace hlsgen

#endif
