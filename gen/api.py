"""The Python API: `hlsgen.convert`, `hlsgen.open`, `hlsgen.boards`, the
Project they return, and `hlsgen.sweep` (many design points on Dask). The CLI is a thin layer over it.

    import hlsgen
    project = hlsgen.convert(model, board="pynq-z2", out="hls_projects/mlp")
    project.csim()            # both kernel-library branches against golden, bit for bit
    y = project.predict(x)    # the design's outputs for x, de-quantized
    project.report()          # resources, throughput (a table, and a figure in a notebook)
"""

from __future__ import annotations

import base64
import html
from pathlib import Path

import numpy as np

from hlsgen.arch.registry import of_project
from hlsgen.errors import HlsgenError
from hlsgen.flow import GenerateResult, generate
from hlsgen.ir import golden, host_tail
from hlsgen.ir.graph import Graph
from hlsgen.options import Options
from hlsgen.platform.boards import Board, list_boards
from hlsgen.project.folder import read_json
from hlsgen.project.manifest import load_project
from hlsgen.project.names import cpp_ident

DEFAULT_ROOT = Path("hls_projects")


def convert(model, board: str = Options.board, out: str | Path | None = None, *,
            options: Options | None = None, log=None, **changes) -> "Project":
    """Converts `model` into a project folder and returns it as a Project.

    model: a path (QKeras .h5/.keras/.json, QONNX .onnx, Brevitas
    `file.py:function`), a Keras/QKeras model, a Brevitas/PyTorch module (give
    input_shape, e.g. (1, 1, 8, 8)), or an ONNX ModelProto. out: the folder
    (default: hls_projects/<model name>). Other options by name, or as
    `options=hlsgen.Options(...)`: see help(hlsgen.Options)."""
    opts = Options.of(options, board=board, **changes)
    folder = Path(out) if out is not None else DEFAULT_ROOT / _default_name(model)
    result = generate(model, folder, opts, made_by="hlsgen.convert", log=log)
    return Project(folder, result)


def open(path: str | Path) -> "Project":   # noqa: A001 (hlsgen.open, as a user expects it)
    """A project written earlier (by convert or `hlsgen generate`)."""
    return Project(path)


def sweep(model, board: str | list | None = None, grid=None, *, out: str | Path,
          stages="generate,csim,lint", scheduler: str | None = None, workers: int | None = None,
          timeout: float | None = None, force: bool = False, retry_failed: bool = False,
          progress: bool = True, log=print, **values):
    """Runs many design points of `model` (a file every worker can read) as
    Dask tasks and returns a SweepResult (`.rows`, `.summary()`).

    The points: every combination of the lists in `grid` (a dict, or a
    YAML/JSON file: Options names to values, a list is swept) and in the
    Options given by name (`fps=[1e3, 1e4]`, `arch=["dataflow", "tiled"]`,
    `board`, a single value is fixed). stages: generate, csim (both
    branches), lint (with the compilers), and one vendor stage (synth,
    cosim, ip, bitstream: `hlsgen build`, skipped with a note where the
    tools are missing). scheduler: tcp://HOST:PORT or a scheduler file
    (default: a LocalCluster of `workers` processes, one per core). timeout:
    seconds per point. `out` receives results.csv, results.md, pareto.png
    and points/<key>/; rerun into it to resume (recorded points are reused;
    retry_failed runs failed ones again); force replaces it."""
    from hlsgen.sweeps.run import sweep as run_sweep
    return run_sweep(model, board, grid, out=out, stages=stages, scheduler=scheduler,
                     workers=workers, timeout=timeout, force=force, retry_failed=retry_failed,
                     progress=progress, log=log, **values)


def boards() -> list[Board]:
    """Every board hlsgen knows (name, part, resources, clock, PYNQ facts)."""
    return list_boards()


def _default_name(model) -> str:
    if isinstance(model, (str, Path)):
        from hlsgen.frontends.select import module_spec
        spec = module_spec(model)
        name = spec[1] if spec else Path(model).stem
    else:
        name = getattr(model, "name", None) or getattr(getattr(model, "graph", None), "name", None) \
            or type(model).__name__
    return cpp_ident(str(name)).lower() or "model"


