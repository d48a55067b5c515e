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


def input_to_ir(qm, x: np.ndarray) -> np.ndarray:
    """User data in the framework's layout (N, C, H, W) -> the IR's (N, H, W, C)."""
    x = np.asarray(x)
    shape = tuple(qm.boundary["input_shape"])
    if x.shape[1:] != shape:
        raise HlsgenError(f"test data has shape {x.shape}; the model takes (N, "
                          f"{', '.join(map(str, shape))}) in the framework's (PyTorch) layout")
    return x if qm.boundary["input_channels_last"] or x.ndim < 3 else np.moveaxis(x, 1, -1)


def to_framework_layout(qm, x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    if qm.boundary["input_channels_last"] or x.ndim < 3:
        return np.ascontiguousarray(x)
    return np.ascontiguousarray(np.moveaxis(x, -1, 1))


def output_to_ir(qm, y: np.ndarray) -> np.ndarray:
    """The framework's outputs -> IR layout, as codes on the IR's binary point
    where the output scale is not a power of two."""
    b = qm.boundary
    y = np.asarray(y, dtype=np.float64)
    if y.ndim > 2 and not b["output_channels_last"]:
        y = np.moveaxis(y, 1, -1)
    y = y.reshape(len(y), -1)
    if b["out_perm"] is not None:
        y = y[:, b["out_perm"]]
    if b["out_scale"] != 1.0:
        frac = output_frac(qm)
        y = np.rint(y / (b["out_scale"] * 2.0**-frac)) * 2.0**-frac
    return y


def output_frac(qm) -> int:
    g = qm.graph
    qt = g.tensors[g.output_scores].qtype
    if qt is None:
        raise InternalError("the design's output type was read before the passes typed it")
    return qt.frac


def predict(qm, x: np.ndarray) -> np.ndarray:
    """The framework's outputs for IR-layout inputs x, in the IR's layout."""
    xf = to_framework_layout(qm, x)
    y = run_torch(qm.module, xf) if qm.module is not None else run_qonnx(qm, xf)
    return output_to_ir(qm, y)


def run_torch(module, x: np.ndarray, hooks=None) -> np.ndarray:
    import torch
    outs = []
    with torch.no_grad():
        for i in range(0, len(x), BATCH):
            y = module(torch.from_numpy(x[i:i + BATCH]))
            y = getattr(y, "value", y)     # a QuantTensor carries its float value
            outs.append(y.detach().numpy())
    return np.concatenate(outs)


def run_qonnx(qm, x: np.ndarray, full: bool = False):
    """The qonnx executor on a batch (every tensor of the graph with full=True)."""
    from qonnx.core.onnx_exec import execute_onnx
    from qonnx.transformation.change_batchsize import ChangeBatchSize
    from qonnx.transformation.infer_shapes import InferShapes
    m = copy.deepcopy(qm.model).transform(ChangeBatchSize(len(x))).transform(InferShapes())
    g = m.graph
    ctx = execute_onnx(m, {g.input[0].name: x.astype(np.float32)}, return_full_exec_context=full)
    return ctx if full else ctx[g.output[0].name]
