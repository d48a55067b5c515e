"""Types and integer constant expressions of the program under a binding of
template parameters: literal ap widths through typedefs (ap_width), the
Evaluator, struct instances (binding, explicit specialisation, static
members) and resolve_type (("ap", signed, width) or ("struct", name, args))."""

from __future__ import annotations

import re

from hlsgen.lint.scan import Program, Struct
from hlsgen.lint.tokens import angle_end, split_list


def ap_width(type_toks: list[str], typedefs: dict[str, list[str]], depth: int = 0) -> int | None:
    """Bit width of an ap type spelled with a literal width (through typedefs)."""
    t = [x for x in type_toks if x not in ("const", "static", "&", "typename", "hlsgen", "::")]
    if depth > 10 or not t:
        return None
    if t[0] in ("ap_int", "ap_uint", "ap_fixed", "ap_ufixed", "axis_word") and len(t) > 2 \
            and t[2].isdigit():
        return int(t[2])
    if len(t) == 1 and t[0] in typedefs:
        return ap_width(typedefs[t[0]], typedefs, depth + 1)
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
            e = angle_end(self.t, self.i)
            args = split_list(self.t[self.i + 1:e])
            self.i = e + 1
            if self._peek() != "::":
                raise ValueError
            member = self.t[self.i + 1]
            self.i += 2
            return struct_static(self.prog, t, [bind_arg(self.prog, a, self.b) for a in args],
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
        e = angle_end(t, 1)
        args = split_list(t[2:e])
        w = Evaluator(prog, binding).value(args[0]) if args else None
        return ("ap", t[0] in ("ap_int", "ap_fixed"), w) if w is not None else None
    if t[0] == "axis_word" and t[1] == "<":
        e = angle_end(t, 1)
        w = Evaluator(prog, binding).value(t[2:e])
        return ("ap", False, w) if w is not None else None
    if t[0] in prog.structs and len(t) > 1 and t[1] == "<":
        e = angle_end(t, 1)
        args = [bind_arg(prog, a, binding) for a in split_list(t[2:e])]
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


def bind_arg(prog: Program, a: list[str], binding: dict):
    v = Evaluator(prog, binding).value(a)
    if v is not None:
        return v
    r = resolve_type(prog, a, binding)
    return r if r is not None else a
