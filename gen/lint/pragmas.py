"""Rule `pragmas`: every `#pragma HLS` of the synthesis branch against the
names and options of UG1399 (values integer or constant, variables and ports
declared, ARRAY_PARTITION/ARRAY_RESHAPE types, factors and dims)."""

from __future__ import annotations

import re

from hlsgen.lint.constness import is_const_expr
from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation
from hlsgen.lint.scan import Decl, Function, Pragma


_PRAGMAS: dict[str, dict] = {
    # name: {"keys": allowed key=value options, "words": allowed bare words, "required": [...]}
    "PIPELINE": {"keys": {"ii", "style"}, "words": {"off", "rewind", "enable_flush"}},
    "UNROLL": {"keys": {"factor", "off"}, "words": {"skip_exit_check", "off"}},
    "ARRAY_PARTITION": {"keys": {"variable", "type", "factor", "dim", "off"},
                        "words": {"complete", "cyclic", "block", "off"}, "required": ["variable"]},
    "ARRAY_RESHAPE": {"keys": {"variable", "type", "factor", "dim", "off", "object"},
                      "words": {"complete", "cyclic", "block", "off", "object"},
                      "required": ["variable"]},
    "INTERFACE": {"keys": {"mode", "port", "bundle", "offset", "depth", "register_mode", "name",
                           "clock", "latency", "max_read_burst_length", "max_write_burst_length",
                           "num_read_outstanding", "num_write_outstanding", "max_widen_bitwidth",
                           "channel", "storage_type", "storage_impl", "interrupt"},
                  "words": {"ap_none", "ap_vld", "ap_ack", "ap_hs", "ap_ovld", "ap_fifo",
                            "ap_memory", "bram", "axis", "s_axilite", "m_axi", "ap_ctrl_none",
                            "ap_ctrl_hs", "ap_ctrl_chain", "register"},
                  "required": ["port"]},
    "DATAFLOW": {"keys": set(), "words": {"disable_start_propagation"}},
    "STREAM": {"keys": {"variable", "depth", "type", "off"}, "words": {"off"},
               "required": ["variable"]},
    "INLINE": {"keys": {"off"}, "words": {"off", "recursive"}},
    "DEPENDENCE": {"keys": {"variable", "class", "type", "direction", "distance", "dependent"},
                   "words": {"array", "pointer", "intra", "inter", "raw", "war", "waw", "true",
                             "false"}},
    "LOOP_TRIPCOUNT": {"keys": {"min", "max", "avg"}, "words": set()},
    "LOOP_FLATTEN": {"keys": {"off"}, "words": {"off"}},
    "LOOP_MERGE": {"keys": {"force"}, "words": {"force"}},
    "BIND_STORAGE": {"keys": {"variable", "type", "impl", "latency"}, "words": set(),
                     "required": ["variable", "type"]},
    "BIND_OP": {"keys": {"variable", "op", "impl", "latency"}, "words": set(),
                "required": ["variable", "op"]},
    "LATENCY": {"keys": {"min", "max"}, "words": set()},
    "TOP": {"keys": {"name"}, "words": set()},
    "AGGREGATE": {"keys": {"variable", "compact"}, "words": set(), "required": ["variable"]},
    "DISAGGREGATE": {"keys": {"variable"}, "words": set(), "required": ["variable"]},
    "ALLOCATION": {"keys": {"instances", "limit", "type"}, "words": {"function", "operation"}},
    "EXPRESSION_BALANCE": {"keys": {"off"}, "words": {"off"}},
    "FUNCTION_INSTANTIATE": {"keys": {"variable"}, "words": set()},
    "OCCURRENCE": {"keys": {"cycle", "off"}, "words": {"off"}},
    "PERFORMANCE": {"keys": {"target_ti", "target_tl", "unit", "scope"}, "words": set()},
    "PROTOCOL": {"keys": {"mode"}, "words": {"floating", "fixed"}},
    "RESET": {"keys": {"variable", "off"}, "words": {"off"}},
    "SHARED": {"keys": {"variable"}, "words": set()},
    "STABLE": {"keys": {"variable"}, "words": set()},
    "ALIAS": {"keys": {"ports", "distance", "offset"}, "words": set()},
    "CACHE": {"keys": {"port", "lines", "depth"}, "words": set()},
    "ARRAY_STENCIL": {"keys": {"variable", "off"}, "words": {"off"}},
}
_REMOVED_PRAGMAS = {"RESOURCE": "use BIND_STORAGE / BIND_OP", "DATA_PACK": "use AGGREGATE",
                    "STREAM_DEPTH": "use STREAM depth=", "CLOCK": "removed in Vitis HLS"}
_INT_KEYS = {"ii", "factor", "dim", "depth", "distance", "min", "max", "avg", "latency",
             "max_widen_bitwidth", "max_read_burst_length", "max_write_burst_length",
             "num_read_outstanding", "num_write_outstanding"}


