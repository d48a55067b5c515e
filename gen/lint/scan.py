"""The C++ structure scanner: declarations (types, declarators, template
parameters), HLS pragmas, and the parsed program model (Program: functions
with their loops, pragmas, locals and typedefs; structs with members,
static constants, typedefs and methods; globals, enums), written for what
the generator emits."""

from __future__ import annotations

import re
from dataclasses import dataclass, field

from hlsgen.lint.tokens import (Tok, angle_end, match_angle, match_close, split_commas,
                                split_list, subscripts)


@dataclass
class Decl:
    name: str
    type: list[str]            # type tokens
    dims: list[list[str]]      # array dimension expressions (tokens)
    tok: Tok
    init: list[str] | None = None
    static_const: bool = False


@dataclass
class Pragma:
    tok: Tok
    name: str
    args: list[tuple[str, str | None]]   # (key, value) or (word, None)
    index: int


@dataclass
class Loop:
    start: int                # index of `for`
    body: tuple[int, int]     # token range of the body [a, b)
    var: str | None
    init: list[str] | None    # the loop variable's initial value
    bound: list[str] | None   # N of `var < N` / `var <= N` / `var != N`
    inclusive: bool
    cond: list[str] = field(default_factory=list)
    step: list[str] = field(default_factory=list)
    parent: "Loop | None" = None
    pragmas: list[Pragma] = field(default_factory=list)

    def pipelined(self) -> Pragma | None:
        for p in self.pragmas:
            if p.name == "PIPELINE" and not any(k.lower() == "off" for k, _ in p.args):
                return p
        return None

    def unrolled(self) -> Pragma | None:
        for p in self.pragmas:
            if p.name == "UNROLL" and not any(k.lower() in ("factor", "off") for k, _ in p.args):
                return p
        return None


@dataclass
class Struct:
    name: str
    tparams: list[str]
    members: dict[str, Decl] = field(default_factory=dict)
    statics: dict[str, list[str]] = field(default_factory=dict)
    typedefs: dict[str, list[str]] = field(default_factory=dict)
    methods: dict[str, list["Function"]] = field(default_factory=dict)
    tok: Tok | None = None
    typedef_toks: dict[str, Tok] = field(default_factory=dict)
    spec: list[list[str]] | None = None     # explicit specialisation's arguments
    tdefaults: dict[str, list[str]] = field(default_factory=dict)


@dataclass
class Function:
    name: str
    scope: str | None          # enclosing struct's name
    tparams: list[str]
    params: list[Decl]
    body: tuple[int, int]
    tok: Tok
    loops: list[Loop] = field(default_factory=list)
    pragmas: list[Pragma] = field(default_factory=list)
    locals: dict[str, Decl] = field(default_factory=dict)
    static_consts: dict[str, list[str]] = field(default_factory=dict)
    typedefs: dict[str, list[str]] = field(default_factory=dict)
    typedef_toks: dict[str, Tok] = field(default_factory=dict)


KEYWORDS = {"if", "for", "while", "switch", "return", "else", "do", "case", "break", "continue",
             "sizeof", "catch", "new", "delete", "goto", "default", "static_assert", "throw"}
_TYPE_WORDS = {"const", "static", "typename", "inline", "unsigned", "signed", "volatile",
               "constexpr", "struct", "class"}


def _template_defaults(toks: list[Tok], a: int, b: int) -> dict[str, list[str]]:
    """Default arguments of `template < ... >` within toks[a:b]."""
    for j in range(a, b):
        if toks[j].text == "template" and j + 1 < b and toks[j + 1].text == "<":
            e = match_angle(toks, j + 1)
            out = {}
            for pa, pb in split_commas(toks, j + 2, e):
                eq = next((k for k in range(pa, pb) if toks[k].text == "="), None)
                if eq is not None and toks[eq - 1].kind == "id":
                    out[toks[eq - 1].text] = [t.text for t in toks[eq + 1:pb]]
            return out
    return {}


def _template_params(toks: list[Tok], a: int, b: int) -> list[str]:
    """Names declared by `template < ... >` within toks[a:b]."""
    for j in range(a, b):
        if toks[j].text == "template" and j + 1 < b and toks[j + 1].text == "<":
            e = match_angle(toks, j + 1)
            names = []
            for pa, pb in split_commas(toks, j + 2, e):
                ids = [toks[k].text for k in range(pa, pb)
                       if toks[k].kind == "id" and toks[k].text not in _TYPE_WORDS]
                eq = next((k for k in range(pa, pb) if toks[k].text == "="), pb)
                ids = [toks[k].text for k in range(pa, eq) if toks[k].kind == "id"
                       and toks[k].text not in _TYPE_WORDS]
                if ids:
                    names.append(ids[-1])
            return names
    return []


