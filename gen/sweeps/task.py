"""What a worker runs for a design point, as two tasks: generate (estimates
and lint come with it), then, once per distinct design (points whose
projects are the same files share it), the evaluation: C simulation of both
kernel-library branches, the lint rules with the compilers, and a vendor
stage through `hlsgen build`. Each returns a row; a failure is a row too
(status "failed", a one-line error; the traceback in points/<key>/error.txt)."""

from __future__ import annotations

import atexit
import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import traceback
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.sweeps.grid import options
from hlsgen.sweeps.spec import VENDOR, Point
from hlsgen.version import __version__

PROJECT = "project"    # points/<key>/project: the point's generated project
SKIPPED = "skipped"    # a point's status when its vendor stage was skipped (no tools)


class PointTimeout(Exception):
    """The point ran over its time limit."""


def one_line(e: BaseException) -> str:
    text = " ".join(str(e).split())
    if isinstance(e, (HlsgenError, PointTimeout, PointCancelled)):
        return text[:400]
    return f"{type(e).__name__}: {text}"[:400]


def generate_point(point: Point, folder: str) -> dict:
    """Task 1: generates the point's project into `folder` (points/<key>);
    its row: estimates, generate's lint, and the `design` hash."""
    return _task(point, Path(folder), _generate)


def evaluate_point(point: Point, folder: str) -> dict:
    """Task 2, once per design: the other stages on the project
    generate_point wrote; the figures they add to the row."""
    return _task(point, Path(folder), _evaluate)


def run_point(point: Point, folder: str) -> dict:
    """Both tasks, one after the other: the point's whole row."""
    row = generate_point(point, folder)
    if row["status"] == "ok" and evaluates(point.stages):
        row = merge(row, evaluate_point(point, folder))
    return row


def evaluates(stages) -> bool:
    """Whether the stages go beyond generate."""
    return any(s != "generate" for s in stages)


# What an evaluation adds to a row (besides figures(), the same for one design).
EVALUATED = ("status", "error", "worker", "csim_equal", "synthesis_branch_equal", "exact",
             "lint_violations", "synth_stage", "synth_lut", "synth_ff", "synth_dsp",
             "synth_bram18", "synth_latency_cycles", "synth_interval_cycles", "synth_clock_ns",
             "cosim")


def merge(row: dict, evaluation: dict) -> dict:
    """A point's row with the evaluation of its design (which may have run
    on another point's project: `evaluated_in`)."""
    out = dict(row, **{k: v for k, v in evaluation.items()
                       if k not in ("key", "project", "notes", "seconds")})
    out["evaluated_in"] = evaluation.get("project", "")
    out["evaluation_notes"] = evaluation.get("notes", "")     # kept in point.json
    out["notes"] = "; ".join(n for n in (row.get("notes"), evaluation.get("notes")) if n)
    out["seconds"] = round(row.get("seconds", 0) + evaluation.get("seconds", 0), 2)
    return out


def evaluation_of(row: dict) -> dict | None:
    """The evaluation a recorded row holds (for another point of its design),
    or None when it holds none that succeeded."""
    if row.get("status") != "ok" or not row.get("evaluated_in") or not row.get("design"):
        return None
    return dict({k: row[k] for k in EVALUATED if k in row}, project=row["evaluated_in"],
                notes=row.get("evaluation_notes", ""), seconds=0)


def _task(point: Point, folder: Path, body) -> dict:
    """Runs body(point, project, row, notes, deadline); any failure is the
    point's, recorded in the row (the traceback in error.txt), never raised."""
    t0 = time.monotonic()
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "error.txt").unlink(missing_ok=True)
    row = {"key": point.key, "status": "ok", "error": "", "notes": "",
           "worker": f"{socket.gethostname()}:{os.getpid()}", "project": str(folder / PROJECT),
           "hlsgen": __version__}
    notes: list[str] = []
    try:
        body(point, folder / PROJECT, row, notes, _Deadline(point.timeout, t0))
    except Exception as e:   # noqa: BLE001
        row.update(status="failed", error=one_line(e))
        (folder / "error.txt").write_text(traceback.format_exc())
    row["notes"] = "; ".join(" ".join(n.split()) for n in notes)
    row["seconds"] = round(time.monotonic() - t0, 2)
    return row


