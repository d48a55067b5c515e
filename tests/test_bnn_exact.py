"""Acceptance: binarized QKeras networks (XNOR-popcount, thresholds) are
exact against QKeras, and 1-bit weights are stored at 1 bit each."""

import json
import re

import numpy as np
import pytest

import bnn_models as bm
import cnn_models as cm
from conftest import assert_exact
from weight_headers import weight_memories


@pytest.mark.parametrize("builder, shape, epochs", [
    ("binary_mlp", (64,), 25), ("binary_cnn", (8, 8, 1), 15)])
def test_trained_binary_net_on_digits_exact(tf, tmp_path, builder, shape, epochs):
    from hlsgen.demo import load_digits_split, train
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
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
    assert sim.synthesis.frames == 20 and sim.synthesis.mismatches == 0
    params = gen.out / "firmware" / "params"
    memories = weight_memories(params)
    for layer in ("conv2", "logits"):
        mem = memories[layer]
        weights = gen.graph.nodes[[n.name for n in gen.graph.nodes].index(layer)].params["weights"].size
        assert mem.bits == weights                       # declared storage: 1 bit per weight
        assert mem.word_bits <= 64
        assert (params / f"{layer}_w.bin").stat().st_size == mem.words * -(-mem.word_bits // 8)
        assert mem.literals == mem.words                 # one integer literal per memory word
        assert mem.hex_digits <= weights / 4 + mem.words  # the initialisers spell the bits
        simd = int(re.search(r"SIMD (\d+)", (params / f"{layer}.h").read_text()).group(1))
        if simd < 64:                                    # narrow words share memory words
            assert mem.word_bits > simd


def test_pack_factor_fills_memory_words_of_up_to_64_bits():
    from hlsgen.arch.dataflow.render import pack_factor, pack_memory
    assert pack_factor(262144, 1) == 64 and pack_factor(294912, 2) == 32
    assert pack_factor(432, 1) == 16            # 432 = 16 * 27: the depth must divide
    assert pack_factor(27, 1) == 1 and pack_factor(100, 64) == 1 and pack_factor(8, 128) == 1
    # Never more BRAM18 than unpacked: 3 x 48 bits would need 2 (512x36), so 6 x 24.
    assert pack_factor(24, 6) == 4              # 24-bit words (an ap_uint<24> memory)
    from hlsgen.arch.dataflow.cost import bram18_count
    for depth, bits in [(1024, 8), (4096, 3), (96, 12), (262144, 1), (640, 2)]:
        k = pack_factor(depth, bits)
        assert bram18_count(depth // k, k * bits) <= bram18_count(depth, bits)
    lanes = np.arange(2 * 8 * 3).reshape(2, 8, 3)
    packed, k = pack_memory(lanes, 4)
    assert k == 2 and packed.shape == (2, 4, 6)   # 4 x 24 bits: 2 x 48 would need 2 BRAM18
    assert np.array_equal(packed.reshape(-1), lanes.reshape(-1))   # lane order kept: same cache


def test_packed_weight_memories_exact_in_both_branches(tf, save_model, gen_and_sim):
    """Narrow foldings pack several weight words in one memory word, in the
    matrix-vector unit and the depthwise taps, at widths that are not C
    types (ap_uint memory words): both branches equal golden."""
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(cm.separable_block(tf))
    one = {"simd": 1, "pe": 1}
    gen, sim = gen_and_sim(save_model(model), n_vectors=50,
                           folding={"dw": one, "sep_depthwise": one, "sep_pointwise": one})
    assert_exact(sim)
    assert sim.synthesis.frames == 50 and sim.synthesis.mismatches == 0
    memories = weight_memories(gen.out / "firmware" / "params")
    for kid in ("dw", "sep_depthwise", "sep_pointwise"):
        header = (gen.out / "firmware" / "params" / f"{kid}.h").read_text()
        assert re.search(r"memory word of \d+ bits: [248] consecutive words", header), kid
        assert memories[kid].ctype.startswith("ap_uint<")
