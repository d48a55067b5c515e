"""Small passes that remove operations which do nothing to the codes, or
whose work another node can do."""

import numpy as np

from hlsgen.ir.graph import PREPROCESSING, Graph
from hlsgen.ir.intmath import apply_requant
from hlsgen.passes.lower import retype_consumers, type_layer
from hlsgen.passes.manager import register


@register("drop_identity_requant")
def drop_identity_requant(graph: Graph) -> bool:
    """A requantization that maps every reachable code to itself, at the same
    binary point, is a no-op (e.g. an input quantizer the input type already
    satisfies)."""
    for node in list(graph.nodes):
        if node.op != "requant":
            continue
        rq = node.attrs["requant"]
        src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
        if src.qtype.frac != dst.qtype.frac or src.qtype.bipolar != dst.qtype.bipolar:
            continue   # +-1 codes to 0/1 codes (or back) change the values they stand for
        if rq["kind"] == "identity" or (
                rq["kind"] == "shift" and rq["shift"] == 0 and
                (rq["lo"] is None or rq["lo"] <= src.lo) and (rq["hi"] is None or rq["hi"] >= src.hi)):
            if dst.qtype != src.qtype and node.outputs[0] in graph.outputs:
                continue
            graph.remove_node(node)
            if dst.qtype != src.qtype:
                # Its consumers now read src's (narrower) type: the ones
                # that pass codes through take it too.
                retype_consumers(graph, src.name)
            return True
    return False


@register("drop_flat_reshapes")
def drop_flat_reshapes(graph: Graph) -> bool:
    """Flatten/Reshape do not move data in a stream that is already in
    row-major (channels-last) order; they only rename the shape."""
    for node in list(graph.nodes):
        if node.op == "reshape" and node.outputs[0] not in graph.outputs:
            graph.remove_node(node)
            return True
    return False


@register("fold_preprocessing")
def fold_preprocessing(graph: Graph) -> bool:
    """The model's input preprocessing folded into the first layer when it
    is, per input channel, code -> +-code + beta exactly (the usual case:
    (x - 0.5) * 4 or (x + 1) / 2 on a fixed-point input keep the step): the
    layer reads the input codes with its weights negated where needed and
    sum(w * beta) added to its bias, so the accumulator holds the same
    integers and nothing after it changes. Kept as its own stage otherwise:
    a scale other than +-1 would widen every weight, a ReLU is not affine,
    zero padding between them would pad with the wrong value, and a bipolar
    input's stage is the two-entry table an integer layer needs anyway."""
    for pre in graph.nodes:
        if pre.op != "requant" or not pre.attrs.get("source", "").endswith(PREPROCESSING):
            continue
        src, mid = graph.tensors[pre.inputs[0]], pre.outputs[0]
        readers = [n for n in graph.nodes if mid in n.inputs]
        if src.qtype.bipolar or mid in graph.outputs or len(readers) != 1 or \
                readers[0].op not in ("dense", "conv") or src.hi - src.lo + 1 > 1 << 16:
            continue
        layer = readers[0]
        channels = src.shape[-1] if src.shape else 1
        codes = np.arange(src.lo, src.hi + 1, dtype=np.int64)
        table = "table" if pre.attrs["requant"]["kind"] == "lut" else "thresholds"
        y = apply_requant(np.repeat(codes[:, None], channels, 1), pre.attrs["requant"],
                          pre.params.get(table))
        m = (y[-1] - y[0]) // max(len(codes) - 1, 1)
        beta = y[0] - m * codes[0]
        if len(codes) < 2 or not np.all(np.abs(m) == 1) or \
                not np.array_equal(y, codes[:, None] * m + beta):
            continue
        w = layer.params["weights"]
        if layer.op == "conv" and layer.attrs["depthwise"]:
            ch = np.arange(w.shape[1]) % channels          # [K*K, C]: column c reads channel c
            sign, shift = m[ch][None, :], beta[ch][None, :]
        else:                                              # rows (ky, kx, c) or features
            ch = np.arange(w.shape[0]) % channels
            sign, shift = m[ch][:, None], beta[ch][:, None]
        layer.params["bias"] = layer.params["bias"] + (w * shift).sum(0)
        layer.params["weights"] = w * sign
        acc = graph.tensors[layer.outputs[0]]
        old, exact = (acc.lo, acc.hi), layer.attrs["float32_exact"]
        layer.attrs["w_frac"] = layer.attrs["b_frac"] - src.qtype.frac
        layer.attrs["preprocessing"] = pre.attrs["source"]
        graph.remove_node(pre)
        type_layer(graph, layer)
        # The accumulator holds the same integers as before: both bounds hold.
        # The framework still sums w * (preprocessed x): its float32 rounding
        # is the unfolded layer's.
        acc.lo, acc.hi = max(acc.lo, old[0]), min(acc.hi, old[1])
        layer.attrs["float32_exact"] = exact
        retype_consumers(graph, acc.name)
        return True
    return False
