"""Cost model: cycles, latency and FPGA resources of each dataflow kernel.

hlsgen estimates everything from `LayerShape`, a descriptor that knows
nothing of the IR or of gen/hw.py, so the folding search can evaluate
thousands of candidate foldings cheaply and tests can describe published
networks directly. `shapes_from_design` converts a built Design.

Every formula and its assumption is in this table, and nowhere else.

Notation: SF = mw/simd (synapse folds), NF = mh/pe (neuron folds),
p = product bits (1 for XNOR, wbits+abits otherwise), acc = accumulator bits.

| quantity | formula | assumption |
|---|---|---|
| mvu cycles | SF * NF * pixels | the folded loop runs at II=1 (FINN's MVAU); a convolution is one matrix-vector product per output pixel |
| swg cycles | max(IH*IW*C, OH*OW*KH*KW*C) / simd | the line buffer writes one input word and reads one window word per cycle |
| pool cycles | IH*IW*C / simd | one input word per cycle; max pooling |
| requant, fifo, argmax cycles | count / simd | one word per cycle |
| resize cycles | count / min(simd, pe) | the narrow side moves one word per cycle |
| frame interval (II) | max over layers of cycles | dataflow: the slowest layer sets the pace; frames/s = clock / II |
| layer pipeline depth | PIPE_DEPTH + ceil(log2 simd) | read, multiply, adder tree (one level per stage), accumulate, requantize |
| frame latency | sum of (cycles + pipeline depth) | upper bound: a layer is charged its whole frame before the next starts; line-buffered layers overlap in reality |
| MAC class | xnor if wbits = abits = 1; lut if min(wbits, abits) = 1 or both <= LUT_MULT_MAX_BITS; else dsp | 1-bit x 1-bit is XNOR-popcount; a 1-bit operand is a conditional negate or AND; small multipliers are cheaper in LUTs than a DSP48 slot |
| multiplier LUTs per lane | 0 (xnor, dsp); wbits * abits (lut) | an array multiplier maps about one partial-product bit per LUT6 with the carry chain |
| DSPs per lane | ceil(max(w,a)/25) * ceil(min(w,a)/18) (dsp class) | DSP48E1 25x18 multiplier, the smallest of the supported families |
| adder tree LUTs per PE | sum over levels l = 1..ceil(log2 simd) of ceil(simd/2^l) * (p + l) | a binary tree of ripple adders, one LUT per sum bit; widths grow one bit per level |
| accumulator per PE | acc LUTs, acc FFs | one adder and its register |
| requantization per lane | identity 0; shift 2*acc LUTs; thresholds n*acc + n LUTs | shift: round adder and clamp; thresholds: one comparator per threshold (one LUT per bit) and a count of the results |
| pipeline FFs per PE | tree LUTs + simd*wbits + out_bits | HLS registers every adder-tree level at 100-300 MHz, the weight word read and the output |
| memories | weights: pe banks of SF*NF words x simd*wbits bits; input vector: 1 bank of SF x simd*abits; bias: pe banks of NF x acc; thresholds: pe banks of NF (1 if shared) x n*acc | FINN's layout: one memory per PE, each word one SIMD slice, so a 1-bit design stores 1 bit per weight |
| memory style | registers if depth = 1; LUTRAM if ceil(depth/64) * width <= LUTRAM_LUTS_PER_BRAM18 * (its BRAM18 count); else BRAM18 | a LUT6 is a 64x1 RAM; below 32 LUTs per BRAM18 the BRAMs would be at most 1/9 full |
| BRAM18 per memory | min over aspect ratios (depth x width) 16Kx1, 8Kx2, 4Kx4, 2Kx9, 1Kx18, 512x36 of ceil(width/w) * ceil(depth/d) | simple dual port RAMB18; URAM is not used |
| swg line buffer | ((KH-1)*IW + KW) * C * abits bits, words of simd*abits; + simd*abits LUTs (output select), 2*simd*abits FFs | K-1 full rows plus the K pixels of the current row (stride-1 view) |
| pool | row buffer OW*C*abits bits; 2*simd*abits LUTs (compare, select), 2*simd*abits FFs | one row of partial maxima |
| resize | max(simd,pe)*bits LUTs (lane select) and FFs (word register) | |
| fifo | depth <= 32: ceil(depth/32)*width LUTs (SRL32); deeper: memory rule | |
| argmax | simd*abits + index LUTs, abits + index FFs | one running maximum |
| output stream of every kernel | width LUTs (SRL) + width FFs | hls::stream of depth 2 |
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

The weight-memory rule reproduces LFC's 208 RAMB18 exactly. The rest of
CNV's BRAM (about 90 BRAM18) holds BNN-PYNQ's run-time loadable threshold
and weight buffers and its deeper inter-layer FIFOs, which hlsgen's designs
(weights as constants, depth-2 streams) do not have; the LUT/FF constants
were set so that both designs come within the tolerances the calibration
test asserts. The DSPs of those designs are address arithmetic, which this
model does not count.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field, replace

from gen.errors import HlsgenError

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

KINDS = ("mvu", "swg", "pool", "requant", "resize", "fifo", "argmax")
REQUANT_KINDS = ("identity", "shift", "thresholds")
RESOURCES = ("lut", "ff", "dsp", "bram18")

# (depth, width) aspect ratios of a RAMB18 in simple dual-port mode.
_BRAM18_SHAPES = ((16384, 1), (8192, 2), (4096, 4), (2048, 9), (1024, 18), (512, 36))


@dataclass(frozen=True)
class LayerShape:
    """One dataflow kernel as the cost model sees it.

    mvu: a dense layer (pixels=1) or a convolution (mw = KH*KW*Cin,
    mh = Cout, pixels = OH*OW), folded onto `pe` x `simd` MAC lanes, with its
    requantization fused (`requant`, `thresholds` per channel,
    `threshold_channels` distinct sets: 1 when shared).
    swg / pool: `channels`, `kernel` (KH, KW), `in_dim` (IH, IW), `stride`,
    `pad`, `simd` lanes. requant / resize / fifo / argmax: `count` values
    per frame; a resize converts `simd` lanes to `pe` lanes.
    Lane widths: `abits` in, `out_bits` out (mvu, requant, argmax), `accbits`
    for accumulators and the input of a requant.
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
    threshold_channels: int = 1
    bias: bool = True
    channels: int = 1
    kernel: tuple[int, int] = (1, 1)
    in_dim: tuple[int, int] = (1, 1)
    stride: int = 1
    pad: int = 0
    count: int = 1
    depth: int = 2

    def __post_init__(self) -> None:
        where = f"layer '{self.name}'"
        if self.kind not in KINDS:
            raise HlsgenError(f"{where}: kernel kind '{self.kind}' has no cost model; "
                              f"use one of {', '.join(KINDS)}")
        if self.requant not in REQUANT_KINDS:
            raise HlsgenError(f"{where}: requantization '{self.requant}' is unknown; "
                              f"use one of {', '.join(REQUANT_KINDS)}")
        for f in ("mw", "mh", "pixels", "wbits", "abits", "accbits", "out_bits", "simd", "pe",
                  "channels", "stride", "count", "depth"):
            if getattr(self, f) < 1:
                raise HlsgenError(f"{where}: {f} must be a positive integer, "
                                  f"got {getattr(self, f)}")
        for what, n, lanes, lane_name in self._divisions():
            if n % lanes:
                raise HlsgenError(f"{where}: {lane_name} {lanes} must divide its {n} {what}; "
                                  f"choose a divisor of {n}")
        if self.kind in ("swg", "pool") and min(self.out_dim) < 1:
            raise HlsgenError(f"{where}: a {self.kernel} window does not fit its {self.in_dim} "
                              f"input; check the layer's dimensions")

    def _divisions(self) -> list[tuple[str, int, int, str]]:
        if self.kind == "mvu":
            return [("inputs", self.mw, self.simd, "SIMD"), ("outputs", self.mh, self.pe, "PE")]
        if self.kind in ("swg", "pool"):
            return [("channels", self.channels, self.simd, "SIMD")]
        out = [("values", self.count, self.simd, "SIMD")]
        return out + ([("values", self.count, self.pe, "PE")] if self.kind == "resize" else [])

    @property
    def out_dim(self) -> tuple[int, int]:
        """(OH, OW) of a window kernel."""
        (kh, kw), (ih, iw) = self.kernel, self.in_dim
        return ((ih + 2 * self.pad - kh) // self.stride + 1,
                (iw + 2 * self.pad - kw) // self.stride + 1)

    @property
    def in_lanes(self) -> int:
        return self.simd

    @property
    def out_lanes(self) -> int:
        if self.kind in ("mvu", "resize"):
            return self.pe
        return 1 if self.kind == "argmax" else self.simd

    @property
    def out_lane_bits(self) -> int:
        return self.out_bits if self.kind in ("mvu", "requant", "argmax") else self.abits

    @property
    def in_lane_bits(self) -> int:
        return self.accbits if self.kind == "requant" else self.abits


@dataclass(frozen=True)
class Memory:
    """Where one group of identical memories goes, and what it takes."""

    style: str        # registers, lutram, bram18, none
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
        return Memory("none")
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


def adder_tree_luts(n: int, p: int) -> int:
    """LUTs of a binary adder tree summing n terms of p bits."""
    total, level, terms = 0, 0, n
    while terms > 1:
        level += 1
        terms = math.ceil(terms / 2)
        total += terms * (p + level)
    return total


def requant_luts(kind: str, thresholds: int, accbits: int) -> int:
    """LUTs of one lane's requantization."""
    if kind == "shift":
        return 2 * accbits
    if kind == "thresholds":
        return thresholds * accbits + thresholds
    return 0


def _threshold_memory(s: LayerShape, banks: int) -> Memory:
    if s.requant != "thresholds" or s.thresholds == 0:
        return Memory("none")
    per_bank = 1 if s.threshold_channels == 1 else math.ceil(s.threshold_channels / banks)
    return memory(per_bank, s.thresholds * s.accbits, banks)


def _mvu(s: LayerShape) -> tuple:
    sf, nf = s.mw // s.simd, s.mh // s.pe
    cls = mac_class(s.wbits, s.abits)
    p = 1 if cls == "xnor" else s.wbits + s.abits
    mult = s.wbits * s.abits if cls == "lut" else 0
    tree = adder_tree_luts(s.simd, p)
    lo, hi = sorted((s.wbits, s.abits))
    dsp = s.pe * s.simd * math.ceil(hi / 25) * math.ceil(lo / 18) if cls == "dsp" else 0
    mems = {"weights": memory(sf * nf, s.simd * s.wbits, s.pe),
            "input": memory(sf, s.simd * s.abits),
            "bias": memory(nf, s.accbits, s.pe) if s.bias else Memory("none"),
            "thresholds": _threshold_memory(s, s.pe)}
    lut = s.pe * (s.simd * mult + tree + s.accbits + requant_luts(s.requant, s.thresholds,
                                                                  s.accbits))
    ff = s.pe * (tree + s.simd * s.wbits + s.accbits + s.out_bits) + s.simd * s.abits
    depth = PIPE_DEPTH + math.ceil(math.log2(s.simd))
    return sf * nf * s.pixels, depth, lut, ff, dsp, mems, f"{s.simd} x {s.pe}"


def _swg(s: LayerShape) -> tuple:
    (kh, kw), (ih, iw) = s.kernel, s.in_dim
    oh, ow = s.out_dim
    word = s.simd * s.abits
    cycles = max(ih * iw, oh * ow * kh * kw) * s.channels // s.simd
    buffered = ((kh - 1) * iw + kw) * s.channels // s.simd
    mems = {"line buffer": memory(buffered, word)}
    return cycles, buffered + PIPE_DEPTH, word, 2 * word, 0, mems, f"{s.simd} lanes"


def _pool(s: LayerShape) -> tuple:
    (kh, kw), (ih, iw) = s.kernel, s.in_dim
    word = s.simd * s.abits
    cycles = ih * iw * s.channels // s.simd
    mems = {"row buffer": memory(s.out_dim[1] * s.channels // s.simd, word)}
    depth = ((kh - 1) * iw + kw) * s.channels // s.simd + PIPE_DEPTH
    return cycles, depth, 2 * word, 2 * word, 0, mems, f"{s.simd} lanes"


def _requant(s: LayerShape) -> tuple:
    mems = {"thresholds": _threshold_memory(s, s.simd)}
    lut = s.simd * requant_luts(s.requant, s.thresholds, s.accbits)
    ff = s.simd * (s.accbits + s.out_bits)
    return s.count // s.simd, PIPE_DEPTH, lut, ff, 0, mems, f"{s.simd} lanes"


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
    return s.count // s.simd, PIPE_DEPTH, lut, s.abits + index, 0, {}, f"{s.simd} lanes"


_KERNELS = {"mvu": _mvu, "swg": _swg, "pool": _pool, "requant": _requant,
            "resize": _resize, "fifo": _fifo, "argmax": _argmax}


def layer_cost(s: LayerShape) -> LayerCost:
    """Cycles, pipeline depth and resources of one kernel (see the module table)."""
    cycles, depth, lut, ff, dsp, mems, folding = _KERNELS[s.kind](s)
    stream = s.out_lanes * s.out_lane_bits   # its depth-2 output stream, as SRL
    lut += KERNEL_LUT + stream + sum(m.lut for m in mems.values())
    ff += KERNEL_FF + stream + sum(m.ff for m in mems.values())
    bram = sum(m.bram18 for m in mems.values())
    return LayerCost(s.name, s.kind, cycles, depth, lut, ff, dsp, bram, mems, folding)


def with_lane_converters(shapes: list[LayerShape]) -> list[LayerShape]:
    """The pipeline with a resize wherever a kernel's output lanes differ from
    the next kernel's input lanes (gen/hw.py inserts the same converters; a
    design that already has them is returned unchanged)."""
    out: list[LayerShape] = []
    for s in shapes:
        prev = out[-1] if out else None
        if prev is not None and prev.out_lanes != s.in_lanes:
            count = _values_between(prev)
            out.append(LayerShape(f"{prev.name}>{s.name}", "resize", abits=prev.out_lane_bits,
                                  simd=prev.out_lanes, pe=s.in_lanes, count=count))
        out.append(s)
    return out


def _values_between(s: LayerShape) -> int:
    """Values per frame on a kernel's output stream."""
    if s.kind == "mvu":
        return s.mh * s.pixels
    if s.kind == "swg":
        oh, ow = s.out_dim
        return oh * ow * s.kernel[0] * s.kernel[1] * s.channels
    if s.kind == "pool":
        oh, ow = s.out_dim
        return oh * ow * s.channels
    return 1 if s.kind == "argmax" else s.count


@dataclass(frozen=True)
class Estimate:
    """A whole design against a board at a clock."""

    layers: list[LayerCost]
    shell: dict
    board: object        # gen.boards.Board
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


SHELL = {"lut": SHELL_LUT, "ff": SHELL_FF, "dsp": 0, "bram18": SHELL_BRAM18}


def estimate(shapes: list[LayerShape], board, clock_mhz: float | None = None) -> Estimate:
    """Per-layer costs and totals of a pipeline of shapes on `board`."""
    if not shapes:
        raise HlsgenError("the design has no layers to estimate; check the model")
    clock = float(clock_mhz or board.clock_mhz)
    if not math.isfinite(clock) or clock <= 0:
        raise HlsgenError(f"clock {clock_mhz!r} MHz is not a positive number; give e.g. --clock 100")
    layers = [layer_cost(s) for s in with_lane_converters(shapes)]
    return Estimate(layers, dict(SHELL), board, clock)


def refold(shapes: list[LayerShape], folding: dict) -> list[LayerShape]:
    """The shapes with each matrix-vector unit's {simd, pe} from `folding`
    (by name), and the kernels whose lanes follow it updated: a sliding
    window feeds the next unit's SIMD lanes; requantization, pooling,
    FIFOs and arg-max take their producer's lanes. Lane converters are
    dropped; `estimate` re-inserts those still needed."""
    out: list[LayerShape] = []
    for s in shapes:
        if s.kind == "resize":
            continue
        if s.kind == "mvu" and s.name in folding:
            s = replace(s, simd=int(folding[s.name]["simd"]), pe=int(folding[s.name]["pe"]))
        elif s.kind in ("requant", "pool", "fifo", "argmax") and out:
            s = replace(s, simd=_follow(out[-1].out_lanes, _lane_total(s)))
        out.append(s)
    for i, s in enumerate(out):
        nxt = next((t for t in out[i + 1:] if t.kind != "fifo"), None)
        if s.kind == "swg" and nxt is not None and nxt.kind == "mvu":
            out[i] = replace(s, simd=_follow(nxt.simd, s.channels))
    return out


def _lane_total(s: LayerShape) -> int:
    return s.channels if s.kind == "pool" else s.count


def _follow(lanes: int, total: int) -> int:
    """Lanes for a kernel of `total` values next to one with `lanes`: the
    same where they divide it (no converter needed), else their gcd."""
    return math.gcd(lanes, total)


# --- from gen/hw.py's Design -------------------------------------------------

def layer_name(kernel) -> str:
    """The name a user folds a kernel by: its framework layer for a
    matrix-vector unit (the key of --folding and report.json), else its id."""
    return kernel.source.split(" + ")[0] if kernel.kind == "mvu" else kernel.id


def _requant_fields(kernel) -> dict:
    rq = kernel.attrs.get("requant") or {"kind": "identity"}
    if rq["kind"] != "thresholds":
        return {"requant": rq["kind"]}
    thr = kernel.params.get("thr")
    channels, n = (thr.shape[0], thr.shape[1]) if thr is not None and thr.ndim == 2 else (1, 1)
    return {"requant": "thresholds", "thresholds": int(n), "threshold_channels": int(channels)}


def _window_fields(a: dict) -> dict:
    k = a.get("k", (1, 1))
    k = (k, k) if isinstance(k, int) else tuple(k)
    return {"channels": int(a.get("c", 1)), "kernel": (int(k[0]), int(k[1])),
            "in_dim": (int(a.get("ih", 1)), int(a.get("iw", 1))),
            "stride": int(a.get("stride", 1)), "pad": int(a.get("pad", 0))}


def shape_from_kernel(k) -> LayerShape:
    """One gen/hw.py Kernel as a LayerShape."""
    a, name = k.attrs, layer_name(k)
    abits, out_bits, lanes = k.inp.qtype.bits, k.out.qtype.bits, k.inp.lanes
    if k.kind == "mvu":
        return LayerShape(name, "mvu", mw=int(a["mw"]), mh=int(a["mh"]),
                          pixels=int(a.get("pixels", 1)), wbits=a["w_type"].bits, abits=abits,
                          accbits=a["acc_type"].bits, out_bits=out_bits, simd=int(a["simd"]),
                          pe=int(a["pe"]), bias="b" in k.params, **_requant_fields(k))
    if k.kind in ("swg", "pool"):
        return LayerShape(name, k.kind, abits=abits, out_bits=out_bits, simd=lanes,
                          **_window_fields(a))
    if k.kind == "requant":
        return LayerShape(name, "requant", accbits=abits, abits=abits, out_bits=out_bits,
                          simd=lanes, count=k.inp.count, **_requant_fields(k))
    if k.kind == "resize":
        return LayerShape(name, "resize", abits=abits, simd=lanes, pe=k.out.lanes,
                          count=k.inp.count)
    if k.kind == "argmax":
        return LayerShape(name, "argmax", abits=abits, out_bits=out_bits, simd=lanes,
                          count=k.inp.count)
    if k.kind == "fifo":
        return LayerShape(name, "fifo", abits=abits, simd=lanes, count=k.inp.count,
                          depth=int(a.get("depth", 2)))
    raise HlsgenError(f"kernel '{k.id}' of kind '{k.kind}' has no cost model yet; "
                      f"add it to gen/cost.py")


def shapes_from_design(design) -> list[LayerShape]:
    """The kernels of a gen/hw.py Design, in pipeline order."""
    return [shape_from_kernel(k) for k in design.kernels]
