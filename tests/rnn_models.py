"""QKeras recurrent models for tests/test_recurrent.py (issue 20, item 1):
random untrained weights, every weight, activation and state quantized."""

from __future__ import annotations

import numpy as np

W6 = "quantized_bits(6,0,alpha=1)"
B6 = "quantized_bits(6,2,alpha=1)"
SIG4 = "quantized_sigmoid(4)"
TANH4 = "quantized_tanh(4)"
STATE8 = "quantized_bits(8,2,alpha=1)"
INPUT = "quantized_bits(6,2,alpha=1)"


def randomize(model, seed=0, scale=0.5):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, scale, w.shape).astype(np.float32) for w in weights])
    return model


def sequences(steps, features, n=200, seed=1):
    return np.random.default_rng(seed).uniform(-2.5, 2.5, (n, steps, features)).astype(np.float32)


def rnn_layer(kind, units, **kw):
    """A QKeras recurrent layer with 6-bit weights and quantized activations."""
    import qkeras
    args = dict(kernel_quantizer=W6, recurrent_quantizer=W6, bias_quantizer=B6,
                activation=TANH4, state_quantizer=STATE8)
    if kind != "QSimpleRNN":
        args["recurrent_activation"] = SIG4
    args.update(kw)
    return getattr(qkeras, kind)(units, **{k: v for k, v in args.items() if v is not None})


def sequence_model(tf, kind, steps=20, features=6, units=16, head=None, seed=0, **kw):
    """input quantizer -> recurrent layer -> optional QDense head."""
    from qkeras import QActivation, QDense
    x_in = tf.keras.Input((steps, features))
    t = QActivation(INPUT, name="inq")(x_in)
    t = rnn_layer(kind, units, name="rnn", **kw)(t)
    if head:
        t = QDense(head, kernel_quantizer=W6, bias_quantizer=B6, name="head")(t)
    return randomize(tf.keras.Model(x_in, t), seed)


def qlstm_classifier(tf, seed=0):
    """20 time steps x 6 features, QLSTM(16), 6-bit weights, quantized
    sigmoid/tanh, 3 class scores."""
    return sequence_model(tf, "QLSTM", head=3, seed=seed)


def qgru_regressor(tf, seed=0):
    """QGRU(8) with return_sequences=True: every time step's state out."""
    return sequence_model(tf, "QGRU", steps=12, features=4, units=8, return_sequences=True,
                          seed=seed)


def qsimplernn(tf, seed=0):
    return sequence_model(tf, "QSimpleRNN", steps=10, features=5, units=8, head=2, seed=seed)


def stacked_gru_lstm(tf, seed=0):
    """QGRU(6, return_sequences) -> QLSTM(5): one recurrent unit streaming
    every step into the next; true sigmoid and tanh quantizers, a symmetric
    state quantizer."""
    from qkeras import QActivation
    real = dict(activation="quantized_tanh(5, use_real_tanh=True)",
                recurrent_activation="quantized_sigmoid(5, use_real_sigmoid=True)",
                state_quantizer="quantized_bits(7,2,1,alpha=1)")
    x_in = tf.keras.Input((10, 4))
    t = QActivation(INPUT, name="inq")(x_in)
    t = rnn_layer("QGRU", 6, return_sequences=True, name="gru", **real)(t)
    t = rnn_layer("QLSTM", 5, name="lstm", **real)(t)
    return randomize(tf.keras.Model(x_in, t), seed)


def hard_sigmoid_lstm(tf, kind="QLSTM", seed=0):
    """QKeras' default recurrent_activation, its float hard_sigmoid."""
    return sequence_model(tf, kind, steps=8, features=3, units=6, recurrent_activation="hard_sigmoid",
                          seed=seed)
