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
integer thresholds or a shift.

PyTorch tensors are channels-first, the IR channels-last: convolution
weights, flattened features and the data crossing the graph boundary are
reordered here.
"""

from __future__ import annotations

import ast
import math
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from gen.errors import HlsgenError
from gen.frontends.float_ops import (FloatOp, OnnxOps, channels_layout, window_layout)
from gen.frontends.onnx_env import import_qonnx, lower_ir_version
from gen.ir import Graph, Node, Tensor
from gen.qtype import exact_frac

SUPPORTED_OPS = ["Quant", "Trunc", "Conv (groups 1 or depthwise)", "Gemm", "MatMul",
                 "BatchNormalization", "Relu", "Clip", "Sigmoid/Tanh/HardSigmoid/HardSwish/Elu/"
                 "LeakyRelu/Softplus before a Quant", "MaxPool", "AveragePool", "GlobalAveragePool",
                 "ReduceMean (spatial)", "Flatten", "Reshape", "Transpose (at the graph boundary)",
                 "Add", "Mul/Div/Sub by constants", "Pad", "Concat (channels)", "Identity",
                 "Dropout", "a trailing Softmax"]
_NAME_KEY = "hlsgen.node_name"
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
    scale: np.ndarray            # residual scale, shape () or (C,)
    frac: int | None             # binary point of the codes, when known (not for the input)
    ops: list = field(default_factory=list)
    perm: np.ndarray | None = None   # flattened channels-first data: IR index -> ONNX index


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
    return next((p.value for p in node.metadata_props if p.key == _NAME_KEY), node.name)


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


def _attrs(node) -> dict:
    from onnx import helper
    return {a.name: helper.get_attribute_value(a) for a in node.attribute}


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
        self.ops = ops or OnnxOps(_opset(wrapper))
        self.softmax_dropped = False
        self.graph: Graph | None = None
        self.boundary: dict = {}      # how data crosses the graph boundary (see _Reader)
        self.quant_map: dict = {}     # IR requant node -> (its ONNX node, flattening perm)

    def to_ir(self, output_mode: str = "logits") -> Graph:
        self.graph = _Reader(self).read(output_mode)
        return self.graph

    def input_to_ir(self, x):
        from gen.frontends.qonnx_predict import input_to_ir
        return input_to_ir(self, x)

    def predict(self, x: np.ndarray) -> np.ndarray:
        from gen.frontends.qonnx_predict import predict
        return predict(self, x)


def _opset(wrapper) -> int:
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
    for node in proto.graph.node:   # qonnx renames nodes; messages use the user's names
        if node.name:
            node.metadata_props.add(key=_NAME_KEY, value=node.name)
    try:
        return cleanup_model(ModelWrapper(proto))
    except Exception as e:  # qonnx's transformations raise many types
        raise HlsgenError(f"qonnx cannot clean up '{getattr(source, 'name', source)}' "
                          f"({str(e).splitlines()[0][:160] if str(e) else type(e).__name__}); "
                          "export the model with brevitas.export.export_qonnx")


def _fix_batch(proto) -> None:
    """A symbolic batch dimension becomes 1 (the design processes one frame)."""
    for vi in list(proto.graph.input) + list(proto.graph.output):
        dims = vi.type.tensor_type.shape.dim
        if len(dims) and not dims[0].dim_value:
            dims[0].dim_value = 1


class _Reader:
    def __init__(self, qm: QonnxModel):
        self.qm = qm
        self.model = qm.model
        self.vals: dict = {}          # ONNX tensor -> Act | QConst | np.ndarray
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.names: set[str] = set()
        qm.quant_map = {}

    # -- helpers ----------------------------------------------------------------
    def node(self, op, name, inputs, shape, attrs=None, params=None, transient=None, tname=None):
        """Appends an IR node (names made unique); returns its output tensor."""
        name = _fresh(name, self.names)
        self.names.add(name)
        tname = _fresh(tname or name, self.tensors)
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
        return v

    def channel_const(self, c, act: Act, node) -> np.ndarray:
        """A constant operand laid out per channel ([C, 1, ...] or a scalar);
        one that varies over positions is refused."""
        c = np.asarray(c, dtype=np.float32)
        if c.size == 1:
            return c.reshape(())
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
        if len(g.input) != 1 or len(g.output) != 1:
            raise HlsgenError(f"model '{self.qm.path.name}' has {len(g.input)} inputs and "
                              f"{len(g.output)} outputs; hlsgen takes one input and one output")
        self._input(g.input[0].name)
        last = g.node[-1] if len(g.node) else None
        for node in g.node:
            if node.op_type == "BipolarQuant":
                raise HlsgenError(f"{self.where(node)}: BipolarQuant (binarized +-1 values) is not "
                                  "supported by the QONNX frontend yet; use Quant with 2 or more bits")
            handler = getattr(self, "_" + node.op_type, None)
            if handler is None or (node.op_type == "Softmax" and node is not last):
                raise HlsgenError(f"{self.where(node)}: operator {node.op_type} is not supported; "
                                  f"supported: {', '.join(SUPPORTED_OPS)}")
            out = handler(node)
            if out is not None:
                self.vals[node.output[0]] = out
        final = self.value(g.output[0].name)
        if not isinstance(final, Act):
            raise HlsgenError("the model's output does not depend on its input")
        final = self.resolve(final, "the model's output")
        if final.scale.ndim and not np.all(final.scale == final.scale.flat[0]):
            raise HlsgenError(f"the model's output has per-channel float scales (from "
                              f"'{self.nodes[-1].name}'); end the model with a quantizer, e.g. "
                              "a QuantIdentity")
        out = final.tensor
        self.qm.boundary.update(out_scale=float(final.scale.flat[0]), out_perm=final.perm,
                                out_shape=tuple(final.shape))
        if output_mode == "argmax":
            out = self.node("argmax", "label_select", [out], (1,), tname="label")
        return Graph(self.nodes, self.tensors, ["input"], [out],
                     {"framework": self.qm.framework, "source": self.qm.path.name})

    def _input(self, name: str) -> None:
        shape = self.model.get_tensor_shape(name)
        if not shape or shape[0] != 1:
            raise HlsgenError(f"the model's input has shape {shape}; hlsgen needs a batch "
                              "dimension of 1 first, e.g. (1, C, H, W)")
        shape = tuple(int(d) for d in shape[1:])
        consumers = self.model.find_consumers(name)
        # An NHWC input transposed to NCHW at the boundary is channels-last already.
        nhwc = (len(consumers) == 1 and consumers[0].op_type == "Transpose" and len(shape) > 1
                and list(_attrs(consumers[0])["perm"]) == [0, len(shape)] + list(range(1, len(shape))))
        self.qm.boundary = {"input_shape": shape, "input_channels_last": nhwc,
                            "output_channels_last": False}
        self.tensors["input"] = Tensor("input", shape if nhwc else ir_shape(shape))
        self.nodes.append(Node("input", "input", [], ["input"]))
        self.names.add("input")
        self.vals[name] = Act("input", shape, np.float64(1.0), None)

    def resolve(self, act: Act, consumer: str) -> Act:
        """The codes a consumer other than a quantizer reads: pending float
        operations must be exact on codes (ReLU, power-of-two scaling)."""
        if not act.ops:
            return act
        t, frac = act.tensor, act.frac
        for i, op in enumerate(act.ops):
            if op.bias is not None and i == 0 and consumer == "the model's output" and len(act.ops) == 1:
                self._fold_bias(act, op)
                continue
            if op.exact is None:
                raise HlsgenError(
                    f"'{op.name}' ({op.kind}) computes in floating point and its output reaches "
                    f"{consumer} without a quantizer; add a quantizer after it (Brevitas: "
                    "QuantIdentity, QuantReLU instead of nn.ReLU, or bias_quant=Int32Bias for a "
                    "float bias)")
            shape = self.tensors[t].shape
            if op.exact[0] == "relu":
                t = self.node("requant", op.name, [t], shape, {"source": "relu"},
                              transient={"relu": True}, tname=f"{op.name}_relu")
            else:
                t = self.node("rescale", op.name, [t], shape, {"shift": op.exact[1]},
                              tname=f"{op.name}_rescaled")
                frac = None if frac is None else frac + op.exact[1]
        return Act(t, act.shape, act.scale, frac, [], act.perm)

    def _fold_bias(self, act: Act, op: FloatOp) -> None:
        """The last layer's quantized bias, when its scale is the accumulator's
        (Int32Bias: input scale x weight scale), as integer codes in the
        accumulator: the exact sum the framework's float32 addition rounds."""
        qc, ir_node = op.bias
        s_b = np.broadcast_to(np.asarray(qc.scale, np.float64).reshape(-1), act.scale.shape or (1,))
        unit = None if act.frac is None else act.scale * 2.0**-act.frac
        if unit is None or not np.all(np.abs(s_b / unit - 1) < 2.0**-20):
            raise HlsgenError(f"'{op.name}': its bias is added in floating point at the model's "
                              "output; quantize it at the accumulator's scale "
                              "(bias_quant=Int32Bias) or end the model with a QuantIdentity")
        ir_node.params["bias"] = qc.codes.reshape(-1).astype(np.int64)
        ir_node.attrs["b_frac"] = act.frac

    # -- quantizers ---------------------------------------------------------------
    def _quant_params(self, node):
        s = self.const(node, 1, "scale").astype(np.float32)
        z = self.const(node, 2, "zero point").astype(np.float32)
        bw = self.const(node, 3, "bit width").astype(np.float32)
        a = _attrs(node)
        if bw.size != 1 or bw.flat[0] != round(float(bw.flat[0])):
            raise HlsgenError(f"{self.where(node)}: Quant with bit width {bw.ravel()[:4]} is not "
                              "supported; use one integer bit width")
        if np.any(z != np.round(z)):
            raise HlsgenError(f"{self.where(node)}: Quant with a non-integer zero point is not "
                              "supported")
        signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
        if int(bw.flat[0]) == 1 and signed:
            raise HlsgenError(f"{self.where(node)}: 1-bit signed Quant is binarized (+-1); "
                              "binarized layers are not supported by the QONNX frontend yet")
        mode = a.get("rounding_mode", "ROUND")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        return s, z, bw, signed, narrow, mode

    def _Quant(self, node):
        from qonnx.custom_op.general.quant import max_int, min_int, quant
        x = self.value(node.input[0])
        s, z, bw, signed, narrow, mode = self._quant_params(node)

        def q(v):
            return quant(np.asarray(v, np.float32), s, z, bw, signed, narrow, mode)
        if not isinstance(x, Act):
            values = np.asarray(x.values if isinstance(x, QConst) else x, np.float32)
            y = q(values).astype(np.float32)
            codes = np.rint(y.astype(np.float64) / s.astype(np.float64)).astype(np.int64)
            return QConst(codes, s, y, node.name)
        if s.size != 1 or z.size != 1:
            raise HlsgenError(f"{self.where(node)}: per-channel activation scales or zero points "
                              "are not supported; use a per-tensor activation quantizer")
        lo, hi = _int(min_int(signed, narrow, bw)), _int(max_int(signed, narrow, bw))
        z0 = int(z.flat[0])
        k, r = split_scale(s.flat[0])
        k = int(k)
        s64 = np.float64(s.flat[0])
        rank = len(x.shape)

        def closing(v):
            y = q(channels_layout(rank)(v)).reshape(v.shape)
            return np.rint(y.astype(np.float64) / s64) * 2.0**-k
        return self._requant(node, x, closing, (k, lo - z0, hi - z0), np.float64(r), k)

    def _Trunc(self, node):
        """Brevitas' truncation (average pooling, accumulator clipping): the
        qonnx function, on codes of the output scale."""
        from qonnx.custom_op.general import trunc as tr
        from qonnx.custom_op.general.quant import max_int, min_int
        x = self.act(node)
        a = _attrs(node)
        mode = a.get("rounding_mode", "FLOOR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        ins = [self.const(node, i, "parameter").astype(np.float32) for i in range(1, len(node.input))]
        if len(ins) == 5:   # version 2: scale, zero point, in bits, out scale, out bits
            s, z, in_bw, out_s, out_bw = ins
            signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
            f = lambda v: tr.trunc_v2(v, s, z, in_bw, narrow, signed, out_s, out_bw, mode)  # noqa: E731
            lo, hi = _int(min_int(signed, narrow, out_bw)), _int(max_int(signed, narrow, out_bw))
        elif len(ins) == 4:
            s, z, in_bw, out_bw = ins
            out_s = s * 2.0**(in_bw - out_bw)
            f = lambda v: tr.trunc_v1(v, s, z, in_bw, out_bw, mode)  # noqa: E731
            lo, hi = -(2**(_int(out_bw) - 1)), 2**(_int(out_bw) - 1) - 1
        else:
            raise HlsgenError(f"{self.where(node)}: Trunc with {len(node.input)} inputs is not "
                              "supported")
        if np.size(out_s) != 1 or np.any(z != 0):
            raise HlsgenError(f"{self.where(node)}: Trunc with per-channel scales or a zero point "
                              "is not supported")
        so = np.float64(np.asarray(out_s).flat[0])
        k, r = split_scale(so)
        k = int(k)
        rank = len(x.shape)

        def closing(v):
            y = np.asarray(f(channels_layout(rank)(v.astype(np.float32)))).reshape(v.shape)
            return np.rint(y.astype(np.float64) / so) * 2.0**-k
        return self._requant(node, x, closing, (k, int(lo), int(hi)), np.float64(r), k)

    def _requant(self, node, x: Act, closing, grid, out_scale, out_frac) -> Act:
        scale = np.asarray(x.scale, np.float64)
        ops = list(x.ops)

        def fn(v):
            v = np.asarray(v, np.float32)
            y = (v.astype(np.float64) * scale).astype(np.float32)
            for op in ops:
                y = op.run(y)
            return closing(y)
        per_channel = (scale.ndim > 0 and not np.all(scale == scale.flat[0])) or any(
            op.per_channel for op in ops)
        name = layer_name(node)
        t = self.node("requant", name, [x.tensor], self.tensors[x.tensor].shape,
                      {"source": " -> ".join([op.kind for op in ops] + [f"{node.op_type} ({name})"])},
                      transient={"fn": fn, "grid": grid, "per_channel": per_channel,
                                 "lut": any(op.smooth for op in ops),
                                 "monotonic": all(op.monotonic for op in ops)})
        self.qm.quant_map[self.nodes[-1].name] = (node.name, x.perm)
        return Act(t, x.shape, out_scale, out_frac, [], x.perm)

    # -- integer layers -------------------------------------------------------------
    def _weights(self, node, i: int) -> QConst:
        w = self.value(node.input[i])
        if not isinstance(w, QConst):
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): its weights are not quantized; "
                              "use a Brevitas quantized layer (QuantLinear, QuantConv2d) or put a "
                              "Quant node on the weights")
        return w

    def _out_scales(self, node, w: QConst, out_axis: int) -> np.ndarray:
        s = np.broadcast_to(np.asarray(w.scale, np.float64), w.codes.shape)
        per = np.moveaxis(s, out_axis, 0).reshape(w.codes.shape[out_axis], -1)
        if not np.all(per == per[:, :1]):
            raise HlsgenError(f"{self.where(node)}: its weight scale varies along the input "
                              "axis; use per-tensor or per-output-channel weight scales")
        return per[:, 0]

    def _integer_layer(self, node, x: Act, op: str, codes: np.ndarray, w_scales: np.ndarray,
                       bias_index: int | None, attrs: dict, out_onnx_shape: tuple) -> Act:
        """codes: IR weights [rows, C] with per-output-channel scales w_scales."""
        if x.scale.ndim and not np.all(x.scale == x.scale.flat[0]):
            raise HlsgenError(f"{self.where(node)}: its input has per-channel float scales; put a "
                              "quantizer (e.g. QuantIdentity) before it")
        k, r = split_scale(w_scales)
        w_frac = int(k.max())
        if np.all(r == r[0]):   # one residual: align the codes to a common binary point
            codes = codes << (w_frac - k)[None, :]
            w_res = np.float64(r[0])
        else:
            w_res = w_scales * 2.0**w_frac
        acc_scale = np.float64(x.scale.flat[0]) * w_res
        frac = None if x.frac is None else x.frac + w_frac
        name = layer_name(node)
        bias = np.zeros(codes.shape[1], np.int64)
        b_frac, ops = 0, []
        if bias_index is not None and len(node.input) > bias_index and node.input[bias_index]:
            b = self.value(node.input[bias_index])
            exact = isinstance(b, QConst) and np.all(acc_scale == 1) and np.all(split_scale(b.scale)[1] == 1)
            if exact:
                b_frac = exact_frac(b.values)
                bias = np.round(b.values.astype(np.float64).reshape(-1) * 2.0**b_frac).astype(np.int64)
            else:
                values = b.values if isinstance(b, QConst) else np.asarray(b, np.float32)
                values = np.broadcast_to(values.reshape(-1), (codes.shape[1],))
                rank = len(out_onnx_shape)
                add = self.qm.ops.node_fn(_AddNode, [None, values.reshape((-1,) + (1,) * (rank - 1))],
                                          channels_layout(rank))
                ops.append(FloatOp(name, "float bias", add, True, True))
        t = self.node(op, name, [x.tensor], ir_shape(out_onnx_shape),
                      {**attrs, "w_frac": w_frac, "b_frac": b_frac},
                      {"weights": codes.astype(np.int64), "bias": bias}, tname=f"{name}_acc")
        if ops and isinstance(b, QConst):
            ops[0].bias = (b, self.nodes[-1])
        return Act(t, tuple(out_onnx_shape), np.asarray(acc_scale), frac, ops)

    def _Gemm(self, node):
        a = _attrs(node)
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise HlsgenError(f"{self.where(node)}: Gemm with transA, alpha or beta is not "
                              "supported; export a plain linear layer")
        return self._matmul(node, bool(a.get("transB", 0)), 2)

    def _MatMul(self, node):
        return self._matmul(node, False, None)

    def _matmul(self, node, trans_b: bool, bias_index):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        if len(x.shape) != 1:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}) on a {len(x.shape)}-D tensor is "
                              "not supported; flatten its input first")
        w = self._weights(node, 1)
        if w.codes.ndim != 2:
            raise HlsgenError(f"{self.where(node)}: weights of shape {w.codes.shape} are not a matrix")
        codes = w.codes.T if trans_b else w.codes          # [in, out]
        scales = self._out_scales(node, w, 0 if trans_b else 1)
        if x.perm is not None:
            codes = codes[x.perm]
        x = Act(x.tensor, x.shape, x.scale, x.frac, [], None)
        return self._integer_layer(node, x, "dense", codes, scales, bias_index, {},
                                   (codes.shape[1],))

    def _Conv(self, node):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        w = self._weights(node, 1)
        a = _attrs(node)
        if len(x.shape) not in (2, 3) or w.codes.ndim != len(x.shape) + 1:
            raise HlsgenError(f"{self.where(node)}: only 1-D and 2-D convolutions are supported")
        if any(d != 1 for d in a.get("dilations", [1])):
            raise HlsgenError(f"{self.where(node)}: dilation {a['dilations']} is not supported; use 1")
        cin, cout, group = x.shape[0], w.codes.shape[0], int(a.get("group", 1))
        depthwise = group > 1
        if depthwise and not (group == cin == cout and w.codes.shape[1] == 1):
            raise HlsgenError(f"{self.where(node)}: grouped convolution (groups={group}) is "
                              "supported only as depthwise (groups = in = out channels)")
        two_d = len(x.shape) == 3
        kernel = tuple(w.codes.shape[2:])
        kh, kw = kernel if two_d else (1, kernel[0])
        strides = list(a.get("strides", [1] * len(kernel)))
        sh, sw = strides if two_d else (1, strides[0])
        x = self._padded(node, x, a, kernel, strides)
        if depthwise:
            codes = w.codes[:, 0].reshape(cout, -1).T                       # [kh*kw, C]
        else:
            codes = np.moveaxis(w.codes, (0, 1), (-1, -2)).reshape(-1, cout)  # (ky, kx, c) rows
        ih, iw = (x.shape[1:] if two_d else (1, x.shape[1]))
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        out = (cout, oh, ow) if two_d else (cout, ow)
        return self._integer_layer(node, x, "conv", codes, self._out_scales(node, w, 0), 2,
                                   {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "depthwise": depthwise},
                                   out)

    def _padded(self, node, x: Act, a: dict, kernel: tuple, strides: list) -> Act:
        """ONNX pads / auto_pad as an explicit zero-padding node."""
        n = len(kernel)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads_b, pads_e = [], []
            for size, k, s in zip(x.shape[1:], kernel, strides):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                small, big = total // 2, total - total // 2
                pads_b.append(small if auto == "SAME_UPPER" else big)
                pads_e.append(big if auto == "SAME_UPPER" else small)
            pads = pads_b + pads_e
        else:
            pads = list(a.get("pads", [0] * 2 * n)) if auto != "VALID" else [0] * 2 * n
        return self._pad_act(node, x, pads[:n], pads[n:])

    def _pad_act(self, node, x: Act, begin: list, end: list) -> Act:
        if not any(begin) and not any(end):
            return x
        if min(begin + end) < 0:
            raise HlsgenError(f"{self.where(node)}: negative padding (cropping) is not supported")
        top, left = (begin if len(begin) == 2 else [0, begin[0]])
        bottom, right = (end if len(end) == 2 else [0, end[0]])
        shape = (x.shape[0],) + tuple(d + b + e for d, b, e in zip(x.shape[1:], begin, end))
        t = self.node("pad", f"{layer_name(node)}_pad", [x.tensor], ir_shape(shape),
                      {"top": top, "bottom": bottom, "left": left, "right": right})
        return Act(t, shape, x.scale, x.frac)

    def _Pad(self, node):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        a = _attrs(node)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = [int(p) for p in (self.const(node, 1, "pads") if len(node.input) > 1 else a["pads"])]
        value = self.const(node, 2, "value") if len(node.input) > 2 and node.input[2] else 0
        if len(node.input) > 3 and node.input[3]:
            raise HlsgenError(f"{self.where(node)}: Pad with explicit axes is not supported")
        r = len(x.shape) + 1
        if mode != "constant" or np.any(np.asarray(value) != 0) or any(
                pads[i] or pads[i + r] for i in (0, 1)) or len(x.shape) < 2:
            raise HlsgenError(f"{self.where(node)}: only zero padding of the spatial axes is "
                              "supported")
        return self._pad_act(node, x, pads[2:r], pads[r + 2:])

    # -- pooling ------------------------------------------------------------------------
    def _pool_geometry(self, node, x: Act, kernel, strides):
        if len(x.shape) not in (2, 3):
            raise HlsgenError(f"{self.where(node)}: pooling needs a 1-D signal or an image")
        two_d = len(x.shape) == 3
        kh, kw = kernel if two_d else (1, kernel[0])
        sh, sw = strides if two_d else (1, strides[0])
        ih, iw = x.shape[1:] if two_d else (1, x.shape[1])
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        out = (x.shape[0], oh, ow) if two_d else (x.shape[0], ow)
        return (kh, kw, sh, sw), out

    def _check_pool_attrs(self, node, a: dict, kernel) -> list:
        if any(a.get("pads", [0])) or any(d != 1 for d in a.get("dilations", [1])):
            raise HlsgenError(f"{self.where(node)}: pooling with padding or dilation is not "
                              "supported; pad explicitly or use padding=0")
        auto = a.get("auto_pad", b"NOTSET")
        if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID"):
            raise HlsgenError(f"{self.where(node)}: pooling with auto_pad is not supported")
        return list(a.get("strides", [1] * len(kernel)))

    def _MaxPool(self, node):
        x = self.act(node)
        if not all(op.nondecreasing for op in x.ops):
            x = self.resolve(x, f"'{layer_name(node)}' (max-pooling)")
        a = _attrs(node)
        kernel = list(a["kernel_shape"])
        strides = self._check_pool_attrs(node, a, kernel)
        (kh, kw, sh, sw), out = self._pool_geometry(node, x, kernel, strides)
        if a.get("ceil_mode", 0) and any((d - k) % s for d, k, s in zip(x.shape[1:], kernel, strides)):
            raise HlsgenError(f"{self.where(node)}: max-pooling with ceil_mode on a size that does "
                              "not divide is not supported")
        # A max commutes with non-decreasing float operations: pool the codes, keep the chain.
        t = self.node("pool", layer_name(node), [x.tensor], ir_shape(out),
                      {"mode": "max", "kh": kh, "kw": kw, "sh": sh, "sw": sw})
        return Act(t, out, x.scale, x.frac, list(x.ops))

    def _sum_pool(self, node, x: Act, kernel, strides, out_shape, window_node, inputs) -> Act:
        """Window sum on codes; the framework's averaging is a pending float
        operation (a window with the sum in its first position)."""
        x = self.resolve(x, f"'{layer_name(node)}' (average pooling)")
        (kh, kw, sh, sw), out = self._pool_geometry(node, x, kernel, strides)
        name = layer_name(node)
        t = self.node("pool", name, [x.tensor], ir_shape(out_shape),
                      {"mode": "sum", "kh": kh, "kw": kw, "sh": sh, "sw": sw}, tname=f"{name}_sum")
        n = kh * kw
        po2 = n & (n - 1) == 0 and np.all(x.scale == 1)
        fn = self.qm.ops.node_fn(window_node, inputs, window_layout(tuple(kernel)))
        op = FloatOp(name, node.op_type, fn, False, True,
                     exact=("rescale", int(math.log2(n))) if po2 else None)
        return Act(t, out_shape, x.scale, x.frac, [op])

    def _AveragePool(self, node):
        x = self.act(node)
        a = _attrs(node)
        kernel = list(a["kernel_shape"])
        strides = self._check_pool_attrs(node, a, kernel)
        if a.get("ceil_mode", 0) and any((d - k) % s for d, k, s in zip(x.shape[1:], kernel, strides)):
            raise HlsgenError(f"{self.where(node)}: average pooling with ceil_mode on a size that "
                              "does not divide is not supported")
        _, out = self._pool_geometry(node, x, kernel, strides)
        return self._sum_pool(node, x, kernel, strides, out, node, [None])

    def _GlobalAveragePool(self, node):
        x = self.act(node)
        spatial = list(x.shape[1:])
        return self._sum_pool(node, x, spatial, spatial, (x.shape[0],) + (1,) * len(spatial),
                              node, [None])

    def _ReduceMean(self, node):
        x = self.act(node)
        a = _attrs(node)
        axes = (list(self.const(node, 1, "axes")) if len(node.input) > 1 and node.input[1]
                else list(a.get("axes", [])))
        r = len(x.shape) + 1
        if sorted(int(d) % r for d in axes) != list(range(2, r)):
            raise HlsgenError(f"{self.where(node)}: ReduceMean over axes {axes} is not supported; "
                              "only the mean over all spatial positions (global average pooling)")
        spatial = list(x.shape[1:])
        keep = int(a.get("keepdims", 1))
        out = (x.shape[0],) + (1,) * len(spatial) if keep else (x.shape[0],)
        inputs = [None] + ([np.asarray(axes, np.int64)] if len(node.input) > 1 else [])
        act = self._sum_pool(node, x, spatial, spatial, out, node, inputs)
        return act

    # -- float operations ------------------------------------------------------------
    def _pending(self, node, x: Act, consts: list, kind_inputs: list, nondecreasing: bool,
                 exact=None) -> Act:
        fn = self.qm.ops.node_fn(node, kind_inputs, channels_layout(len(x.shape)))
        per_channel = any(np.ndim(c) > 0 and np.size(c) > 1 for c in consts)
        op = FloatOp(layer_name(node), node.op_type, fn, per_channel, nondecreasing, exact)
        return Act(x.tensor, x.shape, x.scale, x.frac, x.ops + [op], x.perm)

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
            raise HlsgenError(f"{self.where(node)}: batch-norm needs a channel axis")
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
                             nondecreasing(c, first), exact(c, first) if exact else None)

    def _Add(self, node):
        if all(isinstance(self.value(i), Act) for i in node.input):
            return self._merge(node, "add")
        return self._const_op(node, lambda c, first: True)

    def _Sub(self, node):
        return self._const_op(node, lambda c, first: first)

    def _Mul(self, node):
        return self._const_op(node, lambda c, first: bool(np.all(c >= 0)),
                              lambda c, first: _po2_shift(c, -1))

    def _Div(self, node):
        if not isinstance(self.value(node.input[0]), Act):
            raise HlsgenError(f"{self.where(node)}: only division by a constant is supported")
        return self._const_op(node, lambda c, first: bool(np.all(c > 0)),
                              lambda c, first: _po2_shift(c, 1))

    # -- structure ----------------------------------------------------------------------
    def _merge(self, node, op: str) -> Act:
        acts = [self.resolve(self.value(i), f"'{layer_name(node)}'") for i in node.input]
        if len(acts) != 2:
            raise HlsgenError(f"{self.where(node)}: {op} of {len(acts)} tensors; hlsgen takes two")
        s0 = acts[0].scale
        if not all(np.array_equal(a.scale, s0) for a in acts):
            raise HlsgenError(f"{self.where(node)}: its inputs have different float scales "
                              f"({', '.join(f'{float(np.ravel(a.scale)[0]):.6g}' for a in acts)}); "
                              "quantize both with one quantizer (a shared QuantIdentity) or with "
                              "power-of-two scales")
        if any(a.perm is not None for a in acts):
            raise HlsgenError(f"{self.where(node)}: {op} of flattened image data is not supported")
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
        t = self.node(op, name, [a.tensor for a in acts], ir_shape(shape),
                      tname=f"{name}_sum" if op == "add" else None)
        return Act(t, shape, s0, frac)

    def _Concat(self, node):
        x = self.act(node)
        axis = int(_attrs(node).get("axis", 1))
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
        if perm is None and len(x.shape) > 1 and x.shape[0] > 1 and int(np.prod(x.shape[1:])) > 1:
            perm = np.moveaxis(np.arange(int(np.prod(x.shape))).reshape(x.shape), 0, -1).ravel()
        t = self.node("reshape", layer_name(node), [x.tensor], tuple(out_shape),
                      {"shape": list(out_shape)})
        return Act(t, tuple(out_shape), np.float64(np.ravel(x.scale)[0]), x.frac, [], perm)

    def _Flatten(self, node):
        x = self.act(node)
        if int(_attrs(node).get("axis", 1)) != 1:
            raise HlsgenError(f"{self.where(node)}: Flatten with axis other than 1 is not supported")
        return self._reshape_to(node, (int(np.prod(x.shape)),))

    def _Reshape(self, node):
        shape = self.model.get_tensor_shape(node.output[0])
        if not shape or shape[0] != 1:
            raise HlsgenError(f"{self.where(node)}: reshape to {shape} changes the batch axis")
        return self._reshape_to(node, tuple(int(d) for d in shape[1:]))

    def _Squeeze(self, node):
        return self._Reshape(node)

    _Unsqueeze = _Squeeze

    def _Transpose(self, node):
        x = self.act(node)
        perm = list(_attrs(node).get("perm", []))
        r = len(x.shape) + 1
        if x.tensor == "input" and self.qm.boundary["input_channels_last"] and not x.ops:
            # NHWC data transposed to NCHW: the IR input is channels-last already.
            shape = (x.shape[-1],) + tuple(x.shape[:-1])
            return Act("input", shape, x.scale, x.frac)
        outputs = [o.name for o in self.model.graph.output]
        if node.output[0] in outputs and perm == [0] + list(range(2, r)) + [1]:
            self.qm.boundary["output_channels_last"] = True
            return x
        raise HlsgenError(f"{self.where(node)}: Transpose {perm} inside the graph is not "
                          "supported; only NHWC <-> NCHW at the graph's input or output")

    def _Identity(self, node):
        return self.value(node.input[0])

    _Dropout = _Identity

    def _Softmax(self, node):
        self.qm.softmax_dropped = True
        return self.value(node.input[0])


class _AddNode:
    """A stand-in ONNX Add node (a layer's float bias)."""
    op_type = "Add"
    attribute = ()
    metadata_props = ()
    name = "bias"


def _fresh(name: str, taken) -> str:
    """name, or name_2, name_3... whichever is not taken."""
    base, i = name, 2
    while name in taken:
        name, i = f"{base}_{i}", i + 1
    return name


def _int(v) -> int:
    return int(np.ravel(v)[0])


def _po2_shift(c, sign: int):
    """("rescale", shift) when multiplying (sign -1) or dividing (sign 1) by a
    positive power-of-two scalar c: exact on codes, only the binary point moves."""
    c = np.asarray(c, dtype=np.float64)
    if c.size != 1 or c.flat[0] <= 0:
        return None
    m, e = np.frexp(c.flat[0])
    return ("rescale", int(sign * (e - 1))) if m == 0.5 else None