_BUILTIN = {"int", "long", "short", "char", "bool", "float", "double", "void", "size_t",
            "i64", "int64_t", "uint64_t", "int32_t", "uint32_t", "auto"}


def _parse_type(toks: list[Tok], j: int, b: int) -> int:
    """End (exclusive) of a type starting at j, or j when there is none."""
    k = j
    while k < b and toks[k].text in ("const", "static", "typename", "volatile", "constexpr",
                                     "inline"):
        k += 1
    if k >= b or toks[k].kind != "id" or toks[k].text in KEYWORDS:
        return j
    if toks[k].text in ("unsigned", "signed"):
        k += 1
        while k < b and toks[k].text in ("int", "long", "short", "char"):
            k += 1
    elif toks[k].text in _BUILTIN:
        k += 1
        while k < b and toks[k].text in ("int", "long", "short", "char", "double"):
            k += 1
    else:
        k += 1
        while k < b:
            t = toks[k].text
            if t == "<":
                k = match_angle(toks, k) + 1
            elif t == "::" and k + 1 < b:
                k += 1
                if toks[k].text == "template":
                    k += 1
                k += 1
            else:
                break
    while k < b and toks[k].text in ("*", "&", "const"):
        k += 1
    return k


def _declarators(toks: list[Tok], a: int, b: int) -> list[Decl]:
    """Declarations in the statement toks[a:b] (without the `;`), else []."""
    if a >= b or toks[a].text in KEYWORDS or toks[a].kind != "id":
        return []
    te = _parse_type(toks, a, b)
    if te == a or te >= b or toks[te].kind != "id":
        return []
    type_toks = [t.text for t in toks[a:te]]
    static_const = "static" in type_toks and "const" in type_toks or "constexpr" in type_toks
    out = []
    for pa, pb in split_commas(toks, te, b):
        if toks[pa].kind != "id":
            if toks[pa].text in ("*", "&") and pa + 1 < pb:
                pa += 1
            else:
                return out
        name_tok = toks[pa]
        dims, k = subscripts(toks, pa + 1, pb)
        init = None
        if k < pb and toks[k].text == "=":
            init = [t.text for t in toks[k + 1:pb]]
        elif k < pb and toks[k].text == "(":
            init = [t.text for t in toks[k:pb]]
        elif k < pb:
            return out
        out.append(Decl(name_tok.text, type_toks, dims, name_tok, init, static_const))
    return out


def _parse_pragma(tok: Tok, index: int) -> Pragma | None:
    m = re.match(r"#pragma\s+HLS\s+(.*)", tok.text, re.I)
    if not m:
        return None
    rest = m.group(1).strip()
    words = re.findall(r"[\w.]+\s*=\s*[^\s=]+|[^\s=]+", re.sub(r"\s*=\s*", "=", rest))
    if not words:
        return Pragma(tok, "", [], index)
    name = words[0].upper()
    args = []
    for w in words[1:]:
        if "=" in w:
            k, v = w.split("=", 1)
            args.append((k.strip(), v.strip()))
        else:
            args.append((w, None))
    return Pragma(tok, name, args, index)


