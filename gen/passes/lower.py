"""Forward pass: gives every tensor an exact type and code bounds, sizes
every accumulator, and lowers requantization to integer parameters.

Accumulator sizing: the C++ matrix-vector unit starts from the bias and adds
products in any order, so its type must hold every partial sum, not only the
final one. We bound partial sums by adding all positive (resp. negative)
extremes of the products to the bias; the type follows from those bounds.
"""

from __future__ import annotations

import numpy as np

from gen.errors import HlsgenError
from gen.ir import Graph, Node
from gen.passes.requant import LUT_MAX_ENTRIES, derive_lut, derive_requant
from gen.qtype import QType, type_for_range

MAX_ACC_BITS = 62  # int64 golden arithmetic and ap_int<> both stay exact


def lower_types(graph: Graph) -> None:
    for node in graph.nodes:
        {"input": _input, "dense": _dense, "conv": _dense, "requant": _requant,
         "reshape": _reshape, "argmax": _argmax, "pad": _pad, "pool": _pool,
         "add": _merge, "concat": _merge, "rescale": _rescale}[node.op](graph, node)


def _input(graph: Graph, node: Node) -> None:
    t = graph.tensors[node.outputs[0]]
    qt: QType = graph.meta["input_qtype"]
    t.qtype, t.lo, t.hi = qt, qt.lo, qt.hi


