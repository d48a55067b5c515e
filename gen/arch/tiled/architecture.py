"""The tiled architecture behind the Architecture interface
(hlsgen/arch/base.py): one engine, weights in DDR (Zhang et al. 2015)."""

from __future__ import annotations

from pathlib import Path

from hlsgen.arch.base import Architecture, Built, DesignRequest
from hlsgen.arch.tiled.board import ddr_files, tiled_registers, tiled_top_args
from hlsgen.arch.tiled.design import build_tiled
from hlsgen.arch.tiled.project import (engine_json, format_engine, render_tiled_project,
                                       report_tiled_project, tiled_report)
from hlsgen.project.paths import template_env
from hlsgen.version import __version__


class TiledArchitecture(Architecture):
    name = "tiled"
    description = "one engine running every layer tile by tile, weights in DDR (Zhang 2015)"

    def design(self, graph, request: DesignRequest) -> Built:
        return Built(build_tiled(graph, request.name, request.board, request.clock_mhz,
                                 budget=request.budget, tiling=request.tiling), request)

    def render(self, built: Built, folder: Path, context: dict) -> None:
        render_tiled_project(built.design, folder, context)

    def report(self, built: Built, exact: int, total: int) -> dict:
        r = built.request
        return tiled_report(built.design, r.board, r.clock_mhz, exact, total)

    def summary(self, report: dict) -> str:
        return format_engine(report["engine"])

    def refresh_report(self, project: Path, board: str | None, clock_mhz: float | None) -> str:
        t = report_tiled_project(project, board, clock_mhz)
        return (format_engine(engine_json(t)) + "\n"
                f"wrote the engine into {project}/report.json and {project}/roofline.png")

    def deploy_files(self, project: Path, name: str) -> list[tuple[Path, str]]:
        return ddr_files(project, name)

    def emulator_abi(self, name: str) -> str:
        return template_env().get_template("tiled_emulator_abi.cpp.j2").render(
            name=name, version=__version__, args=tiled_top_args(name))

    def emulator_manifest(self, project: Path, name: str, library: Path) -> dict:
        # The IP's argument registers as the .hwh of a Vitis HLS build names
        # them, and its arguments (name, is a buffer) in the C ABI's order.
        return {"registers": tiled_registers(),
                "args": [[a.name, a.pointer] for a in tiled_top_args(name)]}
