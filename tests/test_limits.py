"""The limits a design must respect to be built (issue 14, deliverable 3):
every word within 4096 bits with AP_INT_MAX_W defined above 1024 (UG1399),
AXI-Stream ports within the AXI DMA's 1024 bits (PG021; no width converter,
PG085), a folding search and a user's --folding that respect them, and never
a design over 100% of a board resource with exit code 0."""

import json
import re
import subprocess
import sys
from dataclasses import replace

import numpy as np
import pytest

from conftest import qdense_mlp, randomize_biases
from hlsgen.platform.boards import load_board
from hlsgen.arch.dataflow.cost import LayerShape, layer_cost, refold, word_problems
from hlsgen.arch.dataflow.search import candidates, search
from hlsgen.errors import HlsgenError
from hlsgen.arch.dataflow.folding import (AXIS_MAX_BITS, MAX_WORD_BITS, WidthLimitError, fold_layer,
                         port_lanes)

W8 = "quantized_bits(8,0,alpha=1)"


def _widths(project):
    """(widest internal word, AXI in bits, AXI out bits) of a generated project."""
    report = json.loads((project / "report.json").read_text())
    bits = [s["lanes"] * int(re.search(r"<(\d+)>", s["type"]).group(1)) for s in report["streams"]]
    header = next((project / "firmware").glob("*.h")).read_text()
    axis = [int(re.search(rf"typedef ap_uint<(\d+)> \w+_{d}_word_t;", header).group(1))
            for d in ("in", "out")]
    return max(bits), axis[0], axis[1]


# --- the acceptance case: --fps 1e7 on a 784-128-10 MLP on pynq-z2 ------------

@pytest.fixture(scope="module")
def mlp784(tf, tmp_path_factory):
    folder = tmp_path_factory.mktemp("mlp784")
    model = randomize_biases(qdense_mlp(tf, [784, 128, 10], wq=W8, act="quantized_relu(8)"))
    model.save(folder / "mlp784.h5")
    return folder / "mlp784.h5"


def test_fps_1e7_on_784_128_10_gives_the_fastest_design_that_fits(mlp784, tmp_path):
    out = tmp_path / "fast"
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "generate", str(mlp784), "--out",
                           str(out), "--board", "pynq-z2", "--fps", "1e7", "--vectors", "5"],
                          capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    warnings = [line for line in proc.stderr.splitlines() if line.startswith("warning:")]
    assert len(warnings) == 1
    assert warnings[0].startswith("warning: --fps 10,000,000 is out of reach within 100% of "
                                  "pynq-z2")
    assert "generated the fastest design that fits instead" in warnings[0]
    report = json.loads((out / "report.json").read_text())
    assert report["budget"]["folding"] == "search"
    assert report["budget"]["note"] == warnings[0][len("warning: "):]
    est = report["estimates"]
    assert all(u <= 1.0 for u in est["utilisation"].values()), est["utilisation"]
    assert est["fps"] < 1e7 and f"{est['fps']:,.0f} frames/s" in warnings[0]
    widest, axis_in, axis_out = _widths(out)
    assert widest <= MAX_WORD_BITS and axis_in <= AXIS_MAX_BITS and axis_out <= AXIS_MAX_BITS
    bd = (out / "vivado" / "block_design.tcl").read_text()
    assert "in_width" not in bd and "out_width" not in bd    # the DMA connects directly
    # Raising the budget never gives a slower design: the same as --max-util 1.
    best = search_for(mlp784, tmp_path, max_util=1.0)
    assert best == report["folding"]


def search_for(model, tmp_path, **budget):
    from hlsgen.flow import generate
    res = generate(str(model), tmp_path / "again", n_vectors=2, log=lambda line: None, **budget)
    return json.loads((res.out / "report.json").read_text())["folding"]


def test_a_folding_over_4096_bits_is_refused_in_one_line(mlp784, tmp_path):
    fold = tmp_path / "fold.json"
    fold.write_text(json.dumps({"fc1": {"simd": 392, "pe": 1}}))
    out = tmp_path / "p"
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "generate", str(mlp784), "--out",
                           str(out), "--folding", str(fold)], capture_output=True, text=True)
    assert proc.returncode == 2
    err = proc.stderr.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: layer 'fc1': 392 lanes of 16-bit inputs make a 6272-bit word")
    assert "at most 4096 bits (UG1399, AP_INT_MAX_W)" in err
    assert "choose SIMD 256 or less for it (e.g. 196, a divisor of 784)" in err
    assert not out.exists()
    # Its own kind of user error, so that the search can skip such foldings.
    from hlsgen.flow import generate
    with pytest.raises(WidthLimitError):
        generate(str(mlp784), out, folding={"fc1": {"simd": 784, "pe": 1}})
    assert not out.exists()


