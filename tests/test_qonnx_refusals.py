"""Every refusal of the QONNX and Brevitas frontends (issue 17, item 6): each
`raise HlsgenError(...)` in gen/frontends/qonnx/*.py and
gen/frontends/brevitas/loader.py is triggered here, or in the test that REFUSALS
names, through the public path (hlsgen.flow.generate or the CLI), and its
message names the node and/or the op, and the fix; nothing is written.

REFUSALS maps the first literal words of each message to the test that
triggers it; test_every_refusal_has_a_test fails when a new refusal appears
without one."""

import ast
import importlib
import os
import re
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from test_errors import assert_nothing_written, assert_user_error

onnx = pytest.importorskip("onnx")

ROOT = Path(__file__).resolve().parents[1]
SOURCES = sorted((ROOT / "gen" / "frontends" / "qonnx").glob("*.py")) + [
    ROOT / "gen" / "frontends" / "brevitas" / "loader.py"]

# The first literal words of each message (its first literal of three words or
# more) -> the test that triggers it.
REFUSALS = {
    # env.py
    "; install them with: pip install 'hlsgen[brevitas]'": "test_missing_onnxruntime",
    # layers.py
    "its weights are not quantized": "graph[weights_not_quantized]",
    "its weight scale varies along the input axis": "graph[weight_scale_varies_on_input]",
    "its input has per-channel float scales": "graph[conv_input_per_channel_scales]",
    "Gemm with transA, alpha or beta is not supported": "graph[gemm_transA]",
    "-D tensor is not supported; flatten its input first": "graph[matmul_on_image]",
    "weights of shape": "graph[weights_not_a_matrix]",
    "only 1-D and 2-D convolutions are supported": "graph[conv3d]",
    "is not supported; use 1": "graph[conv_dilation]",
    "grouped convolution (groups=": "graph[grouped_conv]",
    "negative padding (cropping) is not supported": "graph[pad_negative]",
    "Pad with explicit axes is not supported": "graph[pad_axes]",
    "only zero padding of the spatial axes is supported": "graph[pad_reflect]",
    "pooling needs a 1-D signal or an image": "graph[pool_on_flat]",
    "pooling with padding or dilation is not supported": "graph[pool_pads]",
    "pooling with auto_pad is not supported": "graph[pool_auto_pad]",
    "max-pooling with ceil_mode on a size that does not divide": "graph[maxpool_ceil]",
    "average pooling with ceil_mode on a size that does not divide": "graph[avgpool_ceil]",
    "ReduceMean over axes": "graph[reducemean_channels]",
    # predict.py
    "test data has shape": "test_qonnx_reader::test_test_data_in_the_wrong_layout",
    # quant.py
    "Quant with bit width": "graph[quant_fractional_bits]",
    "Quant with a scale that is not positive and finite": "graph[quant_negative_scale]",
    "Quant with a non-integer zero point": "graph[quant_fractional_zero]",
    "1-bit signed Quant (binarized, +-1) with a non-zero zero point":
        "test_qonnx_reader::test_graph_errors_name_the_node_and_the_fix",
    "per-channel activation scales or zero points are not supported": "graph[quant_per_channel_act]",
    "BipolarQuant with a scale that is not positive and finite":
        "test_qonnx_reader::test_graph_errors_name_the_node_and_the_fix",
    "with per-channel activation scales is not supported": "graph[bipolar_per_channel]",
    "inputs is not supported": "graph[trunc_three_inputs]",
    "Trunc with per-channel scales or a zero point": "graph[trunc_zero_point]",
    # preprocess.py (and gen/passes/exact_float.py: tests/test_exact_float.py)
    "computes in floating point on the model's input and its output reaches":
        "test_input_preprocessing::test_a_batch_norm_on_the_input_is_refused",
    # reader.py
    "; export the model with brevitas.export.export_qonnx": "graph[quant_without_bit_width]",
    "Add): an input has per-channel float scales and the other a different scale":
        "test_qonnx_reader::test_add_of_per_channel_and_other_float_scales_is_refused",
    "model file '": "test_missing_model_file",
    "cannot read '": "test_not_an_onnx_file",
    "qonnx cannot clean up '": "graph[cleanup_fails]",
    "has no producer; the graph is not a valid QONNX model": "graph[no_producer]",
    # layers.py: transposed convolutions and resizing (tests/test_resample.py for the rest)
    "only 2-D transposed convolutions are supported": "graph[conv_transpose_1d]",
    "a transposed convolution with groups, dilation": "graph[conv_transpose_groups]",
    "is not supported; hlsgen resizes images by whole factors (nearest)": "graph[resize_not_whole]",
    "Resize that does not repeat each pixel":
        "test_resample::test_resize_that_is_not_a_repeat_is_refused",
    "is computed at run time; hlsgen needs it constant": "graph[batchnorm_parameter_at_run_time]",
    "computes on constants only; fold them before export": "graph[constants_only]",
    "reads channels-last (NHWC) data made by a Transpose inside the graph":
        "test_qonnx_converted (channels-last refusal)",
    "a constant of shape": "graph[constant_on_nhwc], graph[constant_bad_shape]",
    "its constant varies over positions": "graph[constant_varies]",
    "outputs; --output argmax selects one class index": "graph[two_outputs]",
    "is channels-last (NHWC) transposed at the graph's boundary": "test_multi_io::test_qonnx_refusals",
    "repeats another output or an input": "test_multi_io::test_qonnx_refusals",
    "computes in floating point on input '": "test_multi_io::test_qonnx_refusals",
    "is not supported; supported:": "test_qonnx_reader::test_unsupported_op_one_line_exit_2_nothing_written",
    "the model's output does not depend on its input": "graph[output_without_input]",
    "the model's output has per-channel float scales": "graph[output_per_channel_scales]",
    "; hlsgen needs a batch dimension of 1 first": "graph[input_batch_2]",
    "computes in floating point on the model's output image": "graph[float_on_output_image]",
    "computes in floating point and its output reaches":
        "test_qonnx_reader::test_graph_errors_name_the_node_and_the_fix",
    "batch-norm needs a channel axis": "graph[batchnorm_on_scalar]",
    "of two activations is not supported": "graph[mul_of_two_activations]",
    "only division by a constant is supported": "graph[constant_divided_by_activation]",
    "tensors; hlsgen takes two": "graph[concat_of_three]",
    "of flattened image data is not supported": "graph[add_of_flattened_images]",
    "of channels-last (NHWC) data made by a Transpose inside the graph is not supported":
        "graph[add_of_nhwc]",
    "adds tensors of shapes": "graph[add_of_different_shapes]",
    "concatenation on axis": "graph[concat_axis_0]",
    "is not supported; only flattening to (N, features)": "graph[reshape_to_image]",
    "flattening data with per-channel float scales": "graph[flatten_per_channel_scales]",
    "Flatten with axis other than 1 is not supported": "graph[flatten_axis_2]",
    "changes the batch axis": "graph[reshape_batch]",
    "inside the graph is not supported; hlsgen takes NCHW <-> NHWC":
        "test_qonnx_reader::test_graph_errors_name_the_node_and_the_fix",
    # brevitas/loader.py
    "Brevitas' QONNX export needs the onnxoptimizer package":
        "test_qonnx_reader::test_missing_onnxoptimizer_is_a_clear_error",
    "Brevitas' QONNX export needs onnx and onnxoptimizer":
        "test_qonnx_reader::test_missing_onnxoptimizer_is_a_clear_error",
    "Brevitas cannot export the model to QONNX": "test_module_that_cannot_export",
    "is not understood; give the model's input shape": "test_qonnx_reader::test_bad_module_specs",
    "does not exist; give the model as path/to/file.py:function": "test_qonnx_reader::test_bad_module_specs",
    "needs --input-shape (with the batch dimension": "test_qonnx_reader::test_bad_module_specs",
    "has no function '": "test_qonnx_reader::test_bad_module_specs",
    "building the model with": "test_checkpoint_and_build_errors",
    ", not a torch.nn.Module": "test_qonnx_reader::test_bad_module_specs",
    "does not exist; give the file saved with torch.save": "test_checkpoint_and_build_errors",
    "cannot read checkpoint '": "test_checkpoint_and_build_errors",
    "does not fit the model (": "test_checkpoint_and_build_errors",
}


