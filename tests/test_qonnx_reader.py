"""The QONNX reader over the Brevitas module list of issue 4, its errors and
the interface traps (ONNX IR versions, onnxoptimizer), and the explanation of
framework differences."""

import os
import re
import subprocess
import sys

import numpy as np
import pytest

import brevitas_models as bm
from qonnx_graphs import qonnx_file
from conftest import assert_exact
from test_errors import assert_nothing_written, assert_user_error

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")


def generate_module(model, shape, out, x, prepare=None, **kw):
    """generate() on a Brevitas module in memory; prepare(frontend), when
    given, runs after the export, before generate uses it."""
    from hlsgen.flow import generate
    if prepare is None:
        return generate(model, out, input_shape=shape, test_data=x, **kw)
    from hlsgen.frontends import select
    import hlsgen.flow as gen_module
    saved = gen_module.load_frontend
    fe, source = select.load_frontend(model, input_shape=shape)
    prepare(fe)
    gen_module.load_frontend = lambda *a, **k: (fe, source)
    try:
        return generate(model, out, input_shape=shape, test_data=x, **kw)
    finally:
        gen_module.load_frontend = saved


@pytest.mark.parametrize("name", ["zoo_fixed", "signal", "trunc"])
def test_power_of_two_networks_exact(tmp_path, name):
    """Every module of the list, power-of-two scales: C simulation == golden ==
    Brevitas on every value."""
    from hlsgen.sim.csim import csim
    torch.manual_seed(0)
    if name == "zoo_fixed":
        model, shape = bm.randomize(bm.calibrate(bm.zoo(True), bm.ZOO_SHAPE)), bm.ZOO_SHAPE
    elif name == "signal":   # max-pool moved before a batch-norm of positive gains
        model = bm.randomize(bm.calibrate(bm.signal_net(), bm.SIGNAL_SHAPE), positive_gain=True)
        shape = bm.SIGNAL_SHAPE
    else:
        model, shape = bm.calibrate(bm.trunc_net(), bm.TRUNC_SHAPE), bm.TRUNC_SHAPE
    gen = generate_module(model, shape, tmp_path / name, bm.random_inputs(shape, 200))
    sim = csim(gen.out)
    assert_exact(sim)
    assert len(np.unique(sim.csim)) > 5
    ops = {n.op for n in gen.graph.nodes}
    if name == "zoo_fixed":
        assert {"add", "pad", "conv", "dense", "pool"} <= ops
        assert any(n.op == "conv" and n.attrs["depthwise"] for n in gen.graph.nodes)


def test_channels_last_data_at_the_boundary(tmp_path):
    """NHWC in and out (Transpose at the graph's input and output): test data
    go in as the framework takes them, and the design streams the same order."""
    from hlsgen.sim.csim import csim
    torch.manual_seed(0)
    model = bm.calibrate(bm.channels_last_net(), bm.CHANNELS_LAST_SHAPE)
    gen = generate_module(model, bm.CHANNELS_LAST_SHAPE, tmp_path / "nhwc",
                          bm.random_inputs(bm.CHANNELS_LAST_SHAPE, 100))
    assert gen.graph.tensors["input"].shape == (6, 6, 3)
    assert gen.graph.meta["framework_layout"] == {"input": "channels_last", "output": "channels_last"}
    assert_exact(csim(gen.out))


def test_float_zoo_codes_equal(tmp_path):
    """Float scales everywhere (per-channel weights, zero points, a shared
    residual quantizer): C simulation == golden, framework codes equal or
    explained."""
    from hlsgen.sim.csim import csim
    torch.manual_seed(0)
    model = bm.randomize(bm.calibrate(bm.zoo(False), bm.ZOO_SHAPE))
    gen = generate_module(model, bm.ZOO_SHAPE, tmp_path / "zoo", bm.random_inputs(bm.ZOO_SHAPE, 300))
    sim = csim(gen.out)
    assert sim.mismatches == 0
    fw = sim.framework_figures()
    assert fw["equal_values"] >= 0.999 * fw["values"]
    assert gen.graph.meta["framework_differences"].get("unexplained_values", 0) == 0


