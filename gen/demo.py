"""`hlsgen demo`: the whole path on models hlsgen trains itself: a QKeras and
a Brevitas MLP and CNN, the Brevitas ones through the same path as
`hlsgen generate train.py:build_model --checkpoint ... --input-shape ...`.

Real data, offline: scikit-learn's bundled 8x8 digits (1797 images, pixel
values 0..16). Pixels are scaled by 1/16, which puts them exactly on a 4-bit
fraction grid, so the model's input quantizer is exact on them.
"""

from __future__ import annotations

import json
import time
from pathlib import Path

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.project.tables import table
from hlsgen.sim.summary import format_csim

SEED = 0


def load_digits_split():
    """(x_train, y_train, x_test, y_test): a fixed stratified 80/20 split."""
    from sklearn.datasets import load_digits
    from sklearn.model_selection import train_test_split
    d = load_digits()
    x = (d.images.reshape(len(d.images), -1) / 16.0).astype(np.float32)
    return train_test_split(x, d.target, test_size=0.2, random_state=SEED, stratify=d.target)


def build_digits_mlp(tf):
    from qkeras import QActivation, QDense
    q = "quantized_bits(6,0,alpha=1)"
    inp = tf.keras.Input((64,), name="pixels")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    x = QDense(32, kernel_quantizer=q, bias_quantizer=q, name="fc1")(x)
    x = QActivation("quantized_relu(6,2)", name="relu1")(x)
    x = QDense(10, kernel_quantizer=q, bias_quantizer=q, name="fc2")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="digits_mlp")


def train(model, tf, x, y, epochs: int, label: str):
    from tqdm import tqdm
    tf.keras.utils.set_random_seed(SEED)
    model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    bar = tqdm(total=epochs, desc=f"training {label}", unit="epoch", leave=True)

    class Progress(tf.keras.callbacks.Callback):
        def on_epoch_end(self, epoch, logs=None):
            bar.set_postfix(loss=f"{logs['loss']:.3f}", acc=f"{logs['accuracy']:.3f}")
            bar.update(1)
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=[Progress()])
    bar.close()


def _made_by_demo(folder: Path) -> bool:
    try:
        return json.loads((folder / "hlsgen.json").read_text()).get("made_by") == "hlsgen demo"
    except (OSError, ValueError):
        return False


def build_digits_cnn(tf):
    """conv(8, 3x3 same)-bn-relu, pool, conv(16, 3x3 same)-bn-relu, pool, dense 10."""
    from qkeras import QActivation, QConv2D, QDense
    q = "quantized_bits(6,0,alpha=1)"
    inp = tf.keras.Input((8, 8, 1), name="image")
    x = QActivation("quantized_bits(5,1,keep_negative=False)", name="input_quant")(inp)
    for i, filters in enumerate((8, 16), start=1):
        x = QConv2D(filters, 3, padding="same", kernel_quantizer=q, bias_quantizer=q,
                    name=f"conv{i}")(x)
        x = tf.keras.layers.BatchNormalization(name=f"bn{i}")(x)
        x = QActivation("quantized_relu(6,2)", name=f"relu{i}")(x)
        x = tf.keras.layers.MaxPooling2D(2, name=f"pool{i}")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(10, kernel_quantizer=q, bias_quantizer=q, name="fc")(x)
    x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x, name="digits_cnn")


