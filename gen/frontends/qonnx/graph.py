"""The vocabulary the QONNX reader's parts share: activations while reading
(IR codes with a residual float scale and pending float operations),
quantized constants, and small helpers on ONNX nodes."""

from __future__ import annotations

import ast
from dataclasses import dataclass, field

import numpy as np

NAME_KEY = "hlsgen.node_name"
SAME_INPUTS_KEY = "hlsgen.same_inputs"   # "j:i,...": input j is input i
# Module-path components Brevitas adds inside a layer; a node's layer name is
# the deepest scope without them.
_BREVITAS_INTERNAL = {"act_quant", "weight_quant", "bias_quant", "input_quant", "output_quant",
                      "export_handler", "fused_activation_quant_proxy", "activation_impl",
                      "tensor_quant", "trunc_quant"}


@dataclass
class Act:
    """An activation while reading: IR codes, value = code * 2**-frac * scale,
    then the float operations `ops` not yet applied."""
    tensor: str                  # IR tensor holding the codes
    shape: tuple                 # ONNX shape without the batch axis (channels first)
    # residual scale, shape () or (C,): exact dyadic numbers (gen/ir/dyadic.py)
    # in float64, at most a product of two float32 scales (exact_product)
    scale: np.ndarray
    frac: int | None             # binary point of the codes, when known (not for the input)
    ops: list = field(default_factory=list)
    perm: np.ndarray | None = None   # flattened channels-first data: IR index -> ONNX index
    # The ONNX tensor is channels-last (a Transpose to NHWC inside the graph):
    # `shape` is then (..., C), in the IR's own order.
    channels_last: bool = False


@dataclass
class QConst:
    """A quantized constant (weights, bias): the framework's integer codes."""
    codes: np.ndarray            # int64, ONNX shape: q - zero point
    scale: np.ndarray            # float32, broadcastable to codes
    values: np.ndarray           # float32: what the framework computes with
    node: str


def ir_shape(shape: tuple) -> tuple:
    """Channels-first (C, ...) -> channels-last (..., C)."""
    return tuple(shape[1:]) + tuple(shape[:1]) if len(shape) > 1 else tuple(shape)


def split_scale(s) -> tuple[np.ndarray, np.ndarray]:
    """s = 2**-k * r with r in (0.5, 1]; r == 1 exactly for powers of two."""
    m, e = np.frexp(np.asarray(s, dtype=np.float64))
    po2 = m == 0.5
    return np.where(po2, 1 - e, -e).astype(np.int64), np.where(po2, 1.0, m)


def node_name(node) -> str:
    """The node's name in the model as given (before qonnx renamed it)."""
    return next((p.value for p in node.metadata_props if p.key == NAME_KEY), node.name)


def layer_name(node) -> str:
    """The PyTorch module a node came from (Brevitas internals skipped), else
    the node's name."""
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(p.value)[1:-1]
            except (ValueError, SyntaxError):
                break
            outer = [s for s in scopes if s and not set(s.split(".")[1:]) & _BREVITAS_INTERNAL]
            if outer:
                return outer[-1]
    return node_name(node)


def attrs_of(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}




def fresh(name: str, taken) -> str:
    """name, or name_2, name_3... whichever is not taken."""
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def as_int(v) -> int:
    return int(np.ravel(v)[0])


def po2_shift(c, sign: int):
    """("rescale", shift) when multiplying (sign -1) or dividing (sign 1) by a
    positive power-of-two scalar c: exact on codes, only the binary point moves."""
    c = np.asarray(c, dtype=np.float64)
    if c.size != 1 or c.flat[0] <= 0:
        return None
    m, e = np.frexp(c.flat[0])
    return ("rescale", int(sign * (e - 1))) if m == 0.5 else None
