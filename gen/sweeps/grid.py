"""The design points of a sweep: a grid file (YAML or JSON) and value lists
-> one option mapping per point, every value checked by Options before
anything runs.

A grid file is a mapping of Options names to values: a list is swept, a
single value is fixed; the points are every combination of the lists, in
file order. An optional `points:` list adds points of its own (each a
mapping, over the fixed values):

    fps: [1000, 10000, 100000]
    arch: [dataflow, tiled]
    clock_mhz: 125
    points:
      - {folding: {conv1: {simd: 1, pe: 4}}}
"""

from __future__ import annotations

import itertools
import json
import os
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.options import Options
from hlsgen.platform.boards import load_board

# What a point may vary, with the type its value must have.
SWEPT = {"board": str, "arch": str, "input_type": str, "output": str, "n_vectors": int,
         "folding": (dict, str), "clock_mhz": float, "fps": float, "max_util": float,
         "seed": int, "tiling": list}
# The model's own options: fixed for a whole sweep (they identify the model).
MODEL = ("weights", "checkpoint", "input_shape")
EXTRA = "points"


def load_grid(path: str | Path) -> dict:
    """The mapping a grid file holds (YAML, or JSON, which is YAML)."""
    import yaml
    _UniqueKeys = _unique_loader()
    path = Path(path)
    try:
        data = yaml.load(path.read_text(), Loader=_UniqueKeys)
    except OSError as e:
        raise HlsgenError(f"grid '{path}' cannot be read ({e.strerror or e}); check the path")
    except yaml.constructor.ConstructorError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise HlsgenError(f"grid '{path}'{line}: {e.problem}; give each option once") from None
    except yaml.YAMLError as e:
        where = getattr(e, "problem_mark", None)
        line = f" at line {where.line + 1}" if where else ""
        raise HlsgenError(f"grid '{path}' is not valid YAML{line}; write one `option: value` "
                          "or `option: [values]` per line") from None
    if not isinstance(data, dict):
        raise HlsgenError(f"grid '{path}' must hold a mapping of option names to values, e.g. "
                          "`fps: [1000, 10000]`")
    return data


def _unique_loader():
    import yaml

    class UniqueKeys(yaml.SafeLoader):
        """safe_load, refusing a key given twice in one mapping (YAML keeps the last)."""

    def mapping(loader, node, deep=False):
        seen = set()
        for key_node, _ in node.value:
            key = loader.construct_object(key_node, deep=deep)
            if key in seen:
                raise yaml.constructor.ConstructorError(
                    None, None, f"'{key}' is given twice", key_node.start_mark)
            seen.add(key)
        return loader.construct_mapping(node, deep)

    UniqueKeys.add_constructor(yaml.resolver.BaseResolver.DEFAULT_MAPPING_TAG, mapping)
    return UniqueKeys


def parse_list(flag: str, text: str, kind=float) -> list:
    """`--fps 1000,1e4` -> [1000.0, 10000.0]; `--arch dataflow,tiled` (kind=str)."""
    items = [t.strip() for t in str(text).split(",") if t.strip()]
    try:
        return [kind(t) for t in items] if items else _empty(flag)
    except ValueError:
        raise HlsgenError(f"{flag} '{text}' must be a comma-separated list of numbers, "
                          f"e.g. {flag} 1000,10000") from None


def _empty(flag):
    raise HlsgenError(f"{flag} is empty; give one value or a comma-separated list")


def expand(axes: dict, where: str = "the sweep") -> list[dict]:
    """Every point of `axes` (option -> value or list of values, and an
    optional `points:` list), each checked; duplicates are dropped."""
    axes = dict(axes)
    extra = axes.pop(EXTRA, None)
    _check_names(axes, where)
    fixed = {k: v for k, v in axes.items() if not isinstance(v, list) or k == "tiling"
             and v and not isinstance(v[0], list)}
    swept = {k: v for k, v in axes.items() if k not in fixed}
    for name, values in swept.items():
        if not values:
            raise HlsgenError(f"{where}: '{name}' sweeps an empty list; give at least one value")
    points = [dict(fixed, **dict(zip(swept, combo)))
              for combo in itertools.product(*swept.values())] if swept or extra is None else []
    if extra is not None:
        if not isinstance(extra, list) or not extra or not all(isinstance(p, dict)
                                                              for p in extra):
            raise HlsgenError(f"{where}: '{EXTRA}' must be a non-empty list of mappings, e.g. "
                              "`points: [{fps: 1000, arch: tiled}]`")
        for p in extra:
            _check_names(p, where)
        points += [dict(fixed, **p) for p in extra]
    if not points:
        raise HlsgenError(f"{where} has no design point; give at least one value per option")
    checked = [check_point(p, where) for p in points]
    return list({json.dumps(p, sort_keys=True, default=str): p for p in checked}.values())


