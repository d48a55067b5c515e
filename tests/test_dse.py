"""The folding search: CNV-W1A1 on a PYNQ-Z1, balance, budgets and errors."""

from dataclasses import replace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from hlsgen.platform.boards import load_board
from hlsgen.arch.dataflow.cost import UNITS, LayerShape, estimate, refold
from hlsgen.arch.dataflow.search import board_cost, candidates, choose_folding, search, unit_options
from hlsgen.errors import HlsgenError
from test_cost_cnv import CONVS, PUBLISHED, cnv_w1a1


@pytest.fixture(scope="module")
def pynq_z1():
    return load_board("pynq-z1")


@pytest.fixture(scope="module")
def cnv_at_80(pynq_z1):
    return search(cnv_w1a1(), pynq_z1, 100, max_util=0.8)


def test_cnv_search_fits_pynq_z1_and_beats_3000_fps(cnv_at_80):
    est = cnv_at_80.estimate
    assert est.fits(0.8), est.utilisation
    assert est.fps >= 3000
    for s in refold(cnv_w1a1(), cnv_at_80.folding):
        assert s.kind != "mvu" or (s.mw % s.simd == 0 and s.mh % s.pe == 0)
    # A convolution's SIMD lanes come from its window unit: they divide C_in.
    for i, (_, cin, _, _) in enumerate(CONVS):
        assert cin % cnv_at_80.folding[f"conv{i}"]["simd"] == 0


def test_cnv_search_balances_the_pipeline(pynq_z1, cnv_at_80):
    """No unit has lanes it does not need: each takes the cheapest folding
    that keeps up with the slowest unit."""
    shapes = cnv_w1a1()
    est = cnv_at_80.estimate
    pace = max(l.cycles for l in est.layers if l.kind in UNITS)
    windows = {s.name[:-len("_window")]: s for s in shapes if s.name.endswith("_window")}
    for s in shapes:
        if s.kind not in UNITS:
            continue
        chosen = cnv_at_80.folding[s.name]
        opts = unit_options(s, pynq_z1, windows.get(s.name))
        mine = next(o for o in opts if (o.simd, o.pe) == (chosen["simd"], chosen["pe"]))
        assert mine.cycles <= pace
        assert all(o.cost >= mine.cost for o in opts if o.cycles <= pace), s.name


def test_fps_target_is_met_at_no_more_cost_than_the_published_folding(pynq_z1):
    chosen = search(cnv_w1a1(), pynq_z1, 100, fps=3000)
    assert chosen.estimate.fps >= 3000
    published = estimate(cnv_w1a1(), pynq_z1, 100)
    assert published.fps >= 3000
    assert chosen.cost <= board_cost(published.totals, pynq_z1)


def test_choose_folding_returns_every_unit(pynq_z1):
    folding = choose_folding(cnv_w1a1(), pynq_z1, 100, fps=1000)
    assert set(folding) == set(PUBLISHED)
    assert all(set(f) == {"simd", "pe"} for f in folding.values())


def test_out_of_reach_fps_gives_the_fastest_design_that_fits_and_says_so(pynq_z1):
    """--fps beyond the board: the fastest design within 100% of every
    resource, with a note; never a design over the board."""
    best = search(cnv_w1a1(), pynq_z1, 100, fps=1e9)
    assert best.estimate.fits(1.0) and best.estimate.fps < 1e9
    assert best.note.startswith("--fps 1,000,000,000 is out of reach within 100% of pynq-z1")
    assert "generated the fastest design that fits instead" in best.note
    fastest = search(cnv_w1a1(), pynq_z1, 100, max_util=1.0)
    assert best.folding == fastest.folding and not fastest.note
    # With --max-util too, within that fraction.
    within = search(cnv_w1a1(), pynq_z1, 100, fps=1e9, max_util=0.5)
    assert within.estimate.fits(0.5) and "within 50% of pynq-z1" in within.note
    # A target the board can reach carries no note, and fits.
    met = search(cnv_w1a1(), pynq_z1, 100, fps=1000)
    assert met.note == "" and met.estimate.fits(1.0)


