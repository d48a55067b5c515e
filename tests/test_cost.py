"""The cost model's formulas, one kernel at a time (gen/arch/dataflow/cost.py's table)."""

import pytest

from hlsgen.platform.boards import load_board
from hlsgen.arch.dataflow.cost import (LayerShape, adder_tree_luts, bram18_count, estimate, layer_cost,
                      mac_class, memory, refold)
from hlsgen.errors import HlsgenError


@pytest.mark.parametrize("depth,width,expected", [
    (16384, 1, 1), (16385, 1, 2), (512, 36, 1), (513, 36, 2), (1024, 18, 1),
    (18432, 32, 36), (32768, 4, 8), (32768, 8, 16), (416, 64, 2), (0, 8, 0)])
def test_bram18_count_takes_the_best_aspect_ratio(depth, width, expected):
    assert bram18_count(depth, width) == expected


def test_memory_style_rule():
    assert memory(1, 48).style == "registers" and memory(1, 48).ff == 48
    small = memory(36, 32, banks=32)        # 32 LUTs each: LUTRAM
    assert (small.style, small.lut, small.bram18) == ("lutram", 32 * 32, 0)
    deep = memory(144, 32, banks=16)        # 96 LUTs would replace one BRAM18
    assert (deep.style, deep.bram18, deep.lut) == ("bram18", 16, 0)
    wide = memory(13, 64)                   # shallow and wide: 64 LUTs for 2 BRAM18
    assert wide.style == "lutram"


def test_mac_class_and_dsps():
    assert mac_class(1, 1) == "xnor"
    assert mac_class(1, 8) == mac_class(8, 1) == mac_class(4, 4) == "lut"
    assert mac_class(5, 4) == mac_class(8, 8) == "dsp"
    wide = layer_cost(LayerShape("w", "mvu", mw=4, mh=2, wbits=27, abits=16, simd=4, pe=2))
    assert wide.dsp == 2 * 4 * 2            # 27 bits need two 25x18 multipliers
    narrow = layer_cost(LayerShape("n", "mvu", mw=4, mh=2, wbits=4, abits=4, simd=4, pe=2))
    assert narrow.dsp == 0


def test_adder_tree_grows_one_bit_per_level():
    assert adder_tree_luts(1, 8) == 0
    assert adder_tree_luts(2, 1) == 2
    assert adder_tree_luts(4, 1) == 2 * 2 + 1 * 3
    assert adder_tree_luts(3, 9) == 2 * 10 + 1 * 11


def test_cycles_per_kind():
    cases = [
        (LayerShape("m", "mvu", mw=576, mh=64, pixels=784, simd=32, pe=32), 18 * 2 * 784),
        (LayerShape("d", "dwu", channels=32, kernel=(3, 3), pixels=100, simd=8), 100 * 10 * 4),
        (LayerShape("s", "swg", channels=64, kernel=(3, 3), in_dim=(30, 30), simd=32),
         (900 + 784 * 9) * 2),
        (LayerShape("g", "global_pool", channels=16, pixels=49, simd=4), 49 * 4),
        (LayerShape("r", "requant", count=120, simd=4), 30),
        (LayerShape("z", "resize", count=120, simd=4, pe=8), 30),
        (LayerShape("a", "argmax", count=10, simd=2), 5),
    ]
    for shape, cycles in cases:
        assert layer_cost(shape).cycles == cycles, shape.kind


def test_requantization_memories():
    thr = layer_cost(LayerShape("t", "requant", count=64, simd=4, accbits=12, out_bits=4,
                                requant="thresholds", thresholds=15, requant_channels=16))
    bank = thr.memories["requant"]                 # a bank per lane and threshold
    assert (bank.banks, bank.depth, bank.width, bank.style) == (4 * 15, 4, 12 + 2, "lutram")
    # Partitioned by lane and threshold: never a BRAM18 per bank, however deep.
    deep = layer_cost(LayerShape("t", "requant", count=512, simd=1, accbits=16, out_bits=2,
                                 requant="thresholds", thresholds=3, requant_channels=512))
    bank = deep.memories["requant"]
    assert (bank.banks, bank.depth, bank.style, deep.bram18) == (3, 512, "lutram", 0)
    assert bank.lut == 3 * 8 * 18
    shared = layer_cost(LayerShape("t", "requant", count=64, simd=4, accbits=12, out_bits=4,
                                   requant="thresholds", thresholds=15))
    assert shared.memories["requant"].style == "registers"
    assert shared.memories["requant"].ff == 15 * 14    # one set, read by every lane
    table = layer_cost(LayerShape("l", "requant", count=64, simd=2, accbits=10, out_bits=8,
                                  requant="lut", table_entries=1024, requant_channels=16))
    bank = table.memories["requant"]               # a bank per lane: its channels' tables
    assert (bank.banks, bank.depth, bank.width) == (2, 8 * 1024, 8)
    assert table.bram18 == 2 * bram18_count(8 * 1024, 8)
    shared = layer_cost(LayerShape("s", "requant", count=64, simd=2, accbits=10, out_bits=8,
                                   requant="lut", table_entries=1024))
    assert shared.memories["requant"].depth == 1024


