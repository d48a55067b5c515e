// hlsgen kernel library: packed stream words.
// A stream word is an ap_uint holding N lanes of W bits, lane 0 in the low
// bits. Lanes are integer codes (ap_int / ap_uint); binary points live in the
// generator, never in hardware, so every operation here is integer-exact.
#ifndef HLSGEN_STREAM_H
#define HLSGEN_STREAM_H

#include "ap_int.h"
#include "hls_stream.h"

namespace hlsgen {

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
