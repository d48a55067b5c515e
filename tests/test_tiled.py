"""The tiled engine (gen/arch/tiled/design.py, templates/hls/hlsgen_tiled.h): C
simulation equals the golden executor on every output, in both branches of
the kernel library (C simulation's and the synthesis branch), for every
layer kind it runs, at the board's tiling and at a tiny budget that splits
every dimension into several tiles (edge tiles and odd tile counts
included); the synthesis branch type-checks with clang, Vitis HLS's front
end; the requantization arithmetic is exact at its extremes."""

import re

import numpy as np
import pytest

import cnn_models as cm
from hlsgen.platform.boards import load_board
from hlsgen.errors import HlsgenError
from hlsgen.project.paths import data_dir
from hlsgen.arch.tiled.roofline import Budget
from hlsgen.arch.tiled.design import FIELDS, OPS
from hlsgen.arch.select import choose_arch, resolve_arch
from tiled_generate import generate_tiled
from hlsgen.sim.csim import csim

# Several tiles of output channels, input channels, rows and columns, with
# edge tiles and odd tile counts (the double buffers alternate unevenly).
SMALL_TILES = (3, 2, 3, 5)
TINY = Budget(dsp=6, bram18=12, clock_mhz=100, bandwidth_gbps=1.0)


def _run(tf, save_model, tmp_path, builder, n=24, distinct=4, **kw):
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(getattr(cm, builder)(tf))
    path = save_model(model, builder + ".h5")
    gen, tiled = generate_tiled(str(path), tmp_path / builder, n_vectors=n, **kw)
    sim = csim(gen.out)
    assert sim.frames == n
    # Both branches of the kernel library: C simulation's and the synthesis
    # branch (HLSGEN_SYNTHESIS: sized ap_int buffers and arithmetic, every lane).
    assert sim.synthesis is not None and sim.synthesis.frames == n
    assert sim.csim_mismatches == 0, f"C-sim branch: {sim.csim_mismatches} of {sim.values} outputs differ from golden"
    assert sim.synthesis.mismatches == 0, \
        f"synthesis branch: {sim.synthesis.mismatches} of {sim.values} outputs differ from golden"
    assert sim.mismatches == 0
    assert len(np.unique(sim.csim)) >= distinct    # the comparison is not vacuous
    return gen, tiled, sim


@pytest.mark.parametrize("builder", ["digits_cnn", "stride2_7x7", "kernel_1x3", "conv1d_signal",
                                     "smooth_activations", "mnist_cnn"])
def test_tiled_csim_equals_golden_at_board_tiling(tf, save_model, tmp_path, builder):
    gen, tiled, sim = _run(tf, save_model, tmp_path, builder)
    assert (gen.out / "roofline.png").is_file()


@pytest.mark.parametrize("builder", ["digits_cnn", "stride2_7x7", "conv1d_signal"])
def test_tiled_csim_equals_golden_with_many_small_tiles(tf, save_model, tmp_path, builder):
    gen, tiled, sim = _run(tf, save_model, tmp_path, builder, tiling=SMALL_TILES)
    convs = [l.desc for l in tiled.layers if l.desc["op"] == OPS["conv"]]
    # Some layer needs several tiles of output channels, input channels and pixels.
    assert any(d["m"] > tiled.sizes["TM"] for d in convs)
    assert any(d["n"] > tiled.sizes["TN"] for d in convs)
    assert any(d["oh"] > d["tr"] or d["ow"] > d["tc"] for d in convs)


def test_requantization_kinds_all_run(tf, save_model, tmp_path):
    """Lookup tables, shifts, thresholds or multipliers (monotonic functions:
    the cost model picks), standalone requantizations. Every kind in both
    branches at its extremes: the engine arithmetic test."""
    _, tiled, _ = _run(tf, save_model, tmp_path, "smooth_activations", budget=TINY)
    assert tiled.sizes["TM"] * tiled.sizes["TN"] <= 6
    kinds = {l.desc.get("rq") for l in tiled.layers}
    assert {1, 3} <= kinds and kinds & {2, 4}
    assert any(l.desc["op"] == OPS["pool"] and l.desc["kh"] == 1 for l in tiled.layers)


def test_argmax_output(tf, save_model, tmp_path):
    gen, tiled, sim = _run(tf, save_model, tmp_path, "digits_cnn", output="argmax", distinct=2)
    assert tiled.layers[-1].desc["op"] == OPS["argmax"] and sim.csim.shape[1] == 1


