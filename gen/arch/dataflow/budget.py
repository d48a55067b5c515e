"""The dataflow design a board can hold: the user's folding as given, the
folding search's answer to --fps / --max-util, or the default folding when it
fits (else the search's fastest that does). Never a design over the board."""

from __future__ import annotations

from hlsgen.arch.base import DesignRequest
from hlsgen.arch.dataflow.design import build_design
from hlsgen.arch.dataflow.report import estimate_design
from hlsgen.arch.dataflow.search import DEFAULT_MAX_UTIL, search_design
from hlsgen.errors import HlsgenError
from hlsgen.ir.graph import Graph


def design_within_budget(graph: Graph, request: DesignRequest):
    """(design, estimate, report.json "budget") of the dataflow architecture,
    never over the board (every resource within 100%) and never with a word
    over gen/arch/dataflow/folding.py's limits:
    - a user's folding is built as given, or refused naming the limit or the
      resource it exceeds (widths: gen/arch/dataflow/design.py check_limits);
    - --fps / --max-util: the folding search (gen/arch/dataflow/search.py), whose note says
      when --fps is out of reach and the fastest design that fits was taken;
    - neither: the default folding, unless it is over the board; then the
      search's fastest design within DEFAULT_MAX_UTIL (else within 100%),
      and a note saying so; nothing fits: an error naming the fix."""
    name, board, clock = request.name, request.board, request.clock_mhz
    folding, folding_origin = request.folding, request.folding_origin
    fps, max_util = request.fps, request.max_util

    def rebuild(f: dict):
        return build_design(graph, name, f)

    budget = {"fps": fps, "max_util": max_util, "folding": "default", "note": ""}
    design = build_design(graph, name, folding)
    if folding is not None:
        budget["folding"] = "given"
        if fps is not None or max_util is not None:
            budget["note"] = (f"--fps and --max-util do not apply with --folding: the folding "
                              f"{folding_origin} is built as it is; leave --folding out to "
                              "search one")
    elif fps is not None or max_util is not None:
        # The folding search against the board (cost model in gen/arch/dataflow/cost.py).
        found = search_design(design, board, clock, fps=fps, max_util=max_util, rebuild=rebuild)
        budget.update(folding="search", note=found.note)
        design = rebuild(found.folding)
    estimate = estimate_design(design, board, clock)
    if estimate.fits(1.0):
        return design, estimate, budget
    over = ", ".join(f"{r.upper()} {u:.0%}" for r, u in estimate.utilisation.items() if u > 1)
    if folding is not None:
        raise HlsgenError(f"the folding {folding_origin} needs more than {board.name} has "
                          f"(estimated {over}); fold it to fewer lanes, or leave --folding out "
                          "and give --max-util 0.7 to search one that fits")
    try:
        found = search_design(design, board, clock, max_util=DEFAULT_MAX_UTIL, rebuild=rebuild)
        limit = DEFAULT_MAX_UTIL
    except HlsgenError:
        found = search_design(design, board, clock, max_util=1.0, rebuild=rebuild)
        limit = 1.0
    design = rebuild(found.folding)
    budget.update(folding="search", max_util=limit, note=(
        f"the default folding needs more than {board.name} has (estimated {over}); generated "
        f"the fastest folding within {limit:.0%} of it instead (as --max-util {limit:g})"))
    return design, estimate_design(design, board, clock), budget
