"""The board database: one JSON file per board in `boards/`.

This module only loads and validates those files. Every value is checked
here, once, because the part and board names end up verbatim in Tcl and C++
and the resource counts drive folding: a typo must stop the user with a
message that names the file, the field and the fix, never surface later as
a Vivado error or a silently wrong budget.
"""

from __future__ import annotations

import json
import math
import re
from dataclasses import dataclass, fields
from pathlib import Path
from typing import Any

from hlsgen.errors import HlsgenError
from hlsgen.project.paths import data_dir

BOARDS_DIR = data_dir("boards")

PS_FAMILIES = ("alveo", "zynq-7000", "zynq-ultrascale+")

# Names, parts and board parts are pasted into Tcl and C++ unquoted; this
# alphabet has no quoting, substitution or statement characters in either.
_IDENT_RE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_.:\-]*$")
# The driver compares this with `pynq.__version__` on the board.
_VERSION_RE = re.compile(r"^[0-9]+(\.[0-9]+){1,2}$")


@dataclass(frozen=True)
class Board:
    """One FPGA board: device totals, default clock and PYNQ facts."""

    name: str
    description: str
    part: str
    board_part: str | None
    lut: int
    ff: int
    dsp: int
    bram18: int
    uram: int
    clock_mhz: float
    ps_family: str
    ddr_bandwidth_gbps: float
    pynq_image: str
    source: str


_FIELDS = tuple(f.name for f in fields(Board))
_IDENT_FIELDS = ("name", "part", "board_part")
_TEXT_FIELDS = ("description", "pynq_image", "source")
_COUNT_FIELDS = ("lut", "ff", "dsp", "bram18")
_RATE_FIELDS = ("clock_mhz", "ddr_bandwidth_gbps")


def _shown(path: Path) -> str:
    """The path as the user should read it: repo-relative when inside it."""
    try:
        return str(path.resolve().relative_to(BOARDS_DIR.parent))
    except ValueError:
        return str(path)


def _reject_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    # json.loads keeps the last duplicate silently; a board file with two
    # "lut" entries is a mistake, not a choice.
    out: dict[str, Any] = {}
    for key, value in pairs:
        if key in out:
            raise ValueError(f"duplicate field {key!r}")
        out[key] = value
    return out


def load_board_file(path: str | Path) -> Board:
    """Parse and validate one board file; raise HlsgenError on any defect."""
    path = Path(path)
    where = f"board file {_shown(path)}"

    def bad(field: str, what: str, value: Any) -> HlsgenError:
        return HlsgenError(f"{where}: field {field!r} must be {what}, got {value!r}")

    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise HlsgenError(f"{where}: cannot be read ({exc}); check the path") from None
    try:
        data = json.loads(text, object_pairs_hook=_reject_duplicate_keys)
    except json.JSONDecodeError as exc:
        raise HlsgenError(
            f"{where}: malformed JSON at line {exc.lineno} column {exc.colno}: "
            f"{exc.msg}; fix the syntax"
        ) from None
    except ValueError as exc:
        raise HlsgenError(f"{where}: {exc}; keep one entry per field") from None
    if not isinstance(data, dict):
        raise HlsgenError(f"{where}: must hold one JSON object, got {type(data).__name__}")

    missing = [f for f in _FIELDS if f not in data]
    if missing:
        raise HlsgenError(
            f"{where}: missing field {missing[0]!r}; add it (required fields: "
            f"{', '.join(_FIELDS)})"
        )
    extra = sorted(set(data) - set(_FIELDS))
    if extra:
        raise HlsgenError(
            f"{where}: unknown field {extra[0]!r}; remove it or fix its spelling "
            f"(allowed fields: {', '.join(_FIELDS)})"
        )

    for f in _TEXT_FIELDS:
        v = data[f]
        if not isinstance(v, str) or not v.strip():
            raise bad(f, "a non-empty string", v)
    if not _VERSION_RE.match(data["pynq_image"]):
        raise bad("pynq_image", "a version such as '3.0.1'", data["pynq_image"])

    for f in _IDENT_FIELDS:
        v = data[f]
        if f == "board_part" and v is None:
            continue
        # Checked before use anywhere: these strings reach Tcl and C++.
        if not isinstance(v, str) or not _IDENT_RE.match(v):
            what = "letters, digits and '_.:-' only, starting with a letter or digit"
            if f == "board_part":
                what += ", or null"
            raise bad(f, what, v)
    if data["name"] != path.stem:
        raise bad("name", f"the file name without '.json' ({path.stem!r})", data["name"])

    # bool is a subclass of int in Python; `"dsp": true` is still a mistake.
    def is_int(v: Any) -> bool:
        return isinstance(v, int) and not isinstance(v, bool)

    for f in _COUNT_FIELDS:
        if not is_int(data[f]) or data[f] <= 0:
            raise bad(f, "a positive integer", data[f])
    if not is_int(data["uram"]) or data["uram"] < 0:
        raise bad("uram", "a non-negative integer (0 where the device has none)", data["uram"])
    if data["bram18"] % 2:
        raise bad("bram18", "even (2 x the BRAM36 count of the data sheet)", data["bram18"])

    for f in _RATE_FIELDS:
        v = data[f]
        if not (is_int(v) or isinstance(v, float)) or not math.isfinite(v) or v <= 0:
            raise bad(f, "a positive number", v)

    if data["ps_family"] not in PS_FAMILIES:
        raise bad("ps_family", "one of " + ", ".join(map(repr, PS_FAMILIES)), data["ps_family"])

    values = dict(data)
    for f in _RATE_FIELDS:
        values[f] = float(values[f])
    return Board(**values)