def _message_prefixes(path: Path) -> list:
    """The first literal words of every `raise HlsgenError(...)` message."""
    out = []
    for node in ast.walk(ast.parse(path.read_text())):
        if not (isinstance(node, ast.Raise) and isinstance(node.exc, ast.Call)
                and getattr(node.exc.func, "id", None) == "HlsgenError"):
            continue
        arg = node.exc.args[0]
        parts = arg.values if isinstance(arg, ast.JoinedStr) else [arg]
        if isinstance(arg, ast.BinOp):     # "..." + (...)
            left = arg.left
            parts = left.values if isinstance(left, ast.JoinedStr) else [left]
        literals = [_norm(p.value) for p in parts
                    if isinstance(p, ast.Constant) and isinstance(p.value, str) and _norm(p.value)]
        # the first literal of three words or more (else the first one): distinctive
        words = next((w for w in literals if len(w.split()) >= 3), literals[0] if literals else "")
        out.append((f"{path.name}:{node.lineno}", words))
    return out


def _norm(words: str) -> str:
    return words.strip().lstrip(":'() ").strip()


def test_every_refusal_has_a_test():
    """A new refusal without an entry in REFUSALS (and so a test) fails here."""
    found = [m for p in SOURCES for m in _message_prefixes(p)]
    assert len(found) >= 70, found
    keys = [_norm(k) for k in REFUSALS]
    missing = [(where, words) for where, words in found
               if not words or not any(_norm(words).startswith(k) for k in keys)]
    assert missing == [], f"refusals without a test (add them to REFUSALS): {missing}"
    stale = [k for k in keys if not any(_norm(w).startswith(k) for _, w in found)]
    assert stale == [], f"REFUSALS entries that match no message: {stale}"
    for test_id in REFUSALS.values():
        for case in re.findall(r"graph\[(\w+)\]", test_id):
            assert case in GRAPHS, test_id


