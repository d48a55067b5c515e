"""The IR, the golden executor and the passes on graphs built by hand (unit
tier: no framework, no compiler). A dense and a convolution layer run by
hlsgen.ir.golden.run equal a NumPy computation written here; the passes type
every tensor and size each accumulator so that no partial sum, in any order
of the additions, can overflow it, and no narrower type would do."""

from __future__ import annotations

import itertools

import numpy as np
import pytest

from hlsgen.errors import HlsgenError
from hlsgen.ir.golden import run
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.ir.qtype import QType
from hlsgen.passes import run_passes


class Builder:
    """A chain of IR nodes, each reading the previous one's output, the way
    the frontends build them (hlsgen.frontends.qkeras.reader._Reader.node)."""

    def __init__(self, shape, input_type: QType):
        self.input_type = input_type
        self.tensors = {"input": Tensor("input", tuple(shape))}
        self.nodes = [Node("input", "input", [], ["input"])]
        self.last = "input"

    def node(self, op, name, shape, attrs=None, params=None, transient=None):
        self.tensors[name] = Tensor(name, tuple(int(d) for d in shape))
        self.nodes.append(Node(op, name, [self.last], [name], dict(attrs or {}),
                               dict(params or {}), dict(transient or {})))
        self.last = name
        return name

    def graph(self) -> Graph:
        return Graph(self.nodes, self.tensors, ["input"], [self.last],
                     {"input_qtype": self.input_type.to_dict()})


def relu_quantizer(bits: int, frac: int):
    """A quantized ReLU as a framework computes it (values -> values on the
    grid, rounding half to even), and its grid (frac, lo code, hi code)."""
    top = (1 << bits) - 1

    def fn(v):
        return (np.clip(np.round(np.asarray(v, np.float64) * 2.0**frac), 0, top) * 2.0**-frac
                ).astype(np.float32)
    return fn, (frac, 0, top)


def all_codes(t: QType, n: int) -> np.ndarray:
    """Every vector of n codes of type t: [(hi - lo + 1)**n, n]."""
    return np.array(list(itertools.product(range(t.lo, t.hi + 1), repeat=n)), dtype=np.int64)


def brute_force_sums(x: np.ndarray, w: np.ndarray, b: np.ndarray):
    """(lowest, highest) partial sum, and (lowest, highest) final sum, of
    b + sum_i x_i * w_i over the input vectors x [M, n], for every order of
    the additions: a partial sum is the sum of any subset of the terms (the
    products and the bias; the kernels' adder trees add products before the
    bias). w [n, out] and b [out] at the accumulator's binary point."""
    n = w.shape[0]
    lo = hi = 0                                          # the empty sum
    for k in range(1, n + 1):
        for subset in itertools.combinations(range(n), k):
            s = x[:, list(subset)] @ w[list(subset)]
            lo, hi = min(lo, s.min(), (s + b).min()), max(hi, s.max(), (s + b).max())
    lo, hi = min(lo, b.min()), max(hi, b.max())
    final = x @ w + b
    return (int(lo), int(hi)), (int(final.min()), int(final.max()))


def assert_holds(t: QType, lo: int, hi: int, what: str):
    """t holds every code in [lo, hi], and one bit less would not."""
    assert t.lo <= lo and hi <= t.hi, f"{what}: {t.cpp} does not hold [{lo}, {hi}]"
    narrower = QType(t.bits - 1, t.signed, t.frac)
    assert t.bits == 1 or not (narrower.lo <= lo and hi <= narrower.hi), \
        f"{what}: {t.cpp} is wider than [{lo}, {hi}] needs"


def assert_every_tensor_typed(graph: Graph):
    for t in graph.tensors.values():
        assert t.qtype is not None and t.lo is not None and t.hi is not None, t
        assert t.qtype.lo <= t.lo <= t.hi <= t.qtype.hi, t


# --- a dense network ------------------------------------------------------------

X_DENSE = QType(3, True, 1)          # codes -4..3: values -2 .. 1.5
W1_FRAC, B1_FRAC = 3, 6              # accumulator at frac max(1 + 3, 6) = 6
W2_FRAC, B2_FRAC = 1, 2
ACT_BITS, ACT_FRAC = 4, 2


