"""Models with several inputs and several outputs (issue 20, item 2): one
AXI-Stream port and one DMA channel per input and output, exact per output in
C simulation (both branches) against the golden executor, and the golden
executor against QKeras; the generated driver's self-test on the emulated
board with every stream."""

from __future__ import annotations

import re

import numpy as np
import pytest

from conftest import (assert_selftest_passes, board_folder, board_python, randomize_biases)
from multi_io_models import (W4, digits_with_features, one_input_two_heads, two_heads,
                             two_input_types, typed_data)

FRAMES = 200
OUTPUTS = ["classes", "value_q"]

# name: (model builder, inputs of the test data)
CASES = {
    "concat": (lambda tf: two_heads(tf, "concat"), ["image", "features"]),
    "add": (lambda tf: two_heads(tf, "add", seed=1), ["image", "features"]),
    "one_input": (lambda tf: one_input_two_heads(tf, seed=2), ["image"]),
}


@pytest.fixture(scope="module")
def projects(tf, tmp_path_factory):
    """case -> (Project, test data by input name, QKeras model)."""
    import hlsgen
    from hlsgen.sim.emulator import install_overlay
    root = tmp_path_factory.mktemp("multi_io")
    out = {}
    for case, (build, inputs) in CASES.items():
        model = randomize_biases(build(tf))
        data = {k: v for k, v in digits_with_features(FRAMES).items() if k in inputs}
        project = hlsgen.convert(model, out=root / case, test_data=data if len(data) > 1
                                 else data["image"])
        install_overlay(project.path)
        out[case] = (project, data, model)
    return out


def _per_output(graph, frames):
    parts = graph.split(graph.outputs, frames)
    return {n: parts[t].reshape(len(frames), -1) for t, n in zip(graph.outputs, graph.output_names)}


@pytest.mark.parametrize("case", list(CASES))
def test_exact_per_output(projects, case):
    project, data, model = projects[case]
    g = project.graph
    # One input keeps the IR's tensor name "input" (as every one-input model).
    assert g.output_names == OUTPUTS
    assert g.inputs == (CASES[case][1] if len(CASES[case][1]) > 1 else ["input"])
    # golden == QKeras on every value of every output (the generator counted them).
    assert project.result.exact_values == project.result.total_values == FRAMES * 11
    res = project.csim()
    gold, csim, synth = (_per_output(g, a) for a in (res.golden, res.csim, res.synthesis.out))
    fw = _per_output(g, np.load(project.path / "tb" / "framework.npy"))
    values = _per_output(g, res.golden_values)
    for name in OUTPUTS:
        assert np.array_equal(csim[name], gold[name]), name          # C-simulation branch
        assert np.array_equal(synth[name], gold[name]), name         # synthesis branch
        assert np.array_equal(values[name], fw[name]), name          # golden == QKeras
        assert len(np.unique(gold[name])) > 3, name                  # not a constant output
    assert res.mismatches == 0 and res.synthesis.frames == FRAMES
    per = res.summary()["golden_vs_framework"]["per_output"]
    assert per == {"classes": {"equal_values": FRAMES * 10, "values": FRAMES * 10},
                   "value_q": {"equal_values": FRAMES, "values": FRAMES}}
    # Project.predict: a dict by output name, QKeras's own values.
    pred = project.predict(data if len(data) > 1 else data["image"])
    keras = model.predict([data[k] for k in CASES[case][1]], verbose=0)
    assert sorted(pred) == sorted(OUTPUTS)
    for name, want in zip(OUTPUTS, keras):
        assert np.array_equal(pred[name].reshape(len(want), -1), want.reshape(len(want), -1)), name


