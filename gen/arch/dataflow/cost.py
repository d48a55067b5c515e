"""Cost model: cycles, latency and FPGA resources of each dataflow kernel.

hlsgen estimates everything from `LayerShape`, a descriptor that knows
nothing of the IR or of gen/arch/dataflow/design.py, so the folding search can evaluate
thousands of candidate foldings cheaply and tests can describe published
networks directly. `shapes_from_design` converts a built Design.

Every formula and its assumption is in this table, and nowhere else.

Notation: SF = mw/simd (synapse folds), NF = mh/pe (neuron folds),
p = product bits (1 for XNOR, wbits+abits otherwise), acc = accumulator bits.

| quantity | formula | assumption |
|---|---|---|
| mvu cycles | pixels * SF * NF | the folded loop runs at II=1 (FINN's MVAU, templates/hls/hlsgen_mvu.h); a convolution is one matrix-vector product per output pixel |
| block-sparse mvu cycles | the trip count of its loop (gen/arch/dataflow/sparse.py schedule_cycles), about pixels * max(SF, tiles) | when some PE x SIMD tile is all zero, the unit walks the T stored tiles at II=1, reading the next pixel's input while visiting this one's; exact for the generated loop, not a model |
| dwu, pool cycles | pixels * (KK + 1) * C/simd | per output pixel KK window words per channel fold in, then one word out |
| swg cycles | (IH*IW + OH*OW*KH*KW) * C/simd | hlsgen's window unit writes a row, then reads that row's windows (not overlapped) |
| global_pool cycles | pixels * C/simd | one input word per cycle |
| pad, requant, add, concat, fork, fifo, argmax cycles | count / simd | one word per cycle |
| resize cycles | count / min(simd, pe) | the narrow side moves one word per cycle |
| frame interval (II) | max over layers of cycles | dataflow: the slowest layer sets the pace; frames/s = clock / II |
| pipeline depth | PIPE_DEPTH + ceil(log2 simd) (mvu), PIPE_DEPTH (others), 2 (resize, fifo) | read, multiply, adder tree (one level per stage), accumulate, requantize |
| frame latency | sum over kernels of (cycles + pipeline depth) | upper bound: a kernel is charged its whole frame before the next starts; line-buffered kernels overlap in reality |
| MAC class | xnor if wbits = abits = 1; lut if min(wbits, abits) = 1 or both <= LUT_MULT_MAX_BITS; else dsp | 1-bit x 1-bit is XNOR-popcount; a 1-bit operand is a conditional negate or AND; small multipliers are cheaper in LUTs than a DSP48 slot |
| multiplier LUTs per lane | 0 (xnor, dsp); wbits * abits (lut) | an array multiplier maps about one partial-product bit per LUT6 with the carry chain |
| DSPs per lane | ceil(max(w,a)/25) * ceil(min(w,a)/18) (dsp class) | DSP48E1 25x18 multiplier, the smallest of the supported families |
| adder tree LUTs per PE | sum over levels l = 1..ceil(log2 simd) of ceil(simd/2^l) * (p + l) | a binary tree of ripple adders, one LUT per sum bit; widths grow one bit per level |
| accumulator per PE (mvu) or lane (dwu, pool, global_pool, add) | acc LUTs, acc FFs | one adder or comparator and its register |
| constant multipliers per lane (add of differently scaled branches) | (digits - 1) * acc LUTs per multiplier | a constant times a code is its nonzero canonical-signed-digit terms shifted and summed |
| requantization per lane | identity 0; shift 2*acc LUTs; thresholds n*acc + n LUTs; lookup table acc LUTs; multiply: the acc x m multiplier by the MAC rule (DSPs above LUT_MULT_MAX_BITS), acc + m LUTs (bias adder), 2*out LUTs (clamps), x*(acc + out) LUTs (x exceptions) | shift: round adder and clamp; thresholds: one comparator per threshold (one LUT per bit) and a count of the results; table: the index subtraction; multiply: Jacob et al. 2018's M0*2^-n, the shift is wiring, an exception is an equality comparator and an output select |
| choice of requantization form | among the exact forms of a layer (gen/passes/requant.py), the least LUT + FF/2 + LUTS_PER_DSP*DSP + BRAM18_LUTS*BRAM18 at one lane, memories included | a lane's comparators, multiplier and tables scale alike with the lanes; a DSP slot weighed by its scarcity on the Zynq-7020 (53,200 LUTs / 220 DSPs = 242) |
| mvu pipeline FFs per PE | tree LUTs + simd*wbits + out_bits | HLS registers every adder-tree level at 100-300 MHz, the weight word read and the output |
| mvu memories | weights: pe banks of SF*NF words x simd*wbits bits (narrow words packed K to a word of up to 64 bits, K a power of two dividing the depth: SF*NF/K x K*simd*wbits); input vector: 1 bank of SF x simd*abits; bias: pe banks of NF x acc | FINN's layout: one memory per PE, each word one SIMD slice, so a 1-bit design stores 1 bit per weight |
| constant-weight mvu (fully unrolled: SIMD = MW, PE = MH) | no weight memory; multipliers (LUTs or DSPs by the MAC rule) only for the N weights that are neither 0 nor +-2^k; an adder tree per PE over its non-zero terms | its weights are one-word ROMs of compile-time constants, which synthesis propagates (as hls4ml's fully unrolled layers): a zero product disappears, a +-2^k one is a shift |
| weight-shared mvu (a codebook of E entries, b-bit codes) | weights memories of simd*b-bit words; the codebook in registers (E x wbits FFs); simd*pe*wbits*ceil(E/4) LUTs (a code selects its weight: an E:1 mux per bit); cycles: the tile walk over every tile (or the non-zero ones) | gen/arch/dataflow/sharing.py: a candidate where codes plus codebook take at most 2/3 of the weights' bits; used at a folding only where it costs fewer LUT + FF/2 + LUTS_PER_DSP*DSP + BRAM18_LUTS*BRAM18 than the unshared unit (codebook_pays; the requantization form's weighting) |
| block-sparse mvu memories | weights: pe banks of T words (the stored tiles, packed as above); index: 1 bank of T x (ceil(log2 SF) + 1) bits; input: 2 pixels' SF words; TILE_WALK_LUT LUTs, TILE_WALK_FF FFs more | T = stored tiles (non-zero ones, plus one per neuron fold that has none); used only where T < SF*NF and the walk takes fewer cycles (or fewer weight and index bits) than the dense unit (sparse.py Sparsity.pays), else the dense unit |
| requantization memories | multiply: m and b (m + b bits) per channel and x exceptions (acc + out bits each) per channel, partitioned like thresholds (lanes banks, registers or LUTRAM); thresholds: lanes * n banks of ceil(sets/lanes) words (n registers if shared by all channels) x (acc + 2) bits, in registers (depth 1) or LUTRAM, never BRAM; tables: lanes banks of ceil(sets/lanes) * entries x out_bits, by the memory-style rule | templates/hls/hlsgen_requant.h partitions the threshold array cyclically by lane and completely by threshold (FINN's layout), so every lane compares all its thresholds in the cycle it reads them: lanes * n memories of a few words each, which Vivado keeps in LUTs and FFs (a BRAM18 per threshold would hold a few words of 18 Kb); a lookup table is partitioned by lane (each lane one read per cycle) |
| dwu, pool, global_pool memories | weights (dwu): KK*C/simd x simd*wbits; bias (dwu) and accumulators: C/simd x simd*acc | packed: one word per channel fold |
| memory style | registers if depth = 1; LUTRAM if ceil(depth/64) * width <= LUTRAM_LUTS_PER_BRAM18 * (its BRAM18 count); else BRAM18 | a LUT6 is a 64x1 RAM; below 32 LUTs per BRAM18 the BRAMs would be at most 1/9 full |
| BRAM18 per memory | min over aspect ratios (depth x width) 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36 of ceil(width/w) * ceil(depth/d) | simple dual port RAMB18; URAM is not used |
| swg line buffer | KH banks of IW*C/simd words x simd*abits; simd*abits*ceil(KH/4) LUTs (row select), 2*simd*abits FFs | hlsgen's window unit keeps KH whole rows (one bank per row) |
| pad, concat | simd*abits LUTs (select), simd*abits FFs | |
| fork | simd*abits FFs; its two output streams | |
| resize | max(simd,pe)*bits LUTs (lane select) and FFs (word register) | |
| AXI-Stream ports | the input and output converted to words of at most 1024 bits (gen/arch/dataflow/folding.py) by a resize kernel, costed as above; the port processes themselves move one word per cycle and are in the shell | PG021: AXI DMA stream width at most 1024 bits |
| word widths | every stream and weight word at most 4096 bits; the search proposes no folding over it | UG1399: AP_INT_MAX_W at most 4096 |
| stream FIFO | depth <= 2: width LUTs (SRL) + width FFs, charged to the producing kernel; deeper (kind fifo): ceil(depth/32)*width LUTs up to 32 words (SRL32), else the memory rule | hls::stream |
| argmax | simd*abits + index LUTs, abits + index FFs | one running maximum |
| every kernel | KERNEL_LUT LUTs, KERNEL_FF FFs | loop counters, FSM, stream handshakes |
| platform shell | SHELL_LUT, SHELL_FF, SHELL_BRAM18 | AXI DMA (simple mode), AXI interconnect, AXI-Lite control, resets |

Calibration (the constants below; see tests/test_cost_calibration.py).
Published post-implementation utilisation of two BNN-PYNQ designs on the
Zynq-7020 (PYNQ-Z1/Z2, Vivado 2018.2, from the utilisation reports in the
network READMEs of the Xilinx/BNN-PYNQ repository, whole overlay including
its AXI shell), estimated here from the layer configuration published in
the same repository (bnn/src/network/{cnv,lfc}W1A1/hw/config.h):

| design | LUT | FF | BRAM18 | DSP |
|---|---|---|---|---|
| CNV-W1A1 measured | 26,072 | 41,312 | 248 (76 RAMB36 + 96 RAMB18) | 24 |
| LFC-W1A1 measured | 28,360 | 33,470 | 220 (6 RAMB36 + 208 RAMB18) | 4 |

Estimates of the same two designs described as hlsgen kernels with their
published folding, BNN-PYNQ's deep inter-layer FIFOs (top.cpp) included
(tests/test_cost_calibration.py asserts these ratios stay in band):

| design | LUT | FF | BRAM18 |
|---|---|---|---|
| CNV-W1A1 estimate / measured | 1.02 | 0.71 | 0.56 |
| LFC-W1A1 estimate / measured | 1.06 | 1.04 | 0.97 |

The BRAM18 rule reproduces LFC's 208 RAMB18 of weights exactly. CNV's
measured BRAM18 exceed the estimate by about 100: its window buffers and
small parameter memories were placed in BRAM by Vivado HLS 2018.2, and its
AXI master adapters buffer in BRAM; hlsgen's designs keep such small
memories in LUTRAM by the rule above (which the templates must request for
the estimate to hold). CNV's missing FFs are most likely its threshold
arrays, partitioned into registers. The 24 and 4 DSPs of those designs are
address arithmetic, which this model does not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from hlsgen.errors import HlsgenError, InternalError
from hlsgen.arch.dataflow.folding import MAX_WORD_BITS, port_lanes
from hlsgen.arch.dataflow.cost_recurrent import rnn_cost, rnn_divisions, rnn_lanes, rnn_shape
from hlsgen.arch.dataflow.sparse import all_tiles

# --- calibrated constants (see the table above) ------------------------------
LUT_MULT_MAX_BITS = 4      # both operands at most this wide: multiplier in LUTs
LUTRAM_LUTS_PER_BRAM18 = 32   # LUTRAM when it takes at most this many LUT6 per BRAM18 saved
SRL_DEPTH = 32             # SRLC32E: 32 words per LUT per bit
PIPE_DEPTH = 4             # pipeline stages besides the adder tree
KERNEL_LUT = 200
KERNEL_FF = 300
SHELL_LUT = 4000
SHELL_FF = 6000
SHELL_BRAM18 = 6
TILE_WALK_LUT = 64         # block-sparse mvu: read/visit pointers, their comparisons
TILE_WALK_FF = 64

UNITS = ("mvu", "dwu", "rnn")   # the kernels a folding names (PE x SIMD)
KINDS = UNITS + ("swg", "pad", "pool", "global_pool", "requant", "add", "concat", "fork",
                 "resize", "fifo", "argmax", "upsample", "crop")
REQUANT_KINDS = ("identity", "shift", "thresholds", "lut", "multiply")
LUTS_PER_DSP = 242         # choosing a requantization form: a DSP slot weighs this many LUTs
BRAM18_LUTS = 600          # ... and a BRAM18 this many
RESOURCES = ("lut", "ff", "dsp", "bram18")

# (depth, width) aspect ratios of a RAMB18 in simple dual-port mode.
_BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))
_PER_CHANNEL = ("dwu", "swg", "pad", "pool", "global_pool", "upsample", "crop")   # lanes divide `channels`
_OUT_BITS = ("mvu", "dwu", "pool", "global_pool", "requant", "add", "argmax")


@dataclass(frozen=True)
class LayerShape:
    """One dataflow kernel as the cost model sees it.

    mvu: a dense layer (pixels=1) or a convolution (mw = KH*KW*Cin, mh = Cout,
    pixels = OH*OW), on `pe` x `simd` MAC lanes, its requantization fused
    (`requant`: `thresholds` per channel, or a lookup table of
    `table_entries` codes; `requant_channels` distinct sets of them, 1 when
    shared). dwu (depthwise convolution), pool (window
    reduction after a swg) and global_pool: `channels`, `kernel` taps
    (only KH*KW matters), `pixels` (output pixels; input pixels for
    global_pool), `simd` channel lanes. swg: `channels`, `kernel`,
    `in_dim` (IH, IW), `stride` (SH, SW). pad, requant, add, concat, fork,
    fifo, argmax: `count` values per frame (out of pad and concat, into the
    others); a resize converts `simd` lanes into `pe` lanes; a fifo holds
    `depth` words. Lane widths: `abits` in, `out_bits` out, `accbits`
    accumulators (and the input of a requant).
    """

    name: str
    kind: str
    mw: int = 1
    mh: int = 1
    pixels: int = 1
    wbits: int = 1
    abits: int = 8
    accbits: int = 32
    out_bits: int = 8
    simd: int = 1
    pe: int = 1
    requant: str = "identity"
    thresholds: int = 0
    table_entries: int = 0
    requant_channels: int = 1
    requant_mult_bits: int = 0     # multiply: bits of m, of b, exceptions per channel
    requant_bias_bits: int = 0
    requant_exceptions: int = 0
    mul_adders: int = 0            # add: adders of its constant multipliers (scaled branches)
    bias: bool = True
    channels: int = 1
    kernel: tuple[int, int] = (1, 1)
    in_dim: tuple[int, int] = (1, 1)
    stride: tuple[int, int] = (1, 1)
    count: int = 1
    depth: int = 2
    in_count: int = 0     # values per frame into the kernel; 0: derived from the shape
    sparsity: object = None   # mvu: its weights' zero pattern (gen/arch/dataflow/sparse.py Sparsity)
    codebook: int = 0         # mvu: entries of its codebook (gen/arch/dataflow/sharing.py), 0: none
    code_bits: int = 0        # ... and the bits of a code
    nonzero_weights: int = -1     # mvu: weights that are not 0, and of those the
    nontrivial_weights: int = -1  # ones that are not +-2^k (-1: not known)

    def __post_init__(self) -> None:
        where = f"layer '{self.name}'"
        if self.kind not in KINDS:
            raise HlsgenError(f"{where}: kernel kind '{self.kind}' has no cost model; "
                              f"use one of {', '.join(KINDS)}")
        if self.requant not in REQUANT_KINDS:
            raise HlsgenError(f"{where}: requantization '{self.requant}' is unknown; "
                              f"use one of {', '.join(REQUANT_KINDS)}")
        if self.in_count < 0:
            raise HlsgenError(f"{where}: in_count must not be negative, got {self.in_count}")
        for f in ("mw", "mh", "pixels", "wbits", "abits", "accbits", "out_bits", "simd", "pe",
                  "channels", "count", "depth"):
            # The design was made by hlsgen (a user's folding is checked in
            # gen/arch/dataflow/design.py before it gets here): a bad shape is hlsgen's bug.
            if getattr(self, f) < 1:
                raise InternalError(f"{where}: {f} must be a positive integer, "
                                    f"got {getattr(self, f)}")
        for what, n, lanes, lane_name in self._divisions():
            if n % lanes:
                raise InternalError(f"{where}: {lane_name} {lanes} does not divide its {n} {what}")
        if self.kind == "swg" and min(self.out_dim) < 1:
            raise HlsgenError(f"{where}: a {self.kernel} window does not fit its {self.in_dim} "
                              f"input; check the layer's dimensions")

    def _divisions(self) -> list[tuple[str, int, int, str]]:
        if self.kind == "mvu":
            return [("inputs", self.mw, self.simd, "SIMD"), ("outputs", self.mh, self.pe, "PE")]
        if self.kind == "rnn":
            return rnn_divisions(self)
        if self.kind in _PER_CHANNEL:
            return [("channels", self.channels, self.simd, "SIMD")]
        out = [("values", self.count, self.simd, "SIMD")]
        return out + ([("values", self.count, self.pe, "PE")] if self.kind == "resize" else [])

    @property
    def out_dim(self) -> tuple[int, int]:
        """(OH, OW) of a sliding window ('valid': padding is a kernel of its own)."""
        (kh, kw), (ih, iw), (sh, sw) = self.kernel, self.in_dim, self.stride
        return (ih - kh) // sh + 1, (iw - kw) // sw + 1

    @property
    def taps(self) -> int:
        return self.kernel[0] * self.kernel[1]

    @property
    def in_lanes(self) -> int:
        return rnn_lanes(self)[0] if self.kind == "rnn" else self.simd

    @property
    def out_lanes(self) -> int:
        if self.kind == "rnn":
            return rnn_lanes(self)[1]
        if self.kind in ("mvu", "resize"):
            return self.pe
        return 1 if self.kind == "argmax" else self.simd

    @property
    def out_lane_bits(self) -> int:
        return self.out_bits if self.kind in _OUT_BITS else self.abits

    @property
    def in_values(self) -> int:
        """Values per frame on the kernel's input stream."""
        if self.in_count:
            return self.in_count
        if self.kind == "mvu":
            return self.mw * self.pixels
        if self.kind in ("dwu", "pool"):
            return self.taps * self.channels * self.pixels
        if self.kind == "global_pool":
            return self.channels * self.pixels
        if self.kind == "swg":
            return self.in_dim[0] * self.in_dim[1] * self.channels
        return self.count

    @property
    def words(self) -> list[tuple[str, int]]:
        """(what, bits) of the kernel's widest words: input, output and
        (units) weight words."""
        out = [("input", self.in_lanes * self.abits),
               ("output", self.out_lanes * self.out_lane_bits)]
        if self.kind in UNITS:
            out.append(("weight", self.simd * self.wbits))
        return out

    @property
    def out_values(self) -> int:
        """Values per frame on the kernel's output stream."""
        if self.kind == "mvu":
            return self.mh * self.pixels
        if self.kind in ("dwu", "pool"):
            return self.channels * self.pixels
        if self.kind == "global_pool":
            return self.channels
        if self.kind == "swg":
            oh, ow = self.out_dim
            return oh * ow * self.taps * self.channels
        return 1 if self.kind == "argmax" else self.count


