"""Acceptance (issue 17, item 4): adds of branches with different float scales.

A Brevitas ResNet-style CNN with Brevitas' default float-scaled activation
quantizers: each branch reaching an `Add` is multiplied by the odd integer
of its float32 scale (m * 2**-d), the sum is exact on the finer grid, and
the quantizer after it is thresholds of the framework's own function. C
simulation (both kernel branches) equals the golden executor on every
output; every output code where PyTorch differs is explained (its float32
sum lands on a quantization boundary); top-1 agrees on every input."""

import json

import numpy as np
import pytest

import brevitas_models as bm

torch = pytest.importorskip("torch")
pytest.importorskip("brevitas")

SHAPE = (1, 3, 8, 8)


def resnet_cnn():
    """conv + BN + QuantReLU blocks; block 1 adds its input (the previous
    QuantReLU's codes) to a QuantIdentity-quantized branch; block 2 quantizes
    its shortcut with a QuantIdentity of its own; global pooling, QuantLinear."""
    import brevitas.nn as qnn
    import torch.nn as nn
    from brevitas import quant as bq
    w = bq.Int8WeightPerChannelFloat

    def conv(cin, cout):
        return qnn.QuantConv2d(cin, cout, 3, padding=1, bias=False, weight_quant=w, weight_bit_width=6)

    class ResNetish(nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.conv0, self.bn0 = conv(3, 8), nn.BatchNorm2d(8)
            self.relu0 = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat)
            self.conv1, self.bn1 = conv(8, 8), nn.BatchNorm2d(8)
            self.relu1 = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat)
            self.conv2, self.bn2 = conv(8, 8), nn.BatchNorm2d(8)
            self.q2 = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.relu_a = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat)
            self.conv3, self.bn3 = conv(8, 8), nn.BatchNorm2d(8)
            self.relu3 = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat)
            self.conv4, self.bn4 = conv(8, 8), nn.BatchNorm2d(8)
            self.q4 = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.shortcut = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.relu_b = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFloat)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.q_gap = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFloat)
            self.fc = qnn.QuantLinear(8, 5, bias=False, weight_quant=bq.Int8WeightPerTensorFloat)

        def forward(self, x):
            x = self.relu0(self.bn0(self.conv0(self.inq(x))))
            y = self.q2(self.bn2(self.conv2(self.relu1(self.bn1(self.conv1(x))))))
            x = self.relu_a(x + y)
            y = self.q4(self.bn4(self.conv4(self.relu3(self.bn3(self.conv3(x))))))
            x = self.relu_b(self.shortcut(x) + y)
            return self.fc(torch.flatten(self.q_gap(self.gap(x)), 1))
    return ResNetish()


def _scale(module) -> float:
    return float(np.ravel(module.act_quant.scale().detach())[0])


@pytest.fixture(scope="module")
def model():
    torch.manual_seed(0)
    return bm.randomize(bm.calibrate(resnet_cnn(), SHAPE), positive_gain=True)


def test_branches_of_different_float_scales_are_added_exactly(model, tmp_path):
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    # The scales at each add really differ, and are not powers of two.
    pairs = [(model.relu0, model.q2), (model.shortcut, model.q4)]
    for a, b in pairs:
        sa, sb = _scale(a), _scale(b)
        assert sa != sb and all(np.log2(s) != np.round(np.log2(s)) for s in (sa, sb)), (sa, sb)
    x = bm.random_inputs(SHAPE, 200, seed=1)
    gen = generate(model, tmp_path / "resnet", input_shape=SHAPE, test_data=x)
    adds = [n for n in gen.graph.nodes if n.op == "add"]
    assert len(adds) == 2 and all(max(n.attrs["multipliers"]) > 1 for n in adds)
    report = json.loads((gen.out / "report.json").read_text())
    scaled = [layer for layer in report["layers"] if layer["kind"] == "add"]
    assert [layer["multipliers"] for layer in scaled] == [n.attrs["multipliers"] for n in adds]
    sim = csim(gen.out)
    assert sim.mismatches == 0     # both kernel branches equal golden on every output
    assert sim.synthesis is not None and sim.synthesis.frames == 200
    fw = sim.framework_figures()
    diffs = gen.graph.meta["framework_differences"]
    assert diffs["values"] == fw["values"] - fw["equal_values"]
    assert diffs.get("unexplained_values", 0) == 0, diffs
    assert fw["top1_agreement"] == 1.0, fw
    assert fw["rows_exact"] >= 0.95 * sim.frames, (fw, diffs)
    if diffs["values"]:
        # The framework's float32 sum errs by far less than a step.
        assert diffs["max_boundary_distance_steps"] <= 2.0**-10, diffs


def test_scaled_add_reaching_the_output_is_refused(tmp_path):
    """Without a quantizer after it the framework's float32 sum is the
    output; with Brevitas' trained float scales (24-bit odd integers) it
    rounds: refused naming the add, with the fix. (Sums that float32 holds
    exactly are accepted: tests/test_exact_float.py.)"""
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    m = bm.calibrate(bm.two_scales("add"), (1, 4))
    with pytest.raises(HlsgenError, match=r"layer '\w+' \(add\): the framework adds its two "
                                          r"branches in float32, which rounds here .* reaches the "
                                          r"model's output without a quantizer; put a quantizer "
                                          r"after the add"):
        generate(m, tmp_path / "prj", input_shape=(1, 4), test_data=bm.random_inputs((1, 4), 4))
    assert not (tmp_path / "prj").exists()
