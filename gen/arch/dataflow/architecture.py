"""The dataflow architecture behind the Architecture interface
(hlsgen/arch/base.py): a process per layer, all weights on chip."""

from __future__ import annotations

import ctypes
from pathlib import Path

from hlsgen.arch.base import Architecture, Built, DesignRequest
from hlsgen.arch.dataflow.budget import design_within_budget
from hlsgen.arch.dataflow.render import render_project
from hlsgen.arch.dataflow.report import (MODEL_NOTE, estimates_json, format_table, plot_png,
                                         report_json, report_markdown, report_project)
from hlsgen.arch.dataflow.board import DMA_CELL, board_io_of_ports, board_io_of_words
from hlsgen.project.paths import template_env
from hlsgen.project.tables import table
from hlsgen.version import __version__


class DataflowArchitecture(Architecture):
    name = "dataflow"
    description = "a pipeline of one process per layer, all weights on chip (FINN/CNP style)"

    def design(self, graph, request: DesignRequest) -> Built:
        design, estimate, budget = design_within_budget(graph, request)
        if budget["note"] and request.log:
            request.log(budget["note"])
        return Built(design, request, [budget["note"]] if budget["note"] else [],
                     {"estimate": estimate, "budget": budget})

    def render(self, built: Built, folder: Path, context: dict) -> None:
        estimate = built.extra["estimate"]
        render_project(built.design, folder, dict(context, estimates_md=report_markdown(estimate)))
        plot_png(estimate, folder / "report.png")

    def report(self, built: Built, exact: int, total: int) -> dict:
        r = built.request
        report = report_json(built.design, r.board, r.clock_mhz, exact, total)
        report["estimates"] = estimates_json(built.extra["estimate"])
        report["budget"] = built.extra["budget"]
        return report

    def summary(self, report: dict) -> str:
        lines = [table([(l["id"], l["kind"], f"{l['in']['count']}x{l['in']['type']}",
                         f"{l['out']['count']}x{l['out']['type']}",
                         f"{l.get('simd', '')}x{l.get('pe', '')}" if l["kind"] == "mvu" else "",
                         l["cycles"]) for l in report["layers"]],
                       ("layer", "kernel", "in", "out", "SIMDxPE", "cycles")),
                 f"slowest layer {report['max_cycles_per_frame']} cycles/frame: about "
                 f"{report['estimated_fps']:,.0f} frames/s at {report['clock_mhz']:g} MHz"]
        util = report.get("estimates", {}).get("utilisation")
        if util:
            lines.append(f"estimated use of {report['board']}: " + ", ".join(
                f"{k.upper()} {100 * v:.1f}%" for k, v in util.items()))
        return "\n".join(lines)

    def refresh_report(self, project: Path, board: str | None, clock_mhz: float | None) -> str:
        est = report_project(project, board=board, clock_mhz=clock_mhz)
        return "\n".join([f"{project}: {est.board.name} at {est.clock_mhz:g} MHz ({MODEL_NOTE})",
                          format_table(est),
                          f"wrote the estimates into {project}/report.json and {project}/report.png"])

    def emulator_abi(self, name: str, in_tags=("",), out_tags=("",)) -> str:
        """in_tags, out_tags: the ports' tags (gen/arch/dataflow/design.py Port)."""
        return template_env().get_template("emulator_abi.cpp.j2").render(
            name=name, version=__version__, in_tags=list(in_tags), out_tags=list(out_tags))

    def emulator_manifest(self, project: Path, name: str, library: Path) -> dict:
        # The DMA as the block design would configure it, from the compiled IP's
        # own stream geometry (hlsgen_emu_geometry in the ABI).
        lib = ctypes.CDLL(str(library))
        if not hasattr(lib, "hlsgen_emu_ports"):
            g = (ctypes.c_uint32 * 4)()
            lib.hlsgen_emu_geometry(g)
            in_bytes, in_words, out_bytes, out_words = tuple(g)
            io = board_io_of_words(in_bytes * 8, in_words, out_bytes * 8, out_words)
            return {"dma_cell": DMA_CELL, "mm2s_align": io.inp.mm_bits // 8,
                    "s2mm_align": io.out.mm_bits // 8, "max_transfer": io.max_transfer}
        n = (ctypes.c_uint32 * 2)()
        lib.hlsgen_emu_ports(n)
        n_in, n_out = tuple(n)
        g = (ctypes.c_uint32 * (2 * (n_in + n_out)))()
        lib.hlsgen_emu_geometry(g)
        ports = [(g[2 * k] * 8, g[2 * k + 1]) for k in range(n_in + n_out)]
        io = board_io_of_ports(ports[:n_in], ports[n_in:])
        return {"dmas": [{"cell": x["cell"],
                          "in": x["mm2s"][0] if x["mm2s"] else None,
                          "out": x["s2mm"][0] if x["s2mm"] else None,
                          "mm2s_align": x["mm2s"][1].mm_bits // 8 if x["mm2s"] else 0,
                          "s2mm_align": x["s2mm"][1].mm_bits // 8 if x["s2mm"] else 0}
                         for x in io.dmas],
                "max_transfer": io.max_transfer}

    def emulator_params(self, project: Path) -> list[Path]:
        return sorted((Path(project) / "firmware" / "params").glob("*.bin"))
