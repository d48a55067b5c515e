"""Issue 20, item 3: upsampling (nearest), cropping and transposed
convolutions, from QKeras and from Brevitas/QONNX: exact against the
framework on every output, both C-simulation branches equal golden, and a
U-Net-like model whose skip FIFO the threaded C simulation exercises."""

from collections import OrderedDict

import numpy as np
import pytest

from conftest import assert_exact

A4 = "quantized_relu(4,2)"
W4 = "quantized_bits(4,0,alpha=1)"
B6 = "quantized_bits(6,2,alpha=1)"


@pytest.fixture(scope="module")
def qkeras_tconv(tf):
    from fuzz.qkeras_models import qconv2d_transpose
    return qconv2d_transpose(tf)


def _randomize(model, seed=0):
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        weights = layer.get_weights()
        if weights:
            layer.set_weights([rng.normal(0, 0.5, w.shape).astype(np.float32) for w in weights])
    return model


def _images(shape, n=40, seed=1):
    return np.random.default_rng(seed).uniform(-2, 2, (n,) + tuple(shape)).astype(np.float32)


def _generate(model, tmp_path, x, **kw):
    from hlsgen.flow import generate
    return generate(model, tmp_path / "prj", test_data=x, **kw)


@pytest.mark.parametrize("k, s, padding", [(3, 2, "same"), (3, 2, "valid"), (1, 2, "valid"),
                                           (2, 3, "same")])
def test_qkeras_upsample_crop_and_transposed_conv(tf, qkeras_tconv, tmp_path, k, s, padding):
    """conv -> UpSampling2D -> Cropping2D -> QConv2DTranspose: every
    geometry of Keras' transposed convolution ('valid' with K < S grows the
    output, 'same' cuts the top half rounded down)."""
    from qkeras import QActivation, QConv2D, quantized_bits
    from hlsgen.sim.csim import csim
    x_in = tf.keras.Input((5, 5, 2))
    t = QActivation(quantized_bits(6, 2, alpha=1), name="inq")(x_in)
    t = QConv2D(3, 3, padding="same", kernel_quantizer=W4, bias_quantizer=B6, name="c1")(t)
    t = QActivation(A4, name="a1")(t)
    t = tf.keras.layers.UpSampling2D((2, 2), name="up")(t)
    t = tf.keras.layers.Cropping2D(((1, 0), (0, 2)), name="crop")(t)
    t = qkeras_tconv(3, k, strides=s, padding=padding, kernel_quantizer=W4, bias_quantizer=B6,
                     name="tconv")(t)
    t = QActivation(quantized_bits(8, 3, alpha=1), name="a2")(t)
    model = _randomize(tf.keras.Model(x_in, t))
    gen = _generate(model, tmp_path, _images((5, 5, 2)))
    ops = [n.op for n in gen.graph.nodes]
    assert "upsample" in ops and "crop" in ops
    zeros = [n for n in gen.graph.nodes if n.op == "upsample" and n.attrs["mode"] == "zeros"]
    assert len(zeros) == 1 and zeros[0].attrs["fh"] == s
    assert gen.exact_values == gen.total_values == 40 * int(np.prod(model.output_shape[1:]))
    sim = csim(gen.out)
    assert_exact(sim)
    assert len(np.unique(sim.csim)) > 10


def test_qkeras_1d_upsample_and_crop(tf, tmp_path):
    from qkeras import QActivation, QConv1D, quantized_bits
    from hlsgen.sim.csim import csim
    x_in = tf.keras.Input((12, 3))
    t = QActivation(quantized_bits(6, 2, alpha=1), name="inq")(x_in)
    t = QConv1D(4, 3, kernel_quantizer=W4, bias_quantizer=B6, name="c1")(t)
    t = QActivation(A4, name="a1")(t)
    t = tf.keras.layers.UpSampling1D(3, name="up")(t)
    t = tf.keras.layers.Cropping1D((2, 1), name="crop")(t)
    t = QConv1D(2, 3, kernel_quantizer=W4, bias_quantizer=B6, name="c2")(t)
    model = _randomize(tf.keras.Model(x_in, t))
    gen = _generate(model, tmp_path, _images((12, 3)))
    assert gen.exact_values == gen.total_values
    assert_exact(csim(gen.out))


def test_unet_like_model_with_a_skip(tf, qkeras_tconv, tmp_path):
    """conv -> (skip) -> max-pool -> conv -> upsample -> concatenate with the
    skip -> transposed conv: exact, and the threaded C simulation (every
    process a thread on FIFOs of their declared depths) completes, so the
    skip FIFO holds what the long branch makes it wait for."""
    from qkeras import QActivation, QConv2D, quantized_bits
    from hlsgen.sim.csim import csim
    x_in = tf.keras.Input((8, 8, 2))
    t = QActivation(quantized_bits(6, 2, alpha=1), name="inq")(x_in)
    skip = QActivation(A4, name="a1")(QConv2D(4, 3, padding="same", kernel_quantizer=W4,
                                               bias_quantizer=B6, name="enc")(t))
    t = tf.keras.layers.MaxPooling2D(2, name="pool")(skip)
    t = QActivation(A4, name="a2")(QConv2D(6, 3, padding="same", kernel_quantizer=W4,
                                            bias_quantizer=B6, name="mid")(t))
    t = tf.keras.layers.UpSampling2D(2, name="up")(t)
    t = tf.keras.layers.Concatenate(name="cat")([t, skip])
    t = qkeras_tconv(3, 3, strides=1, padding="same", kernel_quantizer=W4, bias_quantizer=B6,
                     name="dec")(t)
    t = QActivation(quantized_bits(8, 3, alpha=1), name="a3")(t)
    model = _randomize(tf.keras.Model(x_in, t))
    gen = _generate(model, tmp_path, _images((8, 8, 2), n=20))
    assert gen.exact_values == gen.total_values == 20 * 8 * 8 * 3
    assert_exact(csim(gen.out))
    threaded = csim(gen.out, threaded=True)
    assert threaded.mismatches == 0 and threaded.frames == 20


