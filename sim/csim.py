"""`hlsgen csim`: C simulation of a generated project against the golden
executor (bit for bit) and against the framework's stored outputs."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import numpy as np

from hlsgen.ir import golden
from hlsgen.errors import HlsgenError
from hlsgen.ir.graph import Graph, named_inputs
from hlsgen.project.manifest import load_project
from hlsgen.sim import framework as framework_side
from hlsgen.sim.compile import build
from hlsgen.sim.summary import format_csim

JOBS = 2  # this machine's cores
# Frames per C-simulation process (and per golden-executor step): a step of
# the progress bar. A process starts (loads parameters) in 10-30 ms, as long
# as 150 frames of an MLP: at most STEPS_PER_JOB processes per core.
BATCH = 500
STEPS_PER_JOB = 8
# New inputs run through the synthesis branch on their first this many frames
# by default (--synthesis-frames all: every one); the test vectors, on all.
SYNTHESIS_SAMPLE = 100


@dataclass
class BranchResult:
    """The synthesis branch of the kernel library (the code Vitis HLS
    compiles) run on the first `frames` test vectors, against golden."""
    out: np.ndarray
    golden: np.ndarray
    build_seconds: float
    build_cached: bool
    run_seconds: float

    @property
    def frames(self) -> int:
        return len(self.out)

    @property
    def mismatches(self) -> int:
        return int(np.sum(self.out != self.golden))

    @property
    def rows_exact(self) -> int:
        return int(np.sum(np.all(self.out == self.golden, axis=1)))

    def summary(self) -> dict:
        return {"frames": self.frames, "values": int(self.golden.size),
                "equal_values": int(self.golden.size) - self.mismatches, "rows_exact": self.rows_exact,
                "build_seconds": round(self.build_seconds, 3), "build_cached": self.build_cached,
                "run_seconds": round(self.run_seconds, 4)}


@dataclass
class CsimResult:
    project: Path
    frames: int
    values: int
    csim: np.ndarray
    golden: np.ndarray
    build_seconds: float
    build_cached: bool
    run_seconds: float
    framework: np.ndarray | None = None
    golden_values: np.ndarray | None = None
    synthesis: BranchResult | None = None   # None with fast=True
    outputs: list | None = None   # several outputs: (name, values per frame) of each, in order
    # New inputs: why the framework was not run beside them ("" when it was),
    # its differences from golden as its frontend explains them, and the
    # seconds of each stage (golden, framework, C simulation, synthesis branch).
    framework_note: str = ""
    framework_differences: dict | None = None
    stage_seconds: dict = field(default_factory=dict)

    def __repr__(self) -> str:
        return format_csim(self)   # the table `hlsgen csim` prints

    @property
    def csim_mismatches(self) -> int:
        return int(np.sum(self.csim != self.golden))

    @property
    def mismatches(self) -> int:
        """Outputs that differ from golden in either branch."""
        return self.csim_mismatches + (self.synthesis.mismatches if self.synthesis else 0)

    @property
    def rows_exact(self) -> int:
        return int(np.sum(np.all(self.csim == self.golden, axis=1)))

    def framework_figures(self) -> dict | None:
        if self.framework is None:
            return None
        fw, gv = self.framework, self.golden_values
        # Several outputs: top-1 of the first; equal values of each, by name.
        size = self.outputs[0][1] if self.outputs else fw.shape[1]
        argmax_design = size == 1 and (self.outputs or self.csim.shape[1] == 1)
        top1 = (np.mean(fw[:, 0] == gv[:, 0]) if argmax_design
                else np.mean(np.argmax(fw[:, :size], 1) == np.argmax(gv[:, :size], 1)))
        figures = {"equal_values": int(np.sum(fw == gv)), "values": int(fw.size),
                   "rows_exact": int(np.sum(np.all(fw == gv, axis=1))),
                   "max_abs_diff": float(np.max(np.abs(fw - gv))) if fw.size else 0.0,
                   "top1_agreement": float(top1)}
        if self.outputs:
            ends = np.cumsum([0] + [n for _, n in self.outputs])
            figures["per_output"] = {name: {"equal_values": int(np.sum(fw[:, a:b] == gv[:, a:b])),
                                            "values": int(fw[:, a:b].size)}
                                     for (name, _), a, b in zip(self.outputs, ends, ends[1:])}
        return figures

    def summary(self) -> dict:
        return {"frames": self.frames, "values": self.values, "csim_vs_golden": {
                    "equal_values": self.values - self.csim_mismatches, "values": self.values,
                    "rows_exact": self.rows_exact},
                "synthesis_vs_golden": self.synthesis.summary() if self.synthesis else None,
                "golden_vs_framework": self.framework_figures(),
                "framework_note": self.framework_note or None,
                "framework_differences": self.framework_differences,
                "build_seconds": round(self.build_seconds, 3), "build_cached": self.build_cached,
                "run_seconds": round(self.run_seconds, 4),
                "stage_seconds": {k: round(v, 3) for k, v in self.stage_seconds.items()}}


def run_frames(exe: Path, project: Path, codes: np.ndarray, out_count: int, jobs: int = JOBS,
               progress=None) -> np.ndarray:
    """Runs frames through the executable in batches of about BATCH frames
    (fewer, larger ones for many frames), one process per batch, `jobs` at a
    time; progress(frames) after each."""
    n = len(codes)
    batches = min(max(jobs, -(-n // BATCH)), STEPS_PER_JOB * jobs, n)
    chunks = [c for c in np.array_split(np.arange(n), batches) if len(c)]
    params = project / "firmware" / "params"
    with tempfile.TemporaryDirectory(prefix="hlsgen-csim-") as tmp:
        def one(i_idx):
            i, idx = i_idx
            fin, fout = Path(tmp) / f"in{i}.bin", Path(tmp) / f"out{i}.bin"
            codes[idx].astype("<i8").tofile(fin)
            proc = subprocess.run([str(exe), str(params), str(fin), str(fout)],
                                  capture_output=True, text=True)
            if proc.returncode != 0:
                raise HlsgenError(f"C simulation of '{project}' failed: "
                                  f"{(proc.stderr or proc.stdout).strip()[:300]}")
            if progress:
                progress(len(idx))
            return np.fromfile(fout, dtype="<i8").reshape(len(idx), out_count)
        with ThreadPoolExecutor(max_workers=min(jobs, len(chunks))) as pool:
            parts = list(pool.map(one, enumerate(chunks)))
    return np.concatenate(parts)


def synthesis_count(value, frames: int, new_inputs: bool) -> int:
    """Frames the synthesis branch runs: value is a count >= 1, "all", or None
    (every test vector; the first SYNTHESIS_SAMPLE of new inputs)."""
    if value is None:
        return min(SYNTHESIS_SAMPLE, frames) if new_inputs else frames
    if value == "all":
        return frames
    text = str(value)
    if isinstance(value, bool) or not (text.isascii() and text.isdecimal()) or int(text) < 1:
        raise HlsgenError(f"--synthesis-frames (synthesis_frames=) {value!r} must be a number "
                          "of frames, at least 1, or 'all'; --fast (fast=True) skips the "
                          "synthesis branch")
    return int(text)


def _raise_failed(*jobs) -> None:
    """Raises the error of a finished build, if one failed."""
    for job in jobs:
        if job is not None and job.done() and job.exception() is not None:
            raise job.exception()


def golden_outputs(graph: Graph, codes: np.ndarray, progress=None) -> np.ndarray:
    """The golden executor's output codes [N, outputs], BATCH frames at a time."""
    parts = []
    for i in range(0, len(codes), BATCH):
        batch = codes[i:i + BATCH]
        parts.append(golden.output_codes(graph, batch))
        if progress:
            progress(len(batch))
    return np.concatenate(parts)