def _float_mlp():
    from collections import OrderedDict
    import brevitas.nn as qnn
    from brevitas import quant as bq
    torch.manual_seed(0)
    model = torch.nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat, return_quant_tensor=True)),
        ("fc1", qnn.QuantLinear(16, 32, bias=True, weight_quant=bq.Int8WeightPerChannelFloat)),
        ("relu1", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat, return_quant_tensor=True)),
        ("fc2", qnn.QuantLinear(32, 4, bias=True, weight_quant=bq.Int8WeightPerTensorFloat,
                                bias_quant=bq.Int32Bias)),
    ]))
    return bm.calibrate(model, (1, 16))


@pytest.mark.parametrize("shift_steps, explained", [(2.0**-11, True), (0.3, False)])
def test_differences_are_classified(tmp_path, shift_steps, explained):
    """A framework that moves relu1's input by a fraction of a step: codes
    that flip within the float32-rounding tolerance of a boundary are
    explained; flips from further away are reported as unexplained."""
    model = _float_mlp()
    scale = float(model.relu1.act_quant.scale())
    x = bm.random_inputs((1, 16), 2000, seed=3)
    hooks = []
    try:   # the framework changes after the export, so the design does not follow it
        gen = generate_module(model, (1, 16), tmp_path / "shifted", x, prepare=lambda fe: hooks.append(
            model.fc1.register_forward_hook(lambda m, i, out: out + shift_steps * scale)))
    finally:
        hooks[0].remove()
    d = gen.graph.meta["framework_differences"]
    assert d["values"] > 0 and set(d["first_differing_quantizer"]) == {"relu1"}
    if explained:
        assert d["unexplained_values"] == 0 and d["max_boundary_distance_steps"] <= shift_steps * 1.01
    else:
        assert d["unexplained_values"] > 0
    from hlsgen.sim.csim import csim
    from hlsgen.sim.summary import format_csim
    import contextlib
    import io
    buf = io.StringIO()
    with contextlib.redirect_stdout(buf):
        print(format_csim(csim(gen.out)))
    assert f"{d['values']} output values differ" in buf.getvalue()
    assert ("NOT explained" in buf.getvalue()) != explained


# -- errors a user can cause ------------------------------------------------------


def _qonnx_file(path, ops, in_shape=(1, 4)):
    """A tiny QONNX graph: x -> Quant -> ops... (each op: (type, attrs, consts))."""
    return qonnx_file(path, ops, in_shape)


def _cli(*args, cwd=None):
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *map(str, args)], capture_output=True,
                          text=True, cwd=cwd, env=dict(os.environ))


def test_unsupported_op_one_line_exit_2_nothing_written(tmp_path):
    path = _qonnx_file(tmp_path / "sin.onnx", [("Sin", {}, [])])
    proc = _cli("generate", path, "--out", tmp_path / "prj")
    line = assert_user_error(proc, "Sin", "my_sin", "not supported")
    assert "supported:" in line
    assert_nothing_written(tmp_path / "prj")


@pytest.mark.parametrize("ops, words", [
    ([("BipolarQuant", {}, [-1.0])], ["BipolarQuant", "positive"]),
    ([("Quant", {"signed": 1, "narrow": 0}, [0.5, 1.0, 1.0])], ["1-bit", "binarized", "zero point"]),
    ([("Mul", {}, [0.3])], ["Mul", "without a quantizer", "QuantIdentity"]),
    ([("Transpose", {"perm": [1, 0]}, [])], ["Transpose", "graph's input or output"]),
    # (per-channel 1, 2, 3, 4 would be exact: tests/test_exact_float.py)
    ([("Relu", {}, []), ("Mul", {}, [[0.1, 0.2, 0.3, 0.4]])], ["without a quantizer"]),
])
def test_graph_errors_name_the_node_and_the_fix(tmp_path, ops, words):
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    path = _qonnx_file(tmp_path / "m.onnx", ops)
    with pytest.raises(HlsgenError) as e:
        generate(str(path), tmp_path / "prj")
    for w in words:
        assert w in str(e.value)
    assert "\n" not in str(e.value)
    assert not (tmp_path / "prj").exists()


