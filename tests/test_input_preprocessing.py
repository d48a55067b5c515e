"""Issue 17, item 2: affine preprocessing of the model's input (constant
Add/Sub/Mul/Div before the first integer layer) evaluated exactly on the
declared input type, bipolar included; what is not exact there is refused
naming the operation."""

import re
from collections import OrderedDict

import numpy as np
import pytest

import brevitas_models as bm
from conftest import assert_exact

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

N_IN = 16


class _Pre(torch.nn.Module):
    """pre(x) -> body, where pre is plain PyTorch arithmetic on the input."""

    def __init__(self, pre, body):
        super().__init__()
        self.pre, self.body = pre, body

    def forward(self, x):
        return self.body(self.pre(x))


def _mlp(pre, out_quant=True):
    """QuantLinear (2-bit weights) -> BatchNorm1d -> 2-bit QuantReLU ->
    QuantLinear (one output) [-> QuantIdentity]."""
    import brevitas.nn as qnn
    from brevitas import quant as bq
    torch.manual_seed(0)
    w = bq.Int8WeightPerTensorFixedPoint
    layers = [("fc1", qnn.QuantLinear(N_IN, 12, bias=False, weight_quant=w, weight_bit_width=2)),
              ("bn", torch.nn.BatchNorm1d(12)),
              ("act", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=2,
                                    return_quant_tensor=True)),
              ("fc2", qnn.QuantLinear(12, 1, bias=False, weight_quant=w, weight_bit_width=2))]
    if out_quant:
        layers.append(("out", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint)))
    model = _Pre(pre, torch.nn.Sequential(OrderedDict(layers)))
    return bm.randomize(bm.calibrate(model, (1, N_IN)), positive_gain=True)


def _generate(model, out, x, input_type):
    from hlsgen.flow import generate
    return generate(model, out, input_shape=(1, N_IN), input_type=input_type, test_data=x)


def _refusal(model, tmp_path, input_type):
    from hlsgen.errors import HlsgenError
    with pytest.raises(HlsgenError) as e:
        _generate(model, tmp_path / "prj", np.zeros((4, N_IN), np.float32), input_type)
    assert not (tmp_path / "prj").exists()
    msg = str(e.value)
    assert "\n" not in msg
    return msg


def test_bipolar_input_shifted_to_0_1_is_exact(tmp_path):
    """(x + 1) / 2 on +-1 inputs: both C branches equal golden, golden equals
    PyTorch, on every output."""
    from hlsgen.sim.csim import csim
    model = _mlp(lambda x: (x + 1) / 2, out_quant=False)
    x = np.where(np.random.default_rng(1).random((300, N_IN)) < 0.5, -1.0, 1.0).astype(np.float32)
    gen = _generate(model, tmp_path / "prj", x, "bipolar")
    assert gen.graph.tensors[gen.graph.inputs[0]].qtype.bipolar
    pre = next(n for n in gen.graph.nodes if "input preprocessing" in n.attrs.get("source", ""))
    assert gen.graph.tensors[pre.outputs[0]].qtype.fixed_name == "ap_ufixed<1,1>"   # 0 and 1
    sim = csim(gen.out)
    assert sim.frames == 300
    assert_exact(sim)
    assert len(np.unique(sim.csim)) > 3, np.unique(sim.csim)
    driver = next((gen.out / "driver").glob("*_driver.py")).read_text()
    assert "IN_BIPOLAR = True" in driver   # the board's driver quantizes +-1 as sign bits


def test_bipolar_input_scaled_by_a_power_of_two_is_exact(tmp_path):
    """x * 2 on +-1 inputs moves only the binary point: the +-1 values become
    integer codes first."""
    from hlsgen.sim.csim import csim
    x = np.where(np.random.default_rng(4).random((100, N_IN)) < 0.5, -1.0, 1.0).astype(np.float32)
    gen = _generate(_mlp(lambda x: x * 2), tmp_path / "prj", x, "bipolar")
    assert "rescale" in {n.op for n in gen.graph.nodes}
    assert_exact(csim(gen.out))


