"""Counts and explains every output code where the framework differs from the
golden executor.

With float scales the framework computes each quantizer's input in float32
(a float matrix product, then batch-norm...), the design from the exact
integer accumulator. The two agree except where the framework's float32
value lands within its rounding error of a quantization boundary. For every
frame whose outputs differ we find the first quantizer where the framework's
codes differ from the golden executor's and check that, there, each differing
code is one step away and the framework's own pre-quantization value lies
within a tolerance of the rounding boundary between the two codes
(2**-10 steps; half a step where the layer's float32 partial sums are not
exact, which the report flags per layer). Anything else is counted as
unexplained: a bug.
"""

from __future__ import annotations

import numpy as np

from hlsgen.ir import golden
from hlsgen.ir.qtype import QType

TOLERANCE_STEPS = 2.0**-10
CAUSE = "the framework's float32 value lies on a quantization boundary"


def explain(qm, x_ir: np.ndarray, fw_ir: np.ndarray, gold: np.ndarray | None = None) -> dict:
    """Compares the framework's outputs fw_ir (IR layout and units, before any
    arg-max) with the golden executor's on inputs x_ir, as the design's
    outputs are compared (an arg-max output: the frame's label); the counts
    and causes. gold: golden.output_values of those frames, when the caller
    has them; else computed here."""
    from hlsgen.frontends.qonnx.predict import to_framework_layout
    g = qm.graph
    qt = QType.from_dict(g.meta["input_qtype"])
    codes = np.rint(np.asarray(x_ir, np.float64) * 2.0**qt.frac).astype(np.int64)
    n = len(codes)
    if gold is None:
        gold = golden.output_values(g, golden.output_codes(g, codes))
    fw = golden.design_units(g, np.asarray(fw_ir, np.float64).reshape(n, -1))
    differ = np.asarray(gold).reshape(n, -1) != fw
    result = {"values": int(differ.sum()), "frames": int(differ.any(1).sum())}
    if not result["values"]:
        return result
    # The framework is traced on the same frames as above (its float32
    # results may depend on how frames are batched), golden (exact, so
    # independent of batching) only on the frames that differ.
    frames = differ.any(1)
    m = int(frames.sum())
    trace = golden.run(g, codes[frames], trace=True)
    fw = {q: (np.asarray(x_pre)[frames], np.asarray(y)[frames], *rest)
          for q, (x_pre, y, *rest) in framework_trace(qm, to_framework_layout(qm, x_ir)).items()}
    names, first, ok, dist = _first_divergence(qm, trace, fw, m)
    differ = differ[frames]
    explained = (first >= 0) & ok
    layers: dict = {}
    for i in range(m):
        key = names[first[i]] if first[i] >= 0 else "none"
        layers[key] = layers.get(key, 0) + 1
    result.update(explained_values=int(differ[explained].sum()),
                  unexplained_values=int(differ[~explained].sum()),
                  first_differing_quantizer=layers, cause=CAUSE,
                  max_boundary_distance_steps=float(dist[explained].max()) if explained.any() else None)
    return result


def merge(a: dict | None, b: dict) -> dict:
    """Two explain() results (of two batches of frames) as one."""
    if a is None:
        return dict(b)
    out = {k: a.get(k, 0) + b.get(k, 0) for k in ("values", "frames")}
    if "explained_values" in a or "explained_values" in b:
        for k in ("explained_values", "unexplained_values"):
            out[k] = a.get(k, 0) + b.get(k, 0)
        layers = dict(a.get("first_differing_quantizer", {}))
        for k, v in b.get("first_differing_quantizer", {}).items():
            layers[k] = layers.get(k, 0) + v
        dists = [d["max_boundary_distance_steps"] for d in (a, b)
                 if d.get("max_boundary_distance_steps") is not None]
        out.update(first_differing_quantizer=layers, cause=CAUSE,
                   max_boundary_distance_steps=max(dists) if dists else None)
    return out


