"""Binarized (+-1) values wherever QKeras lets them go (issue 15): into Add,
Concatenate (with integer tensors too), average pooling, zero padding and
padding="same" convolutions, depthwise convolutions (+-1 inputs, binary and
ternary depthwise weights), and Concatenate of three or more tensors.

Each model: generate + C simulation, both branches of the kernel library
equal to golden on every output, golden equal to QKeras on every output."""

import json

import numpy as np
import pytest

import cnn_models as cm
from conftest import assert_exact

BIN = "binary(alpha=1)"
Q4 = "quantized_bits(4,0,alpha=1)"


def _sign_block(tf, x, name, filters=None, kernel=3, padding="valid", depthwise=False,
                wq=BIN, dense=None):
    """A binary-weight layer, batch-norm and a sign: +-1 out."""
    from qkeras import QActivation, QConv2D, QDense, QDepthwiseConv2D
    if dense:
        x = QDense(dense, kernel_quantizer=wq, use_bias=False, name=name)(x)
    elif depthwise:
        x = QDepthwiseConv2D(kernel, padding=padding, depthwise_quantizer=wq, use_bias=False,
                             name=name)(x)
    else:
        x = QConv2D(filters, kernel, padding=padding, kernel_quantizer=wq, use_bias=False,
                    name=name)(x)
    x = tf.keras.layers.BatchNormalization(name=name + "_bn")(x)
    return QActivation(BIN, name=name + "_sign")(x)


def _input(tf, shape, name="in_q"):
    from qkeras import QActivation
    inp = tf.keras.Input(shape)
    return inp, QActivation("quantized_bits(4,1,keep_negative=False)", name=name)(inp)


