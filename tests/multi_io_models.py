"""Models with several inputs and several outputs (tests/test_multi_io.py):
an image branch (a small convolution on 8x8 digits) and a feature branch (a
dense layer on a few features) merged, then a classifier head and a
regression head."""

from __future__ import annotations

import numpy as np

W4 = "quantized_bits(4,0,alpha=1)"
IN_Q = "quantized_bits(6,2)"


def _image_branch(tf, img):
    from qkeras import QActivation, QConv2D
    L = tf.keras.layers
    x = QActivation(IN_Q, name="image_q")(img)
    x = QConv2D(4, 3, kernel_quantizer=W4, bias_quantizer=W4, name="conv")(x)
    x = QActivation("quantized_relu(4,2)", name="conv_relu")(x)
    x = L.MaxPooling2D(2, name="pool")(x)
    return L.Flatten(name="flat")(x)                     # 36 values


def _heads(tf, h):
    """A classifier head (10 logits) and a regression head (one 8-bit value)."""
    from qkeras import QActivation, QDense
    h = QDense(16, kernel_quantizer=W4, bias_quantizer=W4, name="trunk")(h)
    h = QActivation("quantized_relu(4,2)", name="trunk_relu")(h)
    cls = QDense(10, kernel_quantizer=W4, bias_quantizer=W4, name="classes")(h)
    val = QDense(1, kernel_quantizer=W4, bias_quantizer=W4, name="value")(h)
    return [cls, QActivation("quantized_bits(8,3)", name="value_q")(val)]


def two_heads(tf, merge: str = "concat", seed: int = 0):
    """Inputs 'image' [8, 8, 1] and 'features' [4]; outputs 'classes' (10
    logits) and 'value_q' (one regression output). merge: concat or add."""
    from qkeras import QActivation, QDense
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    img = tf.keras.Input((8, 8, 1), name="image")
    feat = tf.keras.Input((4,), name="features")
    x = _image_branch(tf, img)
    f = QActivation(IN_Q, name="features_q")(feat)
    f = QDense(8 if merge == "concat" else 36, kernel_quantizer=W4, bias_quantizer=W4,
               name="feat_fc")(f)
    f = QActivation("quantized_relu(4,2)", name="feat_relu")(f)
    h = L.Concatenate(name="merge")([x, f]) if merge == "concat" else L.Add(name="merge")([x, f])
    return tf.keras.Model([img, feat], _heads(tf, h))


def one_input_two_heads(tf, seed: int = 0):
    """One input 'image', the two heads of two_heads: ports in, out0, out1."""
    tf.keras.utils.set_random_seed(seed)
    img = tf.keras.Input((8, 8, 1), name="image")
    return tf.keras.Model(img, _heads(tf, _image_branch(tf, img)))


def two_input_types(tf, seed: int = 0):
    """Inputs of different types: 'image' [8, 8, 1] unsigned 8-bit (first),
    'features' [5] signed 4-bit (an odd length); the heads of two_heads."""
    from qkeras import QActivation, QConv2D, QDense
    L = tf.keras.layers
    tf.keras.utils.set_random_seed(seed)
    img = tf.keras.Input((8, 8, 1), name="image")
    feat = tf.keras.Input((5,), name="features")
    x = QActivation("quantized_bits(8,0,keep_negative=False)", name="image_q")(img)
    x = QConv2D(4, 3, kernel_quantizer=W4, bias_quantizer=W4, name="conv")(x)
    x = QActivation("quantized_relu(4,2)", name="conv_relu")(x)
    x = L.Flatten(name="flat")(L.MaxPooling2D(2, name="pool")(x))
    f = QActivation("quantized_bits(4,1)", name="features_q")(feat)
    f = QDense(8, kernel_quantizer=W4, bias_quantizer=W4, name="feat_fc")(f)
    f = QActivation("quantized_relu(4,2)", name="feat_relu")(f)
    return tf.keras.Model([img, feat], _heads(tf, L.Concatenate(name="merge")([x, f])))


