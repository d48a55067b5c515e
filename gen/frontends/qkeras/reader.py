"""QKeras frontend: a Keras/QKeras model file -> IR.

Weights enter the IR as the framework's own quantized values (the layer's
quantizer applied to its kernel, exactly what the layer multiplies by),
turned into integer codes without loss.

Float operations between an integer operation and the quantizer that follows
it (batch-norm, the average's division, a ReLU) are collected as a *pending
chain* of the framework's own functions; the quantizer that closes the chain
becomes one requantization node whose function is the whole chain, evaluated
per channel. The requantization pass derives exact integer parameters from
that function, so the hardware's output code is the framework's.
"""

from __future__ import annotations

import contextlib
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qkeras.env import import_qkeras
from hlsgen.frontends.qkeras.recurrent import recurrent_node, refuse_float_rnn
from hlsgen.frontends.transposed import around_zero_inserted, keras_cuts, turned_kernel
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.ir.qtype import exact_frac

SUPPORTED_LAYERS = [
    "InputLayer", "QDense", "QConv2D", "QConv1D", "QDepthwiseConv2D", "QSeparableConv2D",
    "QConv2DBatchnorm", "QActivation", "Activation (relu, linear)", "BatchNormalization",
    "QBatchNormalization", "MaxPooling2D/1D", "AveragePooling2D/1D", "GlobalAveragePooling2D/1D",
    "GlobalMaxPooling2D/1D", "ZeroPadding2D/1D", "UpSampling2D/1D (nearest)", "Cropping2D/1D",
    "QConv2DTranspose", "Add", "Concatenate (channels)", "Dropout", "Flatten", "Reshape",
    "QSimpleRNN", "QLSTM", "QGRU", "a trailing softmax"]
SUPPORTED_ACTIVATION_QUANTIZERS = ["quantized_relu(bits, integer)",
                                   "quantized_bits(bits, integer, keep_negative, symmetric, alpha=1)",
                                   "quantized_tanh(bits)", "quantized_sigmoid(bits)",
                                   "binary", "stochastic_binary", "ternary"]
# Float activations allowed when a quantizer follows them (evaluated through
# the framework, then tabulated or thresholded exactly).
SMOOTH_ACTIVATIONS = {"tanh", "sigmoid", "hard_sigmoid", "hard_tanh", "swish", "gelu", "elu",
                      "softsign", "softplus", "selu", "exponential"}
NON_MONOTONIC = {"swish", "gelu"}   # only a lookup table can represent these
SUPPORTED_WEIGHT_QUANTIZERS = ["quantized_bits (alpha=None, 1, a power of two, or 'auto_po2')",
                               "quantized_po2", "binary", "stochastic_binary", "ternary"]
BINARY_QUANTIZERS = ("binary", "stochastic_binary")


def _is_bipolar_quantizer(q) -> bool:
    """Outputs +-1 (one bit in hardware)."""
    kind = type(q).__name__
    if kind in BINARY_QUANTIZERS:
        return not q.use_01
    return kind == "quantized_bits" and int(q.bits) - int(bool(q.keep_negative)) <= 0


@dataclass
class KerasModel:
    """A loaded model and how to ask it for the values the design computes."""
    model: object
    path: Path
    softmax_layer: object | None = None  # a trailing softmax kept out of the design
    framework = "qkeras"

    def to_ir(self, output_mode: str = "logits") -> Graph:
        return _Reader(self).read(output_mode)

    def input_to_ir(self, x, tensor: str | None = None):
        return x   # Keras is channels-last already

    @property
    def softmax_dropped(self) -> bool:
        return self.softmax_layer is not None

    def predict(self, x, gold=None) -> np.ndarray:
        """The framework's pre-softmax outputs for float inputs (float32)
        (gold: the golden executor's, unused: nothing is explained here). A
        model with several inputs takes a list of arrays (the model's input
        order); several outputs come back flattened and concatenated [N, sum]."""
        tf, _, _ = import_qkeras()
        xs = list(x) if isinstance(x, (list, tuple)) else [x]
        outs = []
        with self._without_softmax():
            for i in range(0, len(xs[0]), 256):
                batch = [tf.constant(np.asarray(a[i:i + 256], dtype=np.float32)) for a in xs]
                y = self.model(batch if len(batch) > 1 else batch[0], training=False)
                ys = y if isinstance(y, (list, tuple)) else [y]
                outs.append(np.concatenate([np.asarray(a).reshape(len(a), -1) for a in ys], axis=1)
                            if len(ys) > 1 else np.asarray(ys[0]))
        return np.concatenate(outs).astype(np.float32)

    @contextlib.contextmanager
    def _without_softmax(self):
        layer = self.softmax_layer
        if layer is None:
            yield
            return
        tf, _, _ = import_qkeras()
        saved = layer.activation
        layer.activation = tf.keras.activations.linear
        try:
            yield
        finally:
            layer.activation = saved


