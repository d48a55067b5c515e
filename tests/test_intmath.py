"""gen/ir/intmath.py, the golden executor's arithmetic, against exact rational
arithmetic at the extremes of int64 and of the shift."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hlsgen.ir.intmath import exact_float_dtype, exact_matmul, shift_round

CODES = np.array([-2**63, -2**62 - 1, -2**62, -5, -2, -1, 0, 1, 2, 7, 2**62, 2**63 - 1], dtype=np.int64)


def exact(x: int, shift: int, mode: str) -> int:
    v = Fraction(x, 1) / Fraction(2) ** shift
    if mode == "floor":
        return math.floor(v)
    if mode == "half_up":
        return math.floor(v + Fraction(1, 2))
    return round(v)   # Fraction rounds half to even


@pytest.mark.parametrize("mode", ["floor", "half_up", "half_even"])
@pytest.mark.parametrize("shift", [-3, 0, 1, 2, 31, 61, 62, 63, 64, 65, 100])
def test_shift_round_is_exact(shift, mode):
    codes = CODES if shift >= 0 else np.array([x for x in CODES.tolist() if abs(x) < 2**59], dtype=np.int64)
    got = shift_round(codes, shift, mode)
    assert got.tolist() == [exact(int(x), shift, mode) for x in codes]


def test_exact_matmul_chooses_a_float_only_where_it_is_exact():
    """The golden executor's matrix products: float32 while every partial
    sum stays below 2**24, float64 below 2**53, int64 beyond (accumulators
    are at most 62 bits); equal to
    Python's integers in each case, also where float32 would round."""
    rng = np.random.default_rng(0)
    for x_max, w_max, k, want in [(1, 1, 4608, np.float32), (127, 1, 27, np.float32),
                                  (2**12, 2**12 - 1, 1, np.float32), (2**12, 2**12, 1, np.float64),
                                  (2**20, 2**20, 1000, np.float64), (2**28, 2**28, 8, None)]:
        w = rng.integers(-w_max, w_max + 1, (k, 3))
        w[:, 0] = w_max                              # a column at the bound
        x = rng.integers(-x_max, x_max + 1, (5, k))
        x[0] = x_max
        assert exact_float_dtype(x_max, w) == want, (x_max, w_max, k)
        exact = [[sum(int(a) * int(b) for a, b in zip(row, col)) for col in w.T] for row in x]
        assert exact_matmul(x, w).tolist() == exact
    # Past 2**24 float32 rounds (2**24 + 1 is not a float32): the bound sends it to float64.
    x, w = np.array([[2**12, 1]]), np.array([[2**12], [1]])
    assert exact_float_dtype(2**12, w) == np.float64
    assert exact_matmul(x, w).tolist() == [[2**24 + 1]]