def _brevitas_quantizers(scheme: str) -> dict:
    """Brevitas quantizers for the digits models. "fixed": power-of-two
    scales (exact everywhere); "float": Brevitas' float-scale defaults, with
    per-channel weight scales, 8- and 4-bit activations."""
    from brevitas import quant as bq

    class DigitsInput(bq.Uint8ActPerTensorFixedPoint):
        """Pixels k/16 in [0, 1]: 5-bit unsigned, constant scale 2/32 (exact on them)."""
        bit_width = 5
        scaling_impl_type = "const"
        max_val = 2.0
    if scheme == "fixed":
        return {"input": DigitsInput, "weight": bq.Int8WeightPerTensorFixedPoint,
                "head": bq.Int8WeightPerTensorFixedPoint, "act": bq.Uint8ActPerTensorFixedPoint,
                "bits": (6, 6), "output": None}
    return {"input": bq.Int8ActPerTensorFloat, "weight": bq.Int8WeightPerChannelFloat,
            "head": bq.Int8WeightPerTensorFloat, "act": bq.Uint8ActPerTensorFloat,
            "bits": (8, 4), "output": bq.Int8ActPerTensorFloat}


def build_brevitas_mlp(scheme: str = "fixed"):
    """Brevitas MLP 64-32-10, 6-bit weights ("float": per-channel weight
    scales, a 4-bit hidden activation and an 8-bit output quantizer)."""
    from collections import OrderedDict

    import brevitas.nn as qnn
    import torch.nn as nn
    from brevitas.quant import Int32Bias
    q = _brevitas_quantizers(scheme)
    layers = [("input_quant", qnn.QuantIdentity(act_quant=q["input"], return_quant_tensor=True)),
              ("fc1", qnn.QuantLinear(64, 32, bias=True, weight_quant=q["weight"],
                                      weight_bit_width=6, bias_quant=Int32Bias)),
              ("relu1", qnn.QuantReLU(act_quant=q["act"], bit_width=q["bits"][1],
                                      return_quant_tensor=True)),
              ("fc2", qnn.QuantLinear(32, 10, bias=True, weight_quant=q["weight"],
                                      weight_bit_width=6, bias_quant=Int32Bias))]
    if q["output"] is not None:
        layers.append(("output_quant", qnn.QuantIdentity(act_quant=q["output"])))
    return nn.Sequential(OrderedDict(layers))


def build_brevitas_cnn(scheme: str = "fixed"):
    """Brevitas CNN conv8-bn-relu-pool-conv16-bn-relu-pool-fc10, 6-bit weights
    ("float": per-channel convolution scales, 8- then 4-bit activations, a
    per-tensor head whose integer bias is at the accumulator's scale)."""
    from collections import OrderedDict

    import brevitas.nn as qnn
    import torch.nn as nn
    from brevitas.quant import Int32Bias
    q = _brevitas_quantizers(scheme)
    layers = [("input_quant", qnn.QuantIdentity(act_quant=q["input"], return_quant_tensor=True))]
    for i, (cin, cout) in enumerate(((1, 8), (8, 16)), start=1):
        layers += [(f"conv{i}", qnn.QuantConv2d(cin, cout, 3, padding=1, bias=False,
                                                 weight_quant=q["weight"], weight_bit_width=6)),
                   (f"bn{i}", nn.BatchNorm2d(cout)),
                   (f"relu{i}", qnn.QuantReLU(act_quant=q["act"], bit_width=q["bits"][i - 1],
                                              return_quant_tensor=True)),
                   (f"pool{i}", nn.MaxPool2d(2))]
    layers += [("flatten", nn.Flatten()),
               ("fc", qnn.QuantLinear(64, 10, bias=True, weight_quant=q["head"],
                                      weight_bit_width=6, bias_quant=Int32Bias))]
    return nn.Sequential(OrderedDict(layers))