@dataclass(frozen=True)
class Memory:
    """Where one group of identical memories goes, and what it takes."""

    style: str        # registers, lutram, bram18, srl, none
    lut: int = 0
    ff: int = 0
    bram18: int = 0
    banks: int = 0
    depth: int = 0
    width: int = 0

    @property
    def text(self) -> str:
        if self.style == "none":
            return ""
        return f"{self.banks} x {self.depth}x{self.width} in {self.style}"


NO_MEMORY = Memory("none")


@dataclass(frozen=True)
class LayerCost:
    name: str
    kind: str
    cycles: int
    depth: int        # pipeline stages from first input to first output
    lut: int
    ff: int
    dsp: int
    bram18: int
    memories: dict = field(default_factory=dict)   # role -> Memory
    folding: str = ""
    compression: dict = field(default_factory=dict)  # mvu with a sparsity: see compression()

    def resource(self, r: str) -> int:
        return getattr(self, r)


def bram18_count(depth: int, width: int) -> int:
    """RAMB18s holding `depth` words of `width` bits (the cheapest aspect ratio)."""
    if depth <= 0 or width <= 0:
        return 0
    return min(math.ceil(width / w) * math.ceil(depth / d) for d, w in _BRAM18_SHAPES)


def memory(depth: int, width: int, banks: int = 1) -> Memory:
    """`banks` identical memories of depth x width bits, placed by the memory-style rule."""
    if depth <= 0 or width <= 0 or banks <= 0:
        return NO_MEMORY
    if depth == 1:
        return Memory("registers", ff=banks * width, banks=banks, depth=depth, width=width)
    luts, brams = math.ceil(depth / 64) * width, bram18_count(depth, width)
    if luts <= LUTRAM_LUTS_PER_BRAM18 * brams:
        return Memory("lutram", lut=banks * luts, banks=banks, depth=depth, width=width)
    return Memory("bram18", bram18=banks * brams, banks=banks, depth=depth, width=width)


