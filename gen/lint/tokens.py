"""Tokens of the preprocessed translation unit (Tok, tokenize) and bracket
helpers: the closing bracket of an opening one (tokens or plain strings),
angle brackets of template argument lists, top-level comma splits."""

from __future__ import annotations

import re
from dataclasses import dataclass

from hlsgen.lint.preprocess import SourceFile


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


def match_close(toks: list, i: int, open_: str, close: str) -> int:
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


def match_angle(toks: list[Tok], i: int) -> int:
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


def subscripts(toks: list[Tok], k: int, b: int) -> tuple[list[list[str]], int]:
    """The expressions (token texts) of the subscripts `[..][..]` starting at
    toks[k], before b, and the index after them."""
    exprs = []
    while k < b and toks[k].text == "[":
        e = match_close(toks, k, "[", "]")
        exprs.append([t.text for t in toks[k + 1:e]])
        k = e + 1
    return exprs, k


def split_commas(toks: list[Tok], a: int, b: int) -> list[tuple[int, int]]:
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


def angle_end(t: list[str], i: int) -> int:
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


def split_list(t: list[str]) -> list[list[str]]:
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