def load_keras_model(path: Path, weights: Path | None = None):
    tf, _, custom = import_qkeras()
    path = Path(path)
    if not path.is_file():
        raise HlsgenError(f"model file '{path}' does not exist; give the path of a .h5, .keras "
                          "or .json model file")
    suffix = path.suffix.lower()
    try:
        if suffix in (".h5", ".hdf5", ".keras"):
            model = tf.keras.models.load_model(str(path), custom_objects=custom, compile=False)
        elif suffix == ".json":
            if weights is None:
                raise HlsgenError(f"model '{path}' is an architecture in JSON; give its weights "
                                  "with --weights FILE.h5")
            model = tf.keras.models.model_from_json(path.read_text(), custom_objects=custom)
            model.load_weights(str(weights))
        else:
            raise HlsgenError(f"'{path}' is not a model file hlsgen reads; give a QKeras model as "
                              ".h5, .keras, or .json with --weights")
    except HlsgenError:
        raise
    except Exception as e:  # the framework's loaders raise many types
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise HlsgenError(f"cannot read '{path}' as a Keras/QKeras model ({reason}); save it with "
                          "model.save('model.h5') or give --weights for a .json architecture")
    return model


# ----------------------------------------------------------------------------
# Quantizers


def _is_quantizer(obj) -> bool:
    from qkeras.quantizers import BaseQuantizer
    return isinstance(obj, BaseQuantizer)


def _activation_name(act) -> str:
    return getattr(act, "__name__", type(act).__name__)


def _grid_of(quantizer, layer_name: str) -> tuple[int, int, int]:
    """(frac, lo code, hi code) of an activation quantizer's output grid."""
    kind = type(quantizer).__name__
    if kind == "quantized_relu":
        if quantizer.use_sigmoid or quantizer.negative_slope or quantizer.use_stochastic_rounding:
            raise HlsgenError(f"layer '{layer_name}': quantized_relu with use_sigmoid, negative_slope "
                              "or stochastic rounding is not supported; use quantized_relu(bits, integer)")
        bits, integer = int(quantizer.bits), int(quantizer.integer)
        return bits - integer, 0, (1 << bits) - 1
    if kind == "quantized_bits":
        if quantizer.alpha not in (None, 1, 1.0) or quantizer.use_stochastic_rounding:
            raise HlsgenError(f"layer '{layer_name}': activation quantizer {quantizer} has a scale "
                              "alpha or stochastic rounding; use alpha=1 for activations")
        bits, integer, neg = int(quantizer.bits), int(quantizer.integer), int(bool(quantizer.keep_negative))
        unsigned = bits - neg
        if unsigned <= 0:
            return 0, 0, 1          # +-1: bipolar codes (see _is_bipolar_quantizer)
        m = 1 << unsigned
        lo = (-m + int(bool(quantizer.symmetric))) if neg else 0
        return unsigned - integer, lo, m - 1
    if kind in BINARY_QUANTIZERS + ("ternary",):
        if getattr(quantizer, "alpha", None) not in (None, 1, 1.0) or getattr(
                quantizer, "use_stochastic_rounding", False):
            raise HlsgenError(f"layer '{layer_name}': activation {quantizer} has a scale alpha; use "
                              "alpha=1 (or None) for activations")
        if kind == "ternary":
            return 0, -1, 1
        return 0, 0, 1              # use_01: {0, 1}; otherwise bipolar +-1
    if kind in ("quantized_tanh", "quantized_sigmoid"):
        if quantizer.use_stochastic_rounding:
            raise HlsgenError(f"layer '{layer_name}': {kind} with stochastic rounding is not "
                              "supported; use use_stochastic_rounding=False")
        bits, sym = int(quantizer.bits), int(bool(quantizer.symmetric))
        if kind == "quantized_tanh":
            m = 1 << (bits - 1)
            return bits - 1, -m + sym, m - 1
        return bits, sym, (1 << bits) - 1
    raise HlsgenError(f"layer '{layer_name}': activation quantizer {kind} is not supported; "
                      f"use one of: {', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)}")


