"""Float operations on the model's input before its first integer layer
(input normalisation such as (x + 1) / 2, constant Add/Sub/Mul/Div and
ReLU): one IR requantization whose function is the framework's own
operations. Its output grid depends on the input type, which is declared
after reading, so the lowering finds it (gen/passes/preprocess.py) or
refuses naming the operation that is not exact on that type."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qonnx.graph import Act


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


class PreprocessOps:
    """Mixin of the reader: pending float operations on the graph's input."""

    def _preprocess(self, act: Act, consumer: str) -> Act:
        steps = []
        for op in act.ops:
            if op.affine is None and op.exact != ("relu",):
                raise HlsgenError(
                    f"'{op.name}' ({op.kind}) computes in floating point on the model's input and "
                    f"its output reaches {consumer} without a quantizer; hlsgen evaluates only "
                    "Add/Sub/Mul/Div by constants and ReLU exactly on the input type: add a "
                    "quantizer after it (Brevitas: QuantIdentity)")
            steps.append({"name": op.name, "kind": op.kind, "run": op.run, "affine": op.affine})
        ops = list(act.ops)

        def fn(v):
            y = np.asarray(v, np.float32)
            for op in ops:
                y = op.run(y)
            return y
        name = ops[-1].name
        t = self.node("requant", name, [act.tensor], self.tensors[act.tensor].shape,
                      {"source": " -> ".join(op.kind for op in ops) + " (input preprocessing)"},
                      transient={"fn": fn, "preprocess": steps, "lut": False, "monotonic": True,
                                 "per_channel": any(op.per_channel for op in ops),
                                 "bipolar": False},
                      tname=f"{name}_codes")
        return Act(t, act.shape, np.float64(1.0), None, [], act.perm, act.channels_last)
