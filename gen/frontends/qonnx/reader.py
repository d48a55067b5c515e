"""QONNX frontend: a QONNX graph (Brevitas export_qonnx, or any QONNX
producer) -> IR.

Every activation is carried as integer codes whose real value is
code * 2**-frac * scale: `frac` is the binary point the IR knows, `scale` a
residual float factor (1 where the quantizer's scale is a power of two, else
in (0.5, 1], per tensor or, after per-channel weight scales, per channel).
Weights enter as the Quant node's own integer codes; their scale joins the
accumulator's residual. Float operations between an integer operation and
the next Quant (the residual scale, a float bias, batch-norm, the average's
division, ReLU, clipping, constant Mul/Div/Add/Sub) are collected and
evaluated, as the framework computes them, inside that Quant's
requantization function, from which the requantization pass derives exact
integer thresholds or a shift. Float operations that no quantizer follows
become one requantization the lowering proves exact or refuses
(preprocess.py, gen/passes/exact_float.py): on the model's input (e.g.
(x + 1) / 2) on every code of the declared input type, elsewhere on the codes
the passes bound; at the output, those with trained constants run on the host
(host_tail).

PyTorch tensors are channels-first, the IR channels-last: convolution
weights, flattened features and the data crossing the graph boundary are
reordered here.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qonnx.float_ops import FloatOp, OnnxOps, affine_form, channels_layout
from hlsgen.frontends.qonnx.env import import_qonnx, lower_ir_version
from hlsgen.frontends.qonnx.graph import (NAME_KEY, SAME_INPUTS_KEY, Act, QConst, attrs_of,
                                          fresh, ir_shape, layer_name, node_name, po2_shift)
from hlsgen.frontends.qonnx.layers import LayerOps
from hlsgen.frontends.qonnx.preprocess import PreprocessOps, chain_steps
from hlsgen.frontends.qonnx.quant import QuantOps
from hlsgen.ir.dyadic import odd_form, short
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.ir.host_tail import tabulate
from hlsgen.passes.manager import is_lowered

SUPPORTED_OPS = ["Quant", "BipolarQuant", "Trunc", "Conv (groups 1 or depthwise)", "Gemm", "MatMul",
                 "BatchNormalization", "Relu", "Clip", "Sigmoid/Tanh/HardSigmoid/HardSwish/Elu/"
                 "LeakyRelu/Softplus before a Quant", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "ReduceMean (spatial)", "Flatten", "Reshape",
                 "Transpose (NCHW <-> NHWC: at the boundary, in cancelling pairs, before a flatten)",
                 "Add", "Mul/Div/Sub by constants", "Pad", "Concat (channels)", "Identity",
                 "ConvTranspose (2-D)", "Resize (nearest, whole factors)",
                 "Dropout", "a trailing Softmax"]


# What may read channels-last data (a Transpose to NHWC inside the graph):
# operations that do not care about the layout, and the layout changes.
ON_CHANNELS_LAST = {"Transpose", "Reshape", "Flatten", "Squeeze", "Unsqueeze", "Relu", "Clip",
                    "Trunc", "Sigmoid", "Tanh", "HardSigmoid", "HardSwish", "Elu", "LeakyRelu",
                    "Softplus", "Add", "Sub", "Mul", "Div"}


# Output float operations whose constants' odd integers are this short run
# on the chip as exact integer arithmetic; longer ones on the host.
SHORT_CONSTANT_BITS = 12


class QonnxModel:
    """A QONNX graph and how to ask its framework for the values the design
    computes (see gen/frontends/__init__.py). `module` is the Brevitas model
    when hlsgen has it (predict then runs PyTorch); else the qonnx executor is
    the reference."""

    def __init__(self, wrapper, path: Path, framework: str = "qonnx", ops=None, module=None):
        self.model = wrapper
        self.path = Path(path)
        self.framework = framework
        self.module = module
        self.ops = ops or OnnxOps(opset_of(wrapper))
        self.softmax_dropped = False
        self.graph: Graph | None = None
        self.boundary: dict = {}      # how data crosses the graph boundary (see _Reader)
        self.quant_map: dict = {}     # IR requant node -> (its ONNX node, flattening perm)
        # Float operations after the last integer tensor that run on the host:
        # (residual scale, FloatOps, the IR layer before them), see host_tail.
        self.tail: tuple | None = None
        self.tails: list = []         # several outputs: each one's tail (or None), in order

    def to_ir(self, output_mode: str = "logits") -> Graph:
        self.graph = _Reader(self).read(output_mode)
        return self.graph

    def host_tail(self, graph: Graph) -> dict | None:
        """The host tail's table (hlsgen/ir/host_tail.py): the framework's own
        float operations on every code the lowered output can hold."""
        if self.tail is None or graph.meta.get("output_chain") == "chip":
            return None   # no tail, or the lowering proved it exact on the chip
        return self._tabulated(graph, self.tail, graph.outputs[0])

    def host_tails(self, graph: Graph) -> list | None:
        """Several outputs: each one's host tail table (or None), in order."""
        if not any(self.tails):
            return None
        return [self._tabulated(graph, tail, out) if tail else None
                for tail, out in zip(self.tails, graph.outputs)]

    def _tabulated(self, graph: Graph, tail: tuple, output: str) -> dict:
        scale, ops, where = tail
        t = graph.tensors[output]
        frac = t.qtype.frac

        def framework(codes):   # value = code * 2**-frac * scale in float32, then the ops
            y = (codes.astype(np.float64) * 2.0 ** -frac * np.asarray(scale, np.float64))
            y = y.astype(np.float32)
            for name, group in _by_layer(ops):
                module = self._module(name) if name != where else None
                if module is None:
                    for op in group:
                        y = op.run(y)
                else:   # the framework's own module (e.g. TensorNorm), not its exported nodes
                    y = _run_module(module, y)
            return y
        return tabulate(framework, t.lo, t.hi, t.shape[-1] if t.shape else 1,
                        [f"{op.name} ({op.kind})" for op in ops] or ["a per-channel float scale"],
                        f"layer '{where}'")

    def _module(self, path: str):
        """The Brevitas model's submodule `path`, when hlsgen has the model."""
        if self.module is None:
            return None
        try:
            return self.module.get_submodule(path)
        except AttributeError:
            return None

    def input_to_ir(self, x, tensor: str | None = None):
        from hlsgen.frontends.qonnx.predict import input_to_ir
        return input_to_ir(self, x, tensor)

    def predict(self, x: np.ndarray, gold: np.ndarray | None = None) -> np.ndarray:
        """The framework's outputs; once the graph is lowered, also records in
        its meta how many output codes differ from the golden executor's, and
        why (compare.explain; gold: the golden output values, when known)."""
        from hlsgen.frontends.qonnx.compare import explain
        from hlsgen.frontends.qonnx.predict import predict
        y = predict(self, x)
        # (Several outputs: counted by the flow, not explained layer by layer yet.)
        if self.graph is not None and is_lowered(self.graph) and not self.graph.multi_io:
            self.graph.meta["framework_differences"] = explain(self, x, y, gold)
        return y.astype(np.float32)


