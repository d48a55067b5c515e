"""`hlsgen sweep` (registered by hlsgen/cli/main.py): many design points of
one model as Dask tasks (hlsgen/sweeps/)."""

from __future__ import annotations


# The swept flags: (flag, Options name, type, help); one value is fixed, A,B,C is swept.
LISTS = (("--board", "board", str, "board, or boards A,B (see `hlsgen boards`)"),
         ("--fps", "fps", float, "folding search targets, e.g. 1000,10000,100000"),
         ("--max-util", "max_util", float, "folding search budgets (fractions), e.g. 0.25,0.5,1"),
         ("--clock", "clock_mhz", float, "clocks in MHz, e.g. 100,150"),
         ("--arch", "arch", str, "architectures, e.g. dataflow,tiled"))


def cmd_sweep(args) -> int:
    from hlsgen.api import sweep
    from hlsgen.sweeps.grid import parse_list
    values = {}
    for flag, name, kind, _ in LISTS:
        text = getattr(args, flag[2:].replace("-", "_"))
        if text:
            items = parse_list(flag, text, kind)
            values[name] = items[0] if len(items) == 1 else items
    if args.vectors is not None:
        values["n_vectors"] = args.vectors
    res = sweep(args.model, grid=args.grid, out=args.out, stages=args.stages,
                scheduler=args.scheduler, workers=args.workers, timeout=args.timeout,
                force=args.force, retry_failed=args.retry_failed, weights=args.weights,
                checkpoint=args.checkpoint, input_shape=args.input_shape, **values)
    print(res.summary())
    return 1 if res.failed else 0


def register(sub) -> None:
    """Adds `hlsgen sweep` to the argparse subparsers `sub`."""
    s = sub.add_parser(
        "sweep", help="many design points (foldings, clocks, boards, architectures) as Dask "
        "tasks: results table and Pareto figure",
        description="Runs every point of a grid as a Dask task on an embedded LocalCluster (one "
        "worker per core) or an existing cluster (--scheduler): generate, C simulation of both "
        "branches, lint, estimates, and one vendor stage where the tools exist. Results arrive "
        "in OUT/results.csv, results.md and pareto.png; each point is cached by content hash, so "
        "rerunning into the same OUT resumes (recorded points are reused). Exit code 1 when a "
        "point failed.")
    s.add_argument("model", help="a model file every worker can read (QKeras .h5/.keras/.json, "
                   "QONNX .onnx, Brevitas file.py:function)")
    s.add_argument("--out", required=True, help="the sweep's folder; an earlier sweep of the same "
                   "model there is resumed and extended")
    s.add_argument("--grid", help="YAML/JSON file: option names to values, a list is swept "
                   "(e.g. `fps: [1000, 10000]`), plus an optional `points:` list")
    for flag, _, _, text in LISTS:
        s.add_argument(flag, help=text)
    s.add_argument("--vectors", type=int, help="test vectors per point (default 200)")
    s.add_argument("--stages", default="generate,csim,lint",
                   help="generate, csim, lint and one of synth, cosim, ip, bitstream (`hlsgen "
                   "build`; skipped with a note on a worker without the vendor tools); default: "
                   "generate,csim,lint")
    s.add_argument("--scheduler", help="an existing Dask cluster: its address tcp://HOST:8786 or "
                   "its scheduler file (default: a LocalCluster on this machine)")
    s.add_argument("--workers", type=int, help="LocalCluster worker processes (default: one per "
                   "core)")
    s.add_argument("--timeout", type=float, help="seconds per point; a point over it is recorded "
                   "as failed (a vendor tool run over it is stopped)")
    s.add_argument("--retry-failed", action="store_true", help="resuming: run the points that "
                   "failed before again (default: keep their record; points whose vendor stage "
                   "was skipped always run again)")
    s.add_argument("--force", action="store_true", help="replace OUT (another sweep's or any "
                   "other folder) and start afresh")
    s.add_argument("--weights", help="weights .h5 for a .json architecture")
    s.add_argument("--checkpoint", help="Brevitas file.py:function: its state dict")
    s.add_argument("--input-shape", help="Brevitas file.py:function: input shape, e.g. 1,1,8,8")
    s.set_defaults(fn=cmd_sweep)
