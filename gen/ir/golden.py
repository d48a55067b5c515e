"""The golden executor: runs the lowered IR in NumPy integer arithmetic.

It is the specification the generated C++ must meet bit for bit, and the
bridge to the framework (codes * 2**-frac are the framework's values).
Tensors are channels-last; frames pass through the graph a few at a time,
and matrix products run through float BLAS where they are provably exact
(intmath.exact_matmul), so C simulation's reference is never the bottleneck.
"""

from __future__ import annotations

import numpy as np
from numpy.lib.stride_tricks import sliding_window_view

from hlsgen.ir.intmath import apply_requant, exact_float_dtype, exact_matmul
from hlsgen.ir import host_tail, recurrent
from hlsgen.ir.graph import Graph

# Frames pass through the graph in groups whose largest tensor (int64) has
# about this many bytes: under glibc's 32 MB mmap threshold, memory is
# reused from layer to layer instead of being mapped and faulted in afresh
# (5x slower on CNV); groups as large as that keep MLPs' products large.
_PASS_BYTES = 16 << 20
# A convolution is a window matrix (im2col) times the weights, or, with
# many channels and wide outputs, the sum over taps of the shifted image
# times that tap's weights: the window matrix copies K*K*C values per pixel
# in runs of C (4x slower than the products at 64 channels and 28 columns);
# the tap products are batches of [OW, C] x [C, F] products, which BLAS
# serves well only when both are long (at OW = 1 they are 700x slower).
_TAP_PRODUCTS_MIN_CHANNELS, _TAP_PRODUCTS_MIN_COLUMNS = 16, 8


