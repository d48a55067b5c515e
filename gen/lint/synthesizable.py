"""Rule `synthesizable`: no dynamic memory, standard containers or
operating-system calls in the synthesis branch, and no cycle in its call
graph (recursion)."""

from __future__ import annotations

from hlsgen.lint.project import Project, reachable
from hlsgen.lint.report import Violation
from hlsgen.lint.scan import Function, qual_name
from hlsgen.lint.tokens import match_angle


_CONTAINERS = {"vector", "list", "deque", "map", "set", "multimap", "multiset", "unordered_map",
               "unordered_set", "string", "basic_string", "stack", "queue", "priority_queue",
               "forward_list", "shared_ptr", "unique_ptr", "function", "thread", "mutex",
               "lock_guard", "array_view", "ostringstream", "stringstream"}
_DYNAMIC = {"malloc", "calloc", "realloc", "free", "alloca", "posix_memalign", "aligned_alloc"}
_FILE_IO = {"fopen", "fread", "fwrite", "fclose", "fprintf", "fscanf", "exit", "abort", "system",
            "getenv"}


def rule_synthesizable(p: Project, out: list[Violation]) -> str:
    toks = p.toks
    reach = reachable(p)
    for i, t in enumerate(toks):
        if t.kind != "id":
            continue
        nxt = toks[i + 1].text if i + 1 < len(toks) else ""
        prev = toks[i - 1].text if i else ""
        if t.text in ("new", "delete") and prev not in ("operator", ".", "->", "::"):
            out.append(Violation("synthesizable", t.where,
                                 f"'{t.text}': dynamic memory allocation cannot be synthesized"))
        elif t.text in _DYNAMIC and nxt == "(" and prev not in (".", "->"):
            out.append(Violation("synthesizable", t.where,
                                 f"{t.text}(): dynamic memory allocation cannot be synthesized"))
        elif t.text in _FILE_IO and nxt == "(" and prev not in (".", "->"):
            out.append(Violation("synthesizable", t.where,
                                 f"{t.text}(): operating-system calls cannot be synthesized"))
        elif t.text in _CONTAINERS and prev == "::" and i >= 2 and toks[i - 2].text == "std":
            out.append(Violation("synthesizable", t.where,
                                 f"std::{t.text}: standard containers allocate dynamically and "
                                 "cannot be synthesized"))
    for kind, name, at in p.pre.events:
        if kind == "system" and name in _CONTAINERS | {"memory", "functional", "sstream", "thread",
                                                      "mutex", "unordered_map", "unordered_set"}:
            out.append(Violation("synthesizable", at,
                                 f"#include <{name}> in the synthesis branch (standard library "
                                 "containers cannot be synthesized; guard it with "
                                 "#ifndef __SYNTHESIS__)"))
    # Recursion: cycles in the call graph of the functions defined here.
    by_name: dict[str, list[Function]] = {}
    for f in reach:
        by_name.setdefault(f.name, []).append(f)
    edges: dict[int, set[int]] = {}
    fid = {id(f): f for f in reach}
    for f in reach:
        a, b = f.body
        calls = set()
        for i in range(a, b):
            t = toks[i]
            if t.kind != "id" or t.text not in by_name:
                continue
            j = i + 1
            if j < b and toks[j].text == "<":
                j = match_angle(toks, j) + 1
            if j >= b or toks[j].text != "(":
                continue
            qual = toks[i - 2].text if toks[i - 1].text == "::" else (
                toks[i - 3].text if toks[i - 1].text == "template" and toks[i - 2].text == "::"
                else None)
            member_call = toks[i - 1].text in (".", "->")
            for g in by_name[t.text]:
                if qual is not None and qual not in ("hlsgen", "tiled") and g.scope != qual:
                    if qual in p.prog.structs or g.scope is not None:
                        continue
                if qual is None and not member_call and g.scope is not None and g.scope != f.scope:
                    continue
                if member_call and g.scope is None:
                    continue
                calls.add(id(g))
        edges[id(f)] = calls
    reported = set()
    for start in edges:
        stack, seen = [(start, [start])], {start}
        while stack:
            node, path = stack.pop()
            for nxt in edges.get(node, ()):
                if nxt == start and start not in reported:
                    reported.update(path)
                    names = " -> ".join(qual_name(fid[x]) for x in path + [start])
                    out.append(Violation("synthesizable", fid[start].tok.where,
                                         f"recursion {names}: recursive functions cannot be "
                                         "synthesized"))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return (f"{len(reach)} functions reachable from {p.name}() in the synthesis branch "
            "(host code under #ifndef __SYNTHESIS__ excluded)")
