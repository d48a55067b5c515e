"""Convolutional QKeras models used by the tests, the demo and the benchmarks."""

from __future__ import annotations

import numpy as np

W6 = "quantized_bits(6,0,alpha=1)"
A6 = "quantized_relu(6,2)"


def _qconv(tf, filters, k, name, strides=1, padding="valid", wq=W6, **kw):
    from qkeras import QConv2D
    return QConv2D(filters, k, strides=strides, padding=padding, kernel_quantizer=wq,
                   bias_quantizer=wq, name=name, **kw)


def randomize_bn(model, seed=0):
    """Non-trivial batch-norm statistics (as after training)."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if "BatchNormalization" in type(layer).__name__ or hasattr(layer, "batchnorm"):
            bn = layer.batchnorm if hasattr(layer, "batchnorm") else layer
            c = bn.moving_mean.shape[0]
            bn.moving_mean.assign(rng.normal(0, 0.5, c).astype(np.float32))
            bn.moving_variance.assign(rng.uniform(0.3, 2.0, c).astype(np.float32))
            if bn.gamma is not None:
                bn.gamma.assign(rng.uniform(-1.5, 1.5, c).astype(np.float32))
            if bn.beta is not None:
                bn.beta.assign(rng.normal(0, 0.3, c).astype(np.float32))
        if getattr(layer, "use_bias", False) and hasattr(layer, "bias") and layer.bias is not None:
            layer.bias.assign(rng.uniform(-0.5, 0.5, layer.bias.shape).astype(np.float32))
    return model


def digits_cnn(tf, convs: int = 2):
    """8x8x1 digits: conv-bn-relu, pool, conv-bn-relu, pool, dense head
    (convs=1: the first convolution only)."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((8, 8, 1), name="image")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    for i, filters in enumerate((8, 16)[:convs], 1):
        x = _qconv(tf, filters, 3, f"conv{i}", padding="same")(x)
        x = tf.keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = QActivation(A6, name=f"relu{i}")(x)
        x = tf.keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(10, kernel_quantizer=W6, bias_quantizer=W6, name="fc")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="digits_cnn")


def residual_block(tf, size=8, c=8):
    from qkeras import QActivation
    inp = tf.keras.Input((size, size, c))
    skip = QActivation("quantized_bits(6,2)", name="in_q")(inp)
    x = _qconv(tf, c, 3, "ra", padding="same")(skip)
    x = tf.keras.layers.BatchNormalization(name="bna")(x)
    x = QActivation(A6, name="relua")(x)
    x = _qconv(tf, c, 3, "rb", padding="same")(x)
    x = tf.keras.layers.BatchNormalization(name="bnb")(x)
    x = QActivation("quantized_bits(6,2)", name="qb")(x)
    x = tf.keras.layers.Add(name="add")([x, skip])
    x = QActivation(A6, name="out_relu")(x)
    return tf.keras.Model(inp, x)


def separable_block(tf):
    from qkeras import QActivation, QDepthwiseConv2D, QSeparableConv2D
    inp = tf.keras.Input((9, 9, 4))
    x = QSeparableConv2D(6, 3, depthwise_quantizer=W6, pointwise_quantizer=W6, bias_quantizer=W6,
                         name="sep")(inp)
    x = QActivation(A6, name="r1")(x)
    x = QDepthwiseConv2D(3, strides=2, padding="same", depthwise_quantizer=W6, bias_quantizer=W6,
                         name="dw")(x)
    x = QActivation("quantized_bits(8,3)", name="q2")(x)
    return tf.keras.Model(inp, x)


def stride2_7x7(tf):
    inp = tf.keras.Input((7, 7, 3))
    x = _qconv(tf, 5, 3, "s2", strides=2, padding="same", activation="quantized_relu(6,2)")(inp)
    return tf.keras.Model(inp, x)


def kernel_1x3(tf):
    from qkeras import QActivation
    inp = tf.keras.Input((6, 10, 2))
    x = _qconv(tf, 4, (1, 3), "k13")(inp)
    x = QActivation("quantized_bits(8,3)", name="q")(x)
    x = tf.keras.layers.AveragePooling2D((2, 2), name="avg")(x)
    x = QActivation(A6, name="q2")(x)
    return tf.keras.Model(inp, x)


