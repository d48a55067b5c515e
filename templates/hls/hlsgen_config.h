// hlsgen kernel library: which branch of the library is compiled.
// HLSGEN_SYNTHESIS selects the code Vitis HLS synthesizes (constants from the
// params headers, lanes unpacked in the loop, sized ap_int arithmetic).
// __SYNTHESIS__ implies it. `hlsgen csim` also defines it, with g++ on the
// open-source ap_types headers (which refuse __SYNTHESIS__ itself), so the
// synthesized code is executed and compared with the golden executor too.
#ifndef HLSGEN_CONFIG_H
#define HLSGEN_CONFIG_H

#if defined(__SYNTHESIS__) && !defined(HLSGEN_SYNTHESIS)
#define HLSGEN_SYNTHESIS 1
#endif

#endif
