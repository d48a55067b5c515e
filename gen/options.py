"""Every option of a conversion, in one place: `hlsgen.convert(model, **options)`,
`hlsgen generate --...` and the flow all read this dataclass."""

from __future__ import annotations

import dataclasses
import math
from dataclasses import dataclass, field
from pathlib import Path

from hlsgen.errors import HlsgenError

DEFAULT_BOARD = "pynq-z2"
DEFAULT_INPUT_TYPE = "ap_fixed<16,6>"
DEFAULT_VECTORS = 200
OUTPUTS = ("logits", "argmax")


@dataclass
class Options:
    """Options of a conversion (CLI flag in brackets).

    board        target board [--board]; `hlsgen.boards()` lists them
    arch         "dataflow" (a pipeline, weights on chip), "tiled" (one engine,
                 weights in DDR) or "auto" (dataflow when it fits) [--arch]
    input_type   the design's input type, e.g. "ap_fixed<16,6>" or "bipolar" (+-1)
                 (default: the model's input quantizer, else ap_fixed<16,6>)
                 [--input-type]
    output       "logits" (pre-softmax) or "argmax" (the class index) [--output]
    n_vectors    random test vectors written into tb/ [--vectors]
    test_data    float inputs for the test vectors instead (array or .npy path,
                 in the framework's layout) [--test-data]
    folding      {layer: {"simd": s, "pe": p}} or a JSON/report.json path [--folding]
    clock_mhz    clock (default: the board's) [--clock]
    fps          folding search: the cheapest design reaching this throughput [--fps]
    max_util     folding search: the fastest design within this fraction (0, 1]
                 of every board resource [--max-util]
    seed         seed of the random test vectors
    force        replace a non-empty output folder [--force]
    weights      a .h5 of weights, for a Keras .json architecture [--weights]
    checkpoint   a state dict, for a Brevitas model given as file.py:function [--checkpoint]
    input_shape  a Brevitas model's input shape with the batch dimension, e.g.
                 (1, 1, 8, 8) [--input-shape]
    budget       tiled: a resource budget instead of the board's
                 (hlsgen.arch.tiled.roofline.Budget)
    tiling       tiled: the tiling (Tm, Tn, Tr, Tc) instead of the search's
    """

    board: str = DEFAULT_BOARD
    arch: str = "dataflow"
    input_type: str | None = None
    output: str = "logits"
    n_vectors: int = DEFAULT_VECTORS
    test_data: object = field(default=None, repr=False)
    folding: dict | str | Path | None = None
    clock_mhz: float | None = None
    fps: float | None = None
    max_util: float | None = None
    seed: int = 0
    force: bool = False
    weights: str | Path | None = None
    checkpoint: str | Path | None = None
    input_shape: tuple | str | None = None
    budget: object = None
    tiling: tuple | None = None

    @classmethod
    def of(cls, options: "Options | None" = None, **changes) -> "Options":
        """`options` (default: the defaults) with `changes`; an unknown name is
        an HlsgenError naming the known ones."""
        known = {f.name for f in dataclasses.fields(cls)}
        unknown = sorted(set(changes) - known)
        if unknown:
            raise HlsgenError(f"unknown option(s) {', '.join(unknown)}; the options are "
                              f"{', '.join(sorted(known))} (see help(hlsgen.Options))")
        return dataclasses.replace(options or cls(), **changes).checked()

    def checked(self) -> "Options":
        """Itself, when every value is possible; else an HlsgenError naming the
        option and the range it must be in."""
        if self.output not in OUTPUTS:
            raise HlsgenError(f"--output '{self.output}' is not known; use logits or argmax")
        if not isinstance(self.n_vectors, int) or self.n_vectors < 1:
            raise HlsgenError(f"--vectors {self.n_vectors} must be a whole number of at least 1")
        for flag, value in (("--clock", self.clock_mhz), ("--fps", self.fps)):
            if value is not None and not (math.isfinite(value) and value > 0):
                raise HlsgenError(f"{flag} {value:g} must be a positive number"
                                  + ("; leave it out for the board's clock"
                                     if flag == "--clock" else ""))
        if self.max_util is not None and not (0 < self.max_util <= 1):
            raise HlsgenError(f"--max-util {self.max_util:g} must be a fraction in (0, 1], e.g. "
                              "0.7 for at most 70% of every board resource")
        return self
