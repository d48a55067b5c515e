"""hlsgen against hls4ml 1.3, side by side on this machine in one run.

For each model of bench/vs_models.py, each repetition runs hlsgen (in this
process) and hls4ml with io_parallel and io_stream (in its own virtualenv, see
bench/hls4ml_client.py), one after the other and in alternating order, on the
same .h5 file and the same inputs, and measures:
  generate   model file -> project on disk (hlsgen: generate(), test vectors
             included; hls4ml: load, config_from_keras_model(granularity="name"),
             convert_from_keras_model, write())
  build      the C-simulation build of a fresh project (cold cache)
  csim       inferences per second through C simulation (hlsgen: csim() on the
             built executable; hls4ml: hls_model.predict on the batch)
  exactness  against the framework's pre-softmax outputs: exact rows %, exact
             values %, max abs difference, top-1 agreement.
Writes bench/results/<date>_<time>.json, .md and .png and prints the table.
Usage: python bench/vs_hls4ml.py [--reps 3] [--models jet_mlp,...] [--inputs 1000]
"""

from __future__ import annotations

import argparse
import json
import os
import platform
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from datetime import datetime
from pathlib import Path

import numpy as np

BENCH = Path(__file__).resolve().parent
sys.path.insert(0, str(BENCH))
sys.path.insert(0, str(BENCH.parent))

from vs_report import TOOLS  # noqa: E402


def exactness(y: np.ndarray, ref: np.ndarray) -> dict:
    """The same figures for every tool: y against the framework's outputs."""
    equal = y == ref
    return {"rows_exact_pct": 100.0 * float(np.mean(np.all(equal, axis=1))),
            "values_exact_pct": 100.0 * float(np.mean(equal)),
            "max_abs_diff": float(np.max(np.abs(y - ref))),
            "top1_pct": 100.0 * float(np.mean(np.argmax(y, 1) == np.argmax(ref, 1)))}


def run_hlsgen(h5: Path, x: np.ndarray, out: Path, stage: dict) -> tuple[dict, np.ndarray]:
    from hlsgen.ir import golden
    from hlsgen.flow import generate
    from hlsgen.ir.qtype import QType
    from hlsgen.sim.compile import build
    from hlsgen.sim.csim import csim, load_project
    t0 = time.perf_counter()
    g = generate(str(h5), out, test_data=x)
    gen_s = time.perf_counter() - t0
    stage["now"] = "build"
    b = build(g.out, load_project(g.out)["name"])  # a fresh project: cold cache
    if b.cached:
        raise RuntimeError(f"the C-simulation build of {g.out} was cached: not a cold build")
    stage["now"] = "csim"
    res = csim(g.out)                               # runs the executable just built
    qt = QType.from_dict(g.graph.meta["input_qtype"])
    record = {"gen_s": gen_s, "build_s": b.seconds, "run_s": res.run_seconds, "n": res.frames,
              "csim_equals_golden": res.mismatches == 0,
              "inputs_on_grid": bool(np.array_equal(qt.values(qt.quantize(x)), x))}
    return record, golden.output_values(g.graph, res.csim)


def run_hls4ml(worker, h5: Path, x_npy: Path, out: Path, io_type: str, timeout: float):
    y_npy = out.with_suffix(".npy")
    ans = worker.request({"cmd": "run", "model": str(h5), "io_type": io_type, "out_dir": str(out),
                          "inputs": str(x_npy), "outputs": str(y_npy)}, timeout)
    if not ans.pop("ok"):
        return ans, None
    return ans, np.load(y_npy)


def one_run(tool, m, files, worker, rep, work, timeout) -> dict:
    out = work / f"{m.key}_{tool.replace(' ', '_')}_{rep}"
    stage = {"now": "generate"}
    try:
        if tool == "hlsgen":
            rec, y = run_hlsgen(files["h5"], files["x"], out, stage)
        else:
            rec, y = run_hls4ml(worker, files["h5"], files["x_npy"], out, tool.split()[1], timeout)
    except Exception as e:  # a tool that cannot take a model is a result, with the reason
        rec, y = {"stage": stage["now"], "error": f"{type(e).__name__}: {e}"}, None
    rec["rep"] = rep
    if y is not None:
        rec["inferences_per_s"] = rec["n"] / rec["run_s"]
        rec["exactness"] = exactness(y, files["ref"])
    return rec