def _first_divergence(qm, trace: dict, fw: dict, n: int):
    """The quantizers compared and, per frame: index of the first whose codes
    differ (-1: none), whether all its differing codes sit on a boundary, and
    their largest distance from it (in steps)."""
    first = np.full(n, -1)
    ok = np.zeros(n, bool)
    dist = np.zeros(n)
    names = []
    for node in qm.graph.nodes:
        if node.op != "requant" or node.name not in qm.quant_map or node.outputs[0] not in trace:
            continue
        qname, perm = qm.quant_map[node.name]
        if qname not in fw:
            continue
        idx = len(names)
        names.append(node.name)
        x_pre, y, s, z, floor = fw[qname]
        t = _to_ir(x_pre, perm, n) / s + z
        c_fw = np.rint(_to_ir(y, perm, n) / s)
        c_gold = trace[node.outputs[0]].reshape(n, -1)
        differ = c_gold != c_fw
        boundary = np.maximum(c_gold, c_fw) + z if floor else (c_gold + c_fw) / 2 + z
        d = np.where(differ, np.abs(t - boundary), 0.0)
        tol = TOLERANCE_STEPS if _float32_exact(qm.graph, node) else 0.5
        on_boundary = ~differ | ((np.abs(c_gold - c_fw) == 1) & (d <= tol))
        new = (first < 0) & differ.any(1)
        first[new] = idx
        ok[new] = on_boundary[new].all(1)
        dist[new] = d[new].max(1)
    return names, first, ok, dist


def _float32_exact(graph, node) -> bool:
    producer = graph.producer(node.inputs[0])
    return bool(producer is None or producer.attrs.get("float32_exact", True))


def _to_ir(a, perm, n: int) -> np.ndarray:
    a = np.asarray(a, np.float64)
    if a.ndim > 2:
        a = np.moveaxis(a, 1, -1)
    a = a.reshape(n, -1)
    return a[:, perm] if perm is not None else a


def framework_trace(qm, x_fw: np.ndarray) -> dict:
    """ONNX Quant node -> (its input, its output, scale, zero point, floor
    rounding) as the framework computes them on x_fw."""
    params = {}
    for qname, _ in qm.quant_map.values():
        node = qm.model.get_node_from_name(qname)
        if node is None or node.op_type != "Quant":
            continue
        s = float(np.ravel(qm.model.get_initializer(node.input[1]))[0])
        z = float(np.ravel(qm.model.get_initializer(node.input[2]))[0])
        mode = next((a.s for a in node.attribute if a.name == "rounding_mode"), b"ROUND")
        params[qname] = (node, s, z, mode.decode().upper() == "FLOOR")
    if qm.module is not None:
        io = _torch_quant_io(qm, x_fw, params)
    else:
        from hlsgen.frontends.qonnx.predict import run_qonnx
        ctx = run_qonnx(qm, x_fw, full=True)
        io = {q: (ctx[p[0].input[0]], ctx[p[0].output[0]]) for q, p in params.items()}
    return {q: io[q] + params[q][1:] for q in io}


def _torch_quant_io(qm, x_fw, params: dict) -> dict:
    """Inputs and outputs of the Brevitas quantizers, by forward hooks on
    their tensor_quant (the call order per quantizer is the graph's order)."""
    from hlsgen.frontends.qonnx.predict import run_torch
    by_proxy: dict = {}
    for qname, (node, *_rest) in params.items():
        path = _proxy_path(node)
        if path:
            by_proxy.setdefault(path, []).append(qname)
    calls: dict = {p: [] for p in by_proxy}
    handles = []
    for path in by_proxy:
        try:
            tq = qm.module.get_submodule(path).fused_activation_quant_proxy.tensor_quant
        except AttributeError:
            continue
        handles.append(tq.register_forward_hook(
            lambda mod, inp, out, path=path: calls[path].append(
                (inp[0].detach().numpy().copy(), out[0].detach().numpy().copy()))))
    try:
        run_torch(qm.module, x_fw)
    finally:
        for h in handles:
            h.remove()
    io = {}
    for path, names in by_proxy.items():
        k = len(names)
        for j, qname in enumerate(names):
            mine = calls[path][j::k]
            if mine:
                io[qname] = (np.concatenate([c[0] for c in mine]), np.concatenate([c[1] for c in mine]))
    return io


def _proxy_path(node) -> str | None:
    """The Brevitas quantizer (proxy) module that exported a Quant node."""
    import ast
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            scopes = ast.literal_eval(p.value)
            for a, b in zip(scopes, scopes[1:]):
                if b.endswith(".export_handler"):
                    return a
    return None