def typed_data(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """Data for two_input_types: digits in [0, 1] and five features in [-2.5, 2.5]."""
    d = digits_with_features(n, seed)
    rng = np.random.default_rng(seed + 1)
    return {"image": d["image"], "features": rng.uniform(-2.5, 2.5, (n, 5)).astype(np.float32)}


def digits_with_features(n: int, seed: int = 0) -> dict[str, np.ndarray]:
    """The first n digits of scikit-learn (8x8, scaled to [0, 1]) and four
    features of each: its quadrants' mean intensities, plus noise."""
    from sklearn.datasets import load_digits
    d = load_digits()
    img = (d.images[:n] / 16.0).astype(np.float32)
    quads = img.reshape(n, 2, 4, 2, 4).mean(axis=(2, 4)).reshape(n, 4)
    rng = np.random.default_rng(seed)
    feats = (2 * quads + rng.normal(0, 0.5, (n, 4))).astype(np.float32)
    return {"image": img[..., None], "features": feats}


X1_UNSAFE = 'q"2\\'            # names unsafe in Python, C++ and Tcl text (variant unsafe)
Y1_UNSAFE = 'y1 "*/ {\n} \\'


def qonnx_two_in_two_out(path, variant: str = "ok", seed: int = 0):
    """A hand-written QONNX graph: inputs x0 [4] and x1 [3], each quantized
    (1/8, 8 bits) into a dense branch (4-bit weights, scale 1/4, ReLU, 6-bit
    codes of 1/4); the branches added, then two heads y0 (5 values) and y1
    (2 values), power-of-two scales throughout. Variants for the refusals:
    nhwc (x1 an NHWC image transposed at the boundary), float_tail (y1 ends
    with a float Mul: a host tail), same_output (y1 is y0 through a Dropout), float_input
    (x1 scaled by a float before its dense layer, without a quantizer), one_tail
    (only the head y1, ending with the float Mul of float_tail), unsafe
    (x1 and y1 named X1_UNSAFE and Y1_UNSAFE, x1 unsigned 4-bit of scale 1/4,
    y1 of float scale 0.1)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    rng = np.random.default_rng(seed)
    consts, nodes = {}, []

    def c(name, v):
        consts[name] = np.asarray(v, np.float32)
        return name

    def quant(x, out, scale, bits, signed=1):
        nodes.append(helper.make_node("Quant", [x, c(out + "_s", scale), c(out + "_z", 0.0),
                                                c(out + "_b", bits)], [out], name=out,
                                      domain="qonnx.custom_op.general", signed=signed, narrow=0,
                                      rounding_mode="ROUND"))
        return out

    def dense(x, out, n_in, n_out):
        w = quant(c(out + "_w", rng.integers(-8, 8, (n_in, n_out)) * 0.25), out + "_wq", 0.25, 4.0)
        nodes.append(helper.make_node("MatMul", [x, w], [out + "_acc"], name=out))
        nodes.append(helper.make_node("Relu", [out + "_acc"], [out + "_relu"], name=out + "_relu"))
        return quant(out + "_relu", out + "_q", 0.25, 6.0, signed=0)

    x1_shape = [1, 3]
    q0 = quant("x0", "x0_q", 0.125, 8.0)
    x1 = X1_UNSAFE if variant == "unsafe" else "x1"
    x1_in = x1
    if variant == "nhwc":
        x1_shape = [1, 1, 3, 1]
        nodes.append(helper.make_node("Transpose", ["x1"], ["x1_t"], name="to_nchw", perm=[0, 3, 1, 2]))
        nodes.append(helper.make_node("Flatten", ["x1_t"], ["x1_f"], name="flat"))
        x1 = "x1_f"
    q1 = quant(x1, "x1_q", 0.25, 4.0, signed=0) if variant == "unsafe" else quant(x1, "x1_q", 0.125, 8.0)
    if variant == "float_input":
        nodes.append(helper.make_node("Mul", ["x1", c("k", 0.3)], ["x1_scaled"], name="scale_x1"))
        q1 = "x1_scaled"
    h0, h1 = dense(q0, "fc0", 4, 6), dense(q1, "fc1", 3, 6)
    nodes.append(helper.make_node("Add", [h0, h1], ["h_sum"], name="merge"))
    h = quant("h_sum", "h", 0.25, 7.0, signed=0)
    heads = []
    tail = variant in ("float_tail", "one_tail")
    for name, n in (("y0", 5), ("y1", 2)) if variant != "one_tail" else (("y1", 2),):
        w = quant(c(name + "_w", rng.integers(-8, 8, (6, n)) * 0.25), name + "_wq", 0.25, 4.0)
        nodes.append(helper.make_node("MatMul", [h, w], [name + "_acc"], name=name + "_fc"))
        q = name + "_q" if tail and name == "y1" else name
        q = Y1_UNSAFE if variant == "unsafe" and name == "y1" else q
        scale = 0.125 if name == "y0" else 0.1 if variant == "unsafe" else 0.0625
        heads.append(quant(name + "_acc", q, scale, 8.0))
    if tail:
        nodes.append(helper.make_node("Mul", ["y1_q", c("k", 0.3)], ["y1"], name="tail_mul"))
        heads[-1] = "y1"
    if variant == "same_output":
        nodes.append(helper.make_node("Dropout", ["y0"], ["y0_d"], name="drop"))
        heads[1] = "y0_d"
    inits = [numpy_helper.from_array(v, k) for k, v in consts.items()]
    graph = helper.make_graph(
        nodes, "two_in_two_out",
        [helper.make_tensor_value_info("x0", TensorProto.FLOAT, [1, 4]),
         helper.make_tensor_value_info(x1_in, TensorProto.FLOAT, x1_shape)],
        [helper.make_tensor_value_info(o, TensorProto.FLOAT, None) for o in heads], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", 13),
                                                    helper.make_opsetid("qonnx.custom_op.general", 1)])
    onnx.save(model, str(path))
    return path
