"""Sanitising user-controlled names before they reach C++ or Tcl."""

from __future__ import annotations

import json
import re

CPP_KEYWORDS = {
    "alignas", "alignof", "and", "asm", "auto", "bool", "break", "case", "catch", "char", "class",
    "const", "constexpr", "continue", "default", "delete", "do", "double", "else", "enum",
    "explicit", "export", "extern", "false", "float", "for", "friend", "goto", "if", "inline", "int",
    "long", "main", "mutable", "namespace", "new", "not", "operator", "or", "private", "protected",
    "public", "register", "return", "short", "signed", "sizeof", "static", "struct", "switch",
    "template", "this", "throw", "true", "try", "typedef", "typename", "union", "unsigned", "using",
    "virtual", "void", "volatile", "while", "xor", "input", "output", "in", "out", "hlsgen",
}


# Standard and HLS header stems: a project file named like one would be
# confusing even where include paths keep it from shadowing the real one.
HEADER_STEMS = {
    "assert", "complex", "ctype", "errno", "fenv", "float", "inttypes", "limits", "locale", "math",
    "setjmp", "signal", "stdarg", "stdbool", "stddef", "stdint", "stdio", "stdlib", "string",
    "time", "wchar", "wctype", "memory", "vector", "algorithm", "ap_int", "ap_fixed", "hls_stream",
    "hls_math", "ap_axi_sdata",
}


def cpp_ident(name: str, taken: set[str] | None = None) -> str:
    """A C++/Tcl-safe identifier derived from any string, unique within taken."""
    ident = re.sub(r"[^A-Za-z0-9_]", "_", str(name)).strip("_")
    ident = re.sub(r"_+", "_", ident) or "layer"
    if ident[0].isdigit():
        ident = "l_" + ident
    if ident.lower() in CPP_KEYWORDS or ident.lower() in HEADER_STEMS or ident.startswith("ap_") or ident.startswith("__"):
        ident = ident + "_"
    ident = ident[:48]
    if taken is not None:
        # Case-insensitive: identifiers become file names (params/<id>.h),
        # and Windows and macOS file systems ignore case.
        base, i = ident, 2
        while ident.lower() in taken:
            ident = f"{base}_{i}"
            i += 1
        taken.add(ident.lower())
    return ident


def safe_comment(text: str) -> str:
    """Text for a // comment: printable ASCII, one line, no comment terminators."""
    text = "".join(c if 32 <= ord(c) < 127 else "?" for c in str(text))
    return text.replace("*/", "* /").replace("\\", "/")[:120]


def port_labels(ports) -> list[dict]:
    """Each port's model name (its label) made safe for where the generated
    files quote it: "py" a Python string literal (JSON's escapes are Python's;
    a plain name stays "name"), "comment" one line of printable ASCII for a //
    or Tcl # comment (no backslash, braces or quotes to balance), "md" the
    same for a Markdown table cell (no |, no backquote)."""
    out = []
    for p in ports:
        label = str(p.label)
        comment = safe_comment(label).replace("{", "(").replace("}", ")")
        out.append({"py": json.dumps(label), "comment": comment,
                    "md": comment.replace("|", "/").replace("`", "'")})
    return out
