"""Acceptance: QKeras MLPs become projects whose C simulation equals the
golden executor bit for bit, and the golden executor equals QKeras exactly."""

import json

import numpy as np

from conftest import assert_exact, qdense_mlp, randomize_biases


def test_jet_mlp_1000_random_inputs(tf, save_model, gen_and_sim):
    model = randomize_biases(qdense_mlp(tf, [16, 64, 32, 32, 5]))
    path = save_model(model)
    gen, sim = gen_and_sim(path, n_vectors=1000)
    assert sim.frames == 1000 and sim.values == 5000
    fw = assert_exact(sim)
    assert fw["top1_agreement"] == 1.0
    # The golden executor's values are the framework's float32 logits exactly.
    logits = np.load(gen.out / "tb" / "framework.npy")
    gold = np.load(gen.out / "tb" / "golden.npy") * 2.0**-gen.graph.tensors[gen.graph.outputs[0]].qtype.frac
    assert np.array_equal(logits.astype(np.float64), gold)
    # Not a vacuous comparison: the logits vary and the inputs hit the grid.
    assert len(np.unique(logits)) > 100
    x = np.load(gen.out / "tb" / "inputs.npy")
    assert np.all(x * 2**10 == np.round(x * 2**10))


def test_digits_mlp_every_held_out_image(tf, tmp_path):
    from hlsgen.demo import build_digits_mlp, load_digits_split, train
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    x_train, x_test, y_train, y_test = load_digits_split()
    model = build_digits_mlp(tf)
    train(model, tf, x_train, y_train, 20, "digits")
    path = tmp_path / "digits.h5"
    model.save(path)
    gen = generate(str(path), tmp_path / "digits", test_data=x_test)
    sim = csim(gen.out)
    assert sim.frames == len(x_test) == 360
    assert_exact(sim)
    # The input quantizer was inferred as the input type and then dropped.
    meta = json.loads((gen.out / "hlsgen.json").read_text())
    assert meta["input_type"] == "ap_ufixed<5,1>"
    assert all(n.name != "input_quant" for n in gen.graph.nodes)
    acc = np.mean(np.argmax(sim.csim, 1) == y_test)
    assert acc > 0.85


def test_argmax_output(tf, save_model, gen_and_sim):
    model = randomize_biases(qdense_mlp(tf, [16, 32, 10], seed=3))
    gen, sim = gen_and_sim(save_model(model), output="argmax", n_vectors=300)
    assert sim.csim.shape == (300, 1)
    fw = assert_exact(sim)
    assert fw["top1_agreement"] == 1.0
    assert len(np.unique(sim.csim)) > 3


def test_quantizers_as_strings_and_dicts_agree(tf, save_model, gen_and_sim):
    from qkeras import QActivation, QDense, quantized_bits, quantized_relu
    outs = []
    for style in ("string", "object"):
        tf.keras.utils.set_random_seed(7)
        q = "quantized_bits(4,1,alpha=1)" if style == "string" else quantized_bits(4, 1, alpha=1)
        a = "quantized_relu(4,2)" if style == "string" else quantized_relu(4, 2)
        inp = tf.keras.Input((12,))
        x = QDense(8, kernel_quantizer=q, bias_quantizer=q, name="d1")(inp)
        x = QActivation(a, name="a1")(x)
        x = QDense(3, kernel_quantizer=q, bias_quantizer=q, name="d2")(x)
        model = randomize_biases(tf.keras.Model(inp, x))
        # Saving writes the quantizers as config dicts; loading reads them back.
        cfg = json.dumps(model.get_config())
        assert "quantized_bits" in cfg
        gen, sim = gen_and_sim(save_model(model, f"{style}.h5"), name=style)
        assert_exact(sim)
        outs.append(sim.csim)
    assert np.array_equal(outs[0], outs[1])


