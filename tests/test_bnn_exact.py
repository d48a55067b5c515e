"""Acceptance: binarized QKeras networks (XNOR-popcount, thresholds) are
exact against QKeras, and 1-bit weights are stored at 1 bit each."""

import json
import re

import numpy as np
import pytest

import bnn_models as bm
import cnn_models as cm
from conftest import assert_exact


@pytest.mark.parametrize("builder, shape, epochs", [
    ("binary_mlp", (64,), 25), ("binary_cnn", (8, 8, 1), 15)])
def test_trained_binary_net_on_digits_exact(tf, tmp_path, builder, shape, epochs):
    from gen.demo import load_digits_split, train
    from gen.generate import generate
    from sim.csim import csim
    x_train, x_test, y_train, y_test = load_digits_split()
    model = getattr(bm, builder)(tf)
    train(model, tf, x_train.reshape((-1,) + shape), y_train, epochs, builder)
    model.save(tmp_path / "m.h5")
    gen = generate(str(tmp_path / "m.h5"), tmp_path / builder, test_data=x_test.reshape((-1,) + shape),
                   output="argmax")
    sim = csim(gen.out)
    assert sim.frames == 360
    fw = assert_exact(sim)                      # label select equals QKeras's arg-max, every image
    assert fw["top1_agreement"] == 1.0
    assert np.mean(sim.csim[:, 0] == y_test) > 0.6
    report = json.loads((gen.out / "report.json").read_text())
    dots = [l for l in report["layers"] if l["kind"] == "mvu"]
    assert all(l["weight_type"] == "ap_uint<1>" for l in dots)
    assert [l["in"]["type"] for l in dots][1:] == ["ap_uint<1>"] * (len(dots) - 1)
    top = (gen.out / "firmware" / f"{gen.out.name}.cpp").read_text()
    assert "hlsgen::DotXnor" in top and "hlsgen::DotBipolarWeights" in top


def test_mixed_precision_and_ternary_exact(tf, save_model, gen_and_sim):
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(bm.ternary_mixed(tf))
    gen, sim = gen_and_sim(save_model(model), n_vectors=300)
    assert_exact(sim)
    top = (gen.out / "firmware" / f"{gen.out.name}.cpp").read_text()
    assert "hlsgen::DotBipolarInputs" in top


def test_binary_weights_stored_at_one_bit_each(tf, save_model, gen_and_sim):
    tf.keras.utils.set_random_seed(2)
    model = cm.randomize_bn(bm.binary_cnn(tf))
    gen, sim = gen_and_sim(save_model(model), n_vectors=20)
    assert_exact(sim)
    params = gen.out / "firmware" / "params"
    for layer in ("conv2", "logits"):
        header = (params / f"{layer}.h").read_text()
        word = int(re.search(rf"typedef ap_uint<(\d+)> {layer}_wword_t", header).group(1))
        dims = [int(d) for d in re.search(rf"{layer}_w((?:\[\d+\])+)", header).group(1)[1:-1].split("][")]
        weights = gen.graph.nodes[[n.name for n in gen.graph.nodes].index(layer)].params["weights"].size
        assert word * int(np.prod(dims)) == weights           # declared storage: 1 bit per weight
        n_words = int(np.prod(dims))
        assert (params / f"{layer}_w.bin").stat().st_size == n_words * -(-word // 8)
        hex_digits = sum(len(h) for h in re.findall(r"0x([0-9a-f]+)", header.split("#ifdef __SYNTHESIS__")[1].split("#else")[0]))
        assert hex_digits <= weights / 4 + n_words             # the initialisers spell the bits
