"""Random but valid QKeras models from a seed: stacks of dense, 1-D and 2-D
convolutions, depthwise and separable convolutions, pooling, batch-norm,
zero padding, upsampling, cropping, transposed convolutions, residual adds
and concatenations, with random quantizers of 1
to 16 bits (alpha 1 or auto_po2, po2, binary, ternary) and smooth
activations. Each model comes with a short description that reproduces it
(the seed) and says what it holds."""

from __future__ import annotations

import random

import numpy as np


def qconv2d_transpose(tf):
    """qkeras' QConv2DTranspose. It calls tensorflow's array_ops.stack, which
    TensorFlow 2.19 moved to array_ops_stack; where it is missing it is given
    back (the same function), so that QKeras' own layer runs."""
    import qkeras.qconvolutional as qc
    if not hasattr(qc.array_ops, "stack"):
        qc.array_ops.stack = tf.stack
    from qkeras import QConv2DTranspose
    return QConv2DTranspose


def weight_quantizer(r: random.Random) -> str:
    kind = r.choices(["bits", "po2_alpha", "po2", "binary", "ternary"], [6, 2, 1, 1, 1])[0]
    if kind == "bits":
        return f"quantized_bits({r.randint(2, 8)},0,alpha=1)"
    if kind == "po2_alpha":
        return f"quantized_bits({r.randint(3, 8)},{r.randint(0, 1)},alpha='auto_po2')"
    if kind == "po2":
        return f"quantized_po2({r.randint(3, 5)},1)"
    if kind == "binary":
        return "binary(alpha=1)"
    return "ternary(alpha=1)"


def bias_quantizer(r: random.Random) -> str:
    return f"quantized_bits({r.randint(4, 10)},{r.randint(0, 3)},alpha=1)"


def activation_quantizer(r: random.Random, wide: bool = True) -> str:
    top = 16 if wide else 8
    kind = r.choices(["relu", "bits", "bits_unsigned", "binary", "tanh", "sigmoid"],
                     [6, 4, 1, 1, 1, 1])[0]
    if kind == "relu":
        b = r.randint(2, top)
        return f"quantized_relu({b},{r.randint(0, min(4, b - 1))})"
    if kind == "bits":
        b = r.randint(3, top)
        sym = ",symmetric=1" if r.random() < 0.2 else ""
        return f"quantized_bits({b},{r.randint(0, min(4, b - 2))}{sym})"
    if kind == "bits_unsigned":
        b = r.randint(2, 10)
        return f"quantized_bits({b},{r.randint(0, 3)},keep_negative=False)"
    if kind == "binary":
        return "binary(alpha=1)"
    if kind == "tanh":
        return f"quantized_tanh({r.randint(3, 6)})"
    return f"quantized_sigmoid({r.randint(3, 6)})"


