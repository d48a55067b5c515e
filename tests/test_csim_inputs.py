"""Acceptance (issue 18, item 2): `hlsgen csim --inputs X.npy` runs golden,
the framework, both C-simulation branches and the comparison on new inputs.

The framework is the model the project was made from, loaded again from
what the manifest records (or the model a Python session converted), and
used only when it reproduces the framework outputs saved at generate time.
Its figures are checked against the framework run here, by the test."""

import json
import textwrap

import numpy as np
import pytest

from hlsgen.cli.main import main

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

BUILD = """
from hlsgen.demo import build_brevitas_mlp

def build_model():
    return build_brevitas_mlp("float")
"""


@pytest.fixture(scope="module")
def digits():
    from hlsgen.demo import load_digits_split
    return load_digits_split()


@pytest.fixture(scope="module")
def float_mlp(digits, tmp_path_factory):
    """A Brevitas MLP with float scales (its float32 arithmetic lands on
    quantization boundaries now and then), as a script and a checkpoint."""
    from hlsgen.demo import build_brevitas_mlp, train_torch
    x_train, _, y_train, _ = digits
    torch.manual_seed(0)
    model = train_torch(build_brevitas_mlp("float"), x_train, y_train, 6, "mlp (float)")
    folder = tmp_path_factory.mktemp("float_mlp")
    torch.save(model.state_dict(), folder / "net.pt")
    (folder / "train.py").write_text(textwrap.dedent(BUILD))
    return model, folder


def _generate(folder, out, **options):
    from hlsgen.flow import generate
    return generate(f"{folder / 'train.py'}:build_model", out, checkpoint=str(folder / "net.pt"),
                    input_shape="1,64", n_vectors=16, **options)


def _generate_cnn(out):
    """An untrained channels-first Brevitas CNN (8x8 digits' shape), in memory."""
    from hlsgen.demo import build_brevitas_cnn
    from hlsgen.flow import generate
    torch.manual_seed(0)
    return generate(build_brevitas_cnn("fixed").eval(), out, input_shape=(1, 1, 8, 8), n_vectors=8)


def _csim_cli(capsys, project, x_file, *extra):
    code = main(["csim", str(project), "--inputs", str(x_file), *extra])
    out = capsys.readouterr()
    return code, out.out, out.err


def _framework_scores(model, gen, x):
    """Brevitas itself on the inputs the design sees (quantized to the input grid)."""
    from hlsgen.sim.csim import quantized_inputs
    xq = gen.graph.input_values(quantized_inputs(gen.graph, x)).astype(np.float32)
    with torch.no_grad():
        y = model(torch.from_numpy(xq))
    return getattr(y, "value", y).numpy().astype(np.float64)


def _framework_codes(model, gen, x):
    """The same as codes of the design's output grid."""
    g = gen.graph
    step = float(g.meta["output_scale"]) * 2.0**-g.tensors[g.outputs[0]].qtype.frac
    return np.rint(_framework_scores(model, gen, x) / step)


def test_new_inputs_are_compared_with_brevitas_and_explained(float_mlp, digits, tmp_path, capsys):
    model, folder = float_mlp
    _, x_test, _, _ = digits
    gen = _generate(folder, tmp_path / "prj")
    np.save(tmp_path / "x.npy", x_test)
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy")
    assert code == 0, out
    s = json.loads((gen.out / "report.json").read_text())["csim"]
    assert s["frames"] == len(x_test) == 360 and s["framework_note"] is None
    assert s["csim_vs_golden"]["equal_values"] == s["values"] == 3600
    fw = s["golden_vs_framework"]
    assert fw["values"] == 3600
    # The framework's figures are Brevitas' own on these 360 frames.
    from hlsgen.ir import golden
    gold_codes = golden.output_codes(gen.graph, np.fromfile(gen.out / "tb" / "inputs.bin", "<i8")
                                     .reshape(16, -1))
    assert gold_codes.shape == (16, 10)   # (generate saw 16 other frames)
    from hlsgen.sim.csim import quantized_inputs
    gold = golden.output_codes(gen.graph, quantized_inputs(gen.graph, x_test))
    mine = _framework_codes(model, gen, x_test)
    assert fw["equal_values"] == int(np.sum(mine == gold))
    assert fw["top1_agreement"] == float(np.mean(np.argmax(mine, 1) == np.argmax(gold, 1)))
    # Every difference is explained by this run (not generate's record).
    d = s["framework_differences"]
    assert d["values"] == 3600 - fw["equal_values"]
    assert d.get("unexplained_values", 0) == 0, d
    if d["values"]:
        assert "explained: the framework's float32 value lies on a quantization boundary" in out
    # Stages, and the synthesis branch on the first 100 frames by default.
    assert set(s["stage_seconds"]) == {"framework_load", "golden", "framework", "csim", "synthesis"}
    assert s["synthesis_vs_golden"]["frames"] == 100
    assert s["synthesis_vs_golden"]["equal_values"] == 1000
    assert "the first 100 of 360 frames" in out


