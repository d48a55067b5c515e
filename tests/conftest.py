"""Shared fixtures: TensorFlow/QKeras imported once, helpers that build,
save, generate and simulate real models."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from gen.frontends.keras_env import import_qkeras


@pytest.fixture(scope="session")
def tf():
    tf, _, _ = import_qkeras()
    return tf


def qdense_mlp(tf, sizes, wq="quantized_bits(6,0,alpha=1)", act="quantized_relu(6)",
               seed=0, softmax=True, input_quant=None):
    """A QKeras MLP sizes[0] -> ... -> sizes[-1] with random weights."""
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input((sizes[0],), name="x")
    x = QActivation(input_quant, name="in_q")(inp) if input_quant else inp
    for i, n in enumerate(sizes[1:-1]):
        x = QDense(n, kernel_quantizer=wq, bias_quantizer=wq, name=f"fc{i + 1}")(x)
        x = QActivation(act, name=f"act{i + 1}")(x)
    x = QDense(sizes[-1], kernel_quantizer=wq, bias_quantizer=wq, name="logits")(x)
    if softmax:
        x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x)


def randomize_biases(model, scale=0.5, seed=1):
    """Biases start at zero; make them non-trivial so the tests exercise them."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.uniform(-scale, scale, layer.bias.shape).astype(np.float32))
    return model


@pytest.fixture
def save_model(tmp_path):
    def save(model, name="model.h5"):
        path = tmp_path / name
        model.save(path)
        return path
    return save


@pytest.fixture
def gen_and_sim(tmp_path):
    """generate + csim; returns (GenerateResult, CsimResult)."""
    from gen.generate import generate
    from sim.csim import csim

    def run(model_path, name="prj", **kw):
        res = generate(str(model_path), tmp_path / name, **kw)
        return res, csim(res.out)
    return run


def assert_exact(sim_res):
    """C simulation == golden on every output, golden == framework exactly."""
    assert sim_res.mismatches == 0, f"{sim_res.mismatches} outputs differ from golden"
    fw = sim_res.framework_figures()
    assert fw["equal_values"] == fw["values"], fw
    assert fw["max_abs_diff"] == 0.0
    return fw
