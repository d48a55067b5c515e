"""Forward pass: gives every tensor an exact type and code bounds, sizes
every accumulator, and lowers requantization to integer parameters.

Accumulator sizing: the C++ matrix-vector unit starts from the bias and adds
products in any order, so its type must hold every partial sum, not only the
final one. We bound partial sums by adding all positive (resp. negative)
extremes of the products to the bias; the type follows from those bounds.
"""

from __future__ import annotations

import numpy as np

from hlsgen.errors import HlsgenError, InternalError
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.passes.manager import register
from hlsgen.passes.exact_float import chain_requant, input_grid
from hlsgen.passes.requant import LUT_MAX_ENTRIES, derive_lut, derive_requant
from hlsgen.passes.recurrent import MAX_ACC_BITS, lower_recurrent
from hlsgen.ir.qtype import QType, type_for_range


@register("lower_types")
def lower_types(graph: Graph) -> bool:
    """Types every tensor once (a graph already typed is left as it is)."""
    if graph.meta.get("typed"):
        return False
    graph.meta["typed"] = True
    split_merges(graph)
    i = 0
    while i < len(graph.nodes):
        node = graph.nodes[i]
        # Operations that need integers get +-1 codes for their bipolar
        # inputs (conversion nodes inserted before them, already lowered).
        i += _integer_inputs(graph, node)
        {"input": _input, "dense": type_layer, "conv": type_layer, "requant": _requant,
         "reshape": _reshape, "argmax": _argmax, "pad": _pad, "pool": _pool,
         "upsample": _upsample, "crop": _crop,
         "add": _merge, "concat": _merge, "rescale": _rescale,
         "recurrent": lower_recurrent}[node.op](graph, node)
        i += 1
    return True


def split_merges(graph: Graph) -> None:
    """Add / Concatenate of N > 2 tensors as a chain of N - 1 two-input
    operations (((a + b) + c) + d): the kernels join two streams each. The
    last one keeps the framework layer's output tensor."""
    for node in list(graph.nodes):
        if node.op not in ("add", "concat") or len(node.inputs) <= 2:
            continue
        if "multipliers" in node.attrs:
            raise InternalError(f"layer '{node.name}': a scaled add of {len(node.inputs)} tensors; "
                                "the frontends make scaled adds of two")
        at = graph.nodes.index(node)
        out = graph.tensors[node.outputs[0]]
        acc, chain = node.inputs[0], []
        for k, t in enumerate(node.inputs[1:-1], 1):
            name = f"{node.outputs[0]}_{k}"
            while name in graph.tensors:
                name += "_"
            if node.op == "add":
                shape = out.shape
            else:
                shape = out.shape[:-1] + (graph.tensors[acc].shape[-1] + graph.tensors[t].shape[-1],)
            graph.tensors[name] = Tensor(name, tuple(shape))
            chain.append(Node(node.op, f"{node.name}_{k}", [acc, t], [name], dict(node.attrs)))
            acc = name
        node.inputs = [acc, node.inputs[-1]]
        graph.nodes[at:at] = chain


# Operations whose arithmetic needs integers, not bipolar codes: which inputs.
def _needs_integers(graph: Graph, node: Node) -> list[int]:
    bip = [graph.tensors[t].qtype.bipolar for t in node.inputs]
    if node.op in ("add", "pad", "rescale") or (node.op == "pool" and node.attrs["mode"] == "sum") or (
            node.op == "upsample" and node.attrs["mode"] == "zeros") or (
            node.op == "conv" and node.attrs["depthwise"]) or (
            node.op == "requant" and node.transient.get("relu")):   # max(x, 0): -1 -> 0
        return [k for k, b in enumerate(bip) if b]
    if node.op == "concat" and not all(bip):   # all bipolar: concatenated as bits
        return [k for k, b in enumerate(bip) if b]
    return []