def rule_pragmas(p: Project, out: list[Violation]) -> str:
    prog = p.prog
    n = 0
    scopes = [(f, f.pragmas) for f in prog.functions] + [(None, prog.global_pragmas)]
    for f, pragmas in scopes:
        for pr in pragmas:
            n += 1
            where = pr.tok.where
            if pr.name in _REMOVED_PRAGMAS:
                out.append(Violation("pragmas", where, f"pragma HLS {pr.name} is not supported by "
                                     f"Vitis HLS: {_REMOVED_PRAGMAS[pr.name]}"))
                continue
            spec = _PRAGMAS.get(pr.name)
            if spec is None:
                out.append(Violation("pragmas", where, f"unknown pragma HLS {pr.name or '(empty)'}"))
                continue
            keys = {k.lower(): v for k, v in pr.args if v is not None}
            for k, v in pr.args:
                kl = k.lower()
                if v is None:
                    if kl not in spec["words"]:
                        out.append(Violation("pragmas", where,
                                             f"pragma HLS {pr.name}: unknown option '{k}'"))
                elif kl not in spec["keys"]:
                    out.append(Violation("pragmas", where,
                                         f"pragma HLS {pr.name}: unknown option '{k}='"))
                elif kl in _INT_KEYS and not re.fullmatch(r"-?\d+", v) and not (
                        f is not None and is_const_expr(p, f, [v])) and v not in p.pre.macros:
                    out.append(Violation("pragmas", where,
                                         f"pragma HLS {pr.name}: {k}={v} is neither an integer "
                                         "nor a compile-time constant"))
            for req in spec.get("required", []):
                if req not in keys:
                    out.append(Violation("pragmas", where,
                                         f"pragma HLS {pr.name} needs {req}="))
            if pr.name == "PIPELINE" and "ii" in keys and re.fullmatch(r"-?\d+", keys["ii"]) \
                    and int(keys["ii"]) < 1:
                out.append(Violation("pragmas", where, f"PIPELINE II={keys['ii']}: II is at least 1"))
            if pr.name == "STREAM" and "depth" in keys and keys["depth"].isdigit() \
                    and int(keys["depth"]) < 1:
                out.append(Violation("pragmas", where, "STREAM depth must be at least 1"))
            if pr.name in ("ARRAY_PARTITION", "ARRAY_RESHAPE"):
                _check_partition(p, f, pr, keys, out)
            if pr.name == "INTERFACE" and f is not None:
                port = keys.get("port")
                mode = keys.get("mode") or next((k for k, v in pr.args if v is None and
                                                 k.lower() in _PRAGMAS["INTERFACE"]["words"]), None)
                if mode is None:
                    out.append(Violation("pragmas", where, "pragma HLS INTERFACE without a mode"))
                elif mode not in _PRAGMAS["INTERFACE"]["words"] - {"register"}:
                    out.append(Violation("pragmas", where, f"INTERFACE mode={mode}: unknown mode"))
                if port and port != "return" and port not in {d.name for d in f.params}:
                    out.append(Violation("pragmas", where, f"INTERFACE port={port}: {f.name}() has "
                                         "no such argument"))
                if mode == "m_axi" and keys.get("offset") not in (None, "off", "direct", "slave"):
                    out.append(Violation("pragmas", where, f"INTERFACE m_axi offset={keys['offset']}: "
                                         "off, direct or slave"))
            if pr.name == "STREAM" and f is not None and keys.get("variable"):
                if _declared(p, f, keys["variable"]) is None:
                    out.append(Violation("pragmas", where, f"STREAM variable={keys['variable']}: no "
                                         f"such variable in {f.name}()"))
            if pr.name == "INLINE" and f is not None and prog.loop_at(f, pr.index):
                out.append(Violation("pragmas", where, "pragma HLS INLINE belongs to a function "
                                     "body, not a loop"))
            if pr.name in ("PIPELINE", "UNROLL", "LOOP_TRIPCOUNT", "LOOP_FLATTEN") and f is None:
                out.append(Violation("pragmas", where, f"pragma HLS {pr.name} outside a function"))
    return f"{n} pragmas checked against the names and options of UG1399"


def _declared(p: Project, f: Function, name: str) -> Decl | None:
    base = name.split(".")[-1].split("->")[-1]
    for d in f.params:
        if d.name == base:
            return d
    if base in f.locals:
        return f.locals[base]
    if f.scope and f.scope in p.prog.structs and base in p.prog.structs[f.scope].members:
        return p.prog.structs[f.scope].members[base]
    if "." in name:   # a member of a struct argument: checked by name only
        for s in p.prog.structs.values():
            if base in s.members:
                return s.members[base]
    return p.prog.globals.get(base)


def _check_partition(p: Project, f: Function | None, pr: Pragma, keys: dict, out) -> None:
    where = pr.tok.where
    ptype = keys.get("type") or next((k for k, v in pr.args if v is None and
                                      k in ("complete", "cyclic", "block")), "complete")
    if ptype not in ("complete", "cyclic", "block"):
        out.append(Violation("pragmas", where, f"{pr.name} type={ptype}: complete, cyclic or block"))
    if ptype in ("cyclic", "block") and "factor" not in keys:
        out.append(Violation("pragmas", where, f"{pr.name} type {ptype} needs factor="))
    if f is None:
        return
    var = keys.get("variable")
    d = _declared(p, f, var) if var else None
    if d is None:
        out.append(Violation("pragmas", where, f"{pr.name} variable={var}: no such variable in "
                             f"{f.name}()"))
        return
    def m_axi(pr2: Pragma) -> bool:
        return pr2.name == "INTERFACE" and ("port", var) in pr2.args and (
            ("m_axi", None) in pr2.args or ("mode", "m_axi") in pr2.args)
    if f is p.top and any(m_axi(pr2) for pr2 in f.pragmas):
        out.append(Violation("pragmas", where, f"{pr.name} on the m_axi port {var}: not supported "
                             "for M_AXI interfaces of the top function (use hls::vector)"))
    dims = len(d.dims) + (1 if "*" in d.type else 0)
    dim = keys.get("dim", "1")
    if dim.isdigit() and dims and int(dim) > dims:
        out.append(Violation("pragmas", where, f"{pr.name} variable={var} dim={dim}: the array has "
                             f"{dims} dimension{'s' * (dims != 1)}"))
    if not dims:
        out.append(Violation("pragmas", where, f"{pr.name} variable={var}: not an array"))
