"""Brevitas models used by the QONNX/Brevitas tests (the digits MLP and CNN
live in gen/demo.py, shared with the demo)."""

from __future__ import annotations

from collections import OrderedDict

import numpy as np


def _torch():
    import torch
    import torch.nn as nn
    import brevitas.nn as qnn
    from brevitas import quant as bq
    return torch, nn, qnn, bq


def randomize(model, seed=0, positive_gain=False):
    """Non-trivial batch-norm statistics (as after training); negative gains
    unless positive_gain."""
    torch, nn, _, _ = _torch()
    g = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for m in model.modules():
            if isinstance(m, (nn.BatchNorm1d, nn.BatchNorm2d)):
                c = m.num_features
                m.running_mean.copy_(torch.randn(c, generator=g) * 0.5)
                m.running_var.copy_(torch.rand(c, generator=g) * 1.5 + 0.4)
                m.weight.copy_(torch.rand(c, generator=g) * 1.5 + (0.1 if positive_gain else -1.5))
                m.bias.copy_(torch.randn(c, generator=g) * 0.3)
    return model.eval()


def calibrate(model, shape, seed=0, batches=4):
    """Runtime-statistics scales (Brevitas' float defaults) from random data."""
    torch, *_ = _torch()
    g = torch.Generator().manual_seed(seed)
    model.train()
    with torch.no_grad():
        for _ in range(batches):
            model(torch.rand((32,) + tuple(shape[1:]), generator=g) * 2 - 1)
    return model.eval()


def zoo(fixed: bool = True):
    """One network over the module list of issue 4: QuantIdentity with a
    zero point, QuantConv2d (depthwise and grouped 1x1), BatchNorm2d,
    QuantReLU, QuantHardTanh, nn.MaxPool2d, nn.AvgPool2d, a residual
    addition through one shared quantizer, constant Mul/Sub/Div, explicit
    padding, nn.AdaptiveAvgPool2d(1), QuantLinear, BatchNorm1d."""
    torch, nn, qnn, bq = _torch()
    act = bq.Int8ActPerTensorFixedPoint if fixed else bq.Int8ActPerTensorFloat
    w = bq.Int8WeightPerTensorFixedPoint if fixed else bq.Int8WeightPerChannelFloat
    relu_q = bq.Uint8ActPerTensorFixedPoint if fixed else bq.Uint8ActPerTensorFloat
    inq = bq.ShiftedUint8ActPerTensorFixedPoint if fixed else bq.ShiftedUint8ActPerTensorFloat

    class Zoo(nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = qnn.QuantIdentity(act_quant=inq, return_quant_tensor=True)
            self.conv1 = qnn.QuantConv2d(2, 8, 3, padding=1, bias=False, weight_quant=w,
                                         weight_bit_width=6)
            self.bn1 = nn.BatchNorm2d(8)
            self.relu1 = qnn.QuantReLU(act_quant=relu_q, bit_width=6, return_quant_tensor=True)
            self.pool1 = nn.MaxPool2d(2)
            self.dw = qnn.QuantConv2d(8, 8, 3, groups=8, bias=True, weight_quant=w,
                                      weight_bit_width=6, bias_quant=bq.Int32Bias)
            self.shared = qnn.QuantIdentity(act_quant=act, bit_width=8, return_quant_tensor=True)
            self.tanh = qnn.QuantHardTanh(act_quant=act, bit_width=6, max_val=1.0, min_val=-1.0,
                                          return_quant_tensor=True)
            self.avg = nn.AvgPool2d(2)
            self.q_avg = qnn.QuantIdentity(act_quant=act, bit_width=8, return_quant_tensor=True)
            self.conv2 = qnn.QuantConv2d(8, 12, 1, bias=True, weight_quant=w, weight_bit_width=6)
            self.relu2 = qnn.QuantReLU(act_quant=relu_q, bit_width=4, return_quant_tensor=True)
            self.gap = nn.AdaptiveAvgPool2d(1)
            self.q_gap = qnn.QuantIdentity(act_quant=act, bit_width=8, return_quant_tensor=True)
            self.fc = qnn.QuantLinear(12, 6, bias=True, weight_quant=w, weight_bit_width=6)
            self.bn_fc = nn.BatchNorm1d(6)
            self.out = qnn.QuantIdentity(act_quant=act, bit_width=8)

        def forward(self, x):
            x = self.pool1(self.relu1(self.bn1(self.conv1(self.inq(x)))))
            skip = self.shared(x)
            y = self.shared(self.dw(torch.nn.functional.pad(x, (1, 1, 1, 1))))
            x = self.tanh(skip + y)
            x = self.q_avg((self.avg(x) * 0.5 - 0.125) / 0.75)
            x = self.relu2(self.conv2(x))
            x = self.q_gap(self.gap(x))
            return self.out(self.bn_fc(self.fc(torch.flatten(x, 1))))
    return Zoo()


ZOO_SHAPE = (1, 2, 8, 8)


def signal_net():
    """QuantConv1d over a 2-channel signal, float bias before the quantizer,
    max-pooling of a pending batch-norm chain, explicit zero padding."""
    torch, nn, qnn, bq = _torch()
    return nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint, return_quant_tensor=True)),
        ("conv", qnn.QuantConv1d(2, 6, 5, padding=2, bias=True,
                                 weight_quant=bq.Int8WeightPerTensorFixedPoint, weight_bit_width=5)),
        ("bn", nn.BatchNorm1d(6)),
        ("pool", nn.MaxPool1d(2)),
        ("relu", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=5,
                               return_quant_tensor=True)),
        ("flatten", nn.Flatten()),
        ("fc", qnn.QuantLinear(6 * 8, 4, bias=True, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                               bias_quant=bq.Int32Bias)),
    ]))


