"""QKeras frontend: a Keras/QKeras model file -> IR.

Weights enter the IR as the framework's own quantized values (the kernel
quantizer applied to the kernel, exactly what QDense multiplies by), turned
into integer codes without loss. Activation quantizers enter as the
framework's own functions; the requantization pass derives exact integer
parameters from them and checks them against every reachable input.
"""

from __future__ import annotations

import contextlib
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

from gen.errors import HlsgenError
from gen.frontends.keras_env import import_qkeras
from gen.ir import Graph, Node, Tensor
from gen.qtype import QType, exact_frac

SUPPORTED_LAYERS = ["InputLayer", "QDense", "QActivation", "Activation (relu, linear)",
                    "Dropout", "Flatten", "Reshape", "a trailing softmax"]
SUPPORTED_ACTIVATION_QUANTIZERS = ["quantized_relu(bits, integer)",
                                   "quantized_bits(bits, integer, keep_negative, symmetric, alpha=1)"]
SUPPORTED_WEIGHT_QUANTIZERS = ["quantized_bits (alpha=None, 1, a power of two, or 'auto_po2')",
                               "quantized_po2"]


@dataclass
class KerasModel:
    """A loaded model and how to ask it for the values the design computes."""
    model: object
    path: Path
    softmax_layer: object | None  # a trailing softmax kept out of the design

    def predict(self, x: np.ndarray) -> np.ndarray:
        """The framework's pre-softmax outputs for float inputs (float32)."""
        tf, _, _ = import_qkeras()
        outs = []
        with self._without_softmax():
            for i in range(0, len(x), 1024):
                batch = tf.constant(np.asarray(x[i:i + 1024], dtype=np.float32))
                outs.append(np.asarray(self.model(batch, training=False)))
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
                              ".h5, .keras, or .json with --weights, or a QONNX .onnx file")
    except HlsgenError:
        raise
    except Exception as e:  # the framework's loaders raise many types
        reason = str(e).splitlines()[0][:160] if str(e) else type(e).__name__
        raise HlsgenError(f"cannot read '{path}' as a Keras/QKeras model ({reason}); save it with "
                          "model.save('model.h5') or give --weights for a .json architecture")
    return model


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
            raise HlsgenError(f"layer '{layer_name}': 1-bit activation {quantizer} is binary; "
                              "binarized activations are not supported yet")
        m = 1 << unsigned
        lo = (-m + int(bool(quantizer.symmetric))) if neg else 0
        return unsigned - integer, lo, m - 1
    raise HlsgenError(f"layer '{layer_name}': activation quantizer {kind} is not supported; "
                      f"use one of: {', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)}")


def _quantizer_fn(quantizer) -> Callable[[np.ndarray], np.ndarray]:
    tf, _, _ = import_qkeras()

    def fn(x: np.ndarray) -> np.ndarray:
        return np.asarray(quantizer(tf.constant(np.asarray(x, dtype=np.float32))))
    return fn


def _weight_codes(layer, which: str, quantizer, values: np.ndarray) -> tuple[np.ndarray, int]:
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
    elif kind != "quantized_po2":
        raise HlsgenError(f"layer '{layer.name}': {which}_quantizer {kind} is not supported; use one "
                          f"of: {', '.join(SUPPORTED_WEIGHT_QUANTIZERS)}")
    tf, _, _ = import_qkeras()
    q = np.asarray(quantizer(tf.constant(values.astype(np.float32)))).astype(np.float64)
    frac = exact_frac(q)
    codes = np.round(q * 2.0**frac).astype(np.int64)
    return codes, frac


