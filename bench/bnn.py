"""Benchmark: C-simulation throughput of BNN-PYNQ's CNV-W1A1, CNV-W2A2 and
LFC-W1A1 (Brevitas, brevitas_examples.bnn_pynq, pretrained=False, batch-norm
statistics from train-mode passes on random data), the CNV-W1A1-sized QKeras
network and the 28x28 6-bit CNN of the hls4ml comparison, each beside the
same figures of a baseline checkout measured in the same run.

Each side generates its own project and runs random frames on the input
grid through `hlsgen.sim.csim.run_frames` (one process per core) and the
golden executor, and checks C simulation == golden on every output. Printed
per model: C-simulation frames/s (wall clock, both cores), CPU ms per frame
(the processes' user + system time, which load from other work on the machine
inflates less than the wall clock), golden-executor frames/s.

Usage: python bench/bnn.py [--baseline OVERLAY] [--models cnv_1w1a,...] [--scale 1.0]
OVERLAY is a folder whose `hlsgen` entry is the baseline's package (e.g. a
symlink to another checkout's gen/, with gen/sim linked to its sim/)."""

from __future__ import annotations

import argparse
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

TESTS = Path(__file__).resolve().parents[1] / "tests"
SHAPES = {"cnv_1w1a": (1, 3, 32, 32), "cnv_2w2a": (1, 3, 32, 32), "lfc_1w1a": (1, 1, 28, 28)}
# Frames per model (times --scale) and the targets (frames/s, both cores).
FRAMES = {"cnv_1w1a": 1000, "cnv_2w2a": 600, "lfc_1w1a": 20000, "qkeras_cnv": 1000, "mnist_cnn": 4000}
TARGETS = {"cnv_1w1a": 500, "cnv_2w2a": 150, "lfc_1w1a": 20000, "mnist_cnn": 1500}
LABELS = {"cnv_1w1a": "BNN-PYNQ CNV-W1A1 (Brevitas)", "cnv_2w2a": "BNN-PYNQ CNV-W2A2 (Brevitas)",
          "lfc_1w1a": "BNN-PYNQ LFC-W1A1 (Brevitas)", "qkeras_cnv": "CNV-W1A1-sized (QKeras)",
          "mnist_cnn": "28x28 CNN, 6-bit (QKeras)"}


def _brevitas_project(name: str, work: Path) -> Path:
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    from hlsgen.flow import generate
    torch.manual_seed(0)
    model = model_with_cfg(name, pretrained=False)[0].train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand((64,) + SHAPES[name][1:]) * 2 - 1)
    torch.save(model.eval().state_dict(), work / f"{name}.pt")
    (work / "spec.py").write_text("from brevitas_examples.bnn_pynq.models import model_with_cfg\n\n\n"
                                  f"def build():\n    return model_with_cfg({name!r}, pretrained=False)[0]\n")
    return generate(f"{work / 'spec.py'}:build", work / name, checkpoint=str(work / f"{name}.pt"),
                    input_shape=SHAPES[name], output="argmax", n_vectors=8).out


def _qkeras_project(name: str, work: Path) -> Path:
    sys.path.insert(0, str(TESTS))
    import bnn_models
    import cnn_models
    from hlsgen.frontends.qkeras.env import import_qkeras
    from hlsgen.flow import generate
    tf, _, _ = import_qkeras()
    tf.keras.utils.set_random_seed(0)
    model = (cnn_models.randomize_bn(bnn_models.cnv_w1a1(tf)) if name == "qkeras_cnv"
             else cnn_models.mnist_cnn(tf))
    model.save(work / f"{name}.h5")
    return generate(str(work / f"{name}.h5"), work / name, n_vectors=8).out