def _module_error(model, shape, tmp_path):
    from hlsgen.errors import HlsgenError
    with pytest.raises(HlsgenError) as e:
        generate_module(model.eval(), shape, tmp_path / "prj", bm.random_inputs(shape, 4))
    assert not (tmp_path / "prj").exists()
    return str(e.value)


@pytest.mark.parametrize("act", ["Sigmoid", "ReLU"])
def test_weight_only_layer_feeding_a_float_activation(tmp_path, act):
    from collections import OrderedDict
    import brevitas.nn as qnn
    model = torch.nn.Sequential(OrderedDict([
        ("fc1", qnn.QuantLinear(8, 8, bias=True)), ("act", getattr(torch.nn, act)()),
        ("fc2", qnn.QuantLinear(8, 2, bias=False))]))
    msg = _module_error(model, (1, 8), tmp_path)
    assert "'act'" in msg or "'fc1'" in msg
    assert "reaches 'fc2' without a quantizer" in msg and "QuantReLU instead of nn.ReLU" in msg


def test_smooth_activation_before_a_quantizer(tmp_path):
    """QuantSigmoid / QuantTanh: the framework's own activation, tabulated or
    thresholded; every code equal."""
    from collections import OrderedDict
    import brevitas.nn as qnn
    from brevitas import quant as bq
    from hlsgen.sim.csim import csim
    torch.manual_seed(0)
    model = bm.calibrate(torch.nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint, return_quant_tensor=True)),
        ("fc1", qnn.QuantLinear(8, 8, bias=True, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                                bias_quant=bq.Int32Bias)),
        ("sig", qnn.QuantSigmoid(bit_width=6, return_quant_tensor=True)),
        ("fc2", qnn.QuantLinear(8, 8, bias=False, weight_quant=bq.Int8WeightPerTensorFixedPoint)),
        ("tanh", qnn.QuantTanh(bit_width=4, return_quant_tensor=True))])), (1, 8))
    gen = generate_module(model, (1, 8), tmp_path / "prj", bm.random_inputs((1, 8), 300))
    assert_exact(csim(gen.out))
    assert len({n.attrs["requant"]["kind"] for n in gen.graph.nodes if n.op == "requant"}) >= 1


def test_concat_of_two_float_scales_is_exact(tmp_path):
    """Channels of two float scales side by side carry a per-channel scale;
    at the output it runs on the host, as the framework computes it. (An add
    of two float scales: tests/test_scaled_adds.py.)"""
    from hlsgen.sim.csim import csim
    model = bm.calibrate(bm.two_scales("concat"), (1, 4))
    scales = [float(model.a.act_quant.scale()), float(model.b.act_quant.scale())]
    assert scales[0] != scales[1]          # the case this test is about
    gen = generate_module(model, (1, 4), tmp_path / "prj", bm.random_inputs((1, 4), 100))
    assert [n.op for n in gen.graph.nodes if n.op == "concat"] == ["concat"]
    assert gen.graph.meta["host_tail"]["ops"] == ["a per-channel float scale"]
    assert gen.exact_values == gen.total_values == 800
    assert_exact(csim(gen.out))


def test_add_of_per_channel_and_other_float_scales_is_refused(tmp_path):
    """A convolution's accumulator (per-channel weight scales, no quantizer)
    added to a differently scaled branch."""
    import brevitas.nn as qnn
    from brevitas import quant as bq

    class PerChannel(torch.nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.conv = qnn.QuantConv2d(3, 3, 1, bias=False, weight_quant=bq.Int8WeightPerChannelFloat)
            self.out = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)

        def forward(self, x):
            x = self.inq(x)
            return self.out(self.conv(x) + x)
    model = bm.calibrate(PerChannel(), (1, 3, 4, 4))
    msg = _module_error(model, (1, 3, 4, 4), tmp_path)
    assert "(Add): an input has per-channel float scales" in msg and "QuantIdentity" in msg


def test_test_data_in_the_wrong_layout(tmp_path):
    from hlsgen.errors import HlsgenError
    torch.manual_seed(0)
    model = bm.calibrate(bm.trunc_net(), bm.TRUNC_SHAPE)
    with pytest.raises(HlsgenError, match=r"\(N, 2, 8, 8\) in the framework's \(PyTorch\) layout"):
        generate_module(model, bm.TRUNC_SHAPE, tmp_path / "prj", np.zeros((3, 8, 8, 2)))


