"""The generated PYNQ driver, run unchanged against the board emulator: its
DMA feeds the project's compiled C-simulation code, so the bytes the driver
packs are the bytes the IP consumes, and the self-test is bit-exact or fails.

A new kind of project (binarized, ...) is one more entry in CASES."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import (assert_selftest_passes, board_predict, board_python,
                      qdense_mlp, randomize_biases)

def mlp(sizes, seed, **kw):
    return lambda tf: randomize_biases(qdense_mlp(tf, sizes, seed=seed, **kw))


def small_cnn(tf):
    """Conv 3x3 -> max-pool -> dense on an 8x8x2 input with its own 6-bit quantizer."""
    from qkeras import QActivation, QConv2D, QDense
    tf.keras.utils.set_random_seed(0)
    q = "quantized_bits(4,0,alpha=1)"
    inp = tf.keras.Input((8, 8, 2))
    x = QActivation("quantized_bits(6,2)", name="in_q")(inp)
    x = QConv2D(4, 3, kernel_quantizer=q, bias_quantizer=q, name="conv1")(x)
    x = QActivation("quantized_relu(4,2)", name="r1")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(5, kernel_quantizer=q, bias_quantizer=q, name="logits")(x)
    return randomize_biases(tf.keras.Model(inp, x))


# name: model builder, generate() options, driver batch (frames per DMA send).
CASES = {
    # 4 x ap_int<16> per 8-byte input word; 5 x 15-bit logits in an output word
    # padded to 16 bytes; 50 frames in batches of 7.
    "mlp_logits_simd4": dict(model=mlp([16, 24, 10], seed=2),
                             folding={"fc1": {"simd": 4, "pe": 3}, "logits": {"simd": 3, "pe": 5}},
                             output="logits", batch=7),
    # 3 x ap_int<16> in a 6-byte word; the class index, one byte per frame.
    "mlp_argmax_simd3": dict(model=mlp([12, 16, 10], seed=3),
                             folding={"fc1": {"simd": 3, "pe": 4}, "logits": {"simd": 4, "pe": 1}},
                             output="argmax", batch=16),
    # The model's own 5-bit unsigned input quantizer: 8 x 5 bits in a 5-byte word.
    "mlp_u5_input_simd8": dict(model=mlp([32, 8, 6], seed=5,
                                         input_quant="quantized_bits(5,1,keep_negative=False)"),
                               folding={"fc1": {"simd": 8, "pe": 2},
                                        "logits": {"simd": 2, "pe": 3}},
                               output="logits", batch=13),
    "cnn_logits": dict(model=small_cnn, folding=None, output="logits", batch=9),
    # Binarized CNN (XNOR-popcount, thresholds, 1-bit streams) with label select.
    "bnn_argmax": dict(model=lambda tf: binarized_cnn(tf), folding=None, output="argmax", batch=11),
}


def binarized_cnn(tf):
    import bnn_models
    import cnn_models
    tf.keras.utils.set_random_seed(4)
    return cnn_models.randomize_bn(bnn_models.binary_cnn(tf))


def make_project(tf, root: Path, case: str) -> Path:
    """A generated project with the emulated overlay installed in deploy/."""
    from hlsgen.flow import generate
    from hlsgen.sim.emulator import install_overlay
    spec = CASES[case]
    path = root / f"{case}.h5"
    spec["model"](tf).save(path)
    fold = None
    if spec["folding"]:
        fold = root / f"{case}_folding.json"
        fold.write_text(json.dumps(spec["folding"]))
    res = generate(str(path), root / case, output=spec["output"], folding=fold and str(fold),
                   n_vectors=50)
    install_overlay(res.out)
    return res.out


@pytest.fixture(scope="module")
def projects(tf, tmp_path_factory):
    root = tmp_path_factory.mktemp("board_projects")
    return {case: make_project(tf, root, case) for case in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_selftest_is_bit_exact_on_the_emulator(board, case):
    folder, name, _ = board(case)
    gold = assert_selftest_passes(folder, name, CASES[case]["batch"])
    # Batches of CASES' size do not divide the 50 vectors: the tail batch ran too.
    assert len(gold) % CASES[case]["batch"] != 0


@pytest.mark.parametrize("case", list(CASES))
def test_predict_on_the_board_equals_the_framework(board, case):
    folder, name, project = board(case)
    pred, frames = board_predict(folder, name, CASES[case]["batch"])
    # One ap_start per frame, and only as many as there were frames.
    assert frames == len(pred)
    framework = np.load(project / "tb" / "framework.npy")  # QKeras's own outputs
    if CASES[case]["output"] == "argmax":
        assert pred.dtype.kind == "i" and np.array_equal(pred, framework[:, 0])
    else:
        assert pred.dtype == np.float64 and np.array_equal(pred, framework)
    assert len(np.unique(pred)) > 3


def test_selftest_fails_when_one_output_code_differs(board):
    folder, name, _ = board("mlp_logits_simd4")
    gold = np.load(folder / f"{name}_golden.npy")
    gold[17, 3] += 1
    np.save(folder / f"{name}_golden.npy", gold)
    proc = board_python(f"{name}_driver.py", "--selftest", cwd=folder)
    assert proc.returncode == 1, proc.stdout + proc.stderr
    assert f"selftest: FAIL: {gold.size - 1}/{gold.size} output codes" in proc.stdout
    assert "first difference in frame 17" in proc.stdout


# A driver that breaks the hardware's rules must fail on the emulator too:
# (case, driver text replaced, replacement, what the failure says).
BROKEN_DRIVERS = [
    ("mlp_logits_simd4", "        self.accel.write(AP_CTRL, AP_START | AUTO_RESTART)\n", "",
     "the IP is not started"),
    ("mlp_logits_simd4", "        self.accel.write(AP_CTRL, AP_START | AUTO_RESTART)\n",
     "        self.accel.write(AP_CTRL, AP_START)\n", "the IP is not started"),
    ("mlp_argmax_simd3", "RECV_ALIGN = 64\n", "RECV_ALIGN = 1\n",
     "DMA does not support unaligned transfers"),
    ("mlp_logits_simd4", "        for i in range(n):\n            recv.transfer",
     "        send.wait()\n        for i in range(n):\n            recv.transfer",
     "sendchannel.wait() would never return"),
    ("mlp_u5_input_simd8", "x * 2.0 ** IN_FRAC", "x * 2.0 ** (IN_FRAC - 1)", "selftest: FAIL"),
    # Lanes in the wrong order within each input word.
    ("mlp_argmax_simd3", "v = u[:, :, lane]", "v = u[:, :, lanes - 1 - lane]", "selftest: FAIL"),
]


@pytest.mark.parametrize("case,old,new,says", BROKEN_DRIVERS)
def test_emulator_fails_a_driver_that_breaks_the_hardware_contract(board, case, old, new, says):
    folder, name, _ = board(case)
    driver = folder / f"{name}_driver.py"
    text = driver.read_text()
    assert old in text
    driver.write_text(text.replace(old, new, 1))
    proc = board_python(driver.name, "--selftest", "--batch", CASES[case]["batch"], cwd=folder)
    assert proc.returncode != 0
    assert says in proc.stdout + proc.stderr


def _reference_pack(codes, lanes, bits, word_bytes):
    """Python integers: lane i at bits [i*bits, (i+1)*bits), little-endian bytes."""
    out = bytearray()
    for frame in codes:
        for w in range(len(frame) // lanes):
            word = 0
            for i, c in enumerate(frame[w * lanes:(w + 1) * lanes]):
                word |= (int(c) & ((1 << bits) - 1)) << (i * bits)
            out += word.to_bytes(word_bytes, "little")
    return np.frombuffer(bytes(out), dtype=np.uint8).reshape(len(codes), -1)


@pytest.mark.parametrize("bits,signed,lanes,pad", [
    (1, False, 8, 0), (4, True, 3, 0), (5, False, 8, 0), (15, True, 5, 0), (16, True, 4, 0),
    (7, True, 3, 2), (33, True, 2, 0), (64, True, 1, 0), (63, False, 2, 1)])
def test_driver_packing_matches_a_reference(board, monkeypatch, bits, signed, lanes, pad):
    import importlib.util
    from hlsgen.sim.emulator import PYNQ_PATH
    folder, name, _ = board("mlp_logits_simd4")
    monkeypatch.syspath_prepend(str(PYNQ_PATH))
    monkeypatch.delitem(sys.modules, "pynq", raising=False)
    spec = importlib.util.spec_from_file_location("board_driver", folder / f"{name}_driver.py")
    drv = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(drv)
    monkeypatch.delitem(sys.modules, "pynq", raising=False)
    lo, hi = (-(1 << (bits - 1)), (1 << (bits - 1)) - 1) if signed else (0, (1 << bits) - 1)
    rng = np.random.default_rng(bits)
    codes = rng.integers(lo, min(hi, 2**63 - 1), size=(6, lanes * 4), dtype=np.int64, endpoint=True)
    codes[0, :2] = [lo, min(hi, 2**63 - 1)]
    word_bytes = -(-lanes * bits // 8) + pad
    packed = drv.pack(codes, lanes, bits, word_bytes)
    assert np.array_equal(packed, _reference_pack(codes, lanes, bits, word_bytes))
    assert np.array_equal(drv.unpack(packed, lanes * 4, lanes, bits, signed, word_bytes), codes)
