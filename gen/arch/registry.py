"""The architectures hlsgen can build, by name. Adding one: write a package
under hlsgen/arch/ with an Architecture subclass (hlsgen/arch/base.py) and
add an instance here."""

from __future__ import annotations

from hlsgen.arch.base import Architecture
from hlsgen.arch.dataflow.architecture import DataflowArchitecture
from hlsgen.arch.tiled.architecture import TiledArchitecture
from hlsgen.errors import HlsgenError

ARCHITECTURES: dict[str, Architecture] = {a.name: a for a in (DataflowArchitecture(),
                                                              TiledArchitecture())}
DEFAULT = "dataflow"


def get(name: str) -> Architecture:
    """The architecture called `name`; an unknown name is an HlsgenError."""
    if name not in ARCHITECTURES:
        raise HlsgenError(f"architecture '{name}' is not known; use "
                          f"{', '.join(ARCHITECTURES)} or auto")
    return ARCHITECTURES[name]


def of_project(meta: dict) -> Architecture:
    """The architecture of a project from its hlsgen.json; projects made
    before --arch existed are dataflow."""
    return get(meta.get("arch", DEFAULT))