def _bias_on_grid(act: Act, op: FloatOp) -> bool:
    """Whether a layer's quantized bias has the accumulator's scale (Int32Bias:
    input scale x weight scale), so that it adds exactly as integer codes."""
    qc, _ = op.bias
    s_b = np.broadcast_to(np.asarray(qc.scale, np.float64).reshape(-1), act.scale.shape or (1,))
    unit = None if act.frac is None else act.scale * 2.0**-act.frac
    return unit is not None and bool(np.all(np.abs(s_b / unit - 1) < 2.0**-20))


def _foldable_bias(act: Act) -> bool:
    """Whether the only pending operation is a layer's bias on the
    accumulator's grid (it folds into the layer at the output)."""
    return len(act.ops) == 1 and act.ops[0].bias is not None and _bias_on_grid(act, act.ops[0])


def _by_layer(ops: list) -> list[tuple[str, list]]:
    """Consecutive float operations grouped by the layer they come from."""
    groups: list[tuple[str, list]] = []
    for op in ops:
        if groups and groups[-1][0] == op.name:
            groups[-1][1].append(op)
        else:
            groups.append((op.name, [op]))
    return groups


def _run_module(module, y: np.ndarray) -> np.ndarray:
    import torch
    with torch.no_grad():
        out = module(torch.from_numpy(np.ascontiguousarray(y, dtype=np.float32)))
    return np.asarray(getattr(out, "value", out).detach().numpy(), dtype=np.float32)


def opset_of(wrapper) -> int:
    return next((o.version for o in wrapper.model.opset_import if o.domain in ("", "ai.onnx")), 13)


def load_qonnx_file(path: Path) -> QonnxModel:
    path = Path(path)
    if not path.is_file():
        raise HlsgenError(f"model file '{path}' does not exist; give the path of a QONNX .onnx file")
    return QonnxModel(clean_model(path), path)


def clean_model(source):
    """A ModelWrapper with shapes inferred, constants folded (Quant nodes kept)
    and unique node names, from a file or a ModelProto."""
    import_qonnx()
    import onnx
    from qonnx.core.modelwrapper import ModelWrapper
    from qonnx.util.cleanup import cleanup_model
    try:
        proto = onnx.load(str(source)) if isinstance(source, (str, Path)) else source
    except Exception as e:  # onnx raises DecodeError and others
        raise HlsgenError(f"cannot read '{source}' as an ONNX model ({str(e)[:120] or type(e).__name__}); "
                          "export it with brevitas.export.export_qonnx")
    lower_ir_version(proto)
    _fix_batch(proto)
    # qonnx renames the graph's inputs and outputs (global_in, ...): the user's names.
    inits = {t.name for t in proto.graph.initializer}
    io_names = ([vi.name for vi in proto.graph.input if vi.name not in inits],
                [vi.name for vi in proto.graph.output])
    for node in proto.graph.node:   # qonnx renames nodes; messages use the user's names
        if node.name:
            node.metadata_props.add(key=NAME_KEY, value=node.name)
        # qonnx renames only the first of a node's repeated inputs (Mul(x, x)):
        # which inputs repeat which is noted here and restored after.
        same = [f"{j}:{list(node.input).index(t)}" for j, t in enumerate(node.input)
                if t and list(node.input).index(t) != j]
        if same:
            node.metadata_props.add(key=SAME_INPUTS_KEY, value=",".join(same))
    try:
        model = cleanup_model(ModelWrapper(proto))
    except Exception as e:  # qonnx's transformations raise many types
        raise HlsgenError(f"qonnx cannot clean up '{getattr(source, 'name', source)}' "
                          f"({str(e).splitlines()[0][:160] if str(e) else type(e).__name__}); "
                          "export the model with brevitas.export.export_qonnx")
    for node in model.graph.node:
        for p in node.metadata_props:
            if p.key == SAME_INPUTS_KEY:
                for pair in p.value.split(","):
                    j, i = (int(v) for v in pair.split(":"))
                    node.input[j] = node.input[i]
    model.hlsgen_io_names = io_names
    return model