def test_differences_on_new_inputs_are_explained_batch_by_batch(tmp_path):
    """A framework that sits 2**-11 steps off golden before one quantizer
    (test_qonnx_reader's shifted MLP): on 3000 new inputs its flips are
    counted and explained by this run, 512 frames at a time; the batches'
    explanations add up to that of all frames at once."""
    import brevitas_models as bm
    from test_qonnx_reader import _float_mlp, generate_module
    from hlsgen.api import Project
    from hlsgen.frontends.qonnx.compare import explain, merge
    from hlsgen.frontends.qonnx.predict import predict
    from hlsgen.sim.csim import quantized_inputs
    from hlsgen.sim.summary import format_csim
    model = _float_mlp()
    shift = 2.0**-11 * float(model.relu1.act_quant.scale())
    hooks = []
    try:
        gen = generate_module(model, (1, 16), tmp_path / "shifted", bm.random_inputs((1, 16), 64),
                              prepare=lambda fe: hooks.append(model.fc1.register_forward_hook(
                                  lambda m, i, out: out + shift)))
        res = Project(gen.out, gen).csim(bm.random_inputs((1, 16), 3000, seed=5))
        assert res.framework_note == "" and res.mismatches == 0
        fw, d = res.framework_figures(), res.framework_differences
        assert d["values"] == fw["values"] - fw["equal_values"] > 0
        assert d["unexplained_values"] == 0 and set(d["first_differing_quantizer"]) == {"relu1"}
        assert f"golden vs framework: {d['values']} output values differ" in format_csim(res)
        # Batches against the whole.
        g, fe = gen.graph, gen.frontend
        x = g.input_values(quantized_inputs(g, bm.random_inputs((1, 16), 1024, seed=5)))
        y = predict(fe, x)
        whole = explain(fe, x, y)
        assert whole["values"] > 0
        assert merge(explain(fe, x[:512], y[:512]), explain(fe, x[512:], y[512:])) == whole
    finally:
        for h in hooks:
            h.remove()


def test_argmax_designs_explain_labels_not_scores(float_mlp, digits, tmp_path):
    """An arg-max design outputs the label: the explanation counts labels that
    differ (the scores before an arg-max may be in other units)."""
    from hlsgen.sim.csim import csim
    model, folder = float_mlp
    _, x_test, _, _ = digits
    np.save(tmp_path / "x.npy", x_test)
    gen = _generate(folder, tmp_path / "prj", output="argmax", test_data=str(tmp_path / "x.npy"))
    d = gen.graph.meta["framework_differences"]
    sim = csim(gen.out)
    fw = sim.framework_figures()
    assert fw["values"] == 360
    assert d["values"] == 360 - fw["equal_values"] == int(np.sum(
        np.argmax(_framework_scores(model, gen, x_test), 1) != sim.golden[:, 0]))
    assert d.get("unexplained_values", 0) == 0, d


def test_a_changed_model_is_not_compared(float_mlp, tmp_path, capsys, digits):
    model, folder = float_mlp
    _, x_test, _, _ = digits
    work = tmp_path / "model"
    work.mkdir()
    (work / "train.py").write_text(textwrap.dedent(BUILD))
    torch.save(model.state_dict(), work / "net.pt")
    gen = _generate(work, tmp_path / "prj")
    np.save(tmp_path / "x.npy", x_test[:40])
    # Other weights in the checkpoint: its hash changes.
    state = {k: v + 0.05 if v.dtype.is_floating_point else v for k, v in model.state_dict().items()}
    torch.save(state, work / "net.pt")
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy")
    assert code == 0
    assert "golden vs framework: not compared: the model has changed since the project was made" in out
    s = json.loads((gen.out / "report.json").read_text())["csim"]
    assert s["golden_vs_framework"] is None and "changed" in s["framework_note"]
    # Gone: said so.
    (work / "net.pt").unlink()
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast")
    assert code == 0 and "is not there any more" in out
    # Asked not to: not loaded.
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast", "--no-framework")
    assert code == 0 and "not compared: not asked for (--no-framework)" in out


