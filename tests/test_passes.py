"""The passes that decide, for every architecture, what runs fused
(gen/passes/fusion.py), and the IR's one answer to "is the output a class
index?" (Graph.output_is_label). Small IR graphs built by hand: no
TensorFlow, no compiler."""

from __future__ import annotations

import numpy as np
import pytest

from hlsgen.errors import HlsgenError
from hlsgen.ir import golden
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.ir.qtype import QType
from hlsgen.passes import PASSES, ensure_passes, run_passes
from hlsgen.passes.fusion import fused_requant, input_padding, is_absorbed, is_fused
from hlsgen.passes.manager import run_stage


class _Builder:
    """Builds an IR graph the way the frontends do (one node per call)."""

    def __init__(self, shape: tuple):
        self.rng = np.random.default_rng(0)
        self.g = Graph([Node("input", "input", [], ["input"])], {"input": Tensor("input", shape)},
                       ["input"], [])

    def node(self, op, name, inputs, shape, attrs=None, params=None, transient=None) -> str:
        self.g.tensors[name] = Tensor(name, tuple(shape))
        self.g.nodes.append(Node(op, name, list(inputs), [name], attrs or {}, params or {},
                                 transient or {}))
        return name

    def dense(self, name, src, n) -> str:
        w = self.rng.integers(-3, 4, (self.g.tensors[src].size, n))
        return self.node("dense", name, [src], (n,), {"w_frac": 2, "b_frac": 2},
                         {"weights": w, "bias": self.rng.integers(-4, 5, n)})

    def conv(self, name, src, k, shape) -> str:
        cin = self.g.tensors[src].shape[-1]
        w = self.rng.integers(-3, 4, (k * k * cin, shape[-1]))
        return self.node("conv", name, [src], shape,
                         {"kh": k, "kw": k, "sh": 1, "sw": 1, "depthwise": False,
                          "w_frac": 2, "b_frac": 2},
                         {"weights": w, "bias": self.rng.integers(-4, 5, shape[-1])})

    def relu(self, name, src) -> str:
        return self.node("requant", name, [src], self.g.tensors[src].shape,
                         {"source": "relu"}, transient={"relu": True})

    def pad(self, name, src, p) -> str:
        h, w, c = self.g.tensors[src].shape
        return self.node("pad", name, [src], (h + 2 * p, w + 2 * p, c),
                         {"top": p, "bottom": p, "left": p, "right": p})

    def lowered(self, *outputs) -> Graph:
        self.g.outputs = list(outputs)
        self.g.meta["input_qtype"] = QType(4, True, 2).to_dict()
        return run_passes(self.g)


def _node(graph: Graph, name: str) -> Node:
    return next(n for n in graph.nodes if n.name == name)


def _fixed_point(graph: Graph) -> None:
    for name in ("fuse_requant", "absorb_padding"):
        assert PASSES[name](graph) is False, name


# -- fuse_requant ----------------------------------------------------------------

def _mlp() -> _Builder:
    b = _Builder((8,))
    b.relu("r2", b.dense("d2", b.relu("r1", b.dense("d1", "input", 6)), 3))
    return b


def test_requant_after_a_dense_layer_is_fused():
    g = _mlp().lowered("r2")
    assert g.meta["passes"][-1] == "fuse"
    assert fused_requant(g, _node(g, "d1")) is _node(g, "r1")
    # Its own output is the model's output: still computed inside the kernel.
    assert fused_requant(g, _node(g, "d2")) is _node(g, "r2")
    assert is_fused(_node(g, "r1")) and not is_fused(_node(g, "d1"))
    _fixed_point(g)


def test_requant_whose_input_is_also_an_output_is_not_fused():
    g = _mlp().lowered("r2", "d1")
    assert not is_fused(_node(g, "r1")) and fused_requant(g, _node(g, "d1")) is None
    assert is_fused(_node(g, "r2"))
    _fixed_point(g)


def test_requant_sharing_its_input_is_not_fused():
    b = _Builder((8,))
    acc = b.dense("d1", "input", 6)
    b.relu("r1", acc)
    b.node("add", "sum", ["r1", acc], (6,))
    g = b.lowered("sum")
    assert not is_fused(_node(g, "r1")) and fused_requant(g, _node(g, "d1")) is None
    _fixed_point(g)


