"""Rule `partitions`, and the walk it rests on (PartitionAnalysis, shared with
`widths`): from the top through every function instance (template arguments
bound, helpers and requantization functors inlined), the accesses per cycle
of every array in each II=1 pipelined region against the ARRAY_PARTITION /
ARRAY_RESHAPE pragmas naming it; it also records the widths the library's
typedefs compute for each instance."""

from __future__ import annotations

from dataclasses import dataclass

from hlsgen.lint.consteval import Evaluator, bind_arg, find_struct, resolve_type, struct_binding
from hlsgen.lint.constness import const_assignments
from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation
from hlsgen.lint.scan import KEYWORDS, Decl, Function, Loop, Struct, qual_name
from hlsgen.lint.tokens import Tok, match_angle, match_close, split_commas, subscripts


MEMORY_PORTS = 2              # a (dual-port) block or distributed RAM / ROM
AUTO_COMPLETE_THRESHOLD = 4   # UG1399 config_array_partition -complete_threshold default


@dataclass
class _Ctx:
    f: Function
    binding: dict
    arrays: dict            # local name -> (array id, dims exprs, index prefix, binding)
    taint: dict             # scalar name -> set of unrolled loop keys
    mult: dict              # unrolled loop key -> trip count


def partition_analysis(p: Project) -> "PartitionAnalysis":
    """The instance walk from the top function, shared by the rules."""
    if "analysis" not in p.cache:
        an = PartitionAnalysis(p)
        an.run()
        p.cache["analysis"] = an
    return p.cache["analysis"]


def rule_partitions(p: Project, out: list[Violation]) -> str:
    an = partition_analysis(p)
    seen = set()
    for key, v in an.found.items():
        if key in seen:
            continue
        seen.add(key)
        out.append(v)
    return (f"{an.loops} II=1 pipelined regions in {len(an.instances)} function instances "
            "reached from the top: every array access "
            "counted per cycle (unrolled lanes, through inlined helpers and requantization "
            "functors) against its ARRAY_PARTITION/ARRAY_RESHAPE pragmas; 2 ports per memory")