def test_descriptor_fields_match_the_header():
    text = (data_dir("templates") / "hls" / "hlsgen_tiled.h").read_text()
    enum = re.search(r"enum Field \{(.*?)\};", text, re.S).group(1)
    names = [f.strip()[2:].lower() for f in enum.replace("\n", " ").split(",") if f.strip()]
    assert names[:-1] == list(FIELDS) and names[-1] == "fields"


@pytest.mark.parametrize("builder, words", [("residual_block", "add"),
                                            ("separable_block", "depthwise")])
def test_unsupported_layers_are_named(tf, save_model, tmp_path, builder, words):
    tf.keras.utils.set_random_seed(1)
    path = save_model(getattr(cm, builder)(tf), builder + ".h5")
    with pytest.raises(HlsgenError, match=f"{words}.*--arch dataflow"):
        generate_tiled(str(path), tmp_path / builder, n_vectors=2)


def test_auto_picks_dataflow_for_a_small_model(tf, save_model, tmp_path):
    tf.keras.utils.set_random_seed(1)
    gen, _, _ = _run(tf, save_model, tmp_path, "digits_cnn", n=4)
    arch, reason = choose_arch(gen.graph, load_board("pynq-z2"))
    assert arch == "dataflow" and "fits pynq-z2" in reason
    assert resolve_arch("tiled", gen.graph, load_board("pynq-z2"), "m") == ("tiled", "given")
    with pytest.raises(HlsgenError, match="--arch 'fast'"):
        resolve_arch("fast", gen.graph, load_board("pynq-z2"), "m")


def test_report_of_a_tiled_project(tf, save_model, tmp_path):
    from hlsgen.arch.tiled.project import engine_json, format_engine, report_tiled_project
    gen, tiled, _ = _run(tf, save_model, tmp_path, "mnist_cnn", n=4)
    (gen.out / "roofline.png").unlink()
    again = report_tiled_project(gen.out, board="zcu104")
    assert (again.point.tm, again.point.tn) == (tiled.point.tm, tiled.point.tn)
    assert again.point.budget.dsp == load_board("zcu104").dsp
    assert (gen.out / "roofline.png").is_file()
    text = format_engine(engine_json(again))
    assert "conv1" in text and "GOPS" in text


# The engine's requantization (Requant<Cfg>, shift_round) compiled in both
# branches of the kernel library and run on accumulator codes chosen to hit
# the extremes: shifts of 0, left shifts, right shifts at and beyond 64 bits,
# every rounding, reachable and unreachable clamps, thresholds with and
# without negation, lookup tables, the multiplier form (negative m,
# exceptions, products up to 2^60), per-tensor and per-channel parameters.
REQUANT_HARNESS = r"""
#include <cstdio>
#include <vector>
#include "hlsgen_tiled.h"
using namespace hlsgen::tiled;
struct Cfg {
    static const unsigned TL = 3, NT_MAX = 9;
    typedef ap_int<THR_BITS> thr_t;
    typedef ap_int<61> acc_t;
};
int main() {
    long long cases, np_, nacc;
    static Requant<Cfg> rq;
    if (std::scanf("%lld", &cases) != 1) return 2;
    for (long long c = 0; c < cases; c++) {
        i64 d[N_FIELDS];
        for (int f = 0; f < N_FIELDS; f++) std::scanf("%lld", &d[f]);
        std::scanf("%lld", &np_);
        std::vector<ap_int<64> > params(np_ ? np_ : 1);
        for (long long i = 0; i < np_; i++) { long long v; std::scanf("%lld", &v); params[i] = v; }
        rq.loaded = -1;
        rq.load(d, params.data(), 0);
        std::scanf("%lld", &nacc);
        for (long long i = 0; i < nacc; i++) {
            long long acc, lane;
            std::scanf("%lld %lld", &acc, &lane);
            std::printf("%lld\n", (long long)rq(d, acc, (unsigned)lane));
        }
    }
    return 0;
}
"""
THR_BITS = 24


def _reference_requant(kind: str, p: dict, acc: int, lane: int) -> int:
    """gen/ir/intmath.py apply_requant's semantics, in Python integers (exact at any shift)."""
    if kind == "identity":
        return acc
    if kind == "shift":
        s = p["shift"]
        if s <= 0:
            q = acc << -s
        else:
            q, rem = acc >> s, acc & ((1 << s) - 1)
            half = 1 << (s - 1)
            if p["round"] == "half_up":
                q += rem >= half
            elif p["round"] == "half_even":
                q += rem > half or (rem == half and q & 1)
        if p["lo"] is not None:
            q = max(q, p["lo"])
        if p["hi"] is not None:
            q = min(q, p["hi"])
        return q
    table = p["table"][lane % len(p["table"])]
    if kind == "multiply":
        q = min(max((acc * int(table[0]) + int(table[1])) >> p["shift"], p["lo"]), p["hi"])
        for k in range(2, len(table) - 1, 2):
            if acc == table[k]:
                q = int(table[k + 1])
        return q
    if kind == "lut":
        return int(table[acc - p["in_lo"]])
    v = -acc if p["negate"][lane % len(p["negate"])] else acc
    return p["base"] + sum(int(v >= t) for t in table)