def _check_names(mapping: dict, where: str) -> None:
    for name in mapping:
        if name not in SWEPT:
            known = ", ".join(SWEPT)
            hint = (" (the model's options are given once, beside the model)" if name in MODEL
                    else "")
            raise HlsgenError(f"{where}: unknown option '{name}'{hint}; a sweep varies {known} "
                              "(see help(hlsgen.Options))")


def check_point(point: dict, where: str = "the sweep") -> dict:
    """`point` with its values of the right types, checked by Options; an
    HlsgenError naming the point otherwise."""
    out = {}
    for name, value in point.items():
        kind = SWEPT[name]
        if value is None:
            out[name] = None
        elif kind is float and isinstance(value, (int, float)) and not isinstance(value, bool):
            out[name] = float(value)
        elif kind is float and isinstance(value, str) and _number(value) is not None:
            out[name] = _number(value)      # YAML reads 1e3 (no dot) as a string
        elif isinstance(value, kind) and not isinstance(value, bool):
            out[name] = value
        else:
            want = {str: "a name", int: "a whole number", float: "a number",
                    list: "a list"}.get(kind, "a mapping or a file")
            raise HlsgenError(f"{where}: {name} {value!r} must be {want}")
    try:
        _check_values(out)
        options(out)
        if out.get("board"):
            load_board(out["board"])
    except HlsgenError as e:
        raise HlsgenError(f"{where}, point {label(out)}: {e}") from None
    return out


def _number(text: str) -> float | None:
    try:
        return float(text)
    except ValueError:
        return None


def board_file(board) -> bool:
    """Whether a board value names a file (as load_board reads it), not a board."""
    text = str(board)
    return isinstance(board, Path) or text.endswith(".json") or "/" in text or "\\" in text


def _check_values(out: dict) -> None:
    """What Options does not check before a run (the flow would, on a worker):
    the architecture, the input type, the tiling, that a folding file reads.
    Option files become absolute paths (workers run elsewhere)."""
    from hlsgen.arch.registry import ARCHITECTURES
    from hlsgen.flow import _load_folding
    from hlsgen.ir.qtype import parse_type
    arch = out.get("arch")
    if arch is not None and arch != "auto" and arch not in ARCHITECTURES:
        raise HlsgenError(f"--arch '{arch}' is not known; use {', '.join(ARCHITECTURES)} or auto")
    if out.get("input_type") is not None:
        try:
            parse_type(out["input_type"])
        except HlsgenError:
            raise
        except Exception:   # noqa: BLE001: a parser's ValueError, IndexError...
            raise HlsgenError(f"input_type '{out['input_type']}' is not a type hlsgen knows; "
                              "write e.g. ap_fixed<16,6>, ap_int<8> or bipolar") from None
    tiling = out.get("tiling")
    if tiling is not None:
        if (len(tiling) != 4 or not all(isinstance(t, int) and not isinstance(t, bool) and t > 0
                                        for t in tiling)):
            raise HlsgenError(f"tiling {tiling!r} must be four positive whole numbers "
                              "[Tm, Tn, Tr, Tc], e.g. [16, 4, 7, 7]")
    if isinstance(out.get("folding"), str):
        out["folding"] = os.path.abspath(out["folding"])
        _load_folding(out["folding"])
    if out.get("board") and board_file(out["board"]):
        out["board"] = os.path.abspath(out["board"])


def options(point: dict, **more) -> Options:
    """The Options of a point (a checked mapping from expand)."""
    tiling = point.get("tiling")
    return Options.of(None, **dict(point, **more, **({"tiling": tuple(tiling)} if tiling else {})))


def label(point: dict) -> str:
    """The point as a short line: `fps=1000 arch=tiled`."""
    def show(v):
        if isinstance(v, float):
            return f"{v:g}"
        return json.dumps(v, separators=(",", ":")) if isinstance(v, (dict, list)) else str(v)
    return " ".join(f"{k}={show(v)}" for k, v in point.items()) or "(defaults)"
