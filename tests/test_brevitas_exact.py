"""Acceptance (issue 4): Brevitas networks trained on the 8x8 digits.

Fixed-point quantizers: C simulation equals the golden executor and the
golden executor equals Brevitas exactly on every held-out image. Brevitas'
float-scale defaults: C simulation equals golden; against Brevitas at least
99.9% of output codes are equal, every difference is explained, top-1 agrees
on every image. A model exported to a QONNX file gives the same design and
results as the module it came from."""

import json
import os
import subprocess
import sys
import textwrap

import numpy as np
import pytest

from conftest import assert_exact

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

EPOCHS = {"mlp": 8, "cnn": 4}
SHAPES = {"mlp": (1, 64), "cnn": (1, 1, 8, 8)}


@pytest.fixture(scope="module")
def digits():
    from hlsgen.demo import load_digits_split
    x_train, x_test, y_train, y_test = load_digits_split()
    return x_train, x_test, y_train, y_test


@pytest.fixture(scope="module")
def trained(digits):
    """Trained digits models, once per (architecture, scheme)."""
    from hlsgen.demo import build_brevitas_cnn, build_brevitas_mlp, train_torch
    cache = {}

    def get(kind, scheme):
        if (kind, scheme) not in cache:
            x_train, _, y_train, _ = digits
            torch.manual_seed(0)
            model = (build_brevitas_mlp if kind == "mlp" else build_brevitas_cnn)(scheme)
            cache[kind, scheme] = train_torch(model, x_train.reshape((-1,) + SHAPES[kind][1:]),
                                              y_train, EPOCHS[kind], f"{kind} ({scheme})")
        return cache[kind, scheme]
    return get


def _generate_from_module(model, kind, out, x):
    from hlsgen.flow import generate
    return generate(model, out, input_shape=SHAPES[kind], test_data=x)


def test_fixed_point_mlp_through_the_cli(trained, digits, tmp_path):
    """`hlsgen generate train.py:build --checkpoint --input-shape`, then csim:
    exact on all 360 held-out digits."""
    from hlsgen.sim.csim import csim
    _, x_test, _, y_test = digits
    model = trained("mlp", "fixed")
    torch.save(model.state_dict(), tmp_path / "net.pt")
    np.save(tmp_path / "x.npy", x_test)
    (tmp_path / "train.py").write_text(textwrap.dedent("""
        from hlsgen.demo import build_brevitas_mlp

        def build_model():
            return build_brevitas_mlp("fixed")
    """))
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "generate", "train.py:build_model",
                           "--checkpoint", "net.pt", "--input-shape", "1,64", "--out", "prj",
                           "--test-data", "x.npy"], cwd=tmp_path, capture_output=True, text=True,
                          env=dict(os.environ))
    assert proc.returncode == 0, proc.stderr
    assert "3600/3600 output values equal" in proc.stdout
    sim = csim(tmp_path / "prj")
    assert sim.frames == 360
    assert_exact(sim)
    assert np.mean(np.argmax(sim.csim, 1) == y_test) > 0.85
    manifest = json.loads((tmp_path / "prj" / "hlsgen.json").read_text())
    assert manifest["framework"] == "brevitas" and manifest["input_type"] == "ap_ufixed<5,1>"


def test_fixed_point_cnn_exact_on_every_held_out_image(trained, digits, tmp_path):
    from hlsgen.sim.csim import csim
    _, x_test, _, y_test = digits
    gen = _generate_from_module(trained("cnn", "fixed"), "cnn", tmp_path / "cnn",
                                x_test.reshape(-1, 1, 8, 8))
    sim = csim(gen.out)
    assert sim.frames == 360
    assert_exact(sim)
    assert np.mean(np.argmax(sim.csim, 1) == y_test) > 0.8
    kinds = [n.attrs["requant"]["kind"] for n in gen.graph.nodes if n.op == "requant"]
    # batch-norm folded into integer thresholds, or (issue 15) the cheaper multiplier form
    assert {"thresholds", "multiply"} & set(kinds)
    assert gen.graph.meta["framework_layout"]["input"] == "channels_first"
    assert gen.graph.meta["output_scale"] == 1.0    # power-of-two scales: codes are values