def _stage(show: bool, frames: int, what: str, fn):
    """fn(progress) under a progress bar on stderr (tqdm) if show."""
    if not show:
        return fn(None)
    from tqdm import tqdm
    with tqdm(total=frames, desc=what, unit=" frames", file=sys.stderr, dynamic_ncols=True,
              smoothing=0.1) as bar:
        return fn(bar.update)


def _in_ir_layout(graph: Graph, x: np.ndarray, tensor: str | None = None) -> np.ndarray:
    """Inputs in the IR's layout (N, H, W, C) or, for a channels-first
    framework, in its own (N, C, H, W) -> the IR's."""
    shape = tuple(graph.tensors[tensor or graph.inputs[0]].shape)
    if x.ndim < 2 or len(x) == 0:
        raise HlsgenError(f"inputs of shape {x.shape} are not frames: give an array (N, ...) of "
                          "N >= 1 frames (one frame: x[None])")
    layout = graph.meta.get("framework_layout") or {}
    channels_first = (layout.get("inputs") or {}).get(tensor, layout.get("input")) == "channels_first"
    if x.shape[1:] != shape and channels_first and x.ndim >= 3 and np.moveaxis(x, 1, -1).shape[1:] == shape:
        return np.moveaxis(x, 1, -1)
    if x.shape[1:] != shape and int(np.prod(x.shape[1:])) != int(np.prod(shape)):
        what = f"input '{tensor}'" if tensor else "the model's input"
        theirs = (shape[-1:] + shape[:-1]) if channels_first and len(shape) >= 2 else shape
        raise HlsgenError(f"inputs of shape {x.shape} do not match {what} (N, "
                          f"{', '.join(map(str, theirs))})"
                          + (" (the framework's channels-first layout)" if theirs != shape else ""))
    return x