def keras_to_ir(km: KerasModel, output_mode: str = "logits") -> Graph:
    model = km.model
    if len(model.inputs) != 1 or len(model.outputs) != 1:
        raise HlsgenError(f"model '{km.path.name}' has {len(model.inputs)} inputs and "
                          f"{len(model.outputs)} outputs; hlsgen takes one input and one output")
    in_shape = tuple(int(d) for d in model.inputs[0].shape[1:])
    tensors: dict[str, Tensor] = {"input": Tensor("input", in_shape)}
    nodes: list[Node] = [Node("input", "input", [], ["input"])]
    alias: dict[str, str] = {}          # layer name -> tensor holding its output
    last_layer = model.layers[-1]

    for layer in model.layers:
        kind = type(layer).__name__
        if kind == "InputLayer":
            alias[layer.name] = "input"
            continue
        if len(layer._inbound_nodes) != 1:
            raise HlsgenError(f"layer '{layer.name}' is used more than once; shared layers are not "
                              "supported")
        inbound = layer._inbound_nodes[0].inbound_layers
        inbound = inbound if isinstance(inbound, (list, tuple)) else [inbound]
        srcs = [alias.get(l.name, "input") for l in inbound]
        if len(srcs) != 1:
            raise HlsgenError(f"layer '{layer.name}' ({kind}) has {len(srcs)} inputs; layers with "
                              "several inputs are not supported yet")
        src = srcs[0]
        out_shape = tuple(int(d) for d in layer.output_shape[1:])

        def add(op, attrs=None, params=None, transient=None, name=None, inputs=None):
            tname = name or layer.name
            tensors[tname] = Tensor(tname, out_shape)
            nodes.append(Node(op, layer.name, inputs or [src], [tname], attrs or {}, params or {},
                              transient or {}))
            return tname

        if kind == "Dropout":
            alias[layer.name] = src
        elif kind in ("Flatten", "Reshape"):
            alias[layer.name] = add("reshape", {"shape": list(out_shape)})
        elif kind == "QDense":
            alias[layer.name] = _dense(layer, src, add, km, last_layer)
        elif kind == "QActivation":
            q = layer.quantizer if hasattr(layer, "quantizer") else layer.activation
            alias[layer.name] = _activation(layer, q, src, add, km, last_layer, tensors)
        elif kind == "Activation":
            alias[layer.name] = _activation(layer, layer.activation, src, add, km, last_layer, tensors)
        else:
            hint = (" (a Dense layer without quantizers: use QDense with kernel_quantizer and "
                    "bias_quantizer)") if kind == "Dense" else ""
            raise HlsgenError(f"layer '{layer.name}' of type {kind} is not supported{hint}; "
                              f"supported: {', '.join(SUPPORTED_LAYERS)}")

    out = alias[last_layer.name]
    if output_mode == "argmax":
        tensors["label"] = Tensor("label", (1,))
        nodes.append(Node("argmax", "label_select", [out], ["label"]))
        out = "label"
    return Graph(nodes, tensors, ["input"], [out], {"framework": "qkeras", "source": km.path.name})


def _dense(layer, src, add, km, last_layer) -> str:
    kq = getattr(layer, "kernel_quantizer_internal", None)
    kernel_codes, kernel_frac = _weight_codes(layer, "kernel", kq, layer.kernel.numpy())
    if layer.use_bias:
        bq = getattr(layer, "bias_quantizer_internal", None)
        bias_codes, bias_frac = _weight_codes(layer, "bias", bq, layer.bias.numpy())
    else:
        bias_codes, bias_frac = np.zeros(kernel_codes.shape[1], dtype=np.int64), 0
    acc = add("dense", {"w_frac": kernel_frac, "b_frac": bias_frac},
              {"weights": kernel_codes, "bias": bias_codes}, name=f"{layer.name}_acc"
              if not _is_linear(layer.activation) else None)
    if _is_linear(layer.activation):
        return acc
    return _activation(layer, layer.activation, acc, add, km, last_layer, None, inputs=[acc])


def _is_linear(act) -> bool:
    return not _is_quantizer(act) and _activation_name(act) == "linear"


def _activation(layer, act, src, add, km, last_layer, tensors, inputs=None) -> str:
    name = _activation_name(act)
    if isinstance(act, str):
        import_qkeras()
        from qkeras.quantizers import get_quantizer
        try:
            act = get_quantizer(act)
        except Exception:
            raise HlsgenError(f"layer '{layer.name}': activation '{act}' is not understood; "
                              f"use one of: {', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)}, relu")
        name = _activation_name(act)
    if _is_quantizer(act):
        frac, lo, hi = _grid_of(act, layer.name)
        return add("requant", {"source": str(act)}, transient={"fn": _quantizer_fn(act),
                   "grid": (frac, lo, hi)}, inputs=inputs)
    if name == "linear":
        return src
    if name == "relu":
        return add("requant", {"source": "relu"}, transient={"relu": True}, inputs=inputs)
    if name == "softmax":
        if layer is not last_layer:
            raise HlsgenError(f"layer '{layer.name}': softmax is supported only as the last "
                              "activation (it is kept out of the exact path)")
        km.softmax_layer = layer
        return src
    raise HlsgenError(f"layer '{layer.name}': activation '{name}' is not supported; use relu, "
                      f"linear, a trailing softmax, or a quantizer: "
                      f"{', '.join(SUPPORTED_ACTIVATION_QUANTIZERS)}")