def test_two_requants_of_one_accumulator_are_not_fused():
    b = _Builder((8,))
    acc = b.dense("d1", "input", 6)
    b.node("add", "sum", [b.relu("r1", acc), b.relu("r2", acc)], (6,))
    g = b.lowered("sum")
    assert not any(is_fused(n) for n in g.nodes)
    _fixed_point(g)


def test_requant_after_a_node_without_a_kernel_to_host_it_is_not_fused():
    b = _Builder((4, 4, 2))
    b.relu("r", b.pad("p", "input", 1))
    g = b.lowered("r")
    assert not is_fused(_node(g, "r"))


def test_fusion_follows_graph_changes():
    g = _mlp().lowered("r2")
    g.outputs.append("d1")
    assert PASSES["fuse_requant"](g) is True          # r1 no longer fuses
    assert not is_fused(_node(g, "r1"))
    assert PASSES["fuse_requant"](g) is False


# -- absorb_padding ----------------------------------------------------------------

def test_padding_before_a_convolution_is_absorbed():
    b = _Builder((4, 4, 2))
    b.relu("r", b.conv("c", b.pad("p", "input", 1), 3, (4, 4, 3)))
    g = b.lowered("r")
    assert is_absorbed(_node(g, "p"))
    assert _node(g, "c").attrs["input_padding"] == {"source": "input", "top": 1, "bottom": 1,
                                                    "left": 1, "right": 1}
    assert input_padding(_node(g, "c")) == ("input", 1, 1)
    assert _node(g, "p") in g.nodes              # the dataflow design still maps it
    _fixed_point(g)


def test_chained_paddings_are_summed():
    b = _Builder((4, 4, 2))
    b.conv("c", b.pad("p2", b.pad("p1", "input", 1), 2), 3, (8, 8, 3))
    g = b.lowered("c")
    assert is_absorbed(_node(g, "p1")) and is_absorbed(_node(g, "p2"))
    assert input_padding(_node(g, "c")) == ("input", 3, 3)
    _fixed_point(g)


def test_padding_feeding_an_add_is_not_absorbed():
    b = _Builder((4, 4, 2))
    p = b.pad("p", "input", 1)
    b.node("add", "sum", [p, b.conv("c", p, 1, (6, 6, 2))], (6, 6, 2))
    g = b.lowered("sum")
    assert not is_absorbed(_node(g, "p"))
    assert input_padding(_node(g, "c")) == ("p", 0, 0)
    _fixed_point(g)


def test_padding_that_is_an_output_is_not_absorbed():
    b = _Builder((4, 4, 2))
    p = b.pad("p", "input", 1)
    b.conv("c", p, 3, (4, 4, 3))
    g = b.lowered("c", "p")
    assert not is_absorbed(_node(g, "p")) and input_padding(_node(g, "c")) == ("p", 0, 0)
    _fixed_point(g)


# -- the graph stays what the executor and graph.save take ------------------------

def test_marked_graph_saves_loads_and_runs(tmp_path):
    b = _Builder((4, 4, 2))
    b.relu("r", b.conv("c", b.pad("p", "input", 1), 3, (4, 4, 3)))
    g = b.lowered("r")
    x = np.random.default_rng(1).integers(-8, 8, (5, 4, 4, 2))
    before = golden.run(g, x)["r"]
    g.save(tmp_path)
    back = Graph.load(tmp_path)
    assert is_fused(_node(back, "r")) and input_padding(_node(back, "c")) == ("input", 1, 1)
    np.testing.assert_array_equal(golden.run(back, x)["r"], before)
    assert run_stage(back, ["fuse_requant", "absorb_padding"]) == 0


def test_graph_saved_without_the_fuse_stage_gets_it(tmp_path):
    b = _mlp()
    g = b.lowered("r2")
    for n in g.nodes:
        n.attrs.pop("fused", None)
    g.meta["passes"].remove("fuse")
    ensure_passes(g)
    assert is_fused(_node(g, "r1")) and g.meta["passes"].count("fuse") == 1
    ensure_passes(g)
    assert g.meta["passes"].count("fuse") == 1


# -- the architectures read the decisions -------------------------------------------

