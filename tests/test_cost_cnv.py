"""CNV-W1A1 (BNN-PYNQ's CIFAR-10 network) with its published folding: the
cost model's cycles and throughput against the figures recorded for it."""

import math

import pytest

from hlsgen.platform.boards import load_board
from hlsgen.arch.dataflow.cost import LayerShape, estimate, with_lane_converters
from hlsgen.arch.dataflow.search import divisors

# (SIMD, PE) published for BNN-PYNQ's cnvW1A1 (and finn-examples' cnv-w1a1;
# fc8 is any folding that divides it: PE 5 as in finn-examples).
PUBLISHED = {"conv0": (3, 16), "conv1": (32, 32), "conv2": (32, 16), "conv3": (32, 16),
             "conv4": (32, 4), "conv5": (32, 1), "fc6": (4, 1), "fc7": (8, 1), "fc8": (1, 5)}
# (input side, input channels, output channels, max pool after it)
CONVS = [(32, 3, 64, False), (30, 64, 64, True), (14, 64, 128, False),
         (12, 128, 128, True), (5, 128, 256, False), (3, 256, 256, False)]
FCS = [(256, 512), (512, 512), (512, 10)]


def _thresholds(mh: int) -> dict:
    # A 1-bit activation after batch-norm: one threshold per channel.
    return {"requant": "thresholds", "thresholds": 1, "requant_channels": mh, "bias": False}


def cnv_w1a1(folding: dict | None = None, fifos: bool = False) -> list[LayerShape]:
    """CNV-W1A1 as hlsgen kernels: 3x3 'valid' convolutions (sliding window +
    matrix-vector unit), 2x2 max pools (window + reduction), three dense
    layers; 1-bit weights and activations except the 8-bit input image.
    `fifos` adds BNN-PYNQ's deep inter-layer FIFOs (its top.cpp)."""
    fold = dict(PUBLISHED, **(folding or {}))
    shapes = []
    for i, (side, cin, cout, pool) in enumerate(CONVS):
        simd, pe = fold[f"conv{i}"]
        abits, acc, out = (8, 24, side - 2) if i == 0 else (1, 16, side - 2)
        shapes += [
            LayerShape(f"conv{i}_window", "swg", channels=cin, kernel=(3, 3),
                       in_dim=(side, side), abits=abits, simd=simd),
            LayerShape(f"conv{i}", "mvu", mw=9 * cin, mh=cout, pixels=out * out, wbits=1,
                       abits=abits, accbits=acc, out_bits=1, simd=simd, pe=pe,
                       **_thresholds(cout))]
        if pool:
            shapes += [
                LayerShape(f"pool{i}_window", "swg", channels=cout, kernel=(2, 2),
                           in_dim=(out, out), stride=(2, 2), abits=1, simd=pe),
                LayerShape(f"pool{i}", "pool", channels=cout, kernel=(2, 2),
                           pixels=(out // 2) ** 2, abits=1, accbits=1, out_bits=1, simd=pe)]
    for j, (mw, mh) in enumerate(FCS, start=6):
        simd, pe = fold[f"fc{j}"]
        last = j == 8
        shapes.append(LayerShape(f"fc{j}", "mvu", mw=mw, mh=mh, wbits=1, abits=1, accbits=16,
                                 out_bits=16 if last else 1, simd=simd, pe=pe,
                                 **({"bias": False} if last else _thresholds(mh))))
    if fifos:
        shapes += [LayerShape(f"fifo{n}", "fifo", abits=width, depth=depth)
                   for n, (depth, width) in enumerate(
                       [(128, 24), (128, 64), (128, 64), (128, 128), (128, 128), (81, 128),
                        (128, 64)])]
    return with_lane_converters(shapes)


def _by_name(est):
    return {l.name: l for l in est.layers}


def test_cnv_layer_output_sizes():
    sides = [math.isqrt(s.pixels) for s in cnv_w1a1()
             if s.kind == "pool" or (s.kind == "mvu" and s.name.startswith("conv"))]
    assert sides == [30, 28, 14, 12, 10, 5, 3, 1]


def test_cnv_published_folding_cycles_per_layer():
    est = estimate(cnv_w1a1(), load_board("pynq-z1"), 100)
    layers = _by_name(est)
    # The per-layer cycle counts BNN-PYNQ's configuration lists for this folding.
    expected = {"conv0": 32400, "conv1": 28224, "conv2": 20736, "conv3": 28800,
                "conv4": 20736, "conv5": 18432, "fc6": 32768, "fc7": 32768}
    assert {n: layers[n].cycles for n in expected} == expected
    assert est.max_cycles == 32768
    assert est.bottleneck in ("fc6", "fc7")


def test_cnv_throughput_at_299_and_100_mhz():
    board = load_board("pynq-z1")
    fast, slow = estimate(cnv_w1a1(), board, 299), estimate(cnv_w1a1(), board, 100)
    assert fast.fps == pytest.approx(299e6 / 32768)
    assert fast.fps == pytest.approx(9130, rel=0.005)     # BNN-PYNQ notebook: 9,150
    assert slow.fps == pytest.approx(3050, rel=0.005)     # finn-examples at 100 MHz: 3,020
    assert slow.fps > 3000


@pytest.mark.parametrize("simd", divisors(512))
def test_cnv_any_last_layer_folding_keeps_the_pace(simd):
    board = load_board("pynq-z1")
    for pe in divisors(10):
        est = estimate(cnv_w1a1({"fc8": (simd, pe)}), board, 100)
        assert est.max_cycles == 32768
        assert _by_name(est)["fc8"].cycles == (512 // simd) * (10 // pe)


def test_cnv_published_folding_fits_pynq_z1():
    est = estimate(cnv_w1a1(), load_board("pynq-z1"), 100)
    assert est.fits(1.0), est.utilisation
    assert est.totals["dsp"] == 0          # XNOR-popcount and 8b x 1b products: all LUTs
    # A 1-bit design stores one bit per weight.
    weights = sum(m.banks * m.depth * m.width for l in est.layers
                  for role, m in l.memories.items() if role == "weights")
    assert weights == sum(9 * cin * cout for _, cin, cout, _ in CONVS) + sum(
        mw * mh for mw, mh in FCS)
