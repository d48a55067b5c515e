"""Pass `record_compression`: each dense and convolution layer's zero pattern
and distinct weight values, from its integer weight codes, whatever the
framework did to get them (tfmot pruning or clustering, torch.nn.utils.prune,
or zeros from quantization): a pruned or weight-shared model is an ordinary
model whose weights have zeros or few distinct values.

node.attrs["compression"] = {"weights": N, "zeros": Z, "nontrivial": the
weights neither 0 nor +-2^k, "density": (N-Z)/N, "distinct": D, "codebook": the D sorted codes when D <= MAX_CODEBOOK, else
None}. The architectures decide what to do with it (the dataflow
architecture skips all-zero PE x SIMD tiles and stores indices into the
codebook; gen/arch/dataflow/sparse.py, design.py)."""

from __future__ import annotations

import numpy as np

from hlsgen.ir.graph import Graph
from hlsgen.passes.manager import register

MAX_CODEBOOK = 256   # at most 8-bit indices: beyond that a codebook never pays


def trivial(w: np.ndarray) -> np.ndarray:
    """Weights whose product needs no multiplier: 0 and +-2^k (the record's
    "nontrivial" counts the others; the dataflow cost model's constant-weight
    units use the same test)."""
    a = np.abs(np.asarray(w, dtype=np.int64))
    return (a & (a - 1)) == 0


def weight_structure(w: np.ndarray) -> dict:
    """The record above for a weight code array."""
    w = np.asarray(w)
    values = np.unique(w)
    zeros = int(np.count_nonzero(w == 0))
    return {"weights": int(w.size), "zeros": zeros,
            "nontrivial": int(np.count_nonzero(~trivial(w))),
            "density": round((w.size - zeros) / max(1, w.size), 6), "distinct": int(len(values)),
            "codebook": [int(v) for v in values] if len(values) <= MAX_CODEBOOK else None}


@register("record_compression")
def record_compression(graph: Graph) -> bool:
    changed = False
    for n in graph.nodes:
        if n.op not in ("dense", "conv") or "weights" not in n.params:
            continue
        rec = weight_structure(n.params["weights"])
        if n.attrs.get("compression") != rec:
            n.attrs["compression"] = rec
            changed = True
    return changed
