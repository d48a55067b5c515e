"""The interface every architecture implements, and the request it is given.

The flow (hlsgen/flow.py) runs the frontend and the passes, then hands the
lowered IR to one Architecture:

    built = arch.design(graph, request)        # mapping + search within the board
    arch.render(built, folder, context)        # firmware, testbench source, scripts,
                                               # README, board files, figures
    report = arch.report(built, exact, total)  # report.json
    arch.summary(report)                       # what the CLI prints after generate

and, for a project already written (hlsgen.open, `hlsgen report`, the board
emulator, deploy): `refresh_report`, `deploy_files`, `emulator_abi`,
`emulator_manifest`. A new architecture is a package under hlsgen/arch/
with a subclass of Architecture, added to hlsgen/arch/registry.py.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from pathlib import Path


@dataclass
class DesignRequest:
    """What a design must meet: the board, the clock, the user's folding or
    budget, and where notes (a target out of reach) go."""
    name: str                      # the C++ name of the top function
    board: object                  # hlsgen.platform.boards.Board
    clock_mhz: float
    folding: dict | None = None    # dataflow: {layer: {simd, pe}} as given
    folding_origin: str = "given"  # how to name the folding in messages
    fps: float | None = None
    max_util: float | None = None
    budget: object = None          # tiled: hlsgen.arch.tiled.roofline.Budget
    tiling: tuple | None = None    # tiled: (Tm, Tn, Tr, Tc)
    log: object = None             # log(line) for notes


@dataclass
class Built:
    """An architecture's design of one graph, as the flow carries it."""
    design: object                 # the architecture's own design object
    request: DesignRequest
    notes: list = field(default_factory=list)   # budget notes (also in report.json)
    extra: dict = field(default_factory=dict)   # architecture-specific, for its report


class Architecture:
    """One way to build hardware from the lowered IR (see the module docstring)."""

    name = ""
    description = ""

    def design(self, graph, request: DesignRequest) -> Built:
        raise NotImplementedError

    def render(self, built: Built, folder: Path, context: dict) -> None:
        raise NotImplementedError

    def report(self, built: Built, exact: int, total: int) -> dict:
        raise NotImplementedError

    def summary(self, report: dict) -> str:
        """The text `hlsgen generate` prints about the design (report.json)."""
        raise NotImplementedError

    def refresh_report(self, project: Path, board: str | None, clock_mhz: float | None) -> str:
        """`hlsgen report`: the design rebuilt from the project's ir/ and
        report.json, estimated on `board`; rewrites the project's report
        files and returns the text to print."""
        raise NotImplementedError

    def deploy_files(self, project: Path, name: str) -> list[tuple[Path, str]]:
        """(local file, name on the board) a board needs beyond the
        bitstream, .hwh, driver and test vectors every project has."""
        return []

    def emulator_abi(self, name: str) -> str:
        """The C++ source of the board emulator's C ABI for this design."""
        raise NotImplementedError

    def emulator_manifest(self, project: Path, name: str, library: Path) -> dict:
        """The architecture's fields of the emulated overlay's manifest."""
        return {}

    def emulator_params(self, project: Path) -> list[Path]:
        """Parameter files the emulated IP loads (held in the IP itself)."""
        return []
