"""IR -> IR passes, each with one job, registered by name (manager.register)
and run by the pass manager in stages, each to a fixed point:

  lower    type every tensor and bound its values, size accumulators, lower
           requantization to integers (lower.py, requant.py)
  cleanup  remove what became a no-op (cleanup.py)

Decisions both architectures need live here, not in their mappers.
"""

from hlsgen.ir.graph import Graph
from hlsgen.passes import cleanup, lower  # noqa: F401  (registers their passes)
from hlsgen.passes.manager import PASSES, is_lowered, register, run_pipeline  # noqa: F401

PIPELINE = [
    ("lower", ["lower_types"]),
    ("cleanup", ["drop_identity_requant", "drop_flat_reshapes"]),
]


def run_passes(graph: Graph) -> Graph:
    """Types and bounds every tensor, lowers requantization to integers, then
    removes what became a no-op."""
    return run_pipeline(graph, PIPELINE)
