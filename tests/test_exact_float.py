"""Issue 17, item 1: float operations that no quantizer follows are proven
exact on the codes they start from (gen/ir/dyadic.py,
gen/passes/exact_float.py) and become integer arithmetic on the chip, or are
refused naming the operation that rounds."""

import numpy as np
import pytest

from conftest import assert_exact
from qonnx_graphs import qonnx_graph

onnx = pytest.importorskip("onnx")

N_IN = 8


# -- exact numbers --------------------------------------------------------------

def test_dyadic_forms_are_exact():
    from fractions import Fraction
    from hlsgen.ir.dyadic import frac_bits, odd_form
    rng = np.random.default_rng(0)
    for v in np.concatenate([rng.normal(size=500), [0.75, 3.0, 0.125, 1e-30, 12.0]]).astype(np.float32):
        m, d = odd_form(v)
        assert Fraction(m) / Fraction(2) ** d == Fraction(float(v))
        assert m % 2 == 1 or m == 0
        assert abs(m) < 2**24
    assert frac_bits(Fraction(3, 8)) == 3 and frac_bits(Fraction(1, 3)) is None


def test_scale_products_stay_exact():
    """A layer's scale is its input's times its weights': two float32 scales
    multiply exactly in float64; anything longer is caught, not rounded."""
    from fractions import Fraction
    from hlsgen.errors import InternalError
    from hlsgen.ir.dyadic import exact_product
    rng = np.random.default_rng(5)
    a = rng.uniform(0.01, 2, 200).astype(np.float32)
    b = rng.uniform(0.01, 2, 200).astype(np.float32)
    p = exact_product(a, b)
    assert all(Fraction(float(x)) * Fraction(float(y)) == Fraction(float(z)) for x, y, z in zip(a, b, p))
    with pytest.raises(InternalError):
        exact_product(1 / 3, 1 / 7)     # two float64 values: 106 bits


def test_fits_float32_agrees_with_float32():
    """The representability test behind every proof, against float32 itself."""
    from hlsgen.ir.dyadic import fits_float32
    rng = np.random.default_rng(1)
    for _ in range(3000):
        k = int(rng.integers(1, 2**26))
        f = int(rng.integers(-20, 40))
        value = k * 2.0**-f
        if fits_float32(k, f):
            assert float(np.float32(value)) == value
        elif k.bit_length() - (k & -k).bit_length() + 1 > 24:    # more than 24 significant bits
            assert float(np.float32(value)) != value


def _random_chain(rng, channels):
    """Steps of Add/Mul by dyadic constants (per channel or not) and ReLU,
    with the float32 function the framework would run."""
    from hlsgen.ir.dyadic import fractions
    steps = []
    for _ in range(int(rng.integers(1, 4))):
        kind = rng.choice(["Add", "Mul", "Relu"])
        if kind == "Relu":
            steps.append({"name": "r", "kind": "Relu", "affine": None,
                          "run": lambda y: np.maximum(y, np.float32(0))})
            continue
        n = channels if rng.random() < 0.5 else 1
        c = (rng.integers(-15, 16, n) * 2.0 ** rng.integers(-4, 3, n)).astype(np.float32)
        if kind == "Mul":
            c[c == 0] = 0.5
        fc = fractions(c)
        zero = fractions(np.zeros(n))
        one = fractions(np.ones(n))
        affine = (one, fc) if kind == "Add" else (fc, zero)
        steps.append({"name": kind.lower(), "kind": kind, "affine": affine,
                      "run": (lambda y, c=c: (y + c).astype(np.float32)) if kind == "Add"
                      else (lambda y, c=c: (y * c).astype(np.float32))})
    return steps


