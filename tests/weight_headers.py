"""The weight memories a project's params headers declare for synthesis (the
HLSGEN_SYNTHESIS block): word type and width, dimensions, and the literals of
the initialiser, read from the header text alone."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

# Widths of the native C types a memory word may be declared with.
NATIVE_BITS = {"unsigned char": 8, "unsigned short": 16, "unsigned int": 32, "unsigned long long": 64}


@dataclass
class WeightMemory:
    kernel: str
    ctype: str          # the memory word's C type
    word_bits: int      # its width
    dims: list[int]     # [memories (PE or taps), depth]
    literals: int       # integer literals in the initialiser
    hex_digits: int     # their hex digits

    @property
    def words(self) -> int:
        n = 1
        for d in self.dims:
            n *= d
        return n

    @property
    def bits(self) -> int:
        """Storage declared for synthesis."""
        return self.word_bits * self.words


def word_bits(ctype: str) -> int:
    m = re.fullmatch(r"ap_uint<(\d+)>", ctype)
    return int(m.group(1)) if m else NATIVE_BITS[ctype]


def weight_memories(params: Path) -> dict[str, WeightMemory]:
    """Kernel id -> its weight memory, for every params header in `params`."""
    out = {}
    for header in sorted(Path(params).glob("*.h")):
        text = header.read_text()
        synthesis = text.split("#ifdef HLSGEN_SYNTHESIS")[1].split("#else")[0]
        for m in re.finditer(r"typedef (.+?) (\w+)_wword_t;", text):
            ctype, kid = m.group(1), m.group(2)
            decl = re.search(rf"static const {kid}_wword_t {kid}_w((?:\[\d+\])+) = (\{{.*?\}});\n",
                             synthesis, re.S)
            dims = [int(d) for d in decl.group(1)[1:-1].split("][")]
            literals = re.findall(r"0x([0-9a-f]+)", decl.group(2))
            out[kid] = WeightMemory(kid, ctype, word_bits(ctype), dims, len(literals),
                                    sum(len(h) for h in literals))
    return out
