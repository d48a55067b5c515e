"""Exact fixed-point types: an integer code of `bits` bits with a binary point.

value = code * 2**-frac. Hardware carries only the codes (ap_int/ap_uint);
the binary point is bookkeeping, so every hardware operation is integer-exact.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np

from hlsgen.errors import HlsgenError


@dataclass(frozen=True)
class QType:
    bits: int
    signed: bool
    frac: int
    bipolar: bool = False   # one bit per value: code 1 stands for +1, code 0 for -1

    @staticmethod
    def make_bipolar() -> "QType":
        return QType(1, False, 0, True)

    @property
    def lo(self) -> int:
        return -(1 << (self.bits - 1)) if self.signed else 0

    @property
    def hi(self) -> int:
        return (1 << (self.bits - 1)) - 1 if self.signed else (1 << self.bits) - 1

    @property
    def cpp(self) -> str:
        return f"ap_{'' if self.signed else 'u'}int<{self.bits}>"

    @property
    def fixed_name(self) -> str:
        """The equivalent Vitis HLS fixed-point type name, for documentation."""
        if self.bipolar:
            return "bipolar (1 bit: 1 = +1, 0 = -1)"
        return f"ap_{'' if self.signed else 'u'}fixed<{self.bits},{self.bits - self.frac}>"

    def values(self, codes: np.ndarray) -> np.ndarray:
        """Codes -> the real values they stand for (float64)."""
        c = np.asarray(codes, dtype=np.float64)
        return 2.0 * c - 1.0 if self.bipolar else c * 2.0**-self.frac

    def arith(self, codes: np.ndarray) -> np.ndarray:
        """Codes -> the integers arithmetic works on (the +-1 of a bipolar
        code; the code itself otherwise, at binary point frac)."""
        c = np.asarray(codes, dtype=np.int64)
        return 2 * c - 1 if self.bipolar else c

    def quantize(self, values: np.ndarray) -> np.ndarray:
        """Float values to codes: round half to even, saturate (bipolar: sign,
        with 0 -> +1)."""
        v = np.asarray(values, dtype=np.float64)
        if self.bipolar:
            return (v >= 0).astype(np.int64)
        codes = np.rint(v * 2.0**self.frac)
        return np.clip(codes, self.lo, self.hi).astype(np.int64)

    def to_dict(self) -> dict:
        d = {"bits": self.bits, "signed": self.signed, "frac": self.frac}
        if self.bipolar:
            d["bipolar"] = True
        return d

    @staticmethod
    def from_dict(d: dict) -> "QType":
        return QType(int(d["bits"]), bool(d["signed"]), int(d["frac"]), bool(d.get("bipolar", False)))


def bits_for_range(lo: int, hi: int) -> tuple[int, bool]:
    """Smallest (bits, signed) whose code range holds [lo, hi]."""
    signed = lo < 0
    bits = 1
    while True:
        t = QType(bits, signed, 0)
        if t.lo <= lo and hi <= t.hi:
            return bits, signed
        bits += 1


def type_for_range(lo: int, hi: int, frac: int) -> QType:
    bits, signed = bits_for_range(int(lo), int(hi))
    return QType(bits, signed, frac)


_FIXED_RE = re.compile(r"^\s*ap_(u?)fixed\s*<\s*(\d+)\s*,\s*(-?\d+)\s*>\s*$")
_INT_RE = re.compile(r"^\s*ap_(u?)int\s*<\s*(\d+)\s*>\s*$")


def parse_type(text: str) -> QType:
    """'ap_fixed<16,6>', 'ap_ufixed<8,0>', 'ap_int<8>', 'bipolar' (+-1) -> QType."""
    if text.strip() == "bipolar":
        return QType.make_bipolar()
    m = _FIXED_RE.match(text)
    if m:
        bits, integer = int(m.group(2)), int(m.group(3))
        t = QType(bits, m.group(1) != "u", bits - integer)
    else:
        m = _INT_RE.match(text)
        if not m:
            raise HlsgenError(
                f"input type '{text}' is not understood; write it as ap_fixed<W,I>, "
                "ap_ufixed<W,I>, ap_int<W>, ap_uint<W> or bipolar (values +-1)")
        t = QType(int(m.group(2)), m.group(1) != "u", 0)
    if not 1 <= t.bits <= 32:
        raise HlsgenError(f"input type '{text}' has {t.bits} bits; use 1 to 32 bits")
    return t


def exact_frac(values: np.ndarray, max_frac: int = 64) -> int:
    """Smallest frac such that every value * 2**frac is an integer.

    Float values from a framework are dyadic rationals, so this always ends;
    max_frac guards against values that are not (which would be a bug).
    """
    v = np.asarray(values, dtype=np.float64).ravel()
    for frac in range(-64, max_frac + 1):
        scaled = v * 2.0**frac
        if np.all(scaled == np.round(scaled)):
            return frac
    raise HlsgenError("values are not fixed-point numbers with at most 64 fraction bits")
