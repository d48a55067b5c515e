"""The conversion flow: model -> frontend -> IR -> passes -> architecture ->
project folder. One flow for every architecture (hlsgen/arch/registry.py);
the Python API (hlsgen/api.py) and `hlsgen generate` both call `generate`."""

from __future__ import annotations

import datetime
import json
import platform
import shlex
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from hlsgen.arch import registry
from hlsgen.arch.base import DesignRequest
from hlsgen.arch.select import resolve_arch
from hlsgen.errors import HlsgenError
from hlsgen.frontends.select import absolute_model, content_hash, load_frontend
from hlsgen.ir import golden, host_tail
from hlsgen.ir.graph import Graph, named_inputs
from hlsgen.ir.qtype import QType, parse_type
from hlsgen.lint import lint_project
from hlsgen.options import DEFAULT_INPUT_TYPE, Options
from hlsgen.passes import run_passes
from hlsgen.platform.boards import load_board
from hlsgen.project.folder import check_target, staged_folder
from hlsgen.project.manifest import MANIFEST
from hlsgen.project.names import cpp_ident
from hlsgen.version import __version__


@dataclass
class GenerateResult:
    out: Path
    graph: Graph
    n_vectors: int
    exact_values: int     # golden == framework, counted over all output values
    total_values: int
    seconds: float
    arch: str = ""         # the architecture's name (hlsgen/arch/registry.py)
    design: object = None  # the architecture's design (a dataflow Design, a TiledDesign)
    notes: list = None     # budget lines also written to stderr and report.json ("budget")
    lint: object = None    # hlsgen.lint LintReport of the written project (report.json "lint")
    frontend: object = None  # the model as read (runs the framework beside csim of new inputs)


