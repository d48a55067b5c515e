"""Benchmark: C simulation of a CNV-W1A1-sized binarized network (BNN-PYNQ's
CNV topology, 32x32x3 input) on 100 images, after compilation, and the
synthesis branch (g++ -O1 -DHLSGEN_SYNTHESIS) on the first 10. Prints its
figures; the targets are under 60 s of C simulation and under 2 minutes of
synthesis-branch build on this 2-core machine.
Usage: python bench/bnn.py [--images 100] [--synthesis-images 10]"""

from __future__ import annotations

import argparse
import shutil
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


def _declared_weight_bits(params: Path) -> int:
    """Bits of the weight memories as the synthesis headers declare them."""
    from weight_headers import weight_memories
    return sum(m.bits for m in weight_memories(params).values())


def _synthesis_rows(label: str, res) -> list[tuple[str, str]]:
    """The synthesis branch (what Vitis HLS compiles, g++ -O1): build, speed, exactness."""
    s = res.synthesis
    return [(f"{label}synthesis-branch g++ -O1 build, cold", f"{s.build_seconds:.2f} s"),
            (f"{label}synthesis branch: {s.frames} images", f"{s.run_seconds:.2f} s "
                                                             f"({s.run_seconds / s.frames:.3f} s per image, 2 processes)"),
            (f"{label}synthesis branch = golden", f"{s.golden.size - s.mismatches}/{s.golden.size} values")]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--images", type=int, default=100)
    ap.add_argument("--synthesis-images", type=int, default=10,
                    help="images for the synthesis branch (slower: sized ap_int arithmetic)")
    args = ap.parse_args()
    import bnn_models
    import cnn_models
    from hlsgen.frontends.qkeras.env import import_qkeras
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    tf, _, _ = import_qkeras()
    tf.keras.utils.set_random_seed(0)
    work = Path(tempfile.mkdtemp(prefix="hlsgen-bnn-"))
    try:
        model = cnn_models.randomize_bn(bnn_models.cnv_w1a1(tf))
        model.save(work / "cnv.h5")
        n_weights = sum(int(w.size) for w in model.get_weights()[::1] if w.ndim > 1)
        t0 = time.perf_counter()
        g = generate(str(work / "cnv.h5"), work / "cnv", n_vectors=args.images)
        t_gen = time.perf_counter() - t0
        res = csim(g.out, synthesis_frames=args.synthesis_images)
        fw = res.framework_figures()
        declared = _declared_weight_bits(g.out / "firmware" / "params")
        rows = [("CNV-W1A1 (QKeras, 32x32x3): generate", f"{t_gen:.2f} s"),
                ("C-simulation g++ build, cold", f"{res.build_seconds:.2f} s"),
                (f"C simulation of {res.frames} images, after compilation (target < 60 s)",
                 f"{res.run_seconds:.2f} s"),
                ("C simulation = golden", f"{res.values - res.mismatches}/{res.values} values"),
                ("golden = QKeras", f"{fw['equal_values']}/{fw['values']} values"),
                ("weight storage declared for synthesis", f"{declared:,} bits for {n_weights:,} weights "
                                                          f"({declared / n_weights:.2f} bits per weight)")]
        rows += _synthesis_rows("", res)
        # BNN-PYNQ's own CNV-W1A1 from brevitas_examples (pretrained=False,
        # batch-norm statistics from train-mode passes on random data).
        import torch
        from brevitas_examples.bnn_pynq.models import model_with_cfg
        torch.manual_seed(0)
        cnv = model_with_cfg("cnv_1w1a", pretrained=False)[0].train()
        with torch.no_grad():
            for _ in range(4):
                cnv(torch.rand(64, 3, 32, 32) * 2 - 1)
        torch.save(cnv.eval().state_dict(), work / "cnv.pt")
        (work / "spec.py").write_text(
            "from brevitas_examples.bnn_pynq.models import model_with_cfg\n\n\n"
            "def cnv():\n    return model_with_cfg('cnv_1w1a', pretrained=False)[0]\n")
        t0 = time.perf_counter()
        g = generate(f"{work / 'spec.py'}:cnv", work / "bnn_pynq_cnv", checkpoint=str(work / "cnv.pt"),
                     input_shape=(1, 3, 32, 32), output="argmax", n_vectors=args.images)
        t_gen = time.perf_counter() - t0
        res = csim(g.out, synthesis_frames=args.synthesis_images)
        fw = res.framework_figures()
        rows += [("BNN-PYNQ CNV-W1A1 (Brevitas): generate", f"{t_gen:.2f} s"),
                 ("BNN-PYNQ CNV-W1A1: C-simulation g++ build, cold", f"{res.build_seconds:.2f} s"),
                 (f"BNN-PYNQ CNV-W1A1: C simulation of {res.frames} images (target < 60 s)",
                  f"{res.run_seconds:.2f} s"),
                 ("BNN-PYNQ CNV-W1A1: label select = golden = Brevitas",
                  f"{res.values - res.mismatches}/{res.values}, {fw['equal_values']}/{fw['values']}"),
                 ("BNN-PYNQ CNV-W1A1: weight storage declared",
                  f"{_declared_weight_bits(g.out / 'firmware' / 'params'):,} bits")]
        rows += _synthesis_rows("BNN-PYNQ CNV-W1A1: ", res)
    finally:
        shutil.rmtree(work, ignore_errors=True)
    width = max(len(r[0]) for r in rows)
    for k, v in rows:
        print(f"{k.ljust(width)}  {v}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