def test_top_function_and_block_design_have_a_port_and_dma_per_stream(projects):
    project = projects["concat"][0]
    top = (project.path / "firmware" / "concat.cpp").read_text()
    assert re.search(r"void concat\(hls::stream<concat_axis_in0_t> &in0, hls::stream<"
                     r"concat_axis_in1_t> &in1, hls::stream<concat_axis_out0_t> &out0, "
                     r"hls::stream<concat_axis_out1_t> &out1\)", top)
    for port in ("in0", "in1", "out0", "out1"):
        assert f"#pragma HLS INTERFACE axis port = {port}" in top
    bd = (project.path / "vivado" / "block_design.tcl").read_text()
    for k, (i, o) in enumerate([("in0", "out0"), ("in1", "out1")]):
        assert f"create_bd_cell -type ip -vlnv [latest axi_dma] axi_dma_{k}" in bd
        assert f"[get_bd_intf_pins axi_dma_{k}/M_AXIS_MM2S] [get_bd_intf_pins concat_0/{i}]" in bd
        assert f"[get_bd_intf_pins concat_0/{o}] [get_bd_intf_pins axi_dma_{k}/S_AXIS_S2MM]" in bd
        assert f"axi_dma_{k}/S_AXI_LITE" in bd and f"axi_dma_{k}/axi_resetn" in bd
    # One input, two outputs: the second DMA has no MM2S channel.
    bd1 = (projects["one_input"][0].path / "vivado" / "block_design.tcl").read_text()
    assert "CONFIG.c_include_mm2s {0} CONFIG.c_include_s2mm {1}" in bd1
    assert "one_input_0/in_r] " not in bd1 and "[get_bd_intf_pins one_input_0/in_r]" in bd1
    assert project.result.lint.ok


def test_inputs_of_different_types(tf, tmp_path):
    """Each input its own type (an unsigned 8-bit image first, a signed 4-bit
    odd-length feature vector second): its stream, the golden executor and the
    driver's table use it; exact against QKeras, both C-sim branches, the
    driver's self-test on the emulated board."""
    import hlsgen
    from hlsgen.sim.emulator import install_overlay
    model = randomize_biases(two_input_types(tf, seed=3))
    data = typed_data(FRAMES)
    project = hlsgen.convert(model, out=tmp_path / "types", test_data=data)
    g = project.graph
    assert [str(g.tensors[t].qtype) for t in g.inputs] == [str(q) for q in g.input_qtypes()]
    assert [(q.bits, q.signed) for q in g.input_qtypes()] == [(8, False), (4, True)]
    assert project.result.exact_values == project.result.total_values == FRAMES * 11
    res = project.csim()
    assert res.mismatches == 0
    assert np.array_equal(res.csim, res.golden) and np.array_equal(res.synthesis.out, res.golden)
    assert np.array_equal(res.golden_values, np.load(project.path / "tb" / "framework.npy"))
    pred = project.predict(data)
    keras = model.predict([data["image"], data["features"]], verbose=0)
    for name, want in zip(OUTPUTS, keras):
        assert np.array_equal(pred[name].reshape(FRAMES, -1), want.reshape(FRAMES, -1)), name
    install_overlay(project.path)
    folder = board_folder(project.path, tmp_path / "board")
    assert_selftest_passes(folder, "types", 7)


