"""Requantization from the framework's own functions, exactly.

A quantizer (possibly after per-channel float operations such as batch-norm,
folded into one function by the frontend) applied to an accumulator is, per
channel, a monotonic step function of the accumulator code. We find its steps
by evaluating the framework's function at every reachable code, or by
bisection when the range is large, then express it in the cheapest exact
integer form:
  shift: clamp(round(acc * 2**-s)) with the rounding mode it turns out to use;
  thresholds: base + #(acc >= t[ch][k]), which represents any monotonic
  step function, per channel.
The chosen form is checked against the framework function at every step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gen.errors import HlsgenError
from gen.intmath import shift_round

FULL_EVAL_LIMIT = 1 << 21
LUT_MAX_ENTRIES = 1 << 12   # lookup tables index inputs of at most 12 bits


def _codes_of(fn, acc: np.ndarray, acc_frac: int, out_frac: int, where: str) -> np.ndarray:
    """fn at accumulator codes acc [M, C] -> output codes [M, C]."""
    x = (acc.astype(np.float64) * 2.0**-acc_frac).astype(np.float32)
    y = np.asarray(fn(x), dtype=np.float64).reshape(acc.shape) * 2.0**out_frac
    if not np.all(np.isfinite(y)) or not np.all(y == np.round(y)):
        bad = np.argmax(~np.isfinite(y) | (y != np.round(y)))
        raise HlsgenError(f"{where}: the quantizer's output for input "
                          f"{acc.flat[bad] * 2.0**-acc_frac} is not on its declared grid; this "
                          "quantizer configuration is not supported")
    return np.round(y).astype(np.int64)


def _steps(fn, lo: int, hi: int, channels: int, acc_frac: int, out_frac: int, where: str):
    """(base, top, thresholds [C, top-base], negate [C]) of the per-channel
    step functions over accumulator codes [lo, hi].

    A channel whose function decreases (a negative batch-norm gain) is
    handled on the negated accumulator: out = base + #(-acc >= t). A
    threshold beyond the range is never reached."""
    ends = _codes_of(fn, np.array([[lo] * channels, [hi] * channels]), acc_frac, out_frac, where)
    negate = ends[1] < ends[0]
    sign = np.where(negate, -1, 1)
    blo, bhi = (min(lo, -hi), max(hi, -lo)) if negate.any() else (lo, hi)

    def g(b):  # b: [M, C] on the (possibly negated) axis; non-decreasing in b
        return _codes_of(fn, np.clip(b * sign, lo, hi), acc_frac, out_frac, where)

    base, top = int(ends.min()), int(ends.max())
    levels = np.arange(base + 1, top + 1)
    if (bhi - blo + 1) * channels <= FULL_EVAL_LIMIT:
        b = np.arange(blo, bhi + 1, dtype=np.int64)
        codes = g(np.repeat(b[:, None], channels, 1))
        if np.any(np.diff(codes, axis=0) < 0):
            raise HlsgenError(f"{where}: the activation is not monotonic over its input range of "
                              f"{bhi - blo + 1} codes, so it needs a lookup table, which holds at most "
                              f"{LUT_MAX_ENTRIES} entries; put a quantizer of at most 12 bits before it")
        idx = np.stack([np.searchsorted(codes[:, c], levels, side="left") for c in range(channels)])
        thr = np.where(idx < len(b), b[np.minimum(idx, len(b) - 1)], bhi + 1)
        return base, top, thr.reshape(channels, len(levels)), negate
    # Bisection for every (channel, level) at once: smallest b with output >= level.
    # Only sound for monotonic functions; the frontend only sends those here
    # (anything else must fit a lookup table).
    shape = (channels, len(levels))
    left = np.full(shape, blo, dtype=np.int64)
    right = np.full(shape, bhi + 1, dtype=np.int64)
    lv = np.broadcast_to(levels, shape)
    while np.any(left < right):
        mid = (left + right) // 2
        ok = (g(np.minimum(mid, bhi).T).T >= lv) & (mid <= bhi)   # g takes [M, C]
        right = np.where(ok, mid, right)
        left = np.where(ok, left, mid + 1)
    if np.any(np.diff(left, axis=1) < 0):
        raise HlsgenError(f"{where}: the activation is not monotonic over its input range")
    return base, top, left, negate


def derive_requant(fn: Callable, acc_frac: int, acc_lo: int, acc_hi: int,
                   grid: tuple[int, int, int], where: str, channels: int = 1
                   ) -> tuple[dict, np.ndarray | None]:
    """Exact integer requantization equal to fn on every acc code in
    [acc_lo, acc_hi], for each of `channels` channels (1: the same function for
    all). fn maps float32 [M, channels] -> [M, channels].

    Returns (attrs, thresholds [CH, NT] or None); attrs["negate"] lists the
    channels compared on the negated accumulator, when there are any."""
    out_frac, out_lo, out_hi = grid
    base, top, thr, negate = _steps(fn, acc_lo, acc_hi, channels, acc_frac, out_frac, where)
    if channels > 1 and np.all(thr == thr[:1]) and np.all(negate == negate[0]):
        thr, negate = thr[:1], negate[:1]   # every channel steps alike: one set serves all
    if thr.shape[0] == 1 and not negate[0]:
        shift = acc_frac - out_frac
        for mode in ("half_even", "half_up", "floor"):
            rq = {"kind": "shift", "shift": shift, "round": mode, "lo": out_lo, "hi": out_hi}
            if _same_steps(rq, acc_lo, acc_hi, base, thr[0]):
                return rq, None
    rq = {"kind": "thresholds", "base": base, "lo": out_lo, "hi": out_hi}
    if negate.any():
        rq["negate"] = [bool(v) for v in negate]
    return rq, thr


def _same_steps(rq: dict, lo: int, hi: int, base: int, thr: np.ndarray) -> bool:
    """Two monotonic step functions on [lo, hi] are equal iff they start at the
    same value and step at the same codes by one each."""
    def f(a):
        return np.clip(shift_round(np.asarray(a), rq["shift"], rq["round"]), rq["lo"], rq["hi"])
    if f(lo) != base or f(hi) != base + int(np.sum(thr <= hi)):
        return False
    t = thr[thr <= hi]
    if len(t) == 0:
        return True
    levels = base + 1 + np.arange(len(t))
    return bool(np.all(f(t) == levels) and np.all((f(np.maximum(t - 1, lo)) == levels - 1) | (t == lo)))


def derive_lut(fn: Callable, acc_frac: int, acc_lo: int, acc_hi: int,
               grid: tuple[int, int, int], where: str, channels: int = 1
               ) -> tuple[dict, np.ndarray]:
    """A lookup table holding the framework's own output code for every input
    code in [acc_lo, acc_hi] (per channel where the function differs by
    channel): exact for any function, monotonic or not."""
    n = acc_hi - acc_lo + 1
    if n > LUT_MAX_ENTRIES:
        raise HlsgenError(f"{where}: a lookup table over {n} input codes exceeds "
                          f"{LUT_MAX_ENTRIES} entries; put a quantizer of at most 12 bits before it")
    a = np.arange(acc_lo, acc_hi + 1, dtype=np.int64)
    table = _codes_of(fn, np.repeat(a[:, None], channels, 1), acc_frac, grid[0], where).T
    if channels > 1 and np.all(table == table[:1]):
        table = table[:1]
    return {"kind": "lut", "in_lo": acc_lo, "entries": n, "lo": grid[1], "hi": grid[2]}, table
