"""Rule `streams`: in the top function's DATAFLOW region, every stream has one
producer and one consumer and flows forward (which stream arguments a process
reads or writes follows from the library function's body), stream names and
word types agree with report.json."""

from __future__ import annotations

from hlsgen.lint.consteval import ap_width
from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation
from hlsgen.lint.scan import KEYWORDS, Function
from hlsgen.lint.tokens import match_angle, match_close, split_commas


def _stream_roles(p: Project) -> dict[str, list[dict[str, set]]]:
    """For each function name: per overload, parameter name -> {"read", "write"}."""
    toks = p.toks
    funcs = [f for f in p.prog.functions if any("stream" in d.type for d in f.params)]
    roles = {id(f): {d.name: set() for d in f.params if "stream" in d.type} for f in funcs}
    for f in funcs:
        a, b = f.body
        for i in range(a, b - 2):
            t = toks[i].text
            if t in roles[id(f)] and toks[i + 1].text in (".", "->"):
                m = toks[i + 2].text
                if m in ("read", "read_nb", "empty", "try_read"):
                    roles[id(f)][t].add("read")
                elif m in ("write", "write_nb", "full", "try_write"):
                    roles[id(f)][t].add("write")
            elif t in roles[id(f)] and toks[i + 1].text in (">>", "<<"):
                roles[id(f)][t].add("read" if toks[i + 1].text == ">>" else "write")
    by_name: dict[str, list[Function]] = {}
    for f in funcs:
        by_name.setdefault(f.name, []).append(f)
    for _ in range(6):   # through calls to other stream functions
        changed = False
        for f in funcs:
            for callee, args in _calls(p, f.body[0], f.body[1]):
                for g in by_name.get(callee, []):
                    if len(g.params) != len(args):
                        continue
                    for prm, arg in zip(g.params, args):
                        if len(arg) == 1 and arg[0] in roles[id(f)] and prm.name in roles[id(g)]:
                            new = roles[id(g)][prm.name] - roles[id(f)][arg[0]]
                            if new:
                                roles[id(f)][arg[0]] |= new
                                changed = True
        if not changed:
            break
    out: dict[str, list[dict[str, set]]] = {}
    for f in funcs:
        out.setdefault(f.name, []).append({"params": [d.name for d in f.params], **roles[id(f)]})
    return out


def _calls(p: Project, a: int, b: int):
    """(callee name, [argument token texts]) for calls in toks[a:b]."""
    toks = p.toks
    i = a
    while i < b:
        t = toks[i]
        if t.kind == "id" and t.text not in KEYWORDS and i + 1 < b:
            j = i + 1
            if toks[j].text == "<" and p.prog.is_template(t.text):
                j = match_angle(toks, j) + 1
            if j < b and toks[j].text == "(":
                e = match_close(toks, j, "(", ")")
                args = [[x.text for x in toks[pa:pb]] for pa, pb in split_commas(toks, j + 1, e)]
                yield t.text, args
        i += 1


def rule_streams(p: Project, out: list[Violation]) -> str:
    top = p.top
    if top is None or not any(pr.name == "DATAFLOW" for pr in top.pragmas):
        return f"no DATAFLOW region in {p.name}() ({p.arch} architecture): nothing to check"
    toks = p.toks
    roles = _stream_roles(p)
    macros = p.pre.macros
    streams = {n: d for n, d in top.locals.items() if "stream" in d.type}
    ports = {d.name: d for d in top.params if "stream" in d.type}
    uses: dict[str, dict[str, list[tuple[int, str]]]] = {
        n: {"read": [], "write": []} for n in list(streams) + list(ports)}
    a, b = top.body
    # Processes: the top-level statements of the region.
    start, depth, procs = a, 0, []
    for i in range(a, b):
        t = toks[i]
        if t.text in ("(", "{", "["):
            depth += 1
        elif t.text in (")", "}", "]"):
            depth -= 1
        if (t.text == ";" and depth == 0) or t.kind == "pragma":
            if start < i and t.kind != "pragma":
                procs.append((start, i))
            start = i + 1
    n_proc = 0
    unknown = []
    arg_order: dict[tuple[int, str], int] = {}   # (process, stream) -> argument position
    for pa, pb in procs:
        head = toks[pa]
        if head.kind != "id":
            continue
        if head.text in macros:
            body = macros[head.text][1]
            if body.replace(" ", "") in ("((void)0)", "(void)0", ""):
                continue
            if body.strip() == "__VA_ARGS__":
                pa, pb = pa + 2, pb - 1
        calls = list(_calls(p, pa, pb))
        if not calls:
            continue
        callee, args = calls[0]
        stream_args = [(k, arg[0]) for k, arg in enumerate(args) if len(arg) == 1 and arg[0] in uses]
        if not stream_args:
            continue
        n_proc += 1
        cands = [r for r in roles.get(callee, []) if len(r["params"]) == len(args)]
        if not cands:
            unknown.append(callee)
            continue
        r = cands[0]
        for k, s in stream_args:
            arg_order[(n_proc, s)] = k
            acc = r.get(r["params"][k], set())
            for kind in acc:
                uses[s][kind].append((n_proc, toks[pa].where, callee))
            if not acc:
                out.append(Violation("streams", toks[pa].where,
                                     f"{callee}() neither reads nor writes stream {s}"))
    for s, u in uses.items():
        where = (streams.get(s) or ports.get(s)).tok.where
        if s in ports:
            if u["read"] and u["write"]:
                out.append(Violation("streams", where, f"top-level stream {s} is both read and "
                                     "written in the DATAFLOW region"))
            n = len(u["read"]) + len(u["write"])
            if n > 1:
                names = ", ".join(f"{c} at {w}" for _, w, c in u["read"] + u["write"])
                out.append(Violation("streams", where, f"top-level stream {s} is accessed by {n} "
                                     f"processes ({names}); exactly one may"))
            continue
        for kind, role in (("write", "producer"), ("read", "consumer")):
            if len(u[kind]) != 1:
                names = ", ".join(f"{c} at {w}" for _, w, c in u[kind]) or "none"
                out.append(Violation("streams", where, f"stream {s} has {len(u[kind])} {role}s "
                                     f"({names}); a DATAFLOW channel has exactly one"))
        if len(u["write"]) == 1 and len(u["read"]) == 1 and u["write"][0][0] > u["read"][0][0]:
            out.append(Violation("streams", where, f"stream {s} is read ({u['read'][0][1]}) before "
                                 f"it is written ({u['write'][0][1]}): data must flow forward"))
    for c in sorted(set(unknown)):
        out.append(Violation("streams", top.tok.where, f"process {c}() is not defined in the "
                             "synthesis branch: its stream accesses are unknown"))
    rep = {s["name"] for s in p.report.get("streams", [])}
    missing = sorted(rep - set(streams))
    for s in missing:
        out.append(Violation("streams", top.tok.where, f"report.json lists stream {s}, which "
                             f"{p.name}() does not declare"))
    typed = _stream_types(p, streams, uses, arg_order, out)
    return (f"{len(streams)} internal streams and {len(ports)} ports over {n_proc} processes "
            "(readers and writers from the top function's process calls and each library "
            "function's stream reads/writes; stream list cross-checked with report.json; "
            f"{typed} edges: producer's output type = consumer's input type = declared word)")


