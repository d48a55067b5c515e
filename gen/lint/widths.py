"""Rules `widths` (literal ap_[u]int/ap_[u]fixed/axis_word widths and the
widths library templates compute, against AP_INT_MAX_W and 4096) and
`interface-widths` (the top function's AXI-Stream and m_axi ports, the
max_widen_bitwidth of its INTERFACE pragmas)."""

from __future__ import annotations

import re

# The limits the generator designs to: one table, in gen/arch/dataflow/folding.py.
from hlsgen.arch.dataflow.folding import AP_INT_DEFAULT_MAX_W as AP_DEFAULT_MAX_W
from hlsgen.arch.dataflow.folding import AXIS_MAX_BITS
from hlsgen.arch.dataflow.folding import MAX_WORD_BITS as AP_ABSOLUTE_MAX_W
from hlsgen.lint.consteval import ap_width, resolve_type
from hlsgen.lint.partitions import partition_analysis
from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation
from hlsgen.lint.tokens import angle_end


def rule_widths(p: Project, out: list[Violation]) -> str:
    limit = p.ap_max_w if p.ap_max_w is not None else AP_DEFAULT_MAX_W
    n, widest = 0, 0
    if p.ap_max_w is not None and p.ap_max_w > AP_ABSOLUTE_MAX_W:
        out.append(Violation("widths", p.ap_max_w_where or "?",
                             f"AP_INT_MAX_W {p.ap_max_w} exceeds {AP_ABSOLUTE_MAX_W}, the largest "
                             "Vitis HLS accepts"))
    if p.ap_max_w_late:
        out.append(Violation("widths", p.ap_max_w_late,
                             "AP_INT_MAX_W is defined after ap_int.h was included: it has no effect"))
    toks = p.toks
    for i, t in enumerate(toks):
        if t.text in ("ap_int", "ap_uint", "ap_fixed", "ap_ufixed", "axis_word") and \
                i + 2 < len(toks) and toks[i + 1].text == "<" and toks[i + 2].kind == "num":
            w = int(re.match(r"\d+", toks[i + 2].text).group(0))
            n += 1
            widest = max(widest, w)
            if w < 1:
                out.append(Violation("widths", t.where, f"{t.text}<{w}>: a width is at least 1"))
            if w > min(limit, AP_ABSOLUTE_MAX_W):
                what = "AXI-Stream word" if t.text == "axis_word" else t.text
                fix = (f"at most {AP_ABSOLUTE_MAX_W} bits exist" if w > AP_ABSOLUTE_MAX_W else
                       f"define AP_INT_MAX_W (>= {w}, <= {AP_ABSOLUTE_MAX_W}) before ap_int.h")
                out.append(Violation("widths", t.where,
                                     f"{what}<{w}> is wider than {limit} bits; {fix}"))
    # Widths computed by the library's templates from the project's types
    # (RequantShift's wide_t, RequantThresholds' thr_t, WeightMemory's words...):
    # every typedef of a struct or function instantiated from the top, evaluated
    # with its template arguments, and every library struct the params headers
    # instantiate.
    an = partition_analysis(p)
    for alias, spelled in p.prog.typedefs.items():
        st = resolve_type(p.prog, spelled, {})
        if isinstance(st, tuple) and st[0] == "struct" and st[1] in p.prog.structs:
            an.struct_scope(p.prog.structs[st[1]], st[2])
    computed = len(an.widths)
    for (where, what), w in sorted(an.widths.items()):
        widest = max(widest, w)
        if w > min(limit, AP_ABSOLUTE_MAX_W):
            out.append(Violation("widths", where, f"{what} is {w} bits wide (computed by the library "
                                 f"template from this project's types), over the {limit}-bit limit"))
    return (f"{n} literal widths and {computed} widths computed by library templates, widest "
            f"{widest} bits, limit {limit}" + (f" (AP_INT_MAX_W from {p.ap_max_w_where})"
                                               if p.ap_max_w is not None else " (no AP_INT_MAX_W)"))


def rule_interface_widths(p: Project, out: list[Violation]) -> str:
    top = p.top
    if top is None:
        out.append(Violation("interface-widths", f"firmware/{p.name}.cpp:1",
                             f"no definition of the top function {p.name}()"))
        return "top function not found"
    details = []
    modes = {}
    for pr in top.pragmas:
        if pr.name == "INTERFACE":
            d = dict(pr.args)
            port = d.get("port")
            mode = d.get("mode") or next((k for k, v in pr.args if v is None), None)
            modes[port] = (mode, pr)
            mw = d.get("max_widen_bitwidth")
            if mw is not None:
                try:
                    v = int(mw)
                    bad = v < 0 or v > 1024 or (v & (v - 1)) != 0
                except ValueError:
                    bad = True
                if bad:
                    out.append(Violation("interface-widths", pr.tok.where,
                                         f"max_widen_bitwidth={mw} on port {port}: must be 0 or a "
                                         "power of 2 up to 1024 (otherwise ignored)"))
    for prm in top.params:
        mode = modes.get(prm.name, (None, None))[0]
        ty = prm.type
        if "stream" in ty:
            k = ty.index("stream")
            inner = ty[k + 2:angle_end(ty, k + 1)]
            r = resolve_type(p.prog, inner, {})
            w = None
            if isinstance(r, tuple) and r[0] == "ap":
                w = r[2]
            elif isinstance(r, tuple) and r[0] == "struct":
                w = None
            if w is None:
                w = ap_width(inner, p.prog.typedefs)
            if w is None:
                # hls::axis<ap_uint<W>, ...>: the typedef spelled through axis_word<W>
                spelled = p.prog.typedefs.get(inner[-1], []) if inner else []
                if "axis_word" in spelled:
                    k2 = spelled.index("axis_word")
                    w = int(spelled[k2 + 2]) if spelled[k2 + 2].isdigit() else None
            details.append(f"{prm.name}: AXI-Stream {w} bits")
            if mode not in (None, "axis"):
                continue
            if w is None:
                out.append(Violation("interface-widths", prm.tok.where,
                                     f"cannot tell the width of AXI-Stream port {prm.name}"))
            elif w > AXIS_MAX_BITS:
                out.append(Violation("interface-widths", prm.tok.where,
                                     f"AXI-Stream port {prm.name} is {w} bits wide; the AXI DMA's "
                                     f"stream side takes at most {AXIS_MAX_BITS}"))
        elif "*" in ty and mode == "m_axi":
            r = resolve_type(p.prog, [x for x in ty if x != "*"], {})
            w = r[2] if isinstance(r, tuple) and r[0] == "ap" else None
            details.append(f"{prm.name}: m_axi {w} bits")
            if w is not None and w > 1024:
                out.append(Violation("interface-widths", prm.tok.where,
                                     f"m_axi port {prm.name} carries {w}-bit elements; AXI4 data "
                                     "is at most 1024 bits"))
    return "top ports " + ", ".join(details)