class Program:
    """The translation unit's functions, structs, typedefs, globals."""

    def __init__(self, toks: list[Tok]):
        self.toks = toks
        self.functions: list[Function] = []
        self.structs: dict[str, Struct] = {}
        self.typedefs: dict[str, list[str]] = {}
        self.typedef_toks: dict[str, Tok] = {}
        self.globals: dict[str, Decl] = {}
        self.enums: set[str] = set()
        self.global_pragmas: list[Pragma] = []
        self.specs: dict[str, list[Struct]] = {}
        self._scope(0, len(toks), None)

    # Namespace/struct level.
    def _scope(self, a: int, b: int, struct: Struct | None) -> None:
        toks = self.toks
        i = a
        start = a
        while i < b:
            t = toks[i]
            if t.kind == "pragma":
                p = _parse_pragma(t, i)
                if p:
                    self.global_pragmas.append(p)
                i += 1
                start = i
                continue
            if t.text in ("(", "["):
                i = match_close(toks, i, t.text, ")" if t.text == "(" else "]") + 1
                continue
            if t.text == "<" and start < i and toks[i - 1].text == "template":
                i = match_angle(toks, i) + 1
                continue
            if t.text == ";":
                self._declaration(start, i, struct)
                i += 1
                start = i
                continue
            if t.text in ("public", "private", "protected") and i + 1 < b and toks[i + 1].text == ":":
                i += 2
                start = i
                continue
            if t.text == "}":
                i += 1
                start = i
                continue
            if t.text == "{":
                e = match_close(toks, i, "{", "}")
                head = [x.text for x in toks[start:i]]
                if head[:2] == ["template", "<"]:    # default arguments hold '='
                    head = ["template"] + head[angle_end(head, 1) + 1:]
                if "=" in head:                      # an initialiser
                    j = e + 1
                    while j < b and toks[j].text != ";":
                        j += 1
                    self._declaration(start, j, struct)
                    i = j + 1
                elif "namespace" in head or (head[:1] == ["extern"]):
                    self._scope(i + 1, e, struct)
                    i = e + 1
                elif "enum" in head:
                    for k in range(i + 1, e):
                        if toks[k].kind == "id" and toks[k - 1].text in ("{", ","):
                            self.enums.add(toks[k].text)
                    i = e + 1
                    while i < b and toks[i].text != ";":
                        i += 1
                    i += 1
                elif ("struct" in head or "class" in head or "union" in head) and ")" not in head[-1:]:
                    kwi = max(k for k, h in enumerate(head) if h in ("struct", "class", "union"))
                    name = head[kwi + 1] if kwi + 1 < len(head) else "<anon>"
                    s = Struct(name, _template_params(toks, start, i), tok=toks[start + kwi],
                               tdefaults=_template_defaults(toks, start, i))
                    if kwi + 2 < len(head) and head[kwi + 2] == "<":
                        s.spec = split_list(head[kwi + 3:angle_end(head, kwi + 2)])
                        self.specs.setdefault(name, []).append(s)
                    else:
                        self.structs[name] = s
                    self._scope(i + 1, e, s)
                    i = e + 1
                    while i < b and toks[i].text != ";":
                        i += 1
                    i += 1
                else:
                    self._function(start, i, e, struct)
                    i = e + 1
                start = i
                continue
            i += 1

    def _declaration(self, a: int, b: int, struct: Struct | None) -> None:
        toks = self.toks
        if a >= b:
            return
        words = [t.text for t in toks[a:b]]
        if words[0] == "typedef":
            name = words[-1]
            if name == "]" or "(" in words:
                return     # array typedefs (compile-time checks), function types
            dst = struct.typedefs if struct else self.typedefs
            dst[name] = words[1:-1]
            if struct is not None:
                struct.typedef_toks[name] = toks[b - 1]
            else:
                self.typedef_toks[name] = toks[b - 1]
            return
        if words[0] == "using" and "=" in words:
            k = words.index("=")
            dst = struct.typedefs if struct else self.typedefs
            dst[words[1] if words[1] != "namespace" else words[2]] = words[k + 1:]
            return
        if words[0] in ("template", "using", "friend"):
            # template aliases / declarations: `template <int W> using axis_word = ...`
            if "using" in words and "=" in words:
                k = words.index("using")
                e = words.index("=")
                dst = struct.typedefs if struct else self.typedefs
                dst[words[k + 1]] = words[e + 1:]
            return
        for d in _declarators(toks, a, b):
            if struct is not None:
                if d.static_const and d.init is not None:
                    struct.statics[d.name] = d.init
                else:
                    struct.members[d.name] = d
            else:
                self.globals[d.name] = d

    def _function(self, a: int, lb: int, rb: int, struct: Struct | None) -> None:
        toks = self.toks
        # The parameter list: the last (...) before `{`, skipping a constructor's
        # initialiser list and trailing qualifiers.
        k = lb - 1
        while k > a and toks[k].text in ("const", "noexcept", "override"):
            k -= 1
        if toks[k].text != ")":
            return
        po = self._open_paren(k)
        name_i = po - 1
        # Constructor initialiser list: walk back to the ':' that starts it.
        if name_i > a and toks[name_i - 1].text in (",", ":") and toks[name_i - 1].text != "::":
            j = name_i - 1
            while j > a and not (toks[j].text == ":" and toks[j - 1].text == ")"):
                j -= 1
            k = j - 1
            po = self._open_paren(k)
            name_i = po - 1
        if name_i < a:
            return
        name = toks[name_i].text
        if name == ")" and toks[name_i - 1].text == "(" and toks[name_i - 2].text == "operator":
            name = "operator()"
        elif toks[name_i - 1].text == "operator":
            name = "operator" + name
        if name in KEYWORDS:
            return
        params = []
        for pa, pb in split_commas(toks, po + 1, k):
            ds = _declarators(toks, pa, pb)
            if ds:
                params.append(ds[0])
            else:
                params.append(Decl("", [t.text for t in toks[pa:pb]], [], toks[pa]))
        f = Function(name, struct.name if struct else None, _template_params(toks, a, name_i),
                     params, (lb + 1, rb), toks[name_i])
        self.functions.append(f)
        if struct is not None:
            struct.methods.setdefault(name, []).append(f)
        self._body(f)

    def _open_paren(self, k: int) -> int:
        depth = 0
        for j in range(k, -1, -1):
            t = self.toks[j].text
            if t == ")":
                depth += 1
            elif t == "(":
                depth -= 1
                if depth == 0:
                    return j
        return 0

    def _body(self, f: Function) -> None:
        toks = self.toks
        a, b = f.body
        loops: list[Loop] = []
        # Loops.
        for i in range(a, b):
            if toks[i].text == "for" and toks[i + 1].text == "(":
                he = match_close(toks, i + 1, "(", ")")
                semis = [j for j in range(i + 2, he) if toks[j].text == ";"]
                var, bound, incl, init_v, cond, step = None, None, False, None, [], []
                if len(semis) == 2:
                    init = toks[i + 2:semis[0]]
                    if any(t.text == "=" for t in init):
                        e = next(j for j, t in enumerate(init) if t.text == "=")
                        var = init[e - 1].text
                        init_v = [t.text for t in init[e + 1:]]
                    cond = [t.text for t in toks[semis[0] + 1:semis[1]]]
                    step = [t.text for t in toks[semis[1] + 1:he]]
                    if len(cond) >= 3 and cond[0] == var and cond[1] in ("<", "<=", "!=") and \
                            step in ([var, "++"], ["++", var], [var, "+=", "1"]):
                        bound = cond[2:]
                        incl = cond[1] == "<="
                bs = he + 1
                if toks[bs].text == "{":
                    be = match_close(toks, bs, "{", "}")
                    body = (bs + 1, be)
                else:
                    j = bs
                    while toks[j].text != ";":
                        j = match_close(toks, j, toks[j].text, ")") + 1 if toks[j].text == "(" else j + 1
                    body = (bs, j + 1)
                loops.append(Loop(i, body, var, init_v, bound, incl, cond, step))
        for lp in loops:
            enclosing = [o for o in loops if o is not lp and o.body[0] <= lp.start < o.body[1]]
            lp.parent = max(enclosing, key=lambda o: o.body[0]) if enclosing else None
        f.loops = loops
        # Pragmas, attached to the innermost loop whose body holds them.
        for i in range(a, b):
            if toks[i].kind == "pragma":
                p = _parse_pragma(toks[i], i)
                if p is None:
                    continue
                f.pragmas.append(p)
                holder = self.loop_at(f, i)
                if holder is not None:
                    holder.pragmas.append(p)
        # Declarations, statement by statement.
        start = a
        for i in range(a, b + 1):
            t = toks[i].text if i < b else ";"
            if t in (";", "{", "}") or (i < b and toks[i].kind == "pragma"):
                s = start
                if s < i and toks[s].text == "typedef" and toks[i - 1].kind == "id" \
                        and "(" not in [x.text for x in toks[s:i]] and toks[i - 2].text != "]":
                    f.typedefs[toks[i - 1].text] = [x.text for x in toks[s + 1:i - 1]]
                    f.typedef_toks[toks[i - 1].text] = toks[i - 1]
                    start = i + 1
                    continue
                while s < i and toks[s].text in ("(",):
                    s += 1
                if s < i and toks[s].text == "for":
                    s += 2
                for d in _declarators(toks, s, i):
                    f.locals.setdefault(d.name, d)
                    if d.static_const and d.init is not None:
                        f.static_consts[d.name] = d.init
                    elif "const" in d.type and d.init is not None and not d.dims:
                        f.static_consts.setdefault("~" + d.name, d.init)
                start = i + 1

    def is_template(self, name: str) -> bool:
        if not hasattr(self, "_templates"):
            self._templates = {f.name for f in self.functions if f.tparams} | {
                n for n, st in self.structs.items() if st.tparams} | {
                "ap_int", "ap_uint", "ap_fixed", "ap_ufixed", "axis_word", "stream"}
        return name in self._templates

    def loop_at(self, f: Function, i: int) -> Loop | None:
        inside = [lp for lp in f.loops if lp.body[0] <= i < lp.body[1]]
        return max(inside, key=lambda lp: lp.body[0]) if inside else None


def qual_name(f: Function) -> str:
    return f"{f.scope}::{f.name}" if f.scope else f.name
