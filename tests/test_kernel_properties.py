"""Kernel property tests: every requantization functor of hlsgen_requant.h (the
multiplier form RequantMultiply included) and
every dot product of hlsgen_mvu.h, over every accumulator code (every
combination of input lanes for small widths), compiled with and without
HLSGEN_SYNTHESIS: synthesis branch == C-simulation branch == golden
(gen/ir/intmath.py apply_requant, gen/ir/intmath.py exact_matmul).
Dot products run as whole matrix-vector units (C simulation: over packed
words, hlsgen_packed.h; synthesis: lane by lane), on every combination of
lanes where they are few and on random lengths that are not multiples of
64, every code width 1-8, signed, unsigned and bipolar.

Parameter sets are drawn by hypothesis and batched: one generated translation
unit (tests/kernels/harness.h + a call per set) is compiled once per branch,
so an example costs two g++ runs whatever its number of sets."""

from __future__ import annotations

import itertools
import re
import shutil
import subprocess
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from hypothesis import HealthCheck, Phase, given, settings
from hypothesis import strategies as st

from conftest import assert_exact, randomize_biases
from hlsgen.ir.intmath import exact_matmul
from hlsgen.ir.intmath import ROUND_MODES, apply_requant, shift_round
from hlsgen.ir.qtype import QType, type_for_range
from hlsgen.arch.dataflow.render import KERNEL_LIB
from hlsgen.sim.compile import CXXFLAGS, SYNTHESIS_FLAGS
from hlsgen.sim.headers import ap_headers_dir

HARNESS = Path(__file__).resolve().parent / "kernels"
MAX_OUT_BITS = 62           # golden codes are int64
MAX_DOT_OUTPUTS = 1 << 13   # lane combinations evaluated exhaustively up to this


@dataclass(repr=False)
class Case:
    """One parameter set: C++ declarations and the harness call, the codes
    it reads from stdin and the golden results it must write."""
    label: str
    decl: str
    call: str
    inputs: np.ndarray
    golden: np.ndarray

    def __repr__(self) -> str:
        return self.label


def codes_of(t: QType) -> np.ndarray:
    return np.arange(t.lo, t.hi + 1, dtype=np.int64)


def out_type(values: np.ndarray, extra_bits: int = 0, at_least: QType | None = None) -> QType:
    """The narrowest type holding the golden results (and at_least's range),
    widened by extra_bits."""
    lo, hi = int(values.min()), int(values.max())
    if at_least is not None:
        lo, hi = min(lo, at_least.lo), max(hi, at_least.hi)
    t = type_for_range(lo, hi, 0)
    return QType(min(t.bits + extra_bits, MAX_OUT_BITS), t.signed, 0)


def cpp_list(a) -> str:
    a = np.asarray(a)
    if a.ndim == 1:
        return "{" + ", ".join(f"{int(v)}LL" for v in a) + "}"
    return "{" + ", ".join(cpp_list(r) for r in a) + "}"


def requant_case(i: int, label: str, acc: QType, rq: dict, table, cpp_rq: str, init: str | None,
                 channels: int) -> Case:
    """A functor evaluated on every code of acc on each channel."""
    codes = codes_of(acc)
    gold = apply_requant(np.repeat(codes[:, None], channels, axis=1), rq, table)  # [codes, CH]
    name = f"rq{i}"
    decl = f"typedef {cpp_rq} {name}_t;\n"
    decl += f"static const {name}_t {name} = {init};\n" if init else f"static const {name}_t {name} = {name}_t();\n"
    return Case(f"#{i} {label}", decl, f"harness::requant<{acc.cpp}>(io, {name}, {channels});",
                np.concatenate([[len(codes)], codes]), gold.T.ravel())


def identity_case(i, acc: QType, extra_bits: int) -> Case:
    rq = {"kind": "identity"}
    out = out_type(apply_requant(codes_of(acc), rq, None), extra_bits)
    return requant_case(i, f"identity {acc.cpp} -> {out.cpp}", acc, rq, None,
                        f"hlsgen::RequantIdentity<{acc.cpp}, {out.cpp}>", None, 1)