def generate(model, out: str | Path, options: Options | None = None, *,
             made_by: str = "hlsgen generate", log=None, **changes) -> GenerateResult:
    """`model` (a path or an in-memory model, see hlsgen/frontends/select.py)
    -> the project folder `out`. Options as an Options, or as its fields by
    name. log(line): where a budget note goes (an --fps out of reach, a
    default folding over the board); default: stderr, as `warning: <line>`."""
    t0 = time.perf_counter()
    opt = Options.of(options, **changes)
    out = Path(out)
    board = load_board(opt.board)
    check_target(out, opt.force)
    folding, folding_origin = _load_folding(opt.folding)
    fe, source = load_frontend(model, opt.weights, opt.checkpoint, opt.input_shape)
    model_hash = content_hash(fe)   # the model as loaded, before anything runs it
    graph = fe.to_ir(opt.output)
    typed = [_input_type(graph, opt.input_type, t) for t in graph.inputs]
    qt, qt_origin = typed[0]
    graph.meta["input_qtype"] = qt.to_dict()
    if len(graph.inputs) > 1:
        graph.meta["input_qtypes"] = [q.to_dict() for q, _ in typed]
    run_passes(graph)
    # Float operations after the last integer tensor (a frontend may hand them
    # over): tabulated on the codes the passes bound (hlsgen/ir/host_tail.py).
    tail = fe.host_tail(graph) if hasattr(fe, "host_tail") else None
    if tail:
        graph.meta["host_tail"] = tail
    tails = fe.host_tails(graph) if graph.multi_io and hasattr(fe, "host_tails") else None
    if tails:   # several inputs or outputs: each output's own tail (or None), in graph.outputs' order
        graph.meta["host_tails"] = tails

    name = cpp_ident(out.name) or "model"
    clock = opt.clock_mhz or board.clock_mhz
    arch_name, arch_reason = resolve_arch(opt.arch, graph, board, name, clock, folding)
    if graph.multi_io and arch_name != "dataflow":
        raise HlsgenError(f"the {arch_name} architecture takes one input and one output; this model "
                          f"has {len(graph.inputs)} input(s) and {len(graph.outputs)} output(s); "
                          "use --arch dataflow")
    arch = registry.get(arch_name)
    built = arch.design(graph, DesignRequest(name, board, clock, folding, folding_origin, opt.fps,
                                             opt.max_util, opt.budget, opt.tiling, log or _warn))

    codes = _test_vectors(graph, opt.test_data, opt.n_vectors, opt.seed, fe.input_to_ir)
    x_values = graph.input_values(codes)
    gold = golden.output_codes(graph, codes)
    scores = framework_scores(fe, graph, codes)
    fw = golden.design_units(graph, scores)
    exact = int(np.sum(golden.output_values(graph, gold) == fw))

    context = {"source": source.name, "framework": fe.framework, "model_hash": source.sha256,
               "board": board, "clock_mhz": clock, "n_vectors": len(codes),
               "softmax_dropped": fe.softmax_dropped, "out_hint": shlex.quote(str(out)),
               "framework_layout": graph.meta.get("framework_layout"),
               "output_scale": graph.meta.get("output_scale", 1),
               # several outputs: each one's float scale, a Python literal (1: none)
               "output_scales": [repr(float(k)) if float(k) != 1 else None
                                 for k in graph.meta.get("output_scales") or []],
               "host_tail": graph.meta.get("host_tail"),
               "host_tail_line": (host_tail.describe(graph.meta["host_tail"])
                                  if graph.meta.get("host_tail") else ""),
               "host_tails": graph.meta.get("host_tails")}
    with staged_folder(out, opt.force) as tmp:
        arch.render(built, tmp, context)
        codes.astype("<i8").tofile(tmp / "tb" / "inputs.bin")
        gold.astype("<i8").tofile(tmp / "tb" / "golden.bin")
        np.save(tmp / "tb" / "inputs.npy", x_values)
        np.save(tmp / "tb" / "golden.npy", gold)
        np.save(tmp / "tb" / "framework.npy", fw)
        if graph.output_is_label:   # what `csim --inputs` checks a reloaded model against
            np.save(tmp / "tb" / "framework_scores.npy", scores)
        graph.save(tmp / "ir")
        report = arch.report(built, exact, fw.size)
        report["arch"], report["arch_reason"] = arch.name, arch_reason
        if graph.meta.get("host_tail"):
            report["host_tail"] = {"ops": graph.meta["host_tail"]["ops"],
                                   "runs_on": "host (driver, hlsgen csim, Project.predict)",
                                   "detail": context["host_tail_line"]}
        if tails:
            report["host_tails"] = {n: {"ops": t["ops"], "detail": host_tail.describe(t)}
                                    for n, t in zip(graph.output_names, tails) if t}
        (tmp / MANIFEST).write_text(json.dumps({
            "hlsgen": __version__, "made_by": made_by, "name": name,
            "source_model": source.path or source.name, "source_sha256": source.sha256,
            "model_source": _model_source(model, opt), "model_content_sha256": model_hash,
            "framework": fe.framework, "board": board.name, "part": board.part,
            "clock_mhz": clock, "input_type": qt.fixed_name, "input_type_origin": qt_origin,
            "output": opt.output, "arch": arch.name, "softmax_dropped": fe.softmax_dropped,
            "vectors": len(codes), **_ports(graph, typed),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions()}, indent=1))
        # The rules Vitis HLS enforces that can be checked without it, on the
        # project as written (lint reads hlsgen.json and report.json's streams).
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        lint = lint_project(tmp)
        report["lint"] = lint.to_json()
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
    lint.project = out   # it ran in the staging folder
    return GenerateResult(out, graph, len(codes), exact, fw.size, time.perf_counter() - t0,
                          arch.name, built.design, built.notes, lint, fe)


def framework_scores(fe, graph: Graph, codes: np.ndarray, gold=None) -> np.ndarray:
    """The framework's own outputs [N, outputs] for input code frames (an
    arg-max design: the scores its labels are chosen from). gold: the golden
    executor's output values of the same frames, when known (a frontend that
    explains differences then need not compute them)."""
    x_values = graph.input_values(codes)
    fw_in = list(graph.split(graph.inputs, x_values).values())   # each input [N, *shape]
    fw_in = fw_in[0] if len(fw_in) == 1 else fw_in
    return fe.predict(_float32(fw_in), gold=gold).reshape(len(codes), -1)


def _model_source(model, opt: Options) -> dict | None:
    """How to load the model again (hlsgen csim --inputs runs it beside the
    design): its file and the options that read it, as absolute paths. None
    for a model in memory."""
    if not isinstance(model, (str, Path)):
        return None
    absolute = lambda p: str(Path(p).resolve()) if p else None   # noqa: E731
    shape = opt.input_shape
    return {"model": absolute_model(str(model)),
            "weights": absolute(opt.weights), "checkpoint": absolute(opt.checkpoint),
            "input_shape": shape if shape is None or isinstance(shape, str) else list(shape)}


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr)


def _float32(x):
    return [a.astype(np.float32) for a in x] if isinstance(x, list) else x.astype(np.float32)