def _weight_codes(layer, which: str, quantizer, values) -> tuple[np.ndarray, int]:
    """The framework's quantized weights as exact integer codes and their frac."""
    if quantizer is None:
        raise HlsgenError(f"layer '{layer.name}' ({type(layer).__name__}) has no {which}_quantizer; "
                          f"give it a {which}_quantizer such as quantized_bits(8,0,alpha=1)")
    kind = type(quantizer).__name__
    if kind == "quantized_bits":
        alpha = quantizer.alpha
        if isinstance(alpha, str) and alpha != "auto_po2":
            raise HlsgenError(f"layer '{layer.name}': {which}_quantizer alpha='{alpha}' gives "
                              "floating-point scales; use alpha=1 or alpha='auto_po2'")
        if alpha is not None and not isinstance(alpha, str):
            a = np.asarray(alpha, dtype=np.float64)
            if np.any(a <= 0) or np.any(np.log2(a) != np.round(np.log2(a))):
                raise HlsgenError(f"layer '{layer.name}': {which}_quantizer alpha={alpha} is not a "
                                  "power of two; use alpha=1, a power of two or 'auto_po2'")
    elif kind in BINARY_QUANTIZERS + ("ternary",):
        alpha = getattr(quantizer, "alpha", None)
        if isinstance(alpha, str) and alpha != "auto_po2":
            raise HlsgenError(f"layer '{layer.name}': {which}_quantizer {quantizer} with "
                              f"alpha='{alpha}' gives floating-point scales; use alpha=1 or 'auto_po2'")
    elif kind != "quantized_po2":
        raise HlsgenError(f"layer '{layer.name}': {which}_quantizer {kind} is not supported; use one "
                          f"of: {', '.join(SUPPORTED_WEIGHT_QUANTIZERS)}")
    tf, _, _ = import_qkeras()
    q = np.asarray(quantizer(tf.convert_to_tensor(values, dtype=tf.float32))).astype(np.float64)
    frac = exact_frac(q)
    return np.round(q * 2.0**frac).astype(np.int64), frac


# ----------------------------------------------------------------------------
# The pending chain of float operations


@dataclass
class Pending:
    """Float functions (framework layers) applied to an integer tensor before
    a quantizer. Each maps float32 [M, C] -> float32 [M, C], C = channels."""
    fns: list = field(default_factory=list)
    names: list = field(default_factory=list)
    pow2_shift: int | None = 0   # the chain is an exact rescale by 2**-shift (or None)
    smooth: bool = False         # holds a smooth activation: tabulate it
    monotonic: bool = True       # every function in the chain is monotonic per channel

    def __bool__(self):
        return bool(self.fns)


def _layer_fn(layer, rank: int) -> Callable:
    """A framework layer as a per-channel function on [M, C] values: the
    values are placed where the layer treats them per channel."""
    tf, _, _ = import_qkeras()

    is_layer = isinstance(layer, tf.keras.layers.Layer)

    def fn(x):
        m, c = x.shape
        t = tf.constant(np.asarray(x, np.float32).reshape((m,) + (1,) * (rank - 2) + (c,)))
        y = layer(t, training=False) if is_layer else layer(t)
        return np.asarray(y).reshape(m, c)
    return fn


def _elementwise_fn(act) -> Callable:
    """A float activation on [M, C] values; the same for every channel."""
    tf, _, _ = import_qkeras()

    def fn(x):
        return np.asarray(act(tf.constant(np.asarray(x, np.float32))))
    fn.per_channel = False
    return fn


def _window_sum_fn(layer, window_shape: tuple) -> Callable:
    """The framework's average pooling as a function of the window's sum: the
    sum is placed in the first position of a window that is otherwise zero
    (the framework's float sum of integer codes is exact, so this is its
    value for every window with that sum)."""
    tf, _, _ = import_qkeras()

    def fn(x):
        m, c = x.shape
        w = np.zeros((m,) + window_shape + (c,), np.float32)
        w[(slice(None),) + (0,) * len(window_shape)] = x
        return np.asarray(layer(tf.constant(w), training=False)).reshape(m, c)
    fn.per_channel = False
    return fn


# ----------------------------------------------------------------------------
# The reader


