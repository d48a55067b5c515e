"""The framework beside C simulation of new inputs: `hlsgen csim --inputs`
runs the model the project was made from on the same inputs and counts
where it and the golden executor differ, as `hlsgen generate` does on the
test vectors.

The model is read again from what the manifest records (model_source), or
is the one a Python session converted (hlsgen.convert). It is used only if
it is the same model: its file's hash is the manifest's, and it reproduces,
value for value, the framework outputs generate saved for the test vectors
(tb/framework.npy). Otherwise nothing is compared, and the reason is said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir.graph import Graph

# Frames per framework call: a multiple of the frontends' own batches (256),
# so that the framework's float32 arithmetic sees the frames batched as in
# its explanations of differences (qonnx/compare.py).
BATCH = 512


@dataclass
class Framework:
    frontend: object     # the frontend protocol (hlsgen/frontends/__init__.py)
    graph: Graph         # the project's lowered IR


def reload(project: Path, meta: dict, graph: Graph, frontend=None) -> tuple[Framework | None, str]:
    """(Framework, "") for the model the project was made from, or (None, why
    not). frontend: the model as a Python session read it (GenerateResult)."""
    if frontend is None:
        src = meta.get("model_source")
        if not src:
            return None, ("the project was made from a model in memory; compare in the same "
                          "Python session (Project.csim of hlsgen.convert's project)"
                          if "model_source" in meta else
                          "the project does not record how to load its model (made by an older "
                          "hlsgen); generate it again")
        missing = [p for p in (src["model"].rpartition(":")[0] if ".py:" in src["model"] else
                               src["model"], src.get("weights"), src.get("checkpoint"))
                   if p and not Path(p).is_file()]
        if missing:
            return None, f"the model's file '{missing[0]}' is not there any more"
        from hlsgen.frontends.select import load_frontend
        try:
            frontend, source = load_frontend(src["model"], src.get("weights"), src.get("checkpoint"),
                                             src.get("input_shape"))
        except HlsgenError as e:
            return None, f"the model does not load any more: {e}"
        if source.sha256 != meta.get("source_sha256"):
            return None, f"the model '{source.path or source.name}' has changed since generate"
        frontend.to_ir(meta.get("output", "logits"))   # how data cross its boundary
        if hasattr(frontend, "graph"):   # its outputs' types: those of the project's IR
            frontend.graph = graph
    fw = Framework(frontend, graph)
    codes = np.fromfile(project / "tb" / "inputs.bin", dtype="<i8")
    saved = np.load(project / "tb" / "framework.npy")
    again, _ = outputs(fw, codes.reshape(len(saved), -1))
    if not np.array_equal(again, saved):
        return None, ("the model does not reproduce the framework outputs saved for the test "
                      f"vectors ({int(np.sum(again != saved))} of {saved.size} values differ): "
                      "its weights are not those the project was made from")
    return fw, ""


def outputs(fw: Framework, codes: np.ndarray, gold: np.ndarray | None = None,
            progress=None) -> tuple[np.ndarray, dict | None]:
    """The framework's outputs for input code frames, BATCH at a time, and
    its explained differences from golden where the frontend explains them
    (QONNX, Brevitas). gold: golden.output_values of the same frames."""
    from hlsgen.flow import framework_outputs
    from hlsgen.frontends.qonnx.compare import merge
    parts, diffs = [], None
    meta = getattr(getattr(fw.frontend, "graph", None), "meta", {})
    generated = meta.get("framework_differences")   # generate's record, put back below
    for i in range(0, len(codes), BATCH):
        meta.pop("framework_differences", None)
        parts.append(framework_outputs(fw.frontend, fw.graph, codes[i:i + BATCH],
                                       None if gold is None else gold[i:i + BATCH]))
        if "framework_differences" in meta:
            diffs = merge(diffs, meta.pop("framework_differences"))
        if progress:
            progress(len(parts[-1]))
    if generated is not None:
        meta["framework_differences"] = generated
    return np.concatenate(parts) if parts else np.zeros((0, 0)), diffs
