"""Benchmark: compressed digits networks (issue 19). Pruned and clustered
with tensorflow-model-optimization, generated for pynq-z2, run in C
simulation (both kernel branches against the golden executor), and
estimated by the cost model against the same layers dense.

Printed per model: outputs equal in the C-simulation branch and in the
synthesis branch (proven, bit for bit), then the estimates: cycles per frame
and weight memory bits of the compressed design and of the same design
dense at the same folding, and frames/s at --max-util for the wide CNN
(dense and pruned, each with the folding the search picks).

Usage: python bench/compression.py [--frames 100]"""

from __future__ import annotations

import argparse
import os
import sys
import tempfile
import time
from pathlib import Path

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")
sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _figures(gen):
    from hlsgen.arch.dataflow.report import compression_lines, estimate_design
    from hlsgen.platform.boards import load_board
    est = estimate_design(gen.design, load_board("pynq-z2"))
    comp = [l.compression for l in est.layers if l.compression]
    dense_cycles = max(l.compression.get("dense_cycles", l.cycles) for l in est.layers)
    return {"cycles": est.max_cycles, "dense_cycles": dense_cycles,
            "bits": sum(c["weight_bits"] for c in comp),
            "dense_bits": sum(c["dense_weight_bits"] for c in comp),
            "fps": est.fps, "lines": compression_lines(est)}


def _run(model, out: Path, x, **kw):
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = out.with_suffix(".h5")
    model.save(path)
    gen = generate(str(path), out, test_data=x, **kw)
    sim = csim(gen.out)
    return gen, sim


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--frames", type=int, default=100)
    args = ap.parse_args()
    import compressed_models as cm
    from hlsgen.demo import build_digits_cnn, build_digits_mlp
    from hlsgen.frontends.qkeras.env import import_qkeras
    from hlsgen.project.tables import table
    tf, _, _ = import_qkeras()
    x_train, x_test, y_train, _ = cm.digits()
    x4, xt4 = x_train.reshape(-1, 8, 8, 1), x_test[:args.frames].reshape(-1, 8, 8, 1)
    xt = x_test[:args.frames]
    work = Path(tempfile.mkdtemp(prefix="hlsgen-bench-compression-"))
    rows, notes = [], []

    def record(label, gen, sim):
        f = _figures(gen)
        synth = sim.synthesis
        rows.append((label, f"{sim.values - sim.csim_mismatches}/{sim.values}",
                     f"{synth.golden.size - synth.mismatches}/{synth.golden.size}",
                     f"{f['dense_cycles']:,} -> {f['cycles']:,}",
                     f"{f['dense_cycles'] / f['cycles']:.2f}x",
                     f"{f['dense_bits']:,} -> {f['bits']:,}",
                     f"{f['dense_bits'] / max(1, f['bits']):.2f}x"))
        notes.extend(f"{label}: {line}" for line in f["lines"])

    t0 = time.perf_counter()
    for simd, pe in ((4, 1), (4, 2)):
        mlp = cm.prune(tf, build_digits_mlp(tf), 0.8, {"fc1": (simd, pe), "fc2": (simd, pe)},
                       x_train, y_train)
        record(f"MLP, tfmot 80% in {simd}x{pe} blocks, folded {simd}x{pe}",
               *_run(mlp, work / f"mlp_blocks_{simd}x{pe}", xt,
                     folding={n: {"simd": simd, "pe": pe} for n in ("fc1", "fc2")}))
    cnn = cm.prune(tf, build_digits_cnn(tf), 0.8, {"fc": (4, 2)}, x4, y_train)
    cnn = cm.block_prune_convs(tf, cnn, {"conv1": (1, 2), "conv2": (4, 2)}, 0.8, x4, y_train,
                               hold=("fc",))
    record("CNN, 80% in SIMDxPE blocks, folded 1x1/4x2/4x2",
           *_run(cnn, work / "cnn_blocks", xt4, folding={"conv1": {"simd": 1, "pe": 1},
                                                          "conv2": {"simd": 4, "pe": 2},
                                                          "fc": {"simd": 4, "pe": 2}}))
    unstructured = cm.prune(tf, build_digits_mlp(tf), 0.9, {"fc1": (1, 1), "fc2": (1, 1)},
                            x_train, y_train)
    record("MLP, tfmot 90% unstructured, default folding",
           *_run(unstructured, work / "mlp_unstructured", xt))
    record("MLP, 90% unstructured, folded 4x2",
           *_run(unstructured, work / "mlp_unstructured_4x2", xt,
                 folding={"fc1": {"simd": 4, "pe": 2}, "fc2": {"simd": 4, "pe": 2}}))
    _, clustered = cm.clustered_mlp(tf, x_train, y_train, clusters=16, weight_bits=8)
    # Folded where the codebook pays (cost.py codebook_pays): at the default
    # folding the weights fit in LUTRAM anyway and stay unshared.
    record("MLP 8-bit, tfmot 16 clusters, folded 8x2 / 4x1",
           *_run(clustered, work / "mlp_clustered", xt,
                 folding={"fc1": {"simd": 8, "pe": 2}, "fc2": {"simd": 4, "pe": 1}}))
    print(table(rows, ("model", "csim = golden", "synth = golden", "cycles/frame (dense -> this)",
                       "", "weight bits (dense -> this)", "")))
    print("\n".join(notes))

    fps_rows = []
    dense = cm.fit(cm.build_wide_cnn(tf), tf, x4, y_train, 2)
    pruned = cm.prune(tf, cm.build_wide_cnn(tf), 0.8, {"fc": (8, 2)}, x4, y_train, epochs=2)
    pruned = cm.block_prune_convs(tf, pruned, {"conv1": (1, 4), "conv2": (16, 4)}, 0.8, x4,
                                  y_train, epochs=1, hold=("fc",))
    for max_util in (0.3, 0.5, 0.7):
        fps = {}
        for name, m in (("dense", dense), ("pruned", pruned)):
            gen, sim = _run(m, work / f"wide_{name}_{int(100 * max_util)}", xt4[:8],
                            board="pynq-z2", max_util=max_util)
            fold = ", ".join(f"{k.attrs['layer']} {k.attrs['simd']}x{k.attrs['pe']}"
                             for k in gen.design.kernels if k.kind == "mvu")
            fps[name] = (_figures(gen)["fps"], fold, sim.mismatches)
        fps_rows.append((f"{max_util:g}", f"{fps['dense'][0]:,.0f}", fps["dense"][1],
                         f"{fps['pruned'][0]:,.0f}", fps["pruned"][1],
                         f"{fps['pruned'][0] / fps['dense'][0]:.2f}x",
                         "yes" if not fps["pruned"][2] else f"{fps['pruned'][2]} differ"))
    print("\nwide digits CNN (conv16-conv64-pool-fc10, 6-bit) on pynq-z2, the folding search at --max-util:")
    print(table(fps_rows, ("max-util", "dense fps", "dense folding", "pruned fps",
                           "pruned folding", "speed-up", "pruned csim exact")))
    print(f"\nprojects in {work}; {time.perf_counter() - t0:.0f} s. Exactness is proven (C "
          "simulation, both branches, every output); cycles, memory bits and fps are the cost "
          "model's estimates (cycles of the tile-walking loop are its exact trip count).")
    return 0


if __name__ == "__main__":
    sys.exit(main())