def _fix_batch(proto) -> None:
    """A symbolic batch dimension becomes 1 (the design processes one frame)."""
    for vi in list(proto.graph.input) + list(proto.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].dim_value:
            dims[0].dim_value = 1


class _Reader(QuantOps, LayerOps, PreprocessOps):
    def __init__(self, qm: QonnxModel):
        self.qm = qm
        self.model = qm.model
        self.vals: dict = {}          # ONNX tensor -> Act | QConst | np.ndarray
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.names: set[str] = set()
        qm.quant_map = {}
        qm.tails = []

    # -- helpers ----------------------------------------------------------------
    def node(self, op, name, inputs, shape, attrs=None, params=None, transient=None, tname=None):
        """Appends an IR node (names made unique); returns its output tensor."""
        name = fresh(name, self.names)
        self.names.add(name)
        tname = fresh(tname or name, self.tensors)
        self.tensors[tname] = Tensor(tname, tuple(int(d) for d in shape))
        self.nodes.append(Node(op, name, list(inputs), [tname], attrs or {}, params or {},
                               transient or {}))
        return tname

    def where(self, node) -> str:
        name, lname = node_name(node), layer_name(node)
        return f"node '{name}'" + (f" (layer '{lname}')" if lname != name else "")

    def value(self, name: str):
        if name in self.vals:
            return self.vals[name]
        init = self.model.get_initializer(name)
        if init is not None:
            return np.asarray(init)
        raise HlsgenError(f"tensor '{name}' has no producer; the graph is not a valid QONNX model")

    def const(self, node, i: int, what: str) -> np.ndarray:
        if i >= len(node.input) or not node.input[i]:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}) has no {what} (input {i}); "
                              "export the model with brevitas.export.export_qonnx")
        v = self.value(node.input[i])
        if isinstance(v, QConst):
            return v.values
        if isinstance(v, Act):
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): its {what} is computed at run "
                              "time; hlsgen needs it constant")
        return v

    def act(self, node, i: int = 0) -> Act:
        v = self.value(node.input[i])
        if not isinstance(v, Act):
            raise HlsgenError(f"{self.where(node)} ({node.op_type}) computes on constants only; "
                              "fold them before export")
        if v.channels_last and node.op_type not in ON_CHANNELS_LAST:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}) reads channels-last (NHWC) data "
                              "made by a Transpose inside the graph; hlsgen reads such data only "
                              "into a flatten, an element-wise operation or the inverse Transpose: "
                              "export the model channels-first")
        return v

    def channel_const(self, c, act: Act, node) -> np.ndarray:
        """A constant operand laid out per channel ([C, 1, ...] or a scalar);
        one that varies over positions is refused."""
        c = np.asarray(c, dtype=np.float32)
        if c.size == 1:
            return c.reshape(())
        if act.channels_last:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): a constant of shape {c.shape} "
                              "on channels-last (NHWC) data made by a Transpose inside the graph is "
                              "not supported; export the model channels-first")
        try:
            full = np.broadcast_to(c, (1,) + tuple(act.shape)) if act.perm is None else None
        except ValueError:
            full = None
        if full is None:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): a constant of shape {c.shape} "
                              "is not supported here; use a scalar or one value per channel")
        per = full.reshape(full.shape[1], -1)
        if not np.all(per == per[:, :1]):
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): its constant varies over "
                              "positions; hlsgen supports scalars or one value per channel")
        return per[:, 0].reshape((-1,) + (1,) * (len(act.shape) - 1))

    # -- reading ----------------------------------------------------------------
    def read(self, output_mode: str) -> Graph:
        g = self.model.graph
        multi = len(g.input) > 1 or len(g.output) > 1
        if multi and output_mode == "argmax":
            raise HlsgenError(f"model '{self.qm.path.name}' has {len(g.output)} outputs; --output "
                              "argmax selects one class index; use --output logits (the default)")
        if len(g.input) == 1:
            self._input(g.input[0].name)
        else:   # several inputs: IR tensors named as the user named the graph's inputs
            given = getattr(self.model, "hlsgen_io_names", ([], []))[0]
            given = given if len(given) == len(g.input) else [vi.name for vi in g.input]
            for vi, name in zip(g.input, given):
                self._input(vi.name, fresh(name, self.tensors))
        last = g.node[-1] if len(g.node) else None
        for node in g.node:
            handler = getattr(self, "_" + node.op_type, None)
            if handler is None or (node.op_type == "Softmax" and node is not last):
                raise HlsgenError(f"{self.where(node)}: operator {node.op_type} is not supported; "
                                  f"supported: {', '.join(SUPPORTED_OPS)}")
            out = handler(node)
            if out is not None:
                self.vals[node.output[0]] = out
        if multi:
            given = getattr(self.model, "hlsgen_io_names", ([], []))[1]
            return self._several_outputs([vo.name for vo in g.output],
                                         given if len(given) == len(g.output) else None)
        final = self.value(g.output[0].name)
        if not isinstance(final, Act):
            raise HlsgenError("the model's output does not depend on its input; export the "
                              "model with its input connected (brevitas.export.export_qonnx)")
        final = self._exact_sum(final, "the model's output")
        if output_mode == "argmax" and (final.ops or final.scale.ndim) and self._order_preserving(final):
            # Label select ignores a final transform that is the same on every
            # class and strictly increasing (BNN-PYNQ's TensorNorm, a positive
            # scale): the class index of the codes is the framework's.
            self.qm.boundary["dropped_before_label_select"] = [op.name for op in final.ops]
            final = Act(final.tensor, final.shape, np.float64(1.0), final.frac, [], final.perm,
                        final.channels_last)
        # (Float operations after no layer at all are no tail: nothing would
        # run on the chip.)
        if output_mode == "logits" and self._computes() and self._needs_host(final):
            if self._exact_on_chip(final):
                # Integer on the chip if the lowering proves it exact on the
                # codes it bounds; the host otherwise (when it can take it).
                tail = self._host_tail_of(final) if self._host_can_take(final) else None
                final = self.resolve(final, "the model's output")
                if tail is not None:
                    self.nodes[-1].transient["host_fallback"] = True
                    self.qm.tail = tail
            else:
                final = self._to_host(final)
        final = self.resolve(final, "the model's output")
        if final.channels_last:     # a Transpose to NHWC before the output: the IR's order
            self.qm.boundary["output_channels_last"] = True
        if final.scale.ndim and not np.all(final.scale == final.scale.flat[0]):
            raise HlsgenError(f"the model's output has per-channel float scales (from "
                              f"'{self.nodes[-1].name}'); end the model with a quantizer, e.g. "
                              "a QuantIdentity")
        out = final.tensor
        self.qm.boundary.update(out_scale=float(final.scale.flat[0]), out_perm=final.perm,
                                out_shape=tuple(final.shape))
        if output_mode == "argmax":
            out = self.node("argmax", "label_select", [out], (1,), tname="label")
        b = self.qm.boundary
        meta = {"framework": self.qm.framework, "source": self.qm.path.name,
                # For the project's documentation and driver: the framework's data
                # layout, and the float factor of the output (value = code * 2**-frac * it).
                "framework_layout": {
                    "input": "channels_last" if b["input_channels_last"] or len(b["input_shape"]) < 2
                    else "channels_first",
                    "output": "channels_last" if b["output_channels_last"] or len(final.shape) < 2
                    else "channels_first"},
                "output_scale": b["out_scale"]}
        return Graph(self.nodes, self.tensors, ["input"], [out], meta)

    def _input(self, name: str, tname: str = "input") -> None:
        shape = self.model.get_tensor_shape(name)
        what = "the model's input" if tname == "input" else f"input '{tname}'"
        if not shape or shape[0] != 1:
            raise HlsgenError(f"{what} has shape {shape}; hlsgen needs a batch "
                              "dimension of 1 first, e.g. (1, C, H, W)")
        shape = tuple(int(d) for d in shape[1:])
        consumers = self.model.find_consumers(name)
        # An NHWC input transposed to NCHW at the boundary is channels-last already.
        nhwc = (len(consumers) == 1 and consumers[0].op_type == "Transpose" and len(shape) > 1
                and list(attrs_of(consumers[0])["perm"]) == [0, len(shape)] + list(range(1, len(shape))))
        if tname != "input" and nhwc:
            raise HlsgenError(f"input '{tname}' is channels-last (NHWC) transposed at the graph's "
                              "boundary; with several inputs, export every input channels-first")
        entry = {"input_shape": shape, "input_channels_last": nhwc, "tensor": tname}
        if not self.qm.boundary:
            self.qm.boundary = {"input_shape": shape, "input_channels_last": nhwc,
                                "output_channels_last": False}
        if tname != "input":   # several inputs: each input's own entry
            self.qm.boundary.setdefault("inputs", []).append(entry)
        self.tensors[tname] = Tensor(tname, shape if nhwc else ir_shape(shape))
        self.nodes.append(Node("input", tname, [], [tname]))
        self.names.add(tname)
        self.vals[name] = Act(tname, shape, np.float64(1.0), None)

    def _several_outputs(self, onnx_names: list[str], given: list[str] | None) -> Graph:
        """The graph's outputs, each ending in codes on the chip (a host float
        tail per output is not read yet), and the boundary of each. given:
        the user's names of the outputs (qonnx renames them)."""
        names = given or onnx_names
        outs, entries = [], []
        for onnx_name, name in zip(onnx_names, names):
            final = self.value(onnx_name)
            if not isinstance(final, Act):
                raise HlsgenError(f"the model's output does not depend on its input (output "
                                  f"'{name}'); export the model with its inputs connected")
            final = self._exact_sum(final, f"output '{name}'")
            self.qm.tail = None
            if self._computes() and self._needs_host(final) and not self._exact_on_chip(final):
                final = self._to_host(final)   # its own host tail (a flat output), or refused
            self.qm.tails.append(self.qm.tail)
            final = self.resolve(final, "the model's output")
            if final.scale.ndim and not np.all(final.scale == final.scale.flat[0]):
                raise HlsgenError(f"the model's output has per-channel float scales (output "
                                  f"'{name}'); end it with a quantizer, e.g. a QuantIdentity")
            if final.tensor in outs or self.tensors.get(final.tensor) is None or any(
                    n.op == "input" and final.tensor in n.outputs for n in self.nodes):
                raise HlsgenError(f"output '{name}' repeats another output or an input; give each "
                                  "output its own layer")
            outs.append(final.tensor)
            entries.append({"out_scale": float(final.scale.flat[0]), "out_perm": final.perm,
                            "out_shape": tuple(final.shape),
                            "output_channels_last": bool(final.channels_last)})
        self.qm.tail = None   # each output's tail is in qm.tails
        b = self.qm.boundary
        b.update(outputs=entries, **entries[0])
        ins = b.get("inputs") or [dict(b, tensor="input")]

        def layout(last, shape):
            return "channels_last" if last or len(shape) < 2 else "channels_first"
        meta = {"framework": self.qm.framework, "source": self.qm.path.name,
                "framework_layout": {
                    "input": layout(ins[0]["input_channels_last"], ins[0]["input_shape"]),
                    "output": layout(entries[0]["output_channels_last"], entries[0]["out_shape"]),
                    "inputs": {e["tensor"]: layout(e["input_channels_last"], e["input_shape"])
                               for e in ins}},
                "output_scale": entries[0]["out_scale"],
                "output_scales": [e["out_scale"] for e in entries],
                "output_names": list(names)}
        return Graph(self.nodes, self.tensors, [e["tensor"] for e in ins], outs, meta)

    def _computes(self) -> bool:
        """Whether the graph read so far has a layer (not only quantizers)."""
        return any(n.op in ("dense", "conv", "pool", "add", "concat") for n in self.nodes)

    def _needs_host(self, act: Act) -> bool:
        """Whether float operations (or per-channel float scales) after the
        last integer tensor cannot be made integer: they run on the host. A
        single bias on the accumulator's grid folds into its layer instead."""
        foldable = _foldable_bias(act)
        uneven = act.scale.ndim and not np.all(act.scale == act.scale.flat[0])
        if not all(op.framework for op in act.ops):
            return False   # not the framework's own function: no exact table of it
        return bool(uneven or (act.ops and not foldable and
                               any(op.exact is None for op in act.ops)))

    @staticmethod
    def _exact_on_chip(act: Act) -> bool:
        """Whether the output's float operations are a chain of constants
        short enough (0.75, 2, a bias on the grid) that the lowering can
        prove them exact and make them integer on the chip; trained
        constants (a batch-norm's) are 24-bit and stay on the host."""
        steps = chain_steps(act)
        return bool(act.ops) and steps is not None and all(
            short(np.asarray(v, np.float64), SHORT_CONSTANT_BITS)
            for s in steps if s["affine"] is not None for v in s["affine"])

    @staticmethod
    def _host_can_take(act: Act) -> bool:
        """The host runs float operations only on a flat output."""
        return len(act.shape) == 1 and act.perm is None

    def _host_tail_of(self, act: Act) -> tuple:
        """(residual scale, float operations, the IR layer before them)."""
        where = (self.nodes[-1].name if len(self.model.graph.output) < 2 else
                 next(n.name for n in reversed(self.nodes) if act.tensor in n.outputs))
        return np.asarray(act.scale, np.float32), list(act.ops), where

    def _to_host(self, act: Act) -> Act:
        """The output's float tail moved to the host: the IP outputs the codes."""
        names = ", ".join(f"'{op.name}' ({op.kind})" for op in act.ops) or "a per-channel scale"
        if not self._host_can_take(act):
            raise HlsgenError(f"{names} computes in floating point on the model's output image "
                              f"of shape {tuple(act.shape)}; the host runs float operations only "
                              "on a flat output: end the model with a quantizer or a flatten")
        self.qm.tail = self._host_tail_of(act)
        return Act(act.tensor, act.shape, np.float64(1.0), act.frac, [], act.perm,
                   act.channels_last)

    def _order_preserving(self, act: Act) -> bool:
        """Whether the pending float chain (scale, then ops) is one strictly
        increasing function applied alike to every channel, probed on a
        range of accumulator values."""
        c = self.tensors[act.tensor].shape[-1] if self.tensors[act.tensor].shape else 1
        v = np.repeat(np.linspace(-4096.0, 4096.0, 8193)[:, None], c, 1).astype(np.float32)
        y = (v.astype(np.float64) * np.asarray(act.scale, np.float64)).astype(np.float32)
        try:
            for op in act.ops:
                y = op.run(y)
        except Exception:  # an op that cannot run on probes: not provably order-preserving
            return False
        y = np.asarray(y, np.float64).reshape(v.shape)
        return bool(np.all(y == y[:, :1]) and np.all(np.diff(y[:, 0]) > 0))

    def resolve(self, act: Act, consumer: str) -> Act:
        """The codes a consumer other than a quantizer reads: pending float
        operations must be exact on codes (ReLU, power-of-two scaling)."""
        act = self._exact_sum(act, consumer)
        if not act.ops:
            return act
        if act.tensor == "input" and any(op.exact is None for op in act.ops):
            return self._preprocess(act, consumer)   # exact on the input type, or refused there
        if any(op.exact is None for op in act.ops) and any(
                e["tensor"] == act.tensor for e in self.qm.boundary.get("inputs", [])):
            raise HlsgenError(f"'{act.ops[0].name}' ({act.ops[0].kind}) computes in floating point "
                              f"on input '{act.tensor}' before {consumer}; with several inputs, "
                              "quantize each input first (a Quant right after it)")
        foldable = consumer == "the model's output" and _foldable_bias(act)
        steps = chain_steps(act)
        if not foldable and steps is not None and any(op.exact is None for op in act.ops):
            return self._exact_chain(act, steps, consumer)   # proven in the lowering, or refused
        t, frac = act.tensor, act.frac
        for i, op in enumerate(act.ops):
            if foldable:
                self._fold_bias(act, op)
                continue
            if op.exact is None:
                raise HlsgenError(
                    f"'{op.name}' ({op.kind}) computes in floating point and its output reaches "
                    f"{consumer} without a quantizer; add a quantizer after it (Brevitas: "
                    "QuantIdentity, QuantReLU instead of nn.ReLU, or bias_quant=Int32Bias for a "
                    "float bias)" + ("; or use --output argmax when it only scales the logits"
                                     if consumer == "the model's output" else ""))
            shape = self.tensors[t].shape
            if op.exact[0] == "relu":
                t = self.node("requant", op.name, [t], shape, {"source": "relu"},
                              transient={"relu": True}, tname=f"{op.name}_relu")
            else:
                t = self.node("rescale", op.name, [t], shape, {"shift": op.exact[1]},
                              tname=f"{op.name}_rescaled")
                frac = None if frac is None else frac + op.exact[1]
        return Act(t, act.shape, act.scale, frac, [], act.perm, act.channels_last)

    def _exact_sum(self, act: Act, consumer: str) -> Act:
        """A scaled add's sum read by something other than a quantizer: the
        lowering requires the framework's float32 products and sum to be
        exact (every value within float32's significand), else refuses."""
        if not act.ops or act.ops[0].join is None:
            return act
        act.ops[0].join.attrs["exact_sum_for"] = consumer
        return Act(act.tensor, act.shape, act.scale, act.frac, act.ops[1:], act.perm,
                   act.channels_last)

    def _fold_bias(self, act: Act, op: FloatOp) -> None:
        """The last layer's quantized bias, when its scale is the accumulator's
        (Int32Bias: input scale x weight scale), as integer codes in the
        accumulator: the exact sum the framework's float32 addition rounds
        (resolve checked _bias_on_grid)."""
        qc, ir_node = op.bias
        ir_node.params["bias"] = qc.codes.reshape(-1).astype(np.int64)
        ir_node.attrs["b_frac"] = act.frac

    # -- float operations ------------------------------------------------------------
    def _pending(self, node, x: Act, consts: list, kind_inputs: list, nondecreasing: bool,
                 exact=None, affine=None) -> Act:
        fn = self.qm.ops.node_fn(node, kind_inputs, channels_layout(len(x.shape)))
        per_channel = any(np.ndim(c) > 0 and np.size(c) > 1 for c in consts)
        op = FloatOp(layer_name(node), node.op_type, fn, per_channel, nondecreasing, exact,
                     affine=affine)
        return Act(x.tensor, x.shape, x.scale, x.frac, x.ops + [op], x.perm, x.channels_last)

    def _smooth(self, node):
        """A smooth activation before a quantizer: the requantization tabulates
        the framework's own outputs (or thresholds them, being monotonic)."""
        x = self.act(node)
        act = self._pending(node, x, [], [None], node.op_type != "HardSwish")
        act.ops[-1].smooth = True
        act.ops[-1].monotonic = node.op_type != "HardSwish"
        return act

    _Sigmoid = _Tanh = _HardSigmoid = _HardSwish = _Elu = _LeakyRelu = _Softplus = _smooth

    def _Relu(self, node):
        x = self.act(node)
        return self._pending(node, x, [], [None], True, exact=("relu",))

    def _Clip(self, node):
        x = self.act(node)
        ins = [None] + [self.const(node, i, "bound").astype(np.float32) if node.input[i] else ""
                        for i in range(1, len(node.input))]
        return self._pending(node, x, [], ins, True)

    def _BatchNormalization(self, node):
        x = self.act(node)
        if len(x.shape) < 1 or x.perm is not None:
            raise HlsgenError(f"{self.where(node)}: batch-norm needs a channel axis; apply it "
                              "to (N, C) or (N, C, ...) data")
        p = [self.const(node, i, "parameter").astype(np.float32) for i in range(1, 5)]
        return self._pending(node, x, p, [None] + p, bool(np.all(p[0] >= 0)))

    def _const_op(self, node, nondecreasing, exact=None) -> Act:
        """An activation combined with a constant (either operand order): a
        pending float operation. nondecreasing(c, var_first) and
        exact(c, var_first) describe it for that constant."""
        a, b = self.value(node.input[0]), self.value(node.input[1])
        if isinstance(a, Act) == isinstance(b, Act):
            raise HlsgenError(f"{self.where(node)}: {node.op_type} of two activations is not "
                              "supported; hlsgen combines an activation with a constant")
        first = isinstance(a, Act)
        x, c = (a, b) if first else (b, a)
        c = self.channel_const(c.values if isinstance(c, QConst) else c, x, node)
        return self._pending(node, x, [c], [None, c] if first else [c, None],
                             nondecreasing(c, first), exact(c, first) if exact else None,
                             affine_form(node.op_type, c, first))

    def _Add(self, node):
        if all(isinstance(self.value(i), Act) for i in node.input):
            return self._merge(node, "add")
        return self._layer_bias(node) or self._const_op(node, lambda c, first: True)

    def _Sub(self, node):
        return self._const_op(node, lambda c, first: first)

    def _Mul(self, node):
        return self._const_op(node, lambda c, first: bool(np.all(c >= 0)),
                              lambda c, first: po2_shift(c, -1))

    def _Div(self, node):
        if not isinstance(self.value(node.input[0]), Act):
            raise HlsgenError(f"{self.where(node)}: only division by a constant is supported; "
                              "divide by a fixed value, or quantize the result")
        return self._const_op(node, lambda c, first: bool(np.all(c > 0)),
                              lambda c, first: po2_shift(c, 1))

    # -- structure ----------------------------------------------------------------------
    def _merge(self, node, op: str) -> Act:
        acts = [self.resolve(self.value(i), f"'{layer_name(node)}'") for i in node.input]
        if len(acts) != 2:
            raise HlsgenError(f"{self.where(node)}: {op} of {len(acts)} tensors; hlsgen takes "
                              "two: chain them pairwise")
        s0 = acts[0].scale
        scaled = not all(np.array_equal(a.scale, s0) for a in acts)
        if any(a.perm is not None for a in acts):
            raise HlsgenError(f"{self.where(node)}: {op} of flattened image data is not "
                              "supported; join the images before flattening")
        if any(a.channels_last for a in acts):
            raise HlsgenError(f"{self.where(node)}: {op} of channels-last (NHWC) data made by a "
                              "Transpose inside the graph is not supported; export the model "
                              "channels-first")
        fracs = [a.frac for a in acts]
        frac = None if None in fracs else max(fracs)
        if op == "add":
            if acts[0].shape != acts[1].shape:
                raise HlsgenError(f"{self.where(node)}: adds tensors of shapes "
                                  f"{acts[0].shape} and {acts[1].shape}; they must be equal")
            shape = acts[0].shape
        else:
            shape = (acts[0].shape[0] + acts[1].shape[0],) + tuple(acts[0].shape[1:])
        name = layer_name(node)
        if scaled and op == "add":
            return self._scaled_add(node, acts, shape)
        if scaled:   # channels of different scales side by side: a per-channel scale
            s0 = np.concatenate([np.broadcast_to(np.ravel(np.asarray(a.scale, np.float64)),
                                                 (a.shape[0],)) for a in acts])
        t = self.node(op, name, [a.tensor for a in acts], ir_shape(shape),
                      tname=f"{name}_sum" if op == "add" else None)
        return Act(t, shape, s0, frac)

    def _scaled_add(self, node, acts: list, shape: tuple) -> Act:
        """Branches of different float scales: each branch's codes times the
        odd integer of its scale's dyadic form m * 2**-d (exact), summed on
        the finer binary point (gen/passes/lower.py aligns them), so the sum
        has scale 1. The framework's float32 sum of the two rounded products
        is left pending: the quantizer after it evaluates the framework's
        function on the exact sum; anything else reading it (_exact_sum)
        needs the lowering to prove the float32 products and sum exact."""
        muls, dfracs = [], []
        for a in acts:
            s = np.ravel(np.asarray(a.scale, np.float64))
            if not np.all(s == s[0]):
                raise HlsgenError(f"{self.where(node)} (Add): an input has per-channel float "
                                  "scales and the other a different scale; put a quantizer "
                                  "(QuantIdentity) on each branch before the add")
            m, d = odd_form(s[0])
            muls.append(m << max(0, -d))   # an integer scale: its own multiplier
            dfracs.append(max(0, d))
        name = layer_name(node)
        t = self.node("add", name, [a.tensor for a in acts], ir_shape(shape),
                      {"multipliers": muls, "multiplier_fracs": dfracs}, tname=f"{name}_sum")
        fracs = [a.frac for a in acts]
        frac = None if None in fracs else max(f + d for f, d in zip(fracs, dfracs))
        rounding = FloatOp(name, "Add", lambda v: np.asarray(v, np.float32), False, True,
                           framework=False, join=self.nodes[-1])
        return Act(t, shape, np.float64(1.0), frac, [rounding])

    def _Concat(self, node):
        x = self.act(node)
        axis = int(attrs_of(node).get("axis", 1))
        if axis % (len(x.shape) + 1) != 1:
            raise HlsgenError(f"{self.where(node)}: concatenation on axis {axis} is not supported; "
                              "concatenate channels (axis 1)")
        return self._merge(node, "concat")

    def _reshape_to(self, node, out_shape: tuple):
        x = self.act(node)
        if tuple(out_shape) == tuple(x.shape):
            return x
        if len(out_shape) != 1:
            raise HlsgenError(f"{self.where(node)}: reshape from {x.shape} to {out_shape} is not "
                              "supported; only flattening to (N, features)")
        x = self.resolve(x, f"'{layer_name(node)}' (flatten)")
        if x.scale.ndim and not np.all(x.scale == x.scale.flat[0]):
            raise HlsgenError(f"{self.where(node)}: flattening data with per-channel float scales; "
                              "put a quantizer (e.g. QuantIdentity) before it")
        perm = x.perm
        if x.channels_last:
            perm = None     # NHWC flattened: the IR's own order
        elif perm is None and len(x.shape) > 1 and x.shape[0] > 1 and int(np.prod(x.shape[1:])) > 1:
            perm = np.moveaxis(np.arange(int(np.prod(x.shape))).reshape(x.shape), 0, -1).ravel()
        t = self.node("reshape", layer_name(node), [x.tensor], tuple(out_shape),
                      {"shape": list(out_shape)})
        return Act(t, tuple(out_shape), np.float64(np.ravel(x.scale)[0]), x.frac, [], perm)

    def _Flatten(self, node):
        x = self.act(node)
        if int(attrs_of(node).get("axis", 1)) != 1:
            raise HlsgenError(f"{self.where(node)}: Flatten with axis other than 1 is not "
                              "supported; flatten everything after the batch axis (axis=1)")
        return self._reshape_to(node, (int(np.prod(x.shape)),))

    def _Reshape(self, node):
        shape = self.model.get_tensor_shape(node.output[0])
        if not shape or shape[0] != 1:
            raise HlsgenError(f"{self.where(node)}: reshape to {shape} changes the batch axis; "
                              "keep the batch dimension first, e.g. x.view(x.size(0), -1)")
        return self._reshape_to(node, tuple(int(d) for d in shape[1:]))

    def _Squeeze(self, node):
        return self._Reshape(node)

    _Unsqueeze = _Squeeze

    def _Transpose(self, node):
        x = self.act(node)
        perm = list(attrs_of(node).get("perm", []))
        r = len(x.shape) + 1
        if x.tensor == "input" and self.qm.boundary["input_channels_last"] and not x.ops:
            # NHWC data transposed to NCHW: the IR input is channels-last already.
            shape = (x.shape[-1],) + tuple(x.shape[:-1])
            return Act("input", shape, x.scale, x.frac)
        to_last, to_first = [0] + list(range(2, r)) + [1], [0, r - 1] + list(range(1, r - 1))
        if r > 2 and perm == to_last and not x.channels_last and x.perm is None:
            # NCHW -> NHWC: the IR's own layout. The data stay as they are, marked
            # channels-last; what reads them next decides (see ON_CHANNELS_LAST).
            shape = tuple(x.shape[1:]) + (x.shape[0],)
            return Act(x.tensor, shape, x.scale, x.frac, list(x.ops), None, True)
        if r > 2 and perm == to_first and x.channels_last:
            # NHWC -> NCHW after NCHW -> NHWC: the pair cancels.
            shape = (x.shape[-1],) + tuple(x.shape[:-1])
            return Act(x.tensor, shape, x.scale, x.frac, list(x.ops), None, False)
        raise HlsgenError(f"{self.where(node)}: Transpose {perm} inside the graph is not "
                          "supported; hlsgen takes NCHW <-> NHWC at the graph's input or output, "
                          "in pairs that cancel, or NCHW -> NHWC before a flatten")

    def _Identity(self, node):
        return self.value(node.input[0])

    _Dropout = _Identity

    def _Softmax(self, node):
        self.qm.softmax_dropped = True
        return self.value(node.input[0])

