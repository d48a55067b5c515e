"""Issue 20, item 1: recurrent layers (QSimpleRNN, QLSTM, QGRU). Each model
runs 200 random sequences: golden equals QKeras on every output of every
time step, and C simulation (both branches of the kernel library) equals
golden. Refusals: what QKeras computes in float that no quantizer rounds."""

import json

import numpy as np
import pytest

from conftest import assert_exact
from rnn_models import (hard_sigmoid_lstm, qgru_regressor, qlstm_classifier, qsimplernn,
                        sequence_model, sequences, stacked_gru_lstm)

N = 200


def _generate_and_simulate(tf, model, tmp_path, n=N, float32_proven=True, **kw):
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    gen = generate(model, tmp_path / "prj", test_data=sequences(*model.input_shape[1:], n=n), **kw)
    outputs = n * int(np.prod(model.output_shape[1:]))
    assert gen.exact_values == gen.total_values == outputs
    assert json.loads((gen.out / "report.json").read_text())["lint"]["ok"]
    sim = csim(gen.out)
    assert_exact(sim)
    assert len(np.unique(sim.csim)) > 10     # the state really moves
    nodes = [node for node in gen.graph.nodes if node.op == "recurrent"]
    assert all(node.attrs["float32_exact"] for node in nodes) == float32_proven
    return gen, nodes[0]


def test_qlstm_sequence_classifier(tf, tmp_path):
    """20 steps x 6 features -> QLSTM(16) -> QDense(3): the last state classified."""
    model = qlstm_classifier(tf)
    gen, node = _generate_and_simulate(tf, model, tmp_path)
    assert node.attrs["cell"] == "lstm" and not node.attrs["return_sequences"]
    # The gates and both state quantizers: QKeras' own functions as thresholds,
    # or as a shift and round where they are one (hard tanh, quantized_bits).
    rq = node.attrs["rq"]
    assert set(rq) == {"rec", "act", "cell_act", "state_c", "state_h"}
    assert rq["rec"]["kind"] == "thresholds" and rq["state_c"]["kind"] == "shift"
    assert node.params["weights"].shape == (6 + 16, 4 * 16)


def test_qgru_regressor_every_step(tf, tmp_path):
    """QGRU(8) with return_sequences=True: every step's state is an output,
    12 x 8 per sequence, each equal to QKeras'."""
    model = qgru_regressor(tf)
    assert model.output_shape[1:] == (12, 8)
    _, node = _generate_and_simulate(tf, model, tmp_path)
    assert node.attrs["cell"] == "gru" and node.attrs["return_sequences"]


def test_per_step_head_is_a_conv1d(tf, tmp_path):
    """After return_sequences=True, Keras' Dense acts on every step: a QDense
    there is refused naming QConv1D(units, kernel_size=1), which computes the
    same and is exact."""
    from qkeras import QActivation, QConv1D
    from hlsgen.errors import HlsgenError
    from rnn_models import B6, INPUT, W6, randomize, rnn_layer
    dense = sequence_model(tf, "QGRU", steps=5, features=3, units=4, head=2,
                           return_sequences=True)
    with pytest.raises(HlsgenError, match=r"QConv1D\(units, kernel_size=1\)"):
        _read(tf, dense)
    x_in = tf.keras.Input((5, 3))
    t = rnn_layer("QGRU", 4, name="rnn", return_sequences=True)(QActivation(INPUT)(x_in))
    t = QConv1D(2, 1, kernel_quantizer=W6, bias_quantizer=B6, name="head")(t)
    model = randomize(tf.keras.Model(x_in, t))
    _generate_and_simulate(tf, model, tmp_path, n=40)


@pytest.mark.parametrize("folding", [None, {"rnn": {"simd": 1, "pe": 2}}])
def test_qsimplernn_folded(tf, tmp_path, folding):
    """QSimpleRNN(8) -> QDense(2), at the default folding and at one input
    lane x 2 PEs (the gates' product in 13 x 4 iterations per step)."""
    model = qsimplernn(tf)
    gen, _ = _generate_and_simulate(tf, model, tmp_path, folding=folding)
    from hlsgen.arch.dataflow.cost import PIPE_DEPTH
    from hlsgen.arch.dataflow.cost_recurrent import step_cycles
    report = json.loads((gen.out / "report.json").read_text())
    est = next(layer for layer in report["estimates"]["layers"] if layer["name"] == "rnn")
    simd, pe = (1, 2) if folding else (13, 8)
    assert est["folding"].startswith(f"{simd} x {pe}")
    # 10 steps, each one step's latency: the recurrence is the II.
    assert est["cycles"] == 10 * step_cycles(13, 8, "simple", simd, pe, PIPE_DEPTH)
    assert next(k for k in report["layers"] if k["id"] == "rnn")["cycles"] == est["cycles"]


def test_lstm_every_step_without_bias(tf, tmp_path):
    """return_sequences=True on an LSTM, use_bias=False, a narrower state."""
    model = sequence_model(tf, "QLSTM", steps=6, features=3, units=4, return_sequences=True,
                           use_bias=False, state_quantizer="quantized_bits(6,1,alpha=1)")
    _generate_and_simulate(tf, model, tmp_path)