def _known_names() -> list[str]:
    # From the file names alone, so that one broken file cannot hide the list.
    return sorted(p.stem for p in BOARDS_DIR.glob("*.json"))


def load_board(name: str | Path) -> Board:
    """A board by name (a file in BOARDS_DIR) or by path to a .json file."""
    text = str(name)
    if isinstance(name, Path) or text.endswith(".json") or "/" in text or "\\" in text:
        path = Path(name)
        if not path.is_file():
            raise HlsgenError(
                f"board file {text!r} not found; give an existing .json file or a "
                f"board name (see `hlsgen boards`)"
            )
        return load_board_file(path)

    known = _known_names()
    # Board names are lower case; accept "PYNQ-Z2" for "pynq-z2".
    for candidate in (text, text.lower()):
        if candidate in known:
            return load_board_file(BOARDS_DIR / f"{candidate}.json")
    raise HlsgenError(
        f"unknown board {text!r}; known boards: {', '.join(known) or '(none)'}; "
        f"see `hlsgen boards`"
    )


def list_boards() -> list[Board]:
    """Every board in BOARDS_DIR, validated, sorted by name."""
    return sorted(
        (load_board_file(p) for p in BOARDS_DIR.glob("*.json")), key=lambda b: b.name
    )


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else f"{x:g}"


_COLUMNS = (
    # (header, value, right-aligned)
    ("board", lambda b: b.name, False),
    ("part", lambda b: b.part, False),
    ("PS family", lambda b: b.ps_family, False),
    ("LUT", lambda b: str(b.lut), True),
    ("FF", lambda b: str(b.ff), True),
    ("DSP", lambda b: str(b.dsp), True),
    ("BRAM18", lambda b: str(b.bram18), True),
    ("URAM", lambda b: str(b.uram), True),
    ("clock MHz", lambda b: _number(b.clock_mhz), True),
    ("DDR GB/s", lambda b: _number(b.ddr_bandwidth_gbps), True),
    ("PYNQ", lambda b: b.pynq_image, False),
)


def format_boards_table(boards: list[Board]) -> str:
    """A plain-text aligned table of boards, as printed by `hlsgen boards`."""
    rows = [[header for header, _, _ in _COLUMNS]]
    rows += [[value(b) for _, value, _ in _COLUMNS] for b in boards]
    widths = [max(len(row[i]) for row in rows) for i in range(len(_COLUMNS))]

    def line(cells: list[str]) -> str:
        parts = [
            c.rjust(w) if right else c.ljust(w)
            for c, w, (_, _, right) in zip(cells, widths, _COLUMNS)
        ]
        return "  ".join(parts).rstrip()

    rule = "  ".join("-" * w for w in widths)
    return "\n".join([line(rows[0]), rule] + [line(r) for r in rows[1:]])
