"""The C preprocessor of `hlsgen lint`: the project's own files, line for line,
with comments removed; #if/#ifdef/#ifndef/#elif/#else/#endif, #define/#undef,
#include "..." of project files and #error evaluated with the synthesis
macros defined; external headers (ap_int.h, <vector>...) recorded as events,
not read."""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path


_COMMENT_RE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
# Headers Vitis HLS provides (so __has_include finds them there).
_VITIS_HEADERS = {"ap_int.h", "ap_fixed.h", "hls_stream.h", "ap_axi_sdata.h", "hls_math.h",
                  "hls_vector.h", "ap_shift_reg.h"}
AP_HEADERS = {"ap_int.h", "ap_fixed.h", "hls_stream.h", "ap_axi_sdata.h"}


def _strip_comments(text: str) -> str:
    def repl(m):
        s = m.group(0)
        if s.startswith("/"):
            return "\n" * s.count("\n") if s.startswith("/*") else ""
        return s
    return _COMMENT_RE.sub(repl, text)


@dataclass
class SourceFile:
    rel: str
    lines: list[str]        # active code, inactive lines blank (line numbers kept)


class Preprocessor:
    """Evaluates #if/#ifdef/#ifndef/#elif/#else/#endif, #define/#undef and
    #include "..." of the project's own files, with the synthesis macros
    defined. External headers (ap_int.h, <vector>...) are recorded, not read."""

    def __init__(self, root: Path, include_dirs: list[Path], defines: dict[str, str]):
        self.root = root
        self.include_dirs = include_dirs
        self.macros: dict[str, tuple[list[str] | None, str]] = {
            k: (None, v) for k, v in defines.items()}
        self.files: list[SourceFile] = []
        self.seen: set[Path] = set()
        self.events: list[tuple[str, str, str]] = []  # (kind, name, where) in TU order
        self.errors: list[str] = []
        self.missing: list[tuple[str, str]] = []   # quoted includes found nowhere

    def rel(self, p: Path) -> str:
        try:
            return str(p.resolve().relative_to(self.root.resolve()))
        except ValueError:
            return str(p)

    def find(self, name: str, current: Path) -> Path | None:
        for d in [current.parent, *self.include_dirs]:
            p = d / name
            if p.is_file():
                return p
        return None

    def run(self, path: Path) -> None:
        path = path.resolve()
        if path in self.seen:
            return
        self.seen.add(path)
        raw = path.read_text(errors="replace")
        text = _strip_comments(raw)
        phys = text.split("\n")
        out = [""] * len(phys)
        sf = SourceFile(self.rel(path), out)
        self.files.append(sf)
        stack: list[list[bool]] = []   # [active now, some branch taken, parent active]
        active = True
        i = 0
        while i < len(phys):
            line = phys[i]
            start = i
            if line.lstrip().startswith("#"):
                while line.endswith("\\") and i + 1 < len(phys):
                    i += 1
                    line = line[:-1] + " " + phys[i]
                d = line.strip()[1:].strip()
                m = re.match(r"(\w+)\s*(.*)", d)
                kw, rest = (m.group(1), m.group(2).strip()) if m else ("", "")
                where = f"{sf.rel}:{start + 1}"
                if kw in ("if", "ifdef", "ifndef"):
                    if kw == "ifdef":
                        cond = rest.split()[0] in self.macros if rest else False
                    elif kw == "ifndef":
                        cond = rest.split()[0] not in self.macros if rest else False
                    else:
                        cond = self.eval_if(rest, path)
                    stack.append([active and cond, cond, active])
                    active = active and cond
                elif kw == "elif":
                    top = stack[-1]
                    cond = (not top[1]) and self.eval_if(rest, path)
                    top[0] = top[2] and cond
                    top[1] = top[1] or cond
                    active = top[0]
                elif kw == "else":
                    top = stack[-1]
                    top[0] = top[2] and not top[1]
                    top[1] = True
                    active = top[0]
                elif kw == "endif":
                    top = stack.pop()
                    active = top[2]
                elif active and kw == "define":
                    m2 = re.match(r"(\w+)(\(([^)]*)\))?\s*(.*)", rest)
                    if m2:
                        params = [p.strip() for p in m2.group(3).split(",")] if m2.group(2) else None
                        self.macros[m2.group(1)] = (params, m2.group(4).strip())
                        self.events.append(("define", m2.group(1), where))
                elif active and kw == "undef":
                    self.macros.pop(rest.split()[0], None)
                elif active and kw == "include":
                    m2 = re.match(r'"([^"]+)"|<([^>]+)>', rest)
                    if m2 and m2.group(1):
                        found = self.find(m2.group(1), path)
                        if found is not None and self.is_project(found):
                            self.events.append(("include", m2.group(1), where))
                            self.run(found)
                        else:
                            self.events.append(("external", m2.group(1), where))
                            if found is None and m2.group(1) not in _VITIS_HEADERS:
                                self.missing.append((m2.group(1), where))
                    elif m2:
                        self.events.append(("system", m2.group(2), where))
                elif active and kw == "pragma":
                    out[start] = "#pragma " + rest
                elif active and kw == "error":
                    self.errors.append(f"{where}: #error {rest}")
            elif active:
                out[i] = line
            i += 1

    def is_project(self, p: Path) -> bool:
        try:
            p.resolve().relative_to(self.root.resolve())
            return True
        except ValueError:
            return False

    def eval_if(self, expr: str, path: Path) -> bool:
        def has_include(m):
            name = m.group(1) or m.group(2)
            return "1" if (name in _VITIS_HEADERS or self.find(name, path)) else "0"
        e = re.sub(r'__has_include\s*\(\s*(?:"([^"]+)"|<([^>]+)>)\s*\)', has_include, expr)
        e = re.sub(r"defined\s*\(\s*(\w+)\s*\)|defined\s+(\w+)",
                   lambda m: "1" if (m.group(1) or m.group(2)) in self.macros else "0", e)
        for _ in range(5):
            e2 = re.sub(r"\b([A-Za-z_]\w*)\b", lambda m: self.macros.get(m.group(1), (None, "0"))[1]
                        or "1" if m.group(1) in self.macros else "0", e)
            if e2 == e:
                break
            e = e2
        e = e.replace("&&", " and ").replace("||", " or ")
        e = re.sub(r"!(?!=)", " not ", e)
        e = re.sub(r"(\d+)[uUlL]+", r"\1", e)
        try:
            return bool(eval(e, {"__builtins__": {}}, {}))
        except Exception:
            self.errors.append(f"cannot evaluate #if {expr}")
            return False