def prepare(m, tf, worker, n_inputs: int, work: Path) -> dict:
    """The model's .h5 file, its inputs and the framework's outputs (computed in
    both environments, which must agree)."""
    model = m.build(tf)
    h5 = work / f"{m.key}.h5"
    model.save(h5)
    x = m.inputs(min(n_inputs, m.max_inputs)).astype(np.float64)
    x_npy = work / f"{m.key}_x.npy"
    np.save(x_npy, x)
    ref = model.predict(x.astype(np.float32), batch_size=256, verbose=0).reshape(len(x), -1)
    ref = ref.astype(np.float64)
    other = work / f"{m.key}_framework_hls4ml_env.npy"
    ans = worker.request({"cmd": "predict", "model": str(h5), "inputs": str(x_npy), "outputs": str(other)}, 600)
    agree = bool(ans["ok"] and np.array_equal(np.load(other), ref))
    return {"h5": h5, "x": x, "x_npy": x_npy, "ref": ref, "framework_same_in_both_envs": agree}


def summarize(runs: list[dict]) -> dict:
    ok = [r for r in runs if "error" not in r]
    if not ok:
        return {"failed": f"{runs[0]['stage']}: {runs[0]['error']}"}
    s = {}
    for key in ("gen_s", "build_s", "inferences_per_s"):
        xs = [r[key] for r in ok]
        s[key] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs), "n": len(xs)}
    figures = [json.dumps(r["exactness"], sort_keys=True) for r in ok]
    s["exactness"] = ok[0]["exactness"]
    s["exactness_same_every_rep"] = len(set(figures)) == 1
    s["inputs"] = ok[0]["n"]
    if len(ok) < len(runs):
        s["failed_reps"] = [f"rep {r['rep']}: {r['stage']}: {r['error']}" for r in runs if "error" in r]
    return s


def ratios(runs: dict) -> dict:
    """Per repetition (the tools ran back to back): hlsgen's C-simulation
    throughput over hls4ml's, and hls4ml's build time over hlsgen's."""
    out = {}
    mine = {r["rep"]: r for r in runs["hlsgen"] if "error" not in r}
    for tool in TOOLS[1:]:
        pairs = [(mine[r["rep"]], r) for r in runs[tool] if "error" not in r and r["rep"] in mine]
        if not pairs:
            continue
        out[tool] = {}
        for name, f in (("csim_throughput", lambda a, b: a["inferences_per_s"] / b["inferences_per_s"]),
                        ("build_time", lambda a, b: b["build_s"] / a["build_s"])):
            xs = [f(a, b) for a, b in pairs]
            out[tool][name] = {"median": statistics.median(xs), "min": min(xs), "max": max(xs)}
    return out


def machine() -> dict:
    cpu = next((l.split(":", 1)[1].strip() for l in Path("/proc/cpuinfo").read_text().splitlines()
                if l.startswith("model name")), platform.processor())
    mem = os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30
    commit = subprocess.run(["git", "rev-parse", "--short", "HEAD"], cwd=BENCH, capture_output=True,
                            text=True).stdout.strip()
    return {"cpu": cpu, "cores": os.cpu_count(), "memory_gib": round(mem, 1),
            "os": platform.platform(), "python": platform.python_version(), "hlsgen_commit": commit,
            "load_average_start": os.getloadavg()}


def hlsgen_versions() -> dict:
    from importlib.metadata import version
    return {name: version(name) for name in ("tensorflow", "tf-keras", "qkeras", "hls4ml", "numpy")}


def warm_up(tool, files, worker, work: Path) -> None:
    """First calls in a process pay one-off costs (imports, TensorFlow graph
    tracing): one untimed conversion per tool before its timed runs, and again
    for hls4ml whenever its worker had to be restarted."""
    if tool == "hlsgen":
        from hlsgen.flow import generate
        generate(str(files["h5"]), work / "warm_hlsgen", test_data=files["x"][:10], force=True)
        return
    for io_type in ("io_parallel", "io_stream"):
        worker.request({"cmd": "run", "model": str(files["h5"]), "io_type": io_type, "generate_only": True,
                        "out_dir": str(work / f"warm_{io_type}"), "inputs": "", "outputs": ""}, 600)