def test_dataflow_runs_fused_requants_inside_their_units():
    from hlsgen.arch.dataflow.design import build_design
    design = build_design(_mlp().lowered("r2"), "mlp")
    assert [k.kind for k in design.kernels if k.kind != "resize"] == ["mvu", "mvu"]
    assert all(k.attrs["requant"]["kind"] != "identity" for k in design.kernels if k.kind == "mvu")


def test_dataflow_maps_an_unfused_requant_as_its_own_kernel():
    from hlsgen.arch.dataflow.design import build_design
    b = _Builder((8,))
    acc = b.dense("d1", "input", 6)
    b.node("add", "sum", [b.relu("r1", acc), acc], (6,))
    kinds = [k.kind for k in build_design(b.lowered("sum"), "res").kernels]
    assert kinds.count("requant") == 1 and "fork" in kinds


def test_tiled_reads_absorbed_padding():
    from hlsgen.arch.tiled.design import _Mapper
    b = _Builder((4, 4, 2))
    b.relu("r", b.conv("c", b.pad("p", "input", 1), 3, (4, 4, 3)))
    m = _Mapper(b.lowered("r"))
    m.map()
    (layer,) = m.layers
    d = layer.desc
    assert (d["pt"], d["pl"], d["ih"], d["iw"], d["in"]) == (1, 1, 4, 4, m.stores["input"].offset)
    assert d["out"] == m.stores["r"].offset and "p" not in m.stores


def test_tiled_refuses_padding_it_cannot_absorb():
    from hlsgen.arch.tiled.design import _Mapper
    b = _Builder((4, 4, 2))
    p = b.pad("p", "input", 1)
    b.node("add", "sum", [p, b.conv("c", p, 1, (6, 6, 2))], (6, 6, 2))
    with pytest.raises(HlsgenError, match="padding 'p' feeds 'sum'"):
        _Mapper(b.lowered("sum")).map()


# -- output_is_label -------------------------------------------------------------------

def test_output_is_label_after_argmax():
    b = _mlp()
    b.node("argmax", "label_select", ["r2"], (1,))
    g = b.lowered("label_select")
    assert g.output_is_label and g.output_scores == "r2"
    codes = np.array([[2], [0]])
    np.testing.assert_array_equal(golden.output_values(g, codes), [[2.0], [0.0]])


def test_output_is_values_without_argmax():
    g = _mlp().lowered("r2")
    assert not g.output_is_label and g.output_scores == "r2"
    frac = g.tensors["r2"].qtype.frac
    np.testing.assert_array_equal(golden.output_values(g, np.array([[4]])), [[4 * 2.0**-frac]])


# -- adds of differently scaled branches (issue 17, item 4) ------------------------

def _scaled_add(muls, mfracs) -> Graph:
    b = _Builder((4,))
    b.node("add", "sum", ["input", "input"], (4,), {"multipliers": muls, "multiplier_fracs": mfracs})
    return b.lowered("sum")


def test_scaled_add_sums_exactly_on_the_finer_grid():
    """Codes x (4 bits, frac 2) at scales 3 * 2**-2 and 5 * 2**-5: the sum
    x*0.75 + x*0.15625 is exact at frac 7, its bounds and type follow, and
    the framework's float32 products and sum are exact here (recorded)."""
    g = _scaled_add([3, 5], [2, 5])
    node, t = _node(g, "sum"), g.tensors["sum"]
    assert node.attrs["shifts"] == [3, 0] and t.qtype.frac == 7
    x = np.arange(-8, 8)[:, None].repeat(4, 1)
    y = golden.run(g, x)["sum"]
    np.testing.assert_array_equal(y * 2.0**-7, x * 2.0**-2 * 0.75 + x * 2.0**-2 * 0.15625)
    assert (t.lo, t.hi) == (int(y.min()), int(y.max()))
    assert t.qtype.lo <= t.lo and t.hi <= t.qtype.hi
    assert node.attrs["float32_exact"] is True
    assert _scaled_add([2**23 + 1, 3], [24, 0]).nodes[-1].attrs["float32_exact"] is False


def test_scaled_add_wider_than_the_accumulator_limit_is_refused():
    with pytest.raises(HlsgenError, match=r"layer 'sum' \(add\): its two branches' scales need "
                                          r"a 66-bit sum .* shared QuantIdentity"):
        _scaled_add([2**40 + 1, 3], [60, 0])