def _requant_cases(rng):
    """(kind, parameters, accumulators [(acc, lane)], acc_lo, acc_hi)."""
    from hlsgen.ir.intmath import ROUND_MODES
    cases = [("identity", {}, [(a, 0) for a in (-(1 << 59), -1, 0, 1, (1 << 59) - 1)],
              -(1 << 59), (1 << 59) - 1)]
    for acc_bits in (2, 8, 24, 60):
        lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
        accs = sorted({lo, lo + 1, -3, -2, -1, 0, 1, 2, 3, hi - 1, hi, *map(int, rng.integers(lo, hi + 1, 40))})
        accs = [a for a in accs if lo <= a <= hi]
        shifts = sorted({-3, -1, 0, 1, 2, acc_bits - 1, acc_bits, acc_bits + 1, 61, 62, 63, 64, 65, 100})
        for s in shifts:
            if acc_bits - min(s, 0) > 60:
                continue      # gen/arch/tiled/design.py refuses left shifts beyond 60 bits
            for mode in ROUND_MODES:
                for clamp in ((None, None), (-4, 3), (0, 255), (-(1 << 62), (1 << 62) - 1)):
                    cases.append(("shift", {"shift": s, "round": mode, "lo": clamp[0], "hi": clamp[1]},
                                  [(a, 0) for a in accs], lo, hi))
    for channels in (1, 3):
        for nt in (1, 4, 9):
            table = np.sort(rng.integers(-(1 << (THR_BITS - 1)), 1 << (THR_BITS - 1), (channels, nt)), axis=1)
            table[0, 0] = -(1 << (THR_BITS - 1))
            negate = [bool(x) for x in rng.integers(0, 2, channels)]
            accs = [(int(a), int(l)) for a, l in zip(rng.integers(-(1 << 24), 1 << 24, 60),
                                                     rng.integers(0, 3, 60))]
            accs += [(int(t), l) for l in range(3) for t in table[l % channels]]
            accs += [(int(t) - 1, l) for l in range(3) for t in table[l % channels]]
            accs += [(-int(t), l) for l in range(3) for t in table[l % channels]]
            cases.append(("thresholds", {"table": table, "negate": negate, "base": -2}, accs,
                          -(1 << 30), 1 << 30))
        for nx in (0, 1, 3):
            for acc_bits, shift in ((8, 0), (8, 5), (31, 20), (37, 60)):
                lo, hi = -(1 << (acc_bits - 1)), (1 << (acc_bits - 1)) - 1
                m_lim = 1 << min(THR_BITS - 1, 60 - acc_bits)
                m = rng.integers(-m_lim, m_lim, channels)
                m[0] = m_lim - 1 if acc_bits < 37 else -m_lim
                b = rng.integers(-(1 << (THR_BITS - 1)), 1 << (THR_BITS - 1), channels)
                lim = 1 << (THR_BITS - 1)   # exception codes are held in thr_t
                x = rng.integers(max(lo, -lim), min(hi, lim - 1) + 1, (channels, nx))
                y = rng.integers(-100, 100, (channels, nx))
                table = np.concatenate([m[:, None], b[:, None],
                                        np.stack([x, y], axis=2).reshape(channels, 2 * nx)], axis=1)
                accs = [(a, l) for a in {lo, lo + 1, -1, 0, 1, hi - 1, hi} for l in range(3)]
                accs += [(int(a), int(l)) for a, l in zip(rng.integers(lo, hi + 1, 40), rng.integers(0, 3, 40))]
                accs += [(int(v), l) for l in range(3) for v in x[l % channels]]
                cases.append(("multiply", {"table": table, "shift": shift, "lo": -3000, "hi": 1 << 40},
                              accs, lo, hi))
        table = rng.integers(-(1 << (THR_BITS - 1)), 1 << (THR_BITS - 1), (channels, 9))
        cases.append(("lut", {"table": table, "in_lo": -4},
                      [(a, l) for a in range(-4, 5) for l in range(3)], -4, 4))
    return cases


