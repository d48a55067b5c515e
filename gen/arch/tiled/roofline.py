"""Roofline model and design-space exploration of the tiled engine
(Zhang et al., "Optimizing FPGA-based accelerator design for deep
convolutional neural networks", FPGA 2015).

The engine (templates/hls/hlsgen_tiled.h) has Tm x Tn MAC lanes (Tm output
channels times Tn input channels) and on-chip tile buffers for an output tile
of Tr x Tc pixels. A convolution of M output channels, N input channels,
R x C output pixels, a Kh x Kw kernel and strides Sh, Sw runs tile by tile;
a dense layer is a 1 x 1 convolution of one pixel (N inputs, M outputs).
Every formula of the model is in this table, and nowhere else.

| quantity | formula | assumption |
|---|---|---|
| tile of a layer | tr = min(Tr, R), tc = min(Tc, C) | the engine's tile is clipped to the layer |
| trips | T = ceil(M/Tm) * ceil(N/Tn) * ceil(R/tr) * ceil(C/tc); To = T / ceil(N/Tn) | loop order: output tile outer, input channels inner (the output tile stays on chip until its sum is complete) |
| compute cycles | T * tr * tc * Kh * Kw | the paper's: the tr, tc, ky, kx loops run at II=1 with all Tm x Tn lanes busy, edge tiles padded |
| input tile | Bin = Tn * (tr*Sh + Kh - Sh) * (tc*Sw + Kw - Sw) values | the window of the output tile |
| weight tile | Bw = Tm * Tn * Kh * Kw values | |
| output tile | Bout = Tm * tr * tc values | written once, after its last input-channel tile |
| DDR traffic (bytes) | T * (Bin * in_bytes + Bw * w_bytes) + To * Bout * out_bytes | whole bytes per value, as the engine stores them (ceil(bits / 8)); edge tiles move whole tiles (the paper's count) |
| operations | 2 * M * N * R * C * Kh * Kw | a multiply and an add per MAC |
| computation-to-communication ratio (CTC) | operations / DDR traffic | ops per byte |
| computational roof | 2 * Tm * Tn * f (GOPS) | all lanes busy |
| memory roof | CTC * bandwidth | the board's `ddr_bandwidth_gbps` (GB/s = 1e9 bytes/s) |
| memory cycles | traffic * f / bandwidth | transfers overlap computation (double buffering) |
| layer cycles | max(compute cycles, ceil(memory cycles)) | the slower of the two bounds |
| attainable performance | operations * f / layer cycles = min(compute performance, CTC * bandwidth) | |
| DSP | Tm * Tn * DSPs per MAC | gen/arch/dataflow/cost.py's multiplier rule (a 1-lane mvu), or given (the paper's float32 MAC: 5) |
| BRAM18 | 2 * bram18(IN, Tn * in_bits) + 2 * bram18(KK, Tm * Tn * w_bits) + bram18(OUT, TL * acc_bits) + 2 * bram18(OUT, TL * out_bits) | the engine's buffers, each one memory of lane-wide words (all lanes in one cycle): input and weight tiles double buffered, one accumulator tile, the requantized output tile double buffered; TL = max(Tm, Tn) (pooling uses Tn lanes); IN, KK, OUT: the largest input tile (pixels), kernel (taps) and output tile over the layers; gen/arch/dataflow/cost.py's bram18_count; the small requantization buffers are not counted |

The design-space exploration chooses one <Tm, Tn, Tr, Tc> for all layers
(the paper's unified design) minimising the total layer cycles within the
DSP and BRAM18 budget; ties go to fewer DSPs, then fewer DDR bytes (a
compute-bound design keeps its margin when the bandwidth is lower than
assumed), then fewer BRAM18s. It only
visits values of Tm (likewise Tn, Tr, Tc) where some layer's tile count
ceil(M/Tm) changes: between two such values every count, hence every
layer's cycles, is the same, and the smallest value needs the fewest DSPs,
bytes and BRAM18s, so no other value can be better (tests/test_roofline.py
checks this against an exhaustive search).
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from hlsgen.arch.dataflow.cost import LayerShape, bram18_count, layer_cost
from hlsgen.errors import HlsgenError


@dataclass(frozen=True)
class ConvLayer:
    """One convolution (or dense layer: r = c = kh = kw = 1) as the model sees it."""

    name: str
    m: int                  # output channels
    n: int                  # input channels
    r: int                  # output rows
    c: int                  # output columns
    kh: int = 1
    kw: int = 1
    sh: int = 1
    sw: int = 1
    in_bits: int = 8
    w_bits: int = 8
    out_bits: int = 8
    acc_bits: int = 32

    def __post_init__(self) -> None:
        for f in ("m", "n", "r", "c", "kh", "kw", "sh", "sw", "in_bits", "w_bits", "out_bits",
                  "acc_bits"):
            if getattr(self, f) < 1:
                raise HlsgenError(f"layer '{self.name}': {f} must be a positive integer, "
                                  f"got {getattr(self, f)}")

    @property
    def ops(self) -> int:
        return 2 * self.m * self.n * self.r * self.c * self.kh * self.kw


def conv(name: str, m: int, n: int, r: int, c: int, k: int, s: int = 1, bits: int = 8,
         acc_bits: int = 32) -> ConvLayer:
    """A square-kernel convolution with one bit width for every value."""
    return ConvLayer(name, m, n, r, c, k, k, s, s, bits, bits, bits, acc_bits)


@dataclass(frozen=True)
class Budget:
    dsp: int
    bram18: int
    clock_mhz: float
    bandwidth_gbps: float
    dsp_per_mac: int = 1

    @property
    def bytes_per_cycle(self) -> float:
        return self.bandwidth_gbps * 1e3 / self.clock_mhz


def dsp_per_mac(w_bits: int, a_bits: int) -> int:
    """DSPs of one MAC lane, by gen/arch/dataflow/cost.py's multiplier rule."""
    return layer_cost(LayerShape("lane", "mvu", wbits=w_bits, abits=a_bits)).dsp


