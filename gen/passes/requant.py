"""Requantization from the framework's own quantizer, exactly.

A quantizer applied to an accumulator is a monotonic step function of the
accumulator code. We evaluate the framework's function at every reachable
code (or find its steps by bisection when the range is large), then express
it as the cheapest exact integer form:
  shift: clamp(round(acc * 2**-s)) for the rounding mode it turns out to use;
  thresholds: base + #(acc >= t_k), which represents any monotonic function.
The chosen form is checked against the framework function at every step.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from gen.errors import HlsgenError
from gen.intmath import shift_round

FULL_EVAL_LIMIT = 1 << 20


def _codes_of(fn, acc_codes: np.ndarray, acc_frac: int, out_frac: int, where: str) -> np.ndarray:
    x = (acc_codes.astype(np.float64) * 2.0**-acc_frac).astype(np.float32)
    y = np.asarray(fn(x), dtype=np.float64) * 2.0**out_frac
    if not np.all(y == np.round(y)):
        bad = acc_codes[np.argmax(y != np.round(y))]
        raise HlsgenError(f"{where}: the quantizer's output for input {bad * 2.0**-acc_frac} is not "
                          "on its declared grid; this quantizer configuration is not supported")
    return np.round(y).astype(np.int64)


def _step_thresholds(fn, lo: int, hi: int, acc_frac: int, out_frac: int, where: str):
    """(base, thresholds) of the step function over acc codes [lo, hi]."""
    if hi - lo + 1 <= FULL_EVAL_LIMIT:
        a = np.arange(lo, hi + 1, dtype=np.int64)
        c = _codes_of(fn, a, acc_frac, out_frac, where)
        if np.any(np.diff(c) < 0):
            raise HlsgenError(f"{where}: the activation is not monotonic over its input range; "
                              "non-monotonic activations need a lookup table (not supported yet)")
        levels = np.arange(c[0] + 1, c[-1] + 1)
        return int(c[0]), a[np.searchsorted(c, levels, side="left")]
    ends = _codes_of(fn, np.array([lo, hi]), acc_frac, out_frac, where)
    levels = np.arange(ends[0] + 1, ends[1] + 1)
    # Bisection for every level at once: smallest code whose output >= level.
    left = np.full(len(levels), lo, dtype=np.int64)
    right = np.full(len(levels), hi, dtype=np.int64)
    while np.any(left < right):
        mid = (left + right) // 2
        ok = _codes_of(fn, mid, acc_frac, out_frac, where) >= levels
        right = np.where(ok, mid, right)
        left = np.where(ok, left, mid + 1)
    if np.any(np.diff(left) < 0):
        raise HlsgenError(f"{where}: the activation is not monotonic over its input range")
    return int(ends[0]), left


def derive_requant(fn: Callable, acc_frac: int, acc_lo: int, acc_hi: int,
                   grid: tuple[int, int, int], where: str) -> tuple[dict, np.ndarray | None]:
    """Exact integer requantization equal to fn on every acc code in [acc_lo, acc_hi].

    Returns (attrs, thresholds or None)."""
    out_frac, out_lo, out_hi = grid
    base, thr = _step_thresholds(fn, acc_lo, acc_hi, acc_frac, out_frac, where)
    shift = acc_frac - out_frac
    for mode in ("half_even", "half_up", "floor"):
        rq = {"kind": "shift", "shift": shift, "round": mode, "lo": out_lo, "hi": out_hi}
        if _same_steps(rq, acc_lo, acc_hi, base, thr):
            return rq, None
    return {"kind": "thresholds", "base": base, "lo": out_lo, "hi": out_hi}, thr[None, :]


def _same_steps(rq: dict, lo: int, hi: int, base: int, thr: np.ndarray) -> bool:
    """Two monotonic step functions on [lo, hi] are equal iff they start at the
    same value and step at the same codes by one each."""
    def f(a):
        return np.clip(shift_round(np.asarray(a), rq["shift"], rq["round"]), rq["lo"], rq["hi"])
    if f(lo) != base or f(hi) != base + len(thr):
        return False
    if len(thr) == 0:
        return True
    at = f(thr)
    before = f(np.maximum(thr - 1, lo))
    levels = base + 1 + np.arange(len(thr))
    return bool(np.all(at == levels) and np.all((before == levels - 1) | (thr == lo)))
