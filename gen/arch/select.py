"""`--arch auto`: the dataflow pipeline when it fits the board, else the
tiled engine, and why, in words (hlsgen/arch/dataflow/cost.py's estimates)."""

from __future__ import annotations

from hlsgen.arch.dataflow.cost import RESOURCES, UNITS, estimate, shapes_from_design
from hlsgen.arch.dataflow.design import build_design
from hlsgen.arch.registry import ARCHITECTURES
from hlsgen.errors import HlsgenError

AUTO = "auto"
_LABELS = {"lut": "LUTs", "ff": "FFs", "dsp": "DSPs", "bram18": "BRAM18s"}


def _weights(graph) -> int:
    return sum(int(n.params["weights"].size) for n in graph.nodes if "weights" in n.params)


def _over(est) -> list[str]:
    """'N of the board's M BRAM18s (P%)' for every resource over the board."""
    tot, avail, util = est.totals, est.available, est.utilisation
    return [f"{tot[r]:,} of {est.board.name}'s {avail[r]:,} {_LABELS[r]} ({100 * util[r]:.0f}%)"
            for r in RESOURCES if util[r] > 1]


def choose_arch(graph, board, name: str = "model", clock_mhz: float | None = None,
                folding: dict | None = None) -> tuple[str, str]:
    """("dataflow" | "tiled", the reason): dataflow when its estimate fits the
    board at the given folding, or at the smallest folding (one lane per
    unit); tiled otherwise."""
    design = build_design(graph, name, folding)
    est = estimate(shapes_from_design(design), board, clock_mhz)
    weights = _weights(graph)
    if est.fits():
        return "dataflow", (f"the dataflow design, all {weights:,} weights on chip, fits "
                            f"{board.name} (estimated)")
    smallest = {k.attrs["layer"]: {"simd": 1, "pe": 1} for k in design.kernels
                if k.kind in UNITS}
    small = estimate(shapes_from_design(build_design(graph, name, smallest)), board, clock_mhz)
    if small.fits():
        return "dataflow", (f"the dataflow design fits {board.name} only folded to one lane per "
                            f"layer (at its default folding it needs {'; '.join(_over(est))}); "
                            "generate searches a folding that fits")
    return "tiled", (f"the dataflow design keeps all {weights:,} weights on chip and needs "
                     f"{'; '.join(_over(small))} even at one lane per layer; "
                     "the tiled engine reads its weights from DDR")


def resolve_arch(arch: str, graph, board, name: str, clock_mhz: float | None = None,
                 folding: dict | None = None) -> tuple[str, str]:
    """--arch as given (dataflow, tiled) or chosen (auto), with the reason."""
    if arch != AUTO and arch not in ARCHITECTURES:
        raise HlsgenError(f"--arch '{arch}' is not known; use {', '.join(ARCHITECTURES)} or auto")
    if arch == AUTO:
        return choose_arch(graph, board, name, clock_mhz, folding)
    return arch, "given"
