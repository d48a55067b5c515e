"""Brevitas frontend: a PyTorch module -> QONNX (exported by Brevitas
itself) -> the QONNX reader, with the module run by PyTorch as the reference.

`hlsgen generate train.py:build_model --checkpoint net.pt --input-shape 1,1,8,8`
imports train.py, calls build_model(), loads the checkpoint's state dict and
exports the model with brevitas.export.export_qonnx.
"""

from __future__ import annotations

import contextlib
import importlib.util
import io
import logging
import sys
import tempfile
import warnings
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qkeras.env import _quiet_stderr
from hlsgen.frontends.qonnx.env import require


def import_brevitas():
    """(torch, brevitas.export.export_qonnx)."""
    torch, _, export = require("Brevitas support", "torch", "brevitas", "brevitas.export")
    return torch, export.export_qonnx


def check_onnxoptimizer() -> None:
    """Brevitas' exporter imports onnxoptimizer and refuses to run without it."""
    if importlib.util.find_spec("onnxoptimizer") is None:
        raise HlsgenError("Brevitas' QONNX export needs the onnxoptimizer package, which is not "
                          "installed; install it with: pip install onnxoptimizer (or "
                          "'hlsgen[brevitas]')")


def export_module(module, input_shape: tuple):
    """The module exported to QONNX by Brevitas, as an onnx ModelProto."""
    torch, export_qonnx = import_brevitas()
    import onnx
    check_onnxoptimizer()
    module.eval()
    x = torch.zeros(tuple(int(d) for d in input_shape))
    for name in ("torch.onnx", "torch._dynamo", "torch.export", "brevitas"):
        logging.getLogger(name).setLevel(logging.ERROR)
    with tempfile.TemporaryDirectory(prefix="hlsgen-export-") as tmp:
        path = Path(tmp) / "model.onnx"
        try:
            with warnings.catch_warnings(), _quiet_stderr(), \
                    contextlib.redirect_stdout(io.StringIO()):
                warnings.simplefilter("ignore")
                export_qonnx(module, x, str(path))
        except ModuleNotFoundError as e:
            if "onnxoptimizer" in str(e):
                check_onnxoptimizer()
                raise HlsgenError("Brevitas' QONNX export needs onnx and onnxoptimizer; install "
                                  "them with: pip install onnx onnxoptimizer")
            raise
        except HlsgenError:
            raise
        except Exception as e:  # torch.export raises many types
            reason = str(e).strip().splitlines()[0][:200] if str(e).strip() else type(e).__name__
            raise HlsgenError(f"Brevitas cannot export the model to QONNX ({reason}); check that "
                              f"it runs on an input of shape {tuple(input_shape)}")
        return onnx.load(str(path))


def from_module(module, input_shape: tuple, source: str = "model"):
    """A QonnxModel for a Brevitas module (in eval mode) and its input shape
    (with the batch dimension, e.g. (1, 1, 8, 8))."""
    from hlsgen.frontends.qonnx.float_ops import TorchOps
    from hlsgen.frontends.qonnx.reader import QonnxModel, clean_model, opset_of
    wrapper = clean_model(export_module(module, input_shape))
    return QonnxModel(wrapper, Path(source), "brevitas", TorchOps(opset_of(wrapper), module), module)


def parse_input_shape(text) -> tuple:
    if isinstance(text, (tuple, list)):
        return tuple(int(d) for d in text)
    try:
        shape = tuple(int(d) for d in str(text).split(","))
    except ValueError:
        shape = ()
    if not shape or any(d <= 0 for d in shape):
        raise HlsgenError(f"--input-shape '{text}' is not understood; give the model's input "
                          "shape with the batch dimension, e.g. 1,1,8,8")
    return shape


def load_module_spec(spec: str, checkpoint: str | None, input_shape) -> object:
    """`file.py:function` -> the function's Brevitas model with the checkpoint's
    weights, as a QonnxModel."""
    file, _, func = spec.rpartition(":")
    path = Path(file)
    if not path.is_file():
        raise HlsgenError(f"'{file}' does not exist; give the model as path/to/file.py:function")
    if input_shape is None:
        raise HlsgenError(f"'{spec}' needs --input-shape (with the batch dimension, e.g. 1,1,8,8)")
    shape = parse_input_shape(input_shape)
    torch, _ = import_brevitas()
    module = _build(path, func)
    if checkpoint:
        _load_checkpoint(module, Path(checkpoint), torch)
    return from_module(module.eval(), shape, spec)


def _build(path: Path, func: str):
    torch, _ = import_brevitas()
    name = "hlsgen_user_" + path.stem
    spec = importlib.util.spec_from_file_location(name, path)
    mod = importlib.util.module_from_spec(spec)
    sys.path.insert(0, str(path.parent.resolve()))   # the file may import its neighbours
    try:
        spec.loader.exec_module(mod)
        builder = getattr(mod, func, None)
        if not callable(builder):
            raise HlsgenError(f"'{path}' has no function '{func}'; give path/to/file.py:function "
                              "where the function returns the Brevitas model")
        model = builder()
    except HlsgenError:
        raise
    except Exception as e:  # user code
        raise HlsgenError(f"building the model with {path.name}:{func}() failed "
                          f"({type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}); "
                          "fix the model file")
    finally:
        sys.path.pop(0)
    if not isinstance(model, torch.nn.Module):
        raise HlsgenError(f"{path.name}:{func}() returned {type(model).__name__}, not a "
                          "torch.nn.Module")
    return model


def _load_checkpoint(module, path: Path, torch) -> None:
    if not path.is_file():
        raise HlsgenError(f"checkpoint '{path}' does not exist; give the file saved with "
                          "torch.save(model.state_dict(), path)")
    try:
        state = torch.load(str(path), map_location="cpu", weights_only=True)
    except Exception as e:  # pickle and torch errors
        raise HlsgenError(f"cannot read checkpoint '{path}' ({str(e).splitlines()[0][:120]}); "
                          "save it with torch.save(model.state_dict(), path)")
    for key in ("state_dict", "model_state_dict", "model"):
        if isinstance(state, dict) and isinstance(state.get(key), dict):
            state = state[key]
    try:
        module.load_state_dict(state, strict=True)
    except Exception as e:  # RuntimeError listing missing/unexpected keys
        raise HlsgenError(f"checkpoint '{path}' does not fit the model "
                          f"({' '.join(str(e).split())[:200]}); save it from the same model "
                          "definition with torch.save(model.state_dict(), path)")