def dense_params(seed=0):
    rng = np.random.default_rng(seed)
    w1 = rng.integers(-7, 8, (5, 4))
    w1[:, 0] = np.abs(w1[:, 0])        # a column of positive weights: live ReLU outputs
    b1 = rng.integers(-40, 41, 4)
    w2 = rng.integers(-3, 4, (4, 3))
    b2 = rng.integers(-6, 7, 3)
    return w1, b1, w2, b2


def dense_graph(w1, b1, w2, b2) -> Graph:
    """input [5] -> fc1 (dense 4) -> act1 (quantized ReLU, 4 bits) -> fc2 (dense 3)."""
    g = Builder((5,), X_DENSE)
    fn, grid = relu_quantizer(ACT_BITS, ACT_FRAC)
    g.node("dense", "fc1", (4,), {"w_frac": W1_FRAC, "b_frac": B1_FRAC},
           {"weights": w1.copy(), "bias": b1.copy()})
    g.node("requant", "act1", (4,), {"source": "hand-made quantized_relu"},
           transient={"fn": fn, "grid": grid, "per_channel": False})
    g.node("dense", "fc2", (3,), {"w_frac": W2_FRAC, "b_frac": B2_FRAC},
           {"weights": w2.copy(), "bias": b2.copy()})
    return run_passes(g.graph())


def dense_reference(x_codes, w1, b1, w2, b2):
    """The network in float64 on values (exact: every value here is a short
    dyadic fraction): fc1's values, act1's codes, fc2's values."""
    x = x_codes * 2.0**-X_DENSE.frac
    h = x @ (w1 * 2.0**-W1_FRAC) + b1 * 2.0**-B1_FRAC
    r = np.clip(np.round(h * 2**ACT_FRAC), 0, (1 << ACT_BITS) - 1).astype(np.int64)
    y = (r * 2.0**-ACT_FRAC) @ (w2 * 2.0**-W2_FRAC) + b2 * 2.0**-B2_FRAC
    return h, r, y


def test_golden_dense_equals_numpy():
    params = dense_params()
    graph = dense_graph(*params)
    x = all_codes(X_DENSE, 5)                        # every input: 8**5 vectors
    out = run(graph, x, trace=True)
    h, r, y = dense_reference(x, *params)
    t = graph.tensors
    assert t["fc1"].qtype.frac == max(X_DENSE.frac + W1_FRAC, B1_FRAC)
    assert np.array_equal(t["fc1"].qtype.values(out["fc1"]), h)
    assert np.array_equal(out["act1"], r)
    assert np.array_equal(t["fc2"].qtype.values(out["fc2"]), y)
    assert graph.outputs == ["fc2"] and np.array_equal(run(graph, x)["fc2"], out["fc2"])
    assert len(np.unique(r)) > 8 and len(np.unique(out["fc2"])) > 50    # not vacuous


def test_passes_type_every_tensor_and_size_dense_accumulators():
    w1, b1, w2, b2 = params = dense_params()
    graph = dense_graph(*params)
    assert_every_tensor_typed(graph)
    t = graph.tensors
    # fc1 over every input vector, weights and bias at the accumulator's point.
    f1 = max(X_DENSE.frac + W1_FRAC, B1_FRAC)
    partial, final = brute_force_sums(all_codes(X_DENSE, 5), w1 << (f1 - X_DENSE.frac - W1_FRAC),
                                      b1 << (f1 - B1_FRAC))
    assert t["fc1"].qtype.frac == f1 and t["fc1"].qtype.signed
    assert_holds(t["fc1"].qtype, *partial, "fc1's accumulator")
    assert (t["fc1"].lo, t["fc1"].hi) == final
    # act1: codes of the ReLU of every value fc1 can take.
    _, r, _ = dense_reference(all_codes(X_DENSE, 5), *params)
    assert (t["act1"].lo, t["act1"].hi) == (r.min(), r.max())
    assert t["act1"].qtype == QType(ACT_BITS, False, ACT_FRAC)
    # fc2 over every code vector act1 can hold.
    f2 = max(ACT_FRAC + W2_FRAC, B2_FRAC)
    x2 = all_codes(QType(ACT_BITS, False, 0), 4)
    x2 = x2[(x2 >= r.min()).all(1) & (x2 <= r.max()).all(1)]
    partial, final = brute_force_sums(x2, w2 << (f2 - ACT_FRAC - W2_FRAC), b2 << (f2 - B2_FRAC))
    assert_holds(t["fc2"].qtype, *partial, "fc2's accumulator")
    assert (t["fc2"].lo, t["fc2"].hi) == final


