"""Folding search: PE x SIMD per compute unit against a board.

A dataflow pipeline runs at the pace of its slowest layer, so a design is
named by a cycle budget T: every unit takes, among its foldings (PE and
SIMD dividing its dimensions) that need at most T cycles per frame, the
cheapest one (the sum of its resources as fractions of the board's). No
layer is given lanes it does not need unless they cost nothing more.

The candidates are the designs for every T that some folding reaches;
they do not depend on the budget. The budget only filters them:
- `fps`: the cheapest candidate reaching it (ties: the faster);
- `max_util`: the fastest candidate whose every resource is within
  max_util of the board (ties: the cheaper).
A larger budget filters less, so it can never give a slower design: this is
what makes "raising the budget never lowers throughput" true by construction.

The search sees the design as a chain in kernel order: the kernels around a
unit take lanes from it as gen/cost.py `refold` describes, and the lane
converters between units are costed in every candidate.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

from gen.cost import UNITS, RESOURCES, Estimate, LayerShape, estimate, layer_cost, refold
from gen.errors import HlsgenError

DEFAULT_MAX_UTIL = 0.7


def divisors(n: int) -> list[int]:
    return [d for d in range(1, n + 1) if n % d == 0]


@dataclass(frozen=True)
class Option:
    simd: int
    pe: int
    cycles: int
    cost: float       # resources as fractions of the board, summed


@dataclass(frozen=True)
class Candidate:
    folding: dict     # name -> {"simd", "pe"}
    estimate: Estimate

    @property
    def cost(self) -> float:
        return board_cost(self.estimate.totals, self.estimate.board)


def board_cost(used: dict, board) -> float:
    """One number to rank designs by: each resource as a fraction of the board's."""
    return sum(used.get(r, 0) / getattr(board, r) for r in RESOURCES)


def _feeders(shapes: list[LayerShape]) -> dict[str, LayerShape]:
    """unit name -> the sliding-window kernel feeding it (its SIMD must divide C)."""
    out, last_swg = {}, None
    for s in shapes:
        if s.kind == "swg":
            last_swg = s
        elif s.kind in UNITS:
            if last_swg is not None:
                out[s.name] = last_swg
            last_swg = None
        elif s.kind not in ("fifo", "resize"):
            last_swg = None
    return out


def unit_options(s: LayerShape, board, feeder: LayerShape | None = None) -> list[Option]:
    """Every folding of one unit with its cycles and cost (its window kernel's included).
    A depthwise unit folds its channels only (PE = 1)."""
    width, height = (s.mw, s.mh) if s.kind == "mvu" else (s.channels, 1)
    simds = divisors(math.gcd(width, feeder.channels) if feeder else width)
    opts = []
    for simd in simds:
        swg = layer_cost(replace(feeder, simd=simd)) if feeder else None
        for pe in divisors(height):
            c = layer_cost(replace(s, simd=simd, pe=pe))
            used = {r: c.resource(r) + (swg.resource(r) if swg else 0) for r in RESOURCES}
            opts.append(Option(simd, pe, c.cycles, board_cost(used, board)))
    return opts


class _Unit:
    """One unit's options sorted by cycles, with the cheapest option among
    those at most so many cycles precomputed for every prefix."""

    def __init__(self, options: list[Option]):
        # Deterministic total order: cheaper, then fewer lanes, then wider SIMD.
        key = lambda o: (o.cost, o.simd * o.pe, -o.simd)  # noqa: E731
        self.options = sorted(options, key=lambda o: (o.cycles, key(o)))
        self.cycles = [o.cycles for o in self.options]
        self.best: list[Option] = []
        for o in self.options:
            self.best.append(o if not self.best or key(o) < key(self.best[-1]) else self.best[-1])

    def choose(self, budget: int) -> Option:
        return self.best[bisect.bisect_right(self.cycles, budget) - 1]