def test_chains_proven_exact_equal_float32_on_every_code():
    """Property: whenever chain_requant accepts a chain, its integer
    multiply-add gives, on every code of the range, the value float32
    computes (random chains, types and ranges)."""
    from hlsgen.errors import HlsgenError
    from hlsgen.ir.intmath import apply_requant
    from hlsgen.ir.qtype import QType
    from hlsgen.passes.exact_float import chain_requant
    rng = np.random.default_rng(2)
    accepted = refused = 0
    for _ in range(300):
        ch = int(rng.integers(1, 4))
        qt = QType(int(rng.integers(4, 20)), True, int(rng.integers(0, 6)))
        lo = int(rng.integers(max(qt.lo, -3000), 1))
        hi = int(rng.integers(0, min(qt.hi, 3000) + 1))
        steps = _random_chain(rng, ch)
        try:
            rq, thr, (frac, out_lo, out_hi) = chain_requant(steps, qt, lo, hi, ch, "test")
        except HlsgenError as e:
            assert "significant bits" in str(e) or "clamps each channel" in str(e), e
            refused += 1
            continue
        accepted += 1
        codes = np.arange(lo, hi + 1, dtype=np.int64)
        y = np.repeat(qt.values(codes)[:, None], ch, 1).astype(np.float32)
        for s in steps:
            y = s["run"](y)
        got = apply_requant(np.repeat(codes[:, None], ch, 1), rq, thr)
        assert np.array_equal(got.astype(np.float64) * 2.0**-frac, y.astype(np.float64))
        assert got.min() >= out_lo and got.max() <= out_hi
    assert accepted > 150, (accepted, refused)


def test_a_framework_that_rounds_differently_is_caught():
    """The proof assumes IEEE float32 operations; a framework function that
    does not compute them is found on the sampled codes and refused."""
    from hlsgen.errors import HlsgenError
    from hlsgen.ir.dyadic import fractions
    from hlsgen.ir.qtype import QType
    from hlsgen.passes.exact_float import chain_requant
    half = fractions(np.array([0.5]))
    steps = [{"name": "odd_mul", "kind": "Mul", "affine": (half, fractions(np.zeros(1))),
              "run": lambda y: np.floor(y * np.float32(0.5))}]     # not x * 0.5
    with pytest.raises(HlsgenError, match=r"'odd_mul' \(Mul\): the framework computes .* where "
                                          r"the exact value is .*add a quantizer after it"):
        chain_requant(steps, QType(8, True, 0), -128, 127, 1, "layer 'x'")


def test_relus_that_clamp_channels_differently_become_thresholds():
    """ReLU then per-channel offsets: each channel clamps at its own value,
    which the multiplier form's shared clamp cannot hold: per-channel
    thresholds of the proven function instead, equal on every code."""
    from hlsgen.ir.dyadic import fractions
    from hlsgen.ir.intmath import apply_requant
    from hlsgen.ir.qtype import QType
    from hlsgen.passes.exact_float import chain_requant
    c = np.array([1.0, -1.0], np.float32)
    steps = [{"name": "relu1", "kind": "Relu", "affine": None, "run": lambda y: np.maximum(y, 0)},
             {"name": "shift1", "kind": "Add", "affine": (fractions(np.ones(2)), fractions(c)),
              "run": lambda y: (y + c).astype(np.float32)}]
    rq, thr, (frac, lo, hi) = chain_requant(steps, QType(8, True, 0), -128, 127, 2, "layer 'x'")
    assert rq["kind"] == "thresholds" and thr.shape[0] == 2
    codes = np.repeat(np.arange(-128, 128)[:, None], 2, 1)
    want = np.maximum(codes, 0) + c
    assert np.array_equal(apply_requant(codes, rq, thr) * 2.0**-frac, want)


# -- models ---------------------------------------------------------------------

def _mlp(path, tail, hidden=6, out=3):
    """x -> Quant(1/8, 8 bits) -> MatMul (4-bit weights, scale 1/4) -> `tail`
    nodes on "acc" ending in "y"."""
    rng = np.random.default_rng(3)
    consts = {"s": 0.125, "z": 0.0, "b8": 8.0, "b4": 4.0, "ws": 0.25,
              "w1": rng.integers(-8, 8, (N_IN, hidden)) * 0.25,
              "w2": rng.integers(-8, 8, (hidden, out)) * 0.25}
    nodes = [("Quant", ["x", "s", "z", "b8"], "q", {"name": "in_quant"}),
             ("Quant", ["w1", "ws", "z", "b4"], "w1q", {"name": "w1_quant"}),
             ("MatMul", ["q", "w1q"], "acc", {"name": "fc1"})]
    for op, inputs, output, name, c in tail:
        for k, v in c.items():
            consts[k] = v
        nodes.append((op, inputs, output, {"name": name}))
    return qonnx_graph(path, nodes, consts, (1, N_IN), "y")