class _Reader:
    def __init__(self, km: KerasModel):
        self.km = km
        self.tensors: dict[str, Tensor] = {}
        self.nodes: list[Node] = []
        self.out: dict[str, tuple[str, Pending]] = {}   # layer name -> (tensor, pending chain)
        self.last_layer = km.model.layers[-1]

    # -- helpers ------------------------------------------------------------
    def node(self, op, name, inputs, shape, attrs=None, params=None, transient=None, tname=None):
        tname = tname or name
        while tname in self.tensors:
            tname += "_"
        self.tensors[tname] = Tensor(tname, tuple(int(d) for d in shape))
        self.nodes.append(Node(op, name, list(inputs), [tname], attrs or {}, params or {},
                               transient or {}))
        return tname

    def resolve(self, tensor: str, pending: Pending, consumer: str) -> str:
        """A tensor for a consumer that is not a quantizer: the pending chain
        must be an exact power-of-two rescale (or empty)."""
        if not pending:
            return tensor
        if pending.pow2_shift is None:
            raise HlsgenError(f"layer '{pending.names[-1]}' computes in floating point and its "
                              f"output feeds '{consumer}' without a quantizer; put a QActivation "
                              "(e.g. quantized_relu or quantized_bits) after it")
        shape = self.tensors[tensor].shape
        return self.node("rescale", pending.names[-1], [tensor], shape,
                         {"shift": pending.pow2_shift}, tname=pending.names[-1] + "_rescaled")

    def inbound(self, layer) -> list[tuple[str, Pending]]:
        if len(layer._inbound_nodes) != 1:
            raise HlsgenError(f"layer '{layer.name}' is used more than once; shared layers are not "
                              "supported")
        inbound = layer._inbound_nodes[0].inbound_layers
        inbound = inbound if isinstance(inbound, (list, tuple)) else [inbound]
        return [self.out[l.name] for l in inbound]

    # -- layers -------------------------------------------------------------
    def read(self, output_mode: str) -> Graph:
        model = self.km.model
        ins, outs = _io_layers(model)
        if output_mode == "argmax" and len(outs) > 1:
            raise HlsgenError(f"model '{self.km.path.name}' has {len(outs)} outputs; --output argmax "
                              "selects one class index; use --output logits (the default)")
        # One input keeps the tensor name "input"; several are named by their layers.
        names = ["input"] if len(ins) == 1 else [layer.name for layer in ins]
        for layer, tname, t in zip(ins, names, model.inputs):
            if any(d is None for d in t.shape[1:]):   # e.g. variable-length sequences
                fixed = ", ".join("T" if d is None else str(d) for d in t.shape[1:])
                fixed += "," if len(t.shape) == 2 else ""
                raise HlsgenError(f"model input '{layer.name}' has shape {tuple(t.shape[1:])}: a "
                                  "dimension of no fixed size (None); give the Input fixed sizes, "
                                  f"e.g. Input(({fixed})) for a fixed number of time steps T")
            self.tensors[tname] = Tensor(tname, tuple(int(d) for d in t.shape[1:]))
            self.nodes.append(Node("input", tname, [], [tname]))
            self.out[layer.name] = (tname, Pending())
        for layer in model.layers:
            kind = type(layer).__name__
            if kind == "InputLayer":
                continue
            handler = getattr(self, "_" + kind, None)
            if handler is None:
                hint = (" (a layer without quantizers: use QDense with kernel_quantizer and "
                        "bias_quantizer)") if kind == "Dense" else (
                        " (use QConv2D with kernel_quantizer and bias_quantizer)") if kind in (
                        "Conv2D", "Conv1D") else ""
                raise HlsgenError(f"layer '{layer.name}' of type {kind} is not supported{hint}; "
                                  f"supported: {', '.join(SUPPORTED_LAYERS)}")
            srcs = self.inbound(layer)
            if kind not in ("Add", "Concatenate") and len(srcs) != 1:
                raise HlsgenError(f"layer '{layer.name}' ({kind}) has {len(srcs)} inputs")
            self.out[layer.name] = handler(layer, srcs)
        out_tensors = []
        for layer in outs:
            tensor, pending = self.out[layer.name]
            out = self.resolve(tensor, pending, "the model's output")
            if out in out_tensors or out in names:
                raise HlsgenError(f"output '{layer.name}' of model '{self.km.path.name}' repeats "
                                  "another output or an input; give each output its own layer")
            out_tensors.append(out)
        if output_mode == "argmax":
            out_tensors = [self.node("argmax", "label_select", out_tensors, (1,), tname="label")]
        meta = {"framework": "qkeras", "source": self.km.path.name}
        if len(out_tensors) > 1 or len(names) > 1:   # a port each: named by the model's layers
            meta["output_names"] = [layer.name for layer in outs]
        return Graph(self.nodes, self.tensors, names, out_tensors, meta)

    def _activation(self, layer, act, src: str, pending: Pending, rank: int):
        name = _activation_name(act)
        if isinstance(act, str):
            from qkeras.quantizers import get_quantizer
            act = get_quantizer(act)
            name = _activation_name(act)
        if _is_quantizer(act):
            grid = _grid_of(act, layer.name)
            q_fn = _layer_fn(act, 2)
            chain = pending.fns
            fn = q_fn if not chain else _compose(chain + [q_fn])
            attrs = {"source": " -> ".join(pending.names + [str(act)])}
            smooth = type(act).__name__ in ("quantized_tanh", "quantized_sigmoid") or pending.smooth
            per_channel = any(getattr(f, "per_channel", True) for f in chain)
            t = self.node("requant", layer.name, [src], self.tensors[src].shape, attrs,
                          transient={"fn": fn, "grid": grid, "per_channel": per_channel,
                                     "lut": smooth, "monotonic": pending.monotonic,
                                     "bipolar": _is_bipolar_quantizer(act)})
            return t, Pending()
        if name in SMOOTH_ACTIVATIONS:
            f = _elementwise_fn(act)
            return src, Pending(pending.fns + [f], pending.names + [layer.name], None, smooth=True,
                                monotonic=pending.monotonic and name not in NON_MONOTONIC)
        if name == "linear":
            return src, pending
        if name == "relu":
            if pending:
                return src, Pending(pending.fns + [_elementwise_fn(_Relu())],
                                    pending.names + [layer.name], None, pending.smooth,
                                    pending.monotonic)
            t = self.node("requant", layer.name, [src], self.tensors[src].shape,
                          {"source": "relu"}, transient={"relu": True})
            return t, Pending()
        if name == "softmax":
            if layer is not self.last_layer:
                raise HlsgenError(f"layer '{layer.name}': softmax is supported only as the last "
                                  "activation (it is kept out of the exact path)")
            self.km.softmax_layer = layer
            return self.resolve(src, pending, layer.name), Pending()
        raise HlsgenError(f"layer '{layer.name}': activation '{name}' is not supported; use relu, "
                          f"linear, a trailing softmax, or a quantizer: "
                          f"{', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)}")

    def _QActivation(self, layer, srcs):
        src, pending = srcs[0]
        act = layer.quantizer if hasattr(layer, "quantizer") else layer.activation
        return self._activation(layer, act, src, pending, len(self.tensors[src].shape) + 1)

    def _Activation(self, layer, srcs):
        src, pending = srcs[0]
        return self._activation(layer, layer.activation, src, pending, len(self.tensors[src].shape) + 1)

    def _Dropout(self, layer, srcs):
        return srcs[0]

    def _Flatten(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        return self.node("reshape", layer.name, [src], layer.output_shape[1:],
                         {"shape": list(layer.output_shape[1:])}), Pending()

    _Reshape = _Flatten

    def _BatchNormalization(self, layer, srcs):
        src, pending = srcs[0]
        rank = len(self.tensors[src].shape) + 1
        if layer.axis not in ([rank - 1], rank - 1, [-1], -1):
            raise HlsgenError(f"layer '{layer.name}': batch-norm over axis {layer.axis} is not "
                              "supported; normalise the channels (last) axis")
        return src, Pending(pending.fns + [_layer_fn(layer, rank)], pending.names + [layer.name], None,
                            pending.smooth, pending.monotonic)

    _QBatchNormalization = _BatchNormalization

    def _with_activation(self, layer, t):
        rank = len(self.tensors[t].shape) + 1
        act = getattr(layer, "activation", None)
        if act is None:
            return t, Pending()
        return self._activation(layer, act, t, Pending(), rank)

    def _QDense(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        if len(self.tensors[src].shape) != 1:
            raise HlsgenError(f"layer '{layer.name}': QDense on a {len(self.tensors[src].shape)}-D "
                              "tensor (one product per position, e.g. per time step) is not "
                              "supported; for that same product use QConv1D(units, kernel_size=1) "
                              "(QConv2D(units, 1) on images) with the same quantizers, or add a "
                              "Flatten before it for one product over the whole tensor")
        w, w_frac = _weight_codes(layer, "kernel", layer.kernel_quantizer_internal, layer.kernel)
        b, b_frac = self._bias(layer, w.shape[-1])
        t = self.node("dense", layer.name, [src], (w.shape[1],),
                      {"w_frac": w_frac, "b_frac": b_frac}, {"weights": w, "bias": b},
                      tname=layer.name + "_acc")
        return self._with_activation(layer, t)

    def _bias(self, layer, n, quantizer=None, values=None):
        if not getattr(layer, "use_bias", True) and values is None:
            return np.zeros(n, dtype=np.int64), 0
        q = quantizer if quantizer is not None else getattr(layer, "bias_quantizer_internal", None)
        return _weight_codes(layer, "bias", q, layer.bias if values is None else values)

    # -- convolutions ---------------------------------------------------------
    def _geometry(self, src: str, layer) -> tuple[int, int, int]:
        shape = self.tensors[src].shape
        if len(shape) == 3:
            return shape
        if len(shape) == 2:
            return (1,) + tuple(shape)
        raise HlsgenError(f"layer '{layer.name}' needs a 1-D signal or an image with channels "
                          f"last; its input has shape {shape}")

    def _pad_for(self, layer, src, kh, kw, sh, sw, padding) -> str:
        """Keras 'same' padding as an explicit zero-padding node."""
        ih, iw, c = self._geometry(src, layer)
        if padding == "valid":
            return src
        if padding != "same":
            raise HlsgenError(f"layer '{layer.name}': padding '{padding}' is not supported; use "
                              "'valid' or 'same'")
        oh, ow = -(-ih // sh), -(-iw // sw)
        ph, pw = max((oh - 1) * sh + kh - ih, 0), max((ow - 1) * sw + kw - iw, 0)
        if ph == pw == 0:
            return src
        return self._pad_node(layer.name + "_pad", src, (ph // 2, ph - ph // 2, pw // 2, pw - pw // 2))

    def _image_node(self, op, name, src, height, width, attrs) -> str:
        """A node whose output is src's image at height x width (same channels),
        as a 1-D signal when src is one."""
        c = self._geometry(src, None)[2]
        shape = (height, width, c) if len(self.tensors[src].shape) == 3 else (width, c)
        return self.node(op, name, [src], shape, attrs)

    def _pad_node(self, name, src, pads) -> str:
        ih, iw, _ = self._geometry(src, None)
        top, bottom, left, right = pads
        return self._image_node("pad", name, src, ih + top + bottom, iw + left + right,
                                {"top": top, "bottom": bottom, "left": left, "right": right})

    def _conv_common(self, layer, src, kernel_hw, strides, padding, dilation):
        if any(d != 1 for d in np.atleast_1d(dilation)):
            raise HlsgenError(f"layer '{layer.name}': dilation {dilation} is not supported; use 1")
        kh, kw = kernel_hw
        sh, sw = strides
        return self._pad_for(layer, src, kh, kw, sh, sw, padding)

    def _conv_node(self, layer, src, w, w_frac, b, b_frac, kh, kw, sh, sw, depthwise, name=None,
                   out_shape=None):
        ih, iw, c = self._geometry(src, layer)
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        cout = w.shape[-1]
        shape = out_shape if out_shape is not None else (
            (oh, ow, cout) if len(self.tensors[src].shape) == 3 else (ow, cout))
        name = name or layer.name
        return self.node("conv", name, [src], shape,
                         {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "depthwise": depthwise,
                          "w_frac": w_frac, "b_frac": b_frac}, {"weights": w, "bias": b},
                         tname=name + "_acc")

    def _QConv2D(self, layer, srcs, folded=None):
        src = self.resolve(*srcs[0], layer.name)
        kh, kw = layer.kernel_size
        sh, sw = layer.strides
        src = self._conv_common(layer, src, (kh, kw), (sh, sw), layer.padding, layer.dilation_rate)
        kernel = folded[0] if folded else layer.kernel
        w, w_frac = _weight_codes(layer, "kernel", layer.kernel_quantizer_internal, kernel)
        w = w.reshape(-1, w.shape[-1])
        if folded:
            b, b_frac = self._bias(layer, w.shape[-1], values=folded[1])
        else:
            b, b_frac = self._bias(layer, w.shape[-1])
        t = self._conv_node(layer, src, w, w_frac, b, b_frac, kh, kw, sh, sw, False)
        return self._with_activation(layer, t)

    def _QConv2DBatchnorm(self, layer, srcs):
        return self._QConv2D(layer, srcs, folded=layer.get_folded_weights())

    def _QConv1D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        (k,), (s,) = layer.kernel_size, layer.strides
        src = self._conv_common(layer, src, (1, k), (1, s), layer.padding, layer.dilation_rate)
        w, w_frac = _weight_codes(layer, "kernel", layer.kernel_quantizer_internal, layer.kernel)
        w = w.reshape(-1, w.shape[-1])
        b, b_frac = self._bias(layer, w.shape[-1])
        t = self._conv_node(layer, src, w, w_frac, b, b_frac, 1, k, 1, s, False)
        return self._with_activation(layer, t)

    def _depthwise(self, layer, src, quantizer, with_bias, name=None):
        kh, kw = layer.kernel_size
        sh, sw = layer.strides
        if getattr(layer, "depth_multiplier", 1) != 1:
            raise HlsgenError(f"layer '{layer.name}': depth_multiplier {layer.depth_multiplier} is "
                              "not supported; use 1")
        src = self._conv_common(layer, src, (kh, kw), (sh, sw), layer.padding, layer.dilation_rate)
        w, w_frac = _weight_codes(layer, "depthwise", quantizer, layer.depthwise_kernel)
        w = w.reshape(kh * kw, -1)               # [KH*KW, C]
        if with_bias:
            b, b_frac = self._bias(layer, w.shape[-1])
        else:
            b, b_frac = np.zeros(w.shape[-1], dtype=np.int64), 0
        return self._conv_node(layer, src, w, w_frac, b, b_frac, kh, kw, sh, sw, True, name=name)

    def _QDepthwiseConv2D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        t = self._depthwise(layer, src, layer.depthwise_quantizer_internal, True)
        return self._with_activation(layer, t)

    def _QSeparableConv2D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        t = self._depthwise(layer, src, layer.depthwise_quantizer_internal, False,
                            name=layer.name + "_depthwise")
        w, w_frac = _weight_codes(layer, "pointwise", layer.pointwise_quantizer_internal,
                                  layer.pointwise_kernel)
        w = w.reshape(-1, w.shape[-1])
        b, b_frac = self._bias(layer, w.shape[-1])
        t = self._conv_node(layer, t, w, w_frac, b, b_frac, 1, 1, 1, 1, False,
                            name=layer.name + "_pointwise")
        return self._with_activation(layer, t)

    # -- pooling, padding, merging -------------------------------------------
    def _pool(self, layer, srcs, mode, pool_hw, strides_hw, padding):
        src = self.resolve(*srcs[0], layer.name)
        ih, iw, c = self._geometry(src, layer)
        kh, kw = pool_hw
        sh, sw = strides_hw
        if padding != "valid" and not (ih % sh == 0 and iw % sw == 0 and kh == sh and kw == sw):
            raise HlsgenError(f"layer '{layer.name}': pooling with padding '{padding}' is "
                              "supported only where it equals 'valid'; use padding='valid'")
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        shape = (oh, ow, c) if len(self.tensors[src].shape) == 3 else (ow, c)
        t = self.node("pool", layer.name, [src], shape,
                      {"mode": "max" if mode == "max" else "sum", "kh": kh, "kw": kw, "sh": sh,
                       "sw": sw}, tname=layer.name + ("" if mode == "max" else "_sum"))
        if mode == "max":
            return t, Pending()
        n = kh * kw
        shift = int(np.log2(n)) if n & (n - 1) == 0 else None
        window = (kh, kw) if len(self.tensors[src].shape) == 3 else (kw,)
        return t, Pending([_window_sum_fn(layer, window)], [layer.name], shift)

    def _MaxPooling2D(self, layer, srcs):
        return self._pool(layer, srcs, "max", layer.pool_size, layer.strides, layer.padding)

    def _AveragePooling2D(self, layer, srcs):
        return self._pool(layer, srcs, "avg", layer.pool_size, layer.strides, layer.padding)

    def _MaxPooling1D(self, layer, srcs):
        return self._pool(layer, srcs, "max", (1,) + tuple(layer.pool_size),
                          (1,) + tuple(layer.strides), layer.padding)

    def _AveragePooling1D(self, layer, srcs):
        return self._pool(layer, srcs, "avg", (1,) + tuple(layer.pool_size),
                          (1,) + tuple(layer.strides), layer.padding)

    def _global(self, layer, srcs, mode):
        src = self.resolve(*srcs[0], layer.name)
        if getattr(layer, "keepdims", False):
            raise HlsgenError(f"layer '{layer.name}': keepdims=True is not supported")
        ih, iw, c = self._geometry(src, layer)
        t, pending = self._pool(layer, [(src, Pending())], mode, (ih, iw), (ih, iw), "valid")
        self.tensors[t].shape = (c,)
        if pending:
            window = (ih, iw) if len(self.tensors[src].shape) == 3 else (iw,)
            pending.fns = [_window_sum_fn(layer, window)]
        return t, pending

    def _GlobalAveragePooling2D(self, layer, srcs):
        return self._global(layer, srcs, "avg")

    _GlobalAveragePooling1D = _GlobalAveragePooling2D

    def _GlobalMaxPooling2D(self, layer, srcs):
        return self._global(layer, srcs, "max")

    _GlobalMaxPooling1D = _GlobalMaxPooling2D

    def _ZeroPadding2D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        (top, bottom), (left, right) = layer.padding
        return self._pad_node(layer.name, src, (top, bottom, left, right)), Pending()

    def _ZeroPadding1D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        left, right = layer.padding
        return self._pad_node(layer.name, src, (0, 0, left, right)), Pending()

    def _upsample_node(self, name, src, fh, fw, mode) -> str:
        ih, iw, _ = self._geometry(src, None)
        return self._image_node("upsample", name, src, ih * fh, iw * fw,
                                {"fh": fh, "fw": fw, "mode": mode})

    def _crop_node(self, name, src, crops) -> str:
        ih, iw, _ = self._geometry(src, None)
        top, bottom, left, right = crops
        return self._image_node("crop", name, src, ih - top - bottom, iw - left - right,
                                {"top": top, "bottom": bottom, "left": left, "right": right})

    def _UpSampling2D(self, layer, srcs):
        if getattr(layer, "interpolation", "nearest") != "nearest":
            raise HlsgenError(f"layer '{layer.name}': interpolation '{layer.interpolation}' is not "
                              "supported; use interpolation='nearest'")
        src = self.resolve(*srcs[0], layer.name)
        fh, fw = (int(v) for v in layer.size)
        return self._upsample_node(layer.name, src, fh, fw, "nearest"), Pending()

    def _UpSampling1D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        return self._upsample_node(layer.name, src, 1, int(layer.size), "nearest"), Pending()

    def _Cropping2D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        (top, bottom), (left, right) = layer.cropping
        return self._crop_node(layer.name, src, (top, bottom, left, right)), Pending()

    def _Cropping1D(self, layer, srcs):
        src = self.resolve(*srcs[0], layer.name)
        left, right = layer.cropping
        return self._crop_node(layer.name, src, (0, 0, left, right)), Pending()

    def _QConv2DTranspose(self, layer, srcs):
        """As an ordinary convolution on the zero-inserted input
        (gen/frontends/transposed.py)."""
        src = self.resolve(*srcs[0], layer.name)
        # (QConv2DTranspose drops output_padding itself; Keras allows only
        # 'valid' and 'same'.)
        if any(d != 1 for d in np.atleast_1d(layer.dilation_rate)):
            raise HlsgenError(f"layer '{layer.name}': dilation {layer.dilation_rate} is not "
                              "supported on a transposed convolution; leave it at 1")
        (kh, kw), (sh, sw) = layer.kernel_size, layer.strides
        w, w_frac = _weight_codes(layer, "kernel", layer.kernel_quantizer_internal, layer.kernel)
        w = turned_kernel(w)
        b, b_frac = self._bias(layer, w.shape[-1])
        t = src
        if sh > 1 or sw > 1:
            t = self._upsample_node(layer.name + "_zeros", t, sh, sw, "zeros")
        (top, bottom), (left, right) = (
            around_zero_inserted(k, s, *keras_cuts(k, s, layer.padding))
            for k, s in ((kh, sh), (kw, sw)))
        t = self._around(layer.name, t, top, bottom, left, right)
        t = self._conv_node(layer, t, w, w_frac, b, b_frac, kh, kw, 1, 1, False)
        return self._with_activation(layer, t)

    def _around(self, name, src, top, bottom, left, right) -> str:
        """Zero padding where the margins are positive, cropping where negative."""
        margins = (top, bottom, left, right)
        if min(margins) < 0:
            src = self._crop_node(name + "_crop", src, tuple(max(-m, 0) for m in margins))
        if max(margins) > 0:
            src = self._pad_node(name + "_pad", src, tuple(max(m, 0) for m in margins))
        return src

    def _Add(self, layer, srcs):
        ins = [self.resolve(t, p, layer.name) for t, p in srcs]
        t = self.node("add", layer.name, ins, layer.output_shape[1:], tname=layer.name + "_sum")
        return t, Pending()

    def _Concatenate(self, layer, srcs):
        ins = [self.resolve(t, p, layer.name) for t, p in srcs]
        rank = len(layer.output_shape)
        if layer.axis not in (-1, rank - 1):
            raise HlsgenError(f"layer '{layer.name}': concatenation on axis {layer.axis} is not "
                              "supported; concatenate channels (axis=-1)")
        return self.node("concat", layer.name, ins, layer.output_shape[1:]), Pending()

    # -- recurrent layers (gen/frontends/qkeras/recurrent.py) ------------------
    def _QSimpleRNN(self, layer, srcs):
        # recurrent.py reads quantizers with this module's helpers, passed in
        return recurrent_node(self, layer, srcs, sys.modules[__name__])

    _QLSTM = _QGRU = _QSimpleRNN
    _SimpleRNN = _LSTM = _GRU = refuse_float_rnn


class _Relu:
    """An unquantized ReLU inside a pending chain (float max(x, 0))."""

    def __call__(self, x):
        tf, _, _ = import_qkeras()
        return tf.nn.relu(x)


def _compose(fns: list[Callable]) -> Callable:
    def fn(x):
        for f in fns:
            x = f(x)
        return x
    return fn


def _io_layers(model) -> tuple[list, list]:
    """The model's input layers and output layers, in the model's own order
    (model.inputs, model.outputs)."""
    def layer_of(t):
        return t._keras_history.layer
    return [layer_of(t) for t in model.inputs], [layer_of(t) for t in model.outputs]


def keras_to_ir(km: KerasModel, output_mode: str = "logits") -> Graph:
    return _Reader(km).read(output_mode)