def shift_case(i, acc: QType, shift: int, mode: str, lo, hi, extra_bits: int = 0,
               grid: QType | None = None) -> Case:
    rq = {"kind": "shift", "shift": shift, "round": mode, "lo": lo, "hi": hi}
    out = out_type(apply_requant(codes_of(acc), rq, None), extra_bits, grid)
    cpp = (f"hlsgen::RequantShift<{acc.cpp}, {out.cpp}, {shift}, hlsgen::ROUND_{mode.upper()}, "
           f"{'true' if lo is not None else 'false'}, {lo or 0}LL, "
           f"{'true' if hi is not None else 'false'}, {hi or 0}LL>")
    return requant_case(i, f"shift {acc.cpp} -> {out.cpp} shift {shift} {mode} lo {lo} hi {hi}",
                        acc, rq, None, cpp, None, 1)


def thresholds_case(i, acc: QType, thr: np.ndarray, base: int, neg, lanes: int) -> Case:
    ch, nt = thr.shape
    rq = {"kind": "thresholds", "base": base}
    if neg is not None:
        rq["negate"] = list(neg)
    out = type_for_range(base, base + nt, 0)
    cpp = (f"hlsgen::RequantThresholds<{acc.cpp}, {out.cpp}, {ch}, {nt}, {base}LL, "
           f"{'true' if neg is not None else 'false'}, {lanes}>")
    init = "{" + cpp_list(thr) + ", " + cpp_list(neg if neg is not None else [0] * ch) + "}"
    return requant_case(i, f"thresholds {acc.cpp} CH {ch} NT {nt} base {base} neg {neg} lanes {lanes}",
                        acc, rq, thr, cpp, init, ch)


def _bits(values) -> int:
    """Bits of the narrowest signed type holding every value."""
    return max(type_for_range(min(int(v), -1), max(int(v), 0), 0).bits for v in values)


def multiply_case(i, acc: QType, m, b, shift: int, lo: int, hi: int, x, y, lanes: int) -> Case:
    """RequantMultiply: clamp(floor((acc * m + b) * 2^-shift), lo, hi), out =
    y where acc == x (x, y: [CH][NX], NX may be 0)."""
    ch, nx = len(m), len(x[0])
    rq = {"kind": "multiply", "shift": shift, "lo": lo, "hi": hi, "m": list(m), "b": list(b),
          "x": [list(r) for r in x], "y": [list(r) for r in y]}
    gold = apply_requant(np.repeat(codes_of(acc)[:, None], ch, axis=1), rq, None)
    out = out_type(np.concatenate([gold.ravel(), np.ravel(y) if nx else []]))
    mb, bb = _bits(m), _bits(b)
    cpp = (f"hlsgen::RequantMultiply<{acc.cpp}, {out.cpp}, {ch}, {mb}, {bb}, {shift}, {lo}LL, {hi}LL, "
           f"{nx}, {lanes}>")
    pad = [[0]] * ch
    init = "{" + ", ".join(cpp_list(a) for a in (m, b, x if nx else pad, y if nx else pad)) + "}"
    return requant_case(i, f"multiply {acc.cpp} -> {out.cpp} CH {ch} m {mb}b b {bb}b shift {shift} "
                           f"[{lo}, {hi}] NX {nx} lanes {lanes}", acc, rq, None, cpp, init, ch)


def lut_case(i, acc: QType, out: QType, channels: int, seed: int) -> Case:
    codes = codes_of(acc)
    table = np.random.default_rng(seed).integers(out.lo, out.hi + 1, (channels, len(codes)))
    rq = {"kind": "lut", "in_lo": acc.lo, "entries": len(codes)}
    cpp = f"hlsgen::RequantLUT<{acc.cpp}, {out.cpp}, {channels}, {len(codes)}, {acc.lo}LL>"
    return requant_case(i, f"lut {acc.cpp} -> {out.cpp} CH {channels}", acc, rq, table, cpp,
                        "{" + cpp_list(table) + "}", channels)


DOTS = {"int": "hlsgen::DotInt", "bipolar_weights": "hlsgen::DotBipolarWeights",
        "bipolar_inputs": "hlsgen::DotBipolarInputs", "xnor": "hlsgen::DotXnor"}