def _describe(kind, p, acc_lo, acc_hi):
    """(descriptor row, params memory) of one requantization, as gen/arch/tiled/design.py writes them."""
    from hlsgen.ir.intmath import ROUND_MODES
    from hlsgen.arch.tiled.design import REQUANTS
    d = dict.fromkeys(FIELDS, 0)
    d.update(rq=REQUANTS[kind], acc_lo=acc_lo, acc_hi=acc_hi)
    params = [0]
    if kind == "shift":
        d.update(shift=p["shift"], round=ROUND_MODES[p["round"]],
                 clamp_lo=int(p["lo"] is not None), lo=p["lo"] or 0,
                 clamp_hi=int(p["hi"] is not None), hi=p["hi"] or 0)
    elif kind in ("thresholds", "lut", "multiply"):
        table = np.asarray(p["table"])
        d.update(ch=table.shape[0], nt=table.shape[1], thr=1)
        if kind == "multiply":
            d.update(shift=p["shift"], clamp_lo=1, lo=p["lo"], clamp_hi=1, hi=p["hi"])
        params += list(table.ravel())
        if kind == "thresholds":
            d.update(base=p["base"], neg=len(params))
            params += [int(x) for x in p["negate"]]
        elif kind == "lut":
            d.update(in_lo=p["in_lo"])
    return [d[f] for f in FIELDS], params


@pytest.mark.parametrize("synthesis", [False, True], ids=["csim-branch", "synthesis-branch"])
def test_requantization_arithmetic_in_both_branches(tmp_path, synthesis):
    import subprocess
    from hlsgen.sim.compile import CXXFLAGS, SYNTHESIS_FLAGS
    from hlsgen.sim.headers import ap_headers_dir
    rng = np.random.default_rng(14)
    cases = _requant_cases(rng)
    src = tmp_path / "requant.cpp"
    src.write_text(REQUANT_HARNESS)
    exe = tmp_path / "requant"
    flags = (SYNTHESIS_FLAGS if synthesis else CXXFLAGS) + [f"-DTHR_BITS={THR_BITS}"]
    subprocess.run(["g++", *flags, "-iquote", str(data_dir("templates") / "hls"),
                    "-I", str(ap_headers_dir()), str(src), "-o", str(exe)], check=True)
    text, want = [str(len(cases))], []
    for kind, p, accs, lo, hi in cases:
        desc, params = _describe(kind, p, lo, hi)
        text += [" ".join(map(str, desc)), str(len(params)), " ".join(map(str, params)), str(len(accs))]
        text += [f"{a} {l}" for a, l in accs]
        want += [_reference_requant(kind, p, a, l) for a, l in accs]
    proc = subprocess.run([str(exe)], input="\n".join(text), capture_output=True, text=True, check=True)
    got = [int(x) for x in proc.stdout.split()]
    assert len(got) == len(want) > 5000
    bad = [(i, g, w) for i, (g, w) in enumerate(zip(got, want)) if g != w]
    assert not bad, f"{len(bad)} of {len(want)} requantized codes differ, first: {bad[:5]}"


@pytest.mark.parametrize("builder, options", [("smooth_activations", {"budget": TINY}),
                                              ("stride2_7x7", {"tiling": SMALL_TILES, "output": "argmax"})])
def test_synthesis_branch_type_checks_with_clang(tf, save_model, tmp_path, builder, options):
    """clang is the front end of Vitis HLS: the synthesis branch of the
    project (firmware and testbench) must compile with it as with g++, and
    the engine must raise no warning under -Wall -Wextra."""
    import shutil
    import subprocess
    from hlsgen.sim.headers import ap_headers_dir
    clang = shutil.which("clang++")
    if clang is None:
        pytest.skip("clang++ not installed (Debian: apt-get install clang)")
    tf.keras.utils.set_random_seed(1)
    path = save_model(cm.randomize_bn(getattr(cm, builder)(tf)), builder + ".h5")
    gen, _ = generate_tiled(str(path), tmp_path / builder, n_vectors=2, **options)
    name = gen.out.name
    for src in (gen.out / "firmware" / f"{name}.cpp", gen.out / "tb" / f"{name}_tb.cpp"):
        proc = subprocess.run([clang, "-std=c++14", "-fsyntax-only", "-Wall", "-Wextra",
                               "-Wno-unknown-pragmas", "-DHLSGEN_SYNTHESIS",
                               "-iquote", str(gen.out / "firmware"), "-I", str(ap_headers_dir()),
                               str(src)], capture_output=True, text=True)
        assert proc.returncode == 0, proc.stderr[-3000:]
        assert "hlsgen_tiled.h" not in proc.stderr, proc.stderr[-3000:]