def mac_class(wbits: int, abits: int) -> str:
    if wbits == 1 and abits == 1:
        return "xnor"
    if min(wbits, abits) == 1 or max(wbits, abits) <= LUT_MULT_MAX_BITS:
        return "lut"
    return "dsp"


def _multiplier(wbits: int, abits: int) -> tuple[int, int, int]:
    """(LUTs, DSPs, product bits) of one lane's multiplier."""
    cls = mac_class(wbits, abits)
    if cls == "xnor":
        return 0, 0, 1
    if cls == "lut":
        return wbits * abits, 0, wbits + abits
    lo, hi = sorted((wbits, abits))
    return 0, math.ceil(hi / 25) * math.ceil(lo / 18), wbits + abits


def adder_tree_luts(n: int, p: int) -> int:
    """LUTs of a binary adder tree summing n terms of p bits."""
    total, level, terms = 0, 0, n
    while terms > 1:
        level += 1
        terms = math.ceil(terms / 2)
        total += terms * (p + level)
    return total


def requant_luts(s: LayerShape) -> int:
    """LUTs of one lane's requantization (its tables are memories, counted apart)."""
    if s.requant == "shift":
        return 2 * s.accbits
    if s.requant == "thresholds":
        return s.thresholds * (s.accbits + 1)
    if s.requant == "multiply":
        return (_multiplier(s.accbits, s.requant_mult_bits)[0] + s.accbits + s.requant_mult_bits
                + 2 * s.out_bits + s.requant_exceptions * (s.accbits + s.out_bits))
    return s.accbits if s.requant == "lut" else 0