def test_stacked_gru_into_lstm(tf, tmp_path):
    """A QGRU's every step streams into a QLSTM; QKeras' true sigmoid and
    tanh (use_real_*) are tabulated as exactly as the hard ones."""
    gen, _ = _generate_and_simulate(tf, stacked_gru_lstm(tf), tmp_path)
    assert [k["kind"] for k in json.loads((gen.out / "report.json").read_text())["layers"]
            if k["kind"] == "rnn"] == ["rnn", "rnn"]


@pytest.mark.parametrize("kind", ["QLSTM", "QGRU"])
def test_default_float_hard_sigmoid(tf, tmp_path, kind):
    """QKeras' default recurrent_activation is its float hard_sigmoid,
    clip(x/2 + 1/2, 0, 1): exact on the accumulator's grid, one bit finer, so
    it is kept unquantized, exactly (its + 1/2 in the gates' bias, a clamp).
    The GRU's candidate then reads r*s at 16 fraction bits: its accumulator's
    bound (27 bits) is past float32's 24-bit significand, so QKeras' float32
    sum is not proven exact for every input (the node says so); on these 200
    sequences it is, on every output."""
    gen, node = _generate_and_simulate(tf, hard_sigmoid_lstm(tf, kind), tmp_path,
                                       float32_proven=kind == "QLSTM")
    assert node.attrs["rq"]["rec"]["kind"] == "shift"
    rnn = next(k for k in json.loads((gen.out / "report.json").read_text())["layers"]
               if k["kind"] == "rnn")
    assert rnn["float32_exact"] == (kind == "QLSTM") and rnn["quantizers"]["rec"] == "shift"


def test_search_folds_the_recurrent_unit(tf, tmp_path):
    """--fps: the search folds the recurrent unit like a matrix-vector unit
    (SIMD divides F + U, PE divides U), as slow as the target allows."""
    gen, _ = _generate_and_simulate(tf, qlstm_classifier(tf), tmp_path, n=20, fps=5000)
    report = json.loads((gen.out / "report.json").read_text())
    f = report["folding"]["rnn"]
    assert 22 % f["simd"] == 0 and 16 % f["pe"] == 0 and f["simd"] * f["pe"] < 22 * 4
    assert 5000 <= report["estimated_fps"]


# --- refusals ------------------------------------------------------------------------------

def _read(tf, model):
    from pathlib import Path
    from hlsgen.frontends.qkeras.reader import KerasModel
    return KerasModel(model, Path("model.h5")).to_ir()


@pytest.mark.parametrize("kind, kw, match", [
    ("QLSTM", {"state_quantizer": None}, "state_quantizer="),
    ("QGRU", {"state_quantizer": None}, "state_quantizer="),
    ("QGRU", {"recurrent_activation": "sigmoid"}, "recurrent_activation='quantized_sigmoid"),
    ("QLSTM", {"activation": "tanh"}, "activation='quantized_tanh"),
    ("QSimpleRNN", {"activation": "tanh"}, "activation='quantized_tanh"),
    ("QLSTM", {"recurrent_quantizer": None}, "recurrent_quantizer"),
    ("QSimpleRNN", {"go_backwards": True}, "go_backwards=False"),
    ("QLSTM", {"time_major": True}, "time_major=False"),
    # +-1 quantizers: their bipolar codes are not the cell's integers
    ("QSimpleRNN", {"activation": "binary(alpha=1)", "state_quantizer": None}, "ternary"),
    ("QSimpleRNN", {"activation": "quantized_bits(1,0,alpha=1)", "state_quantizer": None},
     r"quantized_bits\(2, 1"),
    ("QLSTM", {"state_quantizer": "binary(alpha=1)"}, "state_quantizer .*bipolar"),
    ("QGRU", {"recurrent_activation": "quantized_bits(1,0,alpha=1)"}, "recurrent_activation .*bipolar"),
])
def test_refusals(tf, kind, kw, match):
    """Where QKeras computes in float and nothing rounds, the layer is refused
    naming the quantizer to add; unsupported options name the fix."""
    from hlsgen.errors import HlsgenError
    model = sequence_model(tf, kind, steps=3, features=2, units=2, **kw)
    with pytest.raises(HlsgenError, match=match):
        _read(tf, model)


def test_variable_length_refused(tf):
    """Input((None, F)): the unit needs a fixed number of steps."""
    from qkeras import QActivation
    from hlsgen.errors import HlsgenError
    from rnn_models import INPUT, rnn_layer
    x_in = tf.keras.Input((None, 2))
    t = QActivation(INPUT)(x_in)
    model = tf.keras.Model(x_in, rnn_layer("QSimpleRNN", 2, name="rnn")(t))
    with pytest.raises(HlsgenError, match=r"Input\(\(T, 2\)\)"):
        _read(tf, model)


def test_gru_reset_after_refused(tf):
    """QKeras' QGRU cannot run reset_after=True on TF 2.19 (its cell calls
    array_ops.unstack, which is gone), so the flag is set on a built layer."""
    from hlsgen.errors import HlsgenError
    model = sequence_model(tf, "QGRU", steps=3, features=2, units=2)
    model.get_layer("rnn").cell.reset_after = True
    with pytest.raises(HlsgenError, match="reset_after=False"):
        _read(tf, model)


