"""Float operations that no quantizer follows, proven exact in the lowering
(gen/passes/exact_float.py): the model's input preprocessing (e.g.
(x + 1) / 2, constant Add/Sub/Mul/Div and ReLU on the input), evaluated on
every code of the declared input type, and affine chains on any other
tensor (a residual scale, constant Mul/Add, a float bias, ReLU before the
output, a join or a flatten), proven on the codes the passes bound. Each is
one IR requantization whose function is the framework's own operations;
what is not exact is refused naming the operation."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qonnx.graph import Act
from hlsgen.ir.dyadic import fractions
from hlsgen.ir.graph import PREPROCESSING


def chain_steps(act: Act) -> list | None:
    """The pending float operations of `act` as exact-chain steps
    (gen/passes/exact_float.py): its residual scale, then each operation with
    its affine form (ReLU: None); None when one of them is not affine."""
    steps = []
    scale = np.asarray(act.scale, np.float64)
    if act.ops and not np.all(scale == 1):
        steps.append({"name": act.ops[0].name, "kind": "float scale",
                      "affine": (fractions(scale.reshape(-1)), Fraction(0)),
                      "run": lambda y: (np.asarray(y, np.float64) * scale).astype(np.float32)})
    for op in act.ops:
        if op.exact == ("relu",):
            affine = None
        elif op.exact is not None and op.exact[0] == "rescale":
            affine = (Fraction(1, 2**op.exact[1]) if op.exact[1] >= 0 else Fraction(2**-op.exact[1]),
                      Fraction(0))
        elif op.affine is not None:
            affine = op.affine
        else:
            return None
        steps.append({"name": op.name, "kind": op.kind, "run": op.run, "affine": affine})
    return steps


class PreprocessOps:
    """Mixin of the reader: pending float operations proven exact on the
    codes they start from, in the lowering."""

    def _exact_chain(self, act: Act, steps: list, consumer: str) -> Act:
        """A chain of affine float operations (and ReLU) that no quantizer
        follows: one requantization, which the lowering proves exact on the
        codes it reads and makes an integer multiply-add, or refuses naming
        the step that rounds."""
        t = self._chain_node(act, "exact_chain", steps, f"(exact, before {consumer})")
        self.nodes[-1].transient["consumer"] = consumer
        return t

    def _chain_node(self, act: Act, key: str, steps: list, what: str) -> Act:
        ops = list(act.ops)

        def fn(v):
            y = np.asarray(v, np.float32)
            for s in steps:
                y = s["run"](y)
            return y
        name = ops[-1].name
        t = self.node("requant", name, [act.tensor], self.tensors[act.tensor].shape,
                      {"source": " -> ".join(s["kind"] for s in steps) + f" {what}"},
                      transient={"fn": fn, key: steps, "lut": False, "monotonic": True,
                                 "per_channel": any(op.per_channel for op in ops) or bool(
                                     np.ndim(act.scale) and np.size(act.scale) > 1),
                                 "bipolar": False},
                      tname=f"{name}_codes")
        return Act(t, act.shape, np.float64(1.0), None, [], act.perm, act.channels_last)

    def _preprocess(self, act: Act, consumer: str) -> Act:
        """The model's input preprocessing: the lowering evaluates it on
        every code of the declared input type (input_grid)."""
        for op in act.ops:
            if op.affine is None and op.exact != ("relu",):
                raise HlsgenError(
                    f"'{op.name}' ({op.kind}) computes in floating point on the model's input and "
                    f"its output reaches {consumer} without a quantizer; hlsgen evaluates only "
                    "Add/Sub/Mul/Div by constants and ReLU exactly on the input type: add a "
                    "quantizer after it (Brevitas: QuantIdentity)")
        steps = [{"name": op.name, "kind": op.kind, "run": op.run, "affine": op.affine}
                 for op in act.ops]
        return self._chain_node(act, "preprocess", steps, PREPROCESSING)