def test_a_partial_sum_can_need_more_bits_than_the_final_sums():
    """Products of +7 with inputs 0..15 and a bias of -100: the final sums
    lie in [-100, 110] (8 bits), the products alone reach 210 before the bias
    is added (9 bits). The accumulator follows the partial sums."""
    w, b = np.array([[7], [7]]), np.array([-100])
    g = Builder((2,), QType(4, False, 0))
    g.node("dense", "fc", (1,), {"w_frac": 0, "b_frac": 0}, {"weights": w, "bias": b})
    graph = run_passes(g.graph())
    assert list(run(graph, np.array([[15, 15], [0, 0], [15, 0]]))["fc"][:, 0]) == [110, -100, 5]
    partial, final = brute_force_sums(all_codes(QType(4, False, 0), 2), w, b)
    assert (partial, final) == ((-100, 210), (-100, 110))
    t = graph.tensors["fc"]
    assert (t.lo, t.hi) == final
    assert_holds(t.qtype, *partial, "fc's accumulator")
    assert t.qtype == QType(9, True, 0)


def test_the_accumulator_check_can_fail():
    """assert_holds rejects an accumulator one bit too narrow, and one bit too wide."""
    w1, b1, w2, b2 = params = dense_params()
    acc = dense_graph(*params).tensors["fc1"].qtype
    f1 = max(X_DENSE.frac + W1_FRAC, B1_FRAC)
    partial, _ = brute_force_sums(all_codes(X_DENSE, 5), w1 << (f1 - X_DENSE.frac - W1_FRAC),
                                  b1 << (f1 - B1_FRAC))
    with pytest.raises(AssertionError, match="does not hold"):
        assert_holds(QType(acc.bits - 1, acc.signed, acc.frac), *partial, "narrow")
    with pytest.raises(AssertionError, match="wider than"):
        assert_holds(QType(acc.bits + 1, acc.signed, acc.frac), *partial, "wide")


def huge_dense(n_inputs: int) -> Graph:
    """32-bit inputs times weights of 2**29: partial sums down to -n * 2**60."""
    g = Builder((n_inputs,), QType(32, True, 0))
    g.node("dense", "huge_fc", (2,), {"w_frac": 0, "b_frac": 0},
           {"weights": np.full((n_inputs, 2), 1 << 29), "bias": np.zeros(2, np.int64)})
    return g.graph()


def test_an_accumulator_over_62_bits_is_refused_naming_the_layer():
    with pytest.raises(HlsgenError, match=r"layer 'huge_fc': its accumulator needs 64 bits"):
        run_passes(huge_dense(8))


def test_bounds_beyond_int64_are_refused_too():
    # -16 * 2**60 wraps to 0 in int64: the bounds are Python integers there.
    with pytest.raises(HlsgenError, match=r"layer 'huge_fc': its accumulator needs 65 bits"):
        run_passes(huge_dense(16))


# --- a convolution ----------------------------------------------------------------

X_CONV = QType(3, False, 1)          # codes 0..7: values 0 .. 3.5
CW_FRAC, CB_FRAC = 2, 1              # accumulator at frac max(1 + 2, 1) = 3
H, W, C, KH, KW = 5, 6, 2, 3, 2
# The golden executor computes convolutions of 16+ channels and 8+ output
# columns as per-tap products, others through window matrices: both shapes.
WIDE = (6, 21, 16, 3, 3)


def conv_graph(depthwise: bool, sh: int, sw: int, seed=1, shape=(H, W, C, KH, KW)):
    h, wd, c, kh, kw = shape
    rng = np.random.default_rng(seed)
    cout = c if depthwise else 3
    rows = kh * kw * (1 if depthwise else c)
    w = rng.integers(-5, 6, (rows, cout))                # rows in window order (ky, kx, c)
    b = rng.integers(-9, 10, cout)
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    g = Builder((h, wd, c), X_CONV)
    g.node("conv", "conv", (oh, ow, cout),
           {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "depthwise": depthwise,
            "w_frac": CW_FRAC, "b_frac": CB_FRAC},
           {"weights": w.copy(), "bias": b.copy()})
    return run_passes(g.graph()), w, b


