"""The project as lint reads it: load() preprocesses firmware/<name>.cpp with the
synthesis macros, tokenizes and scans it, finds the top function and where
AP_INT_MAX_W is defined; reachable() lists the functions of the synthesis
branch (the top and what it may call)."""

from __future__ import annotations

import json
import re
from dataclasses import dataclass, field
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.lint.preprocess import AP_HEADERS, Preprocessor
from hlsgen.lint.scan import Function, Program
from hlsgen.lint.tokens import Tok, tokenize


@dataclass
class Project:
    folder: Path
    name: str
    arch: str
    report: dict
    pre: Preprocessor
    toks: list[Tok]
    prog: Program
    top: Function | None
    ap_max_w: int | None
    ap_max_w_where: str | None
    ap_max_w_late: str | None
    cache: dict = field(default_factory=dict)


def load(folder: Path) -> Project:
    folder = Path(folder)
    if not folder.is_dir():
        raise HlsgenError(f"project folder '{folder}' does not exist; give a folder written by "
                          "`hlsgen generate`")
    man = folder / "hlsgen.json"
    try:
        manifest = json.loads(man.read_text())
        name = manifest["name"]
    except (OSError, ValueError, KeyError):
        raise HlsgenError(f"'{folder}' has no readable hlsgen.json; give a folder written by "
                          "`hlsgen generate`")
    top_cpp = folder / "firmware" / f"{name}.cpp"
    if not top_cpp.is_file():
        raise HlsgenError(f"'{folder}' has no firmware/{name}.cpp; regenerate the project with "
                          "`hlsgen generate`")
    try:
        report = json.loads((folder / "report.json").read_text())
    except (OSError, ValueError):
        report = {}
    defines = {"__SYNTHESIS__": "1", "HLSGEN_SYNTHESIS": "1", "__cplusplus": "201402"}
    tcl = folder / "build_prj.tcl"
    flag_w = None
    if tcl.is_file():
        m = re.search(r'add_files\s+\S*firmware/\S+\.cpp[^\n]*-DAP_INT_MAX_W=(\d+)', tcl.read_text())
        if m:
            flag_w = int(m.group(1))
            defines["AP_INT_MAX_W"] = m.group(1)
    pre = Preprocessor(folder, [folder / "firmware"], defines)
    pre.run(top_cpp)
    toks = tokenize(pre.files)
    prog = Program(toks)
    tops = [f for f in prog.functions if f.name == name and f.scope is None]
    # AP_INT_MAX_W: defined (cflags, or #define) before the first ap header.
    max_w, where, late = flag_w, ("build_prj.tcl -cflags" if flag_w else None), None
    first_ap = None
    for kind, nm, at in pre.events:
        if kind == "external" and nm in AP_HEADERS and first_ap is None:
            first_ap = at
        if kind == "define" and nm == "AP_INT_MAX_W":
            v = pre.macros.get("AP_INT_MAX_W", (None, ""))[1]
            if first_ap is None:
                max_w, where = (int(v) if v.isdigit() else None), at
            else:
                late = at
    return Project(folder, name, report.get("arch", manifest.get("arch", "dataflow")), report,
                   pre, toks, prog, tops[0] if tops else None, max_w, where, late)


def reachable(p: Project) -> list[Function]:
    """Functions of the synthesis branch: the top and everything it may call (by name)."""
    if p.top is None:
        return list(p.prog.functions)
    by_name: dict[str, list[Function]] = {}
    for f in p.prog.functions:
        by_name.setdefault(f.name, []).append(f)
    seen, todo = {id(p.top): p.top}, [p.top]
    toks = p.toks
    while todo:
        f = todo.pop()
        a, b = f.body
        for i in range(a, b):
            t = toks[i]
            if t.kind == "id" and t.text in by_name:
                for g in by_name[t.text]:
                    if id(g) not in seen:
                        seen[id(g)] = g
                        todo.append(g)
            if t.text == "(" and toks[i - 1].kind == "id":
                for g in by_name.get("operator()", []):
                    if id(g) not in seen:
                        seen[id(g)] = g
                        todo.append(g)
    # struct methods are reached through their objects: include every method of
    # a struct whose name appears in the reached code or the params headers.
    used = {t.text for t in toks if t.kind == "id"}
    for s in p.prog.structs.values():
        if s.name in used:
            for ms in s.methods.values():
                for g in ms:
                    seen.setdefault(id(g), g)
    return list(seen.values())
