"""Float operations proven exact on their operands' grids, made integer.

A frontend leaves float operations that no quantizer follows as a chain of
steps, each the framework's own function with its exact affine form a*x + b
(constant Add/Sub/Mul/Div, a residual scale, a float bias) or a ReLU. Once
the passes know the codes the chain starts from, this module proves the
framework's float32 arithmetic exact on them, or refuses naming the step:

- input_grid: the model's input preprocessing (e.g. (x + 1) / 2) on the
  declared input type: every input code runs through the framework's float32
  operations and, alongside, through the same operations in exact rational
  arithmetic; the requantization that follows maps input codes to the exact
  results' codes.
- chain_requant: a chain on any tensor whose code bounds the passes know
  (an accumulator, a sum), however wide: per channel the chain composes to
  clamp(A*code + B, L, H) with exact dyadic A, B, L, H (gen/ir/dyadic.py);
  every step's results lie between its values at the two ends of the range,
  on a grid 2**-f, so float32 computes each exactly when those ends fit its
  24-bit significand. The framework's own functions are then checked on
  sampled codes, and the chain becomes one integer multiply-add per channel
  (the multiplier form of requantization, without rounding).
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir.dyadic import fits_float32, frac_bits
from hlsgen.ir.qtype import QType, type_for_range
from hlsgen.passes.requant import (FULL_EVAL_LIMIT, MULTIPLY_MAX_BITS, derive_requant,
                                   multiply_width, signed_bits)

MAX_CODES = 1 << 16   # input codes per channel evaluated one by one
MAX_BITS = 32         # the preprocessed codes, as wide as an input type may be


def input_grid(steps: list, qt: QType, channels: int) -> tuple[int, int, int]:
    """(frac, lo, hi) of the preprocessed codes of input type qt; steps are
    the frontend's {"name", "kind", "run", "affine": (a, b) or None (ReLU)},
    channels the columns `run` takes (1 when no constant is per channel)."""
    n = qt.hi - qt.lo + 1
    if n > MAX_CODES:
        s = steps[0]
        raise HlsgenError(f"'{s['name']}' ({s['kind']}) preprocesses the model's input, which "
                          f"hlsgen evaluates on every code of the input type {qt.fixed_name}: "
                          f"{n} codes, more than {MAX_CODES}; declare an input type of at most "
                          "16 bits (--input-type) or put a quantizer after it")
    codes = np.arange(qt.lo, qt.hi + 1, dtype=np.int64)
    x = np.repeat(qt.values(codes)[:, None], channels, 1).astype(np.float32)
    ints = np.repeat(qt.arith(codes).astype(object)[:, None], channels, 1)
    frac = 0 if qt.bipolar else qt.frac
    y = x
    for s in steps:
        y = np.asarray(s["run"](y), np.float32).reshape(x.shape)
        if s["affine"] is None:
            ints = np.maximum(ints, 0)
        else:
            ints, frac = _affine(ints, frac, s, channels, qt, x)
        _same_as_float32(y, ints, frac, s, qt, x)
    shift = _common_shift(ints, frac)
    frac, lo, hi = frac - shift, int(ints.min()) >> shift, int(ints.max()) >> shift
    bits = type_for_range(min(lo, 0), max(hi, 0), frac).bits
    if bits > MAX_BITS:
        s = steps[-1]
        raise HlsgenError(f"'{s['name']}' ({s['kind']}) preprocesses the model's input into values "
                          f"that need {bits}-bit codes on the input type {qt.fixed_name}, more than "
                          f"{MAX_BITS}; declare a narrower input type (--input-type) or put a "
                          "quantizer after it")
    return frac, lo, hi


def _common_shift(ints, frac: int) -> int:
    """How many trailing binary zeros every code has (at most frac): the
    binary places the grid does not need."""
    g = math.gcd(*(int(v) for v in np.ravel(ints) if v is not None))
    tz = (g & -g).bit_length() - 1 if g else frac
    return max(0, min(frac, tz))


def _affine(ints: np.ndarray, frac: int, s: dict, channels: int, qt: QType, x: np.ndarray):
    """Exact codes a*v + b of exact codes v = ints * 2**-frac, on the
    smallest binary point holding them; refused when a or b is not a
    fixed-point number (then neither is some result)."""
    a, b = (np.broadcast_to(t, (channels,)) for t in s["affine"])
    fa, fb = [frac_bits(v) for v in a], [frac_bits(v) for v in b]
    if None in fa or None in fb:
        c = (fa + fb).index(None) % channels
        k = int(np.argmax([v != 0 for v in ints[:, c]])) if None in fa else 0
        exact = a[c] * Fraction(int(ints[k, c])) / Fraction(2)**frac + b[c]
        raise HlsgenError(f"'{s['name']}' ({s['kind']}) preprocesses the model's input into values "
                          f"that are not fixed-point numbers on the input type {qt.fixed_name} "
                          f"(input {float(x[k, c]):g} gives {exact}); hlsgen takes preprocessing "
                          "that is exact on the input's grid: put a quantizer after it (Brevitas: "
                          "QuantIdentity) or use power-of-two constants")
    new = max(frac + max(fa), max(fb))
    am = np.array([int(v * Fraction(2)**(new - frac)) for v in a], dtype=object)
    bm = np.array([int(v * Fraction(2)**new) for v in b], dtype=object)
    return ints * am + bm, new


def _same_as_float32(y: np.ndarray, ints: np.ndarray, frac: int, s: dict, qt: QType,
                     x: np.ndarray) -> None:
    """The framework's float32 results equal the exact ones (Python compares
    floats and integers exactly)."""
    scaled = (y.astype(np.float64) * 2.0**frac).astype(object)
    same = np.array([u == v for u, v in zip(scaled.flat, ints.flat)]).reshape(y.shape)
    if not same.all():
        k, c = np.argwhere(~same)[0]
        raise HlsgenError(f"'{s['name']}' ({s['kind']}) preprocesses the model's input in float32, "
                          f"which rounds on the input type {qt.fixed_name} (input "
                          f"{float(x[k, c]):g} gives {float(y[k, c]):.9g}, exactly "
                          f"{Fraction(int(ints[k, c])) / Fraction(2)**frac}); "
                          "put a quantizer after it (Brevitas: QuantIdentity) or declare a "
                          "narrower input type (--input-type)")


CHAIN_SAMPLES = 1024   # codes per channel on which the framework's functions are checked
MAX_LEVELS = 256       # output codes per channel a chain may take as thresholds
FIX = ("add a quantizer after it (Brevitas: QuantIdentity, QuantReLU instead of nn.ReLU, or "
       "bias_quant=Int32Bias for a float bias)")


def chain_requant(steps: list, qt: QType, lo: int, hi: int, channels: int, where: str,
                  consumer: str = "the next layer") -> tuple[dict, np.ndarray | None,
                                                          tuple[int, int, int]]:
    """(requantization attrs, its thresholds or None, (frac, lo, hi) of the
    result) of the chain `steps` ({"name", "kind", "run", "affine": (a, b)
    per channel, exact rationals, or None for a ReLU}) on codes lo..hi of
    type qt; `channels` the columns `run` takes (1 when no constant is per
    channel); `consumer` what reads the result, for messages."""
    if qt.bipolar:   # codes 0/1 stand for -1/+1
        A, B = [Fraction(2)] * channels, [Fraction(-1)] * channels
    else:
        A, B = [Fraction(1, 1 << qt.frac) if qt.frac >= 0 else Fraction(1 << -qt.frac)] * channels, \
            [Fraction(0)] * channels
    L, H = [None] * channels, [None] * channels
    _check_fits(steps[0], A, B, L, H, lo, hi, "its input", consumer)
    for s in steps:
        if s["affine"] is None:                      # ReLU: max(y, 0) clamps below
            L = [Fraction(0) if l is None else max(l, Fraction(0)) for l in L]
            H = [None if h is None else max(h, Fraction(0)) for h in H]
        else:
            a, b = (np.broadcast_to(np.asarray(t, dtype=object), (channels,)) for t in s["affine"])
            A, B, L, H = _compose(A, B, L, H, a, b)
        _check_fits(s, A, B, L, H, lo, hi, "its result", consumer)
    frac = max(_grid_bits(v) for v in list(A) + list(B) + [v for v in L + H if v is not None])
    ints = [[None if v is None else int(v * 2**frac) for v in row] for row in (A, B, L, H)]
    frac, ints = _trim(frac, ints)
    m, b, lows, highs = ints
    _check_framework(steps, qt, lo, hi, m, b, lows, highs, frac)
    rq, grid = _multiply_form(steps[-1], m, b, lows, highs, lo, hi, frac, where)
    if rq is not None:
        return rq, None, grid
    # A ReLU clamps the channels at different values, which the multiplier
    # form's shared clamp cannot: per-channel thresholds of the (proven
    # exact, monotonic) function, where the range is small enough to step.
    if qt.bipolar or (hi - lo + 1) * channels > FULL_EVAL_LIMIT or grid[2] - grid[1] > MAX_LEVELS:
        s = steps[-1]
        raise HlsgenError(f"'{s['name']}' ({s['kind']}) clamps each channel at a different "
                          f"value after its float operations (a ReLU before a per-channel "
                          f"constant), over {grid[2] - grid[1] + 1} output codes, more than the "
                          f"{MAX_LEVELS} hlsgen steps per channel, and its output reaches "
                          f"{consumer} without a quantizer; {FIX}")

    def fn(v):
        y = np.asarray(v, np.float32)
        for st in steps:
            y = np.asarray(st["run"](y), np.float32).reshape(v.shape)
        return y
    rq, thr = derive_requant(fn, qt.frac, lo, hi, grid, where, channels)
    return rq, thr, grid


def _compose(A, B, L, H, a, b):
    """a * clamp(A*x + B, L, H) + b as clamp(A'*x + B', L', H'), per channel."""
    A2, B2, L2, H2 = [], [], [], []
    for c in range(len(A)):
        ac, bc = Fraction(a[c]), Fraction(b[c])
        lo_img = None if L[c] is None else ac * L[c] + bc
        hi_img = None if H[c] is None else ac * H[c] + bc
        if ac < 0:
            lo_img, hi_img = hi_img, lo_img
        A2.append(ac * A[c])
        B2.append(ac * B[c] + bc)
        L2.append(lo_img)
        H2.append(hi_img)
    return A2, B2, L2, H2


def _ends(A, B, L, H, lo: int, hi: int, c: int) -> tuple[Fraction, Fraction]:
    """The smallest and largest value of clamp(A*x + B, L, H) over codes lo..hi."""
    vals = [A[c] * lo + B[c], A[c] * hi + B[c]]
    vals = [v if L[c] is None else max(v, L[c]) for v in vals]
    vals = [v if H[c] is None else min(v, H[c]) for v in vals]
    return min(vals), max(vals)


def _grid_bits(v: Fraction) -> int:
    f = frac_bits(v)
    return 0 if f is None else f


def _check_fits(s: dict, A, B, L, H, lo: int, hi: int, what: str, consumer: str) -> None:
    """Every value the step computes is a fixed-point number that float32
    holds, so the framework's float32 arithmetic computes it exactly."""
    for c in range(len(A)):
        consts = [A[c], B[c]] + [v for v in (L[c], H[c]) if v is not None]
        if any(frac_bits(v) is None for v in consts):
            raise HlsgenError(f"'{s['name']}' ({s['kind']}) computes in floating point values "
                              "that are not fixed-point numbers (a constant is not a binary "
                              f"fraction), and its output reaches {consumer} without a "
                              f"quantizer; {FIX}, or use constants such as 0.75 or 2")
        f = max(frac_bits(v) for v in consts)
        big = max(abs(v) for v in _ends(A, B, L, H, lo, hi, c)) * 2**f
        if not fits_float32(int(big), f):
            raise HlsgenError(f"'{s['name']}' ({s['kind']}) computes in floating point: {what} on "
                              f"the codes {lo}..{hi} needs {int(big).bit_length()} significant "
                              "bits, so float32 rounds it (24 bits), and its output reaches "
                              f"{consumer} without a quantizer; {FIX}")