def measure(name: str, frames: int) -> dict:
    """One side's figures for one model (runs in that side's interpreter)."""
    import numpy as np
    from hlsgen.ir import golden
    from hlsgen.ir.graph import Graph
    from hlsgen.ir.qtype import QType
    from hlsgen.project.manifest import load_project
    from hlsgen.sim.compile import build
    from hlsgen.sim.csim import run_frames
    work = Path(tempfile.mkdtemp(prefix="hlsgen-bnn-"))
    try:
        t0 = time.perf_counter()
        project = _brevitas_project(name, work) if name in SHAPES else _qkeras_project(name, work)
        t_gen = time.perf_counter() - t0
        graph = Graph.load(project / "ir")
        b = build(project, load_project(project)["name"])
        qt = QType.from_dict(graph.meta["input_qtype"])
        size = graph.tensors[graph.inputs[0]].size
        codes = np.random.default_rng(0).integers(qt.lo, qt.hi + 1, (frames, size))
        t0 = time.perf_counter()
        gold = golden.run(graph, codes)[graph.outputs[0]].reshape(frames, -1)
        t_gold = time.perf_counter() - t0
        cpu0 = resource.getrusage(resource.RUSAGE_CHILDREN)
        t0 = time.perf_counter()
        out = run_frames(b.exe, project, codes, gold.shape[1])
        t_csim = time.perf_counter() - t0
        cpu1 = resource.getrusage(resource.RUSAGE_CHILDREN)
        cpu = (cpu1.ru_utime + cpu1.ru_stime) - (cpu0.ru_utime + cpu0.ru_stime)
        return {"frames": frames, "generate_s": t_gen, "build_s": b.seconds, "csim_fps": frames / t_csim,
                "cpu_ms": 1e3 * cpu / frames, "golden_fps": frames / t_gold,
                "mismatches": int(np.sum(out != gold)), "values": int(gold.size)}
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _side(overlay: str | None, name: str, frames: int) -> dict:
    """measure() in a fresh interpreter: this checkout's hlsgen, or the overlay's."""
    env = dict(os.environ)
    if overlay:
        env["PYTHONPATH"] = os.pathsep.join([overlay, str(TESTS)])
    proc = subprocess.run([sys.executable, __file__, "--measure", name, "--frames", str(frames)],
                          capture_output=True, text=True, env=env)
    if proc.returncode != 0:
        return {"error": (proc.stderr.strip().splitlines() or ["failed"])[-1]}
    return json.loads(proc.stdout.strip().splitlines()[-1])


def _ratio(before: dict, after: dict, key: str, fmt: str, lower_is_better: bool = False) -> str:
    if not before or "error" in before:
        return f"{fmt.format(after[key])}"
    gain = before[key] / after[key] if lower_is_better else after[key] / before[key]
    return f"{fmt.format(before[key])} -> {fmt.format(after[key])} ({gain:.1f}x)"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--baseline", help="overlay folder whose hlsgen is the baseline (default: none)")
    ap.add_argument("--models", default=",".join(FRAMES))
    ap.add_argument("--scale", type=float, default=1.0, help="multiplies every model's frame count")
    ap.add_argument("--measure", help=argparse.SUPPRESS)
    ap.add_argument("--frames", type=int, help=argparse.SUPPRESS)
    args = ap.parse_args()
    if args.measure:
        print(json.dumps(measure(args.measure, args.frames)))
        return 0
    rows = []
    for name in args.models.split(","):
        frames = max(10, int(FRAMES[name] * args.scale))
        before = _side(args.baseline, name, frames) if args.baseline else None
        after = _side(None, name, frames)
        if "error" in after:
            rows.append((LABELS[name], "error: " + after["error"], "", "", "", ""))
            continue
        target = TARGETS.get(name)
        met = "" if target is None else f"{target:,}: {'met' if after['csim_fps'] >= target else 'NOT met'}"
        exact = f"{after['values'] - after['mismatches']}/{after['values']}"
        if before and "error" not in before:
            exact += f" (before {before['values'] - before['mismatches']}/{before['values']})"
        rows.append((f"{LABELS[name]}, {frames} frames", _ratio(before, after, "csim_fps", "{:,.0f}"),
                     _ratio(before, after, "cpu_ms", "{:.3f}", True), _ratio(before, after, "golden_fps", "{:,.0f}"),
                     met, exact))
        print(f"{name}: before {before}\n{name}: after {after}", file=sys.stderr, flush=True)
    head = ("model", "C-sim frames/s, 2 cores", "CPU ms/frame (speed-up)", "golden frames/s", "target",
            "C-sim = golden")
    widths = [max(len(str(r[i])) for r in rows + [head]) for i in range(len(head))]
    for r in [head] + rows:
        print("  ".join(str(v).ljust(w) for v, w in zip(r, widths)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
