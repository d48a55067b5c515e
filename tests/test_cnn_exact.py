"""Acceptance: convolutional QKeras networks are bit-exact through C
simulation (against the golden executor) and the golden executor equals
QKeras exactly; residual FIFOs are sized so the dataflow never deadlocks."""

import subprocess

import numpy as np
import pytest

import cnn_models as cm
from conftest import assert_exact


@pytest.mark.parametrize("builder", [
    "residual_block", "separable_block", "stride2_7x7", "kernel_1x3", "conv1d_signal",
    "concat_gap_bnfold", "smooth_activations",
])
def test_block_exact_on_200_random_inputs(tf, save_model, gen_and_sim, builder):
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(getattr(cm, builder)(tf))
    gen, sim = gen_and_sim(save_model(model, builder + ".h5"), name=builder, n_vectors=200)
    assert sim.frames == 200
    assert_exact(sim)
    assert len(np.unique(sim.csim)) > 10   # outputs vary: the comparison is not vacuous


def test_structure_of_generated_blocks(tf, save_model, gen_and_sim):
    """The kernels the issue asks for are the ones that run."""
    import json
    kinds = {}
    for builder in ("residual_block", "separable_block", "stride2_7x7"):
        tf.keras.utils.set_random_seed(1)
        model = cm.randomize_bn(getattr(cm, builder)(tf))
        gen, _ = gen_and_sim(save_model(model, builder + ".h5"), name=builder, n_vectors=5)
        kinds[builder] = [l["kind"] for l in json.loads((gen.out / "report.json").read_text())["layers"]]
    assert {"fork", "add", "swg", "pad", "mvu"} <= set(kinds["residual_block"])
    assert "dwu" in kinds["separable_block"]
    assert kinds["stride2_7x7"].count("swg") == 1 and "pad" in kinds["stride2_7x7"]


def test_digits_cnn_every_held_out_image(tf, tmp_path):
    from hlsgen.demo import load_digits_split, train
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    x_train, x_test, y_train, y_test = load_digits_split()
    model = cm.digits_cnn(tf)
    train(model, tf, x_train.reshape(-1, 8, 8, 1), y_train, 8, "digits CNN")
    model.save(tmp_path / "cnn.h5")
    gen = generate(str(tmp_path / "cnn.h5"), tmp_path / "cnn", test_data=x_test.reshape(-1, 8, 8, 1))
    sim = csim(gen.out)
    assert sim.frames == 360
    assert_exact(sim)
    assert np.mean(np.argmax(sim.csim, 1) == y_test) > 0.8
    # Batch-norm went into per-channel integer requantization (thresholds, or
    # since issue 15 the cheaper multiplier form), not floats.
    rq = [n.attrs["requant"] for n in gen.graph.nodes if n.op == "requant"]
    assert any(r["kind"] in ("thresholds", "multiply") for r in rq)


def _run_threaded(project, name, depth_override=None, timeout=20):
    from hlsgen.sim.compile import build
    b = build(project, name, threaded=True, depth_override=depth_override)
    out = project / "tb" / "threaded_out.bin"
    try:
        proc = subprocess.run([str(b.exe), str(project / "firmware" / "params"),
                               str(project / "tb" / "inputs.bin"), str(out)],
                              timeout=timeout, capture_output=True)
    except subprocess.TimeoutExpired:
        return None
    assert proc.returncode == 0, proc.stderr
    return np.fromfile(out, dtype="<i8")


def test_residual_fifo_sizing_prevents_deadlock(tf, save_model, gen_and_sim):
    """Concurrent processes on bounded FIFOs: with the generated depths the
    residual block completes bit-exact; with every FIFO at a naive depth of 2
    the skip path fills while the convolutions fill their line buffers, and
    the dataflow deadlocks (the run hangs until the timeout)."""
    tf.keras.utils.set_random_seed(3)
    model = cm.randomize_bn(cm.residual_block(tf, size=16, c=8))
    gen, sim = gen_and_sim(save_model(model), n_vectors=10)
    assert_exact(sim)
    name = gen.out.name
    out = _run_threaded(gen.out, name)
    assert out is not None, "deadlock with the generated FIFO depths"
    assert np.array_equal(out.reshape(sim.golden.shape), sim.golden)
    assert _run_threaded(gen.out, name, depth_override=2, timeout=10) is None
    # The skip FIFO holds a few rows, not the whole frame.
    text = (gen.out / "firmware" / f"{name}.cpp").read_text()
    depths = [int(l.split("depth = ")[1]) for l in text.splitlines() if "#pragma HLS STREAM" in l]
    assert 2 < max(depths) < 16 * 16 * 8 // 8