def progress(rep, reps, key, tool, rec) -> str:
    head = f"rep {rep + 1}/{reps}  {key:10}  {tool:18}"
    if "error" in rec:
        return f"{head}  cannot: {rec['stage']}: {rec['error'][:150]}"
    e = rec["exactness"]
    return (f"{head}  generate {rec['gen_s']:6.2f} s  build {rec['build_s']:6.2f} s  "
            f"csim {rec['inferences_per_s']:9,.1f}/s  rows exact {e['rows_exact_pct']:5.1f}%  "
            f"max diff {e['max_abs_diff']:.3g}")


def main(argv=None) -> int:
    from vs_models import BY_KEY
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--models", default=",".join(BY_KEY), help="comma-separated: " + ", ".join(BY_KEY))
    ap.add_argument("--inputs", type=int, default=1000, help="inputs per model (the CNV takes at most 50)")
    ap.add_argument("--timeout", type=float, default=120, help="seconds one hls4ml stage may take")
    ap.add_argument("--out", type=Path, default=BENCH / "results")
    args = ap.parse_args(argv)
    unknown = [k for k in args.models.split(",") if k not in BY_KEY]
    if unknown:
        ap.error(f"unknown model {', '.join(unknown)}; choose from {', '.join(BY_KEY)}")
    models = [BY_KEY[k] for k in args.models.split(",")]

    from hlsgen.frontends.qkeras.env import import_qkeras
    from hls4ml_client import Hls4mlUnavailable, Worker, ensure_venv
    from vs_report import markdown, plot
    t_start = time.perf_counter()
    started = datetime.now()
    doc = {"date": started.isoformat(timespec="seconds"), "machine": machine()}
    tf, _, _ = import_qkeras()
    try:
        python = ensure_venv()
    except Hls4mlUnavailable as e:
        print(f"error: {e}", file=sys.stderr)
        return 2
    work = Path(tempfile.mkdtemp(prefix="hlsgen-vs-hls4ml-"))
    log = Path(tempfile.mkstemp(prefix="hlsgen-vs-hls4ml-", suffix=".log")[1])  # kept: hls4ml's output
    worker = Worker(python, log)
    runs = {m.key: {t: [] for t in TOOLS} for m in models}
    try:
        files = {m.key: prepare(m, tf, worker, args.inputs, work) for m in models}
        first, warm_worker = files[models[0].key], None
        warm_up("hlsgen", first, worker, work)
        for rep in range(args.reps):
            for m in models:
                for tool in TOOLS if rep % 2 == 0 else TOOLS[::-1]:
                    done = runs[m.key][tool]
                    if done and "error" in done[0]:
                        continue  # a tool that failed on a model is not tried again
                    if tool != "hlsgen" and (worker.proc is None or warm_worker != worker.starts):
                        warm_up(tool, first, worker, work)
                        warm_worker = worker.starts
                    done.append(one_run(tool, m, files[m.key], worker, rep, work, args.timeout))
                    print(progress(rep, args.reps, m.key, tool, done[-1]), flush=True)
    finally:
        worker.stop()
        shutil.rmtree(work, ignore_errors=True)

    doc["machine"]["load_average_end"] = os.getloadavg()
    doc["versions"] = {"hlsgen_env": hlsgen_versions(), "hls4ml_env": worker.versions}
    doc["settings"] = {"reps": args.reps, "hls4ml": "config_from_keras_model(granularity='name'), "
                       "backend Vitis, part xc7z020clg400-1", "hls4ml_stage_timeout_s": args.timeout,
                       "hls4ml_venv": str(python.parents[1].relative_to(BENCH.parent))}
    doc["models"] = [{"key": m.key, "title": m.title, "kind": m.kind, "inputs": len(files[m.key]["x"]),
                      "framework_same_in_both_envs": files[m.key]["framework_same_in_both_envs"],
                      "tools": {t: {"summary": summarize(runs[m.key][t]), "runs": runs[m.key][t]}
                                for t in TOOLS},
                      "ratios": ratios(runs[m.key])} for m in models]
    doc["wall_seconds"] = round(time.perf_counter() - t_start, 1)
    args.out.mkdir(parents=True, exist_ok=True)
    stem = args.out / started.strftime("%Y-%m-%d_%H%M")
    stem.with_suffix(".json").write_text(json.dumps(doc, indent=1) + "\n")
    table = markdown(doc)
    stem.with_suffix(".md").write_text(table)
    plot(doc, stem.with_suffix(".png"))
    print("\n" + table)
    print(f"written: {stem}.json, .md, .png; hls4ml's log: {log}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
