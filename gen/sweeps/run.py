"""The sweep: its points checked, the output folder checked, the pending
points submitted as Dask tasks (a generation per point, an evaluation per
distinct design), each row recorded as it arrives, the Pareto figure and a
summary at the end. `hlsgen.sweep()` and `hlsgen sweep` call
`sweep`; nothing is written before every input has been checked."""

from __future__ import annotations

import math
import os
import time
from dataclasses import dataclass
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.project.tables import table
from hlsgen.sweeps.cluster import check_scheduler, connect, dashboard
from hlsgen.sweeps.grid import MODEL, expand, load_grid
from hlsgen.sweeps.plot import write_pareto
from hlsgen.sweeps.spec import (DEFAULT_STAGES, Point, files_sha256, model_files, model_sha256,
                                 option_files, parse_stages)
from hlsgen.sweeps.store import Store
from hlsgen.sweeps.task import (SKIPPED, evaluate_point, evaluates, evaluation_of,
                                 generate_point, merge, one_line)
from hlsgen.version import __version__

PLOT_EVERY = 10.0    # seconds between redraws of pareto.png while points arrive


@dataclass
class SweepResult:
    """What a sweep recorded: `rows` (dicts, as results.csv), in point order."""
    out: Path
    rows: list
    ran: int           # points run now
    cached: int        # points recorded earlier, not run again
    seconds: float

    @property
    def failed(self) -> list:
        return [r for r in self.rows if r.get("status") not in ("ok", SKIPPED)]

    @property
    def skipped(self) -> list:
        """The points whose vendor stage was skipped (no tools on the worker)."""
        return [r for r in self.rows if r.get("status") == SKIPPED]

    def summary(self) -> str:
        def fmt(v):
            return "" if v is None or v == "" else (f"{v:,.0f}" if isinstance(v, float) else str(v))
        body = table([(r["key"][:8], r["point"], r["status"], fmt(r.get("est_fps")),
                       fmt(r.get("synth_lut") or r.get("est_lut")),
                       fmt(r.get("synth_bram18") or r.get("est_bram18")),
                       {True: "yes", False: "NO"}.get(r.get("exact"), ""),
                       (r.get("error") or r.get("notes") or "")[:70]) for r in self.rows],
                     ("key", "point", "status", "frames/s", "LUT", "BRAM18", "exact",
                      "error / note"))
        ok = len(self.rows) - len(self.failed) - len(self.skipped)
        skipped = f"{len(self.skipped)} without their vendor stage, " if self.skipped else ""
        return (f"{body}\n{len(self.rows)} points: {ok} ok, {skipped}"
                f"{len(self.failed)} failed; {self.ran} run, {self.cached} from the cache, in "
                f"{self.seconds:.1f} s; results in {self.out}/results.csv, results.md, pareto.png")

    __str__ = summary


def sweep(model, board=None, grid=None, *, out, stages=DEFAULT_STAGES, scheduler: str | None = None,
          workers: int | None = None, timeout: float | None = None, force: bool = False,
          retry_failed: bool = False, progress: bool = True, log=print, **values) -> SweepResult:
    """Runs every point of the sweep over `model` (a file every worker can
    read) into the folder `out`; see hlsgen.api.sweep."""
    t0 = time.monotonic()
    if not isinstance(model, (str, Path)):
        raise HlsgenError("a sweep takes a model file every worker can read; save the model "
                          "first (model.save('m.h5'), torch.onnx / brevitas export to .onnx)")
    model_options = {k: values.pop(k) for k in MODEL if values.get(k) is not None}
    axes = {}
    if grid is not None:
        axes = dict(grid) if isinstance(grid, dict) else load_grid(grid)
    if board is not None:
        values["board"] = board
    given = {k: v for k, v in values.items() if v is not None}
    both = [k for k in given if k in axes]
    if both:
        raise HlsgenError(f"{both[0]} is given both in grid '{grid}' and beside it; give it in "
                          "one place")
    axes.update(given)
    where = f"grid '{grid}'" if isinstance(grid, (str, Path)) else "the sweep"
    points_options = expand(axes, where)
    stages = parse_stages(stages)
    if timeout is not None and not (isinstance(timeout, (int, float)) and math.isfinite(timeout)
                                    and timeout > 0):
        raise HlsgenError(f"--timeout {timeout} must be a positive number of seconds per point")
    if workers is not None and (not isinstance(workers, int) or workers < 1):
        raise HlsgenError(f"--workers {workers} must be a whole number of at least 1")
    if workers is not None and scheduler is not None:
        raise HlsgenError("--workers sizes the embedded LocalCluster; an existing cluster "
                          "(--scheduler) has its own workers: leave one of the two out")
    check_scheduler(scheduler)
    out = Path(os.path.abspath(out))      # workers resolve nothing against their own cwd
    model = _absolute(str(model))
    model_options = {k: v if k == "input_shape" else _absolute(str(v))
                     for k, v in model_options.items()}
    sha = model_sha256(model, model_options)
    # Options that spell the same design (a default given or not) are one point.
    points = list({p.key: p for p in (Point(model, model_options, o, stages, sha, timeout,
                                            files_sha256(o))
                                      for o in points_options)}.values())

    store = Store(out, points)
    resume = store.check(force)
    if force and not resume:
        inputs = [*model_files(model, model_options), *(f for o in points_options
                                                        for f in option_files(o))]
        if isinstance(grid, (str, Path)):
            inputs.append(Path(grid))
        _check_outside(out, inputs)
    pending = []
    for p in points:
        row = store.cached(p, retry_failed) if resume else None
        if row is None:
            pending.append(p)
        else:
            store.rows[p.key] = row
    log(f"{len(points)} design points: {len(points) - len(pending)} recorded earlier in {out}, "
        f"{len(pending)} to run")
    if pending:
        with connect(scheduler, workers) as (client, cluster):
            store.open(resume, model)
            store.write_tables()
            log(f"running on {cluster}")
            log(dashboard(client, local=scheduler is None))
            if not client.scheduler_info().get("workers"):
                log("no worker has joined the cluster yet: the points wait for workers")
            try:
                _run(client, pending, store, progress, log)
            except KeyboardInterrupt:
                log(f"interrupted: the pending points are cancelled (their vendor tools "
                    f"stopped); run the same sweep into {out} again to resume")
                raise
    else:
        store.open(resume, model)
        store.write_tables()
    write_pareto(store.ordered(), store.out / "pareto.png")
    return SweepResult(store.out, store.ordered(), len(pending), len(points) - len(pending),
                       time.monotonic() - t0)


