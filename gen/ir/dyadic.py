"""Float scales as the exact numbers they are (DESIGN.md, exactness contract).

Every finite float32 or float64 is a dyadic rational m * 2**e (m an odd
integer, |m| < 2**24 for float32): a scale, a batch-norm constant or a bias
is an exact number, and so are products and sums of them. A float32
operation on float32 operands returns the exact result whenever that result
is itself a float32; a value on the grid 2**-f is one when its integer
numerator has fewer than 24 significant bits and its exponent is in range.
The frontends carry scales in this form where they need them exactly, and
the passes use these functions to prove which float operations are exact on
their operands' grids (gen/passes/exact_float.py) and make them integer."""

from __future__ import annotations

from fractions import Fraction

import numpy as np

SIGNIFICAND_BITS = 24                 # float32: 23 stored bits and the implicit one
_SMALLEST_FRAC = 149                  # 2**-149: float32's smallest subnormal step
_LARGEST_EXP = 127


def exact(x) -> Fraction:
    """The exact value of a float (float32 values widen to float64 exactly)."""
    return Fraction(float(x))


def odd_form(x) -> tuple[int, int]:
    """(m, d) with x == m * 2**-d exactly and m odd (or x == 0: (0, 0)); d may
    be negative for even integers."""
    n, den = exact(x).as_integer_ratio()
    if n == 0:
        return 0, 0
    d = den.bit_length() - 1
    while n % 2 == 0:
        n //= 2
        d -= 1
    return n, d


def frac_bits(v: Fraction) -> int | None:
    """The binary point f >= 0 that holds v exactly (v * 2**f an integer, f
    smallest), or None when v is not a fixed-point number (1/3)."""
    den = v.denominator
    return den.bit_length() - 1 if den & (den - 1) == 0 else None


def fits_float32(numerator: int, frac: int) -> bool:
    """Whether every value k * 2**-frac with |k| <= |numerator| is a float32:
    fewer than 24 significant bits, exponent in float32's range."""
    k = abs(int(numerator))
    if k == 0:
        return True
    return (k < 1 << SIGNIFICAND_BITS and frac <= _SMALLEST_FRAC
            and k.bit_length() - frac <= _LARGEST_EXP)


def fractions(values) -> np.ndarray:
    """Exact rationals of an array of floats (an object array, same shape)."""
    v = np.asarray(values, np.float64)
    return np.array([exact(x) for x in v.reshape(-1)], dtype=object).reshape(v.shape)


def short(values, bits: int) -> bool:
    """Whether every value's odd integer m has fewer than `bits` bits: a
    constant like 0.75 or 3 (2 bits), not a trained batch-norm gain (24)."""
    return all(abs(odd_form(x)[0]).bit_length() < bits for x in np.ravel(np.asarray(values, np.float64)))


def exact_product(a, b) -> np.ndarray:
    """a * b in float64, checked exact: two float32 scales' odd integers
    (24 bits each) multiply within float64's 53, so a scale stays an exact
    dyadic number through a layer (the input's scale times the weights')."""
    from hlsgen.errors import InternalError
    a64, b64 = np.asarray(a, np.float64), np.asarray(b, np.float64)
    p = a64 * b64
    for x, y, z in zip(np.broadcast_to(a64, p.shape).flat, np.broadcast_to(b64, p.shape).flat, p.flat):
        if exact(x) * exact(y) != exact(z):
            raise InternalError(f"the scale product {x!r} * {y!r} is not exact in float64")
    return p