def conv_reference(x, w, b, depthwise, sh, sw, shape=(H, W, C, KH, KW)):
    """Codes at the accumulator's binary point, by loops over the windows."""
    h, wd, c, kh, kw = shape
    f = max(X_CONV.frac + CW_FRAC, CB_FRAC)
    wa, ba = w << (f - X_CONV.frac - CW_FRAC), b << (f - CB_FRAC)
    n = len(x)
    oh, ow = (h - kh) // sh + 1, (wd - kw) // sw + 1
    out = np.zeros((n, oh, ow, wa.shape[1]), np.int64)
    for oy in range(oh):
        for ox in range(ow):
            win = x[:, oy * sh:oy * sh + kh, ox * sw:ox * sw + kw, :]     # [n, KH, KW, C]
            if depthwise:
                out[:, oy, ox, :] = np.einsum("nkc,kc->nc", win.reshape(n, kh * kw, c), wa) + ba
            else:
                out[:, oy, ox, :] = win.reshape(n, -1) @ wa + ba
    return out


CONVS = [(False, 1, 1), (False, 2, 1), (True, 1, 2)]


@pytest.mark.parametrize("shape", [(H, W, C, KH, KW), WIDE], ids=["window-matrix", "tap-products"])
@pytest.mark.parametrize("depthwise, sh, sw", CONVS, ids=["conv", "conv-stride2x1", "depthwise-stride1x2"])
def test_golden_conv_equals_numpy(depthwise, sh, sw, shape):
    graph, w, b = conv_graph(depthwise, sh, sw, shape=shape)
    rng = np.random.default_rng(2)
    x = rng.integers(X_CONV.lo, X_CONV.hi + 1, (50,) + shape[:3])
    x[0], x[1] = X_CONV.lo, X_CONV.hi                    # the extremes too
    got = run(graph, x)["conv"]
    want = conv_reference(x, w, b, depthwise, sh, sw, shape)
    assert got.shape == want.shape and np.array_equal(got, want)
    assert graph.tensors["conv"].qtype.frac == max(X_CONV.frac + CW_FRAC, CB_FRAC)
    assert len(np.unique(got)) > 30


@pytest.mark.parametrize("depthwise, sh, sw", CONVS, ids=["conv", "conv-stride2x1", "depthwise-stride1x2"])
def test_passes_size_the_conv_accumulator(depthwise, sh, sw):
    graph, w, b = conv_graph(depthwise, sh, sw)
    assert_every_tensor_typed(graph)
    t = graph.tensors["conv"]
    f = max(X_CONV.frac + CW_FRAC, CB_FRAC)
    wa, ba = w << (f - X_CONV.frac - CW_FRAC), b << (f - CB_FRAC)
    # The largest (smallest) partial sum of a channel: its bias if it helps,
    # plus every product that helps, each at its best input code.
    hi = max(max(ba[o], 0) + sum(max(0, wa[i, o] * X_CONV.lo, wa[i, o] * X_CONV.hi)
                                 for i in range(len(wa))) for o in range(wa.shape[1]))
    lo = min(min(ba[o], 0) + sum(min(0, wa[i, o] * X_CONV.lo, wa[i, o] * X_CONV.hi)
                                 for i in range(len(wa))) for o in range(wa.shape[1]))
    assert_holds(t.qtype, lo, hi, "the convolution's accumulator")
    # The final sums reach the bounds the passes give: the window of output
    # (0, 0) set to the codes that make each channel largest, then smallest.
    reached = []
    for o in range(wa.shape[1]):
        for sign in (1, -1):
            x = np.zeros((1, H, W, C), np.int64)
            best = np.where(sign * wa[:, o] > 0, X_CONV.hi, X_CONV.lo)
            if depthwise:
                x[0, :KH, :KW, o] = best.reshape(KH, KW)
            else:
                x[0, :KH, :KW, :] = best.reshape(KH, KW, C)
            reached.append(int(run(graph, x)["conv"][0, 0, 0, o]))
    assert (t.lo, t.hi) == (min(reached), max(reached))
