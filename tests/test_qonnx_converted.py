"""QKeras models converted to QONNX by qonnx's own converter
(qonnx.converters.from_keras) generate the design their QKeras .h5 generates,
exactly, with logits (issue 17): the converter's MatMul + Add of a quantized
bias is read as the IR's dense layer with its bias, its NHWC <-> NCHW
Transposes as the IR's layout, its 1-bit signed Quant (QKeras `binary`) as
bipolar.

The converter: qonnx 1.0 ships without it ("QKeras to QONNX conversion will be
moved to another repository. Please use the older version qonnx==0.4"). The
conversion runs in a subprocess that takes qonnx's converters from the
installed qonnx if it has them, else from the folder HLSGEN_QKERAS_CONVERTER,
by default .venv/qkeras-converter, where `make install` installs
requirements-converter.lock.txt (qonnx 0.4.0 and tf2onnx 1.17.0, without
dependencies), with the installed qonnx core; without either they skip.
"""

import importlib.util
import json
import os
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from conftest import assert_exact, qdense_mlp, randomize_biases
from qonnx_graphs import qonnx_file

onnx = pytest.importorskip("onnx")
pytest.importorskip("qonnx")

SIDE_ENV = "HLSGEN_QKERAS_CONVERTER"
# Where `make install` puts it (requirements-converter.lock.txt).
REPO_CONVERTER = Path(__file__).resolve().parents[1] / ".venv" / "qkeras-converter"
Q6 = "quantized_bits(6,0,alpha=1)"

CONVERT = r"""
import importlib, os, sys
os.environ["TF_USE_LEGACY_KERAS"] = "1"
side = sys.argv[1]
from hlsgen.frontends.qkeras.env import import_qkeras
import_qkeras()
import qkeras, qonnx
if side:
    sys.path.append(side)                              # tf2onnx
    if importlib.util.find_spec("qonnx.converters") is None:
        qonnx.__path__.append(os.path.join(side, "qonnx"))   # 0.4's converters, installed core
importlib.import_module("tf2onnx.optimizer")          # tf2onnx 1.17 imports its parts lazily
importlib.import_module("tf2onnx.convert")
from qonnx.converters import from_keras
for h5 in sys.argv[2:]:
    model = qkeras.utils.load_qmodel(h5)
    from_keras(model, os.path.basename(h5)[:-3], output_path=h5[:-3] + ".onnx")
    print("converted", h5)
"""


def _converter_side() -> str | None:
    """'' when the installed qonnx has the converter, the side folder when
    HLSGEN_QKERAS_CONVERTER holds it, else None."""
    if importlib.util.find_spec("qonnx.converters") is not None:
        return ""
    side = os.environ.get(SIDE_ENV, "") or str(REPO_CONVERTER)
    if side and (Path(side) / "qonnx" / "converters" / "keras.py").is_file() and (
            Path(side) / "tf2onnx").is_dir():
        return side
    return None


def _models(tf):
    """name -> QKeras model: an MLP, a CNN, a binarized MLP, a lone quantizer."""
    from qkeras import QActivation, QConv2D, QDense
    models = {"mlp": randomize_biases(qdense_mlp(tf, [16, 12, 5], wq=Q6, softmax=False))}
    tf.keras.utils.set_random_seed(0)
    inp = tf.keras.Input((8, 8, 3), name="x")
    x = QConv2D(4, 3, kernel_quantizer=Q6, bias_quantizer=Q6, name="conv1")(inp)
    x = QActivation("quantized_relu(6)", name="act1")(x)
    x = QConv2D(4, 3, padding="same", kernel_quantizer=Q6, bias_quantizer=Q6, name="conv2")(x)
    x = QActivation("quantized_relu(6)", name="act2")(x)
    x = tf.keras.layers.MaxPooling2D(2, name="pool")(x)
    x = tf.keras.layers.Flatten(name="flat")(x)
    x = QDense(5, kernel_quantizer=Q6, bias_quantizer=Q6, name="logits")(x)
    models["cnn"] = randomize_biases(tf.keras.Model(inp, x))
    # binary: the activation quantizer inside the QDense (the converter drops a
    # stand-alone QActivation("binary(alpha=1)") between two layers).
    inp = tf.keras.Input((16,), name="x")
    x = QDense(12, kernel_quantizer="quantized_bits(4,0,alpha=1)",
               bias_quantizer="quantized_bits(4,0,alpha=1)", activation="binary(alpha=1)",
               name="fc1")(inp)
    x = QDense(5, kernel_quantizer="binary(alpha=1)", bias_quantizer="quantized_bits(6,2,alpha=1)",
               name="logits")(x)
    models["binary"] = randomize_biases(tf.keras.Model(inp, x), scale=2.0)
    inp = tf.keras.Input((16,), name="x")
    models["quantizer"] = tf.keras.Model(inp, QActivation("quantized_bits(6,2,alpha=1)",
                                                          name="q")(inp))
    return models


