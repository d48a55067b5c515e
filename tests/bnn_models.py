"""Binarized and few-bit QKeras models (weights and activations +-1)."""

from __future__ import annotations


def binary_mlp(tf, hidden=64):
    """8-bit-ish input, binary weights everywhere, binary hidden activations
    (batch-norm + sign folded into one threshold per neuron), integer logits."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((64,), name="pixels")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    for i in (1, 2):
        x = QDense(hidden, kernel_quantizer="binary(alpha=1)", use_bias=False, name=f"fc{i}")(x)
        x = tf.keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = QActivation("binary(alpha=1)", name=f"sign{i}")(x)
    x = QDense(10, kernel_quantizer="binary(alpha=1)", use_bias=False, name="logits")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="binary_mlp")


def binary_cnn(tf):
    """conv(binary w) on a 5-bit image, then XNOR-popcount convolutions on +-1
    activations, bipolar max-pool, binary dense head."""
    from qkeras import QActivation, QConv2D, QDense
    inp = tf.keras.Input((8, 8, 1), name="image")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    x = QConv2D(16, 3, kernel_quantizer="binary(alpha=1)", use_bias=False, name="conv1")(x)
    x = tf.keras.layers.BatchNormalization(name="bn1")(x)
    x = QActivation("binary(alpha=1)", name="sign1")(x)
    x = QConv2D(32, 3, kernel_quantizer="binary(alpha=1)", use_bias=False, name="conv2")(x)
    x = tf.keras.layers.BatchNormalization(name="bn2")(x)
    x = QActivation("binary(alpha=1)", name="sign2")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(10, kernel_quantizer="binary(alpha=1)", use_bias=False, name="logits")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="binary_cnn")


def ternary_mixed(tf):
    """Mixed precision: ternary weights and activations, a 2-bit layer."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((20,))
    x = QDense(16, kernel_quantizer="ternary(alpha=1)", bias_quantizer="quantized_bits(4,2,alpha=1)",
               name="t1")(inp)
    x = QActivation("ternary(alpha=1)", name="tact")(x)
    x = QDense(12, kernel_quantizer="stochastic_binary(alpha=1)", use_bias=False, name="sb")(x)
    x = tf.keras.layers.BatchNormalization(name="bn")(x)
    x = QActivation("quantized_bits(1,0,alpha=1)", name="qb1")(x)
    x = QDense(5, kernel_quantizer="quantized_bits(2,1,alpha=1)", bias_quantizer="quantized_bits(4,2,alpha=1)",
               name="q2")(x)
    return tf.keras.Model(inp, x)