def _integer_inputs(graph: Graph, node: Node) -> int:
    """Replaces node's bipolar inputs that its arithmetic needs as integers by
    their integer codes +-1 (ap_int<2>, binary point 0): one conversion per
    bipolar tensor, a two-entry lookup table (code 0 -> -1, code 1 -> +1),
    shared by every consumer that needs it. Returns the nodes inserted."""
    inserted = 0
    for k in _needs_integers(graph, node):
        src = node.inputs[k]
        conv = next((n for n in graph.nodes if n.op == "requant" and n.inputs == [src]
                     and n.attrs.get("source") == _AS_INT), None)
        if conv is None:
            name = src + "_int"
            while name in graph.tensors:
                name += "_"
            graph.tensors[name] = Tensor(name, graph.tensors[src].shape, BIPOLAR_AS_INT, -1, 1)
            conv = Node("requant", f"{src}_to_int", [src], [name],
                        {"requant": {"kind": "lut", "in_lo": 0, "entries": 2, "lo": -1, "hi": 1},
                         "source": _AS_INT},
                        {"table": np.array([[-1, 1]], dtype=np.int64)})
            graph.nodes.insert(graph.nodes.index(node), conv)
            inserted += 1
        node.inputs[k] = conv.outputs[0]
    return inserted


BIPOLAR_AS_INT = QType(2, True, 0)   # +-1 (and 0 after zero padding) as integer codes
_AS_INT = "+-1 values as integer codes"


def _input(graph: Graph, node: Node) -> None:
    t = graph.tensors[node.outputs[0]]
    # each input its own type (graph.input_qtypes: in graph.inputs' order)
    qt = graph.input_qtypes()[graph.inputs.index(t.name)] if t.name in graph.inputs \
        else QType.from_dict(graph.meta["input_qtype"])
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


def type_layer(graph: Graph, node: Node) -> None:
    """A dense or convolution layer: weights and bias aligned to the
    accumulator's binary point, the accumulator sized for every partial sum."""
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
    x_lo, x_hi = (int(v) for v in src.qtype.arith(np.array([src.lo, src.hi])))
    w_shift, b_shift = acc_frac - x_frac - node.attrs["w_frac"], acc_frac - node.attrs["b_frac"]
    # Bounds in int64 only where no product or sum can wrap; else in Python
    # integers (object arrays), so that a too-wide layer is refused, not wrapped.
    bound = (int(np.abs(w).max(initial=0)) << w_shift) * max(abs(x_lo), abs(x_hi), 1) * \
        max(w.shape[0], 1) + (int(np.abs(b).max(initial=0)) << b_shift)
    if bound >= 2**62:
        w, b = w.astype(object), b.astype(object)
    # Align weights and bias to the accumulator's binary point, exactly.
    w = w << w_shift
    b = b << b_shift
    node.attrs.update(w_frac=acc_frac - x_frac, b_frac=acc_frac)
    if np.all(np.abs(w) == 1) and not (node.op == "conv" and node.attrs["depthwise"]):
        # +-1 weights: one bit each; products become (conditional) negations.
        # (Depthwise taps multiply integers: +-1 weights stay 2-bit codes.)
        node.attrs["w_type"] = QType.make_bipolar().to_dict()
    else:
        node.attrs["w_type"] = type_for_range(min(int(w.min()), 0), max(int(w.max()), 0),
                                              acc_frac - x_frac).to_dict()

    p_hi = np.maximum(w * x_hi, w * x_lo)                   # product extremes
    p_lo = np.minimum(w * x_hi, w * x_lo)
    final_hi, final_lo = p_hi.sum(0) + b, p_lo.sum(0) + b
    partial_hi = np.maximum(p_hi, 0).sum(0) + np.maximum(b, 0)
    partial_lo = np.minimum(p_lo, 0).sum(0) + np.minimum(b, 0)
    acc_type = type_for_range(int(partial_lo.min()), int(partial_hi.max()), acc_frac)
    if acc_type.bits > MAX_ACC_BITS:
        raise HlsgenError(f"layer '{node.name}': its accumulator needs {acc_type.bits} bits; "
                          f"reduce the input or weight precision (at most {MAX_ACC_BITS} bits)")
    # Within MAX_ACC_BITS every weight and bias fits int64 again.
    node.params["weights"], node.params["bias"] = w.astype(np.int64), b.astype(np.int64)
    dst.qtype, dst.lo, dst.hi = acc_type, int(final_lo.min()), int(final_hi.max())
    # The framework sums in float32: exact while every partial sum fits in
    # float32's 24-bit significand. Recorded so reports can say so per layer.
    node.attrs["float32_exact"] = bool(max(-int(partial_lo.min()), int(partial_hi.max())) < 2**24)


