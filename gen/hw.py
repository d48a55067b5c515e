"""Maps the lowered IR onto the kernel library: kernels connected by streams.

Python decides everything here (types, folding, parameter layouts, where a
lane-count converter goes); the templates only lay the result out.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field

import numpy as np

from gen.errors import HlsgenError
from gen.folding import default_folding
from gen.ir import Graph
from gen.names import cpp_ident, safe_comment
from gen.qtype import QType


@dataclass
class Stream:
    name: str
    qtype: QType       # type of one lane
    lanes: int
    count: int         # lanes per frame

    @property
    def word_bits(self) -> int:
        return self.lanes * self.qtype.bits

    @property
    def words(self) -> int:
        return self.count // self.lanes


@dataclass
class Kernel:
    kind: str          # mvu, requant, resize, argmax
    id: str
    source: str        # the framework layer(s), for comments and reports
    inp: Stream
    out: Stream
    attrs: dict = field(default_factory=dict)
    params: dict = field(default_factory=dict)   # name -> int64 array in C++ layout

    @property
    def cycles(self) -> int:
        """Cycles per frame at II=1 per loop iteration."""
        if self.kind == "mvu":
            return (self.attrs["mw"] // self.attrs["simd"]) * (self.attrs["mh"] // self.attrs["pe"])
        return max(self.inp.words, self.out.words)


@dataclass
class Design:
    name: str
    kernels: list[Kernel]
    inp: Stream
    out: Stream
    out_frac: int | None      # None when the output is a class index

    @property
    def streams(self) -> list[Stream]:
        """Every internal stream, from in_s (after the AXI-Stream input) to out_s."""
        return [self.kernels[0].inp] + [k.out for k in self.kernels]


def build_design(graph: Graph, name: str, folding: dict | None = None) -> Design:
    taken: set[str] = {name.lower()}
    nodes = [n for n in graph.nodes if n.op not in ("input", "reshape")]
    fused: set[int] = set()   # ids of requant nodes merged into their matrix-vector unit
    dense_dims = [(n.name, graph.tensors[n.inputs[0]].size, graph.tensors[n.outputs[0]].size)
                  for n in nodes if n.op == "dense"]
    folds = default_folding(dense_dims)
    if folding:
        for layer, f in folding.items():
            if layer not in folds:
                raise HlsgenError(f"folding names layer '{layer}', which is not a dense layer of "
                                  f"this model; its layers are: {', '.join(folds)}")
            folds[layer] = f

    kernels: list[Kernel] = []
    in_t = graph.tensors[graph.inputs[0]]
    first_lanes = next((folds[n.name]["simd"] for n in nodes if n.op == "dense"), 1)
    cur = Stream("in", in_t.qtype, first_lanes, in_t.size)
    stream_no = 0

    def next_stream(qtype, lanes, count):
        nonlocal stream_no
        stream_no += 1
        return Stream(f"s{stream_no}", qtype, lanes, count)

    def connect(lanes: int) -> None:
        """Converts the current stream to `lanes` lanes where they differ."""
        nonlocal cur
        if cur.lanes == lanes:
            return
        steps = [lanes]
        if cur.lanes % lanes and lanes % cur.lanes:
            steps = [math.gcd(cur.lanes, lanes), lanes]
        for step in steps:
            out = next_stream(cur.qtype, step, cur.count)
            kernels.append(Kernel("resize", cpp_ident(f"resize_{stream_no}", taken),
                                  f"{cur.lanes} -> {step} lanes", cur, out))
            cur = out

    for node in nodes:
        if id(node) in fused:
            continue
        src_t = graph.tensors[node.inputs[0]]
        if node.op == "dense":
            f = folds[node.name]
            mw, mh = src_t.size, graph.tensors[node.outputs[0]].size
            simd, pe = int(f["simd"]), int(f["pe"])
            if mw % simd or mh % pe:
                raise HlsgenError(f"layer '{node.name}': SIMD {simd} must divide its {mw} inputs "
                                  f"and PE {pe} its {mh} outputs")
            consumers = graph.consumers(node.outputs[0])
            rq_node = consumers[0] if (len(consumers) == 1 and consumers[0].op == "requant"
                                       and node.outputs[0] not in graph.outputs) else None
            connect(simd)
            acc_t = graph.tensors[node.outputs[0]].qtype
            out_tensor = graph.tensors[rq_node.outputs[0]] if rq_node else graph.tensors[node.outputs[0]]
            out = next_stream(out_tensor.qtype, pe, mh)
            k = Kernel("mvu", cpp_ident(node.name, taken),
                       safe_comment(node.name + (f" + {rq_node.name}" if rq_node else "")), cur, out,
                       {"mw": mw, "mh": mh, "simd": simd, "pe": pe,
                        "w_type": QType.from_dict(node.attrs["w_type"]), "acc_type": acc_t,
                        "float32_exact": node.attrs["float32_exact"]})
            k.params["w"] = _fold_weights(node.params["weights"], simd, pe)
            k.params["b"] = node.params["bias"].reshape(mh // pe, pe).T.copy()
            _attach_requant(k, rq_node)
            if rq_node:
                fused.add(id(rq_node))
            kernels.append(k)
            cur = out
        elif node.op == "requant":
            out = next_stream(graph.tensors[node.outputs[0]].qtype, cur.lanes, cur.count)
            k = Kernel("requant", cpp_ident(node.name, taken), safe_comment(node.name), cur, out,
                       {"acc_type": cur.qtype})
            _attach_requant(k, node)
            kernels.append(k)
            cur = out
        elif node.op == "argmax":
            out = next_stream(graph.tensors[node.outputs[0]].qtype, 1, 1)
            kernels.append(Kernel("argmax", cpp_ident("label_select", taken), "label select",
                                  cur, out))
            cur = out
        else:
            raise HlsgenError(f"layer '{node.name}': operation '{node.op}' has no hardware kernel yet")
    if not kernels:
        raise HlsgenError("the model computes nothing (no layer after its input)")
    out_t = graph.tensors[graph.outputs[0]]
    out_frac = None if graph.nodes[-1].op == "argmax" else out_t.qtype.frac
    kernels[0].inp.name, kernels[-1].out.name = "in_s", "out_s"
    return Design(name, kernels, kernels[0].inp, kernels[-1].out, out_frac)


def _fold_weights(w: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """W[in, out] -> w[pe][nf*SF + sf][simd] (see hlsgen_mvu.h)."""
    mw, mh = w.shape
    sf, nf = mw // simd, mh // pe
    return w.T.reshape(nf, pe, sf, simd).transpose(1, 0, 2, 3).reshape(pe, nf * sf, simd).copy()


def _attach_requant(k: Kernel, rq_node) -> None:
    if rq_node is None:
        k.attrs["requant"] = {"kind": "identity"}
        return
    rq = dict(rq_node.attrs["requant"])
    k.attrs["requant"] = rq
    if rq["kind"] == "thresholds":
        k.params["thr"] = np.asarray(rq_node.params["thresholds"], dtype=np.int64)