def _inputs(n=200, seed=4):
    return np.random.default_rng(seed).uniform(-8, 8, (n, N_IN)).astype(np.float32)


def _exact_chains(gen):
    return [n for n in gen.graph.nodes if n.op == "requant" and "exact, before" in n.attrs.get("source", "")]


def test_output_scale_and_offset_run_on_the_chip_exactly(tmp_path):
    """acc * 0.75 + 0.5 at the output: constants float32 holds on the
    accumulator's grid: one integer multiply-add on the chip, no host tail,
    logits equal the qonnx executor's on every output."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = _mlp(tmp_path / "m.onnx", [("Mul", ["acc", "k"], "t", "scale1", {"k": 0.75}),
                                      ("Add", ["t", "off"], "y", "offset1", {"off": 0.5})])
    gen = generate(str(path), tmp_path / "prj", test_data=_inputs())
    chains = _exact_chains(gen)
    assert len(chains) == 1 and chains[0].attrs["requant"]["kind"] == "multiply"
    assert chains[0].attrs["requant"]["shift"] == 0 and chains[0].attrs["requant"]["x"] == [[]]
    assert not gen.graph.meta.get("host_tail")
    assert gen.exact_values == gen.total_values == 200 * 6
    assert_exact(csim(gen.out))


def test_a_chain_before_a_layer_is_integer(tmp_path):
    """acc * 0.75 -> per-channel offsets -> ReLU -> MatMul: the second layer
    reads the chain's exact integer codes (one multiply-add per channel)."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    offsets = (np.arange(6) - 3) * 0.25
    path = _mlp(tmp_path / "m.onnx", [
        ("Mul", ["acc", "k"], "t1", "scale1", {"k": 0.75}),
        ("Add", ["t1", "off"], "t2", "offset1", {"off": offsets.reshape(1, 6)}),
        ("Relu", ["t2"], "t3", "relu1", {}),
        ("Quant", ["w2", "ws", "z", "b4"], "w2q", "w2_quant", {}),
        ("MatMul", ["t3", "w2q"], "y", "fc2", {})])
    gen = generate(str(path), tmp_path / "prj", test_data=_inputs())
    chain = _exact_chains(gen)
    assert len(chain) == 1 and chain[0].attrs["requant"]["kind"] == "multiply"
    assert len(chain[0].attrs["requant"]["b"]) == 6 and chain[0].attrs["requant"]["lo"] == 0
    assert gen.exact_values == gen.total_values == 200 * 3
    assert_exact(csim(gen.out))


@pytest.mark.parametrize("op, k, words", [
    ("Mul", 0.1, ["'scale1' (Mul)", "needs", "significant bits", "float32 rounds",
                  "reaches 'fc2' without a quantizer", "QuantIdentity"]),
    ("Mul", 1.0 + 2.0**-20, ["'scale1' (Mul)", "significant bits", "QuantIdentity"]),
    ("Div", 3.0, ["'scale1' (Div)", "not fixed-point numbers", "reaches 'fc2' without a quantizer",
                  "0.75"])])
def test_a_chain_that_rounds_is_refused(tmp_path, op, k, words):
    """0.1 is a float32 with a 24-bit odd integer: its products with the
    accumulator need more bits than float32 has, so the framework's values
    are not the exact ones; x / 3 is not a binary fraction at all: refused
    naming the node, nothing written."""
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    path = _mlp(tmp_path / "m.onnx", [
        (op, ["acc", "k"], "t1", "scale1", {"k": k}),
        ("Quant", ["w2", "ws", "z", "b4"], "w2q", "w2_quant", {}),
        ("MatMul", ["t1", "w2q"], "y", "fc2", {})])
    with pytest.raises(HlsgenError) as e:
        generate(str(path), tmp_path / "prj", test_data=_inputs(8))
    assert all(w in str(e.value) for w in words), str(e.value)
    assert "\n" not in str(e.value) and not (tmp_path / "prj").exists()


