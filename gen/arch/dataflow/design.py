"""Maps the lowered IR onto the kernel library: kernels connected by streams.

Python decides everything here (types, folding, parameter layouts, where a
lane-count converter or a fork goes); the templates only lay the result out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from hlsgen.errors import HlsgenError, InternalError
from hlsgen.arch.dataflow.folding import (AP_INT_DEFAULT_MAX_W, AXIS_MAX_BITS, DEFAULT_MACS, MAX_WORD_BITS,
                          WidthLimitError, fold_layer, max_lanes, port_lanes)
from hlsgen.arch.dataflow import recurrent
from hlsgen.arch.dataflow.sharing import code_bits, codebook_for, encode
from hlsgen.arch.dataflow.sparse import Sparsity, all_tiles, schedule_cycles
from hlsgen.arch.dataflow.cost import LayerShape, codebook_pays
from hlsgen.ir.graph import Graph, Node
from hlsgen.passes import ensure_passes
from hlsgen.passes.compression import trivial
from hlsgen.passes.fusion import fused_requant, is_fused
from hlsgen.project.names import cpp_ident, safe_comment
from hlsgen.ir.qtype import QType


@dataclass(eq=False)
class Stream:
    name: str
    qtype: QType       # type of one lane
    lanes: int
    count: int         # lanes per frame
    depth: int = 2     # FIFO depth (raised where a fork's branch must wait)
    tensor: str | None = None  # the IR tensor it carries (None: windows, forks' copies)

    @property
    def word_bits(self) -> int:
        return self.lanes * self.qtype.bits

    @property
    def words(self) -> int:
        return self.count // self.lanes


@dataclass(eq=False)
class Kernel:
    kind: str          # mvu, dwu, swg, pad, pool, global_pool, requant, add, concat, fork, resize, argmax
    id: str
    source: str        # the framework layer(s), for comments and reports
    ins: list[Stream]
    outs: list[Stream]
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)   # name -> int64 array in C++ layout

    @property
    def inp(self) -> Stream:
        return self.ins[0]

    @property
    def out(self) -> Stream:
        return self.outs[0]

    @property
    def cycles(self) -> int:
        """Cycles per frame at II=1 per loop iteration."""
        a = self.attrs
        if self.kind == "mvu":   # a block-sparse unit: its loop's trip count
            return a.get("iters") or a["pixels"] * (a["mw"] // a["simd"]) * (a["mh"] // a["pe"])
        if self.kind in ("dwu", "pool"):
            cf = a["c"] // a["simd"]
            return a["pixels"] * (a["kk"] * cf + cf)
        if self.kind == "swg":
            return a["ih"] * a["iw"] * a["cf"] + a["oh"] * a["ow"] * a["kh"] * a["kw"] * a["cf"]
        if self.kind == "rnn":
            return a["cycles"]
        return max([s.words for s in self.ins] + [s.words for s in self.outs])


@dataclass(eq=False)
class Port:
    """One AXI-Stream port of the top function. A model with one input and
    one output has ports `in` and `out`; with several, in0, in1, ... and
    out0, out1, ... in the model's order. Their C++ names (types, constants,
    streams) carry the tag: Model_in_t / Model_in0_t, MODEL_IN0_COUNT, in0_s."""
    name: str
    tensor: str               # the IR tensor it carries
    stream: Stream
    frac: int | None = None   # outputs: None when the output is a class index
    offset: int = 0           # where its codes start in a frame of every port's codes
    label: str = ""           # the model's name for it (input or output layer)

    @property
    def tag(self) -> str:
        return self.name[3:] if self.name.startswith("out") else self.name[2:]

    @property
    def word_bits(self) -> int:
        """The AXI-Stream word: whole bytes, a power of two, at most AXIS_MAX_BITS."""
        return _pow2_bytes(self.stream.word_bits)


@dataclass
class Design:
    name: str
    kernels: list[Kernel]
    inp: Stream               # the (first) input's stream
    out: Stream               # the (first) output's stream
    out_frac: int | None      # None when the output is a class index
    in_ports: list[Port] = field(default_factory=list)    # every port (build_design)
    out_ports: list[Port] = field(default_factory=list)

    @property
    def multi_io(self) -> bool:
        return len(self.in_ports) > 1 or len(self.out_ports) > 1

    @property
    def inp_count(self) -> int:
        """Input codes per frame, every port's."""
        return sum(p.stream.count for p in self.in_ports) if self.in_ports else self.inp.count

    @property
    def out_count(self) -> int:
        return sum(p.stream.count for p in self.out_ports) if self.out_ports else self.out.count

    @property
    def axis_bits(self) -> tuple[int, int]:
        """Bits of the AXI-Stream input and output words: whole bytes, a power
        of two (as gen/arch/dataflow/render.py pads them), at most AXIS_MAX_BITS."""
        return _pow2_bytes(self.inp.word_bits), _pow2_bytes(self.out.word_bits)

    @property
    def port_bits(self) -> list[tuple[str, int]]:
        """(port, AXI-Stream word bits) of every port."""
        ports = self.in_ports + self.out_ports
        if not ports:
            return list(zip(("input", "output"), self.axis_bits))
        return [(p.name, p.word_bits) for p in ports]

    @property
    def widest_word_bits(self) -> int:
        """The widest ap_uint of the project: stream, AXI and weight words."""
        return max([s.word_bits for s in self.streams] + [b for _, b in self.port_bits]
                   + [bits for _, _, bits in _weight_words(self)])

    @property
    def ap_int_max_w(self) -> int:
        """AP_INT_MAX_W the project defines before ap_int.h (UG1399), 0 when
        every word is within the default 1024 bits."""
        return MAX_WORD_BITS if self.widest_word_bits > AP_INT_DEFAULT_MAX_W else 0

    @property
    def streams(self) -> list[Stream]:
        """Every internal stream, from in_s (after the AXI-Stream input) to out_s."""
        seen, out = set(), []
        firsts = [p.stream for p in self.in_ports] or [self.inp]
        for s in firsts + [s for k in self.kernels for s in k.outs]:
            if id(s) not in seen:
                seen.add(id(s))
                out.append(s)
        return out


