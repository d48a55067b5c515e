"""Folding search: PE x SIMD per compute unit against a board.

A dataflow pipeline runs at the pace of its slowest layer, so a design is
named by a cycle budget T: every unit takes, among its foldings (PE and
SIMD dividing its dimensions) that need at most T cycles per frame, the
cheapest one (the sum of its resources as fractions of the board's). No
layer is given lanes it does not need unless they cost nothing more.

The candidates are the designs for every T that some folding reaches;
they do not depend on the budget. The budget only filters them:
- `fps`: the cheapest candidate reaching it (ties: the faster) that fits
  the board (every resource within 100%, or within max_util when given);
  when none does, the fastest candidate that fits, with a note saying so
  and why (`Candidate.note`): never a design over the board;
- `max_util`: the fastest candidate whose every resource is within
  max_util of the board (ties: the cheaper).
A larger budget filters less, so it can never give a slower design: this is
what makes "raising the budget never lowers throughput" true by construction.
When nothing fits at all, the search refuses (HlsgenError).

Every candidate keeps every word within gen/arch/dataflow/folding.py's limits (4096 bits,
UG1399): a unit's options are only those whose input, weight and output
words (and the words of the kernels that take its lanes) fit, and a
candidate whose chain still has a wider word is dropped. The AXI-Stream
ports are split into words of at most 1024 bits by lane converters that
every candidate is costed with (gen/arch/dataflow/cost.py `with_ports`).

The search sees the design as a chain in kernel order: the kernels around a
unit take lanes from it as gen/arch/dataflow/cost.py `refold` describes, and the lane
converters between units are costed in every candidate.

Compressed units are costed as they would be built at each option: a pruned
unit's cycles and weight memory follow the PE x SIMD tiles it skips at that
folding (LayerShape.sparsity, gen/arch/dataflow/sparse.py), a fully unrolled
one counts only its non-trivial multipliers. Tile shapes that match the zero
pattern are therefore faster and cheaper, and the search prefers them; it
needs no rule of its own for this.
"""

from __future__ import annotations

import bisect
import math
from dataclasses import dataclass, replace

from hlsgen.arch.dataflow.cost import (UNITS, RESOURCES, Estimate, LayerShape, estimate, layer_cost, refold,
                      word_problems)
from hlsgen.errors import HlsgenError
from hlsgen.arch.dataflow.folding import MAX_WORD_BITS, WidthLimitError

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
    note: str = ""    # set when the budget could not be met and this is the closest design

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


def _downstream_bits(shapes: list[LayerShape]) -> dict[str, int]:
    """unit name -> the widest lane (bits) of the kernels that take its output
    lanes (up to the next unit or window), its own output lanes included."""
    out, current = {}, None
    for s in shapes:
        if s.kind in UNITS:
            current = s.name
            out[current] = s.out_bits
        elif s.kind in ("swg", "pad"):
            current = None
        elif current is not None and s.kind != "resize":
            out[current] = max(out[current], s.abits, s.out_lane_bits)
    return out