def test_threaded_csim_equals_sequential_on_a_cnn(tf, save_model, gen_and_sim):
    from hlsgen.sim.csim import csim
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(cm.concat_gap_bnfold(tf))
    gen, sim = gen_and_sim(save_model(model), n_vectors=30)
    threaded = csim(gen.out, threaded=True)
    assert np.array_equal(threaded.csim, sim.csim)
    assert threaded.mismatches == 0


@pytest.mark.parametrize("kind, kwargs, words", [
    ("dilation", {"dilation_rate": 2}, "dilation"),
    ("causal", {"padding": "causal"}, "causal"),
])
def test_unsupported_conv_options_named(tf, tmp_path, kind, kwargs, words):
    from qkeras import QConv1D
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    inp = tf.keras.Input((16, 2))
    x = QConv1D(4, 3, kernel_quantizer=cm.W6, bias_quantizer=cm.W6, name="c_" + kind, **kwargs)(inp)
    tf.keras.Model(inp, x).save(tmp_path / "m.h5")
    with pytest.raises(HlsgenError, match=words) as e:
        generate(str(tmp_path / "m.h5"), tmp_path / "p")
    assert "c_" + kind in str(e.value)
    assert not (tmp_path / "p").exists()


def test_smooth_activations_are_tables_of_the_framework(tf, save_model, gen_and_sim):
    import json
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(cm.smooth_activations(tf))
    gen, sim = gen_and_sim(save_model(model), n_vectors=300)
    assert_exact(sim)
    rq = {l["id"]: l["requant"] for l in json.loads((gen.out / "report.json").read_text())["layers"]
          if "requant" in l}
    assert rq["qtanh"]["kind"] == "lut" and rq["qtanh"]["entries"] == 256
    # sigmoid on a wide accumulator: monotonic, so thresholds or (cheaper, when
    # a line with a few exception codes equals it everywhere) a multiplier
    assert rq["d2"]["kind"] in ("thresholds", "multiply")
    assert rq["q_out"]["kind"] == "lut"           # swish is not monotonic
    assert all(r["entries"] <= 4096 for r in rq.values() if r["kind"] == "lut")


def test_non_monotonic_on_wide_input_is_refused(tf, tmp_path):
    from qkeras import QActivation, QDense
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    inp = tf.keras.Input((64,))
    x = QDense(8, kernel_quantizer=cm.W6, bias_quantizer=cm.W6, name="wide")(inp)
    x = tf.keras.layers.Activation("swish", name="sw")(x)
    x = QActivation("quantized_bits(6,2)", name="q")(x)
    tf.keras.Model(inp, x).save(tmp_path / "m.h5")
    with pytest.raises(HlsgenError, match="12 bits"):
        generate(str(tmp_path / "m.h5"), tmp_path / "p")
    assert not (tmp_path / "p").exists()


def test_trace_names_the_first_divergent_layer(tf, save_model, gen_and_sim):
    """--trace compares every intermediate tensor; a corrupted weight of conv2
    is found at conv2, with every earlier layer still exact."""
    from hlsgen.sim.csim import trace
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(cm.digits_cnn(tf))
    gen, sim = gen_and_sim(save_model(model), n_vectors=8)
    rows = trace(gen.out, 4)
    assert all(r.exact for r in rows) and len(rows) >= 7
    w = gen.out / "firmware" / "params" / "conv2_w.bin"
    w.write_bytes(bytes(b ^ 0xFF for b in w.read_bytes()))   # every weight bit flipped
    rows = trace(gen.out, 4)
    first = next(r for r in rows if not r.exact)
    assert first.layer.startswith("conv2")
    assert all(r.exact for r in rows[:rows.index(first)])
