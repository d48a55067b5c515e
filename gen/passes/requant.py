"""Requantization from the framework's own functions, exactly.

A quantizer (possibly after per-channel float operations such as batch-norm,
folded into one function by the frontend) applied to an accumulator is, per
channel, a monotonic step function of the accumulator code. We find its steps
by evaluating the framework's function at every reachable code, or by
bisection when the range is large, then express it in the cheapest exact
integer form:
  shift: clamp(round(acc * 2**-s)) with the rounding mode it turns out to use;
  thresholds: base + #(acc >= t[ch][k]), which represents any monotonic
  step function, per channel;
  multiply: clamp(floor((acc * m[ch] + b[ch]) * 2^-n)), Jacob et al. 2018's
  M0 * 2^-n with the rounding folded into b, plus the few codes x[ch][k]
  where the framework's own float32 arithmetic rounds across a boundary
  that no straight line follows (there the output is the framework's
  y[ch][k]): a multiplier and a shift instead of up to 2^bits thresholds
  per channel, for batch-norm or per-channel scales before a wide quantizer.
The chosen form is checked against the framework function at every step, and
where several are exact gen/arch/dataflow/cost.py's requant_form_cost chooses by resources.
"""

from __future__ import annotations

from typing import Callable

import numpy as np

from hlsgen.arch.dataflow.cost import requant_form_cost
from hlsgen.errors import HlsgenError
from hlsgen.ir.intmath import apply_requant, shift_round

FULL_EVAL_LIMIT = 1 << 21
LUT_MAX_ENTRIES = 1 << 12   # lookup tables index inputs of at most 12 bits
MULTIPLY_MAX_BITS = 62      # |acc * m| + |b| below 2^61: native integers in C simulation
MULTIPLY_MAX_EXCEPTIONS = 32   # codes per channel where the line may differ from the framework


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
    bits = signed_bits(acc_lo, acc_hi)
    out_bits = signed_bits(out_lo, out_hi)
    cost_thr = requant_form_cost("thresholds", bits, out_bits, thr.shape[0], thresholds=thr.shape[1])
    if cost_thr > requant_form_cost("multiply", bits, out_bits, thr.shape[0], mult_bits=2, bias_bits=2):
        mul = fit_multiply(base, thr, negate, acc_lo, acc_hi, out_lo, out_hi)
        if mul is not None:
            check_multiply(mul, base, thr, negate, acc_lo, acc_hi, where)
            cost_mul = requant_form_cost("multiply", bits, out_bits, len(mul["m"]),
                                         mult_bits=mul["m_bits"], bias_bits=mul["b_bits"],
                                         exceptions=len(mul["x"][0]))
            if cost_mul < cost_thr:
                return mul, None
    return rq, thr


def signed_bits(lo: int, hi: int) -> int:
    """Bits of the narrowest two's-complement integer holding [lo, hi]."""
    return max(int(lo).bit_length() if lo >= 0 else int(~lo).bit_length(),
               int(hi).bit_length() if hi >= 0 else int(~hi).bit_length()) + 1


# --- the multiplier form ---------------------------------------------------

def _segments(t: np.ndarray, base: int, a0: int, a1: int):
    """The maximal constant runs of base + #(t <= a) on [a0, a1]: starts,
    ends, values."""
    inner = np.unique(t[(t > a0) & (t <= a1)])
    starts = np.concatenate([[a0], inner]).astype(np.int64)
    ends = np.concatenate([inner - 1, [a1]]).astype(np.int64)
    return starts, ends, base + np.searchsorted(t, starts, side="right").astype(np.int64)


