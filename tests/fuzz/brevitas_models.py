"""Random but valid Brevitas models from a seed: stacks of QuantConv2d /
QuantConv1d / QuantLinear with batch-norm, max/average pooling and
QuantReLU / QuantIdentity / QuantHardTanh, on fixed-point (power-of-two) or
float scales, weights of 2 to 8 bits, activations of 2 to 8 bits."""

from __future__ import annotations

import random


def random_brevitas_model(seed: int):
    """(module, description, input shape with batch 1, NCHW)."""
    import torch
    import torch.nn as nn
    import brevitas.nn as qnn
    from brevitas import quant as bq
    r = random.Random(seed)
    torch.manual_seed(seed)
    fixed = r.random() < 0.6
    w_q = bq.Int8WeightPerTensorFixedPoint if fixed else r.choice(
        [bq.Int8WeightPerTensorFloat, bq.Int8WeightPerChannelFloat])
    s_q = bq.Int8ActPerTensorFixedPoint if fixed else bq.Int8ActPerTensorFloat
    u_q = bq.Uint8ActPerTensorFixedPoint if fixed else bq.Uint8ActPerTensorFloat
    parts = ["fixed" if fixed else "float"]
    rank = r.choice([0, 2, 2])
    layers: list = [qnn.QuantIdentity(act_quant=s_q, bit_width=r.randint(4, 8), return_quant_tensor=True)]
    if rank == 2:
        c, side = r.randint(1, 3), r.randint(5, 10)
        shape = (1, c, side, side)
        for _ in range(r.randint(1, 3)):
            k = r.choice([1, 3]) if side >= 3 else 1
            out = r.randint(2, 8)
            wb = r.randint(2, 8)
            layers.append(qnn.QuantConv2d(c, out, k, padding=r.choice([0, k // 2]), bias=r.random() < 0.5,
                                          weight_quant=w_q, weight_bit_width=wb,
                                          bias_quant=bq.Int32Bias if r.random() < 0.5 else None))
            parts.append(f"conv{k}w{wb}")
            side = side if layers[-1].padding[0] else side - k + 1
            c = out
            if r.random() < 0.4:
                layers.append(nn.BatchNorm2d(c))
                parts.append("bn")
            ab = r.randint(2, 8)
            layers.append(qnn.QuantReLU(act_quant=u_q, bit_width=ab, return_quant_tensor=True))
            parts.append(f"relu{ab}")
            if side >= 4 and r.random() < 0.4:
                layers.append(nn.MaxPool2d(2))
                parts.append("maxpool")
                side //= 2
        layers.append(nn.Flatten())
        features = c * side * side
    else:
        features = r.randint(4, 32)
        shape = (1, features)
    for i in range(r.randint(1, 3)):
        last = i == 0 and r.random() < 0.3
        units = r.randint(2, 16)
        wb = r.randint(2, 8)
        layers.append(qnn.QuantLinear(features, units, bias=True, weight_quant=w_q, weight_bit_width=wb,
                                      bias_quant=bq.Int32Bias))
        parts.append(f"linear{units}w{wb}")
        features = units
        if r.random() < 0.3:
            layers.append(nn.BatchNorm1d(units))
            parts.append("bn")
        ab = r.randint(2, 8)
        if r.random() < 0.7:
            layers.append(qnn.QuantReLU(act_quant=u_q, bit_width=ab, return_quant_tensor=True))
            parts.append(f"relu{ab}")
        else:
            layers.append(qnn.QuantIdentity(act_quant=s_q, bit_width=ab, return_quant_tensor=True))
            parts.append(f"id{ab}")
    layers[-1].return_quant_tensor = False
    model = nn.Sequential(*layers)
    from brevitas_models import calibrate, randomize   # the tests' own helpers
    calibrate(randomize(model, seed), shape, seed)
    return model, " ".join(parts), shape
