"""Benchmark for the spine: generation and C-simulation build/run times.

Prints its figures (these machines are noisy; no pass/fail here):
  - the 16-64-32-32-5 jet MLP: `hlsgen generate` end to end (a fresh process,
    TensorFlow import included), generate() in a warm process, the cold g++
    build of its C simulation, and C-simulation throughput on 1000 inputs;
  - a million-weight MLP (1024-1000-16): generate and C-simulation build,
    which stays fast because C simulation loads weights from .bin files.
Usage: python bench/spine.py [--reps 3]
"""

from __future__ import annotations

import argparse
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def median_spread(xs):
    return f"{statistics.median(xs):.2f} s (min {min(xs):.2f}, max {max(xs):.2f}, n={len(xs)})"


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--reps", type=int, default=3)
    args = ap.parse_args()
    import numpy as np
    from conftest import qdense_mlp, randomize_biases
    from hlsgen.frontends.qkeras.env import import_qkeras
    from hlsgen.flow import generate
    from hlsgen.sim.compile import build
    from hlsgen.sim.csim import csim
    tf, _, _ = import_qkeras()
    work = Path(tempfile.mkdtemp(prefix="hlsgen-bench-"))
    rows = []
    try:
        jet = randomize_biases(qdense_mlp(tf, [16, 64, 32, 32, 5]))
        jet.save(work / "jet.h5")
        cli, warm, builds = [], [], []
        for r in range(args.reps):
            t0 = time.perf_counter()
            subprocess.run([sys.executable, "-m", "hlsgen.cli", "generate", str(work / "jet.h5"),
                            "--out", str(work / f"jet_cli{r}")], check=True, capture_output=True)
            cli.append(time.perf_counter() - t0)
            t0 = time.perf_counter()
            g = generate(str(work / "jet.h5"), work / f"jet{r}", n_vectors=1000)
            warm.append(time.perf_counter() - t0)
            builds.append(build(g.out, "jet" + str(r)).seconds)  # cold: a fresh project
        res = csim(g.out)
        assert res.mismatches == 0
        t0 = time.perf_counter()
        for _ in range(args.reps):
            csim(g.out)
        per_run = (time.perf_counter() - t0) / args.reps
        rows += [("jet MLP 16-64-32-32-5: hlsgen generate (CLI, TF import incl.)", median_spread(cli)),
                 ("jet MLP: generate() in a warm process (target < 2 s)", median_spread(warm)),
                 ("jet MLP: C-simulation g++ build, cold (target < 20 s)", median_spread(builds)),
                 ("jet MLP: C simulation, 1000 inputs (cached build, incl. golden load)",
                  f"{per_run:.3f} s = {1000 / per_run:,.0f} inferences/s"),
                 ("jet MLP: exactness", f"{res.values - res.mismatches}/{res.values} values equal golden")]

        big = randomize_biases(qdense_mlp(tf, [1024, 1000, 16], wq="quantized_bits(8,0,alpha=1)",
                                          act="quantized_relu(8,2)", softmax=False))
        big.save(work / "big.h5")
        t0 = time.perf_counter()
        g = generate(str(work / "big.h5"), work / "big", n_vectors=100)
        t_gen = time.perf_counter() - t0
        n_w = sum(int(np.prod(w.shape)) for w in big.get_weights())
        res = csim(g.out)
        assert res.mismatches == 0
        rows += [(f"1M-weight MLP 1024-1000-16 ({n_w:,} parameters): generate", f"{t_gen:.2f} s"),
                 ("1M-weight MLP: C-simulation g++ build, cold", f"{res.build_seconds:.2f} s"),
                 ("1M-weight MLP: C simulation, 100 inputs", f"{res.run_seconds:.3f} s"),
                 ("1M-weight MLP: synthesis header size",
                  f"{sum(f.stat().st_size for f in (g.out / 'firmware' / 'params').glob('*.h')) / 1e6:.1f} MB"),
                 ("1M-weight MLP: exactness", f"{res.values - res.mismatches}/{res.values} values equal golden")]

        import cnn_models as cm
        tf.keras.utils.set_random_seed(0)
        cnn = cm.mnist_cnn(tf)
        cnn.save(work / "cnn.h5")
        t0 = time.perf_counter()
        g = generate(str(work / "cnn.h5"), work / "cnn", n_vectors=1000)
        t_gen = time.perf_counter() - t0
        res = csim(g.out)
        assert res.mismatches == 0
        runs = []
        for _ in range(args.reps):
            runs.append(csim(g.out).run_seconds)
        rows += [("28x28 CNN conv16-pool-conv16-pool-fc10 (6-bit): generate", f"{t_gen:.2f} s"),
                 ("28x28 CNN: C-simulation g++ build, cold", f"{res.build_seconds:.2f} s"),
                 ("28x28 CNN: C simulation of 1000 images, after compilation (target < 1 s)",
                  median_spread(runs)),
                 ("28x28 CNN: exactness", f"{res.values - res.mismatches}/{res.values} values equal golden, "
                  f"{res.framework_figures()['equal_values']}/{res.values} golden equal QKeras")]
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    print(f"{'measurement'.ljust(width)}  result\n{'-' * width}  ------")
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
