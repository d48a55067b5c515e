"""The IR: a small typed graph of integer operations.

Tensors carry exact types (QType) and the code bounds every value can take.
Nodes are integer operations on codes; their parameters are integer arrays.
A node may hold `transient` data only the frontend has (the framework's own
quantizer function); passes lower it away before the graph is saved.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import numpy as np

from hlsgen.errors import HlsgenError, InternalError
from hlsgen.ir.qtype import QType


@dataclass
class Tensor:
    name: str
    shape: tuple[int, ...]          # without the batch dimension
    qtype: QType | None = None
    lo: int | None = None           # bounds on the codes
    hi: int | None = None

    @property
    def size(self) -> int:
        return int(np.prod(self.shape)) if self.shape else 1

    def to_dict(self) -> dict:
        return {"name": self.name, "shape": list(self.shape),
                "qtype": self.qtype.to_dict() if self.qtype else None,
                "lo": self.lo, "hi": self.hi}

    @staticmethod
    def from_dict(d: dict) -> "Tensor":
        return Tensor(d["name"], tuple(d["shape"]),
                      QType.from_dict(d["qtype"]) if d["qtype"] else None, d["lo"], d["hi"])


# The end of a requant node's "source" when it is the model's input
# preprocessing (frontends write it; gen/passes/cleanup.py folds such nodes).
PREPROCESSING = "(input preprocessing)"


@dataclass
class Node:
    op: str                         # input, dense, requant, reshape, argmax
    name: str                       # the framework's layer name (sanitised later)
    inputs: list[str]
    outputs: list[str]
    attrs: dict[str, Any] = field(default_factory=dict)     # JSON-able
    params: dict[str, np.ndarray] = field(default_factory=dict)  # integer arrays
    transient: dict[str, Any] = field(default_factory=dict)  # never saved


@dataclass
class Graph:
    nodes: list[Node]
    tensors: dict[str, Tensor]
    inputs: list[str]
    outputs: list[str]
    meta: dict[str, Any] = field(default_factory=dict)

    def producer(self, tensor: str) -> Node | None:
        for n in self.nodes:
            if tensor in n.outputs:
                return n
        return None

    def consumers(self, tensor: str) -> list[Node]:
        return [n for n in self.nodes if tensor in n.inputs]

    @property
    def output_is_label(self) -> bool:
        """Whether the (first) output is a class index (an argmax), not values."""
        return self.is_label(self.outputs[0])

    @property
    def output_scores(self) -> str:
        """The tensor whose values the (first) output stands for: the scores a
        label output is chosen from, else the output itself."""
        return self.scores_of(self.outputs[0])

    def is_label(self, output: str) -> bool:
        """Whether `output` is a class index (an argmax), not values."""
        producer = self.producer(output)
        return producer is not None and producer.op == "argmax"

    def scores_of(self, output: str) -> str:
        return self.producer(output).inputs[0] if self.is_label(output) else output

    # -- several inputs and outputs: a frame is every input's (or output's)
    # codes, flattened and concatenated in the order of self.inputs (outputs).
    @property
    def multi_io(self) -> bool:
        return len(self.inputs) > 1 or len(self.outputs) > 1

    @property
    def output_names(self) -> list[str]:
        """The outputs' names in the framework (its output layers; tensor
        names may change in the passes)."""
        return self.meta.get("output_names") or list(self.outputs)

    def sizes(self, names: list[str]) -> list[int]:
        return [self.tensors[t].size for t in names]

    def split(self, names: list[str], rows: np.ndarray) -> dict[str, np.ndarray]:
        """Frames [N, sum of sizes] -> each tensor's [N, *shape], by name."""
        rows = np.asarray(rows)
        rows = rows.reshape(len(rows), -1)
        ends = self.offsets(names)[1:]
        return {t: part.reshape((len(rows),) + tuple(self.tensors[t].shape))
                for t, part in zip(names, np.split(rows, ends, axis=1))}

    def offsets(self, names: list[str]) -> list[int]:
        """Where each tensor's values start in a frame of `names` concatenated."""
        return [int(v) for v in np.cumsum([0] + self.sizes(names))[:-1]]

    def join(self, names: list[str], arrays) -> np.ndarray:
        """Each tensor's [N, ...] (a dict by name, or a list in order) -> frames
        [N, sum of sizes]."""
        parts = [arrays[t] for t in names] if isinstance(arrays, dict) else list(arrays)
        return np.concatenate([np.asarray(a).reshape(len(a), -1) for a in parts], axis=1)

    def input_qtypes(self) -> list[QType]:
        """Each input's type (meta: "input_qtype", and "input_qtypes" when
        there are several inputs)."""
        return [QType.from_dict(d) for d in
                self.meta.get("input_qtypes") or [self.meta["input_qtype"]]]

    def quantize_inputs(self, values) -> np.ndarray:
        """Float inputs (IR layout) -> codes: [N, *shape] for one input; for
        several (a dict by name, a list, or frames), frames [N, sum of sizes]."""
        types = self.input_qtypes()
        if len(self.inputs) == 1:
            return types[0].quantize(values)
        if not isinstance(values, (dict, list, tuple)):
            values = self.split(self.inputs, values)
        parts = [values[t] for t in self.inputs] if isinstance(values, dict) else list(values)
        return self.join(self.inputs, [q.quantize(np.asarray(v, dtype=np.float64))
                                       for q, v in zip(types, parts)])

    def input_values(self, codes: np.ndarray) -> np.ndarray:
        """Input codes -> their values (the inverse of quantize_inputs on its grid)."""
        types = self.input_qtypes()
        if len(self.inputs) == 1:
            return types[0].values(codes)
        parts = self.split(self.inputs, codes)
        return self.join(self.inputs, [q.values(parts[t]) for q, t in zip(types, self.inputs)])

    def remove_node(self, node: Node) -> None:
        """Removes a one-in one-out node, connecting its input to its consumers."""
        src, dst = node.inputs[0], node.outputs[0]
        self.nodes.remove(node)
        for n in self.nodes:
            n.inputs = [src if t == dst else t for t in n.inputs]
        self.outputs = [src if t == dst else t for t in self.outputs]
        del self.tensors[dst]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        arrays = {}
        nodes = []
        for i, n in enumerate(self.nodes):
            if n.transient:   # the passes lower framework data before anything is saved
                raise InternalError(f"node {n.name} still holds framework data when the IR is saved")
            keys = {}
            for k, v in n.params.items():
                key = f"n{i}_{k}"
                arrays[key] = np.asarray(v, dtype=np.int64)
                keys[k] = key
            nodes.append({"op": n.op, "name": n.name, "inputs": n.inputs,
                          "outputs": n.outputs, "attrs": n.attrs, "params": keys})
        doc = {"nodes": nodes, "tensors": [t.to_dict() for t in self.tensors.values()],
               "inputs": self.inputs, "outputs": self.outputs, "meta": self.meta}
        (folder / "graph.json").write_text(json.dumps(doc, indent=1))
        np.savez_compressed(folder / "params.npz", **arrays)

    @staticmethod
    def load(folder: Path) -> "Graph":
        doc = json.loads((folder / "graph.json").read_text())
        arrays = np.load(folder / "params.npz")
        nodes = [Node(d["op"], d["name"], d["inputs"], d["outputs"], d["attrs"],
                      {k: arrays[key] for k, key in d["params"].items()}) for d in doc["nodes"]]
        tensors = {d["name"]: Tensor.from_dict(d) for d in doc["tensors"]}
        return Graph(nodes, tensors, doc["inputs"], doc["outputs"], doc["meta"])