def _brevitas_model(k, s, p):
    import brevitas.nn as qnn
    import torch
    from brevitas import quant as bq
    import brevitas_models as bm
    torch.manual_seed(0)
    w = bq.Int8WeightPerTensorFixedPoint
    model = torch.nn.Sequential(OrderedDict([
        ("inq", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint, return_quant_tensor=True)),
        ("conv", qnn.QuantConv2d(2, 4, 3, padding=1, weight_quant=w, weight_bit_width=4, bias=False)),
        ("act", qnn.QuantReLU(act_quant=bq.Uint8ActPerTensorFixedPoint, bit_width=4,
                              return_quant_tensor=True)),
        ("up", torch.nn.Upsample(scale_factor=2, mode="nearest")),
        ("tconv", qnn.QuantConvTranspose2d(4, 3, k, stride=s, padding=p, weight_quant=w,
                                           weight_bit_width=4, bias=False)),
        ("out", qnn.QuantIdentity(act_quant=bq.Int8ActPerTensorFixedPoint))]))
    return bm.calibrate(model, (1, 2, 5, 5))


@pytest.mark.parametrize("k, s, p", [(3, 2, 1), (1, 2, 0), (4, 2, 1)])
def test_brevitas_upsample_and_transposed_conv(tmp_path, k, s, p):
    """nn.Upsample (ONNX Resize, nearest) and QuantConvTranspose2d (ONNX
    ConvTranspose with pads: K=1 < S crops the zero-inserted input)."""
    pytest.importorskip("brevitas")
    import brevitas_models as bm
    from hlsgen.sim.csim import csim
    model = _brevitas_model(k, s, p)
    gen = _generate(model, tmp_path, bm.random_inputs((1, 2, 5, 5), 30), input_shape=(1, 2, 5, 5))
    ups = [n.attrs["mode"] for n in gen.graph.nodes if n.op == "upsample"]
    assert ups == ["nearest", "zeros"]
    assert ("crop" in [n.op for n in gen.graph.nodes]) == (k < s)
    assert gen.exact_values == gen.total_values
    assert_exact(csim(gen.out))


def test_resize_that_is_not_a_repeat_is_refused(tmp_path):
    """Bilinear resizing is not nearest-neighbour copying: refused naming the
    node, nothing written."""
    pytest.importorskip("brevitas")
    import torch
    import brevitas_models as bm
    from hlsgen.errors import HlsgenError
    model = _brevitas_model(3, 2, 1)
    model.up = torch.nn.Upsample(scale_factor=2, mode="bilinear")
    with pytest.raises(HlsgenError, match=r"Resize that does not repeat each pixel .* is not "
                                          r"supported; use nearest-neighbour upsampling"):
        _generate(model, tmp_path, bm.random_inputs((1, 2, 5, 5), 4), input_shape=(1, 2, 5, 5))
    assert not (tmp_path / "prj").exists()


def test_tiled_architecture_refuses_upsampling(tf, tmp_path):
    from qkeras import QActivation, QConv2D, quantized_bits
    from hlsgen.errors import HlsgenError
    x_in = tf.keras.Input((6, 6, 2))
    t = QActivation(quantized_bits(6, 2, alpha=1), name="inq")(x_in)
    t = QActivation(A4, name="a1")(QConv2D(3, 3, kernel_quantizer=W4, bias_quantizer=B6,
                                            name="c1")(t))
    t = tf.keras.layers.UpSampling2D(2, name="up")(t)
    t = QConv2D(2, 3, kernel_quantizer=W4, bias_quantizer=B6, name="c2")(t)
    model = _randomize(tf.keras.Model(x_in, t))
    with pytest.raises(HlsgenError, match=r"'up' \(upsample\) is not supported by the tiled"):
        _generate(model, tmp_path, _images((6, 6, 2), n=4), arch="tiled")
    assert not (tmp_path / "prj").exists()


@pytest.mark.parametrize("case, words", [
    ("bilinear", ["'up'", "interpolation 'bilinear'", "interpolation='nearest'"]),
    ("dilation", ["'tconv'", "dilation", "leave it at 1"])])
def test_qkeras_refusals(tf, qkeras_tconv, tmp_path, case, words):
    from qkeras import QActivation, quantized_bits
    from hlsgen.errors import HlsgenError
    x_in = tf.keras.Input((4, 4, 2))
    t = QActivation(quantized_bits(6, 2, alpha=1), name="inq")(x_in)
    if case == "bilinear":
        t = tf.keras.layers.UpSampling2D(2, interpolation="bilinear", name="up")(t)
    else:
        t = qkeras_tconv(2, 3, dilation_rate=2, kernel_quantizer=W4, bias_quantizer=B6,
                         name="tconv")(t)
    model = tf.keras.Model(x_in, t)
    with pytest.raises(HlsgenError) as e:
        _generate(model, tmp_path, _images((4, 4, 2), n=2))
    assert all(w in str(e.value) for w in words), str(e.value)
    assert not (tmp_path / "prj").exists()
