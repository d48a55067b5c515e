"""The five models of the hlsgen-vs-hls4ml benchmark, each with its inputs.

Every model is saved without a softmax: both tools convert the same .h5 file
and are compared with the framework's pre-softmax outputs. Inputs lie on the
grid of the model's input type (hlsgen's and hls4ml's default ap_fixed<16,6>
where the model has no input quantizer, else the quantizer's own grid), so
both tools see exactly the values the framework sees.
"""

from __future__ import annotations

import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Callable

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))


@dataclass
class BenchModel:
    key: str
    title: str
    build: Callable          # tf -> keras model (no softmax)
    inputs: Callable         # n -> float64 array on the input grid
    max_inputs: int = 1000   # C-simulation inputs (fewer for the CNV: hls4ml takes ~1.5 s per image)
    kind: str = "mlp"        # "mlp" or "cnn": which throughput target applies


def _grid(rng, lo, hi, step, shape):
    """Uniform values in [lo, hi) that are multiples of step."""
    return rng.integers(int(lo / step), int(hi / step), size=shape) * step


def _without_softmax(tf, model):
    if model.layers[-1].get_config().get("activation") == "softmax":
        return tf.keras.Model(model.inputs, model.layers[-2].output, name=model.name)
    return model


def jet_mlp(tf):
    from conftest import qdense_mlp, randomize_biases
    return randomize_biases(qdense_mlp(tf, [16, 64, 32, 32, 5], softmax=False))


def po2_mlp(tf):
    """Power-of-two weights (quantized_po2(4,1)); biases 8-bit quantized_bits,
    since hls4ml 1.3 cannot compile quantized_po2 biases (bias_t has no
    conversion to its accumulator type)."""
    from qkeras import QActivation, QDense
    from conftest import randomize_biases
    tf.keras.utils.set_random_seed(2)
    x = inp = tf.keras.Input((16,), name="x")
    for i, n in enumerate([64, 32, 32, 5]):
        x = QDense(n, kernel_quantizer="quantized_po2(4,1)", bias_quantizer="quantized_bits(8,2,alpha=1)",
                   name=f"fc{i + 1}")(x)
        if n != 5:
            x = QActivation("quantized_relu(4,2)", name=f"act{i + 1}")(x)
    return randomize_biases(tf.keras.Model(inp, x))


def mnist_cnn(tf):
    import cnn_models
    tf.keras.utils.set_random_seed(0)
    return cnn_models.randomize_bn(cnn_models.mnist_cnn(tf))


def digits_cnn(tf):
    import cnn_models
    tf.keras.utils.set_random_seed(0)
    return cnn_models.randomize_bn(_without_softmax(tf, cnn_models.digits_cnn(tf)))


def cnv_w1a1(tf):
    import bnn_models
    import cnn_models
    tf.keras.utils.set_random_seed(0)
    return cnn_models.randomize_bn(bnn_models.cnv_w1a1(tf))


def digit_images(n):
    """The 8x8 digits (scikit-learn ships them), pixels/16: on the 5-bit input grid."""
    from sklearn.datasets import load_digits
    images = load_digits().images / 16.0
    return np.resize(images, (n, 8, 8))[..., None]


MODELS = [
    BenchModel("jet_mlp", "jet MLP 16-64-32-32-5 (6-bit)", jet_mlp,
               lambda n: _grid(np.random.default_rng(0), -4, 4, 2.0**-10, (n, 16))),
    BenchModel("mnist_cnn", "28x28 CNN, 2 conv (6-bit)", mnist_cnn,
               lambda n: _grid(np.random.default_rng(1), 0, 1, 2.0**-8, (n, 28, 28, 1)), kind="cnn"),
    BenchModel("po2_mlp", "MLP 16-64-32-32-5, 4-bit po2 weights", po2_mlp,
               lambda n: _grid(np.random.default_rng(2), -4, 4, 2.0**-10, (n, 16))),
    BenchModel("digits_cnn", "digits CNN 8x8 (6-bit, batch-norm)", digits_cnn, digit_images, kind="cnn"),
    BenchModel("cnv_w1a1", "CNV-W1A1-sized BNN 32x32x3", cnv_w1a1,
               lambda n: _grid(np.random.default_rng(3), -1, 1, 2.0**-7, (n, 32, 32, 3)),
               max_inputs=50, kind="cnn"),
]
BY_KEY = {m.key: m for m in MODELS}