def candidates(shapes: list[LayerShape], board, clock_mhz: float | None = None
               ) -> list[Candidate]:
    """The design for every reachable cycle budget, slowest first."""
    _check_names(shapes)
    feeders = _feeders(shapes)
    units = {s.name: _Unit(unit_options(s, board, feeders.get(s.name)))
             for s in shapes if s.kind in UNITS}
    if not units:
        return [Candidate({}, estimate(shapes, board, clock_mhz))]
    floor = max(u.cycles[0] for u in units.values())
    budgets = sorted({c for u in units.values() for c in u.cycles if c >= floor}, reverse=True)
    seen, out = set(), []
    for t in budgets:
        choice = {name: u.choose(t) for name, u in units.items()}
        key = tuple((o.simd, o.pe) for o in choice.values())
        if key in seen:
            continue
        seen.add(key)
        folding = {name: {"simd": o.simd, "pe": o.pe} for name, o in choice.items()}
        out.append(Candidate(folding, estimate(refold(shapes, folding), board, clock_mhz)))
    return out


def _check_names(shapes: list[LayerShape]) -> None:
    names = [s.name for s in shapes if s.kind in UNITS]
    dup = next((n for n in names if names.count(n) > 1), None)
    if dup is not None:
        raise HlsgenError(f"two foldable layers are both named '{dup}'; "
                          "give every layer a unique name")


def search(shapes: list[LayerShape], board, clock_mhz: float | None = None,
           fps: float | None = None, max_util: float | None = None,
           realize=None) -> Candidate:
    """The chosen design (folding and its estimate); see the module docstring.

    `realize(folding) -> Estimate`, when given, estimates the design as it
    will really be built (a graph with branches has lane converters that the
    chain view cannot see); budgets are then checked on it. Candidates are
    tried in a fixed order (fastest first for max_util, cheapest first for
    fps), so a larger budget still never gives a slower design."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise HlsgenError(f"--fps {fps!r} is not a positive number of frames per second")
    if max_util is not None and not (math.isfinite(max_util) and 0 < max_util):
        raise HlsgenError(f"--max-util {max_util!r} must be a fraction of the board "
                          "above 0, e.g. 0.7")
    if fps is None and max_util is None:
        max_util = DEFAULT_MAX_UTIL
    cands = candidates(shapes, board, clock_mhz)
    if fps is None:
        order = sorted(cands, key=lambda c: (-c.estimate.fps, c.cost))
    else:
        order = sorted((c for c in cands if c.estimate.fps >= fps),
                       key=lambda c: (c.cost, -c.estimate.fps))
    for c in order:
        real = realize(c.folding) if realize else c.estimate
        if real.fps >= (fps or 0) and (max_util is None or real.fits(max_util)):
            return Candidate(c.folding, real)
    raise _nothing_within(cands, board, fps, max_util)


def _nothing_within(cands: list[Candidate], board, fps, max_util) -> HlsgenError:
    fitting = [c for c in cands if max_util is None or c.estimate.fits(max_util)]
    if not fitting:
        smallest = min(cands, key=lambda c: c.cost)
        r, u = max(smallest.estimate.utilisation.items(), key=lambda kv: kv[1])
        return HlsgenError(f"no folding fits {board.name} within {max_util:.0%}: the smallest "
                           f"design needs {u:.0%} of its {r.upper()}; choose a larger board "
                           f"or raise --max-util")
    best = max(fitting, key=lambda c: c.estimate.fps).estimate
    within = "" if max_util is None else f" within {max_util:.0%} of {board.name}"
    return HlsgenError(f"{fps:,.0f} frames/s is out of reach{within}: the fastest design "
                       f"predicts {best.fps:,.0f} frames/s at {best.clock_mhz:g} MHz; "
                       f"lower --fps or raise the clock")


def choose_folding(shapes: list[LayerShape], board, clock_mhz: float | None = None,
                   fps: float | None = None, max_util: float | None = None) -> dict:
    """{layer name: {"simd": S, "pe": P}} for every foldable unit (mvu, dwu) in `shapes`."""
    return search(shapes, board, clock_mhz, fps, max_util).folding


def folding_for_design(design, board, clock_mhz: float | None = None, fps: float | None = None,
                       max_util: float | None = None, rebuild=None) -> dict:
    """choose_folding for a built gen/hw.py Design (any folding): the folding
    to rebuild it with, keyed as `build_design(graph, name, folding)` expects.
    `rebuild(folding) -> Design` (e.g. that call) lets the budget be checked
    on the design exactly as it will be built."""
    from gen.cost import shapes_from_design

    def realize(folding: dict) -> Estimate:
        return estimate(shapes_from_design(rebuild(folding)), board, clock_mhz)

    return search(shapes_from_design(design), board, clock_mhz, fps, max_util,
                  realize if rebuild else None).folding
