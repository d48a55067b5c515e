"""The golden executor: runs the lowered IR in NumPy integer arithmetic.

It is the specification the generated C++ must meet bit for bit, and the
bridge to the framework (codes * 2**-frac are the framework's values).
"""

from __future__ import annotations

import numpy as np

from gen.intmath import apply_requant
from gen.ir import Graph

# float64 matrix products are exact while every partial sum is below 2**53,
# and much faster than NumPy's int64 products (which do not use BLAS).
_FLOAT64_EXACT = 2**53


def run(graph: Graph, input_codes: np.ndarray, trace: bool = False) -> dict[str, np.ndarray]:
    """Input codes [N, *input_shape] -> codes of every output tensor (or of
    every tensor, with trace=True)."""
    x = np.asarray(input_codes, dtype=np.int64)
    n = x.shape[0]
    values = {graph.inputs[0]: x.reshape((n,) + tuple(graph.tensors[graph.inputs[0]].shape))}
    for node in graph.nodes:
        if node.op == "input":
            continue
        src = values[node.inputs[0]]
        out_shape = (n,) + tuple(graph.tensors[node.outputs[0]].shape)
        if node.op == "dense":
            y = _matmul(src.reshape(n, -1), node.params["weights"], graph.tensors[node.outputs[0]])
            y = y + node.params["bias"]
        elif node.op == "requant":
            y = apply_requant(src, node.attrs["requant"], node.params.get("thresholds"))
        elif node.op == "reshape":
            y = src
        elif node.op == "argmax":
            y = np.argmax(src.reshape(n, -1), axis=1).astype(np.int64)
        else:
            raise ValueError(f"golden executor: unknown op {node.op}")
        values[node.outputs[0]] = y.reshape(out_shape)
    if trace:
        return values
    return {name: values[name] for name in graph.outputs}


def _matmul(x: np.ndarray, w: np.ndarray, acc_tensor) -> np.ndarray:
    bound = max(abs(acc_tensor.qtype.lo), abs(acc_tensor.qtype.hi))
    if bound < _FLOAT64_EXACT:
        return np.rint(x.astype(np.float64) @ w.astype(np.float64)).astype(np.int64)
    return x @ w.astype(np.int64)


def output_values(graph: Graph, codes: np.ndarray) -> np.ndarray:
    """Output codes -> the real values they stand for (float64)."""
    t = graph.tensors[graph.outputs[0]]
    if graph.nodes[-1].op == "argmax":
        return codes.astype(np.float64)
    return codes.astype(np.float64) * 2.0**-t.qtype.frac
