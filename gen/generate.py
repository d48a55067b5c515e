"""`hlsgen generate`: model file -> IR -> passes -> folding -> project."""

from __future__ import annotations

import datetime
import hashlib
import json
import platform
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from gen import __version__, golden
from gen.boards import load_board
from gen.errors import HlsgenError
from gen.hw import build_design
from gen.ir import Graph
from gen.names import cpp_ident
from gen.passes import run_passes
from gen.project import check_target, staged_folder
from gen.qtype import QType, parse_type
from gen.render import render_project

DEFAULT_INPUT_TYPE = "ap_fixed<16,6>"
DEFAULT_VECTORS = 200


@dataclass
class GenerateResult:
    out: Path
    graph: Graph
    n_vectors: int
    exact_values: int     # golden == framework, counted over all output values
    total_values: int
    seconds: float
    engine: object = None  # the tiled engine (gen/tiled.py TiledDesign) for --arch tiled
    notes: list = None     # budget lines also written to stderr and report.json ("budget")
    lint: object = None    # gen/lint.py LintReport of the written project (report.json "lint")


def _input_type(graph: Graph, given: str | None) -> tuple[QType, str]:
    if given:
        return parse_type(given), "given"
    # The model's own input quantizer, when its first operation is one.
    first = next((n for n in graph.nodes if graph.inputs[0] in n.inputs), None)
    while first is not None and first.op == "reshape":
        first = next((n for n in graph.nodes if first.outputs[0] in n.inputs), None)
    if (first is not None and first.op == "requant" and "grid" in first.transient
            and not first.transient.get("bipolar")):
        frac, lo, hi = first.transient["grid"]
        bits = max(1, int(hi).bit_length() + (1 if lo < 0 else 0))
        return QType(bits, lo < 0, frac), f"from the input quantizer of layer '{first.name}'"
    return parse_type(DEFAULT_INPUT_TYPE), "default"


def _load_folding(path: str | None) -> dict | None:
    if not path:
        return None
    try:
        doc = json.loads(Path(path).read_text())
    except (OSError, ValueError) as e:
        raise HlsgenError(f"folding file '{path}' cannot be read ({e}); give a JSON file like "
                          "{\"fc1\": {\"simd\": 8, \"pe\": 4}} or a project's report.json")
    folding = doc.get("folding", doc)
    if not isinstance(folding, dict) or not all(
            isinstance(v, dict) and isinstance(v.get("simd"), int) and isinstance(v.get("pe"), int)
            for v in folding.values()):
        raise HlsgenError(f"folding file '{path}' must map layer names to "
                          "{\"simd\": int, \"pe\": int}")
    return folding


def _test_vectors(graph: Graph, qt: QType, test_data, n: int, seed: int,
                  to_ir_layout=lambda x: x) -> np.ndarray:
    shape = tuple(graph.tensors[graph.inputs[0]].shape)
    if test_data is not None:
        if isinstance(test_data, (str, Path)):
            try:
                test_data = np.load(test_data)
            except (OSError, ValueError) as e:
                raise HlsgenError(f"test data '{test_data}' is not a .npy array ({e})")
        x = np.asarray(to_ir_layout(np.asarray(test_data)), dtype=np.float64)
        if x.shape[1:] != shape:
            raise HlsgenError(f"test data has shape {x.shape}; the model takes (N, "
                              f"{', '.join(map(str, shape))})")
        return qt.quantize(x)
    # Random inputs on the input grid, within +-4 or the type's own range.
    rng = np.random.default_rng(seed)
    lo = max(qt.lo, -(4 << qt.frac) if qt.frac >= 0 else qt.lo)
    hi = min(qt.hi, (4 << qt.frac) if qt.frac >= 0 else qt.hi)
    return rng.integers(lo, hi + 1, size=(n,) + shape, dtype=np.int64)


def _sha256(path: Path) -> str:
    h = hashlib.sha256()
    h.update(path.read_bytes())
    return h.hexdigest()