def test_a_script_that_builds_other_weights_is_not_compared(tmp_path, capsys, digits):
    """Without a checkpoint the script is the model: one whose weights are
    random on every call is refused by the model's hash and, that check
    taken out of the manifest, by the saved outputs it fails to reproduce."""
    _, x_test, _, _ = digits
    (tmp_path / "net.py").write_text(textwrap.dedent("""
        from hlsgen.demo import build_brevitas_mlp

        def build_model():
            return build_brevitas_mlp("fixed")   # unseeded: new weights on every call
    """))
    from hlsgen.flow import generate
    gen = generate(f"{tmp_path / 'net.py'}:build_model", tmp_path / "prj", input_shape="1,64",
                   n_vectors=16)
    np.save(tmp_path / "x.npy", x_test[:20])
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast")
    assert code == 0 and "not compared: the model has changed since the project was made" in out
    manifest = json.loads((gen.out / "hlsgen.json").read_text())
    del manifest["model_content_sha256"]
    (gen.out / "hlsgen.json").write_text(json.dumps(manifest))
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast")
    assert code == 0
    assert "does not reproduce the framework outputs saved for the test vectors" in out


def test_python_api_compares_the_model_in_memory(float_mlp, digits, tmp_path, capsys):
    import hlsgen
    model, _ = float_mlp
    _, x_test, _, _ = digits
    project = hlsgen.convert(model, out=tmp_path / "prj", input_shape=(1, 64), n_vectors=16)
    res = project.csim(x_test[:200], synthesis_frames="all")
    assert res.framework_note == "" and res.synthesis.frames == 200 and res.mismatches == 0
    fw = res.framework_figures()
    gen = project.result
    mine = _framework_codes(model, gen, x_test[:200])
    assert fw["equal_values"] == int(np.sum(mine == res.golden))
    # The same project opened from its folder: the model was in memory.
    again = hlsgen.open(tmp_path / "prj").csim(x_test[:20], fast=True)
    assert again.framework is None and "made from a model in memory" in again.framework_note
    # predict() never runs the framework.
    assert project.predict(x_test[:5]).shape == (5, 10)
    # Trained further after convert: not the model the project was made from.
    with torch.no_grad():
        next(model.parameters()).add_(0.01)
    try:
        changed = project.csim(x_test[:20], fast=True)
        assert changed.framework is None and "has changed" in changed.framework_note
    finally:
        with torch.no_grad():
            next(model.parameters()).sub_(0.01)