def _trim(frac: int, ints: list) -> tuple[int, list]:
    """Without the binary places every integer has as trailing zeros."""
    t = _common_shift(np.array([v for row in ints for v in row], dtype=object), frac)
    return frac - t, [[None if v is None else v >> t for v in row] for row in ints]


def _check_framework(steps, qt: QType, lo: int, hi: int, m, b, lows, highs, frac: int) -> None:
    """The framework's own functions give the proven values on the range's
    ends and on evenly spaced codes between (the proof assumes IEEE float32
    operations; this checks the framework performs them)."""
    codes = np.unique(np.linspace(lo, hi, min(CHAIN_SAMPLES, hi - lo + 1)).round().astype(np.int64))
    channels = len(m)
    x = np.repeat(qt.values(codes)[:, None], channels, 1).astype(np.float32)
    y = x
    for s in steps:
        y = np.asarray(s["run"](y), np.float32).reshape(x.shape)
    for c in range(channels):
        want = [(m[c] * int(k) + b[c]) for k in codes]
        want = [v if lows[c] is None else max(v, lows[c]) for v in want]
        want = [v if highs[c] is None else min(v, highs[c]) for v in want]
        got = (y[:, c].astype(np.float64) * 2.0**frac)
        bad = [i for i, (u, v) in enumerate(zip(got, want)) if u != v]
        if bad:
            i, s = bad[0], steps[-1]
            raise HlsgenError(f"'{s['name']}' ({s['kind']}): the framework computes "
                              f"{float(y[i, c]):.9g} for input {float(x[i, c]):g}, where the exact "
                              f"value is {Fraction(int(want[i]), 1 << frac)}, and no quantizer "
                              f"follows it; {FIX}")


