"""Maps the lowered IR onto the tiled engine (templates/hls/hlsgen_tiled.h):
a descriptor per layer, the DDR images of weights and parameters, and the
engine's compile-time sizes and types.

Python decides everything here: which IR nodes become one engine layer
(a convolution or pooling with the padding and the requantization the
passes fused into it, gen/passes/fusion.py), where every feature map lives
in DDR and in how many bytes,
the tiling (gen/arch/tiled/roofline.py's search against the board) and every type's
width; the header only executes the table.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from hlsgen.arch.dataflow.cost import SHELL_BRAM18
from hlsgen.errors import HlsgenError
from hlsgen.arch.dataflow.design import _image
from hlsgen.ir.intmath import ROUND_MODES
from hlsgen.ir.graph import Graph, Node
from hlsgen.passes import ensure_passes
from hlsgen.passes.fusion import fused_requant, input_padding, is_absorbed, is_fused
from hlsgen.ir.qtype import QType, bits_for_range
from hlsgen.arch.tiled.roofline import Budget, ConvLayer, DesignPoint, board_budget, evaluate, search

# The descriptor's fields, in the order of hlsgen_tiled.h's enum Field.
FIELDS = ("op", "in", "out", "in_bytes", "in_signed", "out_bytes",
          "ih", "iw", "n", "oh", "ow", "m", "kh", "kw", "sh", "sw", "pt", "pl", "tr", "tc",
          "w", "b", "pool", "rq", "shift", "round", "clamp_lo", "lo", "clamp_hi", "hi",
          "base", "ch", "nt", "neg", "thr", "in_lo", "acc_lo", "acc_hi")
OPS = {"conv": 0, "pool": 1, "argmax": 2}
POOLS = {"max": 0, "sum": 1}
REQUANTS = {"identity": 0, "shift": 1, "thresholds": 2, "lut": 3, "multiply": 4}
FMAP_ALIGN = 64     # bytes: every feature map starts on an AXI burst boundary
MAX_ACC_BITS = 60   # C simulation and the runtime shift compute on 64-bit integers


@dataclass
class Store:
    """A feature map in DDR: `bytes` little-endian bytes per value."""
    offset: int
    bytes: int
    qtype: QType
    count: int


@dataclass
class EngineLayer:
    name: str
    desc: dict                       # field -> int
    weights: np.ndarray | None = None
    roof: ConvLayer | None = None    # the roofline model's view (convolutions)


@dataclass
class TiledDesign:
    name: str
    layers: list[EngineLayer]
    point: DesignPoint               # the chosen <Tm, Tn, Tr, Tc> and its figures
    sizes: dict                      # TM, TN, TL, IN_BUF, OUT_BUF, KK_MAX, NT_MAX
    types: dict                      # a_t, w_t, acc_t, code_t, thr_t -> bits (signed)
    inp: Store
    out: Store
    fmap_bytes: int
    weights: np.ndarray              # the weights memory, int64 codes
    params: np.ndarray               # the params memory: biases, thresholds, tables
    out_frac: int | None             # None when the output is a class index

    @property
    def descriptors(self) -> np.ndarray:
        return np.array([[l.desc.get(f, 0) for f in FIELDS] for l in self.layers], dtype=np.int64)


def word_bytes(bits: int) -> int:
    """Bytes per value in DDR: the smallest of 1, 2, 4, 8 that holds `bits`
    (whole power-of-two bytes, so every AXI master sees naturally aligned
    little-endian elements)."""
    for b in (1, 2, 4, 8):
        if bits <= 8 * b:
            return b
    raise HlsgenError(f"values of {bits} bits do not fit the tiled engine's 64-bit codes; "
                      "narrow the layer's quantizer")


def storage_bytes(qt: QType) -> int:
    """Bytes per feature-map value in DDR."""
    return word_bytes(qt.bits)


def lane_bits(qt: QType) -> int:
    """Bits of the signed lane that holds every code of qt."""
    return qt.bits + (0 if qt.signed else 1)


class _Mapper:
    def __init__(self, graph: Graph):
        self.g = graph
        self.fmap = 0
        self.stores: dict[str, Store] = {}
        self.params: list[np.ndarray] = []
        self.n_params = 0
        self.layers: list[EngineLayer] = []

    def alloc(self, tensor: str) -> Store:
        t = self.g.tensors[tensor]
        if t.qtype is None or t.qtype.bipolar:
            raise HlsgenError(f"tensor '{tensor}' holds binarized (+-1) values, which the tiled "
                              "architecture does not run; use --arch dataflow")
        s = Store(self.fmap, storage_bytes(t.qtype), t.qtype, t.size)
        self.fmap += -(-s.bytes * s.count // FMAP_ALIGN) * FMAP_ALIGN
        self.stores[tensor] = s
        return s

    def param(self, values) -> int:
        """Appends values to the params memory; returns their offset."""
        a = np.asarray(values, dtype=np.int64).ravel()
        self.params.append(a)
        self.n_params += a.size
        return self.n_params - a.size

    def source(self, node: Node) -> tuple[Store, int, int]:
        """(storage, top padding, left padding) of a layer's input: the
        unpadded tensor, where the passes absorbed the padding into the layer."""
        tensor, top, left = input_padding(node)
        return self.stores[tensor], top, left

    def map(self) -> None:
        for node in self.g.nodes:
            if is_fused(node):   # runs inside its producer's layer
                continue
            handler = getattr(self, "_" + node.op, None)
            if handler is None:
                raise HlsgenError(f"layer '{node.name}' ({node.op}) is not supported by the tiled "
                                  "architecture (convolutions, dense layers, pooling and "
                                  "activations only); use --arch dataflow")
            handler(node)

    def _input(self, node: Node) -> None:
        self.alloc(node.outputs[0])

    def _alias(self, node: Node) -> None:
        self.stores[node.outputs[0]] = self.stores[node.inputs[0]]

    _reshape = _rescale = _alias

    def _pad(self, node: Node) -> None:
        """Only paddings the passes absorbed into the layers reading them."""
        if is_absorbed(node):
            return
        readers = [c for c in self.g.consumers(node.outputs[0])
                   if c.op not in ("conv", "pool") and not is_absorbed(c)]
        what = (f"feeds '{readers[0].name}' ({readers[0].op})" if readers
                else "is an output of the model")
        raise HlsgenError(f"padding '{node.name}' {what}; the tiled architecture pads only "
                          "convolutions and pooling; use --arch dataflow")

    def _window_fields(self, node: Node, acc: str) -> dict:
        src, pt, pl = self.source(node)
        ih, iw, n = _image(tuple(self.g.tensors[input_padding(node)[0]].shape))
        oh, ow, m = _image(tuple(self.g.tensors[acc].shape))
        return {"in": src.offset, "in_bytes": src.bytes, "in_signed": int(src.qtype.signed),
                "ih": ih, "iw": iw, "n": n, "oh": oh, "ow": ow, "m": m, "pt": pt, "pl": pl}

    def _finish(self, node: Node, desc: dict, acc: str, weights=None) -> tuple[EngineLayer, Store]:
        """Takes in the requantization fused into it, allocates the output, records the layer."""
        rq = fused_requant(self.g, node)
        out = self.alloc((rq or node).outputs[0])
        acc_t = self.g.tensors[acc].qtype
        desc.update(out=out.offset, out_bytes=out.bytes, acc_lo=acc_t.lo, acc_hi=acc_t.hi,
                    **self.requant_fields(rq, acc_t))
        layer = EngineLayer(node.name, desc, weights)
        self.layers.append(layer)
        return layer, out

    def requant_fields(self, rq: Node | None, acc_t: QType) -> dict:
        if rq is None:
            return {"rq": REQUANTS["identity"]}
        r = rq.attrs["requant"]
        kind = r["kind"]
        d = {"rq": REQUANTS[kind]}
        if kind == "shift":
            if acc_t.bits - min(r["shift"], 0) + 2 > MAX_ACC_BITS + 2:
                raise HlsgenError(f"layer '{rq.name}': a {acc_t.bits}-bit accumulator shifted left "
                                  f"by {-r['shift']} exceeds 62 bits; use --arch dataflow")
            d.update(shift=r["shift"], round=ROUND_MODES[r["round"]],
                     clamp_lo=int(r.get("lo") is not None), lo=r.get("lo") or 0,
                     clamp_hi=int(r.get("hi") is not None), hi=r.get("hi") or 0)
        elif kind == "thresholds":
            thr = np.asarray(rq.params["thresholds"], dtype=np.int64)
            neg = np.asarray(r.get("negate", [False] * thr.shape[0]), dtype=np.int64)
            if len(neg) != thr.shape[0]:
                raise HlsgenError(f"layer '{rq.name}': {len(neg)} negation flags for "
                                  f"{thr.shape[0]} threshold sets; regenerate the model")
            d.update(base=r["base"], ch=thr.shape[0], nt=thr.shape[1], thr=self.param(thr),
                     neg=self.param(neg))
        elif kind == "multiply":
            # Per channel: m, b, then the exception pairs x0, y0, x1, y1, ...
            nx = len(r["x"][0])
            cols = [r["m"], r["b"]] + [np.asarray(a)[:, k] for k in range(nx) for a in (r["x"], r["y"])]
            table = np.stack([np.asarray(c, dtype=np.int64) for c in cols], axis=1)
            d.update(shift=r["shift"], clamp_lo=1, lo=r["lo"], clamp_hi=1, hi=r["hi"],
                     ch=table.shape[0], nt=table.shape[1], thr=self.param(table))
        elif kind == "lut":
            table = np.asarray(rq.params["table"], dtype=np.int64)
            d.update(ch=table.shape[0], nt=table.shape[1], thr=self.param(table),
                     in_lo=r["in_lo"])
        return d

    def _conv(self, node: Node) -> None:
        a = node.attrs
        if a["depthwise"]:
            raise HlsgenError(f"layer '{node.name}': depthwise convolutions are not supported by "
                              "the tiled architecture; use --arch dataflow")
        self._matrix(node, a["kh"], a["kw"], a["sh"], a["sw"])

    def _dense(self, node: Node) -> None:
        self._matrix(node, 1, 1, 1, 1)

    def _matrix(self, node: Node, kh: int, kw: int, sh: int, sw: int) -> None:
        acc = node.outputs[0]
        w_type = QType.from_dict(node.attrs["w_type"])
        if w_type.bipolar:
            raise HlsgenError(f"layer '{node.name}' has binarized (+-1) weights, which the tiled "
                              "architecture does not run; use --arch dataflow")
        d = self._window_fields(node, acc)
        if node.op == "dense":   # one pixel of every input value
            d.update(ih=1, iw=1, n=self.g.tensors[node.inputs[0]].size,
                     oh=1, ow=1, m=self.g.tensors[acc].size)
        d.update(op=OPS["conv"], kh=kh, kw=kw, sh=sh, sw=sw,
                 b=self.param(node.params["bias"]))
        layer, out = self._finish(node, d, acc, np.asarray(node.params["weights"], dtype=np.int64))
        layer.roof = ConvLayer(node.name, d["m"], d["n"], d["oh"], d["ow"], kh, kw, sh, sw,
                               self.source(node)[0].qtype.bits, lane_bits(w_type),
                               out.qtype.bits, self.g.tensors[acc].qtype.bits)

    def _pool(self, node: Node) -> None:
        a = node.attrs
        d = self._window_fields(node, node.outputs[0])
        d.update(op=OPS["pool"], pool=POOLS[a["mode"]], kh=a["kh"], kw=a["kw"], sh=a["sh"],
                 sw=a["sw"])
        self._finish(node, d, node.outputs[0])

    def _requant(self, node: Node) -> None:
        """A requantization that follows no convolution or pooling: a 1x1 sum pooling."""
        d = self._window_fields(node, node.inputs[0])
        d.update(op=OPS["pool"], pool=POOLS["sum"], kh=1, kw=1, sh=1, sw=1)
        out = self.alloc(node.outputs[0])
        acc_t = self.g.tensors[node.inputs[0]].qtype
        d.update(out=out.offset, out_bytes=out.bytes, acc_lo=acc_t.lo, acc_hi=acc_t.hi,
                 **self.requant_fields(node, acc_t))
        self.layers.append(EngineLayer(node.name, d))

    def _argmax(self, node: Node) -> None:
        src, _, _ = self.source(node)
        out = self.alloc(node.outputs[0])
        d = {"op": OPS["argmax"], "in": src.offset, "in_bytes": src.bytes,
             "in_signed": int(src.qtype.signed), "n": src.count, "out": out.offset,
             "out_bytes": out.bytes, "m": 1}
        self.layers.append(EngineLayer(node.name, d))


def _in_pixels(d: dict, tr: int, tc: int) -> int:
    return ((tr - 1) * d["sh"] + d["kh"]) * ((tc - 1) * d["sw"] + d["kw"])


def _pool_tile(d: dict, in_buf: int, out_buf: int) -> tuple[int, int]:
    """The largest output tile of a pooling whose window fits the buffers (1 x 1 at least)."""
    fits = [(tr * tc, tr, tc) for tr in range(1, d["oh"] + 1) for tc in range(1, d["ow"] + 1)
            if tr * tc <= out_buf and _in_pixels(d, tr, tc) <= in_buf]
    return max(fits)[1:] if fits else (1, 1)


def _weight_image(w: np.ndarray, d: dict, tm: int, tn: int) -> np.ndarray:
    """W[(ky, kx, n), m] -> tiles [m tile][n tile][ky*KW+kx][TM][TN], zero padded."""
    kk, n, m = d["kh"] * d["kw"], d["n"], d["m"]
    mt, nt = -(-m // tm), -(-n // tn)
    padded = np.zeros((kk, nt * tn, mt * tm), dtype=np.int64)
    padded[:, :n, :m] = w.reshape(kk, n, m)
    return padded.reshape(kk, nt, tn, mt, tm).transpose(3, 1, 0, 4, 2).ravel()


def _signed_bits(values: list[np.ndarray]) -> int:
    """Bits of a signed type holding every value (2 at least)."""
    vals = [v for v in values if v.size]
    if not vals:
        return 2
    lo = min(int(v.min()) for v in vals)
    hi = max(int(v.max()) for v in vals)
    bits, signed = bits_for_range(min(lo, -1), hi)
    return max(2, bits)


def build_tiled(graph: Graph, name: str, board, clock_mhz: float | None = None,
                budget: Budget | None = None, tiling: tuple | None = None) -> TiledDesign:
    """The engine, its tiling and its DDR images for a lowered graph on a board.
    budget: instead of the board's; tiling: (Tm, Tn, Tr, Tc) instead of the search's."""
    ensure_passes(graph)
    m = _Mapper(graph)
    m.map()
    convs = [l for l in m.layers if l.roof is not None]
    if not convs:
        raise HlsgenError("the model has no convolution or dense layer for the tiled engine; "
                          "use --arch dataflow")
    if budget is None:
        b = board_budget(board, [l.roof for l in convs], clock_mhz)
        budget = Budget(b.dsp, board.bram18 - SHELL_BRAM18, b.clock_mhz, b.bandwidth_gbps,
                        b.dsp_per_mac)
    point = (evaluate([l.roof for l in convs], *map(int, tiling), budget) if tiling
             else search([l.roof for l in convs], budget))
    tm, tn = point.tm, point.tn
    for l in convs:
        d = l.desc
        d["tr"], d["tc"] = min(point.tr, d["oh"]), min(point.tc, d["ow"])
    in_buf = max(_in_pixels(l.desc, l.desc["tr"], l.desc["tc"]) for l in convs)
    out_buf = max(l.desc["tr"] * l.desc["tc"] for l in convs)
    pools = [l for l in m.layers if l.desc["op"] == OPS["pool"]]
    for l in pools:
        d = l.desc
        d["tr"], d["tc"] = _pool_tile(d, in_buf, out_buf)
        in_buf = max(in_buf, _in_pixels(d, d["tr"], d["tc"]))
    images, offset = [], 0
    for l in convs:
        img = _weight_image(l.weights, l.desc, tm, tn)
        l.desc["w"] = offset
        images.append(img)
        offset += img.size
    weights = np.concatenate(images)
    params = np.concatenate(m.params) if m.params else np.zeros(1, dtype=np.int64)

    out_t = graph.outputs[0]
    types = _types(graph, m, convs, params)
    nt_max = max([1] + [l.desc.get("nt", 0) for l in m.layers])
    kk_max = max(l.desc["kh"] * l.desc["kw"] for l in convs)
    sizes = {"TM": tm, "TN": tn, "TL": max(tm, tn), "IN_BUF": in_buf, "OUT_BUF": out_buf,
             "KK_MAX": kk_max, "NT_MAX": nt_max}
    out_frac = None if graph.output_is_label else graph.tensors[out_t].qtype.frac
    return TiledDesign(name, m.layers, point, sizes, types, m.stores[graph.inputs[0]],
                       m.stores[out_t], m.fmap, weights, params, out_frac)


def _types(graph: Graph, m: _Mapper, convs: list[EngineLayer], params: np.ndarray) -> dict:
    """Bits of the engine's signed lane types: each holds every value it meets."""
    standalone = [n for n in graph.nodes if n.op == "requant" and not is_fused(n)]
    windowed = [n for n in graph.nodes if n.op in ("conv", "dense", "pool")]
    loaded = [m.source(n)[0].qtype for n in windowed + standalone]
    accs = ([graph.tensors[n.outputs[0]].qtype for n in windowed]
            + [graph.tensors[n.inputs[0]].qtype for n in standalone])
    acc_bits = max(lane_bits(q) for q in accs)
    if acc_bits > MAX_ACC_BITS:
        raise HlsgenError(f"an accumulator of {acc_bits} bits exceeds the tiled engine's "
                          f"{MAX_ACC_BITS}; narrow the model's quantizers or use --arch dataflow")
    return {"a_t": max(lane_bits(q) for q in loaded),
            "w_t": max(l.roof.w_bits for l in convs),
            "acc_t": acc_bits,
            "code_t": max(lane_bits(s.qtype) for s in m.stores.values()),
            "thr_t": _signed_bits(_requant_tables(m.layers, params))}


def _requant_tables(layers: list[EngineLayer], params: np.ndarray) -> list[np.ndarray]:
    """The thresholds and lookup tables of every layer, as stored in params."""
    out = []
    for l in layers:
        d = l.desc
        if d.get("rq") in (REQUANTS["thresholds"], REQUANTS["lut"], REQUANTS["multiply"]):
            out.append(params[d["thr"]:d["thr"] + d["ch"] * d["nt"]])
    return out