@pytest.fixture(scope="module")
def converted(tf, tmp_path_factory):
    """name -> (.h5 path, .onnx path written by qonnx's from_keras)."""
    side = _converter_side()
    if side is None:
        pytest.skip(f"qonnx's QKeras converter is not installed (qonnx >= 1.0 ships without it); "
                    f"pip install --no-deps --target DIR qonnx==0.4.0 tf2onnx==1.17.0 and set "
                    f"{SIDE_ENV}=DIR")
    folder = tmp_path_factory.mktemp("converted")
    paths = {}
    for name, model in _models(tf).items():
        model.save(folder / f"{name}.h5")
        paths[name] = (folder / f"{name}.h5", folder / f"{name}.onnx")
    env = dict(os.environ, TF_USE_LEGACY_KERAS="1", TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-c", CONVERT, side, *(str(h) for h, _ in paths.values())],
                          env=env, capture_output=True, text=True, timeout=600)
    assert proc.returncode == 0, proc.stderr[-3000:]
    return paths


def _ops(path):
    m = onnx.load(str(path))
    attrs = {n.name: {a.name: onnx.helper.get_attribute_value(a) for a in n.attribute}
             for n in m.graph.node}
    return m, attrs


def test_the_converter_writes_what_the_reader_handles(converted):
    """What qonnx's converter emits (so this fails if it changes): a dense
    layer is MatMul then a float Add of a Quant'd bias; a convolution sits
    between Transposes (NHWC input to NCHW, NCHW back to NHWC before the
    flatten); QKeras binary is a 1-bit signed Quant; a lone quantizer is one
    Quant."""
    m, _ = _ops(converted["mlp"][1])
    ops = [n.op_type for n in m.graph.node]
    producers = producers_of(m)
    adds = [n for n in m.graph.node if n.op_type == "Add"]
    assert ops.count("MatMul") == 2 and len(adds) == 2 and "Gemm" not in ops
    for add in adds:
        assert {producers[i].op_type for i in add.input} == {"MatMul", "Quant"}

    m, attrs = _ops(converted["cnn"][1])
    perms = [attrs[n.name]["perm"] for n in m.graph.node if n.op_type == "Transpose"]
    assert perms == [[0, 3, 1, 2], [0, 2, 3, 1]]
    inside = next(n for n in m.graph.node if n.op_type == "Transpose" and n.input[0] != "global_in")
    assert producers_of(m)[inside.input[0]].op_type == "MaxPool"     # inside the graph
    assert [n.op_type for n in m.graph.node if n.input and n.input[0] == inside.output[0]] == ["Reshape"]
    assert [n.op_type for n in m.graph.node].count("Conv") == 2

    m, attrs = _ops(converted["binary"][1])
    inits = {i.name: onnx.numpy_helper.to_array(i) for i in m.graph.initializer}
    one_bit = [n for n in m.graph.node if n.op_type == "Quant" and inits.get(n.input[3]) == 1]
    assert len(one_bit) == 2 and all(attrs[n.name]["signed"] == 1 for n in one_bit)
    # one on the second layer's weights, one on the first layer's output
    assert sorted(n.input[0] in producers_of(m) for n in one_bit) == [False, True]

    m, _ = _ops(converted["quantizer"][1])
    assert [n.op_type for n in m.graph.node if n.op_type != "Identity"] == ["Quant"]


