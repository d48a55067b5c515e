"""The framework beside C simulation of new inputs: `hlsgen csim --inputs`
runs the model the project was made from on the same inputs and counts
where it and the golden executor differ, as `hlsgen generate` does on the
test vectors.

The model is read again from what the manifest records (model_source), or
is the one a Python session converted (hlsgen.convert). It is used only if
it is the same model: the hash of the model as loaded (structure and
weights, whichever files they come from) is the one recorded at generate,
and it reproduces, value for value, the framework outputs saved for the
test vectors (an arg-max design: the scores, not only the labels).
Otherwise nothing is compared, and the reason is said."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir import golden
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
    from hlsgen.frontends.select import content_hash, load_frontend
    from hlsgen.sweeps.spec import model_files
    src = meta.get("model_source")
    if frontend is None:
        if not src:
            return None, ("the project was made from a model in memory; compare in the same "
                          "Python session (Project.csim of hlsgen.convert's project)"
                          if "model_source" in meta else
                          "the project does not record how to load its model (made by an older "
                          "hlsgen); generate it again")
        missing = [p for p in model_files(src["model"], src) if not p.is_file()]
        if missing:
            return None, f"the model's file '{missing[0]}' is not there any more"
        try:
            frontend, _ = load_frontend(src["model"], src.get("weights"), src.get("checkpoint"),
                                             src.get("input_shape"))
        except HlsgenError as e:
            return None, f"the model does not load any more: {e}"
        frontend.to_ir(meta.get("output", "logits"))   # how data cross its boundary
        if hasattr(frontend, "graph"):   # its outputs' types: those of the project's IR
            frontend.graph = graph
    if meta.get("model_content_sha256") not in (None, content_hash(frontend)):
        return None, ("the model has changed since the project was made from it (its structure "
                      "or weights)")
    fw = Framework(frontend, graph)
    tb = project / "tb"
    gold = np.load(tb / "golden.npy")
    codes = np.fromfile(tb / "inputs.bin", dtype="<i8").reshape(len(gold), -1)
    scores = tb / "framework_scores.npy"   # an arg-max design's: finer than its labels
    saved = np.load(scores if scores.is_file() else tb / "framework.npy")
    again, _ = outputs(fw, codes, golden.output_values(graph, gold), design=not scores.is_file())
    if not np.array_equal(again, saved):
        return None, ("the model does not reproduce the framework outputs saved for the test "
                      f"vectors ({int(np.sum(again != saved))} of {saved.size} values differ): "
                      "it is not the model the project was made from")
    return fw, ""


def outputs(fw: Framework, codes: np.ndarray, gold: np.ndarray, progress=None,
            design: bool = True) -> tuple[np.ndarray, dict | None]:
    """The framework's outputs for input code frames, BATCH at a time (in the
    design's units; design=False: its own scores), and its explained
    differences from golden where the frontend explains them (QONNX,
    Brevitas). gold: golden.output_values of the same frames."""
    from hlsgen.flow import framework_scores
    from hlsgen.frontends.qonnx.compare import merge
    parts, diffs = [], None
    meta = getattr(getattr(fw.frontend, "graph", None), "meta", {})
    generated = meta.get("framework_differences")   # generate's record, put back below
    try:
        for i in range(0, len(codes), BATCH):
            meta.pop("framework_differences", None)
            scores = framework_scores(fw.frontend, fw.graph, codes[i:i + BATCH], gold[i:i + BATCH])
            parts.append(golden.design_units(fw.graph, scores) if design else scores)
            if "framework_differences" in meta:
                diffs = merge(diffs, meta.pop("framework_differences"))
            if progress:
                progress(len(parts[-1]))
    finally:
        meta.pop("framework_differences", None)
        if generated is not None:
            meta["framework_differences"] = generated
    return np.concatenate(parts), diffs
