"""Requantization that stays small (issue 15, deliverable 3): batch-norm (or
per-channel scales) before a wide quantizer lowers to Jacob et al. 2018's
integer multiplier and shift, clamp(floor((acc * m + b) * 2^-n)), plus the
few codes where the framework's own float32 arithmetic rounds across a
boundary that no line follows (exceptions), instead of up to 2^bits
thresholds per channel. The form equals the framework's function on every
reachable accumulator code; the cost model keeps the cheapest exact form."""

import json
import time

import numpy as np
import pytest

from conftest import assert_exact
from hlsgen.arch.dataflow.cost import requant_form_cost
from hlsgen.ir.intmath import apply_requant
from hlsgen.passes.requant import FULL_EVAL_LIMIT, derive_requant

SYNTHESIS_BUILD_LIMIT_S = 20.0


def _bn_relu(gain, offset, frac_out=8, bits=12):
    """A float32 batch-norm (x * gain + offset, rounded as float32 rounds
    it) into quantized_relu(bits, bits - frac_out): the kind of function the
    QKeras frontend sends to derive_requant, per channel."""
    g, o = np.float32(gain), np.float32(offset)
    top = (1 << bits) - 1

    def fn(x):
        y = np.asarray(x, np.float32) * g + o            # float32, rounded per operation
        return (np.clip(np.round(y.astype(np.float64) * 2.0**frac_out), 0, top)
                * 2.0**-frac_out).astype(np.float32)
    return fn, (frac_out, 0, top)


def _exhaustive(fn, acc_frac, lo, hi, grid, channels):
    """derive_requant's result and the framework's codes on every code."""
    rq, thr = derive_requant(fn, acc_frac, lo, hi, grid, "t", channels)
    a = np.arange(lo, hi + 1, dtype=np.int64)
    acc = np.repeat(a[:, None], channels, 1)
    want = np.round(np.asarray(fn((acc * 2.0**-acc_frac).astype(np.float32)), np.float64)
                    * 2.0**grid[0]).astype(np.int64)
    return rq, thr, apply_requant(acc, rq, thr), want


def test_batchnorm_into_12_bits_is_a_multiplier_equal_on_every_code():
    rng = np.random.default_rng(15)
    ch = 8
    gains = (rng.uniform(0.3, 3.0, ch) * rng.choice([-1, 1], ch)).astype(np.float32)
    gains[0] = -1.7                                      # a negative gain, always
    offsets = rng.normal(2, 4, ch).astype(np.float32)
    fn, grid = _bn_relu(gains, offsets)
    rq, thr, got, want = _exhaustive(fn, 10, -(1 << 15), (1 << 15) - 1, grid, ch)
    assert rq["kind"] == "multiply" and thr is None
    assert len(rq["m"]) == ch and rq["m"][0] < 0
    assert np.array_equal(got, want)
    assert rq["m_bits"] + 16 <= 62                       # native integers in C simulation
    # The form is far cheaper than the 4095 thresholds per channel it replaces.
    thr_cost = requant_form_cost("thresholds", 17, 13, ch, thresholds=4095)
    mul_cost = requant_form_cost("multiply", 17, 13, ch, mult_bits=rq["m_bits"],
                                 bias_bits=rq["b_bits"], exceptions=len(rq["x"][0]))
    assert mul_cost * 50 < thr_cost


def test_large_ranges_use_bisection_and_stay_exact():
    ch = 2
    fn, grid = _bn_relu(np.float32([0.013, -0.0021]), np.float32([3.1, 7.7]))
    lo, hi = -(1 << 21), (1 << 21) - 1
    assert (hi - lo + 1) * ch > FULL_EVAL_LIMIT           # thresholds found by bisection
    rq, thr, got, want = _exhaustive(fn, 4, lo, hi, grid, ch)
    assert rq["kind"] == "multiply"
    assert np.array_equal(got, want)