# -- interface traps --------------------------------------------------------------


def _refused_ir_version(ort, plain, start: int, span: int = 64):
    """The first IR version from `start` on that the installed onnxruntime
    refuses to load (which one depends on its release), or None."""
    for version in range(start, start + span):
        plain.ir_version = version
        try:
            ort.InferenceSession(plain.SerializeToString(), providers=["CPUExecutionProvider"])
        except Exception as e:  # onnxruntime raises its own exception types
            if re.search("(?i)ir version|unsupported model", str(e)):
                return version
            raise
    return None


def test_newer_onnx_ir_version_is_lowered_before_executing(tmp_path):
    """An exporter newer than the installed onnxruntime writes an IR version it
    refuses; hlsgen lowers the version number (the operators are unchanged).
    The refused version is found, not assumed: onnxruntime 1.32 accepts the
    version after onnx.IR_VERSION, older releases did not."""
    import onnx
    import onnxruntime as ort
    from hlsgen.frontends.qonnx.env import max_ir_version
    from hlsgen.flow import generate
    path = _qonnx_file(tmp_path / "relu.onnx", [("Relu", {}, [])])
    model = onnx.load(str(path))
    plain = onnx.helper.make_model(onnx.helper.make_graph(
        [onnx.helper.make_node("Relu", ["x"], ["y"])], "g",
        [onnx.helper.make_tensor_value_info("x", onnx.TensorProto.FLOAT, [1])],
        [onnx.helper.make_tensor_value_info("y", onnx.TensorProto.FLOAT, [1])]),
        opset_imports=[onnx.helper.make_opsetid("", 13)])
    refused = _refused_ir_version(ort, plain, max_ir_version() + 1)
    if refused is None:
        pytest.skip(f"onnxruntime {ort.__version__} refuses no IR version up to "
                    f"{max_ir_version() + 64}: nothing to lower")
    model.ir_version = refused
    onnx.save(model, str(path))
    gen = generate(str(path), tmp_path / "prj", n_vectors=20)
    assert gen.exact_values == gen.total_values


def test_missing_onnxoptimizer_is_a_clear_error(tmp_path, monkeypatch):
    import importlib.util
    import brevitas.export.onnx.manager as manager
    from hlsgen.errors import HlsgenError
    from hlsgen.frontends.brevitas.loader import export_module
    model = bm.trunc_net()
    find_spec = importlib.util.find_spec
    monkeypatch.setattr(importlib.util, "find_spec",
                        lambda name, *a: None if name == "onnxoptimizer" else find_spec(name, *a))
    with pytest.raises(HlsgenError, match="onnxoptimizer.*pip install onnxoptimizer"):
        export_module(model, bm.TRUNC_SHAPE)
    monkeypatch.undo()
    monkeypatch.setattr(manager, "opt", None)   # Brevitas' own check, as without the package
    with pytest.raises(HlsgenError, match="onnxoptimizer"):
        export_module(model, bm.TRUNC_SHAPE)


def test_bad_module_specs(tmp_path, monkeypatch, capsys):
    """In-process `hlsgen generate` (the exit code and the one line of the CLI)."""
    from hlsgen.cli.main import main
    monkeypatch.chdir(tmp_path)
    (tmp_path / "m.py").write_text("def build():\n    return 3\n")
    for args, words in [(["m.py:build"], ["--input-shape"]),
                        (["m.py:missing", "--input-shape", "1,4"], ["no function 'missing'"]),
                        (["m.py:build", "--input-shape", "1,4"], ["not a torch.nn.Module"]),
                        (["m.py:build", "--input-shape", "1,x"], ["--input-shape '1,x'"]),
                        (["nothere.py:build", "--input-shape", "1,4"], ["does not exist"])]:
        code = main(["generate", *args, "--out", "p"])
        err = capsys.readouterr().err.strip().splitlines()
        assert code == 2 and len(err) == 1 and err[0].startswith("error:"), err
        assert all(w in err[0] for w in words), err[0]
    assert not (tmp_path / "p").exists()