def test_a_folding_over_the_board_is_refused(mlp784, tmp_path):
    from hlsgen.flow import generate
    with pytest.raises(HlsgenError, match=r"needs more than pynq-z2 has \(estimated DSP \d+%\); "
                                          r"fold it to fewer lanes"):
        generate(str(mlp784), tmp_path / "p", folding={"fc1": {"simd": 196, "pe": 2}})
    assert not (tmp_path / "p").exists()


# --- a wide design: the synthesis branch runs with AP_INT_MAX_W ----------------

def test_wide_words_define_ap_int_max_w_and_both_branches_are_exact(tf, save_model, tmp_path):
    """2048-bit input words and a 1216-bit output word: AP_INT_MAX_W is defined
    before the first ap_int.h, the AXI ports are split to at most 1024 bits
    (lane converters at both ends), and C simulation equals golden on both
    branches of the kernel library."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    model = randomize_biases(qdense_mlp(tf, [256, 32, 64], wq=W8, act="quantized_relu(8)",
                                        seed=5, softmax=False))
    folding = {"fc1": {"simd": 128, "pe": 1}, "logits": {"simd": 1, "pe": 64}}
    gen = generate(str(save_model(model)), tmp_path / "wide", folding=folding, n_vectors=30)
    out = gen.out
    header = (out / "firmware" / "wide.h").read_text()
    guard = header.index("#ifndef AP_INT_MAX_W\n#define AP_INT_MAX_W 4096\n#elif AP_INT_MAX_W < 2048")
    assert guard < header.index('#include "ap_int.h"')
    # A smaller AP_INT_MAX_W set by someone else stops the build at compile time.
    from hlsgen.sim.headers import ap_headers_dir
    proc = subprocess.run(["g++", "-std=c++14", "-fsyntax-only", "-DAP_INT_MAX_W=1024", "-I",
                           str(ap_headers_dir()), "-x", "c++", str(out / "firmware" / "wide.h")],
                          capture_output=True, text=True)
    assert proc.returncode != 0 and "define AP_INT_MAX_W as 2048 or more" in proc.stderr
    # The top function, the testbench and the emulator ABI include it first.
    for f in [out / "firmware" / "wide.cpp", out / "tb" / "wide_tb.cpp"]:
        first = re.search(r'#include "([^"]+)"', f.read_text()).group(1)
        assert first.endswith("wide.h"), f"{f.name} includes {first} first"
    report = json.loads((out / "report.json").read_text())
    ids = [l["id"] for l in report["layers"]]
    assert ids[0] == "axis_in_lanes" and ids[-1] == "axis_out_lanes"
    widest, axis_in, axis_out = _widths(out)
    assert (widest, axis_in, axis_out) == (128 * 16, 1024, 1024)
    assert report["streams"][0]["lanes"] == 64 and report["streams"][-1]["lanes"] == 32
    sim = csim(out)
    assert sim.synthesis is not None
    assert sim.csim_mismatches == 0 and sim.synthesis.mismatches == 0
    assert sim.synthesis.frames == 30
    # The PYNQ driver packs the split words and the emulated board (the IP
    # compiled with its AP_INT_MAX_W, behind an AXI DMA model) agrees.
    from conftest import assert_selftest_passes, board_folder
    from hlsgen.sim.emulator import install_overlay
    install_overlay(out)
    (tmp_path / "board").mkdir()
    assert_selftest_passes(board_folder(out, tmp_path / "board"), "wide", 7)


def test_narrow_projects_do_not_define_ap_int_max_w(tf, save_model, tmp_path):
    from hlsgen.flow import generate
    lines = []
    gen = generate(str(save_model(qdense_mlp(tf, [16, 8, 4]))), tmp_path / "small", n_vectors=2,
                   folding={"fc1": {"simd": 4, "pe": 2}}, fps=1e6, log=lines.append)
    assert "AP_INT_MAX_W" not in (gen.out / "firmware" / "small.h").read_text()
    # A budget next to a given folding is said to be ignored.
    assert lines == ["--fps and --max-util do not apply with --folding: the folding given is "
                     "built as it is; leave --folding out to search one"]


# --- no budget: a default folding over the board ------------------------------

def test_default_folding_over_the_board_is_searched_and_said(tf, save_model, tmp_path):
    """Five 64x64 8-bit layers: the default folding gives each 64 DSP lanes
    (320 of pynq-z2's 220); generate takes the fastest folding within 70%
    instead and says so."""
    from hlsgen.flow import generate
    model = randomize_biases(qdense_mlp(tf, [64] * 6, wq=W8, act="quantized_relu(8)"))
    lines = []
    gen = generate(str(save_model(model)), tmp_path / "deep", n_vectors=2, log=lines.append)
    assert len(lines) == 1 and lines[0].startswith(
        "the default folding needs more than pynq-z2 has (estimated DSP")
    assert "generated the fastest folding within 70% of it instead" in lines[0]
    assert gen.notes == lines
    report = json.loads((gen.out / "report.json").read_text())
    assert report["budget"]["note"] == lines[0] and report["budget"]["max_util"] == 0.7
    assert all(u <= 0.7 for u in report["estimates"]["utilisation"].values())


def test_nothing_fits_is_an_error_naming_the_fix(tf, save_model, tmp_path):
    from hlsgen.flow import generate
    model = qdense_mlp(tf, [1024, 2048, 10], wq=W8)    # 2M weights: over 10 Mbit, 4.9 on chip
    for budget in ({}, {"fps": 1e7}):
        with pytest.raises(HlsgenError, match=r"no folding fits pynq-z2 within (70|100)%.*"
                                              r"the smallest design needs \d+% of its BRAM18"):
            generate(str(save_model(model)), tmp_path / "p", n_vectors=2, **budget)
        assert not (tmp_path / "p").exists()


# --- the search and the cost model, shape by shape ----------------------------

BIG = replace(load_board("zcu104"), name="big", lut=10**8, ff=10**8, dsp=10**6, bram18=10**6)


def test_the_search_never_proposes_a_word_over_4096_bits():
    shapes = [LayerShape("fc1", "mvu", mw=784, mh=128, wbits=2, abits=8, accbits=24,
                         out_bits=40),
              LayerShape("act", "requant", count=128, abits=40, accbits=40, out_bits=48,
                         requant="shift"),
              LayerShape("fc2", "mvu", mw=128, mh=64, wbits=2, abits=48, accbits=60,
                         out_bits=60)]
    cands = candidates(shapes, BIG, 100)
    for c in cands:
        chain = refold(shapes, c.folding)
        assert word_problems(chain) == [], c.folding
        assert max(b for s in chain for _, b in s.words) <= MAX_WORD_BITS
    fastest = search(shapes, BIG, 100, fps=1e12)
    f = fastest.folding
    assert f["fc1"]["simd"] == 392 and f["fc1"]["simd"] * 8 <= MAX_WORD_BITS   # 512 divides not
    assert f["fc1"]["pe"] * 48 <= MAX_WORD_BITS        # the requant after it widens its lanes
    assert f["fc2"]["simd"] * 48 <= MAX_WORD_BITS and f["fc2"]["pe"] * 60 <= MAX_WORD_BITS
    assert "out of reach" in fastest.note and "no folding is faster" in fastest.note
    # The AXI-Stream ports: lane converters to words of at most 1024 bits.
    chain = refold(shapes, f)
    assert chain[0].kind == "resize" and chain[0].simd * 8 <= AXIS_MAX_BITS
    assert chain[-1].kind == "resize" and chain[-1].pe * 60 <= AXIS_MAX_BITS
    assert fastest.estimate.max_cycles >= 784 * 8 // AXIS_MAX_BITS


def test_port_lanes_and_capped_default_folding():
    assert port_lanes(196, 16) == 49          # 784 bits: a divisor of 196 within 1024 bits
    assert port_lanes(64, 16) == 64 and port_lanes(128, 16) == 64 and port_lanes(7, 200) == 1
    assert port_lanes(1, 64) == 1
    assert fold_layer(784, 128, 1) == (784, 128)
    assert fold_layer(784, 128, 1, max_simd=256, max_pe=64) == (196, 64)   # the fastest within


def test_max_util_above_one_is_refused():
    with pytest.raises(HlsgenError, match=r"--max-util 1.5 must be a fraction of the board"):
        search([LayerShape("a", "mvu", mw=4, mh=4)], load_board("pynq-z2"), 100, max_util=1.5)


# --- partitioned requantization tables ---------------------------------------

def test_partitioned_thresholds_cost_luts_and_ffs_not_bram():
    """hlsgen_requant.h partitions thresholds by lane and threshold: each
    bank a few words, in LUTRAM or registers, never a BRAM18 per bank."""
    s = LayerShape("fc", "mvu", mw=64, mh=256, simd=8, pe=4, wbits=1, abits=1, accbits=10,
                   out_bits=2, requant="thresholds", thresholds=3, requant_channels=256)
    c = layer_cost(s)
    m = c.memories["requant"]
    assert (m.banks, m.depth, m.width, m.style) == (4 * 3, 64, 12, "lutram")
    assert m.bram18 == 0 and m.lut == 4 * 3 * 12
    one = layer_cost(replace(s, pe=256)).memories["requant"]
    assert (one.style, one.ff) == ("registers", 256 * 3 * 12)


def test_report_shows_requant_partition_factors():
    from types import SimpleNamespace
    from hlsgen.arch.dataflow.report import _partition_factors
    k = SimpleNamespace(kind="requant", attrs={}, params={"thr": np.zeros((12, 3))},
                        inp=SimpleNamespace(lanes=4), out=SimpleNamespace(lanes=4))
    assert _partition_factors(k) == {
        "thresholds": "4 x 3 banks of 3 words (12 channel(s) cyclic by 4 lanes, 3 thresholds "
                      "complete)"}