def quantized_inputs(graph: Graph, inputs) -> np.ndarray:
    """Float inputs -> code frames [N, input codes]: an array for one input;
    for several, a dict by input name (or an opened .npz) or a list."""
    if len(graph.inputs) == 1:
        x = np.asarray(inputs)
        return graph.quantize_inputs(_in_ir_layout(graph, x)).reshape(len(x), -1)
    return graph.quantize_inputs(named_inputs(
        graph, inputs, lambda x, t: _in_ir_layout(graph, x, t).reshape((len(x),) + tuple(
            graph.tensors[t].shape))))


def csim(project: Path, inputs: np.ndarray | None = None, threaded: bool = False,
         fast: bool = False, synthesis_frames: int | None = None,
         progress: bool | None = None, framework: bool = True, frontend=None) -> CsimResult:
    """inputs: float values [N, ...] to use instead of the project's test vectors
    (a model with several inputs: a dict by input name, an .npz, or a list).
    threaded: run every dataflow process in its own thread on FIFOs of their
    declared depths (as hardware does) instead of one after another.
    Both branches of the kernel library run: the C-simulation branch on every
    frame, the synthesis branch (what Vitis HLS compiles) on the first
    `synthesis_frames` ("all": every one): by default every test vector, or the first
    SYNTHESIS_SAMPLE of new inputs (it runs lane by lane, as the hardware
    does, at about 1/500 of the C-simulation branch's speed on a binarized
    CNN); fast=True skips it.
    framework: with new inputs, run the model the project was made from
    beside them (sim/framework.py; frontend: the model as a Python session
    read it) and compare it with golden, as generate does on the test vectors.
    progress: progress bars on stderr (default: when stderr is a terminal)."""
    project = Path(project)
    show = sys.stderr.isatty() if progress is None else progress
    meta = load_project(project)
    name = meta["name"]
    graph = Graph.load(project / "ir")
    codes = None if inputs is None else quantized_inputs(graph, inputs)
    synthesis_count(synthesis_frames, 0, inputs is not None)   # a bad value, before any work
    # Both branches compile (g++, in processes of their own) while the framework loads.
    pool = ThreadPoolExecutor(max_workers=2)
    try:
        b_job = pool.submit(build, project, name, threaded=threaded)
        sb_job = None if fast else pool.submit(build, project, name, synthesis=True)
        fw, fw_note, diffs, seconds = None, "", None, {}
        if inputs is None:
            gold = np.load(project / "tb" / "golden.npy")
            codes = np.fromfile(project / "tb" / "inputs.bin", dtype="<i8").reshape(len(gold), -1)
            fw = np.load(project / "tb" / "framework.npy")
            values = golden.output_values(graph, gold)
        else:
            side = None
            if framework:
                if show:
                    print(f"framework ({meta.get('framework')}): loading the model the project "
                          "was made from", file=sys.stderr)
                t0 = time.perf_counter()
                side, fw_note = framework_side.reload(project, meta, graph, frontend)
                seconds["framework_load"] = time.perf_counter() - t0
            else:
                fw_note = "not asked for (--no-framework)"
            _raise_failed(b_job, sb_job)   # a build that failed is said now, not after golden
            t0 = time.perf_counter()
            gold = _stage(show, len(codes), "golden executor",
                          lambda p: golden_outputs(graph, codes, p))
            seconds["golden"] = time.perf_counter() - t0
            values = golden.output_values(graph, gold)
            if side is not None:
                _raise_failed(b_job, sb_job)
                t0 = time.perf_counter()
                fw, diffs = _stage(show, len(codes), f"framework ({meta.get('framework')})",
                                   lambda p: framework_side.outputs(side, codes, values, p))
                seconds["framework"] = time.perf_counter() - t0
        b = b_job.result()
        sb = sb_job.result() if sb_job else None
    finally:   # on an error, do not wait for a compiler that is still running
        pool.shutdown(wait=False, cancel_futures=True)
    t0 = time.perf_counter()
    out = _stage(show, len(codes), "C simulation",
                 lambda p: run_frames(b.exe, project, codes, gold.shape[1], progress=p))
    run_s = seconds["csim"] = time.perf_counter() - t0
    res = CsimResult(project, len(codes), int(gold.size), out, gold, b.seconds, b.cached, run_s,
                     fw, values, framework_note=fw_note,
                     framework_differences=diffs, stage_seconds=seconds)
    if len(graph.outputs) > 1:
        res.outputs = list(zip(graph.output_names, graph.sizes(graph.outputs)))
    if not fast:
        n = min(synthesis_count(synthesis_frames, len(codes), inputs is not None), len(codes))
        t0 = time.perf_counter()
        sout = _stage(show, n, "synthesis branch",
                      lambda p: run_frames(sb.exe, project, codes[:n], gold.shape[1], progress=p))
        seconds["synthesis"] = time.perf_counter() - t0
        res.synthesis = BranchResult(sout, gold[:n], sb.seconds, sb.cached, seconds["synthesis"])
    report = project / "report.json"
    if report.is_file():
        doc = json.loads(report.read_text())
        doc["csim"] = res.summary()
        report.write_text(json.dumps(doc, indent=1))
    return res


