"""Issue 15's padding defects, as minimal models:
- ZeroPadding2D followed by Flatten -> QDense (on the input, and after a
  quantized convolution) was refused with internal messages;
- a signed quantizer whose values are never negative (a no-op requantization,
  dropped) left the padding before a stride-2 'same' convolution declared with
  the quantizer's type while its producer wrote the narrower one: the project
  did not compile. Stream types are now decided once per edge and checked
  when the design is built (gen/arch/dataflow/design.py check_edges)."""

import json

import numpy as np
import pytest

from conftest import assert_exact

Q4 = "quantized_bits(4,0,alpha=1)"


def pad_flatten_on_input(tf):
    from qkeras import QActivation, QDense
    inp = tf.keras.Input((6, 6, 2))
    x = QActivation("quantized_bits(4,0,alpha=1)", name="in_q")(inp)
    x = tf.keras.layers.ZeroPadding2D(1, name="zero_padding2d")(x)
    x = tf.keras.layers.Flatten()(x)
    x = QDense(5, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(x)
    return tf.keras.Model(inp, x)


def pad_flatten_on_raw_input(tf):
    from qkeras import QDense
    inp = tf.keras.Input((5, 3, 2))
    x = tf.keras.layers.ZeroPadding2D(((0, 1), (2, 1)), name="zero_padding2d")(inp)
    x = tf.keras.layers.Flatten()(x)
    x = QDense(7, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(x)
    return tf.keras.Model(inp, x)


def pad_flatten_after_conv(tf):
    """conv -> QActivation -> ZeroPadding2D -> Flatten -> QDense(28): the
    dense layer's SIMD divides its 240 inputs, not the padding's channels."""
    from qkeras import QActivation, QConv2D, QDense
    inp = tf.keras.Input((6, 7, 3))
    x = QConv2D(12, 3, kernel_quantizer=Q4, bias_quantizer=Q4, name="conv")(inp)   # 4x5x12
    x = QActivation("quantized_relu(4,2)", name="act")(x)
    x = tf.keras.layers.ZeroPadding2D(((1, 0), (0, 1)), name="pad")(x)              # 5x6x12
    x = tf.keras.layers.Flatten()(x)
    x = QDense(28, kernel_quantizer=Q4, bias_quantizer=Q4, name="fc")(x)
    x = QActivation("quantized_relu(4,2)", name="fc_act")(x)
    x = QDense(4, kernel_quantizer=Q4, bias_quantizer=Q4, name="logits")(x)
    return tf.keras.Model(inp, x)


def nonnegative_signed_then_same_stride2(tf, depthwise, hw=(4, 7), c=2, seed=1):
    """quantized_relu(3,0) -> 1x1 conv with non-negative weights and bias ->
    QActivation(quantized_bits(9,3,symmetric=1)) -> QConv2D(3, strides=2,
    padding='same'). The 1x1 layer's accumulator is already on the 9-bit
    grid and within it, so the requantization is a no-op: it is dropped and
    the accumulator's own (unsigned, narrower) type reaches the padding."""
    from qkeras import QActivation, QConv2D, QDepthwiseConv2D
    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input(hw + (c,))
    x = QActivation("quantized_relu(3,0)", name="in_q")(inp)
    q = "quantized_bits(5,2,alpha=1)"      # weights on a 1/4 grid: the 1x1 sum is at 2^-5
    if depthwise:
        one = QDepthwiseConv2D(1, depthwise_quantizer=q, bias_quantizer=q, name="one")
    else:
        one = QConv2D(c, 1, kernel_quantizer=q, bias_quantizer=q, name="one")
    x = one(x)
    x = QActivation("quantized_bits(9,3,symmetric=1)", name="q9")(x)
    x = QConv2D(3, 3, strides=2, padding="same", kernel_quantizer=Q4, bias_quantizer=Q4,
                name="down")(x)
    model = tf.keras.Model(inp, x)
    rng = np.random.default_rng(seed)
    for v in one.weights:     # non-negative, with odd quarters (frac 2 exactly)
        codes = rng.integers(0, 8, v.shape)
        codes.flat[0] = 3
        v.assign((codes / 4).astype(np.float32))
    return model


@pytest.mark.parametrize("builder", [pad_flatten_on_input, pad_flatten_on_raw_input,
                                     pad_flatten_after_conv])
def test_zero_padding_before_flatten_exact(tf, save_model, gen_and_sim, builder):
    tf.keras.utils.set_random_seed(5)
    from conftest import randomize_biases
    model = randomize_biases(builder(tf), seed=5)
    gen, sim = gen_and_sim(save_model(model), n_vectors=100)
    assert_exact(sim)
    assert sim.synthesis.frames == 100 and sim.synthesis.mismatches == 0
    assert gen.lint.violations == []
    report = json.loads((gen.out / "report.json").read_text())
    pads = [l for l in report["layers"] if l["kind"] == "pad"]
    assert len(pads) == 1 and pads[0]["in"]["type"] == pads[0]["out"]["type"]


@pytest.mark.parametrize("depthwise, hw", [(True, (4, 7)), (False, (4, 7)), (True, (7, 7)),
                                           (False, (5, 8))])
def test_dropped_requant_keeps_one_type_per_edge(tf, save_model, gen_and_sim, depthwise, hw):
    model = nonnegative_signed_then_same_stride2(tf, depthwise, hw)
    gen, sim = gen_and_sim(save_model(model), n_vectors=100)
    assert_exact(sim)
    assert sim.synthesis.frames == 100 and sim.synthesis.mismatches == 0
    report = json.loads((gen.out / "report.json").read_text())
    kinds = [l["kind"] for l in report["layers"]]
    assert "requant" not in kinds                 # the no-op quantizer was dropped
    pad = next(l for l in report["layers"] if l["kind"] == "pad")
    assert pad["in"]["type"] == pad["out"]["type"]
    assert pad["in"]["type"].startswith("ap_uint<")   # the narrower type, on both sides
    ir_pad = next(n for n in gen.graph.nodes if n.op == "pad")
    assert (gen.graph.tensors[ir_pad.outputs[0]].qtype.cpp ==
            gen.graph.tensors[ir_pad.inputs[0]].qtype.cpp == pad["in"]["type"])


def test_check_edges_refuses_disagreeing_stream_types():
    """The design check names the edge: a pass-through kernel writing another
    lane type than it reads, and a stream whose type is not its tensor's."""
    from hlsgen.errors import InternalError
    from hlsgen.arch.dataflow.design import Design, Kernel, Stream, check_edges, edge_problems
    from hlsgen.ir.qtype import QType
    u8, s9 = QType(8, False, 5), QType(9, True, 5)
    a, b = Stream("in_s", u8, 2, 56), Stream("s1", s9, 2, 90)
    pad = Kernel("pad", "down_pad", "down_pad", [a], [b], {})
    design = Design("m", [pad], a, b, 5)
    problems = edge_problems(design)
    assert problems == ["kernel 'down_pad' (pad) reads ap_uint<8> lanes but writes ap_int<9>"]
    with pytest.raises(InternalError, match="stream types disagree"):
        check_edges(design)
    b.qtype = u8
    assert edge_problems(design) == []


def test_lint_checks_every_edge_type(tf, save_model, tmp_path):
    """hlsgen lint (streams rule) checks each edge of the written project:
    the declared word, its producer's output type and its consumer's input
    type (report.json) agree; the issue's disagreement is reported."""
    import shutil
    from hlsgen.flow import generate
    from hlsgen.lint import lint_project
    gen = generate(str(save_model(nonnegative_signed_then_same_stride2(tf, True))),
                   tmp_path / "prj", n_vectors=10)
    row = next(r for r in gen.lint.rows if r.rule == "streams")
    assert row.status == "pass" and "5 edges" in row.detail
    bad = tmp_path / "bad"
    shutil.copytree(gen.out, bad)
    report = json.loads((bad / "report.json").read_text())
    pad = next(l for l in report["layers"] if l["kind"] == "pad")
    stream = next(s for s in report["streams"] if s["kernel"] == pad["source"])
    stream["type"] = pad["out"]["type"] = "ap_int<9>"      # what the defect declared
    (bad / "report.json").write_text(json.dumps(report))
    messages = [v.message for v in lint_project(bad).violations if v.rule == "streams"]
    assert any(f"kernel {pad['id']} (pad) reads {pad['in']['type']} lanes but writes ap_int<9>"
               in m for m in messages)
    assert any(f"stream {stream['name']} is declared ap_uint<" in m for m in messages)
    assert any("window reads it as" in m for m in messages)