def lane_vectors(t: QType, simd: int, limit: int, rng) -> np.ndarray:
    """Every vector of simd lanes of t's codes, or (beyond limit) the two
    extreme vectors and random ones."""
    codes = codes_of(t)
    if len(codes) ** simd <= limit:
        return np.array(list(itertools.product(codes, repeat=simd)), dtype=np.int64).reshape(-1, simd)
    rand = rng.choice(codes, (limit - 2, simd))
    return np.concatenate([np.full((1, simd), t.lo), np.full((1, simd), t.hi), rand])


def mvu_case(i, kind: str, tw: QType, tin: QType, w: np.ndarray, x: np.ndarray, simd: int, pe: int,
             extra_bits: int, bias: np.ndarray, label: str) -> Case:
    """The matrix-vector unit with weight rows w [MH, MW] and biases on the
    input vectors x [NX, MW], folded onto PE x SIMD; the accumulator sized
    from value bounds (as the generator does), extra_bits wider."""
    (mh, mw), nx = w.shape, len(x)
    corners = [a * b for a in tw.arith(np.array([tw.lo, tw.hi])) for b in tin.arith(np.array([tin.lo, tin.hi]))]
    acc = type_for_range(mw * min(corners) + min(int(bias.min()), 0), mw * max(corners) + max(int(bias.max()), 0), 0)
    acc = QType(acc.bits + extra_bits, acc.signed, 0)
    gold = exact_matmul(tin.arith(x), tw.arith(w).T) + bias   # [NX, MH]: a dense layer on NX inputs
    call = f"harness::mvu<{mw}, {mh}, {simd}, {pe}, {nx}, {DOTS[kind]}, {tw.cpp}, {tin.cpp}, {acc.cpp}>(io);"
    return Case(f"#{i} {label} {kind} {tw.cpp} x {tin.cpp} MW {mw} MH {mh} SIMD {simd} PE {pe} acc {acc.cpp}",
                "", call, np.concatenate([w.ravel(), bias, x.ravel()]), gold.ravel())


