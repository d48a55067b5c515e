"""Which frontend reads a model, and what identifies the model: a file path
(QKeras .h5/.keras/.json, QONNX .onnx, Brevitas `file.py:function`) or an
object in memory (a Keras/QKeras model, a Brevitas/PyTorch module, an ONNX
ModelProto)."""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from pathlib import Path

from hlsgen.errors import HlsgenError


@dataclass
class Source:
    """What the manifest records of the model a project was made from."""
    name: str            # a file name, or the in-memory model's name
    path: str | None     # the resolved file, None for a model in memory
    sha256: str          # of the file, or of the in-memory model's weights and structure


def load_frontend(model, weights=None, checkpoint=None, input_shape=None):
    """(frontend, Source) for `model` (see gen/frontends/__init__.py for the
    frontend protocol)."""
    if isinstance(model, (str, Path)):
        return _from_path(str(model), weights, checkpoint, input_shape)
    if checkpoint or weights:
        raise HlsgenError("checkpoint and weights apply to a model given as a file; a model in "
                          "memory already holds its weights")
    kind = _kind(model)
    if kind == "keras":
        from hlsgen.frontends.qkeras.reader import KerasModel
        name = getattr(model, "name", None) or "model"
        return KerasModel(model, Path(name), None), Source(name, None, _keras_hash(model))
    if kind == "torch":
        from hlsgen.frontends.brevitas.loader import from_module, parse_input_shape
        if input_shape is None:
            raise HlsgenError("a PyTorch/Brevitas module needs input_shape, e.g. "
                              "input_shape=(1, 1, 8, 8) (with the batch dimension)")
        name = type(model).__name__
        model.eval()   # exported and run for inference, as the hardware does
        return (from_module(model, parse_input_shape(input_shape), name),
                Source(name, None, _torch_hash(model)))
    if kind == "onnx":
        from hlsgen.frontends.qonnx.reader import QonnxModel, clean_model
        name = model.graph.name or "model"
        digest = hashlib.sha256(model.SerializeToString()).hexdigest()
        return QonnxModel(clean_model(model), Path(name)), Source(name, None, digest)
    raise HlsgenError(f"a {type(model).__module__}.{type(model).__name__} is not a model hlsgen "
                      "reads; give a file path, a Keras/QKeras model, a Brevitas module (with "
                      "input_shape) or an ONNX ModelProto")


def _kind(model) -> str | None:
    """The framework an in-memory model belongs to, by its class's module
    (never importing a framework the user has not loaded)."""
    for cls in type(model).__mro__:
        root = cls.__module__.split(".")[0]
        if root in ("keras", "tf_keras", "tensorflow", "qkeras"):
            return "keras"
        if root in ("torch", "brevitas"):
            return "torch"
        if root == "onnx" and cls.__name__ == "ModelProto":
            return "onnx"
    return None


def module_spec(model: str) -> tuple[str, str] | None:
    """(script, function) of a Brevitas model given as `file.py:function`,
    else None."""
    script, _, func = str(model).rpartition(":")
    return (script, func) if script.endswith(".py") and func else None


def absolute_model(model: str) -> str:
    """A model's path made absolute (file.py:function too): where another
    process, or a later command, finds it."""
    spec = module_spec(model)
    return f"{Path(spec[0]).resolve()}:{spec[1]}" if spec else str(Path(model).resolve())


def content_hash(fe) -> str:
    """The model as loaded (structure and weights, whichever files they came
    from): a Brevitas module's, a Keras model's, or a QONNX graph's."""
    module = getattr(fe, "module", None)
    if module is not None:
        return _torch_hash(module)
    if hasattr(fe.model, "get_weights"):
        return _keras_hash(fe.model)
    return hashlib.sha256(fe.model.model.SerializeToString()).hexdigest()


def _from_path(model: str, weights, checkpoint, input_shape):
    path = Path(model)
    spec = module_spec(model)
    if spec:
        script = spec[0]
        from hlsgen.frontends.brevitas.loader import load_module_spec
        fe = load_module_spec(model, checkpoint, input_shape)
        # A file.py:function model is identified by its checkpoint (or its script).
        ident = Path(checkpoint or script)
        return fe, Source(path.name, str(Path(script).resolve()), _file_hash(ident))
    if checkpoint or input_shape:
        raise HlsgenError("--checkpoint and --input-shape apply to a Brevitas model given as "
                          "file.py:function; leave them out for a model file")
    if path.suffix.lower() == ".onnx":
        from hlsgen.frontends.qonnx.reader import load_qonnx_file
        fe = load_qonnx_file(path)
    else:
        from hlsgen.frontends.qkeras.reader import KerasModel, load_keras_model
        fe = KerasModel(load_keras_model(path, Path(weights) if weights else None), path, None)
    return fe, Source(path.name, str(path.resolve()), _file_hash(path))


def _file_hash(path: Path) -> str:
    try:
        return hashlib.sha256(Path(path).read_bytes()).hexdigest()
    except OSError as e:
        raise HlsgenError(f"cannot read '{path}' ({e.strerror or e}); check the path")


def _keras_hash(model) -> str:
    h = hashlib.sha256(model.to_json().encode())
    for w in model.get_weights():
        h.update(w.tobytes())
    return h.hexdigest()


def _torch_hash(module) -> str:
    h = hashlib.sha256(repr(module).encode())
    # Brevitas leaves some parameters (learned scales) out of its state_dict.
    tensors = {**module.state_dict(), **dict(module.named_parameters()),
               **dict(module.named_buffers())}
    for key, value in sorted(tensors.items()):
        h.update(key.encode())
        h.update(value.detach().cpu().numpy().tobytes())
    return h.hexdigest()
