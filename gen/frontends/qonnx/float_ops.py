"""Float operations that sit between an integer operation and the quantizer
after it (bias, batch-norm, the average's division, ReLU, clipping, constant
scaling, smooth activations), evaluated as the framework computes them.

Each operation maps float32 values [M, C] (C channels) to [M, C]. The values
are laid out where the framework treats them per channel: [M, C, 1, 1] for a
channels-first image, or, for window operations (average pooling), as a
window whose first position holds the value and whose others hold zero (the
framework's float sum of exact codes is exact, so this is its result for
every window with that sum).

Two evaluators: onnxruntime, which is what the qonnx executor runs for
standard ONNX nodes (the reference for a bare .onnx file), and the PyTorch
module that produced the node (the reference when hlsgen has the Brevitas
model itself: PyTorch's batch-norm and sigmoid do not round like
onnxruntime's).
"""

from __future__ import annotations

import ast
from dataclasses import dataclass
from fractions import Fraction
from typing import Callable

import numpy as np

from hlsgen.frontends.qonnx.env import import_onnx, max_ir_version, session


@dataclass
class FloatOp:
    name: str                  # the layer it comes from, for messages
    kind: str                  # the ONNX operator
    run: Callable              # float32 [M, C] -> float32 [M, C]
    per_channel: bool          # its constants differ by channel
    nondecreasing: bool        # per channel (a max-pool commutes with it)
    exact: tuple | None = None     # ("relu",) or ("rescale", shift): exact on codes
    bias: object | None = None     # a layer's bias (QConst, node), foldable into it
    smooth: bool = False           # a smooth activation: tabulate it where it fits
    monotonic: bool = True
    # run is the framework's own function (False: an approximation of it that
    # only a following quantizer may evaluate, its differences explained)
    framework: bool = True
    affine: tuple | None = None    # (a, b): a*x + b per channel, exact rationals (affine_form)
    join: object | None = None     # a scaled add's IR node, whose float32 sum this rounds


def affine_form(kind: str, c, var_first: bool) -> tuple | None:
    """(a, b) with op(x) = a*x + b per channel, exact rationals of the float32
    constant (object arrays); None when the operation is not affine in x."""
    f = np.array([Fraction(float(v)) for v in np.asarray(c, np.float32).reshape(-1)], dtype=object)
    one = np.array([Fraction(1)] * len(f), dtype=object)
    zero = np.array([Fraction(0)] * len(f), dtype=object)
    if kind == "Add":
        return one, f
    if kind == "Sub":
        return (one, -f) if var_first else (-one, f)
    if kind == "Mul":
        return f, zero
    if kind == "Div" and var_first and all(v != 0 for v in f):
        return np.array([1 / v for v in f], dtype=object), zero
    return None


def channels_layout(rank: int) -> Callable:
    """[M, C] -> [M, C, 1, ...] for a tensor of `rank` dimensions (no batch)."""
    return lambda x: x.reshape(x.shape + (1,) * (rank - 1))


def window_layout(window: tuple) -> Callable:
    def lay(x):
        w = np.zeros(x.shape + tuple(window), np.float32)
        w[(Ellipsis,) + (0,) * len(window)] = x
        return w
    return lay


class OnnxOps:
    """Standard ONNX nodes run by onnxruntime, one cached session per node."""

    def __init__(self, opset: int):
        self.opset = opset

    def node_fn(self, node, inputs: list, layout: Callable) -> Callable:
        """node's function of its variable input (marked None in `inputs`;
        the others are constants, "" an absent optional input)."""
        _, _ = import_onnx()
        from onnx import TensorProto, helper, numpy_helper
        names, inits = [], []
        for i, v in enumerate(inputs):
            if v is None:
                names.append("x")
            elif isinstance(v, str):
                names.append(v)
            else:
                names.append(f"c{i}")
                arr = np.asarray(v)
                inits.append(numpy_helper.from_array(
                    arr if arr.dtype == np.int64 else arr.astype(np.float32), f"c{i}"))
        one = helper.make_node(node.op_type, names, ["y"])
        one.attribute.extend(a for a in node.attribute if a.name != "pads")
        graph = helper.make_graph([one], "op", [helper.make_tensor_value_info("x", TensorProto.FLOAT, None)],
                                  [helper.make_tensor_value_info("y", TensorProto.FLOAT, None)],
                                  initializer=inits)
        model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", self.opset)])
        model.ir_version = max_ir_version()
        sess = session(model)

        def fn(x):
            y = sess.run(None, {"x": np.ascontiguousarray(layout(x.astype(np.float32)))})[0]
            return y.reshape(x.shape)
        return fn


# Torch modules whose own function replaces the ONNX node they exported to.
_TORCH_MODULES = {
    "BatchNormalization": ("BatchNorm1d", "BatchNorm2d"),
    "AveragePool": ("AvgPool1d", "AvgPool2d"),
    "GlobalAveragePool": ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d"),
    "ReduceMean": ("AdaptiveAvgPool1d", "AdaptiveAvgPool2d", "AvgPool1d", "AvgPool2d"),
    "Sigmoid": ("Sigmoid",), "Tanh": ("Tanh",), "HardSigmoid": ("Hardsigmoid",),
    "HardSwish": ("Hardswish",), "Elu": ("ELU",), "LeakyRelu": ("LeakyReLU",),
    "Softplus": ("Softplus",),
}


def torch_module_path(node) -> str | None:
    """The module path the PyTorch exporter recorded for a node, if any."""
    for p in node.metadata_props:
        if p.key == "pkg.torch.onnx.name_scopes":
            try:
                scopes = ast.literal_eval(p.value)
            except (ValueError, SyntaxError):
                return None
            return scopes[-2] if len(scopes) >= 2 and scopes[-2] else None
    return None


class TorchOps(OnnxOps):
    """As OnnxOps, except nodes exported from a batch-norm or pooling module
    run through that module itself."""

    def __init__(self, opset: int, module):
        super().__init__(opset)
        self.module = module

    def node_fn(self, node, inputs: list, layout: Callable) -> Callable:
        import torch
        path = torch_module_path(node)
        try:
            mod = self.module.get_submodule(path) if path else None
        except AttributeError:
            mod = None
        if mod is None or type(mod).__name__ not in _TORCH_MODULES.get(node.op_type, ()):
            return super().node_fn(node, inputs, layout)

        def fn(x):
            with torch.no_grad():
                y = mod(torch.from_numpy(np.ascontiguousarray(layout(x.astype(np.float32)))))
            return y.numpy().reshape(x.shape)
        return fn
