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