def board_budget(board, layers: list[ConvLayer], clock_mhz: float | None = None) -> Budget:
    """A board's DSP, BRAM18 and DDR bandwidth (gen/platform/boards.py Board)."""
    w = max(l.w_bits for l in layers)
    a = max(l.in_bits for l in layers)
    return Budget(board.dsp, board.bram18, float(clock_mhz or board.clock_mhz),
                  board.ddr_bandwidth_gbps, max(1, dsp_per_mac(w, a)))


def _ceil(a, b):
    return -(-a // b)


def _bytes(bits: int) -> int:
    return -(-bits // 8)


def _layer_terms(l: ConvLayer, tm, tn, tr, tc, budget: Budget) -> dict:
    """The table's per-layer quantities; tm..tc are ints or integer arrays."""
    tr, tc = np.minimum(tr, l.r), np.minimum(tc, l.c)
    out_trips = _ceil(l.m, tm) * _ceil(l.r, tr) * _ceil(l.c, tc)
    trips = out_trips * _ceil(l.n, tn)
    compute = trips * tr * tc * l.kh * l.kw
    b_in = tn * (tr * l.sh + l.kh - l.sh) * (tc * l.sw + l.kw - l.sw)
    traffic = (trips * (b_in * _bytes(l.in_bits) + tm * tn * l.kh * l.kw * _bytes(l.w_bits))
               + out_trips * tm * tr * tc * _bytes(l.out_bits))
    memory = np.ceil(traffic / budget.bytes_per_cycle).astype(np.int64)
    return {"compute": compute, "traffic": traffic, "memory": memory,
            "cycles": np.maximum(compute, memory),
            "in_depth": (tr * l.sh + l.kh - l.sh) * (tc * l.sw + l.kw - l.sw),
            "out_depth": tr * tc}


def _bram18(layers: list[ConvLayer], terms: list[dict], tm, tn) -> np.ndarray:
    a = max(l.in_bits for l in layers)
    w = max(l.w_bits for l in layers)
    acc = max(l.acc_bits for l in layers)
    out = max(l.out_bits for l in layers)
    kk = max(l.kh * l.kw for l in layers)
    in_depth = np.max([t["in_depth"] for t in terms], axis=0)
    out_depth = np.max([t["out_depth"] for t in terms], axis=0)
    count = np.vectorize(bram18_count, otypes=[np.int64])
    tl = np.maximum(tm, tn)
    return (2 * count(in_depth, tn * a) + 2 * count(kk, tm * tn * w) + count(out_depth, tl * acc)
            + 2 * count(out_depth, tl * out))


@dataclass(frozen=True)
class LayerPoint:
    layer: ConvLayer
    compute_cycles: int
    memory_cycles: int
    traffic_bytes: int
    clock_mhz: float

    @property
    def cycles(self) -> int:
        return max(self.compute_cycles, self.memory_cycles)

    @property
    def ctc(self) -> float:
        return self.layer.ops / self.traffic_bytes

    @property
    def gops(self) -> float:
        """Attainable performance: min(compute roof of this tiling, CTC * bandwidth)."""
        return self.layer.ops * self.clock_mhz / self.cycles / 1e3

    @property
    def bound(self) -> str:
        return "memory" if self.memory_cycles > self.compute_cycles else "compute"


@dataclass(frozen=True)
class DesignPoint:
    """One engine <Tm, Tn, Tr, Tc> evaluated on a network against a budget."""

    tm: int
    tn: int
    tr: int
    tc: int
    budget: Budget
    layers: list[LayerPoint] = field(default_factory=list)
    dsp: int = 0
    bram18: int = 0

    @property
    def cycles(self) -> int:
        return sum(l.cycles for l in self.layers)

    @property
    def traffic(self) -> int:
        return sum(l.traffic_bytes for l in self.layers)

    @property
    def roof_gops(self) -> float:
        return 2 * self.tm * self.tn * self.budget.clock_mhz / 1e3

    @property
    def gops(self) -> float:
        return sum(l.layer.ops for l in self.layers) * self.budget.clock_mhz / self.cycles / 1e3

    @property
    def ctc(self) -> float:
        return sum(l.layer.ops for l in self.layers) / sum(l.traffic_bytes for l in self.layers)

    @property
    def fits(self) -> bool:
        return self.dsp <= self.budget.dsp and self.bram18 <= self.budget.bram18

    def key(self) -> tuple:
        """What the exploration minimises, in order."""
        return (self.cycles, self.dsp, self.traffic, self.bram18, self.tm, self.tn, self.tr,
                self.tc)

    def to_json(self) -> dict:
        b = self.budget
        return {"tm": self.tm, "tn": self.tn, "tr": self.tr, "tc": self.tc, "dsp": self.dsp,
                "bram18": self.bram18, "clock_mhz": b.clock_mhz, "bandwidth_gbps": b.bandwidth_gbps,
                "budget": {"dsp": b.dsp, "bram18": b.bram18, "dsp_per_mac": b.dsp_per_mac},
                "cycles": self.cycles, "traffic_bytes": self.traffic, "roof_gops": self.roof_gops, "gops": self.gops,
                "layers": [{"name": l.layer.name, "compute_cycles": l.compute_cycles,
                            "memory_cycles": l.memory_cycles, "cycles": l.cycles,
                            "traffic_bytes": l.traffic_bytes, "ctc": l.ctc, "gops": l.gops,
                            "bound": l.bound} for l in self.layers]}


def evaluate(layers: list[ConvLayer], tm: int, tn: int, tr: int, tc: int,
             budget: Budget) -> DesignPoint:
    """The model's figures of one engine on a network."""
    terms = [_layer_terms(l, tm, tn, tr, tc, budget) for l in layers]
    points = [LayerPoint(l, int(t["compute"]), int(t["memory"]), int(t["traffic"]),
                         budget.clock_mhz) for l, t in zip(layers, terms)]
    return DesignPoint(tm, tn, tr, tc, budget, points, tm * tn * budget.dsp_per_mac,
                       int(_bram18(layers, terms, tm, tn)))


def breakpoints(sizes: list[int]) -> list[int]:
    """Every value t where some ceil(size / t) changes: ceil(size / k) for each k."""
    return sorted({_ceil(s, k) for s in sizes for k in range(1, s + 1)})


def search(layers: list[ConvLayer], budget: Budget) -> DesignPoint:
    """The unified <Tm, Tn, Tr, Tc> with the fewest total cycles within the budget."""
    if not layers:
        raise HlsgenError("the network has no convolution or dense layer to tile")
    lanes = budget.dsp // budget.dsp_per_mac
    if lanes < 1:
        raise HlsgenError(f"a budget of {budget.dsp} DSPs has no room for one MAC lane "
                          f"({budget.dsp_per_mac} DSPs); choose a larger board")
    tms = [t for t in breakpoints([l.m for l in layers]) if t <= lanes]
    tns = [t for t in breakpoints([l.n for l in layers]) if t <= lanes]
    trs = np.array(breakpoints([l.r for l in layers]))
    tcs = np.array(breakpoints([l.c for l in layers]))
    tr_grid, tc_grid = (g.ravel() for g in np.meshgrid(trs, tcs, indexing="ij"))
    best = None
    for tm in tms:
        for tn in (t for t in tns if tm * t <= lanes):
            terms = [_layer_terms(l, tm, tn, tr_grid, tc_grid, budget) for l in layers]
            cycles = np.sum([t["cycles"] for t in terms], axis=0)
            traffic = np.sum([t["traffic"] for t in terms], axis=0)
            bram = _bram18(layers, terms, tm, tn)
            ok = np.flatnonzero(bram <= budget.bram18)
            if not len(ok):
                continue
            # DesignPoint.key's order (the DSPs are the same for every tile here).
            i = ok[np.lexsort((tc_grid[ok], tr_grid[ok], bram[ok], traffic[ok], cycles[ok]))[0]]
            cand = evaluate(layers, tm, tn, int(tr_grid[i]), int(tc_grid[i]), budget)
            if best is None or cand.key() < best.key():
                best = cand
    if best is None:
        raise HlsgenError(f"no tiling of the network fits {budget.bram18} BRAM18s (even one "
                          "lane needs more for its tile buffers); choose a larger board")
    return best


def plot_roofline(point: DesignPoint, path, title: str = "") -> None:
    """The roofline of the chosen engine with each layer at its CTC ratio."""
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    roof, bw = point.roof_gops, point.budget.bandwidth_gbps
    ctcs = [l.ctc for l in point.layers] + [point.ctc]
    lo, hi = min(ctcs + [roof / bw]) / 4, max(ctcs + [roof / bw]) * 4
    x = np.geomspace(lo, hi, 200)
    fig, ax = plt.subplots(figsize=(7, 4.5))
    ax.plot(x, np.minimum(roof, x * bw), color="black", linewidth=1.2,
            label=f"roof: {roof:g} GOPS, {bw:g} GB/s")
    for l in point.layers:
        ax.scatter(l.ctc, l.gops, s=25, color="#2e86c1" if l.bound == "compute" else "#c0392b")
        ax.annotate(l.layer.name, (l.ctc, l.gops), fontsize=7, xytext=(3, 3),
                    textcoords="offset points")
    ax.scatter(point.ctc, point.gops, marker="*", s=140, color="#27ae60", zorder=3,
               label=f"network: {point.gops:.2f} GOPS")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("computation to communication ratio (ops per DDR byte)")
    ax.set_ylabel("attainable performance (GOPS)")
    ax.set_title(title or f"<Tm,Tn,Tr,Tc> = <{point.tm},{point.tn},{point.tr},{point.tc}>, "
                 f"{point.dsp} DSP, {point.bram18} BRAM18 (blue: compute bound, red: memory)",
                 fontsize=9)
    ax.legend(fontsize=8, loc="lower right")
    ax.grid(True, which="both", linewidth=0.3)
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)
