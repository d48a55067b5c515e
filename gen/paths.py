"""Where hlsgen's data folders are: the repository's own templates/ and
boards/ in a checkout or editable install; the copies packaged as
hlsgen_templates / hlsgen_boards in a wheel."""

from __future__ import annotations

import importlib.util
from pathlib import Path

_REPO = Path(__file__).resolve().parents[1]


def data_dir(name: str) -> Path:
    """The folder `name` ("templates" or "boards")."""
    local = _REPO / name
    if local.is_dir():
        return local
    spec = importlib.util.find_spec(f"hlsgen_{name}")
    if spec is not None and spec.submodule_search_locations:
        return Path(list(spec.submodule_search_locations)[0])
    raise FileNotFoundError(f"hlsgen's {name} folder is missing from this installation")