# -- hand-built QONNX graphs --------------------------------------------------------

QDOMAIN = "qonnx.custom_op.general"


class G:
    """A tiny QONNX graph: x -> Quant 'in_quant' -> 'q', then the nodes added."""

    def __init__(self, in_shape=(1, 4), in_quant=True, opset=13):
        from onnx import TensorProto, helper
        self.h, self.tp = helper, TensorProto
        self.in_shape, self.opset = in_shape, opset
        self.nodes, self.inits, self.outputs, self.n = [], [], [], 0
        if in_quant:
            self.node("Quant", ["x", self.c(0.125), self.c(0.0), self.c(8.0)], name="in_quant",
                      out="q", signed=1, narrow=0, rounding_mode="ROUND")

    def c(self, value, dtype=np.float32):
        from onnx import numpy_helper
        name = f"c{len(self.inits)}"
        self.inits.append(numpy_helper.from_array(np.asarray(value, dtype), name))
        return name

    def node(self, op, inputs, name=None, out=None, domain=None, **attrs):
        self.n += 1
        out = out or f"t{self.n}"
        domain = domain or (QDOMAIN if op in ("Quant", "BipolarQuant", "Trunc") else "")
        self.nodes.append(self.h.make_node(op, inputs, [out], name=name or f"my_{op.lower()}",
                                           domain=domain, **attrs))
        return out

    def wq(self, w, scale=0.25, bits=4.0, name="w_quant"):
        """Quantized weights: Quant(constant)."""
        return self.node("Quant", [self.c(w), self.c(scale), self.c(0.0), self.c(bits)], name=name,
                         signed=1, narrow=0, rounding_mode="ROUND")

    def save(self, path, outputs):
        h = self.h
        graph = h.make_graph(self.nodes, "g", [h.make_tensor_value_info("x", self.tp.FLOAT, self.in_shape)],
                             [h.make_tensor_value_info(o, self.tp.FLOAT, None) for o in outputs],
                             initializer=self.inits)
        model = h.make_model(graph, opset_imports=[h.make_opsetid("", self.opset),
                                                   h.make_opsetid(QDOMAIN, 1)])
        onnx.save(model, str(path))
        return path