def _pow2_bytes(bits: int) -> int:
    width = 8
    while width < bits:
        width *= 2
    return width


def _weight_words(design: Design) -> list[tuple[Kernel, str, int]]:
    """(kernel, what, bits) of every packed weight word."""
    return [(k, "weight", int(k.params["w"].shape[-1]) * k.attrs["w_type"].bits)
            for k in design.kernels if k.kind in ("mvu", "dwu") and "w" in k.params]


def _image(shape: tuple) -> tuple[int, int, int]:
    """(H, W, C) of a channels-last tensor; 1-D signals are 1 x L images."""
    if len(shape) == 3:
        return tuple(shape)
    if len(shape) == 2:
        return (1,) + tuple(shape)
    return (1, 1, shape[0])


class _Mapper:
    def __init__(self, graph: Graph, name: str, folding: dict | None):
        self.g = graph
        self.taken: set[str] = {name.lower()}
        self.kernels: list[Kernel] = []
        self.streams: dict[str, Stream] = {}       # tensor -> its producer's stream
        self.branches: dict[str, list[Stream]] = {}  # tensor -> fork outputs not yet taken
        self.n_streams = 0
        self.sparsity: dict[str, Sparsity | None] = {}
        self.folds = self._folding(folding)
        # AXI-Stream port names: in/out for one of each, else in0, in1, ..., out0, ...
        self.ports = {t: ("in" if len(graph.inputs) == 1 else f"in{i}")
                      for i, t in enumerate(graph.inputs)}

    # -- folding -----------------------------------------------------------------
    def _compute_nodes(self):
        for n in self.g.nodes:
            if n.op in ("dense", "conv", "recurrent"):
                yield n

    def _geometry(self, n: Node):
        """(simd divides, pe divides, cycles per unit lanes fold, macs, kind)."""
        src, dst = self.g.tensors[n.inputs[0]], self.g.tensors[n.outputs[0]]
        if n.op == "recurrent":
            return recurrent.geometry(n)
        if n.op == "dense":
            return src.size, dst.size, 1, src.size * dst.size
        h, w, c = _image(dst.shape)
        kk = n.attrs["kh"] * n.attrs["kw"]
        if n.attrs["depthwise"]:
            return c, 1, kk * h * w, kk * c * h * w
        cin = _image(src.shape)[2]
        return cin, c, kk * h * w, kk * cin * c * h * w

    def _folding(self, given: dict | None) -> dict:
        nodes = list(self._compute_nodes())
        if not nodes:
            return {}
        geo = {n.name: self._geometry(n) for n in nodes}
        # The largest layer gets DEFAULT_MACS lanes; the others only what they
        # need to keep up with it (a dataflow pipeline runs at its slowest layer).
        target = max(1, -(-max(g[3] for g in geo.values()) // DEFAULT_MACS))
        folds = {}
        for n in nodes:
            sd, pd, unit, _ = geo[n.name]
            max_simd, max_pe = self._lane_caps(n)
            sp = self._sparsity(n)
            # A pruned unit: the fewest lanes whose visited tiles keep up.
            px = unit // (n.attrs["kh"] * n.attrs["kw"]) if n.op == "conv" else 1
            cycles = None if sp is None or n.attrs.get("depthwise") else (
                lambda s, p, sp=sp, px=px, unit=unit: sp.cycles(s, p, px) / unit)
            simd, pe = fold_layer(sd, pd, max(1, target // unit), max_simd, max_pe, cycles)
            folds[n.name] = {"simd": simd, "pe": pe}
        for layer, f in (given or {}).items():
            if layer not in folds:
                raise HlsgenError(f"folding names layer '{layer}', which is not a dense or "
                                  f"convolution layer of this model; its layers are: {', '.join(folds)}")
            sd, pd, _, _ = geo[layer]
            simd, pe = int(f["simd"]), int(f["pe"])
            if sd % simd or pd % pe:
                what = "inputs" if self.g.nodes and any(
                    n.name == layer and n.op == "dense" for n in nodes) else "input channels"
                raise HlsgenError(f"layer '{layer}': SIMD {simd} must divide its {sd} {what} "
                                  f"and PE {pe} its {pd} outputs")
            folds[layer] = {"simd": simd, "pe": pe}
        return folds

    def _sparsity(self, n: Node) -> Sparsity | None:
        """The zero pattern of a dense or convolution layer's weights (None
        when it has no zero weight, or the unit is recurrent: its gates'
        product stays dense), computed once per build."""
        if n.op not in ("dense", "conv"):
            return None
        if n.name not in self.sparsity:
            w = n.params["weights"]
            self.sparsity[n.name] = (Sparsity(w, n.attrs["w_type"]["bits"]) if not np.all(w)
                                     else None)
        return self.sparsity[n.name]

    def _lane_caps(self, n: Node) -> tuple[int, int]:
        """(max SIMD, max PE) keeping the unit's input, weight and output words
        within MAX_WORD_BITS (its output lanes counted at the accumulator's
        width or its requantization's output width, the wider)."""
        src = self.g.tensors[n.inputs[0]]
        acc = self.g.tensors[n.outputs[0]]
        wbits = QType.from_dict(n.attrs["w_type"]).bits
        outs = [acc.qtype.bits] + [self.g.tensors[c.outputs[0]].qtype.bits
                                   for c in self.g.consumers(acc.name) if c.op == "requant"]
        max_simd = max_lanes(max(src.qtype.bits, wbits))
        max_pe = max_lanes(max(outs))
        if n.op == "conv" and n.attrs["depthwise"]:
            return min(max_simd, max_pe), 1
        return max_simd, max_pe

    # -- streams -----------------------------------------------------------------
    def new_stream(self, qtype: QType, lanes: int, count: int) -> Stream:
        self.n_streams += 1
        return Stream(f"s{self.n_streams}", qtype, lanes, count)

    def kernel(self, kind, name, source, ins, outs, attrs=None, params=None) -> Kernel:
        k = Kernel(kind, cpp_ident(name, self.taken), safe_comment(source), ins, outs,
                   attrs or {}, params or {})
        self.kernels.append(k)
        return k

    def take(self, tensor: str, lanes: int | None = None) -> Stream:
        """The stream of `tensor` for one consumer, with `lanes` lanes."""
        t = self.g.tensors[tensor]
        if tensor not in self.streams:
            # The graph input: its first consumer picks the lanes, split into
            # as many AXI-Stream words as the port's width limit needs.
            self.streams[tensor] = Stream(f"{self.ports[tensor]}_s", t.qtype,
                                          port_lanes(lanes or 1, t.qtype.bits), t.size, tensor=tensor)
        consumers = len(self.g.consumers(tensor)) + (tensor in self.g.outputs)
        if consumers > 1:
            if tensor not in self.branches:
                self.branches[tensor] = self._fork(tensor, consumers)
            s = self.branches[tensor].pop(0)
        else:
            s = self.streams[tensor]
        port = self.ports[tensor] if s.name == f"{self.ports.get(tensor)}_s" else ""
        return self.resize(s, lanes, port) if lanes else s

    def _fork(self, tensor: str, n: int) -> list[Stream]:
        src = self.streams[tensor]
        outs = []
        while len(outs) < n - 1:
            a = self.new_stream(src.qtype, src.lanes, src.count)
            b = self.new_stream(src.qtype, src.lanes, src.count)
            self.kernel("fork", f"fork_{tensor}", f"fork of {tensor}", [src], [a, b],
                        {"words": src.words, "rows": _image(self.g.tensors[tensor].shape)[0]})
            outs.append(a)
            src = b
        return outs + [src]

    def resize(self, s: Stream, lanes: int, port: str = "") -> Stream:
        """A lane converter from s to `lanes` lanes (through their gcd when
        neither divides the other); `port` names the AXI-Stream port it serves."""
        if s.lanes == lanes:
            return s
        steps = [lanes] if (s.lanes % lanes == 0 or lanes % s.lanes == 0) else [
            math.gcd(s.lanes, lanes), lanes]
        for step in steps:
            out = self.new_stream(s.qtype, step, s.count)
            kid = f"axis_{port}_lanes" if port else f"resize_{self.n_streams}"
            what = (f"AXI-Stream {port}put: " if port in ("in", "out") else
                    f"AXI-Stream port {port}: " if port else "")
            self.kernel("resize", kid, f"{what}{s.lanes} -> {step} lanes",
                        [s], [out], {"n": s.count, "a": s.lanes, "b": step})
            s = out
        return s

    def output(self, node: Node, rq: Node | None, lanes: int, count: int | None = None) -> Stream:
        t = self.g.tensors[(rq or node).outputs[0]]
        s = self.new_stream(t.qtype, lanes, count or t.size)
        s.tensor = t.name
        self.streams[t.name] = s
        return s

    # -- nodes ---------------------------------------------------------------------
    def map(self) -> list[Kernel]:
        for node in self.g.nodes:
            if node.op == "input" or is_fused(node):   # a fused requant runs in its producer
                continue
            getattr(self, "_" + node.op)(node)
        return self.kernels

    def _alias(self, node: Node, qtype: QType | None = None) -> None:
        s = self.take(node.inputs[0])
        if qtype is not None:
            s.qtype = qtype   # same codes and C++ type; only the binary point differs
        self.streams[node.outputs[0]] = s

    def _reshape(self, node: Node) -> None:
        self._alias(node)

    def _rescale(self, node: Node) -> None:
        # Codes unchanged; only the binary point moves.
        self._alias(node, self.g.tensors[node.outputs[0]].qtype)

    def _dense(self, node: Node) -> None:
        src, acc = self.g.tensors[node.inputs[0]], self.g.tensors[node.outputs[0]]
        f = self.folds[node.name]
        simd, pe = f["simd"], f["pe"]
        inp = self.take(node.inputs[0], simd)
        rq = fused_requant(self.g, node)
        out = self.output(node, rq, pe)
        mw, mh = src.size, acc.size
        k = self.kernel("mvu", node.name, node.name + (f" + {rq.name}" if rq else ""), [inp], [out],
                        {"mw": mw, "mh": mh, "simd": simd, "pe": pe, "pixels": 1,
                         "w_type": QType.from_dict(node.attrs["w_type"]), "acc_type": acc.qtype,
                         "float32_exact": node.attrs["float32_exact"], "layer": node.name})
        _set_weights(k, _fold_weights(node.params["weights"], simd, pe), inp.qtype)
        _compress_weights(k, self._sparsity(node), node.params["weights"])
        k.params["b"] = node.params["bias"].reshape(mh // pe, pe).T.copy()
        _attach_requant(k, rq)

    def _window(self, node: Node, simd: int) -> Stream:
        """Padding already in the IR; here the sliding-window unit, unless the
        window is a single pixel visited in order (a 1x1, stride-1 kernel)."""
        a = node.attrs
        ih, iw, c = _image(self.g.tensors[node.inputs[0]].shape)
        inp = self.take(node.inputs[0], simd)
        if a["kh"] == a["kw"] == a["sh"] == a["sw"] == 1:
            return inp
        oh, ow = (ih - a["kh"]) // a["sh"] + 1, (iw - a["kw"]) // a["sw"] + 1
        out = self.new_stream(inp.qtype, simd, oh * ow * a["kh"] * a["kw"] * c)
        self.kernel("swg", node.name + "_window", f"sliding window of {node.name}", [inp], [out],
                    {"kh": a["kh"], "kw": a["kw"], "sh": a["sh"], "sw": a["sw"], "ih": ih, "iw": iw,
                     "cf": c // simd, "oh": oh, "ow": ow})
        return out

    def _conv(self, node: Node) -> None:
        a = node.attrs
        acc = self.g.tensors[node.outputs[0]]
        oh, ow, cout = _image(acc.shape)
        cin = _image(self.g.tensors[node.inputs[0]].shape)[2]
        f = self.folds[node.name]
        simd, pe = f["simd"], f["pe"]
        win = self._window(node, simd)
        rq = fused_requant(self.g, node)
        kk = a["kh"] * a["kw"]
        common = {"simd": simd, "pixels": oh * ow, "w_type": QType.from_dict(a["w_type"]),
                  "acc_type": acc.qtype, "float32_exact": a["float32_exact"], "layer": node.name}
        source = node.name + (f" + {rq.name}" if rq else "")
        if a["depthwise"]:
            if win.qtype.bipolar or common["w_type"].bipolar:
                # gen/passes/lower.py gives depthwise taps integer codes.
                raise InternalError(f"layer '{node.name}': depthwise convolution reached the "
                                    "hardware mapping with +-1 codes, not integers")
            out = self.output(node, rq, simd)
            k = self.kernel("dwu", node.name, source, [win], [out], {"kk": kk, "c": cout, **common})
            _set_weights(k, node.params["weights"].reshape(kk, cout // simd, simd), win.qtype)
            k.params["b"] = node.params["bias"].reshape(cout // simd, simd).copy()
        else:
            out = self.output(node, rq, pe)
            k = self.kernel("mvu", node.name, source, [win], [out],
                            {"mw": kk * cin, "mh": cout, "pe": pe, **common})
            _set_weights(k, _fold_weights(node.params["weights"], simd, pe), win.qtype)
            _compress_weights(k, self._sparsity(node), node.params["weights"])
            k.params["b"] = node.params["bias"].reshape(cout // pe, pe).T.copy()
        _attach_requant(k, rq)

    def _pad(self, node: Node) -> None:
        a = node.attrs
        ih, iw, c = _image(self.g.tensors[node.inputs[0]].shape)
        lanes = self._consumer_lanes(node.outputs[0], c)
        inp = self.take(node.inputs[0], lanes)
        t = self.g.tensors[node.outputs[0]]
        out = self.new_stream(inp.qtype, lanes, t.size)   # codes pass through: one lane type
        out.tensor = t.name
        self.streams[t.name] = out
        self.kernel("pad", node.name, node.name, [inp], [out],
                    {"ih": ih, "iw": iw, "cf": c // lanes, "t": a["top"], "b": a["bottom"],
                     "l": a["left"], "r": a["right"]})

    def _resample(self, node: Node, attrs: dict) -> None:
        """upsample / crop: codes pass through, on the producer's lanes."""
        ih, iw, c = _image(self.g.tensors[node.inputs[0]].shape)
        producer = self.streams.get(node.inputs[0])
        lanes = math.gcd(producer.lanes, c) if producer else 1
        inp = self.take(node.inputs[0], lanes)
        t = self.g.tensors[node.outputs[0]]
        out = self.new_stream(inp.qtype, lanes, t.size)
        out.tensor = t.name
        self.streams[t.name] = out
        self.kernel(node.op, node.name, node.name, [inp], [out],
                    {"ih": ih, "iw": iw, "cf": c // lanes, **attrs})

    def _upsample(self, node: Node) -> None:
        a = node.attrs
        self._resample(node, {"fh": a["fh"], "fw": a["fw"], "zeros": a["mode"] == "zeros"})

    def _crop(self, node: Node) -> None:
        a = node.attrs
        self._resample(node, {"t": a["top"], "b": a["bottom"], "l": a["left"], "r": a["right"]})

    def _consumer_lanes(self, tensor: str, c: int) -> int:
        """Lanes a padding should produce: what its (single) convolution wants,
        else what its producer gives; always a divisor of its C channels (a
        dense layer after Flatten has a SIMD dividing all its inputs instead:
        a lane converter gathers the padding's words into its SIMD lanes)."""
        consumers = self.g.consumers(tensor)
        if len(consumers) == 1 and consumers[0].name in self.folds:
            return math.gcd(self.folds[consumers[0].name]["simd"], c)
        producer = self.streams.get(self.g.producer(tensor).inputs[0])
        return math.gcd(producer.lanes, c) if producer else 1

    def _pool(self, node: Node) -> None:
        a = node.attrs
        src = self.g.tensors[node.inputs[0]]
        ih, iw, c = _image(src.shape)
        producer = self.streams.get(node.inputs[0])
        lanes = math.gcd(producer.lanes, c) if producer else 1
        rq = fused_requant(self.g, node)
        acc_t = self.g.tensors[node.outputs[0]].qtype
        op = "PoolMax" if a["mode"] == "max" else "PoolSum"
        if a["kh"] == ih and a["kw"] == iw:   # global pooling: no window buffer
            inp = self.take(node.inputs[0], lanes)
            out = self.output(node, rq, lanes)
            k = self.kernel("global_pool", node.name, node.name + (f" + {rq.name}" if rq else ""),
                            [inp], [out], {"pixels": ih * iw, "c": c, "simd": lanes, "op": op,
                                           "acc_type": acc_t})
        else:
            win = self._window(node, lanes)
            oh, ow, _ = _image(self.g.tensors[node.outputs[0]].shape)
            out = self.output(node, rq, lanes)
            k = self.kernel("pool", node.name, node.name + (f" + {rq.name}" if rq else ""), [win],
                            [out], {"kk": a["kh"] * a["kw"], "c": c, "simd": lanes,
                                    "pixels": oh * ow, "op": op, "acc_type": acc_t})
        _attach_requant(k, rq)

    def _requant(self, node: Node) -> None:
        src = self.g.tensors[node.inputs[0]]
        inp = self.take(node.inputs[0])
        out = self.output(node, None, inp.lanes)
        k = self.kernel("requant", node.name, node.name, [inp], [out],
                        {"acc_type": src.qtype, "c": _image(src.shape)[2]})
        _attach_requant(k, node)

    def _add(self, node: Node) -> None:
        if len(node.inputs) != 2:
            raise InternalError(f"layer '{node.name}': adds {len(node.inputs)} tensors; "
                                "gen/passes/lower.py splits sums into pairs")
        a = self.take(node.inputs[0])
        b = self.take(node.inputs[1], a.lanes)
        rq = fused_requant(self.g, node)
        acc = self.g.tensors[node.outputs[0]]
        out = self.output(node, rq, a.lanes)
        sa, sb = node.attrs["shifts"]
        ma, mb = node.attrs.get("multipliers", [1, 1])
        k = self.kernel("add", node.name, node.name + (f" + {rq.name}" if rq else ""), [a, b], [out],
                        {"n": acc.size, "c": _image(acc.shape)[2], "shift_a": sa, "shift_b": sb,
                         "mul_a": ma, "mul_b": mb, "acc_type": acc.qtype,
                         "float32_exact": node.attrs.get("float32_exact", True)})
        _attach_requant(k, rq)

    def _concat(self, node: Node) -> None:
        if len(node.inputs) != 2:
            raise InternalError(f"layer '{node.name}': concatenates {len(node.inputs)} tensors; "
                                "gen/passes/lower.py splits concatenations into pairs")
        ca, cb = node.attrs["channels"]
        pa = self.streams.get(node.inputs[0])
        pb = self.streams.get(node.inputs[1])
        lanes = math.gcd(math.gcd(pa.lanes if pa else 1, pb.lanes if pb else 1), math.gcd(ca, cb))
        a = self.take(node.inputs[0], lanes)
        b = self.take(node.inputs[1], lanes)
        t = self.g.tensors[node.outputs[0]]
        out = self.output(node, None, lanes)
        sa, sb = node.attrs["shifts"]
        self.kernel("concat", node.name, node.name, [a, b], [out],
                    {"pixels": t.size // (ca + cb), "ca": ca, "cb": cb, "shift_a": sa, "shift_b": sb})

    def _recurrent(self, node: Node) -> None:
        recurrent.map_recurrent(self, node, _fold_weights)

    def _argmax(self, node: Node) -> None:
        inp = self.take(node.inputs[0])
        out = self.output(node, None, 1, 1)
        self.kernel("argmax", "label_select", "label select", [inp], [out])


def build_design(graph: Graph, name: str, folding: dict | None = None) -> Design:
    ensure_passes(graph)
    m = _Mapper(graph, name, folding)
    kernels = m.map()
    if not kernels:
        raise HlsgenError("the model computes nothing (no layer after its input)")
    unused = [t for t in graph.inputs if t not in m.streams]
    if unused:
        raise HlsgenError(f"input '{unused[0]}' of the model feeds no layer; remove it from the "
                          "model's inputs")
    in_ports = [Port(m.ports[t], t, m.streams[t], offset=off, label=t)
                for t, off in zip(graph.inputs, graph.offsets(graph.inputs))]
    out_ports, out_offsets = [], graph.offsets(graph.outputs)
    for i, t in enumerate(graph.outputs):
        port = "out" if len(graph.outputs) == 1 else f"out{i}"
        out = m.take(t)
        # The AXI-Stream output: as many words as the port's width limit needs.
        out = m.resize(out, port_lanes(out.lanes, out.qtype.bits), port)
        out.name = f"{port}_s"
        out_ports.append(Port(port, t, out, None if graph.is_label(t) else
                              graph.tensors[t].qtype.frac, out_offsets[i],
                              graph.output_names[i]))
    design = Design(name, kernels, in_ports[0].stream, out_ports[0].stream, out_ports[0].frac,
                    in_ports, out_ports)
    check_edges(design, graph)
    check_limits(design)
    size_fifos(design)
    return design


# Kernels whose C++ reads and writes one word type (codes pass through).
PASS_THROUGH = ("pad", "swg", "fork", "resize", "upsample", "crop")


def edge_problems(design: Design, graph: Graph | None = None) -> list[str]:
    """Every edge whose stream type is not agreed, as a sentence: a stream
    read by other than one kernel (or the output port), written by other than
    one kernel (or the input port), a pass-through kernel whose output lane
    type differs from its input's, or a stream whose lane type is not the
    C++ type of the IR tensor it carries. Types are decided once, by the
    producer of each stream; a kernel's input typedef is its stream's."""
    problems = []
    def port(p: Port) -> list[str]:
        return [{"in": "the AXI-Stream input", "out": "the AXI-Stream output"}.get(
            p.name, f"the AXI-Stream port {p.name}")]
    producers: dict[int, list[str]] = {id(p.stream): port(p) for p in design.in_ports}
    readers: dict[int, list[str]] = {id(p.stream): port(p) for p in design.out_ports}
    producers.setdefault(id(design.inp), ["the AXI-Stream input"])
    readers.setdefault(id(design.out), ["the AXI-Stream output"])
    for k in design.kernels:
        for s in k.outs:
            producers.setdefault(id(s), []).append(k.id)
        for s in k.ins:
            readers.setdefault(id(s), []).append(k.id)
        if k.kind in PASS_THROUGH and any(o.qtype.cpp != k.inp.qtype.cpp for o in k.outs):
            problems.append(f"kernel '{k.id}' ({k.kind}) reads {k.inp.qtype.cpp} lanes but "
                            f"writes {', '.join(o.qtype.cpp for o in k.outs)}")
    for s in design.streams:
        p, r = producers.get(id(s), []), readers.get(id(s), [])
        if len(p) != 1 or len(r) != 1:
            problems.append(f"stream {s.name} has producers {p or 'none'} and readers "
                            f"{r or 'none'}; an edge has one of each")
        t = graph.tensors.get(s.tensor) if graph is not None and s.tensor else None
        if t is not None and t.qtype is not None and t.qtype.cpp != s.qtype.cpp:
            problems.append(f"stream {s.name} carries tensor '{t.name}' of type {t.qtype.cpp} "
                            f"as {s.qtype.cpp} lanes")
    for k in design.kernels:
        for s in k.ins:
            if id(s) not in producers:
                problems.append(f"kernel '{k.id}' reads stream {s.name}, which nothing writes")
    return problems


def check_edges(design: Design, graph: Graph | None = None) -> None:
    """Refuses (as hlsgen's bug) a design whose edges do not agree on a type."""
    problems = edge_problems(design, graph)
    if problems:
        more = f"; {len(problems) - 1} more" if len(problems) > 1 else ""
        raise InternalError(f"stream types disagree: {problems[0]}{more}")


def limit_problems(design: Design) -> list[str]:
    """Every word of `design` over a limit of gen/arch/dataflow/folding.py, as a sentence
    naming the layer, the limit and the fix; empty when all are within.
    Units first: their SIMD and PE set the lanes of the kernels around them."""
    problems = []
    for k in sorted(design.kernels, key=lambda k: not unit_kind(k)):
        unit = unit_kind(k)
        words = [("output", s.word_bits, s.lanes, s.qtype.bits) for s in k.outs]
        if unit:
            words.append(("input", k.inp.word_bits, k.inp.lanes, k.inp.qtype.bits))
            if "w" in k.params:
                simd, wbits = int(k.params["w"].shape[-1]), k.attrs["w_type"].bits
                words.append(("weight", simd * wbits, simd, wbits))
        for what, bits, lanes, lane_bits in words:
            if bits <= MAX_WORD_BITS:
                continue
            cap = max_lanes(lane_bits)
            if unit:
                layer = k.attrs.get("layer") or k.source.split(" + ")[0]
                pe = what == "output" and k.kind == "mvu"
                knob = "PE" if pe else "SIMD"
                dim = k.attrs["mh"] if pe else (k.attrs["c"] if k.kind == "dwu" else k.inp.count
                                                 if k.attrs.get("pixels", 1) == 1 else 0)
                fits = [d for d in range(cap, 0, -1) if dim and dim % d == 0][:1]
                fix = f"choose {knob} {cap} or less for it" + (
                    f" (e.g. {fits[0]}, a divisor of {dim})" if fits else "")
            else:
                layer = k.source
                fix = f"fold the layer feeding it to {cap} lanes or less"
            problems.append(f"layer '{layer}': {lanes} lanes of {lane_bits}-bit {what}s make a "
                            f"{bits}-bit word; Vitis HLS allows at most {MAX_WORD_BITS} bits "
                            f"(UG1399, AP_INT_MAX_W); {fix}")
    for what, bits in design.port_bits:
        what = {"in": "input", "out": "output"}.get(what, what)
        if bits > AXIS_MAX_BITS:
            problems.append(f"the AXI-Stream {what} would be {bits} bits wide; the AXI DMA takes "
                            f"at most {AXIS_MAX_BITS} (PG021); this is a bug in hlsgen, please "
                            "report it with the model")
    return problems


def unit_kind(k: Kernel) -> bool:
    return k.kind in ("mvu", "dwu")


def check_limits(design: Design) -> None:
    """Refuses a design with a word over a limit (one line: the first problem)."""
    problems = limit_problems(design)
    if problems:
        more = f"; {len(problems) - 1} more word(s) over it" if len(problems) > 1 else ""
        raise WidthLimitError(problems[0] + more)


def size_fifos(design: Design) -> None:
    """Deep enough FIFOs after every fork, so that the dataflow never deadlocks.

    The two branches of a fork meet again at a join (add, concat) that reads
    them in lockstep. While the longer branch fills its line buffers, the fork
    keeps writing the shorter one, which must hold everything written before
    the join starts reading it: the longer branch's look-ahead. A sliding
    window of KH rows with `top` rows of zero padding emits output row r once
    it has read input row r + KH - 1 - top, so a chain of them looks
    2 + sum(KH - 1 - top) rows ahead (one row for the row being read, one for
    word-level skew). Branches whose look-ahead is not a few rows (a dense
    layer, a global pool, a strided window) get a whole frame."""
    consumer = {id(s): k for k in design.kernels for s in k.ins}
    for k in design.kernels:
        if k.kind != "fork":
            continue
        paths = [_branch(s, consumer) for s in k.outs]
        for s, other in zip(k.outs, reversed(paths)):
            rows = _lookahead_rows(other)
            words = s.words if rows is None else min(s.words, -(-rows * s.words // k.attrs["rows"]))
            s.depth = max(s.depth, words + 2)


def _branch(s: Stream, consumer: dict) -> list[Kernel]:
    """The kernels on a fork's branch, up to (not including) where it joins."""
    path = []
    k = consumer.get(id(s))
    while k is not None and len(k.ins) == 1 and k.kind != "fork":
        path.append(k)
        k = consumer.get(id(k.out))
    return path


def _lookahead_rows(path: list[Kernel]) -> int | None:
    rows, top = 2, 0
    for k in path:
        a = k.attrs
        if k.kind == "pad":
            top = a["t"]
        elif k.kind == "swg":
            if a["sh"] != 1:
                return None
            rows += max(a["kh"] - 1 - top, 0)
            top = 0
        elif k.kind in ("global_pool", "argmax", "upsample", "crop") or (
                k.kind == "mvu" and a["pixels"] == 1):
            return None   # not a few rows ahead (or rows of another size): a whole frame
    return rows


def _set_weights(k: Kernel, lanes: np.ndarray, in_type: QType) -> None:
    """Weights as lane codes [..., SIMD] (+-1 weights as bits), and the
    dot-product kind the lane types call for."""
    w_type = k.attrs["w_type"]
    k.params["w"] = (lanes > 0).astype(np.int64) if w_type.bipolar else lanes.copy()
    k.attrs["dot"] = ("DotXnor" if w_type.bipolar and in_type.bipolar else
                      "DotBipolarWeights" if w_type.bipolar else
                      "DotBipolarInputs" if in_type.bipolar else "DotInt")


def _fold_weights(w: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """W[in, out] -> w[pe][nf*SF + sf][simd] (see hlsgen_mvu.h)."""
    mw, mh = w.shape
    sf, nf = mw // simd, mh // pe
    return w.T.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd).copy()


def _compress_weights(k: Kernel, sparsity: Sparsity | None, w: np.ndarray) -> None:
    """A unit whose folded matrix has an all-zero PE x SIMD tile stores and
    visits only the others (gen/arch/dataflow/sparse.py); one whose weights
    take few distinct values stores codes into a codebook
    (gen/arch/dataflow/sharing.py). Either runs hlsgen_mvu.h's tile-walking
    mvu; a unit with neither stays the dense unit, unchanged.
    attrs["sparsity"] lets the cost model and the search refold it."""
    a = k.attrs
    a["sparsity"] = sparsity
    a.update(nonzero_weights=int(np.count_nonzero(w)), nontrivial_weights=int(np.sum(~trivial(w))))
    if a["simd"] == a["mw"] and a["pe"] == a["mh"]:
        return   # fully unrolled: the weights are constants (gen/arch/dataflow/cost.py constant_weights)
    book = codebook_for(w, a["w_type"].bits, a["w_type"].bipolar)
    if book is not None:
        # Recorded for the cost model and the search, which refold the unit;
        # used at this folding only where it costs less than the weights it
        # replaces (gen/arch/dataflow/cost.py codebook_pays).
        a.update(book_entries=len(book), book_code_bits=code_bits(len(book)))
        shape = LayerShape(k.id, "mvu", mw=a["mw"], mh=a["mh"], pixels=a["pixels"],
                           wbits=a["w_type"].bits, abits=k.inp.qtype.bits, simd=a["simd"],
                           pe=a["pe"], sparsity=sparsity, codebook=len(book),
                           code_bits=code_bits(len(book)))
        book = book if codebook_pays(shape) else None
    lay = sparsity.sparse_at(a["simd"], a["pe"], a["pixels"]) if sparsity is not None else None
    if lay is None and book is None:
        return
    if lay is None:
        lay = all_tiles(a["simd"], a["pe"], a["mw"], a["mh"], a["mw"] // a["simd"] * (a["mh"] // a["pe"]))
    k.params["w"] = k.params["w"][:, lay.words, :].copy()
    if book is not None:
        k.params["w"] = encode(k.params["w"], book)
        k.params["book"] = book.astype(np.int64)
        a.update(codebook=len(book), code_bits=code_bits(len(book)))
    if lay.indexed:
        k.params["idx"] = lay.codes.copy()
    a.update(tiles=lay.tiles, nonzero_tiles=lay.nonzero, dense_tiles=lay.dense_tiles,
             indexed=lay.indexed, index_bits=lay.index_bits,
             iters=schedule_cycles(lay.codes >> 1, lay.sf, a["pixels"]))


def _attach_requant(k: Kernel, rq_node) -> None:
    if rq_node is None:
        k.attrs["requant"] = {"kind": "identity"}
        return
    rq = dict(rq_node.attrs["requant"])
    k.attrs["requant"] = rq
    if rq["kind"] == "lut":
        k.params["lut"] = np.asarray(rq_node.params["table"], dtype=np.int64)
    if rq["kind"] == "thresholds":
        k.params["thr"] = np.asarray(rq_node.params["thresholds"], dtype=np.int64)
        neg = rq.get("negate", [False] * k.params["thr"].shape[0])
        k.params["neg"] = np.asarray(neg, dtype=np.int64)
