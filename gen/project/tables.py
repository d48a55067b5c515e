"""Plain-text tables, as the CLI and the demo print them."""

from __future__ import annotations


def table(rows: list[tuple], header: tuple | None = None) -> str:
    """Columns left-aligned to their widest cell; a dashed rule under the header."""
    rows = ([header] if header else []) + [tuple(str(c) for c in r) for r in rows]
    widths = [max(len(r[i]) for r in rows) for i in range(len(rows[0]))]
    lines = ["  ".join(c.ljust(w) for c, w in zip(r, widths)).rstrip() for r in rows]
    if header:
        lines.insert(1, "  ".join("-" * w for w in widths))
    return "\n".join(lines)