def test_shifted_and_scaled_unsigned_input_is_exact(tmp_path):
    """(x - 0.5) * 4 on ap_ufixed<8,0>: codes k -> k - 128 at 6 fraction bits,
    folded into the first layer: it reads the input codes with the same
    weights, and its bias holds -128 * (each neuron's weight sum)."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    model = _mlp(lambda x: (x - 0.5) * 4)
    x = np.random.default_rng(2).integers(0, 256, (300, N_IN)) / 256.0
    gen = _generate(model, tmp_path / "prj", x.astype(np.float32), "ap_ufixed<8,0>")
    assert not any("input preprocessing" in n.attrs.get("source", "") for n in gen.graph.nodes)
    fc1 = next(n for n in gen.graph.nodes if n.op == "dense")
    assert fc1.inputs == gen.graph.inputs and fc1.attrs["preprocessing"].endswith(
        "(input preprocessing)")
    assert np.array_equal(fc1.params["bias"], -128 * fc1.params["weights"].sum(0))
    folded = csim(gen.out)
    assert_exact(folded)
    # The stage the fold replaces computes the same: with the fold disabled.
    import hlsgen.passes as passes
    stages = [(name, [p for p in names if p != "fold_preprocessing"]) for name, names in passes.PIPELINE]
    saved, passes.PIPELINE[:] = list(passes.PIPELINE), stages
    try:
        kept = generate(model, tmp_path / "kept", input_shape=(1, N_IN), input_type="ap_ufixed<8,0>",
                        test_data=x.astype(np.float32))
    finally:
        passes.PIPELINE[:] = saved
    pre = next(n for n in kept.graph.nodes if "input preprocessing" in n.attrs.get("source", ""))
    t = kept.graph.tensors[pre.outputs[0]]
    assert (t.qtype.frac, t.lo, t.hi) == (6, -128, 127)
    staged = csim(kept.out)
    assert_exact(staged)
    assert np.array_equal(folded.csim, staged.csim)
    # The framework still rounds (or not) as the unfolded layer does, and the
    # pass-through kernels after the layer read its (new) accumulator type.
    kept_fc1 = next(n for n in kept.graph.nodes if n.op == "dense")
    assert fc1.attrs["float32_exact"] == kept_fc1.attrs["float32_exact"]


def test_per_feature_constants_of_either_sign_are_exact(tmp_path):
    """x * m[i] + 0.5 with power-of-two m of both signs, one per feature, on
    ap_fixed<6,2>: a per-channel map, decreasing on some channels."""
    from hlsgen.sim.csim import csim
    m = torch.tensor([2.0 ** (i % 3 - 1) * (-1) ** i for i in range(N_IN)])
    model = _mlp(lambda x: x * m + 0.5)
    x = np.random.default_rng(3).integers(-32, 32, (300, N_IN)) / 16.0
    gen = _generate(model, tmp_path / "prj", x.astype(np.float32), "ap_fixed<6,2>")
    assert_exact(csim(gen.out))


def test_division_by_three_is_refused_naming_the_node(tmp_path):
    msg = _refusal(_mlp(lambda x: x / 3), tmp_path, "ap_fixed<8,4>")
    assert re.match(r"'[^']+' \(Div\) ", msg) and "ap_fixed<8,4>" in msg
    assert "not fixed-point numbers" in msg and "QuantIdentity" in msg


def test_float32_rounding_is_refused_naming_the_node(tmp_path):
    """x * 0.1: the constant is a float32 fixed-point number, but float32
    rounds its products with 8-bit inputs."""
    msg = _refusal(_mlp(lambda x: x * 0.1), tmp_path, "ap_fixed<8,4>")
    assert re.match(r"'[^']+' \(Mul\) ", msg) and "rounds" in msg and "QuantIdentity" in msg


def test_too_many_input_codes_are_refused(tmp_path):
    msg = _refusal(_mlp(lambda x: x + 0.25), tmp_path, "ap_fixed<18,8>")
    assert re.match(r"'[^']+' \(Add\) ", msg) and "262144 codes" in msg and "--input-type" in msg


def test_codes_wider_than_32_bits_are_refused(tmp_path):
    """+2**20 on one feature, +2**-20 on another: each exact in float32, but
    one grid holding both needs 42-bit codes."""
    c = torch.tensor([2.0**20 if i % 2 else 2.0**-20 for i in range(N_IN)])
    msg = _refusal(_mlp(lambda x: x + c), tmp_path, "ap_int<4>")
    assert re.match(r"'[^']+' \(Add\) ", msg) and "42-bit codes" in msg and "quantizer" in msg


def test_a_batch_norm_on_the_input_is_refused(tmp_path):
    """Not an affine operation of constants hlsgen evaluates exactly."""
    msg = _refusal(_mlp(torch.nn.BatchNorm1d(N_IN)), tmp_path, "ap_fixed<8,4>")
    assert "(BatchNormalization)" in msg and "on the model's input" in msg
    assert "QuantIdentity" in msg


def test_bipolar_input_type_spelling():
    from hlsgen.ir.qtype import QType, parse_type
    assert parse_type("bipolar") == QType.make_bipolar()
    assert parse_type(" bipolar ").quantize(np.array([-1.0, 1.0, 0.0])).tolist() == [0, 1, 1]


def _qonnx_preprocessed_mlp(path):
    """A QONNX file as FINN's examples have it: x -> Add 1 -> Div 2 -> MatMul
    of 2-bit quantized weights (no input quantizer)."""
    import onnx
    from onnx import TensorProto, helper, numpy_helper
    w = np.random.default_rng(5).integers(-2, 2, (N_IN, 4)).astype(np.float32) * 0.5
    inits = [numpy_helper.from_array(np.asarray(v, np.float32), n) for n, v in
             (("one", 1.0), ("two", 2.0), ("w", w), ("s", 0.5), ("z", 0.0), ("b", 2.0))]
    nodes = [helper.make_node("Add", ["x", "one"], ["t1"], name="pre_add"),
             helper.make_node("Div", ["t1", "two"], ["t2"], name="pre_div"),
             helper.make_node("Quant", ["w", "s", "z", "b"], ["wq"], domain="qonnx.custom_op.general",
                              signed=1, narrow=0, rounding_mode="ROUND", name="w_quant"),
             helper.make_node("MatMul", ["t2", "wq"], ["y"], name="fc")]
    graph = helper.make_graph(nodes, "g", [helper.make_tensor_value_info("x", TensorProto.FLOAT,
                                                                         (1, N_IN))],
                              [helper.make_tensor_value_info("y", TensorProto.FLOAT, (1, 4))],
                              initializer=inits)
    onnx.save(helper.make_model(graph, opset_imports=[
        helper.make_opsetid("", 13), helper.make_opsetid("qonnx.custom_op.general", 1)]), str(path))
    return path


def test_qonnx_file_with_preprocessing_before_a_matmul(tmp_path):
    """The same from a bare QONNX file: the qonnx executor is the reference."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = _qonnx_preprocessed_mlp(tmp_path / "m.onnx")
    x = np.where(np.random.default_rng(6).random((100, N_IN)) < 0.5, -1.0, 1.0).astype(np.float32)
    gen = generate(str(path), tmp_path / "prj", input_type="bipolar", test_data=x)
    assert gen.exact_values == gen.total_values == 400
    assert_exact(csim(gen.out))