class _Deadline:
    def __init__(self, seconds: float | None, t0: float):
        self.seconds, self.end = seconds, None if seconds is None else t0 + seconds

    def left(self) -> float | None:
        return None if self.end is None else self.end - time.monotonic()

    def check(self, stage: str) -> None:
        if self.end is not None and self.left() <= 0:
            raise PointTimeout(f"timeout: the point ran over {self.seconds:g} s (after {stage})")


# What makes two projects the same design: every file the stages after
# generate read (not the manifest's date, the report's budget note, figures).
DESIGN_FILES = ("firmware", "tb", "build_prj.tcl", "vivado", "driver")


def design_hash(project: Path) -> str:
    h = hashlib.sha256()
    for top in DESIGN_FILES:
        path = project / top
        for f in sorted(path.rglob("*")) if path.is_dir() else [path] if path.is_file() else []:
            if f.is_file():
                h.update(str(f.relative_to(project)).encode() + b"\0" + f.read_bytes())
    return h.hexdigest()[:16]


def _generate(point: Point, project: Path, row: dict, notes: list, deadline: _Deadline) -> None:
    from hlsgen.flow import generate
    opts = options(point.options, **point.model_options, force=True)
    res = generate(point.model, project, opts, made_by="hlsgen sweep", log=notes.append)
    row.update(figures(json.loads((project / "report.json").read_text())),
               lint_violations=len(res.lint.violations), design=design_hash(project))
    deadline.check("generate")


def _evaluate(point: Point, project: Path, row: dict, notes: list, deadline: _Deadline) -> None:
    if "csim" in point.stages:
        from hlsgen.sim.csim import csim
        c = csim(project)
        gf = json.loads((project / "report.json").read_text()).get("golden_vs_framework", {})
        row["csim_equal"] = f"{c.values - c.csim_mismatches}/{c.values}"
        row["synthesis_branch_equal"] = f"{c.synthesis.golden.size - c.synthesis.mismatches}/" \
                                        f"{c.synthesis.golden.size}"
        row["exact"] = c.mismatches == 0 and gf.get("equal_values") == gf.get("values")
        deadline.check("csim")
    if "lint" in point.stages:
        from hlsgen.lint import lint_project
        rep = lint_project(project, compilers=True)
        row["lint_violations"] = len(rep.violations)
        deadline.check("lint")
    vendor = next((s for s in point.stages if s in VENDOR), None)
    if vendor:
        if _vendor_stage(project, vendor, notes, deadline):
            row.update(figures(json.loads((project / "report.json").read_text())))
        else:
            row["status"] = SKIPPED    # not cached as done: a later run with the tools runs it


def _vendor_stage(project: Path, stage: str, notes: list, deadline: _Deadline) -> bool:
    """`hlsgen build --stage STAGE` under hlsgen.sweeps.guard, in its own
    process group, which is ended whenever the stage does not finish: a
    timeout, the task cancelled (the client interrupted), the worker shutting
    down (atexit) or killed (the guard sees it gone). Skipped with a note
    without the tools (False)."""
    from hlsgen.platform.build import tools_of
    missing = [t for t in tools_of(stage) if shutil.which(t) is None]
    if missing:
        notes.append(f"{stage} skipped: {' and '.join(missing)} not on PATH on "
                     f"{socket.gethostname()}")
        return False
    cmd = [sys.executable, "-m", "hlsgen.sweeps.guard", str(os.getpid()),
           sys.executable, "-m", "hlsgen.cli", "build", str(project), "--stage", stage]
    proc = subprocess.Popen(cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                            errors="replace", start_new_session=True)
    _RUNNING.add(proc)
    try:
        while True:
            left = deadline.left()
            try:
                out, _ = proc.communicate(timeout=POLL if left is None else max(0, min(POLL, left)))
                break
            except subprocess.TimeoutExpired:
                if deadline.left() is not None and deadline.left() <= 0:
                    raise PointTimeout(f"timeout: {stage} ran over the point's "
                                       f"{deadline.seconds:g} s; its log is in "
                                       f"{project / 'build' / 'logs'}") from None
                if _cancelled():
                    raise PointCancelled(f"cancelled during {stage} (the sweep was "
                                         "interrupted); its vendor tools were stopped") from None
    finally:
        _RUNNING.discard(proc)
        if proc.returncode is None:
            _kill(proc)
    if proc.returncode != 0:
        errors = [l[len("error: "):] for l in out.splitlines() if l.startswith("error: ")]
        raise HlsgenError(f"hlsgen build --stage {stage}: "
                          f"{errors[-1] if errors else f'exit code {proc.returncode}'}")
    return True