@pytest.mark.parametrize("kind", ["mlp", "cnn"])
def test_float_scales_codes_equal_and_differences_explained(trained, digits, tmp_path, kind):
    from hlsgen.sim.csim import csim
    _, x_test, _, _ = digits
    model = trained(kind, "float")
    gen = _generate_from_module(model, kind, tmp_path / kind, x_test.reshape((-1,) + SHAPES[kind][1:]))
    sim = csim(gen.out)
    assert sim.mismatches == 0
    fw = sim.framework_figures()
    # Float scales: the framework's float32 arithmetic may land on a
    # quantization boundary; one such code changes every logit of its frame,
    # so count frames. Each difference must be explained (below); a
    # systematic error would touch most frames.
    assert fw["rows_exact"] >= 0.99 * sim.frames, (fw, gen.graph.meta["framework_differences"])
    assert fw["top1_agreement"] == 1.0
    diffs = gen.graph.meta["framework_differences"]
    assert diffs["values"] == fw["values"] - fw["equal_values"]
    assert diffs.get("unexplained_values", 0) == 0, diffs
    assert 0 < gen.graph.meta["output_scale"] < 1    # value = code * 2**-frac * output_scale
    # The scales really are floats.
    scales = [float(np.ravel(model.get_submodule(p).act_quant.scale().detach())[0])
              for p in ("relu1",)]
    assert all(np.log2(s) != np.round(np.log2(s)) for s in scales)


def test_qonnx_file_round_trip(trained, digits, tmp_path):
    """export_qonnx -> .onnx -> generate: the same design and the same results
    as from the module (the qonnx executor as the reference). Thresholds may
    differ by one code where the two references' float32 batch-norms differ
    in the last bit at a quantization boundary (here 1 of 2040)."""
    from brevitas.export import export_qonnx
    from hlsgen.flow import generate
    _, x_test, _, _ = digits
    x = x_test.reshape(-1, 1, 8, 8)[:120]
    model = trained("cnn", "float")
    export_qonnx(model, torch.zeros(SHAPES["cnn"]), str(tmp_path / "cnn.onnx"))
    from_file = generate(str(tmp_path / "cnn.onnx"), tmp_path / "file", test_data=x)
    from_module = _generate_from_module(model, "cnn", tmp_path / "module", x)
    assert [n.op for n in from_file.graph.nodes] == [n.op for n in from_module.graph.nodes]
    for a, b in zip(from_file.graph.nodes, from_module.graph.nodes):
        assert a.attrs.get("requant", {}).get("kind") == b.attrs.get("requant", {}).get("kind")
        for k in a.params:
            if k != "thresholds":
                np.testing.assert_array_equal(a.params[k], b.params[k])
            else:   # onnxruntime's batch-norm (the file's reference) and PyTorch's round
                d = np.abs(a.params[k] - b.params[k])   # their last bit differently
                assert d.max() <= 1 and np.mean(d != 0) < 0.005, (a.name, np.sum(d != 0))
    for name in ("golden.npy", "framework.npy"):
        np.testing.assert_array_equal(np.load(from_file.out / "tb" / name),
                                      np.load(from_module.out / "tb" / name))
    assert from_file.exact_values == from_module.exact_values == from_file.total_values


def test_float_bias_at_the_output_runs_on_the_host(tmp_path):
    """A last QuantLinear with a float bias (no bias quantizer) and no output
    quantizer: the IP outputs the integer accumulators, the host adds the
    framework's float32 bias; the logits equal PyTorch's on every output."""
    from collections import OrderedDict

    import brevitas.nn as qnn
    import torch.nn as nn
    from brevitas import quant as bq
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    torch.manual_seed(3)
    model = nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint, return_quant_tensor=True)),
        ("fc1", qnn.QuantLinear(16, 12, bias=False, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                                weight_bit_width=4)),
        ("relu", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=4,
                               return_quant_tensor=True)),
        ("fc2", qnn.QuantLinear(12, 5, bias=True, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                                weight_bit_width=4))])).eval()
    with torch.no_grad():
        model.fc2.bias.copy_(torch.randn(5) * 0.7)          # float values off any grid
    x = np.random.default_rng(0).uniform(-2, 2, (80, 16)).astype(np.float32)
    gen = generate(model, tmp_path / "fb", input_shape=(1, 16), test_data=x)
    assert [op.split(" ")[0] for op in gen.graph.meta["host_tail"]["ops"]] == ["fc2"]
    fw = assert_exact(csim(gen.out))
    assert fw["equal_values"] == fw["values"] == 400
