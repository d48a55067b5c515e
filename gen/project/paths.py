"""Where hlsgen's data folders are, and the one Jinja environment that
renders project templates.

In a checkout or an editable install they are the repository's own
templates/ and boards/ (beside gen/); in an installed wheel they are the
package data folders hlsgen/templates and hlsgen/board_data."""

from __future__ import annotations

from pathlib import Path

import jinja2

_PACKAGE = Path(__file__).resolve().parents[1]   # gen/ (checkout) or site-packages/hlsgen
_IN_WHEEL = {"templates": "templates", "boards": "board_data"}
# Project templates by who uses them: both architectures, or one.
TEMPLATE_GROUPS = ("common", "dataflow", "tiled")


def data_dir(name: str) -> Path:
    """The folder `name` ("templates" or "boards")."""
    for folder in (_PACKAGE.parent / name, _PACKAGE / _IN_WHEEL[name]):
        if folder.is_dir():
            return folder
    raise FileNotFoundError(f"hlsgen's {name} folder is missing from this installation; "
                            "reinstall hlsgen")


def template_env() -> jinja2.Environment:
    """Project templates (templates/project/<group>/), by file name."""
    root = data_dir("templates") / "project"
    return jinja2.Environment(
        loader=jinja2.FileSystemLoader([str(root / g) for g in TEMPLATE_GROUPS]),
        undefined=jinja2.StrictUndefined, keep_trailing_newline=True)
