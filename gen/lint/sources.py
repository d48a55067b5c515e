"""Rule `sources`: the translation unit is complete (quoted #includes found,
no #error, #if evaluable) and its brackets balance (unbalanced(): the other
rules would read nonsense)."""

from __future__ import annotations

from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation


def unbalanced(p: Project) -> list[Violation]:
    """Files of the translation unit whose brackets do not balance (the rest
    of the checks would read nonsense)."""
    out = []
    depth: dict[str, list] = {}
    for t in p.toks:
        if t.text in ("{", "(", "["):
            depth.setdefault(t.file, []).append(t)
        elif t.text in ("}", ")", "]"):
            stack = depth.setdefault(t.file, [])
            want = {"}": "{", ")": "(", "]": "["}[t.text]
            if not stack or stack[-1].text != want:
                out.append(Violation("sources", t.where, f"unmatched '{t.text}'"))
                depth[t.file] = []
                continue
            stack.pop()
    for stack in depth.values():
        if stack:
            out.append(Violation("sources", stack[-1].where, f"'{stack[-1].text}' is never closed"))
    return out


def rule_sources(p: Project, out: list[Violation]) -> str:
    for name, where in p.pre.missing:
        out.append(Violation("sources", where, f'#include "{name}": no such file in the project '
                             "(nor a Vitis HLS header)"))
    for msg in p.pre.errors:
        out.append(Violation("sources", msg.split(": ")[0], msg))
    return (f"{len(p.pre.files)} project files in the translation unit of firmware/{p.name}.cpp; "
            "external headers: " + ", ".join(sorted({n for k, n, _ in p.pre.events
                                                      if k in ("external", "system")})))