IMG = (1, 2, 4, 4)


def _weights_not_quantized(g):
    return g.node("MatMul", ["q", g.c(np.ones((4, 3)))], name="fc1")


def _weight_scale_varies_on_input(g):
    return g.node("MatMul", ["q", g.wq(np.ones((4, 3)), scale=np.array([[0.5], [0.25], [0.5], [0.5]]))],
                  name="fc1")


def _two_scales(g):
    """Channels of two float scales side by side (a concat): a per-channel scale."""
    branches = [g.node("Quant", ["q", g.c(s), g.c(0.0), g.c(4.0)], name=f"quant_{k}", signed=1,
                       narrow=0, rounding_mode="ROUND") for k, s in enumerate((0.375, 0.625))]
    return g.node("Concat", branches, name="cat1", axis=1)


def _conv_input_per_channel_scales(g):
    return g.node("Conv", [_two_scales(g), g.wq(np.ones((2, 4, 1, 1)))], name="conv1",
                  kernel_shape=[1, 1])


def _gemm_transA(g):
    return g.node("Gemm", ["q", g.wq(np.ones((1, 3)))], name="fc1", transA=1)


def _matmul_on_image(g):
    return g.node("MatMul", ["q", g.wq(np.ones((4, 3)))], name="fc1")


def _weights_not_a_matrix(g):
    return g.node("MatMul", ["q", g.wq(np.ones((2, 4, 3)))], name="fc1")


def _conv(g, w_shape, name="conv1", **attrs):
    return g.node("Conv", ["q", g.wq(np.ones(w_shape))], name=name, **attrs)


def _pad(g, pads, extra=(), **attrs):
    return g.node("Pad", ["q", g.c(np.array(pads), np.int64), *extra], name="pad1", **attrs)


def _quant(g, scale=0.5, zero=0.0, bits=4.0, op="Quant", name="act_quant"):
    ins = ["q", g.c(scale)] + ([] if op == "BipolarQuant" else [g.c(zero), g.c(bits)])
    attrs = {} if op == "BipolarQuant" else {"signed": 1, "narrow": 0, "rounding_mode": "ROUND"}
    return g.node(op, ins, name=name, **attrs)


def _trunc(g, ins):
    return g.node("Trunc", ["q", *[g.c(v) for v in ins]], name="trunc1", rounding_mode="FLOOR")


def _cleanup_fails(g):
    return g.node("NoSuchCustomOp", ["q"], name="mystery", domain=QDOMAIN)


def _no_producer(g):
    g.node("Relu", ["q"], name="relu1")
    return g.node("Add", ["q", "ghost"], name="add1")


def _batchnorm_parameter_at_run_time(g):
    one = g.c(np.ones(4))
    return g.node("BatchNormalization", ["q", _relu(g), one, one, one], name="bn1")


def _relu(g, src="q", name=None):
    return g.node("Relu", [src], name=name or f"relu{g.n + 1}")


def _constants_only(g):
    r = g.node("Relu", [g.wq(np.ones((1, 4)))], name="const_relu")
    return g.node("Add", ["q", r], name="add1")


def _nhwc(g):
    return g.node("Transpose", ["q"], name="to_nhwc", perm=[0, 2, 3, 1])


def _constant_on_nhwc(g):
    return g.node("Mul", [_nhwc(g), g.c(np.full((1, 4, 1, 1), 0.5))], name="scale1")


def _constant_bad_shape(g):
    return g.node("Mul", ["q", g.c(np.full((4, 1), 0.5))], name="scale1")


def _constant_varies(g):
    return g.node("Mul", ["q", g.c(np.arange(1, 33).reshape(IMG) / 32.0)], name="scale1")


def _output_without_input(g):
    return g.wq(np.ones((1, 4)), name="lonely_quant")