def _ports(graph: Graph, typed) -> dict:
    """The manifest's list of inputs and outputs, for a model with several
    (frames of tb/*.bin concatenate them in this order)."""
    if not graph.multi_io:
        return {}
    return {"inputs": [{"name": t, "shape": list(graph.tensors[t].shape), "type": q.fixed_name,
                        "type_origin": origin} for t, (q, origin) in zip(graph.inputs, typed)],
            "outputs": [{"name": n, "tensor": t, "shape": list(graph.tensors[t].shape),
                         "label": graph.is_label(t)}
                        for t, n in zip(graph.outputs, graph.output_names)]}


def _input_type(graph: Graph, given: str | None, tensor: str) -> tuple[QType, str]:
    if given:
        return parse_type(given), "given"
    # The model's own input quantizer, when its first operation is one.
    first = next((n for n in graph.nodes if tensor in n.inputs), None)
    while first is not None and first.op == "reshape":
        first = next((n for n in graph.nodes if first.outputs[0] in n.inputs), None)
    if (first is not None and first.op == "requant" and "grid" in first.transient
            and not first.transient.get("bipolar")):
        frac, lo, hi = first.transient["grid"]
        bits = max(1, int(hi).bit_length() + (1 if lo < 0 else 0))
        return QType(bits, lo < 0, frac), f"from the input quantizer of layer '{first.name}'"
    return parse_type(DEFAULT_INPUT_TYPE), "default"


def _load_folding(folding) -> tuple[dict | None, str]:
    """(folding, how messages name it) from a dict or a JSON file."""
    if not isinstance(folding, (str, Path)):
        return folding, "given"
    try:
        doc = json.loads(Path(folding).read_text())
    except (OSError, ValueError) as e:
        raise HlsgenError(f"folding file '{folding}' cannot be read ({e}); give a JSON file like "
                          "{\"fc1\": {\"simd\": 8, \"pe\": 4}} or a project's report.json")
    found = doc.get("folding", doc) if isinstance(doc, dict) else doc
    if not isinstance(found, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("simd"), int) and isinstance(v.get("pe"), int)
            for v in found.values()):
        raise HlsgenError(f"folding file '{folding}' must map layer names to "
                          "{\"simd\": int, \"pe\": int}")
    return found, f"in {folding}"


def _test_vectors(graph: Graph, test_data, n: int, seed: int,
                  to_ir_layout=lambda x, tensor=None: x) -> np.ndarray:
    """Input codes: [N, *shape] for one input; frames [N, sum of sizes] for
    several (test data then an .npz or a dict with one array per input name)."""
    types = graph.input_qtypes()
    if test_data is not None:
        if len(graph.inputs) > 1:
            return graph.quantize_inputs(named_inputs(graph, test_data, to_ir_layout))
        if isinstance(test_data, (str, Path)):
            try:
                test_data = np.load(test_data)
            except (OSError, ValueError) as e:
                raise HlsgenError(f"test data '{test_data}' is not a .npy array ({e})")
        shape = tuple(graph.tensors[graph.inputs[0]].shape)
        x = np.asarray(to_ir_layout(np.asarray(test_data)), dtype=np.float64)
        if x.shape[1:] != shape:
            raise HlsgenError(f"test data has shape {x.shape}; the model takes (N, "
                              f"{', '.join(map(str, shape))})")
        return types[0].quantize(x)
    # Random inputs on each input's grid, within +-4 or the type's own range.
    rng = np.random.default_rng(seed)
    parts = []
    for t, qt in zip(graph.inputs, types):
        lo = max(qt.lo, -(4 << qt.frac) if qt.frac >= 0 else qt.lo)
        hi = min(qt.hi, (4 << qt.frac) if qt.frac >= 0 else qt.hi)
        parts.append(rng.integers(lo, hi + 1, size=(n,) + tuple(graph.tensors[t].shape),
                                  dtype=np.int64))
    return parts[0] if len(parts) == 1 else graph.join(graph.inputs, parts)


def _versions() -> dict:
    from importlib import metadata
    out = {"python": platform.python_version()}
    for pkg in ("numpy", "tensorflow", "tf-keras", "qkeras", "hls4ml", "torch", "brevitas", "qonnx",
                "onnx", "onnxruntime"):
        try:
            out[pkg] = metadata.version(pkg)
        except metadata.PackageNotFoundError:
            pass
    return out
