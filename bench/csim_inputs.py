"""Benchmark: `hlsgen csim --inputs X.npy` end to end on 10,000 CIFAR-sized
frames of BNN-PYNQ's CNV-W1A1 (Brevitas, pretrained=False; issue 18, item 2:
under 2 minutes on this machine).

It generates the project (not timed), writes the frames (uniform on [-1, 1],
the network's input range: no CIFAR-10 offline), clears the project's build
cache so both branches compile, and runs the command as a user does, in a
process of its own: the framework loaded again from the project's manifest,
golden, Brevitas, the C-simulation branch on every frame, the synthesis
branch on the first 100, the comparison. Printed: the wall clock of the
whole command and the seconds of each stage (from report.json).

Usage: python bench/csim_inputs.py [--model cnv_1w1a|cnv_2w2a|lfc_1w1a] [--frames 10000]"""

from __future__ import annotations

import argparse
import json
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent))
import bnn  # noqa: E402  (the BNN-PYNQ projects, generated as bench/bnn.py does)

TARGET_SECONDS = 120


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--model", default="cnv_1w1a", choices=sorted(bnn.SHAPES))
    ap.add_argument("--frames", type=int, default=10000)
    args = ap.parse_args()
    from hlsgen.project.tables import table
    with tempfile.TemporaryDirectory(prefix="hlsgen-bench-inputs-") as tmp:
        work = Path(tmp)
        print(f"generating {bnn.LABELS[args.model]} ...", file=sys.stderr)
        project = bnn._brevitas_project(args.model, work)
        shape = (args.frames,) + bnn.SHAPES[args.model][1:]
        x = np.random.default_rng(0).uniform(-1, 1, shape).astype(np.float32)
        np.save(work / "x.npy", x)
        shutil.rmtree(project / "build", ignore_errors=True)   # both branches compile
        t0 = time.perf_counter()
        proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "csim", str(project),
                               "--inputs", str(work / "x.npy")], capture_output=True, text=True)
        wall = time.perf_counter() - t0
        print(proc.stdout)
        if proc.returncode != 0:
            print(proc.stderr[-2000:], file=sys.stderr)
            return 1
        s = json.loads((project / "report.json").read_text())["csim"]
    stages = s["stage_seconds"]
    rows = [("compile both branches (beside loading the framework)",
             f"{max(s['build_seconds'], s['synthesis_vs_golden']['build_seconds']):.1f}")]
    rows += [(name, f"{stages[key]:.1f}") for key, name in (
        ("framework_load", "loading Brevitas again, checked on the test vectors"),
        ("golden", f"golden executor, {s['frames']} frames"),
        ("framework", f"framework (Brevitas), {s['frames']} frames"),
        ("csim", f"C-simulation branch, {s['frames']} frames"),
        ("synthesis", f"synthesis branch, {s['synthesis_vs_golden']['frames']} frames"))]
    rows.append(("end to end (wall clock of the command)", f"{wall:.1f}"))
    print(table(rows, ("stage", "seconds")))
    fw = s["golden_vs_framework"]
    print(f"C simulation == golden: {s['csim_vs_golden']['equal_values']}/{s['values']}; "
          f"synthesis branch == golden: {s['synthesis_vs_golden']['equal_values']}/"
          f"{s['synthesis_vs_golden']['values']}; golden == Brevitas: {fw['equal_values']}/"
          f"{fw['values']} (top-1 {100 * fw['top1_agreement']:.2f}%)")
    verdict = "met" if wall < TARGET_SECONDS else "NOT met"
    print(f"target (issue 18): under {TARGET_SECONDS} s end to end: {verdict} ({wall:.1f} s)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
