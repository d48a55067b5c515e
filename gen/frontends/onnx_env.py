"""Imports onnx/onnxruntime/qonnx the way hlsgen needs them, and keeps ONNX
models runnable on the installed onnxruntime whatever IR version they were
saved with (exporters may write a newer IR version than onnxruntime accepts;
the operators are unchanged, so lowering the version number is safe)."""

from __future__ import annotations

import functools
import logging
import warnings

from gen.errors import HlsgenError


def import_onnx():
    """(onnx, onnxruntime), or a one-line error naming the missing package."""
    try:
        import onnx
        import onnxruntime
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise HlsgenError(f"QONNX support needs onnx and onnxruntime ({e}); install them with: "
                          "pip install 'hlsgen[brevitas]'")
    onnxruntime.set_default_logger_severity(3)
    return onnx, onnxruntime


def import_qonnx():
    import_onnx()
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            import qonnx.core.modelwrapper  # noqa: F401
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise HlsgenError(f"QONNX support needs the qonnx package ({e}); install it with: "
                          "pip install 'hlsgen[brevitas]'")
    logging.getLogger("qonnx").setLevel(logging.ERROR)
    import qonnx
    return qonnx


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
