"""Which IR nodes run inside another node's kernel: decisions every
architecture reads instead of making its own. The nodes stay in the graph
(the golden executor still runs them one by one); only marks are added, as
JSON attributes that graph.save keeps.

  fuse_requant    a requantization runs inside the kernel that produces its input
  absorb_padding  a zero padding is absorbed by the convolutions/poolings reading it
"""

from __future__ import annotations

from hlsgen.ir.graph import Graph, Node
from hlsgen.passes.manager import register

# Kernels whose output lanes can be requantized before they leave the kernel.
REQUANT_HOSTS = ("dense", "conv", "pool", "add")
# Operations that read their input through a window and can add the zeros.
PAD_READERS = ("conv", "pool")


# -- requantization ------------------------------------------------------------

def _can_fuse(graph: Graph, rq: Node) -> bool:
    """A requant fuses into its producer when it is the producer's only
    reader: the accumulator then never leaves the kernel (a graph output
    also reads it)."""
    producer = graph.producer(rq.inputs[0])
    acc = rq.inputs[0]
    return (producer is not None and producer.op in REQUANT_HOSTS
            and graph.consumers(acc) == [rq] and acc not in graph.outputs)


@register("fuse_requant")
def fuse_requant(graph: Graph) -> bool:
    """Marks (attrs["fused"]) every requantization that runs inside the
    kernel of the node producing its input; unmarks one that no longer can."""
    changed = False
    for node in graph.nodes:
        if node.op != "requant":
            continue
        fused = _can_fuse(graph, node)
        if node.attrs.get("fused", False) != fused:
            node.attrs["fused"] = fused
            changed = True
    return changed


def is_fused(node: Node) -> bool:
    """Whether `node` is a requantization that runs inside its producer's kernel."""
    return node.op == "requant" and node.attrs.get("fused", False)


def fused_requant(graph: Graph, node: Node) -> Node | None:
    """The requantization that runs inside `node`'s kernel, if any."""
    readers = graph.consumers(node.outputs[0])
    return readers[0] if len(readers) == 1 and is_fused(readers[0]) else None


# -- padding -------------------------------------------------------------------

def _absorbable(graph: Graph, pad: Node) -> bool:
    """A padding disappears when every reader adds the zeros itself: a
    convolution or pooling, or a padding that is itself absorbed."""
    out = pad.outputs[0]
    readers = graph.consumers(out)
    return out not in graph.outputs and all(
        r.op in PAD_READERS or (r.op == "pad" and r.attrs.get("absorbed", False)) for r in readers)


def _input_padding(graph: Graph, node: Node) -> dict | None:
    """The absorbed paddings between `node` and the tensor it really reads,
    summed: {"source", "top", "bottom", "left", "right"}; None without any."""
    tensor, total = node.inputs[0], None
    pad = graph.producer(tensor)
    while pad is not None and pad.op == "pad" and pad.attrs.get("absorbed", False):
        total = total or {"top": 0, "bottom": 0, "left": 0, "right": 0}
        for side in total:
            total[side] += pad.attrs[side]
        tensor = pad.inputs[0]
        pad = graph.producer(tensor)
    return None if total is None else {"source": tensor, **total}


@register("absorb_padding")
def absorb_padding(graph: Graph) -> bool:
    """Marks (attrs["absorbed"]) every padding whose readers all add its zeros
    themselves, and records on each convolution/pooling the padding it
    absorbs and the unpadded tensor it reads (attrs["input_padding"]). The
    pads stay in the graph: an architecture may still run them as kernels."""
    changed = False
    for node in reversed(graph.nodes):   # readers first: chains of paddings in one sweep
        if node.op == "pad":
            absorbed = _absorbable(graph, node)
            if node.attrs.get("absorbed", False) != absorbed:
                node.attrs["absorbed"] = absorbed
                changed = True
    for node in graph.nodes:
        if node.op in PAD_READERS:
            padding = _input_padding(graph, node)
            if node.attrs.get("input_padding") != padding:
                node.attrs["input_padding"] = padding
                changed = True
    return changed


def is_absorbed(node: Node) -> bool:
    """Whether `node` is a padding its readers absorb."""
    return node.op == "pad" and node.attrs.get("absorbed", False)


def input_padding(node: Node) -> tuple[str, int, int]:
    """(tensor really read, top padding, left padding) of a node's input."""
    p = node.attrs.get("input_padding")
    return (node.inputs[0], 0, 0) if p is None else (p["source"], p["top"], p["left"])