class _Line:
    """Lines y = m*a + beta (m >= 0) with floor(y) equal to a step function:
    y >= v at the start s of each run of value v (unless v is the lower
    clamp) and y < v + 1 at its end e (unless v is the upper clamp). The
    slack h(m) = min(v_e + 1 - m*e) - max(v_s - m*s) is concave; it is
    maximised in extended precision (a search heuristic only: the chosen
    integers are checked exactly)."""

    def __init__(self, s, vs, e, ve, m_hi):
        self.s, self.vs = s.astype(np.longdouble), vs.astype(np.longdouble)
        self.e, self.ve = e.astype(np.longdouble), ve.astype(np.longdouble) + 1
        self.keep_s, self.keep_e = np.ones(len(s), bool), np.ones(len(e), bool)
        self.m_hi = float(m_hi)

    def parts(self, m, eps=0.0):
        """(h(m), binding lower constraint, binding upper constraint); a
        dropped constraint has v = -inf (lower) or +inf (upper)."""
        lower = self.vs - m * self.s
        upper = self.ve - m * self.e
        i, j = int(np.argmax(lower)), int(np.argmin(upper))
        return upper[j] - eps - lower[i], i, j

    def drop(self, side: str, k: int) -> bool:
        keep, v = (self.keep_s, self.vs) if side == "s" else (self.keep_e, self.ve)
        was = bool(keep[k])
        keep[k] = False
        v[k] = -np.inf if side == "s" else np.inf
        return was

    def best(self, eps=0.0):
        """(m, h) maximising the slack."""
        if not self.keep_s.any() or not self.keep_e.any():
            return np.longdouble(0), np.longdouble(np.inf)
        lo, hi = np.longdouble(0), np.longdouble(self.m_hi)
        for _ in range(80):   # 64-bit significands: a slope to about the last bit
            mid = (lo + hi) / 2
            if mid == lo or mid == hi:
                break
            _, i, j = self.parts(mid, eps)
            if self.s[i] - self.e[j] > 0:
                lo = mid
            else:
                hi = mid
        h0, h1 = self.parts(lo, eps)[0], self.parts(hi, eps)[0]
        return (lo, h0) if h0 >= h1 else (hi, h1)

    def drop_binding(self, m) -> bool:
        """Drops the constraints binding the best line (among them a code
        where the framework's float32 rounding crossed a boundary). A
        dropped constraint the final line still meets costs nothing: the
        exceptions are computed exactly from the final line."""
        dropped = False
        for mm in (m * (1 - 1e-12) - 1e-30, m, m * (1 + 1e-12) + 1e-30):
            _, i, j = self.parts(mm)
            dropped |= self.drop("s", i) | self.drop("e", j)
        return dropped


def _exact_slack(M: int, n: int, s, vs, e, ve) -> tuple[int | None, int | None]:
    """Integer bias interval [B_lo, B_hi] of slope M at shift n (None: unbounded
    on that side; empty when B_lo > B_hi), in Python integers."""
    one = 1 << n
    b_lo = max(vs.astype(object) * one - s.astype(object) * M) if len(s) else None
    b_hi = min((ve.astype(object) + 1) * one - 1 - e.astype(object) * M) if len(e) else None
    return b_lo, b_hi


