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
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    inits = [numpy_helper.from_array(np.array(v, np.float32), n)
             for n, v in (("s", 0.125), ("z", 0.0), ("b", in_bits))]
    nodes = [helper.make_node("Quant", ["x", "s", "z", "b"], ["t0"], domain=QONNX_DOMAIN,
                              signed=1, narrow=0, rounding_mode="ROUND", name="in_quant")]
    for i, (op, attrs, consts) in enumerate(ops):
        names = [f"t{i}"]
        for j, c in enumerate(consts):
            inits.append(numpy_helper.from_array(np.asarray(c, np.float32), f"c{i}_{j}"))
            names.append(f"c{i}_{j}")
        domain = QONNX_DOMAIN if op in ("Quant", "BipolarQuant") else ""
        nodes.append(helper.make_node(op, names, [f"t{i + 1}"], name=node_name(op, i),
                                      domain=domain, **attrs))
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT, in_shape)],
                              [helper.make_tensor_value_info(f"t{len(ops)}", TensorProto.FLOAT,
                                                             out_shape)],
                              initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid(QONNX_DOMAIN, 1)])
    onnx.save(model, str(path))
    return path