def test_more_lanes_cost_more_logic_and_fewer_cycles():
    base = LayerShape("m", "mvu", mw=256, mh=64, wbits=2, abits=2, simd=8, pe=4)
    wide = layer_cost(LayerShape("m", "mvu", mw=256, mh=64, wbits=2, abits=2, simd=32, pe=16))
    assert wide.cycles * 16 == layer_cost(base).cycles
    assert wide.lut > 4 * layer_cost(base).lut / 2


def test_bad_shapes_name_the_layer():
    # hlsgen builds the shapes (a user's folding is checked before, in gen/arch/dataflow/design.py):
    # an inconsistent one is hlsgen's bug, reported as such, never as advice.
    from hlsgen.errors import InternalError
    with pytest.raises(InternalError, match=r"layer 'fc1': SIMD 5 does not divide its 64 inputs.*"
                                            r"bug in hlsgen"):
        LayerShape("fc1", "mvu", mw=64, mh=8, simd=5)
    with pytest.raises(InternalError, match=r"layer 'fc1': PE 3 does not divide its 8 outputs"):
        LayerShape("fc1", "mvu", mw=64, mh=8, pe=3)
    with pytest.raises(HlsgenError, match=r"layer 'x': kernel kind 'lstm'"):
        LayerShape("x", "lstm")
    with pytest.raises(HlsgenError, match=r"layer 'w'.*does not fit"):
        LayerShape("w", "swg", kernel=(5, 5), in_dim=(3, 3))


def test_estimate_totals_fps_and_latency():
    board = load_board("pynq-z1")
    shapes = [LayerShape("fc1", "mvu", mw=64, mh=32, simd=8, pe=4, abits=4, wbits=4),
              LayerShape("fc2", "mvu", mw=32, mh=10, simd=4, pe=2, abits=4, wbits=4)]
    est = estimate(shapes, board, 200)
    costs = [layer_cost(s) for s in shapes]
    assert est.totals["lut"] == sum(c.lut for c in costs) + est.shell["lut"]
    assert est.max_cycles == max(c.cycles for c in costs) == 64
    assert est.fps == pytest.approx(200e6 / 64)
    assert est.latency_cycles == sum(c.cycles + c.depth for c in costs)
    assert est.utilisation["lut"] == pytest.approx(est.totals["lut"] / board.lut)
    with pytest.raises(HlsgenError, match="clock"):
        estimate(shapes, board, float("nan"))


def test_refold_moves_the_lanes_around_a_unit():
    shapes = [LayerShape("w", "swg", channels=16, kernel=(3, 3), in_dim=(8, 8), simd=1),
              LayerShape("c", "mvu", mw=144, mh=32, pixels=36, simd=1, pe=1),
              LayerShape("r", "requant", count=36 * 32, simd=1, accbits=16, out_bits=4),
              LayerShape("d", "mvu", mw=36 * 32, mh=10, simd=1, pe=1)]
    out = refold(shapes, {"c": {"simd": 8, "pe": 4}, "d": {"simd": 2, "pe": 5}})
    by = {s.name: s for s in out}
    assert by["w"].simd == 8                    # the window feeds c's SIMD lanes
    assert (by["c"].simd, by["c"].pe) == (8, 4)
    assert by["r"].simd == 4                    # requantization keeps c's PE lanes
    conv = [s for s in out if s.kind == "resize"]
    assert [(s.simd, s.pe, s.count) for s in conv] == [(4, 2, 36 * 32)]
