"""Whether an expression of a function is a compile-time constant without a
binding (template parameters, enums, static and global constants, variables
set once to a constant), and the parameters a body sets once to a constant."""

from __future__ import annotations

import re

from hlsgen.lint.consteval import Evaluator
from hlsgen.lint.project import Project
from hlsgen.lint.scan import Function


def is_const_expr(p: Project, f: Function, toks: list[str], before: int | None = None,
                   depth: int = 0) -> bool:
    """Whether toks is a compile-time constant in function f (binding-free)."""
    struct = p.prog.structs.get(f.scope) if f.scope else None
    k = 0
    while k < len(toks):
        t = toks[k]
        if re.match(r"\d|0x", t) or not re.match(r"[A-Za-z_]", t) or t in (
                "true", "false", "sizeof", "unsigned", "int", "long", "static_cast"):
            k += 1
            continue
        # qualified name X::Y: constant when X is a template parameter or a type
        if k + 1 < len(toks) and toks[k + 1] == "::":
            k += 3
            while k < len(toks) and toks[k] == "::":
                k += 2
            continue
        if t in f.tparams or t in p.prog.enums or t in f.static_consts:
            k += 1
            continue
        if struct is not None and (t in struct.tparams or t in struct.statics):
            k += 1
            continue
        if depth < 3 and ("~" + t) in f.static_consts and is_const_expr(
                p, f, f.static_consts["~" + t], None, depth + 1):
            k += 1
            continue
        g = p.prog.globals.get(t)
        if g is not None and "const" in g.type:
            k += 1
            continue
        if depth < 3 and _single_const_assignment(p, f, t, before):
            k += 1
            continue
        return False
    return True


def _single_const_assignment(p: Project, f: Function, name: str, before: int | None) -> bool:
    """A variable (e.g. a parameter) whose every write in f is `name = CONST;`,
    the first at the body's top level before `before` (e.g. lanes_m = Cfg::TM)."""
    toks = p.toks
    a, b = f.body
    writes = []
    for i in range(a, b):
        if toks[i].text == name and i + 1 < b:
            nxt = toks[i + 1].text
            prev = toks[i - 1].text
            if nxt in ("=", "+=", "-=", "*=", "/=", "++", "--", "<<=", ">>=", "|=", "&=") or \
                    prev in ("++", "--", "&"):
                writes.append(i)
    if not writes:
        return False
    for i in writes:
        if toks[i + 1].text != "=" or toks[i - 1].text not in (";", "{", "}"):
            return False
        j = i + 2
        while toks[j].text != ";":
            j += 1
        if not is_const_expr(p, f, [t.text for t in toks[i + 2:j]], None, 3):
            return False
    first = writes[0]
    return p.prog.loop_at(f, first) is None and (before is None or first < before)


def const_assignments(p: Project, f: Function, binding: dict) -> None:
    """Adds to binding the parameters of f set once to a constant in its body
    (e.g. `lanes_m = Cfg::TM;` in the synthesis branch)."""
    toks = p.toks
    for d in f.params:
        if d.dims or not d.name or not _single_const_assignment(p, f, d.name, None):
            continue
        a, b = f.body
        i = next(i for i in range(a, b) if toks[i].text == d.name and toks[i + 1].text == "=")
        j = i + 2
        while toks[j].text != ";":
            j += 1
        v = Evaluator(p.prog, binding).value([t.text for t in toks[i + 2:j]])
        if v is not None:
            binding[d.name] = v