def load_frontend(model: str, weights: str | None, checkpoint: str | None = None,
                  input_shape=None):
    """The frontend object (see gen/frontends/__init__.py) for a model path:
    a QONNX .onnx file, a Brevitas `file.py:function` (with --checkpoint and
    --input-shape), or a QKeras model file."""
    path = Path(model)
    script, _, func = str(model).rpartition(":")
    if script.endswith(".py") and func:
        from gen.frontends.brevitas_loader import load_module_spec
        return load_module_spec(str(model), checkpoint, input_shape)
    if checkpoint or input_shape:
        raise HlsgenError("--checkpoint and --input-shape apply to a Brevitas model given as "
                          "file.py:function; leave them out for a model file")
    if path.suffix.lower() == ".onnx":
        from gen.frontends.qonnx_reader import load_qonnx_file
        return load_qonnx_file(path)
    from gen.frontends.qkeras_reader import KerasModel, load_keras_model
    return KerasModel(load_keras_model(path, Path(weights) if weights else None), path, None)


def generate(model: str, out: str | Path, board: str = "pynq-z2", input_type: str | None = None,
             output: str = "logits", force: bool = False, weights: str | None = None,
             test_data=None, n_vectors: int = DEFAULT_VECTORS, folding: str | dict | None = None,
             clock_mhz: float | None = None, seed: int = 0, made_by: str = "hlsgen generate",
             fps: float | None = None, max_util: float | None = None,
             checkpoint: str | None = None, input_shape=None, arch: str = "dataflow",
             tiled_options: dict | None = None, log=None) -> GenerateResult:
    """Model file -> project folder. tiled_options: budget/tiling overrides for
    --arch tiled (see gen/tiled.py build_tiled). log(line): where a budget
    note goes (an --fps out of reach, a default folding over the board);
    default: stderr, as `warning: <line>`."""
    t0 = time.perf_counter()
    out = Path(out)
    board_info = load_board(board)
    check_target(out, force)
    if output not in ("logits", "argmax"):
        raise HlsgenError(f"--output '{output}' is not known; use logits or argmax")
    folding_origin = f"in {folding}" if isinstance(folding, (str, Path)) else "given"
    folding = _load_folding(folding) if isinstance(folding, (str, Path)) else folding
    fe = load_frontend(model, weights, checkpoint, input_shape)
    framework = fe.framework
    graph = fe.to_ir(output)
    qt, qt_origin = _input_type(graph, input_type)
    graph.meta["input_qtype"] = qt
    run_passes(graph)
    graph.meta["input_qtype"] = qt.to_dict()
    name = cpp_ident(out.name) or "model"
    clock = clock_mhz or board_info.clock_mhz
    from gen.tiled_arch import resolve_arch
    arch, arch_reason = resolve_arch(arch, graph, board_info, name, clock, folding)
    from gen.report import estimate_design, estimates_json, plot_png, report_markdown
    if arch == "tiled":
        # One engine reading weights from DDR (gen/tiled.py, Zhang et al. 2015).
        from gen.tiled import build_tiled
        tiled = build_tiled(graph, name, board_info, clock, **(tiled_options or {}))
        design = estimate = None
        budget = None
    else:
        design, estimate, budget = _dataflow_design(graph, name, board_info, clock, folding,
                                                    folding_origin, fps, max_util)
        if budget["note"]:
            (log or _warn)(budget["note"])

    codes = _test_vectors(graph, qt, test_data, n_vectors, seed, fe.input_to_ir)
    x_values = qt.values(codes)
    gold = golden.run(graph, codes)[graph.outputs[0]].reshape(len(codes), -1)
    fw = fe.predict(x_values.astype(np.float32)).reshape(len(codes), -1)
    if output == "argmax":
        fw = np.argmax(fw, axis=1).reshape(-1, 1).astype(np.float64)
    gold_values = golden.output_values(graph, gold)
    exact = int(np.sum(gold_values == fw))

    # A file.py:function model is identified by its checkpoint (or its script).
    model_hash = _sha256(Path(model) if Path(model).is_file() else
                         Path(checkpoint or str(model).rpartition(":")[0]))
    ctx = {"source": Path(model).name, "framework": framework, "model_hash": model_hash,
           "board": board_info, "clock_mhz": clock, "n_vectors": len(codes),
           "softmax_dropped": fe.softmax_dropped, "out_hint": str(out),
           "estimates_md": report_markdown(estimate) if estimate else "",
           "framework_layout": graph.meta.get("framework_layout"),
           "output_scale": graph.meta.get("output_scale", 1)}
    with staged_folder(out, force) as tmp:
        if arch == "tiled":
            from gen.tiled_project import render_tiled_project, tiled_report
            render_tiled_project(tiled, tmp, ctx)
        else:
            render_project(design, tmp, ctx)
        codes.astype("<i8").tofile(tmp / "tb" / "inputs.bin")
        gold.astype("<i8").tofile(tmp / "tb" / "golden.bin")
        np.save(tmp / "tb" / "inputs.npy", x_values)
        np.save(tmp / "tb" / "golden.npy", gold)
        np.save(tmp / "tb" / "framework.npy", fw)
        graph.save(tmp / "ir")
        if arch == "tiled":
            report = tiled_report(tiled, board_info, clock, exact, fw.size)
        else:
            report = _report(design, graph, board_info, clock, exact, fw.size)
            report["estimates"] = estimates_json(estimate)
            report["budget"] = budget
            plot_png(estimate, tmp / "report.png")
        report["arch"], report["arch_reason"] = arch, arch_reason
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        (tmp / "hlsgen.json").write_text(json.dumps({
            "hlsgen": __version__, "made_by": made_by, "name": name, "source_model": str(Path(model).resolve()),
            "source_sha256": model_hash, "framework": framework, "board": board_info.name,
            "part": board_info.part, "clock_mhz": clock, "input_type": qt.fixed_name,
            "input_type_origin": qt_origin, "output": output, "arch": arch,
            "softmax_dropped": fe.softmax_dropped, "vectors": len(codes),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions()}, indent=1))
        # The rules Vitis HLS enforces that can be checked without it, on the
        # project as written (lint reads hlsgen.json and report.json's streams).
        from gen.lint import lint_project
        lint = lint_project(tmp)
        report["lint"] = lint.to_json()
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
    lint.project = out   # it ran in the staging folder
    return GenerateResult(out, graph, len(codes), exact, fw.size, time.perf_counter() - t0,
                          tiled if arch == "tiled" else None,
                          [budget["note"]] if budget and budget["note"] else [], lint)


