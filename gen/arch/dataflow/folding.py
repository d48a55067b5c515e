"""Default folding: PE x SIMD per matrix-vector unit, and the width limits
every folding respects.

The slowest layer sets the throughput of a dataflow pipeline, so we give the
largest layer a parallelism budget and fold every other layer to run no
faster than it needs: each layer gets the fewest MAC lanes (PE*SIMD, both
divisors of its dimensions) whose cycle count does not exceed the slowest
layer's. The board-aware search is gen/arch/dataflow/search.py.

Limits (checked here once, used by gen/arch/dataflow/design.py, gen/arch/dataflow/cost.py and gen/arch/dataflow/search.py):

| limit | value | source |
|---|---|---|
| widest ap_int / ap_uint (stream words, weight words) | 4096 bits | UG1399: AP_INT_MAX_W at most 4096, defined before ap_int.h |
| widest without AP_INT_MAX_W | 1024 bits | UG1399 default; the project header defines AP_INT_MAX_W above it |
| AXI-Stream port of the IP | 1024 bits | PG021: AXI DMA stream data width 8..1024 bits; a port no wider needs no width converter (PG085: at most 512 bytes) |

A word over a limit is never generated: the search only proposes foldings
within them, the default folding is capped, the input and output are split
into as many AXI words as it takes (the port's lanes may differ from the
first layer's SIMD and the last layer's PE; a lane converter joins them),
and a user's folding over a limit is refused naming the layer and the fix.
"""

from __future__ import annotations

from hlsgen.errors import HlsgenError

DEFAULT_MACS = 64  # MAC lanes for the largest layer

MAX_WORD_BITS = 4096        # UG1399: ap_[u]int<W>, W <= AP_INT_MAX_W <= 4096
AP_INT_DEFAULT_MAX_W = 1024  # UG1399: above this, AP_INT_MAX_W must be defined
AXIS_MAX_BITS = 1024        # PG021: AXI DMA stream data width at most 1024 bits


class WidthLimitError(HlsgenError):
    """A folding that would need a word wider than a limit above."""


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def max_lanes(lane_bits: int, max_bits: int = MAX_WORD_BITS) -> int:
    """The most lanes of `lane_bits` bits one word of at most `max_bits` holds."""
    return max(1, max_bits // max(1, lane_bits))


def port_lanes(lanes: int, lane_bits: int, max_bits: int = AXIS_MAX_BITS) -> int:
    """Lanes per AXI-Stream word for a stream of `lanes` lanes: the largest
    divisor of `lanes` whose word fits the port (so one lane converter, at
    II=1, joins the port to the layer)."""
    cap = max_lanes(lane_bits, max_bits)
    return max(d for d in divisors(lanes) if d <= cap)


def fold_layer(mw: int, mh: int, max_cycles: int, max_simd: int | None = None,
               max_pe: int | None = None, cycles=None) -> tuple[int, int]:
    """(simd, pe) with the fewest lanes such that (mw/simd)*(mh/pe) <= max_cycles;
    among equals prefer wider SIMD (fewer, longer accumulations). SIMD and PE
    stay within max_simd and max_pe (the width limits); when no such folding
    reaches max_cycles, the fastest one within them. `cycles(simd, pe)`, when
    given, replaces (mw/simd)*(mh/pe) (a block-sparse unit visits only its
    non-zero tiles: gen/arch/dataflow/sparse.py)."""
    best = fastest = None
    for simd in divisors(mw):
        if max_simd is not None and simd > max_simd:
            continue
        for pe in divisors(mh):
            if max_pe is not None and pe > max_pe:
                continue
            c = (mw // simd) * (mh // pe) if cycles is None else cycles(simd, pe)
            f = (c, simd * pe, -simd)
            if fastest is None or f < fastest[0]:
                fastest = (f, simd, pe)
            if c > max_cycles:
                continue
            key = (simd * pe, -simd)
            if best is None or key < best[0]:
                best = (key, simd, pe)
    best = best or fastest
    return best[1], best[2]


def default_folding(layers: list[tuple[str, int, int]], macs: int = DEFAULT_MACS) -> dict:
    """layers: (name, mw, mh) -> {name: {"simd": s, "pe": p}}."""
    if not layers:
        return {}
    largest = max(mw * mh for _, mw, mh in layers)
    target = max(1, -(-largest // macs))
    # The largest layer may not reach the target exactly (divisors); the
    # pipeline then runs at its pace, and the others need not be faster.
    target = max(target, max((mw // s) * (mh // p) for _, mw, mh in layers
                             for s, p in [fold_layer(mw, mh, target)]))
    return {name: dict(zip(("simd", "pe"), fold_layer(mw, mh, target))) for name, mw, mh in layers}