def producers_of(m):
    return {o: n for n in m.graph.node for o in n.output}


def _design(report: dict) -> list:
    """report.json's layers and folding without the names (the converter
    renames every node: MatMul_0 for 'fc1')."""
    return [({k: v for k, v in layer.items() if k not in ("id", "source")},
             report["folding"].get(layer["id"])) for layer in report["layers"]]


def _inputs(shape, n=200, seed=5):
    return np.random.default_rng(seed).uniform(-2, 2, (n,) + shape).astype(np.float32)


@pytest.mark.parametrize("name, shape", [("mlp", (16,)), ("cnn", (8, 8, 3)), ("binary", (16,))])
def test_converted_model_generates_the_h5_design_exactly(converted, tmp_path, name, shape):
    """.onnx and .h5: the same layers (kinds, types, folding, requantization),
    the same outputs from both C-simulation branches, each equal to the golden
    executor, and the golden executor equal to the framework on every value
    (QKeras for the .h5, the qonnx executor for the .onnx), logits out."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    h5, onx = converted[name]
    x = _inputs(shape)
    gens = {p.suffix: generate(str(p), tmp_path / p.suffix[1:], test_data=x) for p in (h5, onx)}
    sims = {k: csim(g.out) for k, g in gens.items()}
    reports = {k: json.loads((g.out / "report.json").read_text()) for k, g in gens.items()}
    for k in gens:
        fw = assert_exact(sims[k])
        assert fw["values"] == 200 * 5 and not gens[k].graph.output_is_label
        assert reports[k]["golden_vs_framework"]["equal_values"] == fw["values"]
    assert _design(reports[".onnx"]) == _design(reports[".h5"])
    assert np.array_equal(sims[".onnx"].csim, sims[".h5"].csim)
    assert len(np.unique(sims[".onnx"].csim)) > 5
    g = gens[".onnx"].graph
    layers = [n for n in g.nodes if n.op in ("dense", "conv")]
    assert layers and all(np.any(n.params["bias"]) for n in layers)   # the biases, as integers
    assert "transpose" not in {n.op for n in g.nodes}
    if name == "cnn":
        assert g.meta["framework_layout"] == {"input": "channels_last", "output": "channels_last"}
    if name == "binary":
        assert any(t.qtype is not None and t.qtype.bipolar for t in g.tensors.values())


def test_a_lone_quantizer(converted, tmp_path):
    """A model that is one quantizer: with an input type finer than the
    quantizer, a requantization-only design, exact, as from the .h5; with
    the default input type (taken from that quantizer) nothing is left to
    compute, and both are refused alike by the dataflow mapper."""
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    h5, onx = converted["quantizer"]
    outs = []
    for p in (h5, onx):
        gen = generate(str(p), tmp_path / p.suffix[1:], input_type="ap_fixed<10,4>",
                       test_data=_inputs((16,)))
        assert [n.op for n in gen.graph.nodes] == ["input", "requant"]
        sim = csim(gen.out)
        assert_exact(sim)
        outs.append(sim.csim)
        with pytest.raises(HlsgenError, match="computes nothing"):
            generate(str(p), tmp_path / f"default_{p.suffix[1:]}")
    assert np.array_equal(*outs)


# -- hand-written QONNX graphs: what the converter does not emit, and refusals --------


def _graph(path, body, in_shape=(1, 2, 4, 4), out_shape=None):
    """x -> Quant(6 bits, scale 1/8) -> body...; body: (op, attrs, consts)
    tuples chained on the previous output, or a Quant given as ("Quant", attrs,
    [scale, zero point, bits])."""
    return qonnx_file(path, body, in_shape, 6.0, out_shape, lambda op, i: f"{op.lower()}{i}")


QUANT4 = ("Quant", {"signed": 1, "narrow": 0, "rounding_mode": "ROUND"}, [0.25, 0.0, 4.0])


def _ir_ops(path):
    from hlsgen.frontends.qonnx.reader import load_qonnx_file
    g = load_qonnx_file(path).to_ir("logits")
    return [(n.op, g.tensors[n.outputs[0]].shape) for n in g.nodes], g


def test_transpose_pairs_cancel(tmp_path):
    """NCHW -> NHWC -> (element-wise) -> NCHW inside the graph reads as the
    graph without the pair."""
    to_last = ("Transpose", {"perm": [0, 2, 3, 1]}, [])
    to_first = ("Transpose", {"perm": [0, 3, 1, 2]}, [])
    pool = ("MaxPool", {"kernel_shape": [2, 2], "strides": [2, 2]}, [])
    with_pair, _ = _ir_ops(_graph(tmp_path / "pair.onnx", [to_last, ("Relu", {}, []), QUANT4,
                                                          to_first, pool]))
    plain, _ = _ir_ops(_graph(tmp_path / "plain.onnx", [("Relu", {}, []), QUANT4, pool]))
    assert with_pair == plain
    assert plain[-1] == ("pool", (2, 2, 2))


def test_transpose_to_nhwc_at_the_output(tmp_path):
    ops, g = _ir_ops(_graph(tmp_path / "out.onnx", [QUANT4, ("Transpose", {"perm": [0, 2, 3, 1]}, [])]))
    assert g.meta["framework_layout"]["output"] == "channels_last"
    assert ops[-1] == ("requant", (4, 4, 2))


@pytest.mark.parametrize("body, words", [
    ([("Transpose", {"perm": [0, 1, 3, 2]}, [])],
     ["transpose0", "Transpose [0, 1, 3, 2] inside the graph is not supported", "in pairs"]),
    ([("Transpose", {"perm": [0, 2, 3, 1]}, []), ("MaxPool", {"kernel_shape": [2, 2]}, [])],
     ["maxpool1", "(MaxPool) reads channels-last (NHWC) data", "export the model channels-first"]),
    ([("Transpose", {"perm": [0, 2, 3, 1]}, []), ("Mul", {}, [[1.0, 2.0]])],
     ["mul1", "(Mul): a constant of shape (2,) on channels-last (NHWC) data",
      "export the model channels-first"]),
    ([("Quant", {"signed": 1, "narrow": 0, "rounding_mode": "ROUND"}, [1.0, 1.0, 1.0])],
     ["quant0", "1-bit signed Quant (binarized, +-1) with a non-zero zero point", "use zero point 0"]),
])
def test_refusals_name_the_node_and_the_fix(tmp_path, body, words):
    from hlsgen.errors import HlsgenError
    with pytest.raises(HlsgenError) as e:
        _ir_ops(_graph(tmp_path / "bad.onnx", body))
    msg = str(e.value)
    assert "\n" not in msg and all(w in msg for w in words), msg


def test_one_bit_signed_quant_is_bipolar(tmp_path):
    """A 1-bit signed Quant on activations reads as a bipolar requantization
    (qonnx computes sign(x / scale), +1 at 0, whatever `narrow` says)."""
    one_bit = ("Quant", {"signed": 1, "narrow": 1, "rounding_mode": "ROUND"}, [0.5, 0.0, 1.0])
    ops, g = _ir_ops(_graph(tmp_path / "b.onnx", [one_bit]))
    node = g.nodes[-1]
    assert node.op == "requant" and node.transient["bipolar"] and node.transient["grid"] == (0, 0, 1)
    v = np.array([[-1.0, -0.125, 0.0, 0.125, 3.0]])
    assert node.transient["fn"](v).tolist() == [[-1.0, -1.0, 1.0, 1.0, 1.0]]