def _warn(line: str) -> None:
    print(f"warning: {line}", file=sys.stderr)


def _dataflow_design(graph: Graph, name: str, board, clock: float, folding: dict | None,
                     folding_origin: str, fps: float | None, max_util: float | None):
    """(design, estimate, report.json "budget") of the dataflow architecture,
    never over the board (every resource within 100%) and never with a word
    over gen/folding.py's limits:
    - a user's folding is built as given, or refused naming the limit or the
      resource it exceeds (widths: gen/hw.py check_limits);
    - --fps / --max-util: the folding search (gen/dse.py), whose note says
      when --fps is out of reach and the fastest design that fits was taken;
    - neither: the default folding, unless it is over the board; then the
      search's fastest design within DEFAULT_MAX_UTIL (else within 100%),
      and a note saying so; nothing fits: an error naming the fix."""
    from gen.dse import DEFAULT_MAX_UTIL, search_design
    from gen.report import estimate_design

    def rebuild(f: dict):
        return build_design(graph, name, f)

    budget = {"fps": fps, "max_util": max_util, "folding": "default", "note": ""}
    design = build_design(graph, name, folding)
    if folding is not None:
        budget["folding"] = "given"
        if fps is not None or max_util is not None:
            budget["note"] = (f"--fps and --max-util do not apply with --folding: the folding "
                              f"{folding_origin} is built as it is; leave --folding out to "
                              "search one")
    elif fps is not None or max_util is not None:
        # The folding search against the board (cost model in gen/cost.py).
        found = search_design(design, board, clock, fps=fps, max_util=max_util, rebuild=rebuild)
        budget.update(folding="search", note=found.note)
        design = rebuild(found.folding)
    estimate = estimate_design(design, board, clock)
    if estimate.fits(1.0):
        return design, estimate, budget
    over = ", ".join(f"{r.upper()} {u:.0%}" for r, u in estimate.utilisation.items() if u > 1)
    if folding is not None:
        raise HlsgenError(f"the folding {folding_origin} needs more than {board.name} has "
                          f"(estimated {over}); fold it to fewer lanes, or leave --folding out "
                          "and give --max-util 0.7 to search one that fits")
    try:
        found = search_design(design, board, clock, max_util=DEFAULT_MAX_UTIL, rebuild=rebuild)
        limit = DEFAULT_MAX_UTIL
    except HlsgenError:
        found = search_design(design, board, clock, max_util=1.0, rebuild=rebuild)
        limit = 1.0
    design = rebuild(found.folding)
    budget.update(folding="search", max_util=limit, note=(
        f"the default folding needs more than {board.name} has (estimated {over}); generated "
        f"the fastest folding within {limit:.0%} of it instead (as --max-util {limit:g})"))
    return design, estimate_design(design, board, clock), budget