def _reshape(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if src.size != dst.size:
        raise HlsgenError(f"layer '{node.name}': reshape from {src.shape} to {dst.shape} changes size")
    dst.qtype, dst.lo, dst.hi = src.qtype, src.lo, src.hi


def _argmax(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.lo, dst.hi = 0, src.size - 1
    dst.qtype = type_for_range(0, max(src.size - 1, 1), 0)


def _dense(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    w = node.params["weights"].astype(np.int64)          # [in, out] (depthwise: [K*K, C])
    b = node.params["bias"].astype(np.int64)
    if node.op == "dense" and w.shape[0] != src.size:
        raise HlsgenError(f"layer '{node.name}': expects {w.shape[0]} inputs, gets {src.size}")
    if node.op == "conv":
        a = node.attrs
        rows = a["kh"] * a["kw"] * (1 if a["depthwise"] else src.shape[-1])
        if w.shape[0] != rows:
            raise HlsgenError(f"layer '{node.name}': kernel has {w.shape[0]} rows, the input "
                              f"window has {rows} values")
    x_frac = src.qtype.frac
    acc_frac = max(x_frac + node.attrs["w_frac"], node.attrs["b_frac"])
    # Align weights and bias to the accumulator's binary point, exactly.
    w = w << (acc_frac - x_frac - node.attrs["w_frac"])
    b = b << (acc_frac - node.attrs["b_frac"])
    node.params["weights"], node.params["bias"] = w, b
    node.attrs.update(w_frac=acc_frac - x_frac, b_frac=acc_frac)
    if np.all(np.abs(w) == 1):
        # +-1 weights: one bit each; products become (conditional) negations.
        node.attrs["w_type"] = QType.make_bipolar().to_dict()
    else:
        node.attrs["w_type"] = type_for_range(min(int(w.min()), 0), max(int(w.max()), 0),
                                              acc_frac - x_frac).to_dict()

    x_lo, x_hi = (int(v) for v in src.qtype.arith(np.array([src.lo, src.hi])))
    p_hi = np.maximum(w * x_hi, w * x_lo)                   # product extremes
    p_lo = np.minimum(w * x_hi, w * x_lo)
    final_hi, final_lo = p_hi.sum(0) + b, p_lo.sum(0) + b
    partial_hi = np.maximum(p_hi, 0).sum(0) + np.maximum(b, 0)
    partial_lo = np.minimum(p_lo, 0).sum(0) + np.minimum(b, 0)
    acc_type = type_for_range(int(partial_lo.min()), int(partial_hi.max()), acc_frac)
    if acc_type.bits > MAX_ACC_BITS:
        raise HlsgenError(f"layer '{node.name}': its accumulator needs {acc_type.bits} bits; "
                          f"reduce the input or weight precision (at most {MAX_ACC_BITS} bits)")
    dst.qtype, dst.lo, dst.hi = acc_type, int(final_lo.min()), int(final_hi.max())
    # The framework sums in float32: exact while every partial sum fits in
    # float32's 24-bit significand. Recorded so reports can say so per layer.
    node.attrs["float32_exact"] = bool(max(-int(partial_lo.min()), int(partial_hi.max())) < 2**24)


def _requant(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    where = f"layer '{node.name}'"
    channels = graph.tensors[node.inputs[0]].shape[-1] if src.shape else 1
    if src.qtype.bipolar:
        if node.transient.get("relu"):
            raise HlsgenError(f"{where}: a ReLU on +-1 values is not supported; quantize them first")
        node.transient["fn"] = _from_bipolar(node.transient["fn"])
    if node.transient.get("bipolar"):
        # The quantizer outputs +-1: codes 0/1 are its (y + 1) / 2.
        node.transient["fn"] = _to_bipolar(node.transient["fn"])
    if node.transient.get("relu"):
        # An unquantized ReLU is exact on codes: max(x, 0) at the same point.
        rq = {"kind": "shift", "shift": 0, "round": "floor", "lo": 0, "hi": None}
        thr = None
        out_frac, lo, hi = src.qtype.frac, max(src.lo, 0), max(src.hi, 0)
    else:
        fn, grid = node.transient["fn"], node.transient["grid"]
        per_channel = node.transient.get("per_channel", False)
        ch = channels if per_channel else 1
        monotonic = node.transient.get("monotonic", True)
        if (node.transient.get("lut") or not monotonic) and src.hi - src.lo + 1 <= LUT_MAX_ENTRIES:
            # Smooth activations: the framework's own output for every input code.
            rq, thr = derive_lut(fn, src.qtype.frac, src.lo, src.hi, grid, where, ch)
        elif not monotonic:
            raise HlsgenError(f"{where}: its activation is not monotonic, so it needs a lookup "
                              f"table over its {src.hi - src.lo + 1} input codes, more than "
                              f"{LUT_MAX_ENTRIES}; put a quantizer of at most 12 bits before it")
        else:
            rq, thr = derive_requant(fn, src.qtype.frac, src.lo, src.hi, grid, where, ch)
        out_frac = grid[0]
        lo, hi = _reachable(rq, thr, src.lo, src.hi)
    bipolar_out = node.transient.get("bipolar", False)
    node.transient.clear()
    node.attrs["requant"] = rq
    if thr is not None:
        node.params["table" if rq["kind"] == "lut" else "thresholds"] = thr
    grid_lo = rq.get("lo") if rq.get("lo") is not None else lo
    grid_hi = rq.get("hi") if rq.get("hi") is not None else hi
    dst.qtype = type_for_range(min(grid_lo, lo), max(grid_hi, hi), out_frac)
    if bipolar_out:
        dst.qtype = QType.make_bipolar()
    dst.lo, dst.hi = lo, hi


def _from_bipolar(fn):
    """fn of +-1 values as a function of codes 0/1 (evaluated at frac 0)."""
    return lambda x: fn((2.0 * np.asarray(x, np.float64) - 1.0).astype(np.float32))


def _to_bipolar(fn):
    return lambda x: ((np.asarray(fn(x), np.float64) + 1.0) / 2.0).astype(np.float32)


def _reachable(rq: dict, thr, lo: int, hi: int) -> tuple[int, int]:
    if rq["kind"] == "lut":
        return int(thr.min()), int(thr.max())
    if thr is not None:
        t = np.asarray(thr)
        b_lo, b_hi = (min(lo, -hi), max(hi, -lo)) if "negate" in rq else (lo, hi)
        return rq["base"] + int((t <= b_lo).sum(1).min()), rq["base"] + int((t <= b_hi).sum(1).max())
    from gen.intmath import apply_requant
    ends = apply_requant(np.array([lo, hi]), rq, thr)
    return int(ends[0]), int(ends[1])


def _no_bipolar(graph: Graph, node: Node, what: str) -> None:
    for t in node.inputs:
        if graph.tensors[t].qtype.bipolar:
            raise HlsgenError(f"layer '{node.name}': {what} of +-1 (binarized) values is not "
                              "supported; quantize them to integers first")


def _pad(graph: Graph, node: Node) -> None:
    """Zero padding: the padding value is the code of 0, which is 0."""
    _no_bipolar(graph, node, "zero padding (there is no 0 among +-1)")
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.qtype, dst.lo, dst.hi = src.qtype, min(src.lo, 0), max(src.hi, 0)
    if not (src.qtype.lo <= 0 <= src.qtype.hi):
        dst.qtype = type_for_range(min(src.qtype.lo, 0), max(src.qtype.hi, 0), src.qtype.frac)


def _pool(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if node.attrs["mode"] == "max":
        dst.qtype, dst.lo, dst.hi = src.qtype, src.lo, src.hi
        return
    _no_bipolar(graph, node, "average pooling")
    n = node.attrs["kh"] * node.attrs["kw"]
    dst.lo, dst.hi = n * src.lo, n * src.hi
    # Partial sums of up to n terms lie between 0 and the n-term extremes.
    dst.qtype = type_for_range(min(dst.lo, 0), max(dst.hi, 0), src.qtype.frac)


def _merge(graph: Graph, node: Node) -> None:
    """Add / Concatenate: inputs aligned to the finest binary point, exactly."""
    _no_bipolar(graph, node, "adding or concatenating")
    ins = [graph.tensors[t] for t in node.inputs]
    dst = graph.tensors[node.outputs[0]]
    frac = max(t.qtype.frac for t in ins)
    shifts = [frac - t.qtype.frac for t in ins]
    node.attrs["shifts"] = shifts
    if node.op == "add":
        if len({t.shape for t in ins}) != 1:
            raise HlsgenError(f"layer '{node.name}': adds tensors of shapes "
                              f"{[t.shape for t in ins]}; they must be equal")
        dst.lo = sum(t.lo << s for t, s in zip(ins, shifts))
        dst.hi = sum(t.hi << s for t, s in zip(ins, shifts))
    else:
        dst.lo = min(t.lo << s for t, s in zip(ins, shifts))
        dst.hi = max(t.hi << s for t, s in zip(ins, shifts))
        node.attrs["channels"] = [t.shape[-1] for t in ins]
    dst.qtype = type_for_range(min(dst.lo, 0), max(dst.hi, 0), frac)


def _rescale(graph: Graph, node: Node) -> None:
    """An exact power-of-two rescale (an average over 2**k values without a
    quantizer after it): the codes stay, the binary point moves."""
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.lo, dst.hi = src.lo, src.hi
    dst.qtype = QType(src.qtype.bits, src.qtype.signed, src.qtype.frac + node.attrs["shift"])
