"""IR -> IR passes. Each has one job; `run_passes` applies them in order."""

from gen.ir import Graph
from gen.passes.cleanup import drop_identity_requant, drop_flat_reshapes
from gen.passes.lower import lower_types


def run_passes(graph: Graph) -> Graph:
    """Types and bounds every tensor, lowers requantization to integers, then
    removes what became a no-op."""
    lower_types(graph)
    changed = True
    while changed:
        changed = drop_identity_requant(graph) | drop_flat_reshapes(graph)
    return graph