def test_out_of_reach_budgets_are_user_errors(pynq_z1):
    with pytest.raises(HlsgenError, match=r"no folding fits pynq-z1 within 1%"):
        search(cnv_w1a1(), pynq_z1, 100, max_util=0.01)
    with pytest.raises(HlsgenError, match="--max-util"):
        search(cnv_w1a1(), pynq_z1, 100, max_util=-1)
    tiny = replace(pynq_z1, name="tiny", bram18=10)
    with pytest.raises(HlsgenError, match=r"no folding fits tiny within 100%.*--arch tiled"):
        search(cnv_w1a1(), tiny, 100, fps=1e9)
    with pytest.raises(HlsgenError, match="--fps"):
        search(cnv_w1a1(), pynq_z1, 100, fps=0)
    twin = [LayerShape("a", "mvu", mw=4, mh=4), LayerShape("a", "mvu", mw=4, mh=4)]
    with pytest.raises(HlsgenError, match="both named 'a'"):
        search(twin, pynq_z1, 100)


# --- raising the budget never lowers predicted throughput ---------------------

SIZES = [1, 2, 3, 4, 6, 8, 10, 12, 16, 24, 32, 48, 64, 96, 128]


@st.composite
def models(draw):
    """A chain of 1-4 units, dense or 3x3 convolutions behind a window unit,
    some with a requantization after them."""
    n = draw(st.integers(1, 4))
    widths = [draw(st.sampled_from(SIZES)) for _ in range(n + 1)]
    shapes = []
    for i in range(n):
        wbits, abits = draw(st.sampled_from([1, 2, 4, 8])), draw(st.sampled_from([1, 4, 8]))
        bits = {"wbits": wbits, "abits": abits, "accbits": 16, "out_bits": abits}
        if draw(st.booleans()):
            side = draw(st.sampled_from([3, 4, 6, 8]))
            shapes += [LayerShape(f"win{i}", "swg", channels=widths[i], kernel=(3, 3),
                                  in_dim=(side, side), abits=abits),
                       LayerShape(f"conv{i}", "mvu", mw=9 * widths[i], mh=widths[i + 1],
                                  pixels=(side - 2) ** 2, **bits)]
        else:
            shapes.append(LayerShape(f"fc{i}", "mvu", mw=widths[i], mh=widths[i + 1], **bits))
        if draw(st.booleans()):
            shapes.append(LayerShape(f"act{i}", "requant", count=widths[i + 1], accbits=16,
                                     out_bits=4, requant="thresholds", thresholds=15,
                                     requant_channels=widths[i + 1]))
    return shapes


# A small device, so that budgets bind.
SMALL = replace(load_board("pynq-z1"), name="tiny", lut=20000, ff=40000, dsp=60, bram18=60)


def _fps(shapes, **budget):
    try:
        found = search(shapes, SMALL, 100, **budget)
    except HlsgenError:
        return None    # nothing fits
    assert found.estimate.fits(budget.get("max_util", 1.0))
    return None if found.note else found.estimate.fps    # None: the budget is out of reach


@settings(max_examples=60, deadline=None)
@given(models(), st.floats(0.3, 1.0), st.floats(0.0, 0.7))
def test_more_utilisation_never_lowers_throughput(shapes, low, extra):
    high = min(1.0, low + extra)
    slow, fast = _fps(shapes, max_util=low), _fps(shapes, max_util=high)
    if slow is not None:
        assert fast is not None and fast >= slow
        assert search(shapes, SMALL, 100, max_util=low).estimate.fits(low)


@settings(max_examples=60, deadline=None)
@given(models(), st.floats(1e3, 1e8), st.floats(1.0, 50.0))
def test_higher_fps_target_never_lowers_throughput(shapes, target, factor):
    slow, fast = _fps(shapes, fps=target), _fps(shapes, fps=target * factor)
    if slow is not None:
        assert slow >= target
    if fast is not None:
        assert fast >= target * factor
        assert slow is not None and fast >= slow


@settings(max_examples=30, deadline=None)
@given(models())
def test_candidates_get_faster_as_budgets_tighten(shapes):
    cands = candidates(shapes, SMALL, 100)
    units = [s for s in shapes if s.kind in UNITS]
    for before, after in zip(cands, cands[1:]):
        for s in units:
            def cyc(c):
                f = c.folding[s.name]
                return s.pixels * (s.mw // f["simd"]) * (s.mh // f["pe"])
            assert cyc(after) <= cyc(before)
