"""Default folding: PE x SIMD per matrix-vector unit.

The slowest layer sets the throughput of a dataflow pipeline, so we give the
largest layer a parallelism budget and fold every other layer to run no
faster than it needs: each layer gets the fewest MAC lanes (PE*SIMD, both
divisors of its dimensions) whose cycle count does not exceed the slowest
layer's. A board-aware search replaces this in the cost-model work.
"""

from __future__ import annotations

DEFAULT_MACS = 64  # MAC lanes for the largest layer


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


def fold_layer(mw: int, mh: int, max_cycles: int) -> tuple[int, int]:
    """(simd, pe) with the fewest lanes such that (mw/simd)*(mh/pe) <= max_cycles;
    among equals prefer wider SIMD (fewer, longer accumulations)."""
    best = None
    for simd in divisors(mw):
        for pe in divisors(mh):
            cycles = (mw // simd) * (mh // pe)
            if cycles > max_cycles:
                continue
            key = (simd * pe, -simd)
            if best is None or key < best[0]:
                best = (key, simd, pe)
    if best is None:  # max_cycles < 1 cannot happen: simd=mw, pe=mh gives 1
        return mw, mh
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
