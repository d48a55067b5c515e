"""One design point: the model, its options, the stages to run, and the
content hash that names it (points/<key>/ in the output folder): the model's
bytes, every option's value, the stages and the hlsgen version. The same
hash means the same result, so a recorded point is never run again."""

from __future__ import annotations

import dataclasses
import hashlib
import json
from dataclasses import dataclass
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.sweeps.grid import label, options
from hlsgen.version import __version__

# The stages of a point, in the order they run. generate always runs first
# (it writes the project, its estimates and its lint report); one vendor
# stage at most: each of them runs synthesis first (`hlsgen build`).
OURS = ("generate", "csim", "lint")
VENDOR = ("synth", "cosim", "ip", "bitstream")
DEFAULT_STAGES = OURS


def parse_stages(stages) -> tuple[str, ...]:
    """'generate,csim' or a sequence -> the stages in running order."""
    names = [s.strip() for s in (stages.split(",") if isinstance(stages, str) else stages)
             if s.strip()]
    unknown = [s for s in names if s not in OURS + VENDOR]
    if unknown:
        raise HlsgenError(f"unknown stage '{unknown[0]}'; the stages are "
                          f"{', '.join(OURS + VENDOR)}")
    vendor = [s for s in names if s in VENDOR]
    if len(set(vendor)) > 1:
        raise HlsgenError(f"stages {' and '.join(vendor)}: give one vendor stage, each runs "
                          "synthesis first (cosim: synthesis + co-simulation, ip: synthesis + "
                          "IP export, bitstream: IP + Vivado)")
    return tuple(s for s in OURS + VENDOR if s in names or s == "generate")


def model_files(model: str, model_options: dict) -> list[Path]:
    """The files a model given by path consists of (its bytes identify it)."""
    from hlsgen.frontends.select import module_spec
    spec = module_spec(model)
    files = [Path(spec[0]) if spec else Path(model)]
    files += [Path(model_options[k]) for k in ("weights", "checkpoint") if model_options.get(k)]
    return files


def model_sha256(model: str, model_options: dict) -> str:
    h = hashlib.sha256()
    for path in model_files(model, model_options):
        try:
            h.update(path.read_bytes())
        except OSError as e:
            raise HlsgenError(f"model file '{path}' cannot be read ({e.strerror or e}); check "
                              "the path (a sweep takes a model file: save an in-memory model "
                              "first)") from None
    return h.hexdigest()


def option_files(options: dict) -> list[Path]:
    """The files a point's options name (a folding file, a board file): their
    bytes are part of the point's identity, not their paths only."""
    from hlsgen.sweeps.grid import board_file
    files = []
    if isinstance(options.get("folding"), (str, Path)):
        files.append(Path(options["folding"]))
    if options.get("board") and board_file(options["board"]):
        files.append(Path(options["board"]))
    return files


def files_sha256(options: dict) -> str:
    """The hash of the contents of option_files(options) ("" when none)."""
    files = option_files(options)
    if not files:
        return ""
    h = hashlib.sha256()
    for path in files:
        try:
            h.update(str(path).encode() + b"\0" + path.read_bytes())
        except OSError as e:
            raise HlsgenError(f"file '{path}' cannot be read ({e.strerror or e}); check the "
                              "path") from None
    return h.hexdigest()


@dataclass(frozen=True)
class Point:
    """What a worker needs to run one design point (picklable)."""
    model: str               # a path every worker can read (absolute), or file.py:function
    model_options: dict      # weights, checkpoint, input_shape
    options: dict            # the point's options by name (grid.check_point)
    stages: tuple
    model_sha256: str
    timeout: float | None = None   # seconds; not part of the identity
    files_sha256: str = ""   # the contents of the option files (folding, board): option_files

    @property
    def key(self) -> str:
        full = dataclasses.asdict(options(self.options, **self.model_options))
        for name in ("force", "test_data", "weights", "checkpoint"):   # files: in model_sha256
            full.pop(name)
        ident = {"model": self.model_sha256, "options": full, "stages": list(self.stages),
                 "hlsgen": __version__}
        if self.files_sha256:
            ident["files"] = self.files_sha256
        return hashlib.sha256(json.dumps(ident, sort_keys=True, default=str).encode()) \
            .hexdigest()[:16]

    @property
    def label(self) -> str:
        return label(self.options)