# Kernels that read and write one word type (codes pass through).
_PASS_THROUGH = ("pad", "swg", "fork", "resize", "upsample", "crop")


def _lane_bits(cpp: str) -> int | None:
    """Bits of a lane type as report.json spells it ('ap_int<9>')."""
    return ap_width(cpp.replace("<", " < ").replace(">", " > ").split(), {})


def _stream_types(p: Project, streams: dict, uses: dict, arg_order: dict,
                  out: list[Violation]) -> int:
    """Every edge carries one type: report.json's stream type (lanes x lane
    type) is the word the top declares, the type its producing kernel says it
    writes and the type its consuming kernel says it reads (report.json
    layers, which are the top's processes in order after axis_in); a
    pass-through kernel (padding, window, fork, lane converter) reads and
    writes the same lane type. Returns the number of edges checked."""
    layers = p.report.get("layers", [])
    info = {s["name"]: s for s in p.report.get("streams", [])}
    checked = 0
    for lay in layers:
        if lay.get("kind") in _PASS_THROUGH and lay["in"]["type"] != lay["out"]["type"]:
            out.append(Violation("streams", p.top.tok.where,
                                 f"kernel {lay['id']} ({lay['kind']}) reads {lay['in']['type']} "
                                 f"lanes but writes {lay['out']['type']}: its input and output "
                                 "are one word type"))

    # Processes 1..n are the axis_in of the n input ports.
    n_in = len({x[0] for v in uses.values() for x in v["write"] if x[2] == "axis_in"}) or 1

    def layer_of(proc: int):
        k = proc - 1 - n_in
        return layers[k] if 0 <= k < len(layers) else None

    for name, d in streams.items():
        s = info.get(name)
        if s is None:
            continue
        where = d.tok.where
        lane = _lane_bits(s["type"])
        declared = ap_width(d.type[d.type.index("<") + 1:] if "<" in d.type else d.type, {})
        if lane is not None and declared is not None and declared != lane * s["lanes"]:
            out.append(Violation("streams", where, f"stream {name} is declared "
                                 f"ap_uint<{declared}> but carries {s['lanes']} x {s['type']} "
                                 f"({lane * s['lanes']} bits) per report.json"))
        u = uses.get(name, {})
        for kind, side in (("write", "out"), ("read", "in")):
            if len(u.get(kind, [])) != 1:
                continue
            lay = layer_of(u[kind][0][0])
            if lay is None:
                continue
            # A join's second input (add, concat) is not the layer's "in".
            proc = u[kind][0][0]
            mine = [n for n, v in uses.items() if any(x[0] == proc for x in v[kind])]
            first = sorted(mine, key=lambda n: arg_order.get((proc, n), 0))[:1]
            if first != [name] and lay.get("kind") not in _PASS_THROUGH:
                continue
            if lay[side]["type"] != s["type"]:
                role = "writes" if kind == "write" else "reads"
                out.append(Violation("streams", where, f"stream {name} carries {s['type']} "
                                     f"lanes, but kernel {lay['id']} {role} it as "
                                     f"{lay[side]['type']}"))
        checked += 1
    return checked
