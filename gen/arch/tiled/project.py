"""Writes a tiled-engine project (gen/arch/tiled/design.py's TiledDesign) for
`hlsgen generate --arch tiled`; generate_tiled also returns the engine.

The project has the dataflow project's layout (firmware/<name>.cpp,
tb/<name>_tb.cpp, firmware/params/, tb/inputs.bin, ir/, hlsgen.json), so
`hlsgen csim` builds and checks it unchanged.
"""

from __future__ import annotations

import json
import re
import shutil
from pathlib import Path
from types import SimpleNamespace

import numpy as np

from hlsgen.version import __version__
from hlsgen.platform.board_files import ip_cell
from hlsgen.arch.dataflow.render import KERNEL_LIB
from hlsgen.project.paths import template_env
from hlsgen.arch.tiled.roofline import plot_roofline
from hlsgen.arch.tiled.design import FIELDS, OPS, TiledDesign, build_tiled, word_bytes
from hlsgen.arch.tiled.board import memory_paths, render_tiled_board_files, tiled_args

# The engine's headers and the testbench's (hlsgen_params.h); library
# headers they include are copied with them (library_headers).
LIBRARY = ("hlsgen_tiled.h", "hlsgen_params.h", "hlsgen_tb.h")


def library_headers(roots=LIBRARY) -> list[str]:
    """roots and every kernel-library header they include, transitively."""
    seen, todo = [], list(roots)
    while todo:
        header = todo.pop(0)
        if header in seen or not (KERNEL_LIB / header).is_file():
            continue    # ap_int.h, hls_stream.h: the vendor's headers
        seen.append(header)
        todo += re.findall(r'^\s*#\s*include\s+"([^"]+)"', (KERNEL_LIB / header).read_text(), re.M)
    return seen


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
    clock_mhz (as for gen/arch/dataflow/render.py)."""
    env = template_env()
    args = tiled_args(t)
    values = dict(ctx, t=t, p=t.point, s=t.sizes, ty=t.types, version=__version__,
                  rows=_rows(t), d=SimpleNamespace(name=t.name), args=args,
                  memory=memory_paths(args, ip_cell(t.name)),
                  signature=", ".join(f"{a.ctype}{'' if a.pointer else ' '}{a.name}" for a in args),
                  w_bytes=word_bytes(t.types["w_t"]),
                  clock_period_ns=round(1000.0 / ctx["clock_mhz"], 3))
    fw = folder / "firmware"
    (fw / "params").mkdir(parents=True)
    (fw / "lib").mkdir()
    (folder / "tb").mkdir(exist_ok=True)
    for header in library_headers():
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
    render_tiled_board_files(t, folder, values)


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
    from hlsgen.platform.boards import load_board
    from hlsgen.ir.graph import Graph
    from hlsgen.project.folder import read_json, write_atomic

    project = Path(project)
    report = read_json(project / "report.json", project)
    e = report["engine"]
    board_info = load_board(board or report["board"])
    t = build_tiled(Graph.load(project / "ir"), report["name"], board_info,
                    clock_mhz or report["clock_mhz"], tiling=(e["tm"], e["tn"], e["tr"], e["tc"]))
    report["engine"] = engine_json(t)
    write_atomic(project / "report.json", json.dumps(report, indent=1))
    plot_roofline(t.point, project / "roofline.png")
    return t
