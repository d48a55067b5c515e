"""Folding choices, lane converters between differently folded layers, and
sanitising of user-controlled names, each checked through C simulation."""

import json
import re

import numpy as np
import pytest

from conftest import assert_exact, qdense_mlp, randomize_biases
from hlsgen.arch.dataflow.folding import default_folding, fold_layer
from hlsgen.project.names import cpp_ident


def test_default_folding_divides_and_balances():
    layers = [("a", 16, 64), ("b", 64, 32), ("c", 32, 32), ("d", 32, 5)]
    f = default_folding(layers, macs=64)
    cycles = {}
    for name, mw, mh in layers:
        assert mw % f[name]["simd"] == 0 and mh % f[name]["pe"] == 0
        cycles[name] = (mw // f[name]["simd"]) * (mh // f[name]["pe"])
    slowest = max(cycles.values())
    assert slowest == 2048 // 64
    # No layer is given more lanes than it needs to keep up with the slowest.
    for name, mw, mh in layers:
        lanes = f[name]["simd"] * f[name]["pe"]
        assert lanes <= -(-mw * mh // slowest) or lanes == min(
            s * p for s in range(1, mw + 1) for p in range(1, mh + 1)
            if mw % s == 0 and mh % p == 0 and (mw // s) * (mh // p) <= slowest)


def test_fold_layer_fewest_lanes():
    assert fold_layer(16, 64, 32) == (16, 2)
    assert fold_layer(30, 7, 1000) == (1, 1)
    assert fold_layer(30, 7, 1) == (30, 7)


@pytest.mark.parametrize("folding", [
    {"fc1": {"simd": 4, "pe": 4}, "fc2": {"simd": 6, "pe": 2}, "logits": {"simd": 2, "pe": 5}},
    {"fc1": {"simd": 1, "pe": 24}, "fc2": {"simd": 24, "pe": 1}, "logits": {"simd": 4, "pe": 1}},
])
def test_hand_folding_with_lane_converters_is_exact(tf, save_model, gen_and_sim, tmp_path, folding):
    model = randomize_biases(qdense_mlp(tf, [12, 24, 12, 10], seed=4))
    fold_file = tmp_path / "fold.json"
    fold_file.write_text(json.dumps(folding))
    gen, sim = gen_and_sim(save_model(model), folding=str(fold_file), n_vectors=300)
    assert_exact(sim)
    report = json.loads((gen.out / "report.json").read_text())
    assert report["folding"] == folding
    kinds = [l["kind"] for l in report["layers"]]
    assert "resize" in kinds  # PE of one layer differs from SIMD of the next
    # The written report.json is itself a valid --folding file.
    gen2, sim2 = gen_and_sim(save_model(model, "again.h5"), name="again",
                             folding=str(gen.out / "report.json"), n_vectors=300)
    assert np.array_equal(sim.csim, sim2.csim)


def test_folding_that_does_not_divide_is_refused(tf, save_model, tmp_path):
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    model = qdense_mlp(tf, [12, 24, 10])
    with pytest.raises(HlsgenError, match="SIMD 5 must divide its 12 inputs"):
        generate(str(save_model(model)), tmp_path / "p",
                 folding={"fc1": {"simd": 5, "pe": 1}})
    assert not (tmp_path / "p").exists()


@pytest.mark.parametrize("raw", ['fc"1;rm -rf', "9lives", "int", "a b\nc", "string", "__x", "ünï", ""])
def test_cpp_ident_is_safe(raw):
    ident = cpp_ident(raw)
    assert re.fullmatch(r"[A-Za-z][A-Za-z0-9_]*_?", ident), ident
    assert ident not in ("int", "string")


def test_hostile_names_reach_cpp_sanitised(tf, tmp_path):
    from qkeras import QActivation, QDense
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    q = "quantized_bits(5,0,alpha=1)"
    inp = tf.keras.Input((8,))
    x = QDense(8, kernel_quantizer=q, bias_quantizer=q, name="dense.1-a")(inp)
    x = QActivation("quantized_relu(4)", name="relu/x>1")(x)
    x = QDense(3, kernel_quantizer=q, bias_quantizer=q, name="Dense.1-a")(x)
    model = randomize_biases(tf.keras.Model(inp, x))
    model.save(tmp_path / "m.h5")
    out = tmp_path / 'my prj"; $(x)'
    gen = generate(str(tmp_path / "m.h5"), out)
    assert_exact(csim(gen.out))
    cpp = (gen.out / "firmware" / f"{json.loads((gen.out / 'hlsgen.json').read_text())['name']}.cpp")
    text = cpp.read_text()
    assert "relu/x>1" not in re.sub(r"//.*", "", text) and '"; $(x)' not in text
    tcl = (gen.out / "build_prj.tcl").read_text()
    assert "$(x)" not in tcl


def test_generate_folding_search_meets_budget_and_stays_exact(tf, save_model, gen_and_sim):
    """--max-util picks the fastest design within the budget; --fps the cheapest
    reaching the target; both stay bit-exact and their estimates land in the
    report and the project README."""
    model = randomize_biases(qdense_mlp(tf, [16, 64, 32, 32, 5]))
    path = save_model(model)
    fast, sim_fast = gen_and_sim(path, name="fast", max_util=0.3, n_vectors=50)
    slow, sim_slow = gen_and_sim(path, name="slow", fps=200_000, n_vectors=50)
    assert_exact(sim_fast)
    assert_exact(sim_slow)
    rf = json.loads((fast.out / "report.json").read_text())
    rs = json.loads((slow.out / "report.json").read_text())
    assert all(u <= 0.3 for u in rf["estimates"]["utilisation"].values())
    assert rs["estimated_fps"] >= 200_000
    assert rf["estimated_fps"] > rs["estimated_fps"]
    assert (fast.out / "report.png").stat().st_size > 1000
    assert "LUT" in (fast.out / "README.md").read_text()
