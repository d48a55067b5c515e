"""Integer arithmetic shared by the passes and the golden executor.

These NumPy functions are the specification of the C++ kernels in
templates/hls (hlsgen_requant.h): same operations, same rounding.
"""

from __future__ import annotations

import numpy as np

ROUND_MODES = {"floor": 0, "half_up": 1, "half_even": 2}


def shift_round(acc: np.ndarray, shift: int, mode: str) -> np.ndarray:
    """acc * 2**-shift rounded to an integer (exact for shift <= 0)."""
    a = np.asarray(acc, dtype=np.int64)
    if shift <= 0:
        return a << -shift
    if shift >= 64:
        # |acc| <= 2^63, so |acc * 2^-shift| <= 1/2: floor gives -1 or 0, both
        # roundings 0 (-1/2 rounds up, and to the even 0). NumPy's own shift
        # by 64 or more is undefined.
        return np.where(a < 0, -1, 0).astype(np.int64) if mode == "floor" else np.zeros_like(a)
    q = a >> shift                      # arithmetic shift: floor
    if mode == "floor":
        return q
    rem = a & ((1 << shift) - 1)
    half = 1 << (shift - 1)
    if mode == "half_up":
        return q + (rem >= half)
    return q + ((rem > half) | ((rem == half) & ((q & 1) == 1)))


# Integers of magnitude below 2**24 (float32) or 2**53 (float64) are exact
# in that format, and so is every sum of them that stays below the bound.
_FLOAT_SIGNIFICANDS = ((np.float32, 2**24), (np.float64, 2**53))


def exact_float_dtype(x_max: int, w: np.ndarray):
    """The narrowest float type in which x @ w is exact for every x with
    |x| <= x_max, or None. Proof: every product and every partial sum of a
    column, in any order and grouping (BLAS blocks and fuses them), is an
    integer of magnitude at most x_max * sum_i |w[i, j]|; below 2**p each is
    representable with p significand bits, so no operation rounds."""
    w = np.asarray(w)
    col = np.abs(w.reshape(w.shape[0], -1).astype(np.int64)).sum(axis=0) if w.size else np.zeros(1, np.int64)
    bound = int(x_max) * int(col.max(initial=0))
    return next((dt for dt, limit in _FLOAT_SIGNIFICANDS if bound < limit), None)


def exact_matmul(x: np.ndarray, w: np.ndarray, dtype="auto") -> np.ndarray:
    """x @ w on integer arrays, exactly, as int64: through float BLAS where
    exact_float_dtype proves it exact (NumPy's integer products do not use
    BLAS), in int64 otherwise. dtype: the float type if the caller has
    proved it already (exact_float_dtype), or "auto"."""
    if isinstance(dtype, str):
        x_max = int(np.abs(x).max(initial=0)) if x.size else 0
        dtype = exact_float_dtype(x_max, w)
    if dtype is None:
        return np.asarray(x, dtype=np.int64) @ np.asarray(w, dtype=np.int64)
    return (np.asarray(x, dtype=dtype) @ np.asarray(w, dtype=dtype)).astype(np.int64)


def apply_requant(acc: np.ndarray, rq: dict, thresholds: np.ndarray | None,
                  channel_axis_size: int | None = None) -> np.ndarray:
    """Evaluates a lowered requantization on accumulator codes.

    rq is the node's attrs['requant']; thresholds has shape [CH, NT] (for a
    lookup table: the table, [CH, entries])."""
    kind = rq["kind"]
    if kind == "identity":
        return np.asarray(acc, dtype=np.int64)
    if kind == "shift":
        q = shift_round(acc, rq["shift"], rq["round"])
        if rq.get("lo") is not None:
            q = np.maximum(q, rq["lo"])
        if rq.get("hi") is not None:
            q = np.minimum(q, rq["hi"])
        return q
    if kind == "thresholds":
        a = np.asarray(acc, dtype=np.int64)
        thr = np.asarray(thresholds, dtype=np.int64)
        if "negate" in rq:   # channels whose function decreases compare -acc
            neg = np.asarray(rq["negate"], dtype=bool)
            a = np.where(neg[np.arange(a.shape[-1]) % len(neg)], -a, a)
        if thr.shape[0] == 1:
            # Sorted thresholds: the count of those <= acc is a binary search.
            return rq["base"] + np.searchsorted(thr[0], a, side="right").astype(np.int64)
        thr = thr[np.arange(a.shape[-1]) % thr.shape[0]]   # [channels, NT]
        count = np.zeros(a.shape, dtype=np.int64)
        for k in range(thr.shape[1]):   # no [..., NT] temporary
            count += a >= thr[:, k]
        return rq["base"] + count
    if kind == "multiply":
        return multiply_requant(acc, rq)
    if kind == "lut":
        a = np.asarray(acc, dtype=np.int64)
        table = np.asarray(thresholds, dtype=np.int64)
        ch = np.arange(a.shape[-1]) % table.shape[0] if a.ndim else 0
        return table[ch, a - rq["in_lo"]]
    raise ValueError(f"unknown requantization kind {kind}")


def multiply_requant(acc: np.ndarray, rq: dict) -> np.ndarray:
    """The multiplier form (Jacob et al. 2018's M0 * 2^-n, per channel):
    out = clamp(floor((acc * m[ch] + b[ch]) * 2^-shift), lo, hi), except at
    the codes x[ch][k], whose output is y[ch][k] (where the framework's own
    float32 arithmetic rounds across a quantization boundary). The rounding
    is folded into b. Exact integer arithmetic: int64 while every product
    fits, Python integers otherwise."""
    a = np.asarray(acc, dtype=np.int64)
    m, b = np.asarray(rq["m"], dtype=np.int64), np.asarray(rq["b"], dtype=np.int64)
    ch = np.arange(a.shape[-1]) % len(m) if a.ndim else np.int64(0)
    big = a.size and (int(np.abs(a).max()) * int(np.abs(m).max()) + int(np.abs(b).max())) >= 1 << 62
    dt = object if big else np.int64
    v = (a.astype(dt) * m[ch].astype(dt) + b[ch].astype(dt)) >> rq["shift"]
    q = np.minimum(np.maximum(v, rq["lo"]), rq["hi"]).astype(np.int64)
    for k in range(len(rq["x"][0]) if rq.get("x") else 0):
        xk = np.asarray([row[k] for row in rq["x"]], dtype=np.int64)[ch]
        yk = np.asarray([row[k] for row in rq["y"]], dtype=np.int64)[ch]
        q = np.where(a == xk, yk, q)
    return q