def train_torch(model, x, y, epochs: int, label: str, lr: float = 1e-2):
    """Quantization-aware training with Adam; leaves the model in eval mode."""
    import torch
    from tqdm import tqdm
    torch.manual_seed(SEED)
    xt, yt = torch.from_numpy(np.asarray(x, np.float32)), torch.from_numpy(np.asarray(y, np.int64))
    opt = torch.optim.Adam(model.parameters(), lr)
    model.train()
    bar = tqdm(total=epochs, desc=f"training {label}", unit="epoch", leave=True)
    for _ in range(epochs):
        order = torch.randperm(len(xt))
        correct = 0
        for i in range(0, len(xt), 64):
            idx = order[i:i + 64]
            out = model(xt[idx])
            out = getattr(out, "value", out)
            loss = torch.nn.functional.cross_entropy(out, yt[idx])
            opt.zero_grad()
            loss.backward()
            opt.step()
            correct += int((out.argmax(1) == yt[idx]).sum())
        bar.set_postfix(loss=f"{float(loss.detach()):.3f}", acc=f"{correct / len(xt):.3f}")
        bar.update(1)
    bar.close()
    return model.eval()


DEMO_MODELS = [
    # name, builder, input shape, epochs, description
    ("digits_mlp", build_digits_mlp, (64,), 60, "MLP 64-32-10, 6-bit"),
    ("digits_cnn", build_digits_cnn, (8, 8, 1), 30, "CNN conv8-pool-conv16-pool-fc10, 6-bit, BN"),
]


BREVITAS_DEMO_MODELS = [
    # name, builder (a function of this file, as a user's train.py:build_model),
    # input shape (PyTorch, with the batch), epochs, description
    ("brevitas_mlp", build_brevitas_mlp, (1, 64), 12, "Brevitas MLP 64-32-10, 6-bit, fixed point"),
    ("brevitas_cnn", build_brevitas_cnn, (1, 1, 8, 8), 6,
     "Brevitas CNN conv8-pool-conv16-pool-fc10, 6-bit, fixed point, BN"),
]


def _train_qkeras(name, builder, shape, epochs, label, data, model_dir):
    """Trains and saves a QKeras model: (model for generate, its test data)."""
    from hlsgen.frontends.qkeras.env import import_qkeras
    tf, _, _ = import_qkeras()
    x_train, x_test, y_train, _ = data
    model = builder(tf)
    train(model, tf, x_train.reshape((-1,) + shape), y_train, epochs, label)
    model.save(model_dir / f"{name}.h5")
    return str(model_dir / f"{name}.h5"), {}, x_test.reshape((-1,) + shape)


# --- compressed models: pruned and weight-shared (tensorflow-model-optimization) ---

def fit(model, tf, x, y, epochs: int, callbacks=()):
    """Trains quietly (the compressed models' fine-tuning)."""
    tf.keras.utils.set_random_seed(SEED)
    model.compile(tf.keras.optimizers.Adam(3e-3), "sparse_categorical_crossentropy",
                  metrics=["accuracy"])
    model.fit(x, y, epochs=epochs, batch_size=64, verbose=0, callbacks=list(callbacks))
    return model


def prune_model(tf, model, sparsity: float, blocks: dict, x, y, epochs: int):
    """`model` with the layers named in `blocks` wrapped in tfmot's
    prune_low_magnitude at constant `sparsity`, block_size blocks[name] ((1, 1):
    unstructured; tfmot takes blocks on 2-D kernels only), trained, stripped."""
    import tensorflow_model_optimization as tfmot
    sched = tfmot.sparsity.keras.ConstantSparsity(sparsity, begin_step=0, frequency=1)

    def wrap(layer):
        if layer.name in blocks:
            return tfmot.sparsity.keras.prune_low_magnitude(layer, pruning_schedule=sched,
                                                            block_size=blocks[layer.name])
        return layer
    pruned = tf.keras.models.clone_model(model, clone_function=wrap)
    fit(pruned, tf, x, y, epochs, [tfmot.sparsity.keras.UpdatePruningStep()])
    return tfmot.sparsity.keras.strip_pruning(pruned)