def _run(client, pending: list, store: Store, progress: bool, log) -> None:
    """Submits every pending point's generation; then each distinct design's
    evaluation once (its points share it); records each row as it is done."""
    from distributed import as_completed
    jobs = {}        # future -> ("generate", point) or ("evaluate", design hash)
    # design hash -> {"waiting": [(point, row)], "done": evaluation row}; the designs
    # evaluated before (recorded rows of this sweep) are not evaluated again.
    designs = {r["design"]: {"waiting": [], "done": evaluation_of(r)}
               for r in store.rows.values() if evaluation_of(r)}

    def submit(task, point, kind, what):
        future = client.submit(task, point, str(store.folder(point)), pure=False,
                               key=f"hlsgen-{kind}-{point.key}")
        jobs[future] = (kind, what)
        return future

    done = as_completed([submit(generate_point, p, "generate", p) for p in pending])
    try:
        _collect(done, jobs, designs, submit, pending, store, progress, log)
    except BaseException:      # Ctrl-C: no task goes on without the client
        client.cancel(list(jobs), force=True)
        raise


def _collect(done, jobs, designs, submit, pending, store, progress, log) -> None:
    from tqdm import tqdm
    last_plot = time.monotonic()
    with tqdm(total=len(pending), unit="point", desc="sweep", disable=not progress) as bar:
        def record(point, row):
            nonlocal last_plot
            store.record(point, row)
            bar.update()
            if row.get("status") not in ("ok", SKIPPED):
                (bar.write if progress else log)(f"failed: {point.label}: {row.get('error')}")
            if time.monotonic() - last_plot > PLOT_EVERY:
                write_pareto(store.ordered(), store.out / "pareto.png")
                last_plot = time.monotonic()

        for future in done:
            kind, what = jobs.pop(future)
            row = _row(future)
            if kind == "evaluate":
                design = designs[what]
                design["done"] = row
                for point, generated in design.pop("waiting"):
                    record(point, merge(generated, row))
            elif row.get("status") != "ok" or not evaluates(what.stages):
                record(what, row)
            else:
                design = designs.setdefault(row["design"], {"waiting": []})
                if "done" in design:
                    record(what, merge(row, design["done"]))
                else:
                    design["waiting"].append((what, row))
                    if len(design["waiting"]) == 1:
                        done.add(submit(evaluate_point, what, "evaluate", row["design"]))


def _row(future) -> dict:
    """A task's row; a task that did not return one (its worker died, it was
    cancelled) is a failed row; a row computed by another hlsgen version (a
    worker that joined after the check at connect) is a failed row that is
    not recorded in the cache (`uncached`): the next run computes it again."""
    try:
        row = future.result()
    except Exception as e:   # noqa: BLE001: KilledWorker, CancelledError...
        return {"status": "failed", "error": one_line(e)}
    if row.get("hlsgen") != __version__:
        return {"status": "failed", "uncached": True, "worker": row.get("worker", ""),
                "error": f"the Dask worker {row.get('worker', '?')} runs hlsgen "
                         f"{row.get('hlsgen', '?')}, this is {__version__}: its result is not "
                         "kept; install the same hlsgen on every worker"}
    return row


def _check_outside(out: Path, inputs) -> None:
    """--force replaces `out`: refused when it holds the sweep's own inputs."""
    root = out.resolve()
    for f in inputs:
        if Path(f).resolve().is_relative_to(root):
            raise HlsgenError(f"--force would delete '{f}', an input of this sweep, with the "
                              f"output folder '{out}'; choose an --out that does not hold the "
                              "model, the grid or the option files")


def _absolute(model: str) -> str:
    """The model's path made absolute (workers run elsewhere), file.py:function too."""
    from hlsgen.frontends.select import absolute_model
    return absolute_model(model)
