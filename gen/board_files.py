"""Board-side files of a project (Vivado block design, PYNQ driver, project
Makefile, C-simulation library for the board emulator).

Called by gen/render.py after the firmware and testbench are written."""

from __future__ import annotations

from pathlib import Path


def render_board_files(design, folder: Path, values: dict) -> None:
    """Writes the board-side files of `design` into `folder`. `values` is the
    context the project templates were rendered with (board, clock, ...)."""
    return None