def _report(d, graph: Graph, board, clock: float, exact: int, total: int) -> dict:
    max_cycles = max(k.cycles for k in d.kernels)
    return {
        "name": d.name, "board": board.name, "part": board.part, "clock_mhz": clock,
        "folding": {k.attrs["layer"]: {"simd": k.attrs["simd"], "pe": k.attrs.get("pe", k.attrs["simd"])}
                    for k in d.kernels if k.kind in ("mvu", "dwu")},
        "layers": [{"id": k.id, "kind": k.kind, "source": k.source,
                    "in": {"count": k.inp.count, "type": k.inp.qtype.cpp, "lanes": k.inp.lanes},
                    "out": {"count": k.out.count, "type": k.out.qtype.cpp, "lanes": k.out.lanes},
                    "cycles": k.cycles,
                    **({"mw": k.attrs["mw"], "mh": k.attrs["mh"], "simd": k.attrs["simd"],
                        "pe": k.attrs["pe"], "pixels": k.attrs["pixels"],
                        "weight_type": k.attrs["w_type"].cpp, "acc_type": k.attrs["acc_type"].cpp,
                        "loop_trip_count": k.cycles, "unroll": k.attrs["simd"] * k.attrs["pe"],
                        "float32_exact": k.attrs["float32_exact"]} if k.kind == "mvu" else {}),
                    **({"array_partition": _partition_factors(k)}
                       if k.kind in ("mvu", "dwu") or {"thr", "lut"} & set(k.params) else {}),
                    **({"requant": k.attrs["requant"]} if "requant" in k.attrs else {})}
                   for k in d.kernels],
        "streams": [{"name": s.name, "tensor": s.tensor, "lanes": s.lanes, "count": s.count,
                     "type": s.qtype.cpp, "depth": s.depth,
                     "kernel": next((k.source for k in d.kernels if s in k.outs), "input")}
                    for s in d.streams],
        "max_cycles_per_frame": max_cycles,
        "estimated_fps": clock * 1e6 / max_cycles,
        "golden_vs_framework": {"equal_values": exact, "values": total},
    }


def _partition_factors(k) -> dict:
    """The array partitioning the kernel asks of synthesis (visible, so that a
    reader can check it stays within the tools' limits)."""
    a = k.attrs
    out = {}
    if k.kind == "mvu":
        out = {"weights": f"{a['pe']} banks of {a['simd']}-lane words, depth "
                          f"{(a['mw'] // a['simd']) * (a['mh'] // a['pe'])}",
               "accumulators": a["pe"], "input_buffer": f"{a['mw'] // a['simd']} words of {a['simd']} lanes"}
    elif k.kind == "dwu":
        out = {"weights": f"{a['kk']} x {a['c'] // a['simd']} words of {a['simd']} lanes",
               "accumulators": a["c"]}
    # Requantization tables: partitioned so that every output lane reads its
    # thresholds (all of them) or its table entry in the cycle it needs them.
    lanes = k.out.lanes if k.kind == "mvu" else k.inp.lanes
    if "thr" in k.params:
        ch, nt = k.params["thr"].shape
        out["thresholds"] = (f"{min(lanes, ch)} x {nt} banks of {-(-ch // lanes)} words "
                             f"({ch} channel(s) cyclic by {min(lanes, ch)} lanes, {nt} thresholds "
                             "complete)")
    if "lut" in k.params:
        ch, n = k.params["lut"].shape
        out["table"] = f"{lanes} banks of {-(-ch // lanes) * n} entries ({ch} channel(s) x {n})"
    return out


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