class _Builder:
    """Keeps the layer names unique and the spatial sizes valid."""

    def __init__(self, tf, r: random.Random):
        self.tf, self.r, self.n = tf, r, 0
        self.parts: list[str] = []

    def name(self, kind: str) -> str:
        self.n += 1
        return f"{kind}{self.n}"

    def act(self, x, wide=True):
        from qkeras import QActivation
        q = activation_quantizer(self.r, wide)
        self.parts.append(q)
        return QActivation(q, name=self.name("act"))(x)

    def maybe_bn(self, x, p=0.3):
        if self.r.random() < p:
            self.parts.append("bn")
            return self.tf.keras.layers.BatchNormalization(name=self.name("bn"))(x)
        return x

    def conv(self, x, rank: int):
        from qkeras import QConv1D, QConv2D, QDepthwiseConv2D, QSeparableConv2D
        r = self.r
        size = min(x.shape[1:-1])
        k = r.choice([1, 3] if size >= 3 else [1])
        strides = r.choice([1, 1, 2]) if size >= 4 else 1
        padding = r.choice(["valid", "same"])
        wq, bq = weight_quantizer(r), bias_quantizer(r)
        filters = r.randint(2, 8)
        if rank == 1:
            self.parts.append(f"conv1d{k}s{strides}{padding[0]}:{wq}")
            return QConv1D(filters, k, strides=strides, padding=padding, kernel_quantizer=wq,
                           bias_quantizer=bq, name=self.name("conv"))(x)
        kind = r.choices(["conv", "depthwise", "separable"], [5, 2, 1])[0]
        self.parts.append(f"{kind}{k}s{strides}{padding[0]}:{wq}")
        if kind == "depthwise":
            return QDepthwiseConv2D(k, strides=strides, padding=padding, depthwise_quantizer=wq,
                                    bias_quantizer=bq, name=self.name("dw"))(x)
        if kind == "separable":
            return QSeparableConv2D(filters, k, strides=strides, padding=padding,
                                    depthwise_quantizer=wq, pointwise_quantizer=wq,
                                    bias_quantizer=bq, name=self.name("sep"))(x)
        return QConv2D(filters, k, strides=strides, padding=padding, kernel_quantizer=wq,
                       bias_quantizer=bq, name=self.name("conv"))(x)

    def pool(self, x, rank: int):
        layers = self.tf.keras.layers
        kind = self.r.choice(["max", "avg"])
        self.parts.append(f"{kind}pool")
        if rank == 1:
            cls = layers.MaxPooling1D if kind == "max" else layers.AveragePooling1D
        else:
            cls = layers.MaxPooling2D if kind == "max" else layers.AveragePooling2D
        return cls(2, name=self.name("pool"))(x)

    def block(self, x, rank: int):
        """One feature-extraction step: a convolution and its activation, a
        pooling, a padding, a residual add or a concatenation."""
        layers, r = self.tf.keras.layers, self.r
        size = min(x.shape[1:-1])
        kind = r.choices(["conv", "pool", "pad", "add", "concat"], [6, 2, 1, 1, 1])[0]
        if kind == "pool" and size >= 4:
            x = self.pool(x, rank)
            return self.act(x) if r.random() < 0.5 else x
        if kind == "pad":
            return self.resample(x, rank, size)
        if kind in ("add", "concat") and rank == 2:
            from qkeras import QConv2D
            c = x.shape[-1]
            skip = self.act(x, wide=False)
            y = QConv2D(c, 1 if size < 3 else 3, padding="same", kernel_quantizer=weight_quantizer(r),
                        bias_quantizer=bias_quantizer(r), name=self.name("branch"))(skip)
            y = self.act(self.maybe_bn(y))
            self.parts.append(kind)
            merged = (layers.Add(name=self.name("add"))([y, skip]) if kind == "add"
                      else layers.Concatenate(name=self.name("cat"))([y, skip]))
            return self.act(merged)
        x = self.conv(x, rank)
        return self.act(self.maybe_bn(x))

    def resample(self, x, rank: int, size: int):
        """Zero padding, nearest upsampling, cropping or a transposed convolution."""
        layers, r = self.tf.keras.layers, self.r
        kind = r.choice(["zeropad", "zeropad", "upsample", "crop", "tconv"])
        if kind == "upsample" and size <= 8:
            self.parts.append("upsample")
            cls = layers.UpSampling1D if rank == 1 else layers.UpSampling2D
            return cls(2, name=self.name("up"))(x)
        if kind == "crop" and size >= 4:
            self.parts.append("crop")
            return (layers.Cropping1D((1, 0), name=self.name("crop")) if rank == 1 else
                    layers.Cropping2D(((1, 0), (0, 1)), name=self.name("crop")))(x)
        if kind == "tconv" and rank == 2 and size <= 10:
            k, s, padding = r.choice([1, 2, 3]), r.choice([1, 2]), r.choice(["valid", "same"])
            self.parts.append(f"tconv{k}s{s}{padding[0]}")
            x = qconv2d_transpose(self.tf)(r.randint(1, 4), k, strides=s, padding=padding,
                                           kernel_quantizer=weight_quantizer(r),
                                           bias_quantizer=bias_quantizer(r),
                                           name=self.name("tconv"))(x)
            return self.act(self.maybe_bn(x))
        self.parts.append("zeropad")
        cls = layers.ZeroPadding1D if rank == 1 else layers.ZeroPadding2D
        return cls(1, name=self.name("pad"))(x)

    def dense(self, x, units: int, last: bool):
        from qkeras import QDense
        wq = weight_quantizer(self.r)
        self.parts.append(f"dense{units}:{wq}")
        x = QDense(units, kernel_quantizer=wq, bias_quantizer=bias_quantizer(self.r),
                   name=self.name("fc"))(x)
        if last:
            return self.act(x) if self.r.random() < 0.3 else x
        return self.act(self.maybe_bn(x))


def random_qkeras_model(tf, seed: int):
    """(model, description, input shape without batch)."""
    r = random.Random(seed)
    tf.keras.utils.set_random_seed(seed)
    b = _Builder(tf, r)
    rank = r.choices([0, 1, 2], [3, 1, 4])[0]
    if rank == 0:
        shape = (r.randint(4, 32),)
    elif rank == 1:
        shape = (r.randint(8, 24), r.randint(1, 3))
    else:
        side = r.randint(4, 12)
        shape = (side, side + r.choice([0, 0, 1, 2]), r.randint(1, 4))
    inp = tf.keras.Input(shape, name="x")
    x = b.act(inp, wide=False) if r.random() < 0.6 else inp
    if rank:
        for _ in range(r.randint(1, 4)):
            x = b.block(x, rank)
        layers = tf.keras.layers
        if r.random() < 0.5:
            b.parts.append("flatten")
            x = layers.Flatten(name=b.name("flat"))(x)
        else:
            b.parts.append("gap")
            x = (layers.GlobalAveragePooling1D if rank == 1 else layers.GlobalAveragePooling2D)(
                name=b.name("gap"))(x)
            x = b.act(x)
    for _ in range(r.randint(0, 2)):
        x = b.dense(x, r.randint(4, 24), last=False)
    x = b.dense(x, r.randint(2, 10), last=True)
    model = tf.keras.Model(inp, x, name=f"fuzz{seed}")
    _randomize(model, np.random.default_rng(seed))
    return model, " ".join(b.parts), shape


def _randomize(model, rng):
    """Non-trivial batch-norm statistics and biases (as after training)."""
    for layer in model.layers:
        if "BatchNormalization" in type(layer).__name__:
            c = layer.moving_mean.shape[0]
            layer.moving_mean.assign(rng.normal(0, 0.5, c).astype(np.float32))
            layer.moving_variance.assign(rng.uniform(0.3, 2.0, c).astype(np.float32))
            layer.gamma.assign(rng.uniform(-1.5, 1.5, c).astype(np.float32))
            layer.beta.assign(rng.normal(0, 0.3, c).astype(np.float32))
        elif getattr(layer, "use_bias", False) and getattr(layer, "bias", None) is not None:
            layer.bias.assign(rng.uniform(-0.5, 0.5, layer.bias.shape).astype(np.float32))