def _output_per_channel_scales(g):
    return _two_scales(g)


def _float_on_output_image(g):
    return g.node("Mul", [_conv(g, (2, 2, 1, 1), kernel_shape=[1, 1]), g.c(0.3)], name="scale1")


def _float_bias_at_output(g):
    b = g.wq(np.array([1.0, 2.0, 3.0]), scale=0.3, bits=8.0, name="b_quant")
    return g.node("Gemm", ["q", g.wq(np.ones((4, 3))), b], name="fc1")


def _batchnorm_on_scalar(g):
    one = g.c(np.ones(1))
    return g.node("BatchNormalization", ["q", one, one, one, one], name="bn1")


def _concat_of_three(g):
    return g.node("Concat", [_relu(g), _relu(g), _relu(g)], name="cat1", axis=1)


def _add_of_flattened_images(g):
    return g.node("Add", [g.node("Flatten", ["q"], name="flat1", axis=1),
                          g.node("Flatten", ["q"], name="flat2", axis=1)], name="add1")


def _add_of_nhwc(g):
    t = _nhwc(g)
    u = g.node("Transpose", ["q"], name="to_nhwc2", perm=[0, 2, 3, 1])
    return g.node("Add", [t, u], name="add1")


def _add_of_different_shapes(g):
    p = g.node("MaxPool", ["q"], name="pool1", kernel_shape=[4, 4])
    return g.node("Add", ["q", p], name="add1")


def _reshape(g, shape):
    return g.node("Reshape", ["q", g.c(np.array(shape), np.int64)], name="reshape1")


def _flatten_per_channel_scales(g):
    return g.node("Flatten", [_two_scales(g)], name="flat1", axis=1)