def conv1d_signal(tf):
    from qkeras import QActivation, QConv1D, QDense
    inp = tf.keras.Input((32, 2))
    x = QConv1D(6, 5, kernel_quantizer=W6, bias_quantizer=W6, name="c1")(inp)
    x = QActivation(A6, name="r1")(x)
    x = tf.keras.layers.MaxPooling1D(2, name="p1")(x)
    x = QConv1D(8, 3, strides=2, padding="same", kernel_quantizer=W6, bias_quantizer=W6, name="c2")(x)
    x = QActivation(A6, name="r2")(x)
    x = tf.keras.layers.GlobalAveragePooling1D(name="gap")(x)
    x = QActivation("quantized_bits(8,2)", name="q3")(x)
    x = QDense(3, kernel_quantizer=W6, bias_quantizer=W6, name="fc")(x)
    return tf.keras.Model(inp, x)


def concat_gap_bnfold(tf):
    from qkeras import QActivation, QConv2DBatchnorm, QDense
    inp = tf.keras.Input((8, 8, 3))
    a = QConv2DBatchnorm(4, 3, padding="same", kernel_quantizer=W6, bias_quantizer="quantized_bits(8,3,alpha=1)",
                         name="cbn")(inp)
    a = QActivation(A6, name="ra")(a)
    b = _qconv(tf, 2, 1, "pw")(inp)
    b = QActivation("quantized_relu(4,1)", name="rb")(b)
    x = tf.keras.layers.Concatenate(name="cat")([a, b])
    x = tf.keras.layers.ZeroPadding2D(1, name="zp")(x)
    x = _qconv(tf, 6, 3, "c3", strides=2)(x)
    x = QActivation(A6, name="r3")(x)
    x = tf.keras.layers.GlobalAveragePooling2D(name="gap")(x)
    x = QDense(4, kernel_quantizer=W6, bias_quantizer=W6, name="fc")(x)
    return tf.keras.Model(inp, x)


def mnist_cnn(tf):
    """28x28x1: conv16-pool-conv16-pool-dense10, 6-bit (the benchmark CNN)."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((28, 28, 1))
    x = _qconv(tf, 16, 3, "conv1")(inp)
    x = QActivation(A6, name="relu1")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool1")(x)
    x = _qconv(tf, 16, 3, "conv2")(x)
    x = QActivation(A6, name="relu2")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool2")(x)
    x = tf.keras.layers.Flatten()(x)
    x = QDense(10, kernel_quantizer=W6, bias_quantizer=W6, name="fc")(x)
    return tf.keras.Model(inp, x)


def smooth_activations(tf):
    """quantized_tanh / quantized_sigmoid and float tanh, sigmoid,
    hard_sigmoid followed by a quantizer: lookup tables on narrow inputs,
    thresholds on a wide accumulator (monotonic), a per-channel table after
    batch-norm."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((12,))
    x = QDense(16, kernel_quantizer=W6, bias_quantizer=W6, name="d1")(inp)
    x = QActivation("quantized_bits(8,3)", name="q8")(x)
    x = QActivation("quantized_tanh(5)", name="qtanh")(x)              # table over 256 codes
    x = QDense(16, kernel_quantizer=W6, bias_quantizer=W6, name="d2")(x)
    x = QActivation("quantized_sigmoid(6)", name="qsig_wide")(x)      # wide input: thresholds
    x = QDense(12, kernel_quantizer=W6, bias_quantizer=W6, name="d3")(x)
    x = QActivation("quantized_bits(7,2)", name="q7")(x)
    x = tf.keras.layers.BatchNormalization(name="bn")(x)
    x = tf.keras.layers.Activation("tanh", name="float_tanh")(x)       # per-channel table
    x = QActivation("quantized_bits(6,0)", name="q6")(x)
    x = QDense(10, kernel_quantizer=W6, bias_quantizer=W6, name="d4")(x)
    x = QActivation("quantized_bits(6,2)", name="q6b")(x)
    x = tf.keras.layers.Activation("hard_sigmoid", name="hsig")(x)
    x = QActivation("quantized_bits(5,0,keep_negative=False)", name="q5")(x)
    x = QDense(4, kernel_quantizer=W6, bias_quantizer=W6, name="d5")(x)
    x = QActivation("quantized_bits(6,2)", name="q6c")(x)
    x = tf.keras.layers.Activation("swish", name="swish")(x)           # not monotonic
    x = QActivation("quantized_bits(6,2)", name="q_out")(x)
    return tf.keras.Model(inp, x)