def dot_case(i, kind: str, tw: QType, tin: QType, simd: int, extra_bits: int, seed: int) -> Case:
    """One fold of SIMD lanes (MW = SIMD): every combination of lanes where
    they are few, as rows and input vectors; no bias."""
    rng = np.random.default_rng(seed)
    # Split the output budget between weight and input vectors.
    w = lane_vectors(tw, simd, int(np.sqrt(MAX_DOT_OUTPUTS)) * 2, rng)
    x = lane_vectors(tin, simd, max(2, MAX_DOT_OUTPUTS // len(w)), rng)
    pe = max(d for d in (1, 2, 3, 4) if len(w) % d == 0)
    return mvu_case(i, kind, tw, tin, w, x, simd, pe, extra_bits, np.zeros(len(w), np.int64), "dot")


def packed_case(i, kind: str, tw: QType, tin: QType, mw: int, simd: int, mh: int, pe: int, nx: int,
                extra_bits: int, seed: int) -> Case:
    """Random rows and inputs of length MW (the packed forms of C simulation
    span several 64-bit words, the last one partly), the extremes included."""
    rng = np.random.default_rng(seed)
    w = rng.integers(tw.lo, tw.hi + 1, (mh, mw))
    x = rng.integers(tin.lo, tin.hi + 1, (nx, mw))
    w[0], x[0] = tw.lo, tin.lo
    w[-1], x[-1] = tw.hi, tin.hi
    return mvu_case(i, kind, tw, tin, w, x, simd, pe, extra_bits, rng.integers(-8, 9, mh), "packed")


def kind_of(tw: QType, tin: QType) -> str:
    return {(True, True): "xnor", (True, False): "bipolar_weights",
            (False, True): "bipolar_inputs", (False, False): "int"}[(tw.bipolar, tin.bipolar)]


def width_sweep() -> list:
    """Every code width 1-8, signed and unsigned, against integer and bipolar
    partners, on lengths that are not multiples of 64: bit-plane and native
    forms alike (the form changes at PLANAR_PAIRS plane pairs)."""
    bip = QType.make_bipolar()
    makers = []
    for bits in range(1, 9):
        s, u = QType(bits, True, 0), QType(bits, False, 0)
        other = QType(9 - bits, bits % 2 == 0, 0)
        for j, (tw, tin) in enumerate([(s, u), (u, s), (s, other), (bip, s), (u, bip)]):
            mw = 67 + 29 * bits + 7 * j                    # 1 to 4 words, never a multiple of 64
            simd = max(d for d in range(1, 17) if mw % d == 0)
            makers.append(lambda i, tw=tw, tin=tin, mw=mw, simd=simd, seed=bits * 10 + j:
                          packed_case(i, kind_of(tw, tin), tw, tin, mw, simd, 6, 3, 5, 0, seed))
    makers.append(lambda i: packed_case(i, "xnor", bip, bip, 1000, 8, 4, 2, 4, 0, 99))
    return makers


# ---- fixed extremes: always in the batch ---------------------------------

def extreme_cases() -> list[Case]:
    s8, u4, s4, s1, u1 = QType(8, True, 0), QType(4, False, 0), QType(4, True, 0), QType(1, True, 0), QType(1, False, 0)
    g16 = QType(16, True, 0)
    cases = [
        # The issue-14 case: a narrow accumulator into quantized_bits(16,6)'s grid.
        lambda i: shift_case(i, s8, -3, "half_even", g16.lo, g16.hi, grid=g16),
        lambda i: shift_case(i, s8, 2, "half_even", g16.lo, g16.hi, grid=g16),
        lambda i: shift_case(i, u4, 0, "floor", -(1 << 40), (1 << 40) - 1),
        lambda i: shift_case(i, s8, 0, "half_up", -5, 9),                      # shift 0, reachable clamps
        lambda i: shift_case(i, s8, 8, "half_even", -1, 0),                    # shift == accumulator width
        lambda i: shift_case(i, s8, 9, "half_up", None, None),
        lambda i: shift_case(i, s8, 40, "half_even", -3, 3),                   # far beyond the width
        lambda i: shift_case(i, s8, 63, "floor", None, None),                  # C simulation's ap_int path
        lambda i: shift_case(i, s8, 62, "half_up", -(1 << 61), (1 << 61) - 1),
        lambda i: shift_case(i, s4, -24, "floor", None, (1 << 20) + 3),        # left shift, clamp reached
        lambda i: shift_case(i, s4, -30, "floor", -(1 << 33), None),
        lambda i: shift_case(i, s1, 1, "half_even", 0, 0),
        lambda i: shift_case(i, u1, 3, "half_up", 5, 7),                       # every code clamps up
        lambda i: shift_case(i, QType(12, True, 0), 4, "half_even", -100, 100),
        lambda i: identity_case(i, u1, 0),
        lambda i: identity_case(i, s8, 30),
        lambda i: identity_case(i, u4, 3),
        lambda i: thresholds_case(i, s4, np.array([[-32, -8, 0, 7, 31]]), 0, None, 1),
        lambda i: thresholds_case(i, s4, np.array([[-3, 2], [0, 0], [-32, 31]]), -1, [True, False, True], 3),
        lambda i: thresholds_case(i, u4, np.array([[0, 5, 15, 16], [-1, 1, 2, 9]]), 4, [True, True], 1),
        # The multiplier form: a batch-norm-like line into a 12-bit grid with
        # exceptions; negative m; m = 0; unsigned and 1-bit accumulators; a
        # product beyond 62 bits (ap_int arithmetic in C simulation too);
        # the largest shift; clamps at the 62-bit extremes.
        lambda i: multiply_case(i, QType(12, True, 0), [12345, -20001, 7], [3 << 20, 5 << 20, -(1 << 10)],
                                20, 0, 4095, [[-2048, 5, 2047], [0, 0, 0], [1, -1, 1]],
                                [[4095, 0, 17], [9, 9, 9], [4095, 0, 1]], 3),
        lambda i: multiply_case(i, u4, [0], [-(1 << 40)], 41, -1, 1, [[]], [[]], 1),
        # The largest product plus the largest bias: the carry bit is needed.
        lambda i: multiply_case(i, s4, [-8], [127], 0, -1000, 150, [[]], [[]], 1),
        lambda i: multiply_case(i, s1, [-(1 << 50)], [(1 << 50) - 1], 0, -(1 << 62), (1 << 62) - 1,
                                [[0]], [[-5]], 1),
        lambda i: multiply_case(i, u1, [3, -3], [0, 1], 1, -1, 1, [[]] * 2, [[]] * 2, 2),
        lambda i: multiply_case(i, QType(12, True, 0), [(1 << 54) - 1, -(1 << 54)], [-(1 << 61), 1 << 60], 61,
                                -(1 << 40), 1 << 40, [[-2048], [2047]], [[1 << 40], [-(1 << 40)]], 1),
        lambda i: multiply_case(i, QType(10, False, 0), [999, 1000, 1001, 1002], [0, 1, 2, 3], 7,
                                2, 200, [[1023, 0]] * 4, [[200, 2]] * 4, 2),
        lambda i: lut_case(i, s4, QType(3, True, 0), 1, 1),
        lambda i: lut_case(i, u1, QType(9, False, 0), 2, 2),
        lambda i: dot_case(i, "int", QType(3, True, 0), QType(3, True, 0), 2, 0, 3),
        lambda i: dot_case(i, "int", QType(2, False, 0), QType(4, True, 0), 2, 0, 4),
        lambda i: dot_case(i, "bipolar_weights", QType.make_bipolar(), QType(3, False, 0), 3, 0, 5),
        lambda i: dot_case(i, "bipolar_inputs", QType(2, True, 0), QType.make_bipolar(), 4, 0, 6),
        lambda i: dot_case(i, "xnor", QType.make_bipolar(), QType.make_bipolar(), 6, 0, 7),
        lambda i: dot_case(i, "xnor", QType.make_bipolar(), QType.make_bipolar(), 64, 0, 8),
        lambda i: dot_case(i, "int", QType(4, True, 0), QType(4, False, 0), 16, 0, 9),
    ] + width_sweep()
    return [make(i) for i, make in enumerate(cases)]


# ---- random parameter sets (hypothesis) ----------------------------------

acc_types = st.builds(lambda bits, signed: QType(bits, signed, 0), st.integers(1, 12), st.booleans())
modes = st.sampled_from(sorted(ROUND_MODES))


@st.composite
def shift_sets(draw, i):
    acc = draw(acc_types)
    shift = draw(st.one_of(st.just(0), st.integers(-24, -1), st.integers(1, acc.bits + 2),
                           st.integers(acc.bits, 63)))
    mode = draw(modes)
    qlo, qhi = (int(v) for v in shift_round(np.array([acc.lo, acc.hi]), shift, mode))
    grid = QType(draw(st.integers(1, 40)), draw(st.booleans()), 0)

    def bound(side):
        return draw(st.one_of(
            st.none(),
            st.just(grid.lo if side == "lo" else grid.hi),     # what the pass emits: the output grid
            st.integers(qlo, qhi),                             # reachable
            st.integers(-(1 << 44), qlo - 1),                  # below every code
            st.integers(qhi + 1, 1 << 44)))                    # above every code
    lo, hi = bound("lo"), bound("hi")
    if lo is not None and hi is not None and lo > hi:
        lo, hi = hi, lo
    return shift_case(i, acc, shift, mode, lo, hi, draw(st.integers(0, 3)))


@st.composite
def threshold_sets(draw, i):
    acc = QType(draw(st.integers(1, 10)), draw(st.booleans()), 0)
    ch, nt = draw(st.integers(1, 4)), draw(st.integers(1, 8))
    thr_lim = 1 << (acc.bits + 1)   # thresholds are 2 bits wider than the accumulator
    thr = np.sort(np.array(draw(st.lists(st.integers(-thr_lim, thr_lim - 1), min_size=ch * nt,
                                         max_size=ch * nt))).reshape(ch, nt), axis=1)
    neg = draw(st.one_of(st.none(), st.lists(st.booleans(), min_size=ch, max_size=ch)))
    return thresholds_case(i, acc, thr, draw(st.integers(-10, 10)), neg, draw(st.integers(1, ch)))


@st.composite
def multiply_sets(draw, i):
    acc = QType(draw(st.integers(1, 12)), draw(st.booleans()), 0)
    ch, nx = draw(st.integers(1, 4)), draw(st.integers(0, 3))
    mb, bb = draw(st.integers(1, 52)), draw(st.integers(1, 62))
    ints = lambda bits, n: draw(st.lists(st.integers(-(1 << (bits - 1)), (1 << (bits - 1)) - 1),
                                         min_size=n, max_size=n))
    m, b = ints(mb, ch), ints(bb, ch)
    shift = draw(st.one_of(st.integers(0, 8), st.integers(0, 61)))
    lo = draw(st.integers(-(1 << draw(st.integers(0, 62))), 0))
    hi = draw(st.integers(lo, max(lo, (1 << draw(st.integers(0, 62))) - 1)))
    x = [draw(st.lists(st.integers(acc.lo, acc.hi), min_size=nx, max_size=nx)) for _ in range(ch)]
    y = [draw(st.lists(st.integers(lo, hi), min_size=nx, max_size=nx)) for _ in range(ch)]
    return multiply_case(i, acc, m, b, shift, lo, hi, x, y, draw(st.integers(1, ch)))


@st.composite
def lut_sets(draw, i):
    acc = QType(draw(st.integers(1, 8)), draw(st.booleans()), 0)
    out = QType(draw(st.integers(1, 16)), draw(st.booleans()), 0)
    return lut_case(i, acc, out, draw(st.integers(1, 3)), draw(st.integers(0, 2**32 - 1)))


@st.composite
def identity_sets(draw, i):
    return identity_case(i, draw(acc_types), draw(st.integers(0, 8)))


@st.composite
def lane_types(draw, max_bits: int):
    """A kind of dot product and its weight and input lane types."""
    kind = draw(st.sampled_from(sorted(DOTS)))
    ints = st.builds(lambda bits, signed: QType(bits, signed, 0), st.integers(1, max_bits), st.booleans())
    bip = st.just(QType.make_bipolar())
    tw = draw(bip if kind in ("bipolar_weights", "xnor") else ints)
    tin = draw(bip if kind in ("bipolar_inputs", "xnor") else ints)
    return kind, tw, tin


@st.composite
def dot_sets(draw, i):
    kind, tw, tin = draw(lane_types(4))
    simd = draw(st.one_of(st.integers(1, 4), st.sampled_from([8, 16, 32])))
    return dot_case(i, kind, tw, tin, simd, draw(st.integers(0, 2)), draw(st.integers(0, 2**32 - 1)))


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@st.composite
def packed_sets(draw, i):
    """Random lengths, widths 1-8 (or bipolar), foldings."""
    kind, tw, tin = draw(lane_types(8))
    mw = draw(st.integers(1, 400))
    simd = draw(st.sampled_from([d for d in divisors(mw) if d * max(tw.bits, tin.bits) <= 512]))
    mh = draw(st.integers(1, 12))
    pe = draw(st.sampled_from(divisors(mh)))
    return packed_case(i, kind, tw, tin, mw, simd, mh, pe, draw(st.integers(1, 4)), draw(st.integers(0, 2)),
                       draw(st.integers(0, 2**32 - 1)))


# Sets per example, by kind.
BATCH = [(shift_sets, 32), (threshold_sets, 10), (multiply_sets, 10), (lut_sets, 5), (identity_sets, 5),
         (dot_sets, 16), (packed_sets, 12)]


@st.composite
def batches(draw):
    cases = []
    for strategy, n in BATCH:
        for _ in range(n):
            cases.append(draw(strategy(len(cases))))
    return cases


# ---- building and running -------------------------------------------------

def write_unit(cases: list[Case], path: Path) -> None:
    body = "\n".join(f"    {c.call}  // {c.label}" for c in cases)
    path.write_text('#include "harness.h"\n\n' + "".join(c.decl for c in cases)
                    + f"\nvoid run_cases(harness::Io &io) {{\n{body}\n}}\n")


def build_and_run(cases: list[Case], work: Path, lib: Path = KERNEL_LIB) -> dict[str, np.ndarray]:
    """Compiles the batch once per branch (in parallel) and runs it: the
    results of each branch, in case order."""
    work.mkdir(parents=True, exist_ok=True)
    write_unit(cases, work / "cases.cpp")
    stdin = np.concatenate([c.inputs for c in cases]).astype(np.int64).tobytes()
    # The product's flags (sim/compile.py), at -O1 for both branches: -O2
    # nearly doubles g++'s time on these many small instantiations.
    flags = {"csim": [f if f != "-O2" else "-O1" for f in CXXFLAGS], "synthesis": SYNTHESIS_FLAGS}

    def one(branch):
        exe = work / f"cases_{branch}"
        cc = subprocess.run(["g++", *flags[branch], "-I", str(HARNESS), "-I", str(lib), "-I", str(ap_headers_dir()),
                             str(work / "cases.cpp"), "-o", str(exe)], capture_output=True, text=True)
        assert cc.returncode == 0, f"{branch} branch does not compile:\n{cc.stderr[-3000:]}"
        run = subprocess.run([str(exe)], input=stdin, capture_output=True)
        assert run.returncode == 0, f"{branch} branch failed: {run.stderr.decode()[-2000:]}"
        return np.frombuffer(run.stdout, dtype=np.int64)

    branches = ("csim", "synthesis")
    with ThreadPoolExecutor(len(branches)) as pool:
        return dict(zip(branches, pool.map(one, branches)))


def differences(cases: list[Case], results: dict[str, np.ndarray]) -> list[str]:
    """One line per case and branch that differs from golden."""
    total = sum(len(c.golden) for c in cases)
    lines = []
    for branch, out in results.items():
        assert len(out) == total, f"{branch}: {len(out)} results for {total} golden codes"
        pos = 0
        for c in cases:
            got = out[pos:pos + len(c.golden)]
            pos += len(c.golden)
            bad = np.flatnonzero(got != c.golden)
            if len(bad):
                k = bad[0]
                lines.append(f"{branch}: {c.label}: {len(bad)}/{len(got)} differ "
                             f"(result {k}: {got[k]}, golden {c.golden[k]})")
    return lines


def check(cases: list[Case], work: Path) -> None:
    bad = differences(cases, build_and_run(cases, work))
    assert not bad, f"{len(bad)} parameter sets differ:\n" + "\n".join(bad)


def test_extremes_equal_golden_in_both_branches(tmp_path):
    cases = extreme_cases()
    check(cases, tmp_path)
    assert sum(len(c.golden) for c in cases) > 40_000


# hypothesis's first example is its simplest (every set minimal); the others are random.
@settings(max_examples=2, deadline=None, database=None, phases=[Phase.generate],
          suppress_health_check=list(HealthCheck))
@given(batches())
def test_random_sets_equal_golden_in_both_branches(tmp_path_factory, cases):
    assert len(cases) == sum(n for _, n in BATCH)
    check(cases, tmp_path_factory.mktemp("kernels"))


def test_the_property_test_catches_the_old_requant_shift_sizing(tmp_path):
    """The harness must be able to fail: with RequantShift's arithmetic type
    sized as before issue 14 (the accumulator's width + LSHIFT + 2, ignoring
    the clamp bounds and 2^RSHIFT), the synthesis branch differs on the fixed
    extremes while the C-simulation branch still equals golden."""
    lib = tmp_path / "lib"
    shutil.copytree(KERNEL_LIB, lib)
    header = lib / "hlsgen_requant.h"
    # RequantShift's WIDTH (its definition mentions LSHIFT; RequantMultiply's does not)
    text, n = re.subn(r"static const int WIDTH = [^;]*LSHIFT[^;]*;",
                      "static const int WIDTH = TAcc::width + LSHIFT + 2;", header.read_text())
    assert n == 1, "RequantShift's WIDTH definition changed; update this mutation"
    header.write_text(text)
    cases = [c for c in extreme_cases() if " shift " in c.label]
    bad = differences(cases, build_and_run(cases, tmp_path / "run", lib))
    assert bad and all(line.startswith("synthesis: ") for line in bad), bad
    assert any("ap_int<16>" in line for line in bad)  # the issue-14 case


def test_qdense_into_quantized_bits_16_6_synthesis_branch_exact(tf, save_model, gen_and_sim):
    """Issue 14's acceptance case: a 4-input QDense with 4-bit weights followed
    by quantized_bits(16,6), on 8-bit inputs: the accumulator is narrower than
    the output grid that bounds the clamp. Before the fix the synthesis branch
    was wrong on 999 of these 1000 outputs while C simulation passed."""
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(14)
    q = "quantized_bits(4,0,alpha=1)"
    inp = tf.keras.Input((4,))
    x = QDense(1, kernel_quantizer=q, bias_quantizer=q, name="d")(inp)
    x = QActivation("quantized_bits(16,6)", name="wide_out")(x)
    model = randomize_biases(tf.keras.Model(inp, x))
    gen, sim = gen_and_sim(save_model(model), n_vectors=1000, input_type="ap_fixed<8,1>")
    syn = sim.synthesis
    assert syn is not None and syn.frames == 1000 and syn.golden.size == 1000
    assert syn.mismatches == 0, f"synthesis branch: {syn.mismatches}/{syn.golden.size} outputs differ"
    assert np.array_equal(syn.out, sim.csim)
    assert_exact(sim)
    # Not vacuous: a shift requantization clamped to the 16-bit grid, from an
    # accumulator at least 3 bits narrower, and outputs that vary.
    acc = gen.graph.tensors["d_acc"]
    node = next(n for n in gen.graph.nodes if "requant" in n.attrs)
    assert node.attrs["requant"]["kind"] == "shift"
    assert (node.attrs["requant"]["lo"], node.attrs["requant"]["hi"]) == (-(1 << 15), (1 << 15) - 1)
    assert acc.qtype.bits + 2 < 16
    assert len(np.unique(syn.golden)) > 100 and np.any(syn.golden < 0) and np.any(syn.golden > 0)


def test_the_property_test_catches_an_undersized_multiplier_form(tmp_path):
    """RequantMultiply's arithmetic type needs the sign bit of an unsigned
    accumulator and the carry of product + bias: without either, the fixed
    extremes fail in the synthesis branch (C simulation computes natively)."""
    for name, pattern, mutant in [
            ("carry", r"static const int WIDTH = wider<ACC_BITS \+ M_BITS, B_BITS>::value \+ 1;",
             "static const int WIDTH = wider<ACC_BITS + M_BITS, B_BITS>::value;"),
            ("sign", r"\(is_signed_lane<TAcc>::value \? 0 : 1\)", "0")]:
        lib = tmp_path / name / "lib"
        shutil.copytree(KERNEL_LIB, lib)
        header = lib / "hlsgen_requant.h"
        text, n = re.subn(pattern, mutant, header.read_text())
        assert n == 1, f"RequantMultiply's sizing changed; update the {name} mutation"
        header.write_text(text)
        cases = [c for c in extreme_cases() if " multiply " in c.label]
        bad = differences(cases, build_and_run(cases, tmp_path / name / "run", lib))
        assert bad and all(line.startswith("synthesis: ") for line in bad), (name, bad)


def test_the_property_test_catches_packed_dot_product_defects(tmp_path):
    """The packed forms of C simulation can fail the width sweep: a last,
    partial 64-bit word left out, or a signed code's top plane counted as
    positive, makes the C-simulation branch differ while the synthesis
    branch (lane arithmetic) still equals golden."""
    cases = [make(i) for i, make in enumerate(width_sweep())]
    for name, pattern, mutant in [
            ("last word", r"static const unsigned WORDS = \(N \+ 63\) / 64;", "static const unsigned WORDS = N / 64;"),
            ("sign plane", r"\? -\(1LL << q\) :", "? (1LL << q) :")]:
        lib = tmp_path / name.replace(" ", "_") / "lib"
        shutil.copytree(KERNEL_LIB, lib)
        header = lib / "hlsgen_packed.h"
        text, n = re.subn(pattern, mutant, header.read_text())
        assert n == 1, f"hlsgen_packed.h changed; update the {name} mutation"
        header.write_text(text)
        bad = differences(cases, build_and_run(cases, lib.parent / "run", lib))
        assert bad and all(line.startswith("csim: ") for line in bad), (name, bad)