def requant_dsps(s: LayerShape) -> int:
    """DSPs of one lane's requantization (the multiplier form's acc x m)."""
    return _multiplier(s.accbits, s.requant_mult_bits)[1] if s.requant == "multiply" else 0


def requant_form_cost(kind: str, accbits: int, out_bits: int, channels: int, thresholds: int = 0,
                      mult_bits: int = 0, bias_bits: int = 0, exceptions: int = 0,
                      table_entries: int = 0) -> float:
    """What a requantization form takes at one lane, its tables included, as
    LUT-equivalents (see the table above): gen/passes/requant.py keeps the
    cheapest exact form."""
    s = LayerShape("requant form", "requant", accbits=max(accbits, 1), out_bits=max(out_bits, 1),
                   requant=kind, thresholds=thresholds, requant_channels=channels,
                   requant_mult_bits=mult_bits, requant_bias_bits=bias_bits,
                   requant_exceptions=exceptions, table_entries=table_entries)
    mem = _requant_memory(s, 1)
    return (requant_luts(s) + mem.lut + (s.accbits + s.out_bits + mem.ff) / 2
            + LUTS_PER_DSP * requant_dsps(s) + BRAM18_LUTS * mem.bram18)


THRESHOLD_EXTRA_BITS = 2   # hlsgen_requant.h: thresholds are 2 bits wider than the accumulator


MEMORY_WORD_BITS = 64   # narrow weight words are packed up to this width


