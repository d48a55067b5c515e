"""Lowering of a `recurrent` node (see gen/ir/recurrent.py for what it
computes): weights aligned to each gate's accumulator point and stacked
[kernel ; recurrent kernel], every tensor of the step bounded and typed, and
each activation and state quantizer turned into integer thresholds found by
evaluating the framework's own quantizer on every reachable code (by
bisection where the range is large). The quantizers are monotonic; a gate's
function that is not is refused.
"""

from __future__ import annotations

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir.graph import Graph, Node
from hlsgen.ir.qtype import QType, type_for_range
from hlsgen.ir.intmath import apply_requant
from hlsgen.passes.exact_float import MAX_LEVELS
from hlsgen.passes.requant import _codes_of, _steps, derive_requant

REC_GATES = {"lstm": (0, 1, 3), "gru": (0, 1)}   # the gates recurrent_activation serves
FLOAT32_EXACT = 1 << 24
# lower.py's too (it imports this module, so the constant lives here):
MAX_ACC_BITS = 62  # int64 golden arithmetic and ap_int<> both stay exact
# The QKeras argument each lowered requantization comes from, and a coarse one.
QUANTIZER_OF = {"rec": ("recurrent_activation", "quantized_sigmoid(4)"),
                "act": ("activation", "quantized_tanh(4)"),
                "cell_act": ("activation", "quantized_tanh(4)"),
                "state_c": ("state_quantizer", "quantized_bits(8,2,alpha=1)"),
                "state_h": ("state_quantizer", "quantized_bits(8,2,alpha=1)")}


def _corners(lo1, hi1, lo2, hi2) -> tuple[int, int]:
    """Bounds of a product of two ranges."""
    p = [lo1 * lo2, lo1 * hi2, hi1 * lo2, hi1 * hi2]
    return min(p), max(p)


def _span(*ranges) -> tuple[int, int]:
    """The smallest range holding all of (lo, hi) `ranges`."""
    return min(r[0] for r in ranges), max(r[1] for r in ranges)


def _column_bounds(m: np.ndarray, row_lo: np.ndarray, row_hi: np.ndarray, b: np.ndarray):
    """(partial lo, partial hi, final lo, final hi) per column of v M + b for
    v[r] in [row_lo[r], row_hi[r]]: partial sums in any order included."""
    m = m.astype(object)
    a, c = m * row_lo[:, None].astype(object), m * row_hi[:, None].astype(object)
    p_lo, p_hi = np.minimum(a, c), np.maximum(a, c)
    b = b.astype(object)
    return (np.minimum(p_lo, 0).sum(0) + np.minimum(b, 0), np.maximum(p_hi, 0).sum(0) + np.maximum(b, 0),
            p_lo.sum(0) + b, p_hi.sum(0) + b)


class _Lowering:
    """What lowering one node collects: its requantizations (attrs["rq"],
    params["rq_<name>"]) and whether QKeras' float32 arithmetic is exact."""

    def __init__(self, node: Node):
        self.n = node
        self.where = f"layer '{node.name}'"
        self.rq, self.exact = {}, True

    def requant(self, name: str, fn_grid, frac: int, lo: int, hi: int) -> tuple[int, int]:
        """The quantizer fn on codes [lo, hi] at point frac, exactly: a
        shift and round where it is one (quantized_bits on a finer grid),
        else thresholds; the range of its outputs."""
        fn, (out_frac, out_lo, out_hi) = fn_grid
        rq, _ = derive_requant(fn, frac, int(lo), int(hi), fn_grid[1], f"{self.where} ({name})")
        if rq["kind"] == "shift":
            self.rq[name] = rq
            out = apply_requant(np.array([int(lo), int(hi)]), rq, None)
            return self._on_grid(name, fn_grid, int(out[0]), int(out[1]))
        base, top, thr, negate = _steps(fn, int(lo), int(hi), 1, frac, out_frac, f"{self.where} ({name})")
        self._on_grid(name, fn_grid, int(base), int(top))
        if negate.any():
            raise HlsgenError(f"{self.where}: its {name} quantizer decreases; it is not supported")
        if thr.shape[1] > MAX_LEVELS - 1:
            which, coarse = QUANTIZER_OF[name]
            raise HlsgenError(f"{self.where}: its {which} ({name}) takes {thr.shape[1] + 1} output "
                              f"codes as thresholds, more than the {MAX_LEVELS} hlsgen steps; give "
                              f"it a coarser {which} (at most {MAX_LEVELS} codes), e.g. {coarse}")
        if thr.shape[1] == 0:   # a constant: one threshold never reached (C++ has no empty arrays)
            thr = np.array([[int(hi) + 1]], np.int64)
        self.rq[name] = {"kind": "thresholds", "base": int(base), "lo": out_lo, "hi": out_hi,
                         "in_frac": frac, "in_lo": int(lo), "in_hi": int(hi), "out_frac": out_frac}
        self.n.params["rq_" + name] = thr.astype(np.int64)
        return int(base), int(top)

    def _on_grid(self, name: str, fn_grid, base: int, top: int) -> tuple[int, int]:
        """The codes a quantizer reaches, (base, top), lie on the grid the
        node's types were sized from (the quantizer's declared grid): else
        the C types could not hold them."""
        _, (_, out_lo, out_hi) = fn_grid
        if base < out_lo or top > out_hi:
            raise HlsgenError(f"{self.where}: its {name} quantizer reaches codes [{base}, {top}] "
                              f"outside its grid [{out_lo}, {out_hi}]; it is not supported")
        return base, top

    def hard_sigmoid(self, acc_frac: int) -> tuple[int, int]:
        """QKeras' hard_sigmoid clip(x/2 + 1/2, 0, 1) on codes at acc_frac,
        the 1/2 already added to the bias: clamp(acc, 0, 2^(acc_frac+1)) at
        point acc_frac + 1."""
        one = 1 << (acc_frac + 1)
        self.rq["rec"] = {"kind": "shift", "shift": 0, "round": "floor", "lo": 0, "hi": one}
        return 0, one

    def check(self, what: str, lo: int, hi: int) -> QType:
        t = type_for_range(min(int(lo), 0), max(int(hi), 0), 0)
        if t.bits > MAX_ACC_BITS:
            raise HlsgenError(f"{self.where}: its {what} needs {t.bits} bits; reduce the weight, "
                              f"input or state precision (at most {MAX_ACC_BITS} bits)")
        self.exact &= max(-int(lo), int(hi)) < FLOAT32_EXACT
        return t