def _multiply_form(s: dict, m, b, lows, highs, lo: int, hi: int, frac: int,
                   where: str) -> tuple[dict | None, tuple[int, int, int]]:
    """clamp(code * m[ch] + b[ch], lo, hi): the multiplier requantization
    without shift or exceptions; None when a ReLU clamps the channels at
    different values (the form's clamps are shared by every channel)."""
    def clamp(v, c):
        v = v if lows[c] is None else max(v, lows[c])
        return v if highs[c] is None else min(v, highs[c])
    ends = [sorted((m[c] * lo + b[c], m[c] * hi + b[c])) for c in range(len(m))]
    clamped = [(clamp(e[0], c), clamp(e[1], c)) for c, e in enumerate(ends)]
    out_lo, out_hi = min(v[0] for v in clamped), max(v[1] for v in clamped)
    for c, e in enumerate(ends):
        if (lows[c] is not None and e[0] < lows[c] != out_lo) or (
                highs[c] is not None and e[1] > highs[c] != out_hi):
            return None, (frac, int(out_lo), int(out_hi))
    if len(set(m)) == 1 and len(set(b)) == 1:
        m, b = m[:1], b[:1]
    rq = {"kind": "multiply", "shift": 0, "lo": int(out_lo), "hi": int(out_hi),
          "m": [int(v) for v in m], "b": [int(v) for v in b], "x": [[] for _ in m],
          "y": [[] for _ in m], "exceptions": 0,
          "m_bits": max(signed_bits(v, v) for v in m), "b_bits": max(signed_bits(v, v) for v in b)}
    width = multiply_width(rq, lo, hi)
    if width > MULTIPLY_MAX_BITS:
        raise HlsgenError(f"{where}: its exact float operations need a {width}-bit multiply-add "
                          f"(at most {MULTIPLY_MAX_BITS}); put a quantizer after "
                          f"'{s['name']}' (Brevitas: QuantIdentity)")
    return rq, (frac, int(out_lo), int(out_hi))