def residual_add(tf):
    """+-1 + +-1 (a binary residual) and +-1 + integer."""
    from qkeras import QActivation, QDense
    inp, x = _input(tf, (6, 6, 3))
    a = _sign_block(tf, x, "c1", 8, padding="same")
    b = _sign_block(tf, a, "c2", 8, padding="same")
    s = tf.keras.layers.Add(name="add_bb")([a, b])                  # in {-2, 0, 2}
    q = QActivation("quantized_bits(3,1,alpha=1)", name="s_q")(s)
    c = _sign_block(tf, q, "c3", 8, kernel=1)
    s2 = tf.keras.layers.Add(name="add_bi")([c, q])                 # +-1 + integer
    s2 = QActivation("quantized_relu(4,2)", name="s2_q")(s2)
    y = tf.keras.layers.Flatten()(s2)
    y = QDense(5, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def concat_mixed(tf):
    """Concatenate: +-1 with +-1 (stays bits), +-1 with integers, three ways."""
    from qkeras import QActivation, QConv2D, QDense
    inp, x = _input(tf, (5, 5, 2))
    a = _sign_block(tf, x, "a", 4, padding="same")
    b = _sign_block(tf, x, "b", 3, padding="same")
    ab = tf.keras.layers.Concatenate(name="cat_bb")([a, b])         # bipolar, 7 channels
    c = _sign_block(tf, ab, "c", 6, kernel=1)                        # XNOR on the bits
    i = QConv2D(2, 1, kernel_quantizer=Q4, bias_quantizer=Q4, name="i")(x)
    i = QActivation("quantized_bits(5,2,alpha=1)", name="i_q")(i)
    y = tf.keras.layers.Concatenate(name="cat3")([c, i, a])          # +-1, integer, +-1
    y = QConv2D(4, 1, kernel_quantizer=Q4, bias_quantizer=Q4, name="mix")(y)
    y = QActivation("quantized_relu(4,2)", name="mix_q")(y)
    y = tf.keras.layers.Flatten()(y)
    y = QDense(4, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def concat_four_integer(tf):
    """N-way concatenation of integer tensors (4 inputs, different binary points)."""
    from qkeras import QActivation, QConv2D, QDense
    inp = tf.keras.Input((4, 4, 3))
    x = QActivation("quantized_bits(6,2,alpha=1)", name="in_q")(inp)
    parts = []
    for k, act in enumerate(["quantized_relu(4,2)", "quantized_bits(5,1,alpha=1)",
                             "quantized_relu(3,0)", "quantized_bits(6,4,alpha=1)"]):
        y = QConv2D(k + 1, 1, kernel_quantizer=Q4, bias_quantizer=Q4, name=f"p{k}")(x)
        parts.append(QActivation(act, name=f"p{k}_q")(y))
    y = tf.keras.layers.Concatenate(name="cat4")(parts)
    y = tf.keras.layers.Flatten()(y)
    y = QDense(6, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def pooled(tf):
    """Average pooling (2x2, 3x3 and global) of +-1 values, and max pooling."""
    from qkeras import QActivation, QDense
    inp, x = _input(tf, (8, 8, 2))
    a = _sign_block(tf, x, "c1", 6)                                   # 6x6x6 of +-1
    p = tf.keras.layers.AveragePooling2D(2, name="avg2")(a)           # power of two: rescale
    p = QActivation("quantized_bits(4,1,alpha=1)", name="avg2_q")(p)
    b = _sign_block(tf, p, "c2", 4, padding="same")
    q = tf.keras.layers.AveragePooling2D(3, name="avg3")(b)           # 3x3: a requantization
    q = QActivation("quantized_bits(5,1,alpha=1)", name="avg3_q")(q)
    g = tf.keras.layers.GlobalAveragePooling2D(name="gap")(b)         # 9 values, no quantizer after
    g = QActivation("quantized_bits(6,1,alpha=1)", name="gap_q")(g)
    y = tf.keras.layers.Concatenate(name="cat")([tf.keras.layers.Flatten()(q), g])
    y = QDense(4, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def padded(tf):
    """ZeroPadding2D of +-1 values, 'same' convolutions on +-1 inputs
    (stride 1 and 2): keras pads with 0.0, so the next layer sees -1, 0, +1."""
    from qkeras import QConv2D, QDense
    inp, x = _input(tf, (7, 7, 2))
    a = _sign_block(tf, x, "c1", 4, padding="same")                   # 'same' on an integer input
    b = _sign_block(tf, a, "c2", 6, padding="same")                   # 'same' on +-1
    z = tf.keras.layers.ZeroPadding2D(((1, 0), (2, 1)), name="zpad")(b)
    c = QConv2D(4, 3, strides=2, padding="same", kernel_quantizer=BIN, use_bias=False,
                name="c3")(z)
    from qkeras import QActivation
    c = QActivation("quantized_bits(6,5,alpha=1)", name="c3_q")(c)
    y = tf.keras.layers.Flatten()(c)
    y = QDense(5, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def depthwise(tf):
    """Depthwise convolutions: binary weights on +-1 inputs ('same'), ternary
    weights on +-1 inputs, binary weights on integer inputs."""
    from qkeras import QActivation, QDense, QDepthwiseConv2D
    inp, x = _input(tf, (6, 6, 4))
    d0 = QDepthwiseConv2D(3, depthwise_quantizer=BIN, bias_quantizer=Q4, name="d0")(x)
    d0 = QActivation(BIN, name="d0_sign")(d0)                        # binary weights, integer in
    d1 = _sign_block(tf, d0, "d1", kernel=3, padding="same", depthwise=True)   # +-1 in, +-1 w
    d2 = QDepthwiseConv2D(2, depthwise_quantizer="ternary(alpha=1)", bias_quantizer=Q4,
                          name="d2")(d1)                              # ternary w, +-1 in
    d2 = QActivation("quantized_bits(4,2,alpha=1)", name="d2_q")(d2)
    y = tf.keras.layers.Flatten()(d2)
    y = QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def binary_separable_1d(tf):
    """1-D signals: a 'same' binary convolution on +-1, an Add, average pooling."""
    from qkeras import QActivation, QConv1D, QDense
    inp = tf.keras.Input((12, 3))
    x = QActivation("quantized_bits(4,1,keep_negative=False)", name="in_q")(inp)
    a = QConv1D(4, 3, padding="same", kernel_quantizer=BIN, use_bias=False, name="c1")(x)
    a = tf.keras.layers.BatchNormalization(name="bn1")(a)
    a = QActivation(BIN, name="s1")(a)
    b = QConv1D(4, 3, padding="same", kernel_quantizer=BIN, use_bias=False, name="c2")(a)
    b = tf.keras.layers.BatchNormalization(name="bn2")(b)
    b = QActivation(BIN, name="s2")(b)
    s = tf.keras.layers.Add(name="add")([a, b])
    p = tf.keras.layers.AveragePooling1D(2, name="avg")(s)
    p = QActivation("quantized_bits(4,2,alpha=1)", name="avg_q")(p)
    y = tf.keras.layers.Flatten()(p)
    y = QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    return tf.keras.Model(inp, y)


def relu_of_sign(tf):
    """An unquantized ReLU of +-1 values (0 or 1), into a dense layer."""
    from qkeras import QDense
    inp = tf.keras.Input((12,))
    from qkeras import QActivation
    x = QActivation("quantized_bits(4,1,alpha=1)", name="in_q")(inp)
    s = _sign_block(tf, x, "fc1", dense=8)
    r = tf.keras.layers.Activation("relu", name="relu")(s)
    y = QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(r)
    return tf.keras.Model(inp, y)


MODELS = {"residual_add": residual_add, "concat_mixed": concat_mixed,
          "concat_four_integer": concat_four_integer, "pooled": pooled, "padded": padded,
          "depthwise": depthwise, "binary_1d": binary_separable_1d,
          "relu_of_sign": relu_of_sign}


@pytest.mark.parametrize("case", list(MODELS))
def test_binarized_model_exact_in_both_branches(tf, save_model, gen_and_sim, case):
    tf.keras.utils.set_random_seed(3)
    model = cm.randomize_bn(MODELS[case](tf), seed=3)
    gen, sim = gen_and_sim(save_model(model), n_vectors=200)
    assert sim.synthesis is not None and sim.synthesis.frames == 200
    assert sim.csim_mismatches == 0 and sim.synthesis.mismatches == 0
    assert_exact(sim)
    assert gen.lint.violations == []
    report = json.loads((gen.out / "report.json").read_text())
    types = {s["type"] for s in report["streams"]}
    if case != "concat_four_integer":
        assert "ap_uint<1>" in types         # +-1 values travel as one bit each


def test_bipolar_conversion_is_explicit_and_shared(tf):
    """One conversion per +-1 tensor (a 2-entry table: 0 -> -1, 1 -> +1),
    shared by its consumers that need integers; bits stay bits for XNOR."""
    from hlsgen.frontends.qkeras.reader import KerasModel
    from hlsgen.passes import run_passes
    from hlsgen.ir.qtype import QType
    import tempfile
    from pathlib import Path
    tf.keras.utils.set_random_seed(3)
    model = cm.randomize_bn(concat_mixed(tf), seed=3)
    with tempfile.TemporaryDirectory() as d:
        path = Path(d) / "m.h5"
        model.save(path)
        from hlsgen.frontends.qkeras.reader import load_keras_model
        graph = KerasModel(load_keras_model(path), path).to_ir()
    graph.meta["input_qtype"] = QType(4, False, 3).to_dict()
    run_passes(graph)
    conv = [n for n in graph.nodes if n.op == "requant" and n.name.endswith("_to_int")]
    assert [n.inputs for n in conv] == [["c_sign"], ["a_sign"]]
    for n in conv:
        assert graph.tensors[n.outputs[0]].qtype == QType(2, True, 0)
        assert n.params["table"].tolist() == [[-1, 1]]
    cats = [n for n in graph.nodes if n.op == "concat"]
    assert [len(n.inputs) for n in cats] == [2, 2, 2]                  # 3-way split in two
    assert graph.tensors[cats[0].outputs[0]].qtype.bipolar             # +-1 with +-1: bits
    xnor = next(n for n in graph.nodes if n.name == "c")
    assert graph.tensors[xnor.inputs[0]].qtype.bipolar


def test_add_of_three_tensors_exact(tf, save_model, gen_and_sim):
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(4)
    inp = tf.keras.Input((10,))
    x = QActivation("quantized_bits(5,1,alpha=1)", name="in_q")(inp)
    parts = [QActivation(BIN if k == 1 else "quantized_bits(4,1,alpha=1)", name=f"a{k}")(
        QDense(6, kernel_quantizer=Q4, bias_quantizer=Q4, name=f"d{k}")(x)) for k in range(3)]
    y = tf.keras.layers.Add(name="add3")(parts)
    y = QActivation("quantized_bits(6,3,alpha=1)", name="y_q")(y)
    y = QDense(3, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(y)
    model = cm.randomize_bn(tf.keras.Model(inp, y), seed=4)
    gen, sim = gen_and_sim(save_model(model), n_vectors=200)
    assert_exact(sim)
    assert sim.synthesis.mismatches == 0