def test_auto_po2_per_channel_and_po2_weights(tf, save_model, gen_and_sim):
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(11)
    inp = tf.keras.Input((20,))
    x = QDense(16, kernel_quantizer="quantized_bits(6,0,alpha='auto_po2')",
               bias_quantizer="quantized_bits(8,3,alpha=1)", name="po2scaled")(inp)
    x = QActivation("quantized_relu(5,2)", name="r")(x)
    x = QDense(6, kernel_quantizer="quantized_po2(4,1)", bias_quantizer="quantized_po2(4,1)",
               name="po2w")(x)
    x = QActivation("quantized_bits(8,3)", name="signed_out")(x)
    model = tf.keras.Model(inp, x)
    # Per-channel scales differ: scale columns so auto_po2 picks different powers of two.
    k = model.get_layer("po2scaled").kernel
    k.assign(k.numpy() * (2.0 ** np.arange(-3, 5, 0.5)[:16]).astype(np.float32))
    randomize_biases(model)
    gen, sim = gen_and_sim(save_model(model), n_vectors=500)
    assert_exact(sim)
    w = gen.graph.nodes[1].params["weights"]
    # auto_po2 really gave several per-channel scales, carried exactly.
    frac_per_col = [np.max([c for c in range(0, 20) if np.all((col % (1 << c)) == 0)]) if np.any(col)
                    else 0 for col in w.T]
    assert len(set(frac_per_col)) > 1


def test_sequential_json_and_keras_formats(tf, tmp_path, gen_and_sim):
    from qkeras import QDense
    tf.keras.utils.set_random_seed(5)
    q = "quantized_bits(5,0,alpha=1)"
    model = tf.keras.Sequential([
        tf.keras.Input((4, 4)),
        tf.keras.layers.Flatten(name="flat"),
        QDense(12, kernel_quantizer=q, bias_quantizer=q, activation="quantized_relu(4,1)", name="d1"),
        tf.keras.layers.Dropout(0.5, name="drop"),
        QDense(6, kernel_quantizer=q, bias_quantizer=q, name="d2"),
        tf.keras.layers.Activation("relu", name="plain_relu"),
        tf.keras.layers.Reshape((2, 3), name="shape_out"),
    ])
    randomize_biases(model)
    model.save(tmp_path / "m.keras")
    (tmp_path / "m.json").write_text(model.to_json())
    model.save_weights(tmp_path / "m_weights.h5")
    _, a = gen_and_sim(tmp_path / "m.keras", name="from_keras")
    _, b = gen_and_sim(tmp_path / "m.json", name="from_json", weights=str(tmp_path / "m_weights.h5"))
    assert_exact(a)
    assert_exact(b)
    assert np.array_equal(a.csim, b.csim)
    assert np.any(a.csim > 0) and np.all(a.csim >= 0)  # the unquantized relu ran


def test_float32_rounding_in_the_framework_is_counted_and_explained(tf, save_model, gen_and_sim):
    """Wide 16-bit inputs times 8-bit weights over 512 inputs: partial sums pass
    2**24, so float32 QKeras rounds where the hardware is exact. The layer is
    flagged, C simulation still equals golden, and csim explains the cause."""
    import subprocess
    import sys
    from qkeras import QDense
    tf.keras.utils.set_random_seed(9)
    q = "quantized_bits(8,0,alpha=1)"
    inp = tf.keras.Input((512,))
    x = QDense(4, kernel_quantizer=q, bias_quantizer=q, name="wide")(inp)
    model = tf.keras.Model(inp, x)
    gen, sim = gen_and_sim(save_model(model), input_type="ap_fixed<24,10>", n_vectors=200)
    assert sim.mismatches == 0
    assert gen.graph.nodes[1].attrs["float32_exact"] is False
    fw = sim.framework_figures()
    assert fw["equal_values"] < fw["values"]          # float32 rounded somewhere
    out = subprocess.run([sys.executable, "-m", "hlsgen.cli", "csim", str(gen.out)],
                         capture_output=True, text=True)
    assert out.returncode == 0
    assert "float32" in out.stdout and "wide" in out.stdout