# name -> (graph builder, input shape, opset, words the message must hold)
GRAPHS = {
    "weights_not_quantized": (_weights_not_quantized, (1, 4), 13, ["'fc1'", "MatMul", "Quant node"]),
    "weight_scale_varies_on_input": (_weight_scale_varies_on_input, (1, 4), 13,
                                     ["'fc1'", "per-output-channel"]),
    "conv_input_per_channel_scales": (_conv_input_per_channel_scales, IMG, 13,
                                      ["'conv1'", "QuantIdentity"]),
    "gemm_transA": (_gemm_transA, (1, 4), 13, ["'fc1'", "Gemm", "plain linear layer"]),
    "matmul_on_image": (_matmul_on_image, (1, 2, 3, 4), 13, ["'fc1'", "MatMul", "flatten"]),
    "weights_not_a_matrix": (_weights_not_a_matrix, (1, 4), 13, ["'fc1'", "not a matrix"]),
    "conv3d": (lambda g: _conv(g, (2, 1, 1, 1, 1), kernel_shape=[1, 1, 1]), (1, 1, 2, 2, 2), 13,
               ["'conv1'", "1-D and 2-D"]),
    "conv_dilation": (lambda g: _conv(g, (2, 2, 2, 2), kernel_shape=[2, 2], dilations=[2, 2]), IMG, 13,
                      ["'conv1'", "dilation", "use 1"]),
    "grouped_conv": (lambda g: _conv(g, (4, 1, 1, 1), kernel_shape=[1, 1], group=2), (1, 2, 4, 4), 13,
                     ["'conv1'", "groups=2", "depthwise"]),
    "pad_negative": (lambda g: _pad(g, [0, 0, -1, 0, 0, 0, 0, 0]), IMG, 13, ["'pad1'", "negative padding"]),
    "pad_axes": (lambda g: _pad(g, [1, 1], [g.c(0.0), g.c(np.array([2]), np.int64)]), IMG, 18,
                 ["'pad1'", "explicit axes"]),
    "pad_reflect": (lambda g: _pad(g, [0, 0, 1, 1, 0, 0, 1, 1], mode="reflect"), IMG, 13,
                    ["'pad1'", "zero padding"]),
    "pool_on_flat": (lambda g: g.node("GlobalAveragePool", [g.node("Flatten", ["q"], name="flat1")],
                                      name="gap1"), (1, 4, 2), 13, ["'gap1'", "1-D signal or an image"]),
    "pool_pads": (lambda g: g.node("MaxPool", ["q"], name="pool1", kernel_shape=[2, 2], pads=[1, 1, 1, 1]),
                  IMG, 13, ["'pool1'", "padding=0"]),
    "pool_auto_pad": (lambda g: g.node("MaxPool", ["q"], name="pool1", kernel_shape=[2, 2],
                                       auto_pad="SAME_UPPER"), IMG, 13, ["'pool1'", "auto_pad"]),
    "maxpool_ceil": (lambda g: g.node("MaxPool", ["q"], name="pool1", kernel_shape=[2, 2], strides=[2, 2],
                                      ceil_mode=1), (1, 2, 5, 5), 13, ["'pool1'", "ceil_mode"]),
    "avgpool_ceil": (lambda g: g.node("AveragePool", ["q"], name="pool1", kernel_shape=[2, 2],
                                      strides=[2, 2], ceil_mode=1), (1, 2, 5, 5), 13,
                     ["'pool1'", "ceil_mode"]),
    "reducemean_channels": (lambda g: g.node("ReduceMean", ["q"], name="mean1", axes=[1]), IMG, 13,
                            ["'mean1'", "ReduceMean", "global average pooling"]),
    "quant_fractional_bits": (lambda g: _quant(g, bits=2.5), (1, 4), 13, ["'act_quant'", "bit width"]),
    "quant_negative_scale": (lambda g: _quant(g, scale=-0.5), (1, 4), 13, ["'act_quant'", "positive"]),
    "quant_without_bit_width": (lambda g: g.node("Quant", ["q", g.c(0.5), g.c(0.0)], name="act_quant",
                                                 signed=1, narrow=0, rounding_mode="ROUND"),
                                (1, 4), 13, ["'act_quant'", "Quant", "bit width", "export_qonnx"]),
    "quant_fractional_zero": (lambda g: _quant(g, zero=0.5), (1, 4), 13, ["'act_quant'", "zero point"]),
    "quant_per_channel_act": (lambda g: _quant(g, scale=np.array([[0.5, 0.25, 0.5, 0.5]])), (1, 4), 13,
                              ["'act_quant'", "per-tensor activation quantizer"]),
    "bipolar_per_channel": (lambda g: _quant(g, scale=np.array([[0.5, 0.25, 0.5, 0.5]]), op="BipolarQuant"),
                            (1, 4), 13, ["'act_quant'", "BipolarQuant", "per-tensor"]),
    "trunc_three_inputs": (lambda g: _trunc(g, [0.125, 0.0]), (1, 4), 13, ["'trunc1'", "Trunc"]),
    "trunc_zero_point": (lambda g: _trunc(g, [0.125, 1.0, 8.0, 4.0]), (1, 4), 13,
                         ["'trunc1'", "zero point"]),
    "cleanup_fails": (_cleanup_fails, (1, 4), 13, ["qonnx cannot clean up", "NoSuchCustomOp", "export_qonnx"]),
    "no_producer": (_no_producer, (1, 4), 13, ["'ghost'", "no producer"]),
    "batchnorm_parameter_at_run_time": (_batchnorm_parameter_at_run_time, (1, 4), 13,
                                        ["'bn1'", "BatchNormalization", "constant"]),
    "constants_only": (_constants_only, (1, 4), 13, ["'const_relu'", "Relu", "constants only", "fold them"]),
    "constant_on_nhwc": (_constant_on_nhwc, IMG, 13, ["'scale1'", "Mul", "channels-first"]),
    "constant_bad_shape": (_constant_bad_shape, (1, 4), 13, ["'scale1'", "Mul", "one value per channel"]),
    "constant_varies": (_constant_varies, IMG, 13, ["'scale1'", "Mul", "one value per channel"]),
    "two_outputs": (None, (1, 4), 13, ["2 outputs", "--output argmax", "--output logits"]),
    "output_without_input": (_output_without_input, (1, 4), 13, ["does not depend on its input"]),
    "output_per_channel_scales": (_output_per_channel_scales, (1, 4), 13, ["'cat1'", "QuantIdentity"]),
    "input_batch_2": (lambda g: g.node("Relu", ["q"], name="relu1"), (2, 4), 13, ["batch", "(1, C, H, W)"]),
    "float_on_output_image": (_float_on_output_image, IMG, 13, ["'scale1'", "quantizer or a flatten"]),
    # (gen/passes/exact_float.py's message: the bias is not exact in float32)
    "float_bias_at_output": (_float_bias_at_output, (1, 4), 13, ["'fc1'", "float bias", "float32 rounds",
                                                                 "QuantIdentity"]),
    "batchnorm_on_scalar": (_batchnorm_on_scalar, (1,), 13, ["'bn1'", "channel axis"]),
    "mul_of_two_activations": (lambda g: g.node("Mul", [_relu(g), _relu(g)], name="mul1"), (1, 4), 13,
                               ["'mul1'", "Mul", "constant"]),
    "constant_divided_by_activation": (lambda g: g.node("Div", [g.c(1.0), "q"], name="div1"), (1, 4), 13,
                                       ["'div1'", "division by a constant"]),
    "concat_of_three": (_concat_of_three, (1, 4), 13, ["'cat1'", "concat of 3", "two"]),
    "add_of_flattened_images": (_add_of_flattened_images, IMG, 13, ["'add1'", "flattened image"]),
    "add_of_nhwc": (_add_of_nhwc, IMG, 13, ["'add1'", "channels-first"]),
    "add_of_different_shapes": (_add_of_different_shapes, IMG, 13, ["'add1'", "must be equal"]),
    "concat_axis_0": (lambda g: g.node("Concat", ["q", "q"], name="cat1", axis=0), (1, 4), 13,
                      ["'cat1'", "axis 1"]),
    "reshape_to_image": (lambda g: _reshape(g, [1, 2, 2]), (1, 4), 13, ["'reshape1'", "flattening"]),
    "flatten_per_channel_scales": (_flatten_per_channel_scales, IMG, 13, ["'flat1'", "QuantIdentity"]),
    "flatten_axis_2": (lambda g: g.node("Flatten", ["q"], name="flat1", axis=2), IMG, 13,
                       ["'flat1'", "Flatten", "axis"]),
    "reshape_batch": (lambda g: _reshape(g, [2, 2]), (1, 4), 13, ["'reshape1'", "batch axis"]),
    "conv_transpose_1d": (lambda g: g.node("ConvTranspose", ["q", g.wq(np.ones((2, 3, 3)))],
                                           name="tconv1", kernel_shape=[3]), (1, 2, 6), 13,
                          ["'tconv1'", "2-D transposed", "ConvTranspose2d"]),
    "conv_transpose_groups": (lambda g: g.node("ConvTranspose", ["q", g.wq(np.ones((2, 1, 3, 3)))],
                                               name="tconv1", kernel_shape=[3, 3], group=2), IMG, 13,
                              ["'tconv1'", "groups", "explicit pads"]),
    "resize_not_whole": (lambda g: g.node("Resize", ["q", "", g.c([1.0, 1.0, 1.5, 1.5])],
                                          name="resize1", mode="nearest"), IMG, 13,
                         ["'resize1'", "whole factors"]),
}