def test_qkeras_file_model_is_compared_exactly(tf, tmp_path, capsys):
    """A QKeras .h5 with power-of-two scales: golden equals QKeras on every
    value of new inputs, which the test establishes with QKeras itself."""
    from conftest import qdense_mlp, randomize_biases
    model = randomize_biases(qdense_mlp(tf, [64, 32, 10], softmax=False))
    model.save(tmp_path / "m.h5")
    from hlsgen.flow import generate
    gen = generate(str(tmp_path / "m.h5"), tmp_path / "prj", n_vectors=8,
                   input_type="ap_ufixed<8,1>")
    x = np.random.default_rng(3).uniform(0, 1, (300, 64)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy")
    assert code == 0, out
    s = json.loads((gen.out / "report.json").read_text())["csim"]
    assert s["framework_note"] is None and s["csim_vs_golden"]["equal_values"] == 3000
    from hlsgen.ir import golden
    from hlsgen.sim.csim import quantized_inputs
    codes = quantized_inputs(gen.graph, x)
    keras = model(tf.constant(gen.graph.input_values(codes).astype(np.float32)), training=False)
    gold = golden.output_values(gen.graph, golden.output_codes(gen.graph, codes))
    assert s["golden_vs_framework"]["equal_values"] == int(np.sum(np.asarray(keras) == gold)) == 3000


def test_a_changed_weights_file_is_not_compared(tf, tmp_path, capsys):
    """A QKeras .json with its weights in another file: new weights (one bias
    moved by a step, which need not change the test vectors' outputs) are
    found by the hash of the model as loaded, not only of the .json."""
    from conftest import qdense_mlp, randomize_biases
    from hlsgen.flow import generate
    model = randomize_biases(qdense_mlp(tf, [16, 8, 4], softmax=False))
    (tmp_path / "m.json").write_text(model.to_json())
    model.save_weights(tmp_path / "w.h5")
    gen = generate(str(tmp_path / "m.json"), tmp_path / "prj", weights=str(tmp_path / "w.h5"),
                   n_vectors=8, input_type="ap_fixed<8,3>", output="argmax")
    x = np.random.default_rng(0).uniform(-4, 4, (200, 16)).astype(np.float32)
    np.save(tmp_path / "x.npy", x)
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast")
    assert code == 0 and "not compared" not in out
    assert (gen.out / "tb" / "framework_scores.npy").is_file()   # an arg-max design's scores
    bias = model.layers[-1].bias
    bias.assign(bias.numpy() - np.float32(1 / 32) * (np.arange(4) == 0))
    model.save_weights(tmp_path / "w.h5")
    code, out, _ = _csim_cli(capsys, gen.out, tmp_path / "x.npy", "--fast")
    assert code == 0 and "not compared: the model has changed since the project was made" in out


def test_bad_inputs_and_options_are_one_line_errors(float_mlp, tmp_path, capsys):
    _, folder = float_mlp
    gen = _generate(folder, tmp_path / "prj")
    np.save(tmp_path / "empty.npy", np.zeros((0, 64), np.float32))
    code, _, err = _csim_cli(capsys, gen.out, tmp_path / "empty.npy")
    assert code == 2 and "are not frames" in err and "Traceback" not in err
    np.save(tmp_path / "empty_cf.npy", np.zeros((0, 1, 8, 8), np.float32))   # channels-first
    gen_cnn = _generate_cnn(tmp_path / "cnn")
    code, _, err = _csim_cli(capsys, gen_cnn.out, tmp_path / "empty_cf.npy")
    assert code == 2 and "are not frames" in err and "Traceback" not in err
    assert main(["csim", str(gen.out), "--no-framework"]) == 2
    assert "--no-framework applies with --inputs" in capsys.readouterr().err


@pytest.mark.parametrize("value", ["0", "ten", "-3", "\u00b2"])
def test_synthesis_frames_must_be_a_count_or_all(float_mlp, tmp_path, capsys, value, digits):
    _, folder = float_mlp
    _, x_test, _, _ = digits
    gen = _generate(folder, tmp_path / "prj")
    np.save(tmp_path / "x.npy", x_test[:10])
    code, _, err = _csim_cli(capsys, gen.out, tmp_path / "x.npy", f"--synthesis-frames={value}")
    assert code == 2 and f"--synthesis-frames (synthesis_frames=) {value!r} must be a number" in err
    assert "Traceback" not in err


def test_two_builds_of_the_same_sources_at_once(tmp_path):
    """csim no longer waits for a compiler after an error, so a second csim
    may build the same sources while the first build still runs: each build
    writes a folder of its own, and both give a working executable."""
    from concurrent.futures import ThreadPoolExecutor
    from hlsgen.sim.compile import build
    from hlsgen.sim.csim import run_frames
    gen = _generate_cnn(tmp_path / "cnn")
    name = json.loads((gen.out / "hlsgen.json").read_text())["name"]
    with ThreadPoolExecutor(max_workers=2) as pool:
        builds = list(pool.map(lambda _: build(gen.out, name, synthesis=True), range(2)))
    assert [b.cached for b in builds] == [False, False]   # both really compiled
    assert builds[0].exe == builds[1].exe and builds[0].exe.is_file()
    assert not list((gen.out / "build" / "csim").glob("*.tmp"))   # nothing left behind
    codes = np.fromfile(gen.out / "tb" / "inputs.bin", dtype="<i8").reshape(8, -1)
    gold = np.load(gen.out / "tb" / "golden.npy")
    assert np.array_equal(run_frames(builds[0].exe, gen.out, codes, gold.shape[1]), gold)