def _two_branches(path, join, quantized=False, scales=(0.375, 0.625)):
    """x -> Quant(1/8) -> two 4-bit quantizers of float scales `scales` ->
    Add or Concat [-> a 4-bit quantizer of scale 1/4] -> output."""
    consts = {"s": 0.125, "z": 0.0, "b8": 8.0, "b4": 4.0, "sa": scales[0], "sb": scales[1],
              "so": 0.25}
    nodes = [("Quant", ["x", "s", "z", "b8"], "q", {"name": "in_quant"}),
             ("Quant", ["q", "sa", "z", "b4"], "a", {"name": "quant_a"}),
             ("Quant", ["q", "sb", "z", "b4"], "b", {"name": "quant_b"}),
             (join, ["a", "b"], "j", {"name": "join1", **({"axis": 1} if join == "Concat" else {})})]
    if quantized:
        nodes.append(("Quant", ["j", "so", "z", "b4"], "y", {"name": "out_quant"}))
    else:
        nodes.append(("Identity", ["j"], "y", {"name": "out"}))
    return qonnx_graph(path, nodes, consts, (1, N_IN), "y")


@pytest.mark.parametrize("output", ["logits", "argmax"])
def test_scaled_add_that_float32_holds_reaches_the_output(tmp_path, output):
    """Scales 3/8 and 5/8 (odd integers 3 and 5): every product and sum is a
    float32, so the exact integer sum is the framework's, as logits or as the
    arg-max over them."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = _two_branches(tmp_path / "m.onnx", "Add")
    gen = generate(str(path), tmp_path / "prj", test_data=_inputs(), output=output)
    add = next(n for n in gen.graph.nodes if n.op == "add")
    assert add.attrs["multipliers"] == [3, 5] and add.attrs["float32_exact"]
    assert "exact_sum_for" not in add.attrs
    assert gen.exact_values == gen.total_values == 200 * (N_IN if output == "logits" else 1)
    assert_exact(csim(gen.out))


def test_concat_of_two_float_scales_feeding_a_quantizer(tmp_path):
    """Channels of scales 3/8 and 5/8 side by side, then one quantizer: its
    requantization is per channel, exact."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = _two_branches(tmp_path / "m.onnx", "Concat", quantized=True)
    gen = generate(str(path), tmp_path / "prj", test_data=_inputs())
    assert gen.exact_values == gen.total_values == 200 * 2 * N_IN
    assert_exact(csim(gen.out))


def test_a_node_reading_one_tensor_twice_is_named(tmp_path):
    """Mul(x, x): qonnx's clean-up renames only one of the repeated inputs;
    the reader restores it and refuses the product of two activations by
    name (it used to say the tensor had no producer)."""
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    path = qonnx_graph(tmp_path / "m.onnx",
                       [("Quant", ["x", "s", "z", "b8"], "q", {"name": "in_quant"}),
                        ("Mul", ["q", "q"], "y", {"name": "square1"})],
                       {"s": 0.125, "z": 0.0, "b8": 8.0}, (1, N_IN), "y")
    with pytest.raises(HlsgenError, match=r"node 'square1': Mul of two activations is not "
                                          r"supported; hlsgen combines an activation with a constant"):
        generate(str(path), tmp_path / "prj", test_data=_inputs(4))
    assert not (tmp_path / "prj").exists()