# With logits, the bias and the scales run on the host.
GEN_KW = {"float_bias_at_output": {"output": "argmax"}, "output_per_channel_scales": {"output": "argmax"},
          "two_outputs": {"output": "argmax"}}


def _build(tmp_path, name):
    build, shape, opset, _ = GRAPHS[name]
    g = G(shape, opset=opset)
    if name == "two_outputs":
        a = g.node("Relu", ["q"], name="relu1")
        b = g.node("Relu", ["q"], name="relu2")
        return g.save(tmp_path / "m.onnx", [a, b])
    return g.save(tmp_path / "m.onnx", [build(g)])


@pytest.mark.parametrize("name", sorted(GRAPHS))
def test_graph_refusals(tmp_path, name):
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    path = _build(tmp_path, name)
    with pytest.raises(HlsgenError) as e:
        generate(str(path), tmp_path / "prj", **GEN_KW.get(name, {}))
    msg = str(e.value)
    for w in GRAPHS[name][3]:
        assert w in msg, msg
    assert "\n" not in msg
    assert_nothing_written(tmp_path / "prj")


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ))


def test_graph_refusal_at_the_cli(tmp_path):
    """The same refusals at the command line: exit 2, one line, no traceback."""
    path = _build(tmp_path, "conv_dilation")
    proc = _cli("generate", path, "--out", tmp_path / "prj")
    assert_user_error(proc, "'conv1'", "dilation", "use 1")
    assert_nothing_written(tmp_path / "prj")