def lower_recurrent(graph: Graph, node: Node) -> None:
    """Types a recurrent node and lowers its quantizers (gen/passes/lower.py's
    dispatch calls it)."""
    L = _Lowering(node)
    a, tr = node.attrs, node.transient
    h_terms: list = []   # what the kernel holds in h's type besides h (GRU)
    src, dst = graph.tensors[node.inputs[0]], graph.tensors[node.outputs[0]]
    if src.qtype.bipolar:
        raise HlsgenError(f"{L.where}: +-1 (binary) inputs to a recurrent layer are not supported; "
                          "quantize them with quantized_bits first")
    u, f, cell = a["units"], a["features"], a["cell"]
    fx, xlo, xhi = src.qtype.frac, int(src.lo), int(src.hi)
    act_frac, act_lo, act_hi = tr["act"][1]
    fs, slo, shi = tr["state"][1] if "state" in tr else tr["act"][1]
    s0 = 0 if "state" not in tr else int(_codes_of(tr["state"][0], np.zeros((1, 1), np.int64), 0,
                                                   fs, L.where)[0, 0])
    w, r, b = (node.params.pop(k).astype(np.int64) for k in ("kernel", "recurrent", "bias"))
    gates = w.shape[1] // u
    # Accumulator points: [x ; s] columns, and a GRU's candidate [x ; r*s].
    gate_frac = max(fx + a["w_frac"], fs + a["r_frac"], a["b_frac"])
    hard = "rec" in tr and tr["rec"][1] is None   # QKeras' float hard_sigmoid
    rec_frac = (gate_frac + 1 if hard else tr["rec"][1][0]) if "rec" in tr else 0
    r_in = np.full(gates, fs)
    if cell == "gru":
        r_in[2] = rec_frac + fs
    acc_frac = np.maximum(np.maximum(fx + a["w_frac"], r_in + a["r_frac"]), a["b_frac"])
    col = np.repeat(np.arange(gates), u)
    w = w << (acc_frac[col] - fx - a["w_frac"])
    r = r << (acc_frac[col] - r_in[col] - a["r_frac"])
    b = b << (acc_frac[col] - a["b_frac"])
    if hard:   # hard_sigmoid's + 1/2, in its gates' bias
        b = b + np.where(np.isin(col, REC_GATES[cell]), 1 << gate_frac, 0)
    m = np.concatenate([w, r], axis=0)
    rows = np.arange(f + u) < f
    row_lo, row_hi = np.where(rows, xlo, slo), np.where(rows, xhi, shi)
    plo, phi, flo, fhi = _column_bounds(m, row_lo, row_hi, b)
    if cell == "gru":   # the candidate reads r*s
        rlo, rhi = (0, 2 << gate_frac) if hard else tr["rec"][1][1:]
        rs = _corners(rlo, rhi, slo, shi)
        cols = slice(2 * u, 3 * u)
        plo[cols], phi[cols], flo[cols], fhi[cols] = _column_bounds(
            m[:, cols], np.where(rows, xlo, rs[0]), np.where(rows, xhi, rs[1]), b[cols])
        a["vh_type"] = type_for_range(min(xlo, rs[0], 0), max(xhi, rs[1], 0), 0).to_dict()
    acc_t = L.check("accumulator", min(plo), max(phi))
    node.params["weights"], node.params["bias"] = m, b
    a.update(s0=s0, acc_frac=[int(v) for v in acc_frac],
             w_type=type_for_range(min(int(m.min()), 0), max(int(m.max()), 0), 0).to_dict(),
             acc_type=acc_t.to_dict(),
             v_type=type_for_range(min(xlo, slo, 0), max(xhi, shi, 0), 0).to_dict(),
             s_type=type_for_range(min(slo, 0), max(shi, 0), fs).to_dict())

    def gate_range(k):
        return min(flo[k * u:(k + 1) * u]), max(fhi[k * u:(k + 1) * u])

    if cell == "simple":
        lo, hi = L.requant("act", tr["act"], int(acc_frac[0]), *gate_range(0))
        h_frac = act_frac
    elif cell == "lstm":
        ranges = [gate_range(k) for k in (0, 1, 3)]
        sig = L.hard_sigmoid(gate_frac) if hard else L.requant(
            "rec", tr["rec"], int(acc_frac[0]), min(v[0] for v in ranges), max(v[1] for v in ranges))
        glo, ghi = L.requant("act", tr["act"], int(acc_frac[2]), *gate_range(2))
        # c = f*cs + i*g at the finer of the two products' points
        c_frac = max(rec_frac + fs, rec_frac + act_frac)
        a.update(c_f=c_frac - rec_frac - fs, c_i=c_frac - rec_frac - act_frac)
        fc, ig = _corners(*sig, slo, shi), _corners(*sig, glo, ghi)
        c_terms = [(v[0] << k, v[1] << k) for v, k in ((fc, a["c_f"]), (ig, a["c_i"]))]
        clo, chi = c_terms[0][0] + c_terms[1][0], c_terms[0][1] + c_terms[1][1]
        # The kernel holds each term in c's type too.
        c_t = L.check("cell state", *_span((clo, chi), *c_terms))
        a["c_type"] = QType(c_t.bits, c_t.signed, c_frac).to_dict()
        tlo, thi = L.requant("cell_act", tr["act"], c_frac, clo, chi)
        lo, hi = _corners(*sig, tlo, thi)
        h_frac = rec_frac + act_frac
        clo_s, chi_s = L.requant("state_c", tr["state"], c_frac, clo, chi)
        a["c0"] = s0   # the zero state, quantized (the state quantizer is shared)
        a["cs_type"] = type_for_range(min(slo, 0), max(shi, 0), fs).to_dict()
    else:
        zlo, zhi = L.hard_sigmoid(gate_frac) if hard else L.requant(
            "rec", tr["rec"], int(acc_frac[0]), min(gate_range(0)[0], gate_range(1)[0]),
            max(gate_range(0)[1], gate_range(1)[1]))
        hlo, hhi = L.requant("act", tr["act"], int(acc_frac[2]), *gate_range(2))
        h_frac = max(rec_frac + fs, rec_frac + act_frac)
        one = 1 << rec_frac
        a.update(one=one, k_keep=h_frac - rec_frac - fs, k_new=h_frac - rec_frac - act_frac)
        keep, new = _corners(zlo, zhi, slo, shi), _corners(one - zhi, one - zlo, hlo, hhi)
        h_terms = [(v[0] << k, v[1] << k) for v, k in ((keep, a["k_keep"]), (new, a["k_new"]))]
        lo, hi = h_terms[0][0] + h_terms[1][0], h_terms[0][1] + h_terms[1][1]
        # The kernel holds each term, 1 and 1 - z in h's type too.
        h_terms += [(0, one), (one - zhi, one - zlo)]
    h_t = L.check("output", *_span((lo, hi), *h_terms))
    if "state" in tr:
        L.requant("state_h", tr["state"], h_frac, lo, hi)
    else:
        L.rq["state_h"] = {"kind": "identity"}
    a["rq"] = L.rq
    a["float32_exact"] = bool(L.exact)
    node.transient.clear()
    if cell == "simple":
        dst.qtype = type_for_range(min(act_lo, lo), max(act_hi, hi), h_frac)
    else:
        dst.qtype = QType(h_t.bits, h_t.signed, h_frac)
    dst.lo, dst.hi = int(lo), int(hi)