SIGNAL_SHAPE = (1, 2, 16)


def channels_last_net():
    """Data crossing the graph boundary channels-last (NHWC): exported as
    Transpose nodes at the input and the output."""
    torch, nn, qnn, bq = _torch()

    class ChannelsLast(nn.Module):
        def __init__(self):
            super().__init__()
            self.inq = qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint,
                                         return_quant_tensor=True)
            self.conv = qnn.QuantConv2d(3, 4, 3, bias=False, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                                        weight_bit_width=5)
            self.relu = qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=6)

        def forward(self, x):
            y = self.relu(self.conv(self.inq(x.permute(0, 3, 1, 2))))
            return y.permute(0, 2, 3, 1)
    return ChannelsLast()


CHANNELS_LAST_SHAPE = (1, 6, 6, 3)


def random_inputs(shape, n, seed=0, lo=-1.0, hi=1.0):
    return np.random.default_rng(seed).uniform(lo, hi, (n,) + tuple(shape[1:])).astype(np.float32)


def trunc_net():
    """Brevitas' truncating average pools (exported as AveragePool/ReduceMean
    followed by QONNX Trunc)."""
    torch, nn, qnn, bq = _torch()
    return nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint, return_quant_tensor=True)),
        ("conv", qnn.QuantConv2d(2, 4, 3, padding=1, bias=False,
                                 weight_quant=bq.Int8WeightPerTensorFixedPoint, weight_bit_width=4,
                                 return_quant_tensor=False)),
        ("relu", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=6,
                               return_quant_tensor=True)),
        ("avg", qnn.TruncAvgPool2d(kernel_size=2, return_quant_tensor=True)),
        ("gap", qnn.TruncAdaptiveAvgPool2d(output_size=1, return_quant_tensor=True)),
        ("flatten", nn.Flatten()),
        ("fc", qnn.QuantLinear(4, 3, bias=True, weight_quant=bq.Int8WeightPerTensorFixedPoint,
                               bias_quant=bq.Int32Bias)),
    ]))


TRUNC_SHAPE = (1, 2, 8, 8)


def two_scales(join: str = "add"):
    """Two QuantIdentity branches of different float scales (x and 3x),
    joined by an add or a channel concatenation, with nothing after."""
    torch, nn, qnn, _ = _torch()

    class TwoScales(nn.Module):
        def __init__(self):
            super().__init__()
            self.a = qnn.QuantIdentity()
            self.b = qnn.QuantIdentity()

        def forward(self, x):
            a, b = self.a(x), self.b(x * 3.0)
            return a + b if join == "add" else torch.cat([a, b], 1)
    return TwoScales()