@pytest.mark.parametrize("case", ["concat", "one_input"])
def test_driver_selftest_on_the_emulated_board(projects, case, tmp_path):
    from hlsgen.platform.board_files import overlay_class_name
    project, data, _ = projects[case]
    folder = board_folder(project.path, tmp_path / case)
    assert_selftest_passes(folder, case, 7)
    # predict on the board: a dict by output name, QKeras's values.
    names = ", ".join(f"'{k}': np.load('{k}.npy')" for k in data)
    x = f"{{{names}}}" if len(data) > 1 else "np.load('image.npy')"   # one input: its array
    for k, v in data.items():
        np.save(folder / f"{k}.npy", v)
    ov = f"{case}_driver.{overlay_class_name(project.name)}(batch=9)"
    proc = board_python("-c", f"import numpy as np, {case}_driver; "
                        f"np.savez('pred.npz', **{ov}.predict({x}))", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    pred = np.load(folder / "pred.npz")
    want = project.predict(data if len(data) > 1 else data["image"])
    assert sorted(pred.files) == sorted(OUTPUTS)
    for name in OUTPUTS:
        assert np.array_equal(pred[name].reshape(FRAMES, -1), want[name].reshape(FRAMES, -1))


def test_threaded_csim_and_cli_inputs_npz(projects, tmp_path, capsys):
    from hlsgen.cli.main import main
    from hlsgen.sim.csim import csim
    project, data, _ = projects["concat"]
    res = csim(project.path, threaded=True, fast=True)   # concurrent processes, real FIFO depths
    assert res.csim_mismatches == 0 and res.frames == FRAMES
    npz = tmp_path / "x.npz"
    np.savez(npz, image=data["image"][:30], features=data["features"][:30])
    assert main(["csim", str(project.path), "--inputs", str(npz), "--fast"]) == 0
    assert "30" in capsys.readouterr().out
    np.savez(npz, image=data["image"][:30])
    assert main(["csim", str(project.path), "--inputs", str(npz), "--fast"]) != 0
    assert "features" in capsys.readouterr().err


def test_refusals(tf, tmp_path):
    import hlsgen
    from hlsgen.errors import HlsgenError
    model = two_heads(tf)
    with pytest.raises(HlsgenError, match=r"tiled architecture takes one input and one output.*"
                                          r"use --arch dataflow"):
        hlsgen.convert(model, out=tmp_path / "tiled", arch="tiled", n_vectors=4)
    with pytest.raises(HlsgenError, match=r"has 2 outputs; --output argmax .* --output logits"):
        hlsgen.convert(model, out=tmp_path / "argmax", output="argmax", n_vectors=4)
    with pytest.raises(HlsgenError, match=r"inputs are image, features; give one array for each"):
        hlsgen.convert(model, out=tmp_path / "data", test_data={"image": np.zeros((3, 8, 8, 1))})
    with pytest.raises(HlsgenError, match=r"input 'features' has shape \(3, 5\)"):
        hlsgen.convert(model, out=tmp_path / "shape", test_data=[np.zeros((3, 8, 8, 1)),
                                                                 np.zeros((3, 5))])


def test_frames_split_and_join():
    """A frame is every input's (output's) codes, flattened and concatenated
    in the graph's order; named_inputs checks what a user gives."""
    from hlsgen.errors import HlsgenError
    from hlsgen.ir.graph import Graph, Tensor, named_inputs
    g = Graph([], {"a": Tensor("a", (2, 2, 1)), "b": Tensor("b", (3,))}, ["a", "b"], ["b"])
    a = np.arange(5 * 4).reshape(5, 2, 2, 1)
    b = 100 + np.arange(5 * 3).reshape(5, 3)
    frames = g.join(g.inputs, {"a": a, "b": b})
    assert frames.shape == (5, 7) and np.array_equal(frames[1], [4, 5, 6, 7, 103, 104, 105])
    parts = g.split(g.inputs, frames)
    assert np.array_equal(parts["a"], a) and np.array_equal(parts["b"], b)
    assert np.array_equal(g.join(g.inputs, [a, b]), frames)
    got = named_inputs(g, [a, b])
    assert list(got) == ["a", "b"] and got["a"].dtype == np.float64
    with pytest.raises(HlsgenError, match="1 input arrays given; the model has 2 inputs"):
        named_inputs(g, [a])
    with pytest.raises(HlsgenError, match="give one array for each, by name"):
        named_inputs(g, {"a": a, "c": b})
    with pytest.raises(HlsgenError, match="different numbers of frames"):
        named_inputs(g, {"a": a, "b": b[:3]})


@pytest.mark.parametrize("variant", ["ok", "float_tail"])
def test_qonnx_two_inputs_two_outputs_exact(tmp_path, variant):
    """A QONNX graph with two inputs and two outputs (the qonnx executor is
    the reference): exact per output, names as the graph gives them. With
    float_tail, output y1 ends with a float Mul: its own host tail."""
    import hlsgen
    from multi_io_models import qonnx_two_in_two_out
    path = qonnx_two_in_two_out(tmp_path / "m.onnx", variant)
    project = hlsgen.convert(str(path), out=tmp_path / "prj", n_vectors=150)
    g = project.graph
    assert g.inputs == ["x0", "x1"] and g.output_names == ["y0", "y1"]
    assert project.result.exact_values == project.result.total_values == 150 * 7
    res = project.csim()
    assert res.mismatches == 0 and res.synthesis.frames == 150
    assert res.summary()["golden_vs_framework"]["per_output"] == {
        "y0": {"equal_values": 750, "values": 750}, "y1": {"equal_values": 300, "values": 300}}
    for name in ("y0", "y1"):
        assert len(np.unique(_per_output(g, res.golden)[name])) > 3, name
    rng = np.random.default_rng(5)
    x = {"x0": rng.uniform(-4, 4, (20, 4)), "x1": rng.uniform(-4, 4, (20, 3))}
    pred = project.predict(x)
    from hlsgen.frontends.qonnx.reader import load_qonnx_file
    from hlsgen.frontends.qonnx.predict import run_qonnx
    qm = load_qonnx_file(path)
    on_grid = g.split(g.inputs, g.input_values(g.quantize_inputs(x)))   # the design's inputs
    want = run_qonnx(qm, [on_grid["x0"], on_grid["x1"]])
    assert np.array_equal(pred["y0"], want[0]) and np.array_equal(pred["y1"], want[1])
    tails = g.meta.get("host_tails")
    if variant == "float_tail":   # y1 only: the framework's float32 values of its codes
        assert tails[0] is None and tails[1]["ops"] == ["tail_mul (Mul)"]
        assert project.report_json()["host_tails"]["y1"]["ops"] == ["tail_mul (Mul)"]
        assert pred["y1"].dtype == np.float64 and not np.all(pred["y1"] * 16 == np.rint(pred["y1"] * 16))
        # The driver on the emulated board: the same values, through its table.
        y = _driver_predict(project, x, tmp_path)
        assert np.array_equal(y["y0"], pred["y0"]) and np.array_equal(y["y1"], pred["y1"])
    else:
        assert tails is None


def test_qonnx_two_inputs_one_output_keeps_its_host_tail(tmp_path):
    """Two inputs and one output ending in a float Mul: the output's host
    tail is kept (it was dropped when only several outputs had per-output
    tails): golden, Project.predict and the driver on the emulated board all
    give the qonnx executor's float32 values."""
    import hlsgen
    from multi_io_models import qonnx_two_in_two_out
    from hlsgen.frontends.qonnx.reader import load_qonnx_file
    from hlsgen.frontends.qonnx.predict import run_qonnx
    path = qonnx_two_in_two_out(tmp_path / "m.onnx", "one_tail")
    project = hlsgen.convert(str(path), out=tmp_path / "prj", n_vectors=100)
    g = project.graph
    assert g.inputs == ["x0", "x1"] and g.output_names == ["y1"]
    assert g.meta["host_tails"][0]["ops"] == ["tail_mul (Mul)"]
    assert project.result.exact_values == project.result.total_values == 100 * 2
    assert project.csim().mismatches == 0
    rng = np.random.default_rng(6)
    x = {"x0": rng.uniform(-4, 4, (20, 4)), "x1": rng.uniform(-4, 4, (20, 3))}
    pred = project.predict(x)
    on_grid = g.split(g.inputs, g.input_values(g.quantize_inputs(x)))
    want = run_qonnx(load_qonnx_file(path), [on_grid["x0"], on_grid["x1"]])
    assert list(pred) == ["y1"] and np.array_equal(pred["y1"], want.reshape(pred["y1"].shape))
    assert not np.all(pred["y1"] * 16 == np.rint(pred["y1"] * 16))   # the tail ran
    assert np.array_equal(_driver_predict(project, x, tmp_path)["y1"], pred["y1"])


def _driver_predict(project, x: dict, tmp_path) -> dict:
    """The generated driver's predict(x) on the emulated board (its self-test
    passing first), as a dict by output name."""
    from hlsgen.platform.board_files import overlay_class_name
    from hlsgen.sim.emulator import install_overlay
    install_overlay(project.path)
    folder = board_folder(project.path, tmp_path / "board")
    assert_selftest_passes(folder, "prj", 5)
    np.savez(folder / "x.npz", **x)
    proc = board_python("-c", "import numpy as np, prj_driver as d; "
                        f"np.savez('y.npz', **d.{overlay_class_name('prj')}().predict("
                        "dict(np.load('x.npz'))))", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return dict(np.load(folder / "y.npz"))


@pytest.mark.parametrize("variant, words", [
    ("nhwc", ["input 'x1'", "channels-last (NHWC)", "export every input channels-first"]),
    ("same_output", ["repeats another output", "its own layer"]),
    ("float_input", ["'scale_x1' (Mul)", "input 'x1'", "quantize each input first"]),
])
def test_qonnx_refusals(tmp_path, variant, words):
    import hlsgen
    from hlsgen.errors import HlsgenError
    from multi_io_models import qonnx_two_in_two_out
    path = qonnx_two_in_two_out(tmp_path / "m.onnx", variant)
    with pytest.raises(HlsgenError) as e:
        hlsgen.convert(str(path), out=tmp_path / "prj", n_vectors=4)
    for w in words:
        assert w in str(e.value), str(e.value)
    assert not (tmp_path / "prj").exists()


def test_qonnx_unsafe_names_and_input_types(tmp_path):
    """Names with quotes, backslashes, a newline and comment terminators
    (input x1 'q"2\\', output y1 'y1 "*/ {<newline>} \\'), x1 of another type
    than x0 (unsigned 4-bit, scale 1/4), y1 of a float scale (0.1, applied by the
    driver as by Project.predict): exact, the C++ compiles (C sim), the
    driver imports and passes its self-test, the Tcl sources in tclsh."""
    import shutil
    import hlsgen
    from hlsgen.platform.board_files import overlay_class_name
    from hlsgen.sim.emulator import install_overlay
    from multi_io_models import X1_UNSAFE, Y1_UNSAFE, qonnx_two_in_two_out
    path = qonnx_two_in_two_out(tmp_path / "m.onnx", "unsafe")
    project = hlsgen.convert(str(path), out=tmp_path / "prj", n_vectors=100)
    g = project.graph
    assert g.inputs == ["x0", X1_UNSAFE] and g.output_names == ["y0", Y1_UNSAFE]
    assert [(q.bits, q.signed, q.frac) for q in g.input_qtypes()] == [(8, True, 3), (4, False, 2)]
    assert [str(g.tensors[t].qtype) for t in g.inputs] == [str(q) for q in g.input_qtypes()]
    assert project.result.exact_values == project.result.total_values == 100 * 7
    res = project.csim()
    assert res.mismatches == 0 and res.synthesis.frames == 100
    install_overlay(project.path)
    folder = board_folder(project.path, tmp_path / "board")
    assert_selftest_passes(folder, "prj", 5)
    rng = np.random.default_rng(5)
    x = {"x0": rng.uniform(-4, 4, (20, 4)), X1_UNSAFE: rng.uniform(0, 4, (20, 3))}
    pred = project.predict(x)
    from hlsgen.frontends.qonnx.predict import run_qonnx
    from hlsgen.frontends.qonnx.reader import load_qonnx_file
    on_grid = g.split(g.inputs, g.input_values(g.quantize_inputs(x)))   # the design's inputs
    want = run_qonnx(load_qonnx_file(path), [on_grid["x0"], on_grid[X1_UNSAFE]])
    assert np.array_equal(pred["y0"], want[0])   # y1: float64 of the float32 scale, exact in float32
    assert np.array_equal(pred[Y1_UNSAFE].astype(np.float32), want[1])
    k = float(g.meta["output_scales"][1])   # y1's float scale beside its power of two
    assert k != 1 and f"× {k!r}" in (project.path / "README.md").read_text()   # listed per output
    np.save(folder / "x0.npy", x["x0"])
    np.save(folder / "x1.npy", x[X1_UNSAFE])
    proc = board_python("-c", "import numpy as np, prj_driver as d; "
                        f"y = d.{overlay_class_name('prj')}().predict({{'x0': np.load('x0.npy'), "
                        f"{X1_UNSAFE!r}: np.load('x1.npy')}}); "
                        f"np.save('y0.npy', y['y0']); np.save('y1.npy', y[{Y1_UNSAFE!r}])",
                        cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.load(folder / "y0.npy"), pred["y0"])
    assert np.array_equal(np.load(folder / "y1.npy"), pred[Y1_UNSAFE])
    # No raw name in a comment: one line each, no backslash.
    for f in ("firmware/prj.h", "vivado/block_design.tcl", "README.md"):
        text = (project.path / f).read_text()
        assert X1_UNSAFE not in text and Y1_UNSAFE not in text, f
    if shutil.which("tclsh"):
        from test_tcl_scripts import record_block_design
        calls, _ = record_block_design(project.path, "pynq-z2", tmp_path / "run")
        assert calls


def test_two_inputs_one_output_named_by_its_layer(tf, tmp_path):
    """Several inputs, one output: the output is named by its layer (not an
    IR tensor) and Project.predict returns a dict by that name, as the driver."""
    import hlsgen
    from hlsgen.platform.board_files import overlay_class_name
    from hlsgen.sim.emulator import install_overlay
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(4)
    a, b = tf.keras.Input((6,), name="a"), tf.keras.Input((3,), name="b")
    x = QDense(4, kernel_quantizer=W4, bias_quantizer=W4, name="fa")(
        QActivation("quantized_bits(6,2)", name="a_q")(a))
    y = QDense(4, kernel_quantizer=W4, bias_quantizer=W4, name="fb")(
        QActivation("quantized_bits(4,1)", name="b_q")(b))
    s = tf.keras.layers.Add(name="merge")([x, y])
    out = QDense(3, kernel_quantizer=W4, bias_quantizer=W4, name="ff")(
        QActivation("quantized_relu(4,2)", name="h")(s))
    model = randomize_biases(tf.keras.Model([a, b], out))
    rng = np.random.default_rng(0)
    data = {"a": rng.uniform(-3, 3, (40, 6)), "b": rng.uniform(-2, 2, (40, 3))}
    project = hlsgen.convert(model, out=tmp_path / "two_one", test_data=data)
    assert project.graph.output_names == ["ff"]
    assert project.result.exact_values == project.result.total_values == 40 * 3
    pred = project.predict(data)
    assert list(pred) == ["ff"]
    assert np.array_equal(pred["ff"], model.predict([data["a"], data["b"]], verbose=0))
    install_overlay(project.path)
    folder = board_folder(project.path, tmp_path / "board")
    assert_selftest_passes(folder, "two_one", 5)
    for k, v in data.items():
        np.save(folder / f"{k}.npy", v)
    proc = board_python("-c", "import numpy as np, two_one_driver as d; y = d."
                        f"{overlay_class_name('two_one')}().predict({{'a': np.load('a.npy'), "
                        "'b': np.load('b.npy')}); assert list(y) == ['ff'], list(y); "
                        "np.save('y.npy', y['ff'])", cwd=folder)
    assert proc.returncode == 0, proc.stderr
    assert np.array_equal(np.load(folder / "y.npy"), pred["ff"])


def test_driver_input_checks_on_the_emulated_board(projects, tmp_path):
    """The driver's predict refuses missing, unknown, misshapen inputs and
    different frame counts with a ValueError naming the input."""
    from hlsgen.platform.board_files import overlay_class_name
    project, data, _ = projects["concat"]
    folder = board_folder(project.path, tmp_path / "concat")
    ov = f"concat_driver.{overlay_class_name(project.name)}()"
    img, feat = "np.zeros((3, 8, 8, 1))", "np.zeros((3, 4))"
    cases = {
        f"{{'image': {img}}}": "missing 'features'",
        f"{{'image': {img}, 'feature': {feat}}}": "missing 'features'; unknown 'feature'",
        f"{{'image': {img}, 'features': {feat}, 'x': {feat}}}": "unknown 'x'",
        f"{{'image': {img}, 'features': np.zeros((3, 5))}}":
            "input 'features': expected [N, 4] values",
        f"{{'image': np.zeros(64), 'features': np.zeros(4)}}":
            "input 'image': expected [N, 64] values",
        f"{{'image': {img}, 'features': np.zeros((2, 4))}}":
            "input 'features' has 2 frames, input 'image' 3",
        f"[{img}]": "1 input arrays given",
        "np.zeros((3, 67))": "frames (every input's values concatenated): expected [N, 68]",
    }
    script = ["import numpy as np, concat_driver", f"ov = {ov}"]
    for x in cases:
        script.append(f"try:\n    ov.predict({x})\nexcept ValueError as e:\n    print('ERR', e)\n"
                      f"else:\n    print('NO ERROR')")
    proc = board_python("-c", "\n".join(script), cwd=folder)
    assert proc.returncode == 0, proc.stderr
    lines = [l for l in proc.stdout.splitlines() if l.startswith(("ERR", "NO ERROR"))]
    assert len(lines) == len(cases)
    for line, want in zip(lines, cases.values()):
        assert line.startswith("ERR") and want in line, line
    assert "the model's inputs are 'image', 'features'" in lines[0]