def unit_options(s: LayerShape, board, feeder: LayerShape | None = None,
                 out_bits: int | None = None) -> list[Option]:
    """Every folding of one unit with its cycles and cost (its window kernel's
    included) whose words stay within MAX_WORD_BITS: SIMD lanes of inputs and
    weights, output lanes of `out_bits` (default: the unit's own output bits).
    A depthwise unit folds its channels only (PE = 1)."""
    width, height = {"mvu": (s.mw, s.mh), "rnn": (s.mw, s.channels)}.get(s.kind, (s.channels, 1))
    simds = divisors(math.gcd(width, feeder.channels) if feeder else width)
    out_bits = max(out_bits or 0, s.out_bits)
    in_bits = max(s.abits, s.wbits, out_bits if s.kind == "dwu" else 0)
    opts = []
    for simd in simds:
        if simd * in_bits > MAX_WORD_BITS:
            continue
        swg = layer_cost(replace(feeder, simd=simd)) if feeder else None
        for pe in divisors(height):
            if s.kind == "mvu" and pe * out_bits > MAX_WORD_BITS:
                continue
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
    feeders, down = _feeders(shapes), _downstream_bits(shapes)
    units = {s.name: _Unit(unit_options(s, board, feeders.get(s.name), down.get(s.name)))
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
        chain = refold(shapes, folding)
        if word_problems(chain):
            continue
        out.append(Candidate(folding, estimate(chain, board, clock_mhz)))
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
    chain view cannot see); budgets are then checked on it, and a folding it
    refuses (a word over a limit) is skipped. Candidates are tried in a fixed
    order (fastest first for max_util, cheapest first for fps), so a larger
    budget still never gives a slower design."""
    if fps is not None and not (math.isfinite(fps) and fps > 0):
        raise HlsgenError(f"--fps {fps!r} is not a positive number of frames per second")
    if max_util is not None and not (math.isfinite(max_util) and 0 < max_util <= 1):
        raise HlsgenError(f"--max-util {max_util!r} must be a fraction of the board "
                          "above 0 and at most 1, e.g. 0.7")
    limit = max_util if max_util is not None else (1.0 if fps is not None else DEFAULT_MAX_UTIL)
    cands = candidates(shapes, board, clock_mhz)

    def real(c: Candidate) -> Estimate | None:
        # The chain view never has more room than the built design (which only
        # adds lane converters), so a candidate over the limit is not built.
        if realize is None or not c.estimate.fits(limit):
            return c.estimate
        try:
            return realize(c.folding)
        except WidthLimitError:
            return None

    if fps is not None:
        for c in sorted((c for c in cands if c.estimate.fps >= fps),
                        key=lambda c: (c.cost, -c.estimate.fps)):
            est = real(c)
            if est is not None and est.fps >= fps and est.fits(limit):
                return Candidate(c.folding, est)
    for c in sorted(cands, key=lambda c: (-c.estimate.fps, c.cost)):
        est = real(c)
        if est is not None and est.fits(limit):
            best = Candidate(c.folding, est)
            return best if fps is None else replace(
                best, note=_out_of_reach(cands, best, board, fps, limit))
    raise _nothing_fits(cands, board, limit)


def _out_of_reach(cands: list[Candidate], best: Candidate, board, fps: float,
                  limit: float) -> str:
    """Why `fps` was not met, and what was generated instead (one line)."""
    e = best.estimate
    faster = [c for c in cands if c.estimate.fps > e.fps]
    if faster:
        nxt = min(faster, key=lambda c: c.cost).estimate
        r, u = max(nxt.utilisation.items(), key=lambda kv: kv[1])
        why = (f"the next faster folding ({nxt.fps:,.0f} frames/s) needs {u:.0%} of its "
               f"{r.upper()}")
    else:
        why = (f"no folding is faster: {e.bottleneck} needs {e.max_cycles:,} cycles per frame "
               "at its widest")
    within = f"{limit:.0%} of {board.name}"
    top = max(e.utilisation.items(), key=lambda kv: kv[1])
    return (f"--fps {fps:,.0f} is out of reach within {within}: {why}; generated the fastest "
            f"design that fits instead, {e.fps:,.0f} frames/s at {e.clock_mhz:g} MHz "
            f"(at most {top[1]:.0%} of a resource, {top[0].upper()}); lower --fps, raise the "
            f"clock or choose a larger board")


def _nothing_fits(cands: list[Candidate], board, limit: float) -> HlsgenError:
    smallest = min(cands, key=lambda c: c.cost)
    r, u = max(smallest.estimate.utilisation.items(), key=lambda kv: kv[1])
    fix = ("choose a larger board or use --arch tiled (weights in DDR)" if limit >= 1 else
           "choose a larger board or raise --max-util")
    return HlsgenError(f"no folding fits {board.name} within {limit:.0%}: the smallest "
                       f"design needs {u:.0%} of its {r.upper()}; {fix}")


def choose_folding(shapes: list[LayerShape], board, clock_mhz: float | None = None,
                   fps: float | None = None, max_util: float | None = None) -> dict:
    """{layer name: {"simd": S, "pe": P}} for every foldable unit (mvu, dwu) in `shapes`."""
    return search(shapes, board, clock_mhz, fps, max_util).folding


def search_design(design, board, clock_mhz: float | None = None, fps: float | None = None,
                  max_util: float | None = None, rebuild=None) -> Candidate:
    """search() for a built gen/arch/dataflow/design.py Design (any folding): the candidate to
    rebuild it with (its folding keyed as `build_design(graph, name, folding)`
    expects, and its note). `rebuild(folding) -> Design` (e.g. that call)
    lets the budget be checked on the design exactly as it will be built."""
    from hlsgen.arch.dataflow.cost import shapes_from_design

    def realize(folding: dict) -> Estimate:
        return estimate(shapes_from_design(rebuild(folding)), board, clock_mhz)

    return search(shapes_from_design(design), board, clock_mhz, fps, max_util,
                  realize if rebuild else None)


def folding_for_design(design, board, clock_mhz: float | None = None, fps: float | None = None,
                       max_util: float | None = None, rebuild=None) -> dict:
    """search_design's folding."""
    return search_design(design, board, clock_mhz, fps, max_util, rebuild).folding
