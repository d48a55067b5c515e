"""Tiny hand-written QONNX graphs for the frontend tests: the model's input
through an input quantizer, then a chain of operations."""

from __future__ import annotations

import numpy as np

QONNX_DOMAIN = "qonnx.custom_op.general"


def qonnx_file(path, ops, in_shape=(1, 4), in_bits=8.0, out_shape=None,
               node_name=lambda op, i: f"my_{op.lower()}"):
    """x -> Quant(in_bits, scale 1/8) -> ops...; each op is (type, attrs,
    consts), chained on the previous output (a Quant's consts: scale, zero
    point, bits). Writes the model to `path` and returns it."""
    consts = {}
    nodes = [("Quant", ["x", "s", "z", "b"], "t0", {"name": "in_quant"})]
    consts.update(s=0.125, z=0.0, b=in_bits)
    for i, (op, attrs, cs) in enumerate(ops):
        names = [f"t{i}"]
        for j, c in enumerate(cs):
            consts[f"c{i}_{j}"] = c
            names.append(f"c{i}_{j}")
        nodes.append((op, names, f"t{i + 1}", {"name": node_name(op, i), **attrs}))
    return qonnx_graph(path, nodes, consts, in_shape, f"t{len(ops)}", out_shape)


def qonnx_graph(path, nodes, consts, in_shape, out, out_shape=None):
    """A QONNX model of `nodes` ((type, inputs, output, attrs with "name"))
    reading "x" of in_shape, constants `consts` (name -> float32 values),
    output `out`. Writes it to `path` and returns it."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in consts.items()]
    made = []
    for op, inputs, output, attrs in nodes:
        if op == "Quant":
            attrs = {"signed": 1, "narrow": 0, "rounding_mode": "ROUND", **attrs}
        domain = QONNX_DOMAIN if op in ("Quant", "BipolarQuant") else ""
        made.append(helper.make_node(op, list(inputs), [output], domain=domain, **attrs))
    graph = helper.make_graph(made, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(out, TensorProto.FLOAT, out_shape)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(QONNX_DOMAIN, 1)])
    onnx.save(model, str(path))
    return path
