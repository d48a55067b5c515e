"""Writes a tiled-engine project (gen/tiled.py's TiledDesign) and, until
`hlsgen generate --arch tiled` is wired in gen/generate.py, runs the whole
generate path for it (`generate_tiled`).

The project has the dataflow project's layout (firmware/<name>.cpp,
tb/<name>_tb.cpp, firmware/params/, tb/inputs.bin, ir/, hlsgen.json), so
`hlsgen csim` builds and checks it unchanged.
"""

from __future__ import annotations

import datetime
import json
import shutil
import time
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from gen import __version__, golden
from gen.render import KERNEL_LIB, _env
from gen.roofline import plot_roofline
from gen.tiled import FIELDS, OPS, TiledDesign, build_tiled

LIBRARY = ("hlsgen_tiled.h", "hlsgen_stream.h", "hlsgen_params.h")


def _rows(t: TiledDesign) -> list[dict]:
    """One README table row per engine layer."""
    names = {v: k for k, v in OPS.items()}
    cycles = {l.layer.name: l for l in t.point.layers}
    rows = []
    for l in t.layers:
        d = l.desc
        lp = cycles.get(l.name)
        rows.append({"name": l.name, "op": names[d["op"]],
                     "inp": f"{d.get('ih', 1)} x {d.get('iw', 1)} x {d['n']}",
                     "out": f"{d.get('oh', 1)} x {d.get('ow', 1)} x {d['m'] if d['op'] != 1 else d['n']}",
                     "kernel": f"{d.get('kh', 1)}x{d.get('kw', 1)} / {d.get('sh', 1)}",
                     "tile": f"{d.get('tr', 1)} x {d.get('tc', 1)}",
                     "cycles": f"{lp.cycles:,}" if lp else "",
                     "bound": lp.bound if lp else ""})
    return rows


def engine_json(t: TiledDesign) -> dict:
    """The "engine" section of report.json: tiling, roofline figures, sizes, types."""
    return {**t.point.to_json(), "sizes": t.sizes, "types_bits": t.types,
            "fmap_bytes": t.fmap_bytes, "weights": int(t.weights.size),
            "params": int(t.params.size),
            "descriptors": [{"name": l.name, **{f: int(l.desc.get(f, 0)) for f in FIELDS}}
                            for l in t.layers]}


def render_tiled_project(t: TiledDesign, folder: Path, ctx: dict) -> None:
    """Writes firmware/, the testbench source, DDR images, build script,
    README and roofline.png into folder. ctx: source, framework, board,
    clock_mhz (as for gen/render.py)."""
    env = _env()
    values = dict(ctx, t=t, p=t.point, s=t.sizes, ty=t.types, version=__version__,
                  rows=_rows(t), d=SimpleNamespace(name=t.name),
                  clock_period_ns=round(1000.0 / ctx["clock_mhz"], 3))
    fw = folder / "firmware"
    (fw / "params").mkdir(parents=True)
    (fw / "lib").mkdir()
    (folder / "tb").mkdir(exist_ok=True)
    for header in LIBRARY:
        shutil.copy(KERNEL_LIB / header, fw / "lib" / header)
    (fw / f"{t.name}.h").write_text(env.get_template("tiled_top.h.j2").render(values))
    (fw / f"{t.name}.cpp").write_text(env.get_template("tiled_top.cpp.j2").render(values))
    (folder / "tb" / f"{t.name}_tb.cpp").write_text(env.get_template("tiled_tb.cpp.j2").render(values))
    (folder / "build_prj.tcl").write_text(env.get_template("build_prj.tcl.j2").render(values))
    (folder / "README.md").write_text(env.get_template("tiled_README.md.j2").render(values))
    for file, array in (("desc.bin", t.descriptors), ("weights.bin", t.weights),
                        ("params.bin", t.params)):
        np.asarray(array, dtype="<i8").tofile(fw / "params" / file)
    plot_roofline(t.point, folder / "roofline.png")


