"""Roofline model and DSE of the tiled engine (gen/arch/tiled/roofline.py)."""

import itertools

import pytest

from hlsgen.platform.boards import load_board
from hlsgen.errors import HlsgenError
from hlsgen.arch.tiled.roofline import Budget, ConvLayer, board_budget, conv, evaluate, plot_roofline, search

# AlexNet's five convolution layers as Zhang et al. (FPGA 2015) tile them
# (one of the two groups: M, N per group), float32 values.
ALEXNET = [conv("conv1", 48, 3, 55, 55, 11, 4, bits=32),
           conv("conv2", 128, 48, 27, 27, 5, bits=32),
           conv("conv3", 192, 256, 13, 13, 3, bits=32),
           conv("conv4", 192, 192, 13, 13, 3, bits=32),
           conv("conv5", 128, 192, 13, 13, 3, bits=32)]
# VC707 (Virtex-7 485T): 2,800 DSP, 2,060 BRAM18, at 100 MHz; the paper's
# float32 MAC takes 5 DSPs (multiplier 3, adder 2); DDR bandwidth assumed
# 4.5 GB/s, the figure the paper's design reaches on that board.
VC707 = Budget(dsp=2800, bram18=2060, clock_mhz=100, bandwidth_gbps=4.5, dsp_per_mac=5)


def test_one_layer_by_hand():
    """Every term of the table for one small layer, computed by hand."""
    l = ConvLayer("c", m=10, n=6, r=7, c=5, kh=3, kw=3, sh=2, sw=2, in_bits=8, w_bits=4,
                  out_bits=16, acc_bits=20)
    b = Budget(dsp=100, bram18=100, clock_mhz=100, bandwidth_gbps=0.2)   # 2 bytes/cycle
    p = evaluate([l], tm=4, tn=4, tr=4, tc=8, budget=b)
    lp = p.layers[0]
    # tiles: tr = 4, tc = min(8, 5) = 5; trips 3 * 2 * 2 * 1 = 12, output trips 6
    assert lp.compute_cycles == 12 * 4 * 5 * 9
    b_in = 4 * (4 * 2 + 1) * (5 * 2 + 1)
    traffic = 12 * (b_in * 1 + 4 * 4 * 9 * 1) + 6 * 4 * 4 * 5 * 2
    assert lp.traffic_bytes == traffic
    assert lp.memory_cycles == -(-traffic // 2)
    assert lp.cycles == max(lp.compute_cycles, lp.memory_cycles)
    assert p.dsp == 16


def _exhaustive(layers, budget):
    best = None
    for tm, tn in itertools.product(range(1, max(l.m for l in layers) + 1),
                                    range(1, max(l.n for l in layers) + 1)):
        if tm * tn * budget.dsp_per_mac > budget.dsp:
            continue
        for tr, tc in itertools.product(range(1, max(l.r for l in layers) + 1),
                                        range(1, max(l.c for l in layers) + 1)):
            p = evaluate(layers, tm, tn, tr, tc, budget)
            if p.fits and (best is None or p.key() < best.key()):
                best = p
    return best


@pytest.mark.parametrize("budget", [
    Budget(dsp=24, bram18=40, clock_mhz=100, bandwidth_gbps=0.8),
    Budget(dsp=60, bram18=14, clock_mhz=200, bandwidth_gbps=0.1, dsp_per_mac=2),
])
def test_dse_choice_is_the_exhaustive_optimum(budget):
    layers = [conv("a", 12, 3, 9, 9, 3), conv("b", 7, 12, 4, 5, 3, 2),
              ConvLayer("fc", m=10, n=20, r=1, c=1)]
    dse = search(layers, budget)
    best = _exhaustive(layers, budget)
    assert dse.fits
    assert (dse.tm, dse.tn, dse.tr, dse.tc) == (best.tm, best.tn, best.tr, best.tc)
    assert dse.key() == best.key()


def test_alexnet_unified_tiling_within_5_percent_of_per_layer_optima(tmp_path):
    unified = search(ALEXNET, VC707)
    assert unified.fits and unified.dsp <= 2800
    own = [search([l], VC707) for l in ALEXNET]
    per_layer = sum(p.cycles for p in own)
    gap = unified.cycles / per_layer - 1
    assert 0 <= gap < 0.05, (unified.tm, unified.tn, gap)
    # The chosen engine is compute bound on the paper's layers at 4.5 GB/s.
    assert all(l.bound == "compute" for l in unified.layers)
    assert unified.gops <= unified.roof_gops
    plot_roofline(unified, tmp_path / "roofline.png")
    assert (tmp_path / "roofline.png").stat().st_size > 10_000


def test_board_budget_and_errors():
    layers = [conv("a", 64, 32, 16, 16, 3)]
    b = board_budget(load_board("pynq-z2"), layers)
    assert (b.dsp, b.bram18, b.bandwidth_gbps, b.dsp_per_mac) == (220, 280, 2.1, 1)
    p = search(layers, b)
    assert p.fits and p.tm * p.tn <= 220
    with pytest.raises(HlsgenError, match="lane"):
        search(layers, Budget(dsp=1, bram18=10, clock_mhz=100, bandwidth_gbps=1, dsp_per_mac=2))
    with pytest.raises(HlsgenError, match="BRAM18"):
        search(layers, Budget(dsp=10, bram18=1, clock_mhz=100, bandwidth_gbps=1))
    with pytest.raises(HlsgenError, match="positive"):
        conv("bad", 0, 1, 1, 1, 1)
