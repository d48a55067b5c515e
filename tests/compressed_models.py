"""Compressed digits models for the compression tests: QKeras models pruned
and clustered with tensorflow-model-optimization (tfmot), trained briefly on
scikit-learn's digits, and stripped of tfmot's wrappers (ordinary QKeras
models whose weights have zeros or few distinct values)."""

from __future__ import annotations

import numpy as np

EPOCHS = 4


def digits():
    from hlsgen.demo import load_digits_split
    return load_digits_split()


def tfmot():
    import tensorflow_model_optimization as tfmot
    return tfmot


def _fit(model, tf, x, y, epochs, callbacks=()):
    tf.keras.utils.set_random_seed(0)
    model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=list(callbacks))
    return model


def prune(tf, model, sparsity: float, blocks: dict, x, y, epochs: int = EPOCHS):
    """`model` with every layer named in `blocks` wrapped in tfmot's
    prune_low_magnitude at constant `sparsity` (block_size blocks[name],
    (1, 1) for unstructured), trained, then stripped."""
    t = tfmot()
    sched = t.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=1)

    def wrap(layer):
        if layer.name in blocks:
            return t.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched,
                                                        block_size=blocks[layer.name])
        return layer
    pruned = tf.keras.models.clone_model(model, clone_function=wrap)
    _fit(pruned, tf, x, y, epochs, [t.sparsity.keras.UpdatePruningStep()])
    return t.sparsity.keras.strip_pruning(pruned)


def cluster(tf, model, clusters: int, layers: list[str], x, y, epochs: int = EPOCHS):
    """`model` (trained) with the layers `layers` clustered by tfmot's
    cluster_weights into `clusters` centroids, fine-tuned, then stripped."""
    t = tfmot()
    c = t.clustering.keras

    def wrap(layer):
        if layer.name in layers:
            return c.cluster_weights(layer, number_of_clusters=clusters,
                                     cluster_centroids_init=c.CentroidInitialization.LINEAR)
        return layer
    clustered = tf.keras.models.clone_model(model, clone_function=wrap)
    _fit(clustered, tf, x, y, epochs)
    return c.strip_clustering(clustered)


def block_zeros(kernel: np.ndarray, simd: int, pe: int) -> float:
    """Fraction of the SIMD x PE blocks of a kernel's [inputs, outputs] view
    (a convolution's [KH*KW*Cin, Cout]) that are all zero."""
    w = kernel.reshape(-1, kernel.shape[-1])
    mw, mh = w.shape
    blocks = np.abs(w).reshape(mw // simd, simd, mh // pe, pe).sum(axis=(1, 3))
    return float(np.mean(blocks == 0))


def digits_mlp(tf, x, y, epochs: int = EPOCHS):
    from hlsgen.demo import build_digits_mlp
    return _fit(build_digits_mlp(tf), tf, x, y, epochs)


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
    _fit(model, tf, x, y, epochs, [Hold()])
    return model


def digits_cnn(tf, x, y, epochs: int = EPOCHS):
    from hlsgen.demo import build_digits_cnn
    return _fit(build_digits_cnn(tf), tf, x.reshape(-1, 8, 8, 1), y, epochs)


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


def build_mlp(tf, weight_bits: int | None):
    """The digits MLP 64-32-10 with `weight_bits`-bit QKeras weights, or
    (None) plain Keras Dense layers of the same names and shapes."""
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((64,), name="pixels")
    if weight_bits is None:
        x = tf.keras.layers.Dense(32, activation="relu", name="fc1")(inp)
        return tf.keras.Model(inp, tf.keras.layers.Dense(10, activation="softmax", name="fc2")(x))
    q = f"quantized_bits({weight_bits},0,alpha=1)"
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    x = QDense(32, kernel_quantizer=q, bias_quantizer=q, name="fc1")(x)
    x = QActivation("quantized_relu(6,2)", name="relu1")(x)
    x = QDense(10, kernel_quantizer=q, bias_quantizer=q, name="fc2")(x)
    return tf.keras.Model(inp, tf.keras.layers.Activation("softmax", name="softmax")(x))


def clustered_mlp(tf, x, y, clusters: int = 16, weight_bits: int = 8):
    """tfmot clusters Keras layers only (QKeras' QDense is refused), so the
    float MLP is trained, clustered, fine-tuned and stripped, and its weights
    (`clusters` float centroids per kernel) are loaded into the QKeras MLP,
    whose quantizer maps the centroids to at most `clusters` integer codes."""
    model = cluster(tf, _fit(build_mlp(tf, None), tf, x, y, EPOCHS), clusters, ["fc1", "fc2"],
                    x, y, epochs=1)
    q = build_mlp(tf, weight_bits)
    for name in ("fc1", "fc2"):
        q.get_layer(name).set_weights(model.get_layer(name).get_weights())
    return model, q
