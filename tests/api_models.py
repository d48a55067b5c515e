"""Small in-memory models for the Python API tests. tests/test_wheel.py also
imports it from an installed wheel, so it imports nothing else of tests/."""

from __future__ import annotations

import os

import numpy as np

os.environ.setdefault("TF_USE_LEGACY_KERAS", "1")   # QKeras runs on Keras 2


def qkeras_mlp(seed: int = 0):
    """QKeras 16-8-3 MLP with 4-bit weights and activations, non-zero biases."""
    import tensorflow as tf
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(seed)
    q = "quantized_bits(4,0,alpha=1)"
    model = tf.keras.Sequential([
        tf.keras.Input((16,)),
        QDense(8, kernel_quantizer=q, bias_quantizer=q, name="fc1",
               bias_initializer=tf.keras.initializers.RandomUniform(-0.5, 0.5, seed=seed)),
        QActivation("quantized_relu(4)", name="relu1"),
        QDense(3, kernel_quantizer=q, bias_quantizer=q, name="fc2"),
    ], name="api_mlp")
    return model


def brevitas_mlp(seed: int = 0):
    """Brevitas 64-32-10 MLP with fixed-point quantizers (the demo's)."""
    import torch
    from hlsgen.demo import build_brevitas_mlp
    torch.manual_seed(seed)
    return build_brevitas_mlp("fixed").eval()


def torch_outputs(module, x: np.ndarray) -> np.ndarray:
    """The module's own float outputs for x (PyTorch layout)."""
    import torch
    with torch.no_grad():
        y = module(torch.from_numpy(np.asarray(x, dtype=np.float32)))
    return np.asarray(getattr(y, "value", y).detach().numpy(), dtype=np.float64)


def grid_inputs(frac: int, shape: tuple, n: int, seed: int = 0, span: int = 2) -> np.ndarray:
    """n random inputs on the grid 2**-frac within +-span."""
    codes = np.random.default_rng(seed).integers(-span << frac, span << frac, size=(n,) + shape)
    return codes * 2.0 ** -frac