def named_inputs(graph: Graph, data, to_ir_layout=lambda x, tensor: x) -> dict[str, np.ndarray]:
    """Float inputs of a model with several inputs, by input name (IR layout),
    from an .npz path, a dict by name (an opened .npz too) or a list in the
    model's input order; to_ir_layout(array, input name) turns a framework's
    layout into the IR's."""
    names = ", ".join(graph.inputs)
    if isinstance(data, (str, Path)):
        try:
            with np.load(data) as z:
                data = {k: z[k] for k in z.files}
        except (OSError, ValueError, AttributeError) as e:
            raise HlsgenError(f"inputs '{data}' are not an .npz with one array per input "
                              f"({names}): {e}")
    if hasattr(data, "files"):   # an opened .npz
        data = {k: data[k] for k in data.files}
    if isinstance(data, (list, tuple)):
        if len(data) != len(graph.inputs):
            raise HlsgenError(f"{len(data)} input arrays given; the model has {len(graph.inputs)} "
                              f"inputs ({names}); give one array per input, in that order")
        data = dict(zip(graph.inputs, data))
    if not isinstance(data, dict) or set(data) != set(graph.inputs):
        got = ", ".join(data) if isinstance(data, dict) else type(data).__name__
        raise HlsgenError(f"the model's inputs are {names}; give one array for each, by name "
                          f"(a dict or an .npz; got {got})")
    out = {}
    for t in graph.inputs:
        x = np.asarray(to_ir_layout(np.asarray(data[t]), t), dtype=np.float64)
        shape = tuple(graph.tensors[t].shape)
        if x.shape[1:] != shape:
            raise HlsgenError(f"input '{t}' has shape {x.shape}; the model takes (N, "
                              f"{', '.join(map(str, shape))})")
        out[t] = x
    if len({len(x) for x in out.values()}) != 1:
        raise HlsgenError(f"the input arrays ({names}) hold different numbers of frames; give "
                          "as many of each")
    return out
