"""A sweep's output folder, written as results arrive:

    sweep.json            what the sweep is: model and its hash, stages, points
    points/<key>/point.json   one point's row: its record and its cache entry
    points/<key>/project/     the point's generated project (error.txt on failure); points
                          of one design (the same files) are simulated and built once,
                          in the project `evaluated_in` names
    results.csv           every recorded point of this sweep, one row each
    results.md            the same as a Markdown table
    pareto.png            frames/s against LUT and BRAM (plot.py)

Every file is replaced whole (never half-written). A folder holding a sweep
of the same model is resumed: its recorded points are reused, new points are
added. Any other non-empty folder is refused unless --force, which starts
afresh."""

from __future__ import annotations

import csv
import io
import json
import shutil
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.project.folder import check_target, write_atomic
from hlsgen.sweeps.spec import Point

SWEEP = "sweep.json"
FIRST = ("key", "point")
LAST = ("status", "error", "notes", "arch", "folding", "est_fps", "est_latency_us", "est_lut",
        "est_ff", "est_dsp", "est_bram18", "golden_vs_framework", "exact", "csim_equal",
        "synthesis_branch_equal", "lint_violations", "synth_stage", "synth_lut", "synth_ff",
        "synth_dsp", "synth_bram18", "synth_latency_cycles", "synth_interval_cycles",
        "synth_clock_ns", "cosim", "design", "seconds", "worker", "project", "evaluated_in")
# Columns of the Markdown table (the CSV holds them all).
SHOWN = ("key", "point", "status", "est_fps", "est_lut", "est_bram18", "est_dsp", "exact",
         "lint_violations", "synth_lut", "synth_bram18", "seconds", "error")


class Store:
    def __init__(self, out: Path, points: list[Point]):
        self.out = Path(out)
        self.points = points
        self.columns = list(dict.fromkeys([*FIRST, *(k for p in points for k in p.options),
                                           *LAST]))
        self.rows: dict[str, dict] = {}

    # --- the folder ------------------------------------------------------------

    def check(self, force: bool) -> bool:
        """Whether the folder may be written: True to resume a sweep of this
        model, False for a fresh start; an HlsgenError otherwise. Writes nothing."""
        sweep = self.out / SWEEP
        if not force and sweep.is_file():
            try:
                old = json.loads(sweep.read_text())
            except (OSError, ValueError):
                old = {}
            if old.get("model_sha256") == self.points[0].model_sha256:
                return True
            raise HlsgenError(f"output folder '{self.out}' holds a sweep of another model "
                              f"({old.get('model', '?')}); choose another --out or add --force "
                              "to replace it")
        check_target(self.out, force)
        return False

    def open(self, resume: bool, model: str) -> None:
        """Creates (or, resuming, reuses) the folder and records the sweep."""
        if not resume and self.out.exists():
            shutil.rmtree(self.out)        # --force, checked by check()
        (self.out / "points").mkdir(parents=True, exist_ok=True)
        p = self.points[0]
        points = [{"key": q.key, **q.options} for q in self.points]
        if resume:     # an earlier run's points stay listed (their folders stay too)
            try:
                earlier = json.loads((self.out / SWEEP).read_text()).get("points", [])
            except (OSError, ValueError, AttributeError):
                earlier = []
            keys = {q["key"] for q in points}
            points += [q for q in earlier if isinstance(q, dict) and q.get("key") not in keys]
        write_atomic(self.out / SWEEP, json.dumps({
            "model": model, "model_sha256": p.model_sha256, "model_options": p.model_options,
            "stages": list(p.stages), "points": points}, indent=1))

    def folder(self, point: Point) -> Path:
        return self.out / "points" / point.key

    # --- rows ------------------------------------------------------------------

    def cached(self, point: Point, retry_failed: bool = False) -> dict | None:
        """The recorded row of `point`, if any (a failed one only without
        retry_failed; never one whose vendor stage was skipped: a later run,
        perhaps on workers with the tools, runs it again)."""
        try:
            row = json.loads((self.folder(point) / "point.json").read_text())
        except (OSError, ValueError):
            return None
        if row.get("status") == "skipped" or retry_failed and row.get("status") != "ok":
            return None
        return row

    def record(self, point: Point, row: dict) -> None:
        """Keeps `row` (as points/<key>/point.json, unless it is `uncached`:
        computed by another hlsgen version) and rewrites the tables."""
        row = {"key": point.key, "point": point.label, **point.options, **row}
        if not row.get("uncached"):
            self.folder(point).mkdir(parents=True, exist_ok=True)
            write_atomic(self.folder(point) / "point.json",
                         json.dumps(row, indent=1, default=str))
        self.rows[point.key] = row
        self.write_tables()

    def ordered(self) -> list[dict]:
        """The recorded rows of this sweep, in the order of its points."""
        return [self.rows[p.key] for p in self.points if p.key in self.rows]

    def write_tables(self) -> None:
        rows = self.ordered()
        buf = io.StringIO()
        w = csv.DictWriter(buf, self.columns, extrasaction="ignore", lineterminator="\n")
        w.writeheader()
        w.writerows({k: cell(v) for k, v in r.items()} for r in rows)
        write_atomic(self.out / "results.csv", buf.getvalue())
        write_atomic(self.out / "results.md", markdown(rows, len(self.points)))


def cell(value) -> str:
    if value is None:
        return ""
    if isinstance(value, (dict, list)):
        return json.dumps(value, separators=(",", ":"))
    if isinstance(value, float):
        return f"{value:.10g}"
    return str(value)


def markdown(rows: list[dict], total: int) -> str:
    done = sum(r.get("status") == "ok" for r in rows)
    skipped = sum(r.get("status") == "skipped" for r in rows)
    lines = [f"# Sweep results: {done} of {total} points done, "
             + (f"{skipped} without their vendor stage, " if skipped else "")
             + f"{sum(r.get('status') == 'failed' for r in rows)} failed, "
             f"{total - len(rows)} pending", "",
             "| " + " | ".join(SHOWN) + " |", "|" + "---|" * len(SHOWN)]
    for r in rows:
        cells = (cell(r.get(c)).replace("|", "\\|") for c in SHOWN)
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"
