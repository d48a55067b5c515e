"""The grid of the model's input preprocessing (a frontend's affine float
operations on the input, e.g. (x + 1) / 2), once the input type is known.

Every input code is run through the framework's own float32 operations and,
alongside, through the same operations in exact rational arithmetic. The
preprocessing is accepted when every step's exact result is a fixed-point
number and float32 computes it without rounding; its output grid is then the
smallest binary point holding every result, and the requantization that
follows maps input codes to those codes exactly. Anything else is refused
naming the step: the hardware would compute a value the framework does not.
"""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir.qtype import QType, type_for_range

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


def _common_shift(ints: np.ndarray, frac: int) -> int:
    """How many trailing binary zeros every code has (at most frac): the
    binary places the grid does not need."""
    g = math.gcd(*(int(v) for v in ints.flat))
    tz = (g & -g).bit_length() - 1 if g else frac
    return max(0, min(frac, tz))


def _dyadic_bits(v: Fraction) -> int | None:
    """f with v * 2**f an integer (v's denominator is 2**f), else None."""
    d = v.denominator
    return d.bit_length() - 1 if d & (d - 1) == 0 else None


def _affine(ints: np.ndarray, frac: int, s: dict, channels: int, qt: QType, x: np.ndarray):
    """Exact codes a*v + b of exact codes v = ints * 2**-frac, on the
    smallest binary point holding them; refused when a or b is not a
    fixed-point number (then neither is some result)."""
    a, b = (np.broadcast_to(t, (channels,)) for t in s["affine"])
    fa, fb = [_dyadic_bits(v) for v in a], [_dyadic_bits(v) for v in b]
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
