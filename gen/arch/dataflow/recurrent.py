"""The recurrent unit in the dataflow architecture: mapping a lowered
`recurrent` node to an `rnn` kernel (templates/hls/hlsgen_rnn.h) and the
values its parameter header needs (templates/project/dataflow/rnn_params.h.j2).

The kernel reads one word of F input codes per time step and writes one word
of U output codes per step (return_sequences) or at the last step. Per step
it runs the gates' matrix-vector product on PE x SIMD lanes (SIMD divides
F + U, PE divides U) and an elementwise pass over the U units.
"""

from __future__ import annotations

import numpy as np

from hlsgen.arch.dataflow.cost import PIPE_DEPTH
from hlsgen.arch.dataflow.cost_recurrent import RQ_TYPES, step_cycles
from hlsgen.ir.qtype import QType, type_for_range
from hlsgen.ir.recurrent import GATES

CELLS = {"simple": 0, "lstm": 1, "gru": 2}


def geometry(node) -> tuple[int, int, int, int]:
    """(SIMD divides, PE divides, cycles per lanes fold, MACs per frame), as
    gen/arch/dataflow/design.py's folding wants them: the gates' product
    runs G times over U rows per step."""
    a = node.attrs
    mw, g = a["features"] + a["units"], GATES[a["cell"]]
    return mw, a["units"], a["steps"] * g, a["steps"] * mw * g * a["units"]


def _out_type(rq: dict) -> QType:
    lo, hi = rq.get("lo"), rq.get("hi")
    return type_for_range(min(lo, 0), max(hi, 0), 0)


def map_recurrent(m, node, fold_weights) -> None:
    """design.py's _Mapper._recurrent: the rnn kernel of one recurrent node
    (fold_weights: design.py's W[in, out] -> w[pe][nf*SF + sf][simd])."""
    a = node.attrs
    f = m.folds[node.name]
    simd, pe = f["simd"], f["pe"]
    mw, u = a["features"] + a["units"], a["units"]
    inp = m.take(node.inputs[0], a["features"])
    out = m.output(node, None, u)
    types = {"x_t": inp.qtype, "v_t": QType.from_dict(a["v_type"]),
             "w_t": QType.from_dict(a["w_type"]), "acc_t": QType.from_dict(a["acc_type"]),
             "s_t": QType.from_dict(a["s_type"]), "h_t": out.qtype}
    types["vh_t"] = QType.from_dict(a["vh_type"]) if "vh_type" in a else types["v_t"]
    types["cs_t"] = QType.from_dict(a["cs_type"]) if "cs_type" in a else types["s_t"]
    types["c_t"] = QType.from_dict(a["c_type"]) if "c_type" in a else types["acc_t"]
    for name, (_, t) in RQ_TYPES.items():
        if name in a["rq"] and a["rq"][name]["kind"] != "identity":
            types.setdefault(t, _out_type(a["rq"][name]))
    types.setdefault("gate_t", types["s_t"])
    types.setdefault("cact_t", types["s_t"])
    if a["cell"] == "simple":
        types["act_t"] = out.qtype
    mh = GATES[a["cell"]] * u
    cycles = a["steps"] * step_cycles(mw, u, a["cell"], simd, pe, PIPE_DEPTH)
    k = m.kernel("rnn", node.name, node.name, [inp], [out],
                 {"cell": a["cell"], "kind_id": CELLS[a["cell"]], "steps": a["steps"],
                  "features": a["features"], "units": u, "mw": mw, "mh": mh,
                  "nf": mh // pe, "wrows": (mh // pe) * (mw // simd),
                  "simd": simd, "pe": pe, "seq": a["return_sequences"], "types": types,
                  "w_type": types["w_t"], "acc_type": types["acc_t"], "cycles": cycles,
                  "consts": {k: int(a.get(k, 0)) for k in
                             ("s0", "c0", "c_f", "c_i", "k_keep", "k_new", "one")},
                  "rq": a["rq"], "float32_exact": a["float32_exact"], "layer": node.name,
                  # no requantization after the unit; its gates' are in "rq"
                  "requant": {"kind": "identity"}})
    k.params["w"] = fold_weights(node.params["weights"], simd, pe)
    k.params["b"] = node.params["bias"].reshape(-1, pe).T.copy()
    for name in a["rq"]:
        if "rq_" + name in node.params:
            k.params["rq_" + name] = node.params["rq_" + name]


def prepare(k, c_init) -> None:
    """render.py's _prepare for an rnn kernel: the requantization members of
    its parameter struct, the arrays, and the files C simulation loads."""
    k.arrays, k.param_files, k.members = [], [], []
    for name, (tin, tout) in RQ_TYPES.items():
        rq = k.attrs["rq"].get(name)
        if rq is None:
            continue
        if rq["kind"] == "identity":
            k.members.append({"name": name, "type": f"hlsgen::RequantIdentity<{k.id}_p::{tin}, "
                              f"{k.id}_p::{tout}>", "init": "{}"})
            continue
        if rq["kind"] == "shift":   # a rescale (and clamp), or a float hard_sigmoid
            k.members.append({"name": name, "init": "{}", "note": f"shift {rq['shift']}, clamp [{rq['lo']}, {rq['hi']}]",
                              "type": f"hlsgen::RequantShift<{k.id}_p::{tin}, {k.id}_p::{tout}, "
                                      f"{rq['shift']}, hlsgen::ROUND_{rq['round'].upper()}, true, "
                                      f"{rq['lo']}LL, true, {rq['hi']}LL>"})
            continue
        thr = k.params["rq_" + name]
        k.members.append({"name": name, "init": "{" + c_init(thr) + ", {0}}",
                          "type": f"hlsgen::RequantThresholds<{k.id}_p::{tin}, {k.id}_p::{tout}, 1, "
                                  f"{thr.shape[1]}, {rq['base']}LL, false>",
                          "note": f"{thr.shape[1]} thresholds of the framework's quantizer"})
        k.param_files.append({"file": f"{k.id}_{name}_thr.bin", "count": thr.size,
                              "pointer": f"&{k.id}_rq.{name}.thr[0][0]", "array": thr})
    for p in ("w", "b"):
        arr = k.params[p]
        ctype = f"{k.id}_p::{'w_t' if p == 'w' else 'acc_t'}"
        k.arrays.append({"ctype": ctype, "decl": f"{k.id}_{p}" + "".join(f"[{n}]" for n in arr.shape),
                         "init": c_init(arr)})
        k.param_files.append({"file": f"{k.id}_{p}.bin", "count": arr.size,
                              "pointer": f"&{k.id}_{p}" + "[0]" * arr.ndim, "array": arr})
    k.requant_text = "gates: " + ", ".join(f"{m['name']} ({m['note']})" for m in k.members
                                           if "note" in m)


def report_fields(k) -> dict:
    """report.json's entries for an rnn kernel."""
    a = k.attrs
    return {"cell": a["cell"], "steps": a["steps"], "mw": a["mw"], "mh": a["mh"],
            "simd": a["simd"], "pe": a["pe"], "cycles_per_step": a["cycles"] // a["steps"],
            "weight_type": a["w_type"].cpp, "acc_type": a["acc_type"].cpp,
            "float32_exact": a["float32_exact"],
            "quantizers": {name: rq["kind"] for name, rq in a["rq"].items()}}
