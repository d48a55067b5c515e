"""The cost model against published post-implementation utilisation of two
BNN-PYNQ designs on the Zynq-7020 (Vivado 2018.2; the utilisation reports in
Xilinx/BNN-PYNQ's bnn/src/network/{cnvW1A1,lfcW1A1}/README.md; the layer
configurations in the config.h beside them). gen/arch/dataflow/cost.py documents the
ratios; this test keeps them in band."""

import pytest

from hlsgen.platform.boards import load_board
from hlsgen.arch.dataflow.cost import LayerShape, estimate, with_lane_converters
from test_cost_cnv import cnv_w1a1

MEASURED = {  # whole overlay: LUT, FF, BRAM18 (RAMB36 x 2 + RAMB18)
    "cnv": {"lut": 26072, "ff": 41312, "bram18": 76 * 2 + 96},
    "lfc": {"lut": 28360, "ff": 33470, "bram18": 6 * 2 + 208},
}


def lfc_w1a1() -> list[LayerShape]:
    """LFC-W1A1 as BNN-PYNQ built it: 832 (padded 28x28) -> 1024 x3 -> 64 (padded 10)."""
    layers = [("fc0", 832, 1024, 64, 32), ("fc1", 1024, 1024, 32, 64),
              ("fc2", 1024, 1024, 64, 32), ("fc3", 1024, 64, 8, 16)]
    shapes = []
    for name, mw, mh, simd, pe in layers:
        last = name == "fc3"
        rq = {} if last else {"requant": "thresholds", "thresholds": 1, "requant_channels": mh}
        shapes.append(LayerShape(name, "mvu", mw=mw, mh=mh, wbits=1, abits=1, accbits=16,
                                 out_bits=16 if last else 1, simd=simd, pe=pe, bias=False, **rq))
    return with_lane_converters(shapes)


def _ratios(shapes, measured):
    est = estimate(shapes, load_board("pynq-z1"), 100)
    return est, {r: est.totals[r] / m for r, m in measured.items()}


def test_lfc_estimate_within_15_percent():
    est, ratio = _ratios(lfc_w1a1(), MEASURED["lfc"])
    assert ratio == {r: pytest.approx(1.0, abs=0.15) for r in ratio}, ratio
    # Its weight memories are exactly the measured RAMB18 count.
    weights = sum(m.bram18 for l in est.layers for role, m in l.memories.items()
                  if role == "weights")
    assert weights == 208


def test_cnv_estimate_in_documented_band():
    _, ratio = _ratios(cnv_w1a1(fifos=True), MEASURED["cnv"])
    assert ratio["lut"] == pytest.approx(1.0, abs=0.15), ratio
    # Documented shortfalls (gen/arch/dataflow/cost.py): registers for thresholds, small
    # memories that Vivado HLS 2018.2 put in BRAM. Never an overestimate.
    assert 0.6 <= ratio["ff"] <= 1.0, ratio
    assert 0.5 <= ratio["bram18"] <= 1.0, ratio