class Project:
    """A generated project folder."""

    def __init__(self, path: str | Path, result: GenerateResult | None = None):
        self.path = Path(path)
        self.manifest = load_project(self.path)
        self.name = self.manifest["name"]
        self.architecture = of_project(self.manifest)
        self.result = result          # what convert() measured; None for hlsgen.open()
        self._graph = None

    def __repr__(self) -> str:
        m = self.manifest
        return (f"<hlsgen.Project '{self.name}': {m.get('framework')} model, "
                f"{self.architecture.name} on {m['board']} at {m['clock_mhz']:g} MHz, "
                f"in {self.path}>")

    # --- what it computes -----------------------------------------------------

    @property
    def graph(self) -> Graph:
        """The lowered IR the project was made from (ir/)."""
        if self._graph is None:
            self._graph = Graph.load(self.path / "ir")
        return self._graph

    def csim(self, x=None, *, fast: bool = False, threaded: bool = False,
             synthesis_frames: int | str | None = None, framework: bool = True):
        """C simulation of both kernel-library branches against the golden
        executor, on the project's test vectors or on float inputs `x`
        (framework layout). Returns a CsimResult: `.summary()` is the table
        as data, `.mismatches` must be 0; printing it shows the table.
        With `x`, the model the project was made from runs beside it and is
        compared with golden (framework=False: not); the synthesis branch
        runs on the first 100 frames of `x` (synthesis_frames: N or "all")."""
        from hlsgen.sim.csim import csim
        frontend = self.result.frontend if self.result is not None else None
        return csim(self.path, None if x is None else self._to_ir(x), threaded=threaded,
                    fast=fast, synthesis_frames=synthesis_frames, framework=framework,
                    frontend=frontend)

    def predict(self, x, raw: bool = False) -> np.ndarray:
        """The design's outputs for float inputs `x` (framework layout), from
        its C simulation: de-quantized values (N, outputs), or the output
        codes with raw=True. For an --output argmax design, the class index.
        A model with several inputs takes a dict by input name (or a list in
        the model's order); with several inputs or outputs, a dict by output name
        (as the generated driver)."""
        res = self.csim(x, fast=True, framework=False)
        if res.csim_mismatches:
            raise HlsgenError(f"C simulation of {self.path} differs from the golden executor in "
                              f"{res.csim_mismatches} values; this is a bug, please report it")
        g = self.graph
        # With a host float tail (DESIGN.md), the framework's values of the codes.
        out = res.csim if raw else golden.output_values(g, res.csim)
        if g.multi_io:   # several inputs or outputs: a dict by output name, [N, *shape] each
            parts = g.split(g.outputs, out)
            scales = g.meta.get("output_scales") or [1.0] * len(g.outputs)
            if raw or (len(g.outputs) == 1 and (g.output_is_label or host_tail.of_output(g, g.outputs[0]))):
                scales = [1.0] * len(g.outputs)
            return {n: parts[t] * float(k) if k != 1 else parts[t]
                    for t, n, k in zip(g.outputs, g.output_names, scales)}
        if raw or g.output_is_label or g.meta.get("host_tail"):
            return out
        # A final quantizer's float scale: value = code * 2**-frac * output_scale.
        return out * float(g.meta.get("output_scale", 1))

    def trace(self, frames: int = 8):
        """Every intermediate tensor of the C simulation against the golden
        executor on the first `frames` test vectors (TraceRow per stream)."""
        from hlsgen.sim.csim import trace
        return trace(self.path, frames)

    def _to_ir(self, x):
        if len(self.graph.inputs) > 1:   # a dict by input name, or a list (checked by csim)
            return x
        x = np.asarray(x, dtype=np.float64)
        layout = self.graph.meta.get("framework_layout") or {}
        if layout.get("input") == "channels_first" and x.ndim >= 3:
            x = np.moveaxis(x, 1, -1)
        shape = tuple(self.graph.tensors[self.graph.inputs[0]].shape)
        if x.shape[1:] != shape:
            raise HlsgenError(f"inputs of shape {x.shape} do not match the model's input "
                              f"(N, {', '.join(map(str, shape))}) (framework layout)")
        return x

    # --- what it costs ----------------------------------------------------------

    def report(self, board: str | None = None, clock_mhz: float | None = None) -> "Report":
        """Estimated resources and throughput (re-estimated on `board` or at
        `clock_mhz` when given; the project's report files are rewritten)."""
        text = self.architecture.refresh_report(self.path, board, clock_mhz)
        return Report(self.path, text, self.report_json())

    def report_json(self) -> dict:
        return read_json(self.path / "report.json", self.path)

    def _repr_html_(self) -> str:
        return f"<p>{html.escape(repr(self))}</p>" + Report(
            self.path, self.architecture.summary(self.report_json()), {})._repr_html_()

    def lint(self, compile: bool = False):   # noqa: A002 (the CLI's --compile)
        """The rules Vitis HLS enforces that can be checked without it (LintReport)."""
        from hlsgen.lint import lint_project
        return lint_project(self.path, compilers=compile)

    # --- the board --------------------------------------------------------------

    def build(self, stage: str = "ip", verbose: bool = False) -> dict:
        """Runs Vitis HLS / Vivado up to `stage` (csim, synth, cosim, ip,
        bitstream); needs the vendor tools on PATH."""
        from hlsgen.platform.build import build
        return build(self.path, stage, verbose=verbose)

    def deploy(self, host: str, *, user: str = "xilinx", port: int = 22, key: str | None = None,
               remote_dir: str | None = None, benchmark: int = 1000, **target) -> int:
        """Copies the built bitstream, driver and test vectors to a PYNQ board
        over SSH and runs the driver's self-test there; its exit status."""
        from hlsgen.platform.deploy import Target, deploy
        return deploy(self.path, Target(host=host, port=port, user=user, key=key, **target),
                      remote_dir=remote_dir, benchmark=benchmark)


class Report:
    """A project's estimates: `str()` is the CLI's table, `.data` report.json,
    and a notebook shows the table with the figure."""

    FIGURES = ("report.png", "roofline.png")

    def __init__(self, project: Path, text: str, data: dict):
        self.project, self.text, self.data = Path(project), text, data

    def __str__(self) -> str:
        return self.text

    __repr__ = __str__

    def _repr_html_(self) -> str:
        parts = [f"<pre>{html.escape(self.text)}</pre>"]
        for name in self.FIGURES:
            png = self.project / name
            if png.is_file():
                data = base64.b64encode(png.read_bytes()).decode()
                parts.append(f'<img alt="{name}" src="data:image/png;base64,{data}"/>')
        return "\n".join(parts)