def generate_tiled(model: str, out: str | Path, board: str = "pynq-z2",
                   input_type: str | None = None, output: str = "logits", force: bool = False,
                   weights: str | None = None, test_data=None, n_vectors: int = 200,
                   clock_mhz: float | None = None, seed: int = 0, budget=None, tiling=None):
    """`hlsgen generate --arch tiled` until gen/generate.py calls
    render_tiled_project itself: model -> IR -> passes -> engine -> project.
    budget, tiling: see gen/tiled.py build_tiled."""
    from gen.boards import load_board
    from gen.generate import (GenerateResult, _input_type, _sha256, _test_vectors, _versions,
                              load_frontend)
    from gen.names import cpp_ident
    from gen.passes import run_passes
    from gen.project import check_target, staged_folder

    t0 = time.perf_counter()
    out = Path(out)
    board_info = load_board(board)
    check_target(out, force)
    fe = load_frontend(model, weights)
    graph = fe.to_ir(output)
    qt, qt_origin = _input_type(graph, input_type)
    graph.meta["input_qtype"] = qt
    run_passes(graph)
    graph.meta["input_qtype"] = qt.to_dict()
    name = cpp_ident(out.name) or "model"
    clock = clock_mhz or board_info.clock_mhz
    tiled = build_tiled(graph, name, board_info, clock, budget, tiling)

    codes = _test_vectors(graph, qt, test_data, n_vectors, seed, fe.input_to_ir)
    gold = golden.run(graph, codes)[graph.outputs[0]].reshape(len(codes), -1)
    fw_out = fe.predict(qt.values(codes).astype(np.float32)).reshape(len(codes), -1)
    if output == "argmax":
        fw_out = np.argmax(fw_out, axis=1).reshape(-1, 1).astype(np.float64)
    exact = int(np.sum(golden.output_values(graph, gold) == fw_out))
    ctx = {"source": Path(model).name, "framework": fe.framework, "board": board_info,
           "clock_mhz": clock}
    with staged_folder(out, force) as tmp:
        render_tiled_project(tiled, tmp, ctx)
        codes.astype("<i8").tofile(tmp / "tb" / "inputs.bin")
        gold.astype("<i8").tofile(tmp / "tb" / "golden.bin")
        np.save(tmp / "tb" / "inputs.npy", qt.values(codes))
        np.save(tmp / "tb" / "golden.npy", gold)
        np.save(tmp / "tb" / "framework.npy", fw_out)
        graph.save(tmp / "ir")
        report = tiled_report(tiled, board_info, clock, exact, int(fw_out.size))
        (tmp / "report.json").write_text(json.dumps(report, indent=1))
        (tmp / "hlsgen.json").write_text(json.dumps({
            "hlsgen": __version__, "made_by": "hlsgen generate --arch tiled", "name": name,
            "arch": "tiled", "source_model": str(Path(model).resolve()),
            "source_sha256": _sha256(Path(model)), "framework": fe.framework,
            "board": board_info.name, "part": board_info.part, "clock_mhz": clock,
            "input_type": qt.fixed_name, "input_type_origin": qt_origin, "output": output,
            "softmax_dropped": fe.softmax_dropped, "vectors": len(codes),
            "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
            "versions": _versions()}, indent=1))
    return GenerateResult(out, graph, len(codes), exact, int(fw_out.size),
                          time.perf_counter() - t0), tiled


def format_engine(engine: dict) -> str:
    """report.json's "engine" section (engine_json) as text for the CLI."""
    e, b = engine, engine["budget"]
    lines = [f"tiled engine <Tm,Tn,Tr,Tc> = <{e['tm']},{e['tn']},{e['tr']},{e['tc']}>: {e['dsp']} of "
             f"{b['dsp']} DSP, {e['bram18']} of {b['bram18']} BRAM18 (tile buffers), "
             f"{e['clock_mhz']:g} MHz, {e['bandwidth_gbps']:g} GB/s",
             f"{e['cycles']:,} cycles per frame ({e['clock_mhz'] * 1e6 / e['cycles']:,.1f} frames/s), "
             f"{e['gops']:.2f} of {e['roof_gops']:.2f} GOPS",
             f"{'layer':<16} {'cycles':>12} {'ops/byte':>9} {'GOPS':>7}  bound"]
    lines += [f"{l['name']:<16} {l['cycles']:>12,} {l['ctc']:>9.1f} {l['gops']:>7.2f}  {l['bound']}"
              for l in e["layers"]]
    return "\n".join(lines)


def tiled_report(t: TiledDesign, board, clock_mhz: float, exact: int, total: int) -> dict:
    """report.json of a tiled project (hlsgen csim adds its "csim" section)."""
    return {"name": t.name, "arch": "tiled", "board": board.name, "part": board.part,
            "clock_mhz": clock_mhz, "engine": engine_json(t),
            "golden_vs_framework": {"equal_values": exact, "values": total}}


def report_tiled_project(project: str | Path, board: str | None = None,
                         clock_mhz: float | None = None) -> TiledDesign:
    """`hlsgen report` of a tiled project: the engine rebuilt from ir/ at the
    tiling its report.json records, on `board` (default: the project's);
    report.json's "engine" and roofline.png are rewritten."""
    from gen.boards import load_board
    from gen.ir import Graph
    from gen.report import _read_json, _write_atomic

    project = Path(project)
    report = _read_json(project / "report.json", project)
    e = report["engine"]
    board_info = load_board(board or report["board"])
    t = build_tiled(Graph.load(project / "ir"), report["name"], board_info,
                    clock_mhz or report["clock_mhz"], tiling=(e["tm"], e["tn"], e["tr"], e["tc"]))
    report["engine"] = engine_json(t)
    _write_atomic(project / "report.json", json.dumps(report, indent=1))
    plot_roofline(t.point, project / "roofline.png")
    return t