def test_missing_model_file(tmp_path):
    proc = _cli("generate", tmp_path / "nothere.onnx", "--out", tmp_path / "prj")
    assert_user_error(proc, "nothere.onnx", "does not exist")
    assert_nothing_written(tmp_path / "prj")


def test_not_an_onnx_file(tmp_path):
    (tmp_path / "junk.onnx").write_bytes(b"\x00\x01 this is not protobuf \xff" * 10)
    proc = _cli("generate", tmp_path / "junk.onnx", "--out", tmp_path / "prj")
    assert_user_error(proc, "junk.onnx", "export_qonnx")
    assert_nothing_written(tmp_path / "prj")


def test_missing_onnxruntime(tmp_path, monkeypatch):
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    import hlsgen.frontends.qonnx.env as env
    path = _build(tmp_path, "input_batch_2")
    real = importlib.import_module

    def fake(name, *a, **k):
        if name == "onnxruntime":
            raise ImportError("No module named 'onnxruntime'")
        return real(name, *a, **k)
    monkeypatch.setattr(env.importlib, "import_module", fake)
    with pytest.raises(HlsgenError, match=r"onnxruntime.*pip install 'hlsgen\[brevitas\]'"):
        generate(str(path), tmp_path / "prj")
    assert_nothing_written(tmp_path / "prj")


# -- Brevitas modules ----------------------------------------------------------------


def test_module_that_cannot_export(tmp_path):
    torch = pytest.importorskip("torch")
    pytest.importorskip("brevitas")
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    model = torch.nn.Sequential(torch.nn.Linear(4, 2)).eval()
    with pytest.raises(HlsgenError) as e:
        generate(model, tmp_path / "prj", input_shape=(1, 3))
    assert "cannot export" in str(e.value) and "(1, 3)" in str(e.value)
    assert_nothing_written(tmp_path / "prj")


MODEL_PY = """
import torch

def build():
    return torch.nn.Sequential(torch.nn.Linear(4, 2))

def other():
    return torch.nn.Sequential(torch.nn.Linear(5, 2))

def broken():
    raise ValueError("the model is broken")
"""


def test_checkpoint_and_build_errors(tmp_path, monkeypatch, capsys):
    """In-process `hlsgen generate file.py:function --checkpoint` (the exit
    code and the one line of the CLI)."""
    torch = pytest.importorskip("torch")
    from hlsgen.cli.main import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text(MODEL_PY)
    (tmp_path / "junk.pt").write_bytes(b"not a checkpoint")
    torch.save(torch.nn.Sequential(torch.nn.Linear(5, 2)).state_dict(), tmp_path / "other.pt")
    shape = ["--input-shape", "1,4"]
    for args, words in [(["m.py:broken", *shape], ["m.py:broken()", "ValueError", "fix the model file"]),
                        (["m.py:build", "--checkpoint", "none.pt", *shape], ["'none.pt'", "torch.save"]),
                        (["m.py:build", "--checkpoint", "junk.pt", *shape],
                         ["cannot read checkpoint 'junk.pt'", "torch.save"]),
                        (["m.py:build", "--checkpoint", "other.pt", *shape],
                         ["'other.pt' does not fit", "same model definition"])]:
        code = main(["generate", *args, "--out", "p"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error:"), err
        assert all(w in err[0] for w in words), err[0]
    assert not (tmp_path / "p").exists()
