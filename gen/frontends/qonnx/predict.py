"""The framework's own outputs for a QONNX model, in the IR's layout and units.

The reference is the Brevitas module run by PyTorch when hlsgen has it, else
the qonnx executor (qonnx.core.onnx_exec.execute_onnx) on the QONNX graph.
Data cross the boundary channels-first (PyTorch's NCHW) on the framework's
side and channels-last on the IR's. Where the output's scale is a float,
the framework's values are returned as its own integer codes (value / scale,
rounded: Brevitas' QuantTensor.int()) on the IR's binary point, so that the
comparison with the design is a comparison of codes.
"""

from __future__ import annotations

import copy

import numpy as np

from hlsgen.errors import HlsgenError, InternalError

BATCH = 256


def _input_entry(qm, tensor: str | None) -> dict:
    """The boundary of one input: the graph's only input, or `tensor` of several."""
    return next((e for e in qm.boundary.get("inputs", []) if e["tensor"] == tensor), qm.boundary)


def input_to_ir(qm, x: np.ndarray, tensor: str | None = None) -> np.ndarray:
    """User data in the framework's layout (N, C, H, W) -> the IR's (N, H, W, C)."""
    x = np.asarray(x)
    b = _input_entry(qm, tensor)
    shape = tuple(b["input_shape"])
    if x.shape[1:] != shape:
        raise HlsgenError(f"test data has shape {x.shape}; the model takes (N, "
                          f"{', '.join(map(str, shape))}) in the framework's (PyTorch) layout")
    return x if b["input_channels_last"] or x.ndim < 3 else np.moveaxis(x, 1, -1)


def to_framework_layout(qm, x: np.ndarray, tensor: str | None = None) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if _input_entry(qm, tensor)["input_channels_last"] or x.ndim < 3:
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def output_to_ir(qm, y: np.ndarray, k: int = 0) -> np.ndarray:
    """The framework's outputs (output k of several) -> IR layout, as codes on
    the IR's binary point where the output scale is not a power of two."""
    b = qm.boundary["outputs"][k] if "outputs" in qm.boundary else qm.boundary
    y = np.asarray(y, dtype=np.float64)
    if y.ndim > 2 and not b["output_channels_last"]:
        y = np.moveaxis(y, 1, -1)
    y = y.reshape(len(y), -1)
    if b["out_perm"] is not None:
        y = y[:, b["out_perm"]]
    if b["out_scale"] != 1.0:
        frac = output_frac(qm, k)
        y = np.rint(y / (b["out_scale"] * 2.0**-frac)) * 2.0**-frac
    return y


def output_frac(qm, k: int = 0) -> int:
    g = qm.graph
    qt = g.tensors[g.scores_of(g.outputs[k])].qtype
    if qt is None:
        raise InternalError("the design's output type was read before the passes typed it")
    return qt.frac


def predict(qm, x) -> np.ndarray:
    """The framework's outputs for IR-layout inputs x, in the IR's layout. A
    graph with several inputs takes a list (the graph's order); several
    outputs come back flattened and concatenated [N, sum]."""
    if not isinstance(x, (list, tuple)):
        xf = to_framework_layout(qm, x)
        y = run_torch(qm.module, xf) if qm.module is not None else run_qonnx(qm, xf)
        return output_to_ir(qm, y)
    entries = qm.boundary.get("inputs") or [dict(qm.boundary, tensor=None)]
    xs = [to_framework_layout(qm, a, e["tensor"]) for a, e in zip(x, entries)]
    ys = run_qonnx(qm, xs)
    ys = ys if isinstance(ys, list) else [ys]
    return np.concatenate([output_to_ir(qm, y, k) for k, y in enumerate(ys)], axis=1)


def run_torch(module, x: np.ndarray, hooks=None) -> np.ndarray:
    import torch
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), BATCH):
            y = module(torch.from_numpy(x[i:i + BATCH]))
            y = getattr(y, "value", y)     # a QuantTensor carries its float value
            outs.append(y.detach().numpy())
    return np.concatenate(outs)


def run_qonnx(qm, x, full: bool = False):
    """The qonnx executor on a batch (every tensor of the graph with full=True).
    Several inputs: a list of arrays, and a list of the outputs back."""
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes
    xs = list(x) if isinstance(x, (list, tuple)) else [x]
    m = copy.deepcopy(qm.model).transform(ChangeBatchSize(len(xs[0])))
    for vi in list(m.graph.input)[1:] + list(m.graph.output)[1:]:   # (it sets the first ones)
        dims = vi.type.tensor_type.shape.dim
        if len(dims):
            dims[0].dim_value = len(xs[0])
    m = m.transform(InferShapes())
    g = m.graph
    ctx = execute_onnx(m, {vi.name: a.astype(np.float32) for vi, a in zip(g.input, xs)},
                       return_full_exec_context=full)
    if full:
        return ctx
    return ctx[g.output[0].name] if len(g.output) == 1 else [ctx[vo.name] for vo in g.output]