def _fit_channel(t, base, a0, a1, out_lo, out_hi, n_cap):
    """(n, M, B) of a line whose floor, clamped, equals base + #(t <= a) on
    [a0, a1] except at as few codes as the search finds; None if none
    within MULTIPLY_MAX_EXCEPTIONS and n <= n_cap."""
    s, e, v = _segments(t, base, a0, a1)
    low, up = v > out_lo, v < out_hi
    line = _Line(s[low], v[low], e[up], v[up], max(out_hi - out_lo + 1, 1))
    amax = max(abs(a0), abs(a1), 1)
    h_first = None
    for rounds in range(MULTIPLY_MAX_EXCEPTIONS + 1):
        m, h = line.best()
        if h_first is None:
            h_first = h
        elif h <= 0 and rounds >= 4 and h + (h - h_first) / rounds * (MULTIPLY_MAX_EXCEPTIONS - rounds) < 0:
            return None   # at this rate the slack stays negative: too many exceptions
        # |M * a| + |B| < 2^61 at every code: M ~ m * 2^n, |B| ~ (m * amax + |levels|) * 2^n.
        n_cap = min(n_cap, MULTIPLY_MAX_BITS - 3 - int(
            2 * float(m) * amax + 2 * max(abs(out_lo), abs(out_hi)) + 2).bit_length())
        if h > 0:
            ks, ke = line.keep_s, line.keep_e
            cs, cvs, ce, cve = s[low][ks], v[low][ks], e[up][ke], v[up][ke]

            def at(n):   # an exact (n, M, B), or None (integer M near the best slope)
                mn = line.best(eps=np.longdouble(2.0) ** -n)[0] if np.isfinite(h) else m
                guess = int(np.floor(mn * np.longdouble(2) ** n))
                for M in (guess, guess + 1, guess - 1, guess + 2):
                    if M < 0:
                        continue
                    b_lo, b_hi = _exact_slack(M, n, cs, cvs, ce, cve)
                    if b_lo is None and b_hi is None:
                        return n, M, out_lo << n
                    if b_lo is None or b_hi is None or b_lo <= b_hi:
                        return n, M, (b_hi if b_lo is None else b_lo if b_hi is None
                                      else (b_lo + b_hi) // 2)
                return None
            # A line at n is one at n + 1: the smallest n by bisection, from
            # an n whose grid of slopes is finer than the feasible interval.
            n0 = 0 if not np.isfinite(h) else max(0, int(np.floor(-np.log2(float(h)))) - 1)
            n_hi = min(n_cap, n0 + int(2 * amax).bit_length() + 2)
            best = at(n_hi) if n_hi >= 0 else None
            if best is not None:
                lo_n, hi_n = n0 - 1, n_hi          # at(hi_n) fits
                while hi_n - lo_n > 1:
                    mid = (lo_n + hi_n) // 2
                    fit = at(mid)
                    if fit is not None:
                        best, hi_n = fit, mid
                    else:
                        lo_n = mid
                return best
        if not line.drop_binding(m):
            return None
    return None


def _line_codes(M: int, B: int, n: int, a: np.ndarray, lo: int, hi: int) -> np.ndarray:
    """clamp(floor((M*a + B) * 2^-n), lo, hi) in Python integers."""
    v = (a.astype(object) * M + B) >> n
    return np.minimum(np.maximum(v, lo), hi).astype(np.int64)


def fit_multiply(base: int, thr: np.ndarray, negate: np.ndarray, lo: int, hi: int,
                 out_lo: int, out_hi: int) -> dict | None:
    """The multiplier form of the step functions base + #(acc >= thr[ch])
    (on -acc for negated channels) on accumulator codes [lo, hi], or None.

    Per channel a line is fitted on the channel's own axis (slope >= 0) to
    every run of equal outputs, dropping the few runs that float32 rounding
    put off any line; those codes become exceptions. The shift n is shared:
    the largest any channel needs (a line at n is one at n + 1, doubled)."""
    n_cap = MULTIPLY_MAX_BITS - 1
    fits = []
    for c in range(thr.shape[0]):
        a0, a1 = (-hi, -lo) if negate[c] else (lo, hi)
        fit = _fit_channel(np.asarray(thr[c], np.int64), base, a0, a1, out_lo, out_hi, n_cap)
        if fit is None:
            return None
        fits.append(fit)
    n = max(f[0] for f in fits)
    ms, bs, xs, ys = [], [], [], []
    for c, (nc, M, B) in enumerate(fits):
        M, B = M << (n - nc), B << (n - nc)
        sign = -1 if negate[c] else 1
        a0, a1 = (-hi, -lo) if negate[c] else (lo, hi)
        t = np.asarray(thr[c], np.int64)
        # Where the line and the framework differ: between their steps.
        levels = np.arange(min(base, out_lo) + 1, max(base + len(t), out_hi) + 1, dtype=np.int64)
        t_fw = np.full(len(levels), a1 + 1, np.int64)
        inside = (levels > base) & (levels <= base + len(t))
        t_fw[inside] = np.clip(t[levels[inside] - base - 1], a0, a1 + 1)
        t_fw[levels <= base] = a0
        if M > 0:
            num = levels.astype(object) * (1 << n) - B
            t_ln = np.array([-((-x) // M) for x in num], dtype=object)
        else:
            t_ln = np.where(levels.astype(object) * (1 << n) <= B, a0, a1 + 1).astype(object)
        t_ln = np.where(levels <= out_lo, a0, np.where(levels > out_hi, a1 + 1, t_ln))
        t_ln = np.array([min(max(int(x), a0), a1 + 1) for x in t_ln], dtype=np.int64)
        codes = set()
        for f, g in zip(t_fw, t_ln):
            if f != g:
                if abs(int(f) - int(g)) > MULTIPLY_MAX_EXCEPTIONS:
                    return None
                codes.update(range(min(f, g), max(f, g)))
        if len(codes) > MULTIPLY_MAX_EXCEPTIONS:
            return None
        pts = np.array(sorted(codes), dtype=np.int64)
        ms.append(sign * M)
        bs.append(B)
        xs.append([int(sign * p) for p in pts])
        ys.append([int(base + np.searchsorted(t, p, side="right")) for p in pts])
    if len(set(ms)) == 1 and len(set(bs)) == 1 and all(x == xs[0] for x in xs) and all(y == ys[0] for y in ys):
        ms, bs, xs, ys = ms[:1], bs[:1], xs[:1], ys[:1]   # every channel alike
    nx = max(len(x) for x in xs)
    exceptions = sum(len(x) for x in xs)
    for c in range(len(xs)):
        # Pad with entries that change nothing: a code and the line's own output there.
        pad = lo
        own = int(_line_codes(ms[c], bs[c], n, np.array([pad]), out_lo, out_hi)[0])
        xs[c] += [pad] * (nx - len(xs[c]))
        ys[c] += [own] * (nx - len(ys[c]))
    rq = {"kind": "multiply", "shift": n, "lo": out_lo, "hi": out_hi, "m": ms, "b": bs,
          "x": xs, "y": ys, "exceptions": exceptions, "m_bits": max(signed_bits(m, m) for m in ms),
          "b_bits": max(signed_bits(b, b) for b in bs)}
    return rq if multiply_width(rq, lo, hi) <= MULTIPLY_MAX_BITS else None


def multiply_width(rq: dict, lo: int, hi: int) -> int:
    """Bits of acc * m + b (hlsgen_requant.h RequantMultiply's WIDTH)."""
    return max(signed_bits(lo, hi) + rq["m_bits"], rq["b_bits"]) + 1


def check_multiply(rq: dict, base: int, thr: np.ndarray, negate, lo: int, hi: int, where: str) -> None:
    """The multiplier form equals the step functions on every code of
    [lo, hi]: both are constant between consecutive breakpoints (the
    framework's steps, the line's steps, the exceptions and the codes after
    them), so they are compared at every breakpoint; and the arithmetic stays
    within MULTIPLY_MAX_BITS."""
    ch = thr.shape[0]
    width = multiply_width(rq, lo, hi)
    if width > MULTIPLY_MAX_BITS:
        raise HlsgenError(f"{where}: internal error: a {width}-bit multiplier form; please report it")
    for c in range(ch):
        sign = -1 if negate[c] else 1
        t = np.asarray(thr[c], np.int64)
        rc = min(c, len(rq["m"]) - 1)
        M, B, n = rq["m"][rc], rq["b"][rc], rq["shift"]
        pts = {lo, hi}
        pts |= {int(sign * v) for v in t} | {int(sign * v) - sign for v in t}
        pts |= {int(x) + d for x in rq["x"][rc] for d in (-1, 0, 1)}
        if M != 0:   # the line's steps: where (M*a + B) * 2^-n crosses each level
            levels = np.arange(rq["lo"] + 1, rq["hi"] + 1).astype(object)
            tl = -((B - levels * (1 << n)) // M)
            pts |= {int(x) + d for x in tl if lo - 1 <= x <= hi + 1 for d in (-1, 0, 1)}
        a = np.array(sorted(p for p in pts if lo <= p <= hi), dtype=np.int64)
        want = base + np.searchsorted(t, sign * a, side="right")
        one = {**rq, "m": [rq["m"][rc]], "b": [rq["b"][rc]], "x": [rq["x"][rc]], "y": [rq["y"][rc]]}
        got = apply_requant(a[:, None], one, None)[:, 0]
        if not np.array_equal(got, want):
            k = int(np.flatnonzero(got != want)[0])
            raise HlsgenError(f"{where}: internal error: the multiplier form differs from the "
                              f"framework at accumulator code {a[k]} of channel {c}; please report it")


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