def run(graph: Graph, input_codes, trace: bool = False) -> dict[str, np.ndarray]:
    """Input codes -> codes of every output tensor (or of every tensor, with
    trace=True). The codes: [N, *input_shape] for a model with one input;
    with several, a dict by input name, a list in graph.inputs' order, or
    frames [N, sum of input sizes] (Graph.split)."""
    xs = _inputs(graph, input_codes)
    n = len(next(iter(xs.values())))
    step = max(1, _PASS_BYTES // (8 * max(t.size for t in graph.tensors.values())))
    parts = [_run(graph, {t: x[i:i + step] for t, x in xs.items()}, trace)
             for i in range(0, n, step)]
    if not parts:
        return _run(graph, xs, trace)
    return {name: np.concatenate([p[name] for p in parts]) for name in parts[0]}


def output_codes(graph: Graph, input_codes) -> np.ndarray:
    """Output frames [N, sum of output sizes] (outputs in graph.outputs' order)."""
    outs = run(graph, input_codes)
    return graph.join(graph.outputs, outs)


def _inputs(graph: Graph, codes) -> dict[str, np.ndarray]:
    if isinstance(codes, dict):
        return {t: np.asarray(codes[t], dtype=np.int64) for t in graph.inputs}
    if isinstance(codes, (list, tuple)):
        return {t: np.asarray(c, dtype=np.int64) for t, c in zip(graph.inputs, codes)}
    x = np.asarray(codes, dtype=np.int64)
    if len(graph.inputs) == 1:
        return {graph.inputs[0]: x}
    return graph.split(graph.inputs, x)


def _run(graph: Graph, xs: dict[str, np.ndarray], trace: bool) -> dict[str, np.ndarray]:
    n = len(next(iter(xs.values())))
    values = {t: x.reshape((n,) + tuple(graph.tensors[t].shape)) for t, x in xs.items()}
    for node in graph.nodes:
        if node.op == "input":
            continue
        ins = [values[t] for t in node.inputs]
        out_t = graph.tensors[node.outputs[0]]
        out_shape = (n,) + tuple(out_t.shape)
        y = _OPS[node.op](node, ins, out_t, graph)
        values[node.outputs[0]] = y.reshape(out_shape)
    if trace:
        return values
    return {name: values[name] for name in graph.outputs}


def _as_image(a: np.ndarray) -> np.ndarray:
    """[N, L, C] signals are [N, 1, L, C] images."""
    return a if a.ndim == 4 else a[:, None]


def _arith(node, graph, x):
    """An input's codes as the integers arithmetic works on (+-1 for bipolar)."""
    return graph.tensors[node.inputs[0]].qtype.arith(x)


def _dense(node, ins, out_t, graph):
    x = _arith(node, graph, ins[0])
    return exact_matmul(x.reshape(len(x), -1), node.params["weights"]) + node.params["bias"]


def _conv(node, ins, out_t, graph):
    a = node.attrs
    x = _as_image(_arith(node, graph, ins[0]))
    w, b = node.params["weights"], node.params["bias"]
    kh, kw, sh, sw = a["kh"], a["kw"], a["sh"], a["sw"]
    n, ih, iw, c = x.shape
    oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
    # Columns of w are output channels (depthwise: [KK, C], one per channel),
    # so the bound covers every partial sum of any grouping used below.
    dtype = exact_float_dtype(int(np.abs(x).max(initial=0)), w)
    xf = x if dtype is None else x.astype(dtype)
    wf = (w if dtype is None else w.astype(dtype)).reshape(kh, kw, c, -1)

    def tap(xs, ky, kx):   # the image under tap (ky, kx) of every window
        return xs[:, ky:ky + sh * (oh - 1) + 1:sh, kx:kx + sw * (ow - 1) + 1:sw]

    taps = [(ky, kx) for ky in range(kh) for kx in range(kw)]
    if a["depthwise"]:
        y = sum(tap(xf, ky, kx) * wf[ky, kx, :, 0] for ky, kx in taps)
    elif c >= _TAP_PRODUCTS_MIN_CHANNELS and ow >= _TAP_PRODUCTS_MIN_COLUMNS:
        y = sum(tap(xf, ky, kx) @ wf[ky, kx] for ky, kx in taps)
    else:
        win = sliding_window_view(xf, (kh, kw), axis=(1, 2))[:, ::sh, ::sw]   # [N, OH, OW, C, KH, KW]
        win = win.transpose(0, 1, 2, 4, 5, 3)                              # window order (ky, kx, c)
        y = exact_matmul(win.reshape(-1, kh * kw * c), wf.reshape(kh * kw * c, -1), dtype)
    return np.asarray(y).astype(np.int64).reshape(n, oh, ow, -1) + b


def _pool(node, ins, out_t, graph):
    a = node.attrs
    x = _as_image(ins[0])
    win = sliding_window_view(x, (a["kh"], a["kw"]), axis=(1, 2))[:, ::a["sh"], ::a["sw"]]
    return win.max(axis=(-2, -1)) if a["mode"] == "max" else win.sum(axis=(-2, -1))


def _pad(node, ins, out_t, graph):
    a = node.attrs
    x = _as_image(ins[0])
    return np.pad(x, ((0, 0), (a["top"], a["bottom"]), (a["left"], a["right"]), (0, 0)))


def _upsample(node, ins, out_t, graph):
    """Each pixel as an FH x FW block: copies (nearest), or the pixel then
    zeros (zero insertion, before a transposed convolution)."""
    a = node.attrs
    x = _as_image(ins[0])
    if a["mode"] == "nearest":
        return x.repeat(a["fh"], axis=1).repeat(a["fw"], axis=2)
    y = np.zeros((x.shape[0], x.shape[1] * a["fh"], x.shape[2] * a["fw"], x.shape[3]), np.int64)
    y[:, ::a["fh"], ::a["fw"]] = x
    return y


def _crop(node, ins, out_t, graph):
    a = node.attrs
    x = _as_image(ins[0])
    return x[:, a["top"]:x.shape[1] - a["bottom"], a["left"]:x.shape[2] - a["right"]]


def _add(node, ins, out_t, graph):
    muls = node.attrs.get("multipliers", [1] * len(ins))
    # An input may still have its pre-Flatten shape (as in _concat).
    shape = (len(ins[0]),) + tuple(out_t.shape)
    return sum((x.reshape(shape) * m) << s for x, m, s in zip(ins, muls, node.attrs["shifts"]))


def _concat(node, ins, out_t, graph):
    # An input may still have its pre-Flatten shape (gen/passes/cleanup.py
    # drops flat reshapes): its channels are the attrs' count.
    lead = (len(ins[0]),) + tuple(out_t.shape[:-1])
    return np.concatenate([(x << s).reshape(lead + (c,)) for x, s, c in
                           zip(ins, node.attrs["shifts"], node.attrs["channels"])], axis=-1)


def _requant(node, ins, out_t, graph):
    return apply_requant(ins[0], node.attrs["requant"],
                         node.params.get("thresholds", node.params.get("table")))


def _argmax(node, ins, out_t, graph):
    x = ins[0]
    return np.argmax(x.reshape(len(x), -1), axis=1).astype(np.int64)


def _recurrent(node, ins, out_t, graph):
    return recurrent.run(node, ins[0])


_OPS = {"dense": _dense, "conv": _conv, "pool": _pool, "pad": _pad, "upsample": _upsample,
        "crop": _crop, "add": _add, "recurrent": _recurrent,
        "concat": _concat, "requant": _requant, "argmax": _argmax,
        "reshape": lambda node, ins, out_t, graph: ins[0],
        "rescale": lambda node, ins, out_t, graph: ins[0]}


def output_values(graph: Graph, codes: np.ndarray) -> np.ndarray:
    """Output codes -> the real values they stand for (float64); with a host
    float tail, the framework's float32 values of those codes. Several
    outputs: frames [N, sum of output sizes], each output by its own rule."""
    if len(graph.outputs) > 1:
        parts = graph.split(graph.outputs, codes)
        return graph.join(graph.outputs, [_values(graph, t, parts[t].reshape(len(codes), -1))
                                          for t in graph.outputs])
    return _values(graph, graph.outputs[0], codes)


def design_units(graph: Graph, fw: np.ndarray) -> np.ndarray:
    """The framework's outputs [N, outputs] as the design's: a label output's
    arg-max of the scores (the first highest, as the design picks)."""
    if graph.output_is_label:
        return np.argmax(fw, axis=1).reshape(-1, 1).astype(np.float64)
    return fw


def _values(graph: Graph, output: str, codes: np.ndarray) -> np.ndarray:
    if graph.is_label(output):
        return codes.astype(np.float64)
    tail = host_tail.of_output(graph, output)
    if tail:
        return host_tail.apply(tail, codes).astype(np.float64)
    return graph.tensors[output].qtype.values(codes)