def _requant(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    where = f"layer '{node.name}'"
    channels = graph.tensors[node.inputs[0]].shape[-1] if src.shape else 1
    if node.transient.get("preprocess"):
        # Input preprocessing: its grid follows from the input type, now known.
        ch = channels if node.transient.get("per_channel") else 1
        node.transient["grid"] = input_grid(node.transient["preprocess"], src.qtype, ch)
    if node.transient.get("exact_chain"):
        # Float operations proven exact on src's codes: one integer multiply-add.
        ch = channels if node.transient.get("per_channel") else 1
        fallback = node.transient.get("host_fallback", False)
        try:
            rq, thr, (out_frac, lo, hi) = chain_requant(node.transient["exact_chain"], src.qtype,
                                                        src.lo, src.hi, ch, where,
                                                        node.transient["consumer"])
        except HlsgenError:
            if not fallback:
                raise
            # Not exact on these codes: the output's float operations run on
            # the host (the frontend's tail), this node passes codes through.
            graph.meta["output_chain"] = "host"
            node.transient.clear()
            node.attrs["requant"] = {"kind": "identity"}
            dst.qtype, dst.lo, dst.hi = src.qtype, src.lo, src.hi
            return
        if fallback:
            graph.meta["output_chain"] = "chip"
        node.transient.clear()
        node.attrs["requant"] = rq
        if thr is not None:
            node.params["thresholds"] = thr
        dst.qtype, dst.lo, dst.hi = type_for_range(min(lo, 0), max(hi, 0), out_frac), lo, hi
        return
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
    if rq["kind"] == "multiply":   # per channel: its ends, and its exceptions' outputs
        from hlsgen.ir.intmath import apply_requant
        ends = apply_requant(np.repeat([[lo], [hi]], len(rq["m"]), axis=1), rq, None)
        ys = [y for row in rq["y"] for y in row]
        return int(min([ends.min(), *ys])), int(max([ends.max(), *ys]))
    if rq["kind"] == "lut":
        return int(thr.min()), int(thr.max())
    if thr is not None:
        t = np.asarray(thr)
        b_lo, b_hi = (min(lo, -hi), max(hi, -lo)) if "negate" in rq else (lo, hi)
        return rq["base"] + int((t <= b_lo).sum(1).min()), rq["base"] + int((t <= b_hi).sum(1).max())
    from hlsgen.ir.intmath import apply_requant
    ends = apply_requant(np.array([lo, hi]), rq, thr)
    return int(ends[0]), int(ends[1])


def _no_bipolar(graph: Graph, node: Node, what: str) -> None:
    """_integer_inputs gave this node integer codes for every bipolar input."""
    for t in node.inputs:
        if graph.tensors[t].qtype.bipolar:
            raise InternalError(f"layer '{node.name}': {what} of +-1 values reached the "
                                "hardware mapping without their integer conversion")


def _pad(graph: Graph, node: Node) -> None:
    """Zero padding: the padding value is the code of 0, which is 0."""
    _no_bipolar(graph, node, "zero padding")
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.qtype, dst.lo, dst.hi = src.qtype, min(src.lo, 0), max(src.hi, 0)
    if not (src.qtype.lo <= 0 <= src.qtype.hi):
        dst.qtype = type_for_range(min(src.qtype.lo, 0), max(src.qtype.hi, 0), src.qtype.frac)


def _upsample(graph: Graph, node: Node) -> None:
    """Nearest-neighbour copies pass codes through; zero insertion adds the
    code of 0, as zero padding does."""
    if node.attrs["mode"] == "zeros":
        _pad(graph, node)
        return
    _crop(graph, node)


def _crop(graph: Graph, node: Node) -> None:
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.qtype, dst.lo, dst.hi = src.qtype, src.lo, src.hi


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
    """Add / Concatenate: inputs aligned to the finest binary point, exactly.
    A concatenation of bipolar tensors only is bipolar (bits side by side);
    any other input that was bipolar arrives here as integer codes +-1."""
    ins = [graph.tensors[t] for t in node.inputs]
    dst = graph.tensors[node.outputs[0]]
    if node.op == "concat" and all(t.qtype.bipolar for t in ins):
        node.attrs.update(shifts=[0] * len(ins), channels=[t.shape[-1] for t in ins])
        dst.qtype, dst.lo, dst.hi = QType.make_bipolar(), min(t.lo for t in ins), max(t.hi for t in ins)
        return
    _no_bipolar(graph, node, "adding or concatenating")
    muls = node.attrs.get("multipliers", [1] * len(ins))
    term_fracs = [t.qtype.frac + d for t, d in
                  zip(ins, node.attrs.get("multiplier_fracs", [0] * len(ins)))]
    frac = max(term_fracs)
    shifts = [frac - f for f in term_fracs]
    node.attrs["shifts"] = shifts
    if node.op == "add":
        if len({t.shape for t in ins}) != 1:
            raise HlsgenError(f"layer '{node.name}': adds tensors of shapes "
                              f"{[t.shape for t in ins]}; they must be equal")
        terms = [(int(t.lo) * m << s, int(t.hi) * m << s) for t, m, s in zip(ins, muls, shifts)]
        dst.lo, dst.hi = sum(lo for lo, _ in terms), sum(hi for _, hi in terms)
        if "multipliers" in node.attrs:
            _scaled_add_limits(node, terms, dst.lo, dst.hi)
    else:
        dst.lo = min(t.lo << s for t, s in zip(ins, shifts))
        dst.hi = max(t.hi << s for t, s in zip(ins, shifts))
        node.attrs["channels"] = [t.shape[-1] for t in ins]
    dst.qtype = type_for_range(min(dst.lo, 0), max(dst.hi, 0), frac)


def _scaled_add_limits(node: Node, terms: list, lo: int, hi: int) -> None:
    """A sum of branches times their scales' integers (multipliers > 0): its
    width is bounded, and whether the framework's float32 products and sum
    are exact is recorded (they are when every value fits float32's 24-bit
    significand), as for the matrix units."""
    bits = type_for_range(min(lo, 0), max(hi, 0), 0).bits
    if bits > MAX_ACC_BITS:
        raise HlsgenError(f"layer '{node.name}' (add): its two branches' scales need a {bits}-bit "
                          f"sum on a common grid (at most {MAX_ACC_BITS}); quantize both branches "
                          "with one quantizer (a shared QuantIdentity) or with power-of-two scales")
    ends = [abs(v) for pair in terms for v in pair] + [abs(lo), abs(hi)]
    node.attrs["float32_exact"] = bool(max(ends) < 2**24)
    consumer = node.attrs.pop("exact_sum_for", None)
    if consumer is not None and not node.attrs["float32_exact"]:
        # The frontend left no quantizer after the sum: the framework's
        # float32 sum must be the exact one.
        raise HlsgenError(f"layer '{node.name}' (add): the framework adds its two branches in "
                          f"float32, which rounds here (a value on their common grid needs "
                          f"{max(ends).bit_length()} significant bits, float32 holds 24), and the "
                          f"sum reaches {consumer} without a quantizer; put a "
                          "quantizer after the add (QuantIdentity), or quantize both branches "
                          "with one quantizer")


def _rescale(graph: Graph, node: Node) -> None:
    """An exact power-of-two rescale (an average over 2**k values without a
    quantizer after it): the codes stay, the binary point moves."""
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    dst.lo, dst.hi = src.lo, src.hi
    dst.qtype = QType(src.qtype.bits, src.qtype.signed, src.qtype.frac + node.attrs["shift"])


# Operations whose output type follows from their input's type alone (codes
# pass through): their kernels read and write the same lane type.
_PASS_THROUGH = {"pad": _pad, "reshape": _reshape, "rescale": _rescale, "upsample": _upsample,
                 "crop": _crop}


def retype_consumers(graph: Graph, tensor: str) -> None:
    """Re-derives the types of the pass-through operations fed by `tensor`
    (after a pass changed its type, e.g. by dropping a no-op requantization
    between them), so that every edge keeps one type, decided here."""
    for node in graph.consumers(tensor):
        fn = _PASS_THROUGH.get(node.op) or (
            _pool if node.op == "pool" and node.attrs["mode"] == "max" else None)
        if fn is None:
            continue
        dst = graph.tensors[node.outputs[0]]
        before = (dst.qtype, dst.lo, dst.hi)
        fn(graph, node)
        if (dst.qtype, dst.lo, dst.hi) != before:
            retype_consumers(graph, dst.name)
