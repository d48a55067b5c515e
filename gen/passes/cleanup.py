"""Small passes that remove operations which do nothing to the codes."""

from hlsgen.ir.graph import Graph
from hlsgen.passes.lower import retype_consumers
from hlsgen.passes.manager import register


@register("drop_identity_requant")
def drop_identity_requant(graph: Graph) -> bool:
    """A requantization that maps every reachable code to itself, at the same
    binary point, is a no-op (e.g. an input quantizer the input type already
    satisfies)."""
    for node in list(graph.nodes):
        if node.op != "requant":
            continue
        rq = node.attrs["requant"]
        src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
        if src.qtype.frac != dst.qtype.frac or src.qtype.bipolar != dst.qtype.bipolar:
            continue   # +-1 codes to 0/1 codes (or back) change the values they stand for
        if rq["kind"] == "identity" or (
                rq["kind"] == "shift" and rq["shift"] == 0 and
                (rq["lo"] is None or rq["lo"] <= src.lo) and (rq["hi"] is None or rq["hi"] >= src.hi)):
            if dst.qtype != src.qtype and node.outputs[0] in graph.outputs:
                continue
            graph.remove_node(node)
            if dst.qtype != src.qtype:
                # Its consumers now read src's (narrower) type: the ones
                # that pass codes through take it too.
                retype_consumers(graph, src.name)
            return True
    return False


@register("drop_flat_reshapes")
def drop_flat_reshapes(graph: Graph) -> bool:
    """Flatten/Reshape do not move data in a stream that is already in
    row-major (channels-last) order; they only rename the shape."""
    for node in list(graph.nodes):
        if node.op == "reshape" and node.outputs[0] not in graph.outputs:
            graph.remove_node(node)
            return True
    return False
