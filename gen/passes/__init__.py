"""IR -> IR passes, each with one job, registered by name (manager.register)
and run by the pass manager in stages, each to a fixed point:

  lower    type every tensor and bound its values, size accumulators, lower
           requantization to integers (lower.py, requant.py; exact_float.py
           proves float operations that no quantizer follows exact on the
           codes they read and makes them integer)
  cleanup  remove what became a no-op, fold the input preprocessing into
           the first layer where it keeps the weights (cleanup.py)
  fuse     mark what runs inside another node's kernel (fusion.py):
           fuse_requant (a requantization inside its producer's kernel),
           absorb_padding (a zero padding inside the convolutions/poolings
           reading it); and record_compression, each layer's zero pattern
           and distinct weight values (compression.py)

Decisions both architectures need live here, not in their mappers.
"""

from hlsgen.ir.graph import Graph
from hlsgen.passes import cleanup, compression, fusion, lower  # noqa: F401  (registers their passes)
from hlsgen.passes.manager import PASSES, is_lowered, register, run_pipeline  # noqa: F401

PIPELINE = [
    ("lower", ["lower_types"]),
    ("cleanup", ["drop_identity_requant", "drop_flat_reshapes", "fold_preprocessing"]),
    ("fuse", ["fuse_requant", "absorb_padding", "record_compression"]),
]


def run_passes(graph: Graph) -> Graph:
    """Types and bounds every tensor, lowers requantization to integers,
    removes what became a no-op, then marks what runs fused."""
    return run_pipeline(graph, PIPELINE)


def ensure_passes(graph: Graph) -> Graph:
    """Runs the stages of PIPELINE that `graph` has not had: a graph saved by
    an older hlsgen lacks the later ones, which the architectures read."""
    done = graph.meta.get("passes", [])
    return run_pipeline(graph, [stage for stage in PIPELINE if stage[0] not in done])
