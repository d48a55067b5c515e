"""Compressed digits models for the compression tests: QKeras models pruned
and clustered with tensorflow-model-optimization (tfmot), trained briefly on
scikit-learn's digits, and stripped of tfmot's wrappers (ordinary QKeras
models whose weights have zeros or few distinct values)."""

from __future__ import annotations

import numpy as np

from hlsgen.demo import build_mlp, cluster_model, fit, load_digits_split, prune_model  # noqa: F401

EPOCHS = 4


def digits():
    return load_digits_split()


def prune(tf, model, sparsity: float, blocks: dict, x, y, epochs: int = EPOCHS):
    return prune_model(tf, model, sparsity, blocks, x, y, epochs)


def cluster(tf, model, clusters: int, layers: list[str], x, y, epochs: int = EPOCHS):
    return cluster_model(tf, model, clusters, layers, x, y, epochs)


def clustered_mlp(tf, x, y, clusters: int = 16, weight_bits: int = 8):
    from hlsgen.demo import clustered_mlp as demo_clustered
    return demo_clustered(tf, x, y, EPOCHS, clusters, weight_bits)


def block_zeros(kernel: np.ndarray, simd: int, pe: int) -> float:
    """Fraction of the SIMD x PE blocks of a kernel's [inputs, outputs] view
    (a convolution's [KH*KW*Cin, Cout]) that are all zero."""
    w = kernel.reshape(-1, kernel.shape[-1])
    mw, mh = w.shape
    blocks = np.abs(w).reshape(mw // simd, simd, mh // pe, pe).sum(axis=(1, 3))
    return float(np.mean(blocks == 0))


def block_mask(kernel: np.ndarray, simd: int, pe: int, sparsity: float) -> np.ndarray:
    """A 0/1 mask of `kernel`'s shape zeroing the `sparsity` fraction of its
    SIMD x PE blocks ([inputs, outputs] view) of least mean magnitude, as
    tfmot's block pruning (AVG pooling) does for 2-D kernels."""
    w = np.abs(kernel.reshape(-1, kernel.shape[-1]))
    mw, mh = w.shape
    score = w.reshape(mw // simd, simd, mh // pe, pe).mean(axis=(1, 3))
    keep = np.ones(score.size, dtype=bool)
    keep[np.argsort(score, axis=None, kind="stable")[:int(round(sparsity * score.size))]] = False
    mask = np.repeat(np.repeat(keep.reshape(score.shape), simd, 0), pe, 1)
    return mask.reshape(kernel.shape).astype(kernel.dtype)


def block_prune_convs(tf, model, blocks: dict, sparsity: float, x, y, epochs: int = 2,
                      hold: tuple = ()):
    """tfmot refuses block_size on convolution kernels (4-D), so this prunes
    the layers named in `blocks` the same way on their [KH*KW*Cin, Cout] view:
    magnitude pruning of (SIMD, PE) blocks, then fine-tuning with the zeros
    held by re-applying the mask after every batch (and the zeros of the
    layers named in `hold`, pruned before)."""
    masks = {name: (model.get_layer(name).kernel.numpy() != 0).astype(np.float32) for name in hold}
    for name, (simd, pe) in blocks.items():
        layer = model.get_layer(name)
        masks[name] = block_mask(layer.kernel.numpy(), simd, pe, sparsity)

    def apply(*_):
        for name, m in masks.items():
            k = model.get_layer(name).kernel
            k.assign(k.numpy() * m)
    apply()

    class Hold(tf.keras.callbacks.Callback):
        def on_train_batch_end(self, batch, logs=None):
            apply()
    fit(model, tf, x, y, epochs, [Hold()])
    return model


def build_wide_cnn(tf):
    """A digits CNN wide enough that a board budget, not its window units,
    limits it: conv(16, 3x3 valid)-relu, conv(64, 3x3 valid)-relu, pool,
    dense 10; 6-bit weights and activations (DSP multipliers)."""
    from qkeras import QActivation, QConv2D, QDense
    q = "quantized_bits(6,0,alpha=1)"
    inp = tf.keras.Input((8, 8, 1), name="image")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    for i, filters in enumerate((16, 64), start=1):
        x = QConv2D(filters, 3, kernel_quantizer=q, bias_quantizer=q, name=f"conv{i}")(x)
        x = QActivation("quantized_relu(6,2)", name=f"relu{i}")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(10, kernel_quantizer=q, bias_quantizer=q, name="fc")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="wide_cnn")

