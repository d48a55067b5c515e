"""`hlsgen lint`: the rules Vitis HLS enforces that can be checked without it.

The code checked is the synthesis branch of the project: the top function's
translation unit (firmware/<name>.cpp and every project header it includes)
as Vitis HLS sees it, i.e. with `__SYNTHESIS__` and `HLSGEN_SYNTHESIS`
defined, so host code guarded by `#ifndef __SYNTHESIS__` (parameter loaders,
caches, the testbench) is excluded. hlsgen's own sources are preprocessed
here, line for line (conditionals only, external headers not expanded), and
read by a small C++ structure scanner written for what the generator emits:
functions, structs, loops, pragmas, declarations, calls. Where a rule uses
the generator's structured output (report.json), its row says so.

Every violation names the rule, the place (file:line) and the document the
rule comes from (UG1399 Vitis HLS User Guide, UG1448 Vitis HLS Messaging,
PG021 AXI DMA).

    lint_project(folder, compilers=False) -> LintReport
    LintReport.ok, .rows (rule, status, detail), .violations (rule, where,
    message), .summary() (one line), .to_json() (for report.json "lint")
    format_report(report) -> str (what `hlsgen lint` prints)

How each rule is checked:
  sources        quoted #includes of the translation unit resolve in the project
  widths         literal ap_[u]int/ap_[u]fixed/axis_word widths, and widths the
                 library's templates compute (typedefs of every struct and
                 function instance reached from the top, evaluated with its
                 template arguments), against 1024 or AP_INT_MAX_W (defined
                 before the first ap header, or -D in build_prj.tcl), at most 4096
  interface-widths  the top function's ports and INTERFACE pragmas
  pragmas        every `#pragma HLS` of the synthesis branch: name, options,
                 integer or constant values, variables/ports declared, partition
                 dims within the array's
  trip-counts    loops inside pipelined loops/functions or under UNROLL:
                 initial value, condition and step compile-time constants
  synthesizable  tokens of the synthesis branch (new/delete, malloc..., std::
                 containers, file/OS calls) and cycles in its call graph
  streams        the DATAFLOW region's process calls; which stream arguments a
                 process reads or writes follows from the library function's
                 body (read()/write(), through calls); stream names cross-checked
                 with report.json's stream list
  partitions     a walk from the top through every instance (template arguments
                 bound, helpers and requantization functors inlined): in each
                 II=1 pipelined region, the accesses per cycle of every array
                 (lanes of the unrolled loops in its indices) against the
                 ARRAY_PARTITION/ARRAY_RESHAPE pragmas naming it
  compile        (compilers=True) clang++ and g++ -fsyntax-only -std=c++14
                 -DHLSGEN_SYNTHESIS on firmware/<name>.cpp
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path

from hlsgen.errors import HlsgenError
# The limits the generator designs to: one table, in gen/arch/dataflow/folding.py.
from hlsgen.arch.dataflow.folding import AP_INT_DEFAULT_MAX_W as AP_DEFAULT_MAX_W
from hlsgen.arch.dataflow.folding import AXIS_MAX_BITS
from hlsgen.arch.dataflow.folding import MAX_WORD_BITS as AP_ABSOLUTE_MAX_W

# --------------------------------------------------------------------------
# Rules and where they come from.

# rule -> (what it checks, where the rule comes from). UG1399: Vitis HLS User
# Guide; UG1448: Vitis HLS Messaging; PG021: AXI DMA product guide.
RULES: dict[str, tuple[str, str]] = {
    "sources": ("the synthesis branch's sources are complete (every quoted #include found)",
                "UG1399 'Coding C/C++ Functions'"),
    "widths": ("ap_int/ap_uint/ap_fixed widths: 1024 bits, or up to 4096 with AP_INT_MAX_W "
               "defined before ap_int.h",
               "UG1399 'Arbitrary Precision Integer Types'"),
    "interface-widths": ("top-level ports: AXI-Stream at most 1024 bits (the AXI DMA's stream "
                         "side), m_axi data and max_widen_bitwidth at most 1024",
                         "PG021 'AXI DMA' stream data width; UG1448 'Burst Inference Failure 14'"),
    "pragmas": ("known HLS pragma names, options and values; variables and ports that exist",
                "UG1399 'HLS Pragmas'"),
    "trip-counts": ("constant trip counts where loops are unrolled (inside pipelined loops and "
                    "functions, and under UNROLL)",
                    "UG1399 'pragma HLS pipeline', 'Function Pipelining', 'pragma HLS unroll'; "
                    "UG1448 200-936"),
    "synthesizable": ("no dynamic memory, standard containers, OS calls or recursion",
                      "UG1399 'Unsupported C/C++ Constructs' (Dynamic Memory Usage, Standard "
                      "Template Libraries, Recursive Functions)"),
    "streams": ("every stream of the DATAFLOW region: one producer, one consumer, forward",
                "UG1399 'Dataflow Optimization Limitations' (single-producer-consumer), "
                "'Canonical Forms'"),
    "partitions": ("arrays accessed in II=1 pipelined regions partitioned enough for their "
                   "accesses (an unpartitioned array is one memory of 2 ports)",
                   "UG1399 'pragma HLS array_partition', 'Array Partitioning'"),
    "compile": ("the synthesis branch type-checks with clang++ and g++ (-fsyntax-only)",
                "clang is the Vitis HLS front end"),
}

MEMORY_PORTS = 2              # a (dual-port) block or distributed RAM / ROM
AUTO_COMPLETE_THRESHOLD = 4   # UG1399 config_array_partition -complete_threshold default


@dataclass
class Violation:
    rule: str
    where: str          # file:line, relative to the project folder
    message: str

    def text(self) -> str:
        return f"{self.where}: error: [{self.rule}] {self.message} (see {RULES[self.rule][1]})"


@dataclass
class LintRow:
    rule: str
    status: str         # "pass", "fail", "skip"
    detail: str


@dataclass
class LintReport:
    project: Path
    rows: list[LintRow] = field(default_factory=list)
    violations: list[Violation] = field(default_factory=list)
    seconds: float = 0.0

    @property
    def ok(self) -> bool:
        return not self.violations

    def failed_rules(self) -> list[str]:
        return [r.rule for r in self.rows if r.status == "fail"]

    def to_json(self) -> dict:
        """What goes into report.json under "lint"."""
        return {"ok": self.ok, "seconds": round(self.seconds, 3),
                "rules": [{"rule": r.rule, "status": r.status, "detail": r.detail,
                           "document": RULES[r.rule][1]} for r in self.rows],
                "violations": [{"rule": v.rule, "where": v.where, "message": v.message,
                                "document": RULES[v.rule][1]} for v in self.violations]}

    def summary(self) -> str:
        """One line: what generate prints."""
        n = len(self.violations)
        if not n:
            return f"lint: {len(self.rows)} rules checked, no violations ({self.seconds:.2f} s)"
        return (f"lint: {n} violation{'s' * (n != 1)} of {', '.join(self.failed_rules())} "
                f"(hlsgen lint {self.project} for the list)")


def format_report(report: LintReport, max_per_rule: int = 20) -> str:
    lines = [f"lint of {report.project} (synthesis branch: __SYNTHESIS__ and HLSGEN_SYNTHESIS "
             f"defined), {report.seconds:.2f} s"]
    w = max(len(r.rule) for r in report.rows) if report.rows else 8
    for r in report.rows:
        lines.append(f"  {r.rule.ljust(w)}  {r.status.upper():4}  {r.detail}")
    shown: dict[str, int] = {}
    for v in report.violations:
        shown[v.rule] = shown.get(v.rule, 0) + 1
        if shown[v.rule] <= max_per_rule:
            lines.append(v.text())
    for rule, n in shown.items():
        if n > max_per_rule:
            lines.append(f"... and {n - max_per_rule} more [{rule}] violations")
    lines.append(report.summary())
    return "\n".join(lines)


# --------------------------------------------------------------------------
# Preprocessing: conditionals of the project's own files, line for line.

_COMMENT_RE = re.compile(r'//[^\n]*|/\*.*?\*/|"(?:\\.|[^"\\\n])*"|\'(?:\\.|[^\'\\\n])*\'', re.S)
# Headers Vitis HLS provides (so __has_include finds them there).
_VITIS_HEADERS = {"ap_int.h", "ap_fixed.h", "hls_stream.h", "ap_axi_sdata.h", "hls_math.h",
                  "hls_vector.h", "ap_shift_reg.h"}
_AP_HEADERS = {"ap_int.h", "ap_fixed.h", "hls_stream.h", "ap_axi_sdata.h"}


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


# --------------------------------------------------------------------------
# Tokens.

_TOKEN_RE = re.compile(r"""
    (?P<pragma>\#pragma[^\n]*)
  | (?P<id>[A-Za-z_]\w*)
  | (?P<num>0[xX][0-9a-fA-F]+[uUlL]*|\d+\.?\d*(?:[eE][+-]?\d+)?[uUlLfF]*)
  | (?P<str>"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*')
  | (?P<op>::|->|<<=|>>=|<<|>>|<=|>=|==|!=|&&|\|\||\+\+|--|\+=|-=|\*=|/=|%=|&=|\|=|\^=|[{}()\[\];,<>=+\-*/%&|^!~?:.])
""", re.X)


@dataclass
class Tok:
    kind: str
    text: str
    file: str
    line: int

    @property
    def where(self) -> str:
        return f"{self.file}:{self.line}"


def tokenize(files: list[SourceFile]) -> list[Tok]:
    toks: list[Tok] = []
    for sf in files:
        for n, line in enumerate(sf.lines, 1):
            if not line.strip():
                continue
            if "= {" in line and len(line) > 400:
                # A parameter initialiser: keep the declaration, drop the values.
                k = line.index("= {")
                end = line.rfind("}")
                line = line[:k + 3] + line[end:]
            for m in _TOKEN_RE.finditer(line):
                kind = m.lastgroup
                toks.append(Tok(kind, m.group(0), sf.rel, n))
    return toks


def _match(toks: list, i: int, open_: str, close: str) -> int:
    """Index of the token closing toks[i] (an opening bracket); toks are
    Toks or plain strings."""
    depth = 0
    for j in range(i, len(toks)):
        t = getattr(toks[j], "text", toks[j])
        if t == open_:
            depth += 1
        elif t == close:
            depth -= 1
            if depth == 0:
                return j
    return len(toks) - 1


def _match_angle(toks: list[Tok], i: int) -> int:
    depth = 0
    for j in range(i, len(toks)):
        t = toks[j].text
        if t == "<":
            depth += 1
        elif t == ">":
            depth -= 1
        elif t == ">>":
            depth -= 2
        elif t in (";", "{", "}"):
            return j - 1
        if depth <= 0 and t in (">", ">>"):
            return j
    return len(toks) - 1


def _split_commas(toks: list[Tok], a: int, b: int) -> list[tuple[int, int]]:
    """[a, b) split at top-level commas (parens, brackets, braces, angles)."""
    parts, depth, start = [], 0, a
    for j in range(a, b):
        t = toks[j].text
        if t in "([{<":
            depth += 1
        elif t in ")]}>":
            depth -= 1
        elif t == ">>":
            depth -= 2
        elif t == "," and depth == 0:
            parts.append((start, j))
            start = j + 1
    if start < b:
        parts.append((start, b))
    return parts


# --------------------------------------------------------------------------
# Structure: functions, structs, loops, declarations, pragmas.

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


_KEYWORDS = {"if", "for", "while", "switch", "return", "else", "do", "case", "break", "continue",
             "sizeof", "catch", "new", "delete", "goto", "default", "static_assert", "throw"}
_TYPE_WORDS = {"const", "static", "typename", "inline", "unsigned", "signed", "volatile",
               "constexpr", "struct", "class"}


def _template_defaults(toks: list[Tok], a: int, b: int) -> dict[str, list[str]]:
    """Default arguments of `template < ... >` within toks[a:b]."""
    for j in range(a, b):
        if toks[j].text == "template" and j + 1 < b and toks[j + 1].text == "<":
            e = _match_angle(toks, j + 1)
            out = {}
            for pa, pb in _split_commas(toks, j + 2, e):
                eq = next((k for k in range(pa, pb) if toks[k].text == "="), None)
                if eq is not None and toks[eq - 1].kind == "id":
                    out[toks[eq - 1].text] = [t.text for t in toks[eq + 1:pb]]
            return out
    return {}


def _template_params(toks: list[Tok], a: int, b: int) -> list[str]:
    """Names declared by `template < ... >` within toks[a:b]."""
    for j in range(a, b):
        if toks[j].text == "template" and j + 1 < b and toks[j + 1].text == "<":
            e = _match_angle(toks, j + 1)
            names = []
            for pa, pb in _split_commas(toks, j + 2, e):
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
    if k >= b or toks[k].kind != "id" or toks[k].text in _KEYWORDS:
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
                k = _match_angle(toks, k) + 1
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
    if a >= b or toks[a].text in _KEYWORDS or toks[a].kind != "id":
        return []
    te = _parse_type(toks, a, b)
    if te == a or te >= b or toks[te].kind != "id":
        return []
    type_toks = [t.text for t in toks[a:te]]
    static_const = "static" in type_toks and "const" in type_toks or "constexpr" in type_toks
    out = []
    for pa, pb in _split_commas(toks, te, b):
        if toks[pa].kind != "id":
            if toks[pa].text in ("*", "&") and pa + 1 < pb:
                pa += 1
            else:
                return out
        name_tok = toks[pa]
        k = pa + 1
        dims = []
        while k < pb and toks[k].text == "[":
            e = _match(toks, k, "[", "]")
            dims.append([t.text for t in toks[k + 1:e]])
            k = e + 1
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
                i = _match(toks, i, t.text, ")" if t.text == "(" else "]") + 1
                continue
            if t.text == "<" and start < i and toks[i - 1].text == "template":
                i = _match_angle(toks, i) + 1
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
                e = _match(toks, i, "{", "}")
                head = [x.text for x in toks[start:i]]
                if head[:2] == ["template", "<"]:    # default arguments hold '='
                    head = ["template"] + head[_angle_end(head, 1) + 1:]
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
                        s.spec = _split_list(head[kwi + 3:_angle_end(head, kwi + 2)])
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
        if name in _KEYWORDS:
            return
        params = []
        for pa, pb in _split_commas(toks, po + 1, k):
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
                he = _match(toks, i + 1, "(", ")")
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
                    be = _match(toks, bs, "{", "}")
                    body = (bs + 1, be)
                else:
                    j = bs
                    while toks[j].text != ";":
                        j = _match(toks, j, toks[j].text, ")") + 1 if toks[j].text == "(" else j + 1
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


# --------------------------------------------------------------------------
# Types and constant expressions.

def _ap_width(type_toks: list[str], typedefs: dict[str, list[str]], depth: int = 0) -> int | None:
    """Bit width of an ap type spelled with a literal width (through typedefs)."""
    t = [x for x in type_toks if x not in ("const", "static", "&", "typename", "hlsgen", "::")]
    if depth > 10 or not t:
        return None
    if t[0] in ("ap_int", "ap_uint", "ap_fixed", "ap_ufixed", "axis_word") and len(t) > 2 \
            and t[2].isdigit():
        return int(t[2])
    if len(t) == 1 and t[0] in typedefs:
        return _ap_width(typedefs[t[0]], typedefs, depth + 1)
    return None


class Evaluator:
    """Integer constant expressions under a binding of template parameters."""

    def __init__(self, prog: Program, binding: dict[str, object]):
        self.prog = prog
        self.b = binding

    def value(self, toks: list[str]) -> int | None:
        self.t = [x for x in toks if x not in ("(unsigned)", "typename")]
        self.i = 0
        try:
            v = self._ternary()
        except (IndexError, ValueError, ZeroDivisionError, TypeError, RecursionError):
            return None
        return v if self.i == len(self.t) and isinstance(v, int) else None

    def _peek(self):
        return self.t[self.i] if self.i < len(self.t) else None

    def _ternary(self):
        c = self._binary(0)
        if self._peek() == "?":
            self.i += 1
            a = self._ternary()
            if self._peek() != ":":
                raise ValueError
            self.i += 1
            b = self._ternary()
            if c is None:
                return None
            return a if c else b
        return c

    _PREC = [["||"], ["&&"], ["|"], ["^"], ["&"], ["==", "!="], ["<", ">", "<=", ">="],
             ["<<", ">>"], ["+", "-"], ["*", "/", "%"]]

    def _binary(self, level):
        if level == len(self._PREC):
            return self._unary()
        v = self._binary(level + 1)
        while self._peek() in self._PREC[level]:
            op = self.t[self.i]
            self.i += 1
            w = self._binary(level + 1)
            if v is None or w is None:
                v = None
                continue
            v = {"||": lambda x, y: int(bool(x or y)), "&&": lambda x, y: int(bool(x and y)),
                 "|": lambda x, y: x | y, "^": lambda x, y: x ^ y, "&": lambda x, y: x & y,
                 "==": lambda x, y: int(x == y), "!=": lambda x, y: int(x != y),
                 "<": lambda x, y: int(x < y), ">": lambda x, y: int(x > y),
                 "<=": lambda x, y: int(x <= y), ">=": lambda x, y: int(x >= y),
                 "<<": lambda x, y: x << y, ">>": lambda x, y: x >> y,
                 "+": lambda x, y: x + y, "-": lambda x, y: x - y, "*": lambda x, y: x * y,
                 "/": lambda x, y: int(x / y), "%": lambda x, y: x % y}[op](v, w)
        return v

    def _unary(self):
        t = self._peek()
        if t in ("-", "+", "!", "~"):
            self.i += 1
            v = self._unary()
            if v is None:
                return None
            return {"-": -v, "+": v, "!": int(not v), "~": ~v}[t]
        if t == "(":
            # a cast `(int)x` or a parenthesised expression
            if self.i + 2 < len(self.t) and self.t[self.i + 2] == ")" and \
                    self.t[self.i + 1] in ("int", "unsigned", "long", "i64", "size_t"):
                self.i += 3
                return self._unary()
            self.i += 1
            v = self._ternary()
            if self._peek() != ")":
                raise ValueError
            self.i += 1
            return v
        return self._primary()

    def _primary(self):
        t = self.t[self.i]
        self.i += 1
        m = re.match(r"(0[xX][0-9a-fA-F]+|\d+)[uUlL]*$", t)
        if m:
            return int(m.group(1), 0)
        if t in ("true", "false"):
            return int(t == "true")
        if t == "sizeof":
            raise ValueError
        name = t
        if self._peek() == "<" and (t in self.prog.structs or t in self.prog.specs):
            e = _angle_end(self.t, self.i)
            args = _split_list(self.t[self.i + 1:e])
            self.i = e + 1
            if self._peek() != "::":
                raise ValueError
            member = self.t[self.i + 1]
            self.i += 2
            return struct_static(self.prog, t, [_bind_arg(self.prog, a, self.b) for a in args],
                                 member)
        while self._peek() == "::":
            self.i += 1
            if self._peek() == "template":
                self.i += 1
            name += "::" + self.t[self.i]
            self.i += 1
        return self.lookup(name)

    def lookup(self, name: str):
        parts = name.split("::")
        if parts[0] == "hlsgen":
            parts = parts[1:]
        if len(parts) == 1:
            v = self.b.get(parts[0])
            if isinstance(v, int):
                return v
            if isinstance(v, list):  # an expression bound lazily
                return Evaluator(self.prog, self.b).value(v)
            return None
        head, member = parts[0], parts[-1]
        target = self.b.get(head, head)
        if isinstance(target, list):
            target = resolve_type(self.prog, target, self.b)
        if isinstance(target, str):
            target = resolve_type(self.prog, [target], self.b)
        if isinstance(target, tuple) and target[0] == "ap" and member == "width":
            return target[2]
        if isinstance(target, tuple) and target[0] == "struct":
            return struct_static(self.prog, target[1], target[2], member)
        return None


def struct_binding(prog: "Program", s: "Struct", args: list) -> dict:
    b = dict(zip(s.tparams, args))
    for k in s.tparams[len(args):]:
        if k in s.tdefaults:
            b[k] = s.tdefaults[k]
    for k, v in s.typedefs.items():
        b.setdefault(k, v)
    for k, v in s.statics.items():
        b.setdefault(k, v)
    return b


def find_struct(prog: "Program", name: str, args: list) -> tuple["Struct | None", list]:
    """The struct (or its explicit specialisation matching args) and its arguments."""
    for sp in prog.specs.get(name, []):
        vals = [Evaluator(prog, {}).value(a) for a in sp.spec]
        if len(vals) == len(args) and all(v is not None and v == a for v, a in zip(vals, args)):
            return sp, []
    return prog.structs.get(name), args


_STATIC_MEMO: dict = {}


def struct_static(prog: "Program", name: str, args: list, member: str):
    key = (id(prog), name, repr(args), member)
    if key in _STATIC_MEMO:
        return _STATIC_MEMO[key]
    s, sargs = find_struct(prog, name, args)
    v = None
    if s is not None and member in s.statics:
        _STATIC_MEMO[key] = None           # a cycle evaluates to unknown
        import sys
        old = sys.getrecursionlimit()
        sys.setrecursionlimit(max(old, 20000))
        try:
            v = Evaluator(prog, struct_binding(prog, s, sargs)).value(s.statics[member])
        finally:
            sys.setrecursionlimit(old)
    _STATIC_MEMO[key] = v
    return v


def resolve_type(prog: Program, toks: list[str], binding: dict, depth: int = 0):
    """("ap", signed, width) | ("struct", name, [args]) | None."""
    t = [x for x in toks if x not in ("const", "static", "&", "typename", "constexpr")]
    while t[:2] == ["hlsgen", "::"] or t[:2] == ["tiled", "::"]:
        t = t[2:]
    if depth > 12 or not t:
        return None
    if len(t) == 1:
        v = binding.get(t[0])
        if isinstance(v, tuple):
            return v
        if isinstance(v, list):
            return resolve_type(prog, v, binding, depth + 1)
        if t[0] in prog.typedefs:
            return resolve_type(prog, prog.typedefs[t[0]], binding, depth + 1)
        if t[0] in prog.structs:
            return ("struct", t[0], [])
        return None
    if t[0] in ("ap_int", "ap_uint", "ap_fixed", "ap_ufixed") and t[1] == "<":
        e = _angle_end(t, 1)
        args = _split_list(t[2:e])
        w = Evaluator(prog, binding).value(args[0]) if args else None
        return ("ap", t[0] in ("ap_int", "ap_fixed"), w) if w is not None else None
    if t[0] == "axis_word" and t[1] == "<":
        e = _angle_end(t, 1)
        w = Evaluator(prog, binding).value(t[2:e])
        return ("ap", False, w) if w is not None else None
    if t[0] in prog.structs and len(t) > 1 and t[1] == "<":
        e = _angle_end(t, 1)
        args = [_bind_arg(prog, a, binding) for a in _split_list(t[2:e])]
        return ("struct", t[0], args)
    if len(t) == 3 and t[1] == "::":
        outer = resolve_type(prog, [t[0]], binding, depth + 1)
        if isinstance(outer, tuple) and outer[0] == "struct":
            s = prog.structs.get(outer[1])
            if s is not None and t[2] in s.typedefs:
                inner = dict(binding)
                inner.update(zip(s.tparams, outer[2]))
                return resolve_type(prog, s.typedefs[t[2]], inner, depth + 1)
    return None


def _bind_arg(prog: Program, a: list[str], binding: dict):
    v = Evaluator(prog, binding).value(a)
    if v is not None:
        return v
    r = resolve_type(prog, a, binding)
    return r if r is not None else a


def _angle_end(t: list[str], i: int) -> int:
    depth = 0
    for j in range(i, len(t)):
        if t[j] == "<":
            depth += 1
        elif t[j] == ">":
            depth -= 1
        elif t[j] == ">>":
            depth -= 2
        if depth <= 0 and t[j] in (">", ">>"):
            return j
    return len(t)


def _split_list(t: list[str]) -> list[list[str]]:
    parts, cur, depth = [], [], 0
    for x in t:
        if x in ("(", "[", "<", "{"):
            depth += 1
        elif x in (")", "]", ">", "}"):
            depth -= 1
        elif x == ">>":
            depth -= 2
        if x == "," and depth == 0:
            parts.append(cur)
            cur = []
        else:
            cur.append(x)
    if cur:
        parts.append(cur)
    return parts


# --------------------------------------------------------------------------
# The project.

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
        if kind == "external" and nm in _AP_HEADERS and first_ap is None:
            first_ap = at
        if kind == "define" and nm == "AP_INT_MAX_W":
            v = pre.macros.get("AP_INT_MAX_W", (None, ""))[1]
            if first_ap is None:
                max_w, where = (int(v) if v.isdigit() else None), at
            else:
                late = at
    return Project(folder, name, report.get("arch", manifest.get("arch", "dataflow")), report,
                   pre, toks, prog, tops[0] if tops else None, max_w, where, late)


# --------------------------------------------------------------------------
# Rules.

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
    an = _analysis(p)
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
            inner = ty[k + 2:_angle_end(ty, k + 1)]
            r = resolve_type(p.prog, inner, {})
            w = None
            if isinstance(r, tuple) and r[0] == "ap":
                w = r[2]
            elif isinstance(r, tuple) and r[0] == "struct":
                w = None
            if w is None:
                w = _ap_width(inner, p.prog.typedefs)
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
                        f is not None and _is_const_expr(p, f, [v])) and v not in p.pre.macros:
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


def _is_const_expr(p: Project, f: Function, toks: list[str], before: int | None = None,
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
        if depth < 3 and ("~" + t) in f.static_consts and _is_const_expr(
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
        if not _is_const_expr(p, f, [t.text for t in toks[i + 2:j]], None, 3):
            return False
    first = writes[0]
    return p.prog.loop_at(f, first) is None and (before is None or first < before)


def _const_assignments(p: Project, f: Function, binding: dict) -> None:
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


def _reachable(p: Project) -> list[Function]:
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


def rule_trip_counts(p: Project, out: list[Violation]) -> str:
    n_checked, n_var_pipelined = 0, 0
    for f in _reachable(p):
        function_pipelined = any(pr.name == "PIPELINE" and p.prog.loop_at(f, pr.index) is None
                                 for pr in f.pragmas)
        for lp in f.loops:
            anc, in_pipeline = lp.parent, function_pipelined
            while anc is not None:
                if anc.pipelined():
                    in_pipeline = True
                anc = anc.parent
            must_unroll = in_pipeline or lp.unrolled() is not None
            const = lp.var is not None and lp.init is not None and bool(lp.cond) and all(
                _is_const_expr(p, f, [x for x in part if x != lp.var], lp.start)
                for part in (lp.init, lp.cond, lp.step))
            if must_unroll:
                n_checked += 1
                if not const:
                    why = ("inside a pipelined loop or function (so unrolled)" if in_pipeline
                           else "under UNROLL")
                    bound = " ".join(lp.cond) if lp.cond else "(none)"
                    out.append(Violation("trip-counts", p.toks[lp.start].where,
                                         f"loop over {lp.var} in {f.name}() is {why} but its bound "
                                         f"'{bound}' is not a compile-time constant"))
            elif lp.pipelined() and not const:
                n_var_pipelined += 1
    return (f"{n_checked} unrolled loops have constant bounds checked; {n_var_pipelined} "
            "pipelined loops have variable trip counts (allowed; their latency is reported as '?')")


_CONTAINERS = {"vector", "list", "deque", "map", "set", "multimap", "multiset", "unordered_map",
               "unordered_set", "string", "basic_string", "stack", "queue", "priority_queue",
               "forward_list", "shared_ptr", "unique_ptr", "function", "thread", "mutex",
               "lock_guard", "array_view", "ostringstream", "stringstream"}
_DYNAMIC = {"malloc", "calloc", "realloc", "free", "alloca", "posix_memalign", "aligned_alloc"}
_FILE_IO = {"fopen", "fread", "fwrite", "fclose", "fprintf", "fscanf", "exit", "abort", "system",
            "getenv"}


def rule_synthesizable(p: Project, out: list[Violation]) -> str:
    toks = p.toks
    reach = _reachable(p)
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
                j = _match_angle(toks, j) + 1
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
                    names = " -> ".join(_qual(fid[x]) for x in path + [start])
                    out.append(Violation("synthesizable", fid[start].tok.where,
                                         f"recursion {names}: recursive functions cannot be "
                                         "synthesized"))
                elif nxt not in seen:
                    seen.add(nxt)
                    stack.append((nxt, path + [nxt]))
    return (f"{len(reach)} functions reachable from {p.name}() in the synthesis branch "
            "(host code under #ifndef __SYNTHESIS__ excluded)")


def _qual(f: Function) -> str:
    return f"{f.scope}::{f.name}" if f.scope else f.name


# Streams ------------------------------------------------------------------

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
        if t.kind == "id" and t.text not in _KEYWORDS and i + 1 < b:
            j = i + 1
            if toks[j].text == "<" and p.prog.is_template(t.text):
                j = _match_angle(toks, j) + 1
            if j < b and toks[j].text == "(":
                e = _match(toks, j, "(", ")")
                args = [[x.text for x in toks[pa:pb]] for pa, pb in _split_commas(toks, j + 1, e)]
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
_PASS_THROUGH = ("pad", "swg", "fork", "resize")


def _lane_bits(cpp: str) -> int | None:
    """Bits of a lane type as report.json spells it ('ap_int<9>')."""
    return _ap_width(cpp.replace("<", " < ").replace(">", " > ").split(), {})


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

    def layer_of(proc: int):
        k = proc - 2            # process 1 is axis_in
        return layers[k] if 0 <= k < len(layers) else None

    for name, d in streams.items():
        s = info.get(name)
        if s is None:
            continue
        where = d.tok.where
        lane = _lane_bits(s["type"])
        declared = _ap_width(d.type[d.type.index("<") + 1:] if "<" in d.type else d.type, {})
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



# Partitions -----------------------------------------------------------------

@dataclass
class _Ctx:
    f: Function
    binding: dict
    arrays: dict            # local name -> (array id, dims exprs, index prefix, binding)
    taint: dict             # scalar name -> set of unrolled loop keys
    mult: dict              # unrolled loop key -> trip count


def _analysis(p: Project) -> "_PartitionAnalysis":
    """The instance walk from the top function, shared by the rules."""
    if "analysis" not in p.cache:
        an = _PartitionAnalysis(p)
        an.run()
        p.cache["analysis"] = an
    return p.cache["analysis"]


def rule_partitions(p: Project, out: list[Violation]) -> str:
    an = _analysis(p)
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


class _PartitionAnalysis:
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
        _const_assignments(self.p, f, b)
        for n, t in f.typedefs.items():
            self.record_width(f.typedef_toks[n], f"{n} in {_qual(f)}()", t, b)
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
            if t.kind == "id" and t.text not in _KEYWORDS:
                j = i + 1
                targs = None
                if j < e and toks[j].text == "<" and self.p.prog.is_template(t.text):
                    k = _match_angle(toks, j)
                    targs = [[x.text for x in toks[pa:pb]] for pa, pb in _split_commas(toks, j + 1, k)]
                    j = k + 1
                if j < e and toks[j].text == "(":
                    k = _match(toks, j, "(", ")")
                    args = [[x.text for x in toks[pa:pb]] for pa, pb in _split_commas(toks, j + 1, k)]
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
                    nb[tp] = _bind_arg(prog, ta, binding)
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
                i = _match(toks, i + 1, "(", ")") + 1
                continue
            if t.kind == "id" and i + 1 < e and toks[i + 1].text == "=" and toks[i - 1].kind in (
                    "id", "op") and toks[i - 1].text not in (".", "->", "["):
                j = i + 2
                while j < e and toks[j].text not in (";", ","):
                    j = _match(toks, j, "(", ")") + 1 if toks[j].text == "(" else j + 1
                ctx.taint[t.text] = self.expr_taint(ctx, [x.text for x in toks[i + 2:j]])
            if t.kind == "id" and t.text in ctx.arrays and i + 1 < e and toks[i + 1].text == "[" \
                    and toks[i - 1].text not in (".", "->"):
                j = i + 1
                idx = []
                while j < e and toks[j].text == "[":
                    k = _match(toks, j, "[", "]")
                    idx.append([x.text for x in toks[j + 1:k]])
                    j = k + 1
                aid, decl, prefix, ab, fn, off = ctx.arrays[t.text]
                # a full element access, or a slice passed on (handled at the call)
                if len(prefix) + len(idx) >= len(decl.dims) or not self._is_call_arg(i, j):
                    taints = prefix + [self.expr_taint(ctx, x) for x in idx]
                    if off and len(taints) > len(prefix):
                        taints[len(prefix)] = taints[len(prefix)] | off
                    self.access(ctx, aid, decl, fn, taints, ab)
                i = j
                continue
            if t.kind == "id" and t.text not in _KEYWORDS:
                # a call: inline it (member functions, functors, free functions)
                j = i + 1
                if j < e and toks[j].text == "<" and p.prog.is_template(t.text):
                    j = _match_angle(toks, j) + 1
                if j < e and toks[j].text == "(" and t.text not in ctx.arrays:
                    k = _match(toks, j, "(", ")")
                    targs = None
                    if toks[i + 1].text == "<":
                        ae = _match_angle(toks, i + 1)
                        targs = [[x.text for x in toks[pa:pb]] for pa, pb in
                                 _split_commas(toks, i + 2, ae)]
                    args = [(pa, pb) for pa, pb in _split_commas(toks, j + 1, k)]
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
                        e = _match(arg, k, "[", "]")
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


# --------------------------------------------------------------------------
# Deliverable 5: the synthesis branch through real compilers.

def compile_check(p: Project, out: list[Violation]) -> tuple[str, str]:
    """clang++ (the Vitis HLS front end is clang) and g++ -fsyntax-only on the
    synthesis branch: firmware/<name>.cpp with HLSGEN_SYNTHESIS defined, against
    the open-source ap_types headers (which refuse __SYNTHESIS__ itself)."""
    from hlsgen.sim.headers import ap_headers_dir
    ap = ap_headers_dir()
    fw = p.folder / "firmware"
    results, statuses = [], []
    for cxx in ("clang++", "g++"):
        exe = shutil.which(cxx)
        if exe is None:
            results.append(f"{cxx} not installed: skipped")
            continue
        cmd = [exe, "-fsyntax-only", "-std=c++14", "-Wno-unknown-pragmas", "-DHLSGEN_SYNTHESIS",
               "-iquote", str(fw), "-I", str(ap), str(fw / f"{p.name}.cpp")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if proc.returncode == 0:
            results.append(f"{cxx} OK ({dt:.1f} s)")
            statuses.append("pass")
            continue
        statuses.append("fail")
        errs = [l for l in proc.stderr.splitlines() if ": error:" in l or ": fatal error:" in l]
        results.append(f"{cxx} FAILED ({len(errs)} error{'s' * (len(errs) != 1)})")
        for l in errs[:10]:
            m = re.match(r"(.+?):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)", l)
            if m:
                try:
                    rel = str(Path(m.group(1)).resolve().relative_to(p.folder.resolve()))
                except ValueError:
                    rel = m.group(1)
                out.append(Violation("compile", f"{rel}:{m.group(2)}", f"{cxx}: {m.group(3)}"))
        if not errs:
            out.append(Violation("compile", f"firmware/{p.name}.cpp:1",
                                 f"{cxx} exited {proc.returncode}: {proc.stderr.strip()[:300]}"))
    status = "fail" if "fail" in statuses else "pass" if statuses else "skip"
    return status, "; ".join(results)


def _unbalanced(p: Project) -> list[Violation]:
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


_CHECKS = [("sources", rule_sources), ("widths", rule_widths),
           ("interface-widths", rule_interface_widths), ("pragmas", rule_pragmas),
           ("trip-counts", rule_trip_counts), ("synthesizable", rule_synthesizable),
           ("streams", rule_streams), ("partitions", rule_partitions)]


def lint_project(folder, compilers: bool = False) -> LintReport:
    """Checks the project in `folder` against the rules above. With
    compilers=True, also type-checks the synthesis branch with clang++ and
    g++ (-fsyntax-only; a compiler that is not installed is skipped with a
    note). Raises HlsgenError when `folder` is not an hlsgen project."""
    t0 = time.perf_counter()
    try:
        p = load(Path(folder))
    except HlsgenError:
        raise
    except Exception as e:  # sources the scanner cannot read: say so, do not crash
        rep = LintReport(Path(folder))
        rep.violations.append(Violation("sources", "firmware:1", f"the synthesis branch could not "
                                        f"be read ({e!r}); hlsgen lint --compile shows the "
                                        "compilers' view"))
        rep.rows = [LintRow("sources", "fail", "the sources could not be read")] + [
            LintRow(rule, "skip", "not checked: the sources could not be read")
            for rule, _ in _CHECKS[1:]]
        rep.seconds = time.perf_counter() - t0
        return rep
    rep = LintReport(Path(folder))
    broken = _unbalanced(p)
    if broken:
        rep.violations += broken
        rep.rows.append(LintRow("sources", "fail", "the synthesis branch does not parse "
                                "(unbalanced brackets); hlsgen lint --compile shows the compilers' "
                                "view"))
        rep.rows += [LintRow(rule, "skip", "not checked: the sources do not parse")
                     for rule, _ in _CHECKS[1:]]
    for rule, fn in ([] if broken else _CHECKS):
        found: list[Violation] = []
        try:
            detail = fn(p, found)
        except Exception as e:  # a lint bug must not hide the other rules
            rep.rows.append(LintRow(rule, "fail", f"internal error of the checker: {e!r}"))
            rep.violations.append(Violation(rule, f"firmware/{p.name}.cpp:1",
                                            f"the checker failed ({e!r}); please report it"))
            continue
        rep.violations += found
        n = len(found)
        rep.rows.append(LintRow(rule, "fail" if n else "pass",
                                detail + (f"; {n} violation{'s' * (n != 1)}" if n else "")))
    if compilers:
        found = []
        status, detail = compile_check(p, found)
        rep.violations += found
        rep.rows.append(LintRow("compile", status, detail))
    rep.seconds = time.perf_counter() - t0
    return rep
