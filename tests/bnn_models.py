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


def cnv_w1a1(tf):
    """BNN-PYNQ's CNV topology in QKeras: 32x32x3 input (8-bit), six 3x3 valid
    convolutions 64,64,(pool),128,128,(pool),256,256 and dense 512,512,10,
    1-bit weights and activations (batch-norm + sign between layers)."""
    from qkeras import QActivation, QConv2D, QDense
    inp = tf.keras.Input((32, 32, 3), name="image")
    x = QActivation("quantized_bits(8,0,alpha=1)", name="input_quant")(inp)
    for i, (filters, pool) in enumerate([(64, False), (64, True), (128, False), (128, True),
                                         (256, False), (256, False)]):
        x = QConv2D(filters, 3, kernel_quantizer="binary(alpha=1)", use_bias=False, name=f"conv{i}")(x)
        x = tf.keras.layers.BatchNormalization(name=f"bn_c{i}")(x)
        x = QActivation("binary(alpha=1)", name=f"sign_c{i}")(x)
        if pool:
            x = tf.keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    for i, units in enumerate([512, 512]):
        x = QDense(units, kernel_quantizer="binary(alpha=1)", use_bias=False, name=f"fc{i}")(x)
        x = tf.keras.layers.BatchNormalization(name=f"bn_f{i}")(x)
        x = QActivation("binary(alpha=1)", name=f"sign_f{i}")(x)
    x = QDense(10, kernel_quantizer="binary(alpha=1)", use_bias=False, name="fc2")(x)
    return tf.keras.Model(inp, x, name="cnv_w1a1")