@dataclass
class TraceRow:
    stream: str
    tensor: str
    layer: str
    equal: int
    values: int

    @property
    def exact(self) -> bool:
        return self.equal == self.values


def trace(project: Path, frames: int = 8) -> list[TraceRow]:
    """Every intermediate tensor of C simulation against the golden executor,
    on the first `frames` test vectors, in dataflow order: the first row that
    is not exact is the first divergent layer."""
    project = Path(project)
    meta = load_project(project)
    name = meta["name"]
    graph = Graph.load(project / "ir")
    report = json.loads((project / "report.json").read_text())
    if "streams" not in report:
        raise HlsgenError(f"'{project}' is a {report.get('arch', 'tiled')} project without "
                          "dataflow streams; --trace works on dataflow projects (--arch dataflow)")
    b = build(project, name, trace=True)
    codes = np.fromfile(project / "tb" / "inputs.bin", dtype="<i8")
    n_in = sum(graph.sizes(graph.inputs))
    codes = codes.reshape(-1, n_in)[:frames]
    gold = golden.run(graph, codes, trace=True)
    with tempfile.TemporaryDirectory(prefix="hlsgen-trace-") as tmp:
        fin, fout = Path(tmp) / "in.bin", Path(tmp) / "out.bin"
        codes.astype("<i8").tofile(fin)
        env = dict(os.environ, HLSGEN_TRACE_DIR=tmp)
        proc = subprocess.run([str(b.exe), str(project / "firmware" / "params"), str(fin), str(fout)],
                              capture_output=True, text=True, env=env)
        if proc.returncode != 0:
            raise HlsgenError(f"traced C simulation of '{project}' failed: "
                              f"{(proc.stderr or proc.stdout).strip()[:300]}")
        rows = []
        for s in report["streams"]:
            path = Path(tmp) / f"{s['name']}.bin"
            if not s["tensor"] or not path.is_file():
                continue
            got = np.fromfile(path, dtype="<i8").reshape(len(codes), -1)
            want = gold[s["tensor"]].reshape(len(codes), -1)
            rows.append(TraceRow(s["name"], s["tensor"], s["kernel"],
                                 int(np.sum(got == want)), int(want.size)))
    return rows