def cluster_model(tf, model, clusters: int, layers: list[str], x, y, epochs: int):
    """`model` with the layers `layers` clustered by tfmot's cluster_weights
    into `clusters` centroids (linear initialisation), fine-tuned, stripped."""
    import tensorflow_model_optimization as tfmot
    c = tfmot.clustering.keras

    def wrap(layer):
        if layer.name in layers:
            return c.cluster_weights(layer, number_of_clusters=clusters,
                                     cluster_centroids_init=c.CentroidInitialization.LINEAR)
        return layer
    clustered = tf.keras.models.clone_model(model, clone_function=wrap)
    fit(clustered, tf, x, y, epochs)
    return c.strip_clustering(clustered)


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


def clustered_mlp(tf, x, y, epochs: int, clusters: int = 16, weight_bits: int = 8):
    """(float model, QKeras model): tfmot clusters Keras layers only (QKeras'
    QDense is refused), so the float MLP is trained, clustered, fine-tuned and
    stripped, and its weights (`clusters` float centroids per kernel) are
    loaded into the QKeras MLP, whose quantizer maps the centroids to at most
    `clusters` integer codes (what hlsgen's codebook holds)."""
    model = cluster_model(tf, fit(build_mlp(tf, None), tf, x, y, epochs), clusters,
                          ["fc1", "fc2"], x, y, max(1, epochs // 4))
    q = build_mlp(tf, weight_bits)
    for name in ("fc1", "fc2"):
        q.get_layer(name).set_weights(model.get_layer(name).get_weights())
    return model, q


def _train_pruned(name, builder, shape, epochs, label, data, model_dir):
    """The digits MLP pruned by tfmot to 80% zeros in blocks of 4 inputs of one output."""
    from hlsgen.frontends.qkeras.env import import_qkeras
    tf, _, _ = import_qkeras()
    x_train, x_test, y_train, _ = data
    print(f"training {label} ...", flush=True)
    blocks = {"fc1": (4, 1), "fc2": (4, 1)}
    model = prune_model(tf, builder(tf), 0.8, blocks, x_train, y_train, epochs)
    model.save(model_dir / f"{name}.h5")
    # Folded to the blocks it was pruned in (SIMD, PE), so every zero block is a skipped tile.
    return (str(model_dir / f"{name}.h5"),
            {"folding": {n: {"simd": s, "pe": p} for n, (s, p) in blocks.items()}}, x_test)


def _train_clustered(name, builder, shape, epochs, label, data, model_dir):
    """The digits MLP, 8-bit weights clustered by tfmot into 16 values per layer."""
    from hlsgen.frontends.qkeras.env import import_qkeras
    tf, _, _ = import_qkeras()
    x_train, x_test, y_train, _ = data
    print(f"training {label} ...", flush=True)
    _, model = clustered_mlp(tf, x_train, y_train, epochs)
    model.save(model_dir / f"{name}.h5")
    return str(model_dir / f"{name}.h5"), {}, x_test


COMPRESSED_DEMO_MODELS = [
    # trainer, name, builder, input shape, epochs, description
    (_train_pruned, "digits_mlp_pruned", build_digits_mlp, (64,), 30,
     "MLP 64-32-10, 6-bit, tfmot 80% pruned in 4x1 blocks, folded 4x1"),
    (_train_clustered, "digits_mlp_clustered", build_mlp, (64,), 30,
     "MLP 64-32-10, 8-bit, tfmot 16 clusters per layer"),
]


def _train_brevitas(name, builder, shape, epochs, label, data, model_dir):
    """Trains a Brevitas model and saves its state dict; generate then takes
    the same path as `hlsgen generate gen/demo.py:<builder> --checkpoint ...`."""
    import torch
    x_train, x_test, y_train, _ = data
    torch.manual_seed(SEED)
    model = train_torch(builder(), x_train.reshape((-1,) + shape[1:]), y_train, epochs, label)
    checkpoint = model_dir / f"{name}.pt"
    torch.save(model.state_dict(), checkpoint)
    return (f"{Path(__file__).resolve()}:{builder.__name__}",
            {"checkpoint": str(checkpoint), "input_shape": shape}, x_test.reshape((-1,) + shape[1:]))


def _compression(gen) -> list[str]:
    """The report's compression lines of a generated design (pynq-z2)."""
    from hlsgen.arch.dataflow.report import compression_lines, estimate_design
    from hlsgen.platform.boards import load_board
    if gen.arch != "dataflow":
        return []
    return compression_lines(estimate_design(gen.design, load_board("pynq-z2")))


def run_demo(out_root: Path = Path("hls_projects"), force: bool = False, epochs: int | None = None) -> int:
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim

    out_root = Path(out_root)
    print("hlsgen demo: QKeras and Brevitas networks on scikit-learn's 8x8 digits -> pynq-z2 "
          "projects -> C simulation")
    data = load_digits_split()
    y_test = data[3]
    model_dir = out_root / "models"
    model_dir.mkdir(parents=True, exist_ok=True)
    rows, failures = [], []
    runs = ([(_train_qkeras, "QKeras", m) for m in DEMO_MODELS] +
            [(_train_brevitas, "Brevitas", m) for m in BREVITAS_DEMO_MODELS] +
            [(m[0], "QKeras+tfmot", m[1:]) for m in COMPRESSED_DEMO_MODELS])
    compression = []
    for trainer, framework, (name, builder, shape, default_epochs, description) in runs:
        project = out_root / name
        # The demo replaces only what an earlier demo made; anything else needs --force.
        replace = force or _made_by_demo(project)
        t0 = time.perf_counter()
        source, kwargs, x_test = trainer(name, builder, shape, epochs or default_epochs,
                                         f"{name} ({description})", data, model_dir)
        t_train = time.perf_counter() - t0
        print(f"generating {project} ...", flush=True)
        gen = generate(source, project, board="pynq-z2", force=replace, test_data=x_test,
                       made_by="hlsgen demo", **kwargs)
        print(f"compiling and running C simulation on {len(x_test)} held-out images ...", flush=True)
        res = csim(project)
        print(format_csim(res))
        if res.mismatches:
            failures.append(name)
        compression += [f"{name} {line}" for line in _compression(gen)]
        fw = np.load(project / "tb" / "framework.npy")
        frac = gen.graph.tensors[gen.graph.outputs[0]].qtype.frac
        fwf = res.framework_figures()
        rows.append((name, framework,
                     f"{100 * np.mean(np.argmax(fw, 1) == y_test):.2f}%",
                     f"{100 * np.mean(np.argmax(res.csim * 2.0**-frac, 1) == y_test):.2f}%",
                     f"{res.values - res.csim_mismatches}/{res.values}",
                     f"{res.synthesis.golden.size - res.synthesis.mismatches}/{res.synthesis.golden.size}",
                     f"{fwf['equal_values']}/{fwf['values']}",
                     f"{t_train:.1f} s", f"{gen.seconds:.2f} s",
                     "cached" if res.build_cached else f"{res.build_seconds:.2f} s",
                     f"{res.run_seconds:.3f} s"))
    print()
    for _, _, (name, _, _, _, description) in runs:
        print(f"{name}: {description}")
    print(table(rows, ("model", "framework", "fw accuracy", "csim accuracy", "csim = golden",
                        "synth = golden", "golden = fw", "training", "generate", "csim build",
                        "csim run")))
    print(f"fw: the framework (QKeras, Brevitas); csim: the C-simulation branch of the kernel "
          f"library; synth: its synthesis branch (the code Vitis HLS compiles); {len(y_test)} "
          f"held-out images per model, 10 output values each; projects in {out_root}/, trained "
          f"models in {model_dir}/")
    if compression:
        print("\ncompressed layers (estimates at each project's folding, against the same layer "
              "dense; exactness is the csim columns above):")
        print("\n".join(compression))
    if failures:
        raise HlsgenError(f"C simulation differs from the golden executor for {', '.join(failures)}; "
                          "this is a bug, please report it with the model in hls_projects/models")
    return 0
