"""generate(..., arch="tiled") returning the engine too, as the tiled tests use it."""

from __future__ import annotations


def generate_tiled(model, out, board: str = "pynq-z2", budget=None, tiling=None, **options):
    """(GenerateResult, the TiledDesign it built); budget, tiling: see
    hlsgen/arch/tiled/design.py build_tiled."""
    from hlsgen.flow import generate
    result = generate(model, out, board=board, arch="tiled", budget=budget, tiling=tiling,
                      **options)
    return result, result.design