def test_float32_rounding_becomes_exceptions_and_stays_exact():
    """Where float32 rounds across a boundary no line follows, the codes
    become exceptions holding the framework's own output."""
    rng = np.random.default_rng(3)
    ch = 16
    fn, grid = _bn_relu(rng.uniform(0.5, 2.0, ch) * rng.choice([-1, 1], ch), rng.normal(0, 2, ch))
    rq, thr, got, want = _exhaustive(fn, 10, -(1 << 15), (1 << 15) - 1, grid, ch)
    assert rq["kind"] == "multiply"
    assert rq["exceptions"] > 0
    assert np.array_equal(got, want)
    # Without its exceptions the line differs exactly there.
    bare = apply_requant(np.repeat(np.arange(-(1 << 15), 1 << 15)[:, None], ch, 1),
                         {**rq, "x": [[] for _ in rq["x"]], "y": [[] for _ in rq["y"]]}, None)
    assert 0 < int(np.sum(bare != want)) <= rq["exceptions"]


def test_identical_channels_share_one_line():
    fn, grid = _bn_relu(np.float32([0.77] * 4), np.float32([1.25] * 4))
    rq, thr, got, want = _exhaustive(fn, 9, -20000, 20000, grid, 4)
    assert rq["kind"] == "multiply" and len(rq["m"]) == 1
    assert np.array_equal(got, want)


def test_nonlinear_steps_keep_thresholds():
    # Monotonic but not a line: no multiplier form within 32 exceptions.
    def fn(x):
        return (np.clip(np.round(np.sqrt(np.maximum(np.asarray(x, np.float64), 0)) * 256), 0, 4095)
                / 256).astype(np.float32)
    rq, thr, got, want = _exhaustive(fn, 8, 0, 1 << 16, (8, 0, 4095), 1)
    assert rq["kind"] == "thresholds"
    assert np.array_equal(got, want)


def test_few_thresholds_stay_thresholds():
    # Three thresholds are cheaper than a multiplier: the cost model keeps them.
    fn, grid = _bn_relu(np.float32([0.37]), np.float32([0.5]), frac_out=0, bits=2)
    rq, thr, got, want = _exhaustive(fn, 4, -300, 300, grid, 1)
    assert rq["kind"] == "thresholds" and thr.shape == (1, 3)
    assert np.array_equal(got, want)


# ---- the acceptance models, end to end ------------------------------------

def _dense_bn_relu12(tf, seed, kernel_q="quantized_bits(6,0,alpha=1)", per_tensor=False, po2_cols=False):
    """QDense(16) -> BatchNormalization -> QActivation(quantized_relu(12,4))."""
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input((32,), name="x")
    x = QActivation("quantized_bits(8,2)", name="in_q")(inp)
    x = QDense(16, kernel_quantizer=kernel_q, bias_quantizer="quantized_bits(8,3,alpha=1)",
               name="fc")(x)
    x = tf.keras.layers.BatchNormalization(name="bn")(x)
    x = QActivation("quantized_relu(12,4)", name="act")(x)
    model = tf.keras.Model(inp, x)
    rng = np.random.default_rng(seed)
    fc, bn = model.get_layer("fc"), model.get_layer("bn")
    if po2_cols:   # auto_po2 picks a different power of two per column
        fc.kernel.assign(fc.kernel.numpy() * (2.0 ** (np.arange(16) % 3 - 1.0)).astype(np.float32))
    fc.bias.assign(rng.uniform(-0.5, 0.5, 16).astype(np.float32))
    c = 1 if per_tensor else 16
    bn.moving_mean.assign(np.resize(rng.normal(0, 0.5, c), 16).astype(np.float32))
    bn.moving_variance.assign(np.resize(rng.uniform(0.3, 2.0, c), 16).astype(np.float32))
    bn.gamma.assign(np.resize(rng.uniform(0.5, 2.0, c) * rng.choice([-1, 1], c), 16).astype(np.float32))
    bn.beta.assign(np.resize(rng.normal(0, 1, c), 16).astype(np.float32))
    if not per_tensor:
        assert np.any(bn.gamma.numpy() < 0)
    return model


