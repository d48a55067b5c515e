"""A project's manifest, hlsgen.json: what made the project (source model,
options, versions), read back by every command that opens a project."""

from __future__ import annotations

import json
from pathlib import Path

from hlsgen.errors import HlsgenError

MANIFEST = "hlsgen.json"


def load_project(project: Path) -> dict:
    project = Path(project)
    meta_file = project / MANIFEST
    if not meta_file.is_file():
        raise HlsgenError(f"'{project}' is not an hlsgen project (no hlsgen.json); give the folder "
                          "`hlsgen generate --out` wrote")
    try:
        return json.loads(meta_file.read_text())
    except ValueError as e:
        raise HlsgenError(f"'{meta_file}' is corrupt ({e}); regenerate the project")