def test_a_rounding_scaled_add_behind_a_max_pool_is_still_refused(tmp_path):
    """The float32 sum's check travels with the pending rounding through a
    max-pool (which commutes with it) to the add that made it."""
    from hlsgen.errors import HlsgenError
    from hlsgen.flow import generate
    consts = {"s": 0.125, "z": 0.0, "b16": 16.0, "sa": 0.1, "sb": 0.3}
    nodes = [("Quant", ["x", "s", "z", "b16"], "q", {"name": "in_quant"}),
             ("Quant", ["q", "sa", "z", "b16"], "a", {"name": "quant_a"}),
             ("Quant", ["q", "sb", "z", "b16"], "b", {"name": "quant_b"}),
             ("Add", ["a", "b"], "j", {"name": "join1"}),
             ("MaxPool", ["j"], "y", {"name": "pool1", "kernel_shape": [2, 2], "strides": [2, 2]})]
    path = qonnx_graph(tmp_path / "m.onnx", nodes, consts, (1, 2, 4, 4), "y")
    x = np.random.default_rng(0).uniform(-4000, 4000, (8, 2, 4, 4)).astype(np.float32)
    with pytest.raises(HlsgenError, match=r"layer 'join1' \(add\): the framework adds its two "
                                          r"branches in float32, which rounds here"):
        generate(str(path), tmp_path / "prj", test_data=x)
    assert not (tmp_path / "prj").exists()


def test_an_output_chain_float32_rounds_runs_on_the_host(tmp_path):
    """acc * 2047/2048 (a short constant) on an accumulator whose products
    need 26 bits: not exact on the chip, so the host takes it, as the
    framework computes it, instead of a refusal."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    consts = {"s": 0.125, "z": 0.0, "b10": 10.0, "b4": 4.0, "ws": 0.25,
              "w1": np.full((N_IN, 1), -2.0), "k": 2047 / 2048}
    nodes = [("Quant", ["x", "s", "z", "b10"], "q", {"name": "in_quant"}),
             ("Quant", ["w1", "ws", "z", "b4"], "w1q", {"name": "w1_quant"}),
             ("MatMul", ["q", "w1q"], "acc", {"name": "fc1"}),
             ("Mul", ["acc", "k"], "y", {"name": "scale1"})]
    path = qonnx_graph(tmp_path / "m.onnx", nodes, consts, (1, N_IN), "y")
    x = np.random.default_rng(3).uniform(-64, 64, (100, N_IN)).astype(np.float32)
    gen = generate(str(path), tmp_path / "prj", test_data=x)
    assert gen.graph.meta["output_chain"] == "host"
    assert gen.graph.meta["host_tail"]["ops"] == ["scale1 (Mul)"]
    assert not _exact_chains(gen)
    assert gen.exact_values == gen.total_values == 100
    assert_exact(csim(gen.out))


@pytest.mark.parametrize("off, input_type", [(-0.5, "ap_ufixed<8,0>"), (64.0, "ap_fixed<6,3>")])
def test_preprocessing_folded_into_a_convolution(tmp_path, off, input_type):
    """x + c before a 3x3 convolution and a max-pool: folded into the
    convolution's bias; the pool after it reads the convolution's new
    accumulator type (one type per edge); exact in both C branches."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    rng = np.random.default_rng(2)
    consts = {"off": off, "z": 0.0, "b4": 4.0, "ws": 0.25,
              "w1": rng.integers(-8, 8, (4, 3, 3, 3)) * 0.25}
    nodes = [("Add", ["x", "off"], "t2", {"name": "offset1"}),
             ("Quant", ["w1", "ws", "z", "b4"], "w1q", {"name": "w1_quant"}),
             ("Conv", ["t2", "w1q"], "c", {"name": "conv1", "kernel_shape": [3, 3]}),
             ("MaxPool", ["c"], "y", {"name": "pool1", "kernel_shape": [2, 2], "strides": [2, 2]})]
    path = qonnx_graph(tmp_path / "m.onnx", nodes, consts, (1, 3, 6, 6), "y")
    lo, hi, scale = (0, 256, 256) if off < 0 else (-32, 32, 8)
    x = (rng.integers(lo, hi, (40, 3, 6, 6)) / scale).astype(np.float32)
    gen = generate(str(path), tmp_path / "prj", test_data=x, input_type=input_type)
    conv = next(n for n in gen.graph.nodes if n.op == "conv")
    pool = next(n for n in gen.graph.nodes if n.op == "pool")
    assert conv.inputs == gen.graph.inputs and "preprocessing" in conv.attrs
    assert gen.graph.tensors[pool.outputs[0]].qtype == gen.graph.tensors[conv.outputs[0]].qtype
    assert gen.exact_values == gen.total_values == 40 * 4 * 2 * 2
    assert_exact(csim(gen.out))
