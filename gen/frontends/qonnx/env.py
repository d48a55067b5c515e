"""Imports onnx/onnxruntime/qonnx the way hlsgen needs them, and keeps ONNX
models runnable on the installed onnxruntime whatever IR version they were
saved with (exporters may write a newer IR version than onnxruntime accepts;
the operators are unchanged, so lowering the version number is safe)."""

from __future__ import annotations

import functools
import importlib
import logging
import warnings

from hlsgen.errors import HlsgenError


def require(purpose: str, *modules: str) -> list:
    """Imports modules (quietly), or a one-line error naming what is missing."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            return [importlib.import_module(m) for m in modules]
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise HlsgenError(f"{purpose} needs {', '.join(modules)} ({e}); install them with: "
                          "pip install 'hlsgen[brevitas]'")


def import_onnx():
    """(onnx, onnxruntime)."""
    onnx, ort = require("QONNX support", "onnx", "onnxruntime")
    ort.set_default_logger_severity(3)
    return onnx, ort


def import_qonnx():
    import_onnx()
    require("QONNX support", "qonnx.core.modelwrapper")
    logging.getLogger("qonnx").setLevel(logging.ERROR)


@functools.cache
def max_ir_version() -> int:
    """The newest ONNX IR version that both the installed onnx package and
    onnxruntime accept, found by asking onnxruntime to load a one-node model."""
    onnx, ort = import_onnx()
    from onnx import TensorProto, helper
    x = helper.make_tensor_value_info("x", TensorProto.FLOAT, [1])
    y = helper.make_tensor_value_info("y", TensorProto.FLOAT, [1])
    probe = helper.make_model(helper.make_graph([helper.make_node("Identity", ["x"], ["y"])],
                                                "probe", [x], [y]),
                              opset_imports=[helper.make_opsetid("", 13)])
    for version in range(onnx.IR_VERSION, 3, -1):
        probe.ir_version = version
        try:
            ort.InferenceSession(probe.SerializeToString(), providers=["CPUExecutionProvider"])
            return version
        except Exception:  # onnxruntime raises its own exception types
            continue
    return 3


def lower_ir_version(model_proto) -> bool:
    """Sets the model's IR version to one onnxruntime accepts; True if it changed."""
    if model_proto.ir_version > max_ir_version():
        model_proto.ir_version = max_ir_version()
        return True
    return False


def session(model_proto):
    """An onnxruntime session for a model (its IR version lowered if needed)."""
    _, ort = import_onnx()
    lower_ir_version(model_proto)
    opts = ort.SessionOptions()
    opts.intra_op_num_threads = 1   # values must not depend on how work is split
    opts.log_severity_level = 3
    return ort.InferenceSession(model_proto.SerializeToString(), opts,
                                providers=["CPUExecutionProvider"])