def pack_factor(depth: int, word_bits: int, max_bits: int = MEMORY_WORD_BITS) -> int:
    """How many consecutive weight words (word_bits each, depth of them in one
    memory) share one memory word: the largest power of two K with
    K * word_bits <= max_bits that divides depth and needs no more BRAM18
    than the unpacked memory (1 when none does). Packed memories keep the
    synthesis headers' initialisers short (one literal per memory word); a
    power of two, so the kernel's word index and lane select are bit fields."""
    k, brams = 1, bram18_count(depth, word_bits)
    while (2 * k * word_bits <= max_bits and depth % (2 * k) == 0
           and bram18_count(depth // (2 * k), 2 * k * word_bits) <= brams):
        k *= 2
    return k


def weight_memory(depth: int, word_bits: int, banks: int = 1) -> Memory:
    """`banks` weight memories of `depth` words of `word_bits` bits, as the
    project stores them: narrow words packed K to a memory word (pack_factor)."""
    k = pack_factor(depth, word_bits)
    return memory(depth // k, k * word_bits, banks)


def partitioned_memory(depth: int, width: int, banks: int) -> Memory:
    """`banks` memories of a completely partitioned dimension: registers
    when one word deep, else LUTRAM (distributed RAM), never a BRAM18 each."""
    if depth <= 0 or width <= 0 or banks <= 0:
        return NO_MEMORY
    if depth == 1:
        return Memory("registers", ff=banks * width, banks=banks, depth=depth, width=width)
    return Memory("lutram", lut=banks * math.ceil(depth / 64) * width, banks=banks, depth=depth,
                  width=width)


def _requant_memory(s: LayerShape, lanes: int) -> Memory:
    """Thresholds: one bank per lane and threshold, holding it for the lane's
    channels (the array partitioned so a lane's comparisons all read in the
    same cycle), in registers or LUTRAM. Tables: one bank per lane, holding
    the tables of the lane's channels."""
    per_lane = 1 if s.requant_channels == 1 else math.ceil(s.requant_channels / lanes)
    if s.requant == "thresholds" and s.thresholds:
        copies = 1 if s.requant_channels == 1 else lanes   # a shared set: one, read by all
        return partitioned_memory(per_lane, s.accbits + THRESHOLD_EXTRA_BITS,
                                  copies * s.thresholds)
    if s.requant == "lut" and s.table_entries:
        return memory(per_lane * s.table_entries, s.out_bits, lanes)
    if s.requant == "multiply":
        copies = 1 if s.requant_channels == 1 else lanes
        line = partitioned_memory(per_lane, s.requant_mult_bits + s.requant_bias_bits, copies)
        exc = partitioned_memory(per_lane, s.accbits + s.out_bits, copies * s.requant_exceptions)
        return Memory(line.style, lut=line.lut + exc.lut, ff=line.ff + exc.ff, banks=line.banks + exc.banks,
                      depth=per_lane, width=s.requant_mult_bits + s.requant_bias_bits)
    return NO_MEMORY


def _lanes(n: int) -> str:
    return f"{n} lane" + ("" if n == 1 else "s")


# Each kernel model returns (cycles, pipeline depth, LUT, FF, DSP, memories,
# folding text); layer_cost adds what every kernel has.

def _mvu(s: LayerShape) -> tuple:
    sf, nf = s.mw // s.simd, s.mh // s.pe
    mult, dsp, p = _multiplier(s.wbits, s.abits)
    tree = adder_tree_luts(s.simd, p)
    tiles = s.sparsity.sparse_at(s.simd, s.pe, s.pixels) if s.sparsity is not None else None
    mems = {"weights": weight_memory(sf * nf, s.simd * s.wbits, s.pe),
            "input": memory(sf, s.simd * s.abits),
            "bias": memory(nf, s.accbits, s.pe) if s.bias else NO_MEMORY,
            "requant": _requant_memory(s, s.pe)}
    lut = s.pe * (s.simd * mult + tree + s.accbits + requant_luts(s))
    ff = s.pe * (tree + s.simd * s.wbits + s.accbits + s.out_bits) + s.simd * s.abits
    depth = PIPE_DEPTH + math.ceil(math.log2(s.simd))
    cycles = s.pixels * sf * nf
    if constant_weights(s):
        # Fully unrolled: the weights are compile-time constants (one-word
        # ROMs), so synthesis drops zero products and makes +-2^k ones shifts;
        # only the other products take a multiplier, and only non-zero terms an adder.
        terms = math.ceil(s.nonzero_weights / s.pe)
        lut = (s.nontrivial_weights * mult + s.pe * (adder_tree_luts(max(terms, 1), p) + s.accbits
                                                     + requant_luts(s)))
        ff = s.pe * (adder_tree_luts(max(terms, 1), p) + s.accbits + s.out_bits) + s.simd * s.abits
        mems["weights"] = NO_MEMORY
        return (cycles, depth, lut, ff, s.nontrivial_weights * dsp + s.pe * requant_dsps(s), mems,
                f"{s.simd} x {s.pe}, constant weights")
    if tiles is not None or s.codebook:
        # The tile-walking unit (gen/arch/dataflow/sparse.py): only the
        # non-zero tiles stored and visited, and/or codes into a codebook.
        walk = tiles or all_tiles(s.simd, s.pe, s.mw, s.mh, sf * nf)
        lane_bits = s.code_bits if s.codebook else s.wbits
        mems.update(weights=weight_memory(walk.tiles, s.simd * lane_bits, s.pe),
                    input=memory(2 * sf, s.simd * s.abits),
                    index=memory(walk.tiles, walk.index_bits) if walk.indexed else NO_MEMORY)
        if s.codebook:
            mems["codebook"] = Memory("registers", ff=s.codebook * s.wbits, banks=1,
                                      depth=s.codebook, width=s.wbits)
            lut += s.pe * s.simd * s.wbits * math.ceil(s.codebook / 4)   # a code selects its weight
        lut += TILE_WALK_LUT
        ff += TILE_WALK_FF
        cycles = walk.cycles(s.pixels)
    return (cycles, depth, lut, ff, s.pe * (s.simd * dsp + requant_dsps(s)), mems,
            f"{s.simd} x {s.pe}")


def _channel_lanes(s: LayerShape, mult: int = 0, dsp: int = 0, weights: bool = False) -> tuple:
    """dwu, pool and global_pool: one accumulator (and multiplier) per channel lane."""
    cf = s.channels // s.simd
    mems = {"accumulators": memory(cf, s.simd * s.accbits),
            "weights": weight_memory(s.taps * cf, s.simd * s.wbits) if weights else NO_MEMORY,
            "bias": memory(cf, s.simd * s.accbits) if weights and s.bias else NO_MEMORY,
            "requant": _requant_memory(s, s.simd)}
    lut = s.simd * (mult + s.accbits + requant_luts(s))
    ff = s.simd * (s.accbits + s.out_bits + (s.wbits if weights else 0))
    cycles = s.pixels * cf if s.kind == "global_pool" else s.pixels * (s.taps + 1) * cf
    return cycles, PIPE_DEPTH, lut, ff, s.simd * (dsp + requant_dsps(s)), mems, _lanes(s.simd)


def _dwu(s: LayerShape) -> tuple:
    mult, dsp, _ = _multiplier(s.wbits, s.abits)
    return _channel_lanes(s, mult, dsp, weights=True)


def _swg(s: LayerShape) -> tuple:
    (kh, _), (ih, iw) = s.kernel, s.in_dim
    oh, ow = s.out_dim
    cf, word = s.channels // s.simd, s.simd * s.abits
    mems = {"line buffer": memory(iw * cf, word, kh)}
    cycles = (ih * iw + oh * ow * s.taps) * cf
    return cycles, PIPE_DEPTH, word * math.ceil(kh / 4), 2 * word, 0, mems, _lanes(s.simd)


def _select(s: LayerShape) -> tuple:
    """pad, crop and concat: a word select per cycle."""
    word = s.simd * s.abits
    return s.count // s.simd, PIPE_DEPTH, word, word, 0, {}, _lanes(s.simd)


def _upsample(s: LayerShape) -> tuple:
    """A word per cycle out; one input row held to repeat it."""
    cf, word = s.channels // s.simd, s.simd * s.abits
    mems = {"row buffer": memory(s.in_dim[1] * cf, word, 1)}
    return s.count // s.simd, PIPE_DEPTH, word, 2 * word, 0, mems, _lanes(s.simd)


def _fork(s: LayerShape) -> tuple:
    return s.count // s.simd, 2, 0, s.simd * s.abits, 0, {}, _lanes(s.simd)


def _elementwise(s: LayerShape) -> tuple:
    """requant and add: each lane's (adder and) requantization."""
    adder = s.accbits * (1 + s.mul_adders) if s.kind == "add" else 0
    mems = {"requant": _requant_memory(s, s.simd)}
    lut = s.simd * (adder + requant_luts(s))
    ff = s.simd * (s.accbits + s.out_bits)
    return s.count // s.simd, PIPE_DEPTH, lut, ff, s.simd * requant_dsps(s), mems, _lanes(s.simd)


def _resize(s: LayerShape) -> tuple:
    wide = max(s.simd, s.pe) * s.abits
    return (s.count // min(s.simd, s.pe), 2, wide, wide, 0, {},
            f"{s.simd} -> {s.pe} lanes")


def _fifo(s: LayerShape) -> tuple:
    width = s.simd * s.abits
    if s.depth <= SRL_DEPTH:
        mems = {"fifo": Memory("srl", lut=width, banks=1, depth=s.depth, width=width)}
    else:
        mems = {"fifo": memory(s.depth, width)}
    return s.count // s.simd, 2, 0, width, 0, mems, f"depth {s.depth}"


def _argmax(s: LayerShape) -> tuple:
    index = max(1, math.ceil(math.log2(s.count)))
    lut = s.simd * s.abits + index
    return s.count // s.simd, PIPE_DEPTH, lut, s.abits + index, 0, {}, _lanes(s.simd)


_KERNELS = {"mvu": _mvu, "dwu": _dwu, "swg": _swg, "pad": _select, "pool": _channel_lanes,
            "global_pool": _channel_lanes, "requant": _elementwise, "add": _elementwise,
            "concat": _select, "fork": _fork, "resize": _resize, "fifo": _fifo,
            "argmax": _argmax, "upsample": _upsample, "crop": _select,
            "rnn": lambda s: rnn_cost(s, _mvu, _multiplier, memory, PIPE_DEPTH)}


WEIGHT_ROLES = ("weights", "index", "codebook")   # what a unit stores of its weights


def weight_bits(memories: dict) -> int:
    """Bits of a unit's weight storage (weights, tile index, codebook)."""
    return sum(m.banks * m.depth * m.width for r, m in memories.items() if r in WEIGHT_ROLES)


def constant_weights(s: LayerShape) -> bool:
    """A fully unrolled unit (one tile) whose weights are known: the
    constant-weight unit (multiplier-free where a weight is 0 or +-2^k)."""
    return (s.kind == "mvu" and s.simd == s.mw and s.pe == s.mh and s.nontrivial_weights >= 0
            and mac_class(s.wbits, s.abits) != "xnor")


def multipliers(s: LayerShape) -> int:
    """Multipliers of a unit: one per lane, or (constant-weight unit) one per
    weight that is neither 0 nor +-2^k."""
    return s.nontrivial_weights if constant_weights(s) else s.simd * s.pe


def compression(s: LayerShape, cycles: int, mems: dict) -> dict:
    """What a unit's zero pattern and codebook save at its folding, against
    the same unit dense and unshared: weight density, tiles (stored = visited
    per pixel), cycles and weight memory bits."""
    sf, nf = s.mw // s.simd, s.mh // s.pe
    lay = s.sparsity.layout(s.simd, s.pe) if s.sparsity is not None else None
    walk = s.sparsity.sparse_at(s.simd, s.pe, s.pixels) if lay is not None else None
    dense = _mvu(replace(s, sparsity=None, codebook=0, code_bits=0, nontrivial_weights=-1))
    return {"density": round(s.sparsity.density, 4) if lay else 1.0,
            "tiles": walk.tiles if walk is not None else sf * nf,   # stored and visited
            "nonzero_tiles": lay.nonzero if lay else sf * nf, "dense_tiles": sf * nf,
            "block_sparse": walk is not None,
            "codebook": s.codebook, "code_bits": s.code_bits,
            "constant_weights": constant_weights(s), "multipliers": multipliers(s),
            "dense_multipliers": s.simd * s.pe, "cycles": cycles, "dense_cycles": dense[0],
            "weight_bits": weight_bits(mems), "dense_weight_bits": weight_bits(dense[5])}


def _lut_equivalents(unit: tuple) -> float:
    """A matrix-vector unit's resources, memories included, as LUT-equivalents
    (the weighting that chooses the requantization form)."""
    _, _, lut, ff, dsp, mems, _ = unit
    return (lut + sum(m.lut for m in mems.values()) + (ff + sum(m.ff for m in mems.values())) / 2
            + LUTS_PER_DSP * dsp + BRAM18_LUTS * sum(m.bram18 for m in mems.values()))


def codebook_pays(s: LayerShape) -> bool:
    """A unit whose weights fit a codebook (s.codebook entries,
    gen/arch/dataflow/sharing.py codebook_for) uses it at this folding only
    where its per-lane E:1 code selects cost fewer LUT-equivalents than the
    weight memory (BRAM18, LUTRAM) it saves: e.g. not where the weights fit
    in a few LUTRAMs anyway. The same test serves the cost model, the
    folding search and design.py, so they agree."""
    if s.kind != "mvu" or not s.codebook or constant_weights(s):
        return False
    return _lut_equivalents(_mvu(s)) < _lut_equivalents(_mvu(replace(s, codebook=0, code_bits=0)))


def layer_cost(s: LayerShape) -> LayerCost:
    """Cycles, pipeline depth and resources of one kernel (see the module table)."""
    if s.kind == "mvu" and s.codebook and not codebook_pays(s):
        s = replace(s, codebook=0, code_bits=0)   # the unshared weights cost less
    cycles, depth, lut, ff, dsp, mems, folding = _KERNELS[s.kind](s)
    comp = (compression(s, cycles, mems) if s.kind == "mvu" and (
        s.sparsity is not None or s.codebook or constant_weights(s)) else {})
    # Its depth-2 output stream(s), as shift registers.
    stream = s.out_lanes * s.out_lane_bits * (2 if s.kind == "fork" else 1)
    lut += KERNEL_LUT + stream + sum(m.lut for m in mems.values())
    ff += KERNEL_FF + stream + sum(m.ff for m in mems.values())
    bram = sum(m.bram18 for m in mems.values())
    mems = {k: m for k, m in mems.items() if m.style != "none"}
    return LayerCost(s.name, s.kind, cycles, depth, lut, ff, dsp, bram, mems, folding, comp)


SHELL = {"lut": SHELL_LUT, "ff": SHELL_FF, "dsp": 0, "bram18": SHELL_BRAM18}


@dataclass(frozen=True)
class Estimate:
    """A whole design against a board at a clock."""

    layers: list[LayerCost]
    shell: dict
    board: object        # hlsgen.platform.boards.Board
    clock_mhz: float

    @property
    def totals(self) -> dict:
        return {r: sum(l.resource(r) for l in self.layers) + self.shell.get(r, 0)
                for r in RESOURCES}

    @property
    def available(self) -> dict:
        return {r: getattr(self.board, r) for r in RESOURCES}

    @property
    def utilisation(self) -> dict:
        tot, avail = self.totals, self.available
        return {r: tot[r] / avail[r] for r in RESOURCES}

    def fits(self, max_util: float = 1.0) -> bool:
        return all(u <= max_util for u in self.utilisation.values())

    @property
    def max_cycles(self) -> int:
        return max(l.cycles for l in self.layers)

    @property
    def bottleneck(self) -> str:
        return max(self.layers, key=lambda l: l.cycles).name

    @property
    def fps(self) -> float:
        return self.clock_mhz * 1e6 / self.max_cycles

    @property
    def latency_cycles(self) -> int:
        return sum(l.cycles + l.depth for l in self.layers)

    @property
    def latency_us(self) -> float:
        return self.latency_cycles / self.clock_mhz


def estimate(shapes: list[LayerShape], board, clock_mhz: float | None = None) -> Estimate:
    """Per-kernel costs and totals of a design's shapes on `board`."""
    if not shapes:
        raise HlsgenError("the design has no layers to estimate; check the model")
    clock = float(board.clock_mhz if clock_mhz is None else clock_mhz)
    if not math.isfinite(clock) or clock <= 0:
        raise HlsgenError(f"clock {clock_mhz!r} MHz is not a positive number; give e.g. --clock 100")
    return Estimate([layer_cost(s) for s in shapes], dict(SHELL), board, clock)


# --- refolding: what a new PE x SIMD does to the kernels around a unit ----------

def with_lane_converters(shapes: list[LayerShape]) -> list[LayerShape]:
    """The chain with a resize wherever a kernel's output lanes differ from the
    next kernel's input lanes, as gen/arch/dataflow/design.py inserts them."""
    out: list[LayerShape] = []
    for s in shapes:
        prev = out[-1] if out else None
        if prev is not None and prev.out_lanes != s.in_lanes:
            out.append(LayerShape(f"{prev.name}>{s.name}", "resize", abits=prev.out_lane_bits,
                                  simd=prev.out_lanes, pe=s.in_lanes, count=prev.out_values))
        out.append(s)
    return out


def _lane_total(s: LayerShape) -> int:
    return s.channels if s.kind in _PER_CHANNEL else s.count


def refold(shapes: list[LayerShape], folding: dict) -> list[LayerShape]:
    """The shapes, seen as a chain, with each unit's {simd, pe} from `folding`
    (by name) and the lanes of the kernels around it following: padding and
    sliding windows feed the next unit's SIMD lanes, every other kernel takes
    its producer's lanes (gcd with its channels where they do not divide).
    Lane converters are re-inserted where lanes still differ."""
    chain = [s for s in shapes if s.kind != "resize"]
    out: list[LayerShape] = []
    for i, s in enumerate(chain):
        if s.kind in UNITS and s.name in folding:
            pe = 1 if s.kind == "dwu" else int(folding[s.name]["pe"])
            s = replace(s, simd=int(folding[s.name]["simd"]), pe=pe)
        elif s.kind in ("pad", "swg"):
            fed = next((t for t in chain[i + 1:] if t.kind not in ("pad", "swg", "fifo")), None)
            if fed is not None and fed.kind in UNITS:
                f = folding.get(fed.name, {"simd": fed.simd})
                s = replace(s, simd=math.gcd(int(f["simd"]), s.channels))
            elif out:
                s = replace(s, simd=math.gcd(out[-1].out_lanes, s.channels))
        elif s.kind not in UNITS and out:
            s = replace(s, simd=math.gcd(out[-1].out_lanes, _lane_total(s)))
        out.append(s)
    return with_ports(with_lane_converters(out))


def with_ports(shapes: list[LayerShape]) -> list[LayerShape]:
    """The chain with the lane converters gen/arch/dataflow/design.py puts at the AXI-Stream
    ports: the input and output split into words of at most AXIS_MAX_BITS."""
    if not shapes:
        return shapes
    first, last = shapes[0], shapes[-1]
    head, tail = [], []
    lanes = port_lanes(first.in_lanes, first.abits)
    if lanes != first.in_lanes:
        head = [LayerShape(f"axis_in>{first.name}", "resize", abits=first.abits, simd=lanes,
                           pe=first.in_lanes, count=first.in_values)]
    lanes = port_lanes(last.out_lanes, last.out_lane_bits)
    if lanes != last.out_lanes:
        tail = [LayerShape(f"{last.name}>axis_out", "resize", abits=last.out_lane_bits,
                           simd=last.out_lanes, pe=lanes, count=last.out_values)]
    return head + shapes + tail


def word_problems(shapes: list[LayerShape]) -> list[str]:
    """'layer: N-bit what word' for every word over MAX_WORD_BITS."""
    return [f"{s.name}: {bits}-bit {what} word" for s in shapes for what, bits in s.words
            if bits > MAX_WORD_BITS]


# --- from gen/arch/dataflow/design.py's Design -------------------------------------------------

def layer_name(kernel) -> str:
    """The name a user folds a kernel by: its framework layer for a unit (the
    key of --folding and report.json), else its id."""
    if kernel.kind in UNITS:
        return kernel.attrs.get("layer") or kernel.source.split(" + ")[0]
    return kernel.id


def _csd_digits(m: int) -> int:
    """Nonzero digits of m > 0 in canonical signed-digit form: a constant
    multiplier is that many shifted copies summed (one adder fewer)."""
    return bin(m ^ (3 * m)).count("1")


def _requant_fields(kernel) -> dict:
    rq = kernel.attrs.get("requant") or {"kind": "identity"}
    if rq["kind"] == "multiply":
        return {"requant": "multiply", "requant_channels": len(rq["m"]),
                "requant_mult_bits": int(rq["m_bits"]), "requant_bias_bits": int(rq["b_bits"]),
                "requant_exceptions": len(rq["x"][0])}
    table = kernel.params.get({"thresholds": "thr", "lut": "lut"}.get(rq["kind"], ""))
    if table is None:
        return {"requant": rq["kind"]}
    rows, n = (table.shape[0], table.shape[1]) if table.ndim == 2 else (1, table.size)
    size = {"thresholds": int(n)} if rq["kind"] == "thresholds" else {"table_entries": int(n)}
    return {"requant": rq["kind"], "requant_channels": int(rows), **size}


def _pair(a: dict, one: str, two: str, both: str, default: int = 1) -> tuple[int, int]:
    """(a[one], a[two]), or a[both] as an int or a pair (two attribute spellings)."""
    if one in a:
        return int(a[one]), int(a.get(two, a[one]))
    v = a.get(both, default)
    return (int(v), int(v)) if isinstance(v, int) else (int(v[0]), int(v[1]))


def shape_from_kernel(k) -> LayerShape:
    """One gen/arch/dataflow/design.py Kernel as a LayerShape."""
    return replace(_shape_from_kernel(k), in_count=k.inp.count)


def _shape_from_kernel(k) -> LayerShape:
    a, name = k.attrs, layer_name(k)
    lanes, abits, out_bits = k.inp.lanes, k.inp.qtype.bits, k.out.qtype.bits
    common = {"abits": abits, "out_bits": out_bits, "simd": lanes}
    acc = a["acc_type"].bits if "acc_type" in a else abits
    if k.kind == "mvu":
        return LayerShape(name, "mvu", mw=int(a["mw"]), mh=int(a["mh"]),
                          pixels=int(a.get("pixels", 1)), wbits=a["w_type"].bits, abits=abits,
                          accbits=acc, out_bits=out_bits, simd=int(a["simd"]), pe=int(a["pe"]),
                          bias="b" in k.params, sparsity=a.get("sparsity"),
                          codebook=int(a.get("book_entries", 0)),   # layer_cost: where it pays
                          code_bits=int(a.get("book_code_bits", 0)),
                          nonzero_weights=int(a.get("nonzero_weights", -1)),
                          nontrivial_weights=int(a.get("nontrivial_weights", -1)),
                          **_requant_fields(k))
    if k.kind in ("dwu", "pool", "global_pool"):
        extra = {"wbits": a["w_type"].bits, "bias": "b" in k.params} if k.kind == "dwu" else {}
        return LayerShape(name, k.kind, channels=int(a["c"]), kernel=(int(a.get("kk", 1)), 1),
                          pixels=int(a.get("pixels", 1)), accbits=acc,
                          **{**common, "simd": int(a.get("simd", lanes))}, **extra,
                          **_requant_fields(k))
    if k.kind == "swg":
        channels = int(a["cf"]) * lanes if "cf" in a else int(a["c"])
        return LayerShape(name, "swg", channels=channels, kernel=_pair(a, "kh", "kw", "k"),
                          in_dim=_pair(a, "ih", "iw", "in_dim"),
                          stride=_pair(a, "sh", "sw", "stride"), **common)
    if k.kind == "pad":
        return LayerShape(name, "pad", channels=int(a.get("cf", 1)) * lanes,
                          count=k.out.count, **common)
    if k.kind in ("upsample", "crop"):   # count: the words it writes (upsample) or reads (crop)
        return LayerShape(name, k.kind, channels=int(a["cf"]) * lanes, in_dim=(a["ih"], a["iw"]),
                          count=(k.out if k.kind == "upsample" else k.inp).count, **common)
    if k.kind in ("requant", "add"):
        muls = [int(a.get(m, 1)) for m in ("mul_a", "mul_b")] if k.kind == "add" else []
        return LayerShape(name, k.kind, accbits=acc, count=k.out.count, **common,
                          mul_adders=sum(_csd_digits(m) - 1 for m in muls), **_requant_fields(k))
    if k.kind == "rnn":
        return rnn_shape(k, name, LayerShape)
    if k.kind == "resize":
        return LayerShape(name, "resize", abits=abits, simd=lanes, pe=k.out.lanes,
                          count=k.inp.count)
    if k.kind in ("concat", "fork", "argmax", "fifo"):
        count = k.out.count if k.kind == "concat" else k.inp.count
        return LayerShape(name, k.kind, count=count, depth=int(a.get("depth", 2)), **common)
    raise HlsgenError(f"kernel '{k.id}' of kind '{k.kind}' has no cost model yet; "
                      f"add it to gen/arch/dataflow/cost.py")


def _deep_fifos(k) -> list[LayerShape]:
    """FIFOs deeper than the default (a fork's waiting branch), as kernels of their own."""
    return [LayerShape(f"{s.name} fifo", "fifo", abits=s.qtype.bits, simd=s.lanes,
                       count=s.count, depth=s.depth)
            for s in getattr(k, "outs", [k.out]) if getattr(s, "depth", 2) > 2]


def shapes_from_design(design) -> list[LayerShape]:
    """The kernels of a gen/arch/dataflow/design.py Design, in its order, with its deep FIFOs."""
    return [shape for k in design.kernels for shape in [shape_from_kernel(k)] + _deep_fifos(k)]
