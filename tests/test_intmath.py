"""gen/ir/intmath.py, the golden executor's arithmetic, against exact rational
arithmetic at the extremes of int64 and of the shift."""

from __future__ import annotations

import math
from fractions import Fraction

import numpy as np
import pytest

from hlsgen.ir.intmath import shift_round

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