class PartitionAnalysis:
    def __init__(self, p: Project):
        self.p = p
        self.found: dict[tuple, Violation] = {}
        self.loops = 0
        self.instances: set = set()
        self.done: set = set()
        # widths computed by the library's templates: (where, what) -> bits
        self.widths: dict[tuple[str, str], int] = {}

    def scope_binding(self, f: Function, binding: dict) -> dict:
        """binding plus f's local typedefs, static constants and constant
        assignments; records the widths its typedefs compute."""
        prog = self.p.prog
        b = dict(binding)
        for n, t in f.typedefs.items():
            b[n] = t
        for n, e in f.static_consts.items():
            if not n.startswith("~"):
                v = Evaluator(prog, b).value(e)
                if v is not None:
                    b[n] = v
        const_assignments(self.p, f, b)
        for n, t in f.typedefs.items():
            self.record_width(f.typedef_toks[n], f"{n} in {qual_name(f)}()", t, b)
        return b

    def record_width(self, tok: Tok, what: str, spelled: list[str], binding: dict) -> None:
        r = resolve_type(self.p.prog, spelled, binding)
        if isinstance(r, tuple) and r[0] == "ap" and isinstance(r[2], int):
            key = (tok.where, what)
            self.widths[key] = max(self.widths.get(key, 0), r[2])

    def struct_scope(self, s: Struct, args: list) -> dict:
        st, sargs = find_struct(self.p.prog, s.name, args)
        sb = struct_binding(self.p.prog, st or s, sargs)
        for n, t in (st or s).typedefs.items():
            if n in (st or s).typedef_toks:
                self.record_width((st or s).typedef_toks[n], f"{s.name}::{n}", t, sb)
        return sb

    def run(self) -> None:
        p = self.p
        if p.top is None:
            return
        self.visit(p.top, {}, 0)

    # Walks a function outside pipelined loops, looking for pipelined loops
    # and calls with known template arguments.
    def visit(self, f: Function, binding: dict, depth: int) -> None:
        key = (id(f), repr(sorted((k, repr(v)) for k, v in binding.items())))
        if key in self.done or depth > 8:
            return
        self.done.add(key)
        b = self.scope_binding(f, binding)
        pipelined = [lp for lp in f.loops if lp.pipelined()]
        whole = [pr for pr in f.pragmas if pr.name == "PIPELINE" and
                 self.p.prog.loop_at(f, pr.index) is None]
        if whole:   # a pipelined function: its body is one pipelined iteration
            pipelined = [Loop(f.body[0] - 1, f.body, None, None, None, False, pragmas=whole)]
        for lp in pipelined:
            if any(o is not lp and o.pipelined() and o.body[0] <= lp.start < o.body[1]
                   for o in pipelined):
                continue
            self.pipelined_loop(f, b, lp)
        # calls outside pipelined loops
        a, e = f.body
        for callee, args, i in self._calls_at(a, e):
            if any(lp.body[0] <= i < lp.body[1] for lp in pipelined):
                continue
            for g, gb in self.resolve_call(f, b, i, callee, args):
                if g is not f:
                    self.instances.add((g.name, repr(gb)))
                    self.visit(g, gb, depth + 1)

    def _calls_at(self, a: int, e: int):
        toks = self.p.toks
        i = a
        while i < e:
            t = toks[i]
            if t.kind == "id" and t.text not in KEYWORDS:
                j = i + 1
                targs = None
                if j < e and toks[j].text == "<" and self.p.prog.is_template(t.text):
                    k = match_angle(toks, j)
                    targs = [[x.text for x in toks[pa:pb]] for pa, pb in split_commas(toks, j + 1, k)]
                    j = k + 1
                if j < e and toks[j].text == "(":
                    k = match_close(toks, j, "(", ")")
                    args = [[x.text for x in toks[pa:pb]] for pa, pb in split_commas(toks, j + 1, k)]
                    yield (t.text, targs), args, i
            i += 1

    def arg_type(self, f: Function, binding: dict, arg: list[str]):
        """Type of an argument expression: a variable, or `T()`."""
        prog = self.p.prog
        if len(arg) == 1:
            name = arg[0]
            d = next((x for x in f.params if x.name == name), None) or f.locals.get(name) \
                or prog.globals.get(name)
            if d is not None and not d.dims:
                return resolve_type(prog, [x for x in d.type if x not in ("*",)], binding)
        if len(arg) >= 3 and arg[-2:] == ["(", ")"]:
            return resolve_type(prog, arg[:-2], binding)
        return None

    def resolve_call(self, f: Function, binding: dict, i: int, callee, args):
        """[(function, binding)] for a call at toks[i]."""
        name, targs = callee
        prog, toks = self.p.prog, self.p.toks
        prev = toks[i - 1].text
        cands = []
        if prev in (".", "->"):
            obj = toks[i - 2].text
            if toks[i - 2].text == "template":
                obj = toks[i - 4].text
            t = self.arg_type(f, binding, [obj])
            if isinstance(t, tuple) and t[0] == "struct":
                s = prog.structs.get(t[1])
                if s:
                    sb = self.struct_scope(s, t[2])
                    cands = [(g, sb) for g in s.methods.get(name, [])]
        elif prev == "::" or (prev == "template" and toks[i - 2].text == "::"):
            q = toks[i - 2].text if prev == "::" else toks[i - 3].text
            t = binding.get(q)
            if isinstance(t, list):
                t = resolve_type(prog, t, binding)
            if t is None and q in prog.typedefs:
                t = resolve_type(prog, [q], binding)
            if t is None and q in prog.structs:
                t = ("struct", q, [])
            if isinstance(t, tuple) and t[0] == "struct":
                s = prog.structs.get(t[1])
                if s:
                    sb = self.struct_scope(s, t[2])
                    cands = [(g, sb) for g in s.methods.get(name, [])]
            elif q in ("hlsgen", "tiled"):
                cands = [(g, {}) for g in prog.functions if g.name == name and g.scope is None]
        else:
            # a functor object called: requant(...)
            t = self.arg_type(f, binding, [name])
            if isinstance(t, tuple) and t[0] == "struct":
                s = prog.structs.get(t[1])
                if s:
                    sb = self.struct_scope(s, t[2])
                    cands = [(g, sb) for g in s.methods.get("operator()", [])]
            else:
                cands = [(g, {}) for g in prog.functions if g.name == name and
                         (g.scope is None or g.scope == f.scope)]
        res = []
        for g, gb in cands:
            if len(g.params) != len(args) and not any(d.init for d in g.params):
                continue
            nb = dict(gb)
            if targs:
                for tp, ta in zip(g.tparams, targs):
                    nb[tp] = bind_arg(prog, ta, binding)
            # deduce template parameters from argument types
            for prm, arg in zip(g.params, args):
                ty = [x for x in prm.type if x not in ("const", "&", "typename")]
                if len(ty) == 1 and ty[0] in g.tparams and ty[0] not in nb and not prm.dims:
                    at = self.arg_type(f, binding, arg)
                    if at is not None:
                        nb[ty[0]] = at
            res.append((g, nb))
        return res[:1]

    def pipelined_loop(self, f: Function, binding: dict, lp: Loop) -> None:
        pr = lp.pipelined()
        ii = dict((k.lower(), v) for k, v in pr.args).get("ii", "1")
        if ii != "1":
            return
        self.loops += 1
        arrays = {}
        for d in f.params:
            if d.dims:
                arrays[d.name] = (("fn", id(f), d.name), d, [], binding, f, set())
        for n, d in f.locals.items():
            if d.dims and not (lp.body[0] <= self._decl_index(d) < lp.body[1]):
                arrays[n] = (("fn", id(f), n), d, [], binding, f, set())
        ctx = _Ctx(f, binding, arrays, {}, {})
        self.accesses: dict = {}
        self.scan(ctx, lp.body[0], lp.body[1], lp, 0)
        for aid, acc in self.accesses.items():
            total = sum(acc["reads"])
            if total > MEMORY_PORTS:
                d, fn = acc["decl"], acc["fn"]
                key = (aid, self.p.toks[lp.start].where)
                if key in self.found:
                    continue
                self.found[key] = Violation(
                    "partitions", self.p.toks[lp.start].where,
                    f"{acc['label']} ({d.tok.where}) is accessed {total} times per cycle in this "
                    f"II=1 pipelined region of {f.name}() ({acc['n']} access{'es' * (acc['n'] != 1)}"
                    f"{', ' + acc['why'] if acc['why'] else ''}) but one memory has {MEMORY_PORTS} "
                    "ports: " + (f"partition {', '.join(sorted(acc['need']))} (ARRAY_PARTITION/"
                                 "ARRAY_RESHAPE complete, or a factor covering the lanes)"
                                 if acc['need'] else "partition it completely or reduce the "
                                 "accesses") + (" (a local array: Vitis HLS 2023.1 and later may "
                                                "partition it by itself with config_array_partition "
                                                "-throughput_driven auto; the design should not "
                                                "depend on it)" if acc.get("local") else ""))

    def _decl_index(self, d: Decl) -> int:
        # Position of a declaration token in the token list.
        if not hasattr(self, "_index"):
            self._index = {id(t): k for k, t in enumerate(self.p.toks)}
        return self._index.get(id(d.tok), -1)

    def partitions(self, aid, decl: Decl, fn: Function, binding: dict) -> dict[int, int | str]:
        """dim (1-based) -> banks (an int, or 'all') from pragmas naming the array."""
        prog = self.p.prog
        name = decl.name
        pragmas = list(fn.pragmas) if fn else []
        if aid[0] == "member":
            s = prog.structs.get(aid[1])
            for ms in (s.methods.values() if s else []):
                for g in ms:
                    pragmas += g.pragmas
            pragmas += [pr for g in prog.functions for pr in g.pragmas]
        res: dict[int, int | str] = {}
        for pr in pragmas:
            if pr.name not in ("ARRAY_PARTITION", "ARRAY_RESHAPE"):
                continue
            keys = {k.lower(): v for k, v in pr.args if v is not None}
            var = keys.get("variable", "")
            if var.split(".")[-1] != name:
                continue
            if aid[0] == "fn" and var != name:
                continue
            ptype = keys.get("type") or next((k for k, v in pr.args if v is None and k in (
                "complete", "cyclic", "block")), "complete")
            ev = Evaluator(prog, binding)
            dim = ev.value([keys.get("dim", "1")])
            dim = 1 if dim is None else dim
            factor = ev.value([keys.get("factor", "1")])
            banks: int | str = "all" if ptype == "complete" else (factor or 1)
            for dd in ([dim] if dim else range(1, len(decl.dims) + 1)):
                res[dd] = banks
        return res

    def scan(self, ctx: _Ctx, a: int, e: int, lp: Loop | None, depth: int) -> None:
        """Accesses in toks[a:e] of ctx.f, inside a pipelined loop (everything
        nested is unrolled)."""
        if depth > 6:
            return
        p, toks = self.p, self.p.toks
        f = ctx.f
        ev = Evaluator(p.prog, ctx.binding)
        # unrolled loops nested here
        inner = [o for o in f.loops if a <= o.start < e and o is not lp]
        # local scalar taint (simple assignments)
        i = a
        while i < e:
            t = toks[i]
            # loops: register their variables with trip counts
            hit = next((o for o in inner if o.start == i), None)
            if hit is not None:
                if hit.var:
                    n = ev.value(hit.bound) if hit.bound else None
                    i0 = ev.value(hit.init) if hit.init else None
                    ctx.mult[(id(hit), depth)] = max(1, n - i0 + (1 if hit.inclusive else 0)) \
                        if n is not None and i0 is not None else 1
                    ctx.taint[hit.var] = {(id(hit), depth)}
                i = match_close(toks, i + 1, "(", ")") + 1
                continue
            if t.kind == "id" and i + 1 < e and toks[i + 1].text == "=" and toks[i - 1].kind in (
                    "id", "op") and toks[i - 1].text not in (".", "->", "["):
                j = i + 2
                while j < e and toks[j].text not in (";", ","):
                    j = match_close(toks, j, "(", ")") + 1 if toks[j].text == "(" else j + 1
                ctx.taint[t.text] = self.expr_taint(ctx, [x.text for x in toks[i + 2:j]])
            if t.kind == "id" and t.text in ctx.arrays and i + 1 < e and toks[i + 1].text == "[" \
                    and toks[i - 1].text not in (".", "->"):
                idx, j = subscripts(toks, i + 1, e)
                aid, decl, prefix, ab, fn, off = ctx.arrays[t.text]
                # a full element access, or a slice passed on (handled at the call)
                if len(prefix) + len(idx) >= len(decl.dims) or not self._is_call_arg(i, j):
                    taints = prefix + [self.expr_taint(ctx, x) for x in idx]
                    if off and len(taints) > len(prefix):
                        taints[len(prefix)] = taints[len(prefix)] | off
                    self.access(ctx, aid, decl, fn, taints, ab)
                i = j
                continue
            if t.kind == "id" and t.text not in KEYWORDS:
                # a call: inline it (member functions, functors, free functions)
                j = i + 1
                if j < e and toks[j].text == "<" and p.prog.is_template(t.text):
                    j = match_angle(toks, j) + 1
                if j < e and toks[j].text == "(" and t.text not in ctx.arrays:
                    k = match_close(toks, j, "(", ")")
                    targs = None
                    if toks[i + 1].text == "<":
                        ae = match_angle(toks, i + 1)
                        targs = [[x.text for x in toks[pa:pb]] for pa, pb in
                                 split_commas(toks, i + 2, ae)]
                    args = [(pa, pb) for pa, pb in split_commas(toks, j + 1, k)]
                    arg_txt = [[x.text for x in toks[pa:pb]] for pa, pb in args]
                    for g, gb in self.resolve_call(f, ctx.binding, i, (t.text, targs), arg_txt):
                        self.inline(ctx, g, gb, args, i, depth)
            i += 1

    def _is_call_arg(self, i: int, j: int) -> bool:
        toks = self.p.toks
        return toks[i - 1].text in ("(", ",", "+") and toks[j].text in (")", ",", "+")

    def expr_taint(self, ctx: _Ctx, e: list[str]) -> set:
        # `c ? a : b` with a constant condition picks a branch
        if "?" in e:
            q = e.index("?")
            cond = Evaluator(self.p.prog, ctx.binding).value(e[:q])
            if cond is not None and ":" in e[q:]:
                c = q + e[q:].index(":")
                return self.expr_taint(ctx, e[q + 1:c] if cond else e[c + 1:])
        out = set()
        for x in e:
            out |= ctx.taint.get(x, set())
        return out

    def access(self, ctx: _Ctx, aid, decl: Decl, fn, idx_taint: list[set], ab) -> None:
        lanes_keys = set().union(*idx_taint) if idx_taint else set()
        parts = self.partitions(aid, decl, fn, ab)
        ev = Evaluator(self.p.prog, ab)
        if decl.dims and all(parts.get(d) == "all" or ev.value(decl.dims[d - 1]) == 1
                             for d in range(1, len(decl.dims) + 1)):
            return      # completely partitioned: registers, no port limit
        local = aid[0] == "fn" and fn is not None and decl.name in fn.locals and \
            decl.name not in {d.name for d in fn.params}
        if local:
            sizes = [ev.value(x) for x in decl.dims]
            n = 1
            for x in sizes:
                n = n * x if (x is not None and n is not None) else None
            if n is not None and n < AUTO_COMPLETE_THRESHOLD:
                return  # Vitis HLS partitions local arrays this small completely
        covered_mult = 1
        uncovered = set()
        for key in lanes_keys:
            n = ctx.mult.get(key, 1)
            ok = False
            for d, s in enumerate(idx_taint, 1):
                if key in s and d in parts:
                    banks = parts[d]
                    size = ev.value(decl.dims[d - 1]) if d - 1 < len(decl.dims) else None
                    if banks == "all" or (isinstance(banks, int) and banks >= n) or \
                            (size is not None and isinstance(banks, int) and banks >= size):
                        ok = True
            if not ok:
                uncovered.add(key)
        reads = 1
        for key in uncovered:
            reads *= ctx.mult.get(key, 1)
        entry = self.accesses.setdefault(aid, {"reads": [], "decl": decl, "fn": fn, "need": set(),
                                               "why": "", "label": ""})
        entry["reads"].append(reads)
        entry.setdefault("n", 0)
        entry["n"] += 1
        label = (f"{aid[1]}::{decl.name}" if aid[0] == "member" else
                 f"array {decl.name} of {fn.name}()" if fn else decl.name)
        entry["label"] = label
        entry["local"] = local
        if reads > 1:
            dims = sorted({d for key in uncovered for d, s in enumerate(idx_taint, 1) if key in s})
            entry["need"] |= {f"dim {d}" for d in dims}
            entry["why"] = f"up to {max(entry['reads'])} lanes per access"

    def inline(self, ctx: _Ctx, g: Function, gb: dict, args, at: int, depth: int) -> None:
        p, toks = self.p, self.p.toks
        b = self.scope_binding(g, gb)
        arrays = {}
        taint = {}
        for prm, (pa, pb) in zip(g.params, args):
            arg = [x.text for x in toks[pa:pb]]
            if prm.dims or "*" in prm.type:
                # an array argument: `a`, `a[i]` (a slice) or `a + k` (a pointer offset,
                # added to the index of the next dimension)
                if arg and arg[0] in ctx.arrays:
                    aid, decl, prefix, ab, fn, off = ctx.arrays[arg[0]]
                    pre = list(prefix)
                    k = 1
                    while k < len(arg) and arg[k] == "[":
                        e = match_close(arg, k, "[", "]")
                        pre.append(self.expr_taint(ctx, arg[k + 1:e]) | (off if len(pre) ==
                                                                         len(prefix) else set()))
                        off = set() if len(pre) > len(prefix) else off
                        k = e + 1
                    arrays[prm.name] = (aid, decl, pre, ab, fn, off | self.expr_taint(ctx, arg[k:]))
            else:
                taint[prm.name] = self.expr_taint(ctx, arg)
        # member arrays of the callee's struct
        s = p.prog.structs.get(g.scope) if g.scope else None
        if s is not None:
            for mn, md in s.members.items():
                if md.dims:
                    arrays[mn] = (("member", s.name, mn), md, [], b, None, set())
        # the callee's loops are unrolled too (it is called in a pipelined loop)
        self.scan(_Ctx(g, b, arrays, taint, ctx.mult), g.body[0], g.body[1], None, depth + 1)