POLL = 1.0          # seconds between checks for a timeout or a cancelled task
_RUNNING: set = set()  # this worker's vendor stages still running (their process groups)


class PointCancelled(Exception):
    """The point's task was cancelled while a vendor stage ran."""


def _kill(proc: subprocess.Popen) -> None:
    """Ends proc's whole process group (the build and its vendor tools)."""
    try:
        os.killpg(proc.pid, signal.SIGKILL)
    except (ProcessLookupError, PermissionError):
        pass
    try:
        proc.communicate(timeout=10)
    except (subprocess.TimeoutExpired, ValueError, OSError):
        pass
    _wait_gone(proc.pid)


def _wait_gone(group: int, seconds: float = 10.0) -> None:
    """Waits until no process of `group` runs any more (SIGKILL is delivered
    asynchronously; on a loaded machine a tool may take a moment to die).
    Linux (/proc); elsewhere it returns at once."""
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        alive = False
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rpartition(")")[2].split()
            except OSError:
                continue
            if len(fields) > 2 and fields[2] == str(group) and fields[0] not in ("Z", "X"):
                alive = True
                break
        if not alive:
            return
        time.sleep(0.05)


@atexit.register
def _kill_all() -> None:
    """The worker exits: its vendor stages end with it."""
    for proc in list(_RUNNING):
        _kill(proc)


def _cancelled() -> bool:
    """Whether this task was cancelled or its worker is closing (False outside Dask)."""
    try:
        from distributed import get_worker
        worker = get_worker()
        key = worker.get_current_task()
    except (ImportError, ValueError, AttributeError, KeyError):
        return False
    ts = worker.state.tasks.get(key)
    return ts is None or ts.state in ("cancelled", "released", "forgotten") \
        or getattr(worker.status, "name", "running") not in ("running", "paused")


def figures(report: dict) -> dict:
    """The figures of a project's report.json, flat: the estimates (both
    architectures), golden vs framework, and synthesis where it ran."""
    out = {"arch": report.get("arch", ""),
           "folding": json.dumps(report["folding"], separators=(",", ":"))
           if report.get("folding") else ""}
    est, engine = report.get("estimates"), report.get("engine")
    if est:
        totals = est.get("totals", {})
        out.update(est_fps=round(est.get("fps", 0), 1), est_latency_us=est.get("latency_us"),
                   **{f"est_{k}": totals.get(k) for k in ("lut", "ff", "dsp", "bram18")})
    elif engine:
        clock = engine.get("clock_mhz") or report.get("clock_mhz")
        fps = clock * 1e6 / engine["cycles"] if engine.get("cycles") else None
        out.update(est_fps=round(fps, 1) if fps else None,
                   est_latency_us=round(engine["cycles"] / clock, 2) if fps else None,
                   est_lut=None, est_ff=None, est_dsp=engine.get("dsp"),
                   est_bram18=engine.get("bram18"))
    gf = report.get("golden_vs_framework") or {}
    if gf:
        out["golden_vs_framework"] = f"{gf.get('equal_values')}/{gf.get('values')}"
    syn = report.get("synthesis")
    if syn:
        res = syn.get("resources", {})
        out.update(synth_stage=syn.get("stage"), synth_lut=res.get("LUT"), synth_ff=res.get("FF"),
                   synth_dsp=res.get("DSP"), synth_bram18=res.get("BRAM_18K"),
                   synth_latency_cycles=(syn.get("latency_cycles") or {}).get("worst"),
                   synth_interval_cycles=(syn.get("interval_cycles") or {}).get("max"),
                   synth_clock_ns=syn.get("estimated_clock_ns"), cosim=syn.get("cosim"))
    return out