def test_keras_float_rnn_refused(tf):
    from hlsgen.errors import HlsgenError
    x_in = tf.keras.Input((3, 2))
    model = tf.keras.Model(x_in, tf.keras.layers.LSTM(2, name="lstm")(x_in))
    with pytest.raises(HlsgenError, match="use QLSTM with kernel_quantizer"):
        _read(tf, model)


def test_binary_inputs_refused(tf, tmp_path):
    from qkeras import QActivation
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    from rnn_models import rnn_layer
    x_in = tf.keras.Input((3, 2))
    t = QActivation("binary", name="sign")(x_in)
    model = tf.keras.Model(x_in, rnn_layer("QSimpleRNN", 2, name="rnn")(t))
    with pytest.raises(HlsgenError, match="binary"):
        generate(model, tmp_path / "prj", test_data=sequences(3, 2, n=4))


def test_unit_lowering_refusals():
    """A decreasing gate quantizer, and state arithmetic past 62 bits."""
    from hlsgen.errors import HlsgenError
    from hlsgen.ir.graph import Node
    from hlsgen.passes.recurrent import _Lowering
    low = _Lowering(Node("recurrent", "rnn", ["x"], ["y"]))
    decreasing = (lambda x: -np.clip(np.round(np.asarray(x, np.float64)), -3, 3), (0, -3, 3))
    with pytest.raises(HlsgenError, match="decreases"):
        low.requant("act", decreasing, 0, -8, 8)
    # 4,096 output codes as thresholds (a 12-bit state quantizer that is not a shift)
    third = (lambda x: np.clip(np.round(np.asarray(x, np.float64) / 3), -2048, 2047), (0, -2048, 2047))
    with pytest.raises(HlsgenError, match="coarser state_quantizer"):
        low.requant("state_c", third, 0, -7000, 7000)
    assert low.requant("state_c", third, 0, -300, 300) == (-100, 100)   # 201 codes: fine
    with pytest.raises(HlsgenError, match="cell state needs 64 bits"):
        low.check("cell state", -(1 << 63), 1 << 62)


# --- cost model -----------------------------------------------------------------------------

def test_unit_cost_cycles_per_step():
    """The recurrence is the II: T steps, each the folded product plus its
    depth and the elementwise passes; more lanes, fewer cycles."""
    from hlsgen.arch.dataflow.cost import PIPE_DEPTH, LayerShape, layer_cost
    from hlsgen.arch.dataflow.cost_recurrent import step_cycles as cycles

    def step_cycles(*args):
        return cycles(*args, PIPE_DEPTH)

    def shape(simd, pe, gates=4):
        return LayerShape("rnn", "rnn", mw=22, mh=gates * 16, pixels=20, channels=16,
                          kernel=(gates, 1), wbits=6, abits=8, accbits=17, out_bits=8,
                          simd=simd, pe=pe, count=16, requant="thresholds", thresholds=100)
    slow, fast = layer_cost(shape(1, 1)), layer_cost(shape(22, 16))
    assert slow.cycles == 20 * step_cycles(22, 16, "lstm", 1, 1) > fast.cycles
    assert step_cycles(22, 16, "lstm", 1, 1) >= 22 * 64 + 16
    assert fast.lut > slow.lut
    gru = step_cycles(22, 16, "gru", 22, 16)
    assert gru - step_cycles(22, 16, "gru", 22, 16 // 2) < 0   # halving PE doubles the product
    # the GRU's second phase (the candidate's product after z r), named by the cell
    assert gru == 1 * 3 + 2 * (PIPE_DEPTH + 5) + 2 * (16 + PIPE_DEPTH)


def test_unit_cost_comparators():
    """The elementwise pass's threshold comparators, in accumulator-wide
    equivalents: an LSTM's recurrent_activation thresholds three times (i f
    o), the cell state's at c_t's width."""
    from types import SimpleNamespace
    from hlsgen.arch.dataflow.cost import LayerShape
    from hlsgen.arch.dataflow.cost_recurrent import rnn_shape
    from hlsgen.ir.qtype import QType
    types = {"w_t": QType(6, True, 0), "v_t": QType(8, True, 0), "acc_t": QType(17, True, 0),
             "c_t": QType(24, True, 0), "h_t": QType(10, True, 0)}
    attrs = {"types": types, "cell": "lstm", "mw": 22, "mh": 64, "steps": 20, "units": 16,
             "simd": 1, "pe": 1}
    params = {"w": np.zeros((1, 1, 1)), "rq_rec": np.zeros((1, 15)), "rq_act": np.zeros((1, 15)),
              "rq_state_c": np.zeros((1, 255))}
    k = SimpleNamespace(attrs=attrs, params=params,
                        out=SimpleNamespace(qtype=QType(10, True, 0), count=16))
    s = rnn_shape(k, "rnn", LayerShape)
    assert s.thresholds == -(-(15 * 18 * 3 + 15 * 18 + 255 * 25) // 18)