def _generate_and_prove(model, save_model, tmp_path, name):
    """generate on pynq-z2, time the synthesis branch's build, csim both branches."""
    from hlsgen.flow import generate
    from hlsgen.sim.compile import build
    from hlsgen.sim.csim import csim
    res = generate(str(save_model(model, name + ".h5")), tmp_path / name, board="pynq-z2",
                   n_vectors=1000)
    report = json.loads((res.out / "report.json").read_text())
    util = report["estimates"]["utilisation"]
    assert all(v <= 1.0 for v in util.values()), util
    assert report["lint"]["ok"], report["lint"]["violations"]
    t0 = time.perf_counter()
    b = build(res.out, name, synthesis=True)
    seconds = time.perf_counter() - t0
    assert not b.cached
    assert seconds < SYNTHESIS_BUILD_LIMIT_S, f"synthesis branch took {seconds:.1f} s to compile"
    sim = csim(res.out)
    assert sim.synthesis is not None and sim.synthesis.frames == 1000
    assert sim.csim_mismatches == 0 and sim.synthesis.mismatches == 0
    fw = assert_exact(sim)                       # golden == QKeras on every value
    assert len(np.unique(sim.csim)) > 200         # the comparison is not vacuous
    return res, report, seconds, fw


def _act_requant(graph):
    return [n.attrs["requant"] for n in graph.nodes
            if "requant" in n.attrs and n.attrs["requant"]["kind"] != "shift"]


def test_dense_batchnorm_relu12_on_pynq_z2(tf, save_model, tmp_path):
    """Issue 15's acceptance case: refused before (thresholds: 401% of the LUTs)."""
    model = _dense_bn_relu12(tf, 15)
    res, report, seconds, _ = _generate_and_prove(model, save_model, tmp_path, "bn12")
    (rq,) = _act_requant(res.graph)
    assert rq["kind"] == "multiply" and len(rq["m"]) == 16
    layer = next(l for l in report["layers"] if l["kind"] == "mvu")
    assert layer["requant"]["kind"] == "multiply"
    print(f"synthesis branch build: {seconds:.2f} s; LUT {report['estimates']['utilisation']}")


def test_auto_po2_dense_batchnorm_relu12(tf, save_model, tmp_path):
    model = _dense_bn_relu12(tf, 16, kernel_q="quantized_bits(6,0,alpha='auto_po2')", po2_cols=True)
    res, *_ = _generate_and_prove(model, save_model, tmp_path, "po2bn12")
    (rq,) = _act_requant(res.graph)
    assert rq["kind"] == "multiply" and len(rq["m"]) == 16


def test_per_tensor_batchnorm_relu12(tf, save_model, tmp_path):
    """Equal statistics on every channel: one line serves them all."""
    model = _dense_bn_relu12(tf, 17, per_tensor=True)
    res, *_ = _generate_and_prove(model, save_model, tmp_path, "pt12")
    (rq,) = _act_requant(res.graph)
    assert rq["kind"] == "multiply" and len(rq["m"]) == 1


def test_tiled_engine_runs_the_multiplier_form(tf, save_model, tmp_path):
    from hlsgen.arch.tiled.design import REQUANTS
    from tiled_generate import generate_tiled
    from hlsgen.sim.csim import csim
    model = _dense_bn_relu12(tf, 18)
    gen, tiled = generate_tiled(str(save_model(model, "tiled12.h5")), tmp_path / "tiled12", n_vectors=200)
    assert any(l.desc.get("rq") == REQUANTS["multiply"] for l in tiled.layers)
    sim = csim(gen.out)
    assert sim.synthesis is not None and sim.synthesis.mismatches == 0
    assert sim.csim_mismatches == 0
    assert_exact(sim)
