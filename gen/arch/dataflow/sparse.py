"""Block sparsity of a matrix-vector unit: which PE x SIMD tiles of its
folded weight matrix are all zero, the visiting order of the others, and the
exact cycle count of templates/hls/hlsgen_mvu.h's tile-walking unit.

The folded matrix W[MH, MW] is NF x SF tiles of PE rows (outputs) x SIMD
columns (inputs). The unit stores only the tiles holding a non-zero weight,
neuron fold by neuron fold, column tiles ascending, and an index memory of
one code per stored tile: its column tile * 2 + 1 if it is the last of its
neuron fold. A neuron fold with no non-zero tile keeps one zero tile (its
outputs still need the bias, requantized, written).

The unit's loop (one iteration per cycle, II=1) reads input words in order
and visits tiles in order: a visit waits until its input word has been read;
the input of pixel p+1 is read while pixel p is visited (two input buffers),
so a pixel costs about max(SF, tiles) cycles instead of SF * NF. The loop
runs for exactly `schedule_cycles` iterations (until every word is
read and every tile visited), which the generator passes to
the kernel as its trip count and which is also the cost model's cycles.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np


@dataclass(frozen=True)
class TileLayout:
    """The stored tiles of one folding: `words` their word index nf*SF + sf
    in the dense folded layout (visiting order), `codes` the index memory."""

    simd: int
    pe: int
    sf: int
    nf: int
    words: np.ndarray
    codes: np.ndarray
    nonzero: int          # tiles holding a non-zero weight (<= stored tiles)
    indexed: bool = True  # False: every tile stored in the dense order, no index memory

    @property
    def tiles(self) -> int:
        return len(self.words)

    @property
    def dense_tiles(self) -> int:
        return self.sf * self.nf

    @property
    def index_bits(self) -> int:
        """Bits of one index-memory code: the column tile and the last flag."""
        return max(1, math.ceil(math.log2(self.sf))) + 1 if self.sf > 1 else 1

    def cycles(self, pixels: int) -> int:
        return schedule_cycles(self.codes >> 1, self.sf, pixels)


def all_tiles(simd: int, pe: int, mw: int, mh: int, nonzero: int) -> TileLayout:
    """Every tile, in the dense order (a weight-shared unit with no all-zero
    tile walks them all; no index memory: the kernel counts them)."""
    sf, nf = mw // simd, mh // pe
    cols = np.tile(np.arange(sf), nf)
    return TileLayout(simd, pe, sf, nf, np.arange(sf * nf, dtype=np.int64),
                      cols * 2 + (cols == sf - 1), nonzero, indexed=False)


def tile_mask(w: np.ndarray, simd: int, pe: int) -> np.ndarray:
    """[NF, SF] bool: tile (nf, sf) of W[in, out] holds a non-zero weight."""
    mw, mh = w.shape
    return (w.T.reshape(mh // pe, pe, mw // simd, simd) != 0).any(axis=(1, 3))


def tile_layout(w: np.ndarray, simd: int, pe: int) -> TileLayout:
    """The tiles the unit stores and visits for W[in, out] at SIMD x PE."""
    mask = tile_mask(w, simd, pe)
    nf, sf = mask.shape
    words, codes = [], []
    for n in range(nf):
        cols = np.flatnonzero(mask[n])
        cols = cols if len(cols) else np.zeros(1, dtype=np.int64)   # bias only: one zero tile
        words += (n * sf + cols).tolist()
        codes += (cols * 2 + (np.arange(len(cols)) == len(cols) - 1)).tolist()
    return TileLayout(simd, pe, sf, nf, np.asarray(words, dtype=np.int64),
                      np.asarray(codes, dtype=np.int64), int(mask.sum()))


def schedule_cycles(cols: np.ndarray, sf: int, pixels: int) -> int:
    """Iterations of the tile-walking loop for one frame (see the module
    docstring): visits `cols` (column tile of each visit, in order) at every
    one of `pixels` pixels, SF input words per pixel.

    Read of pixel p starts at A_p = max(A_{p-1} + SF, L_{p-2} + 1) (its
    buffer is free once pixel p-2's last visit is done); its word s is read
    in iteration A_p + s and usable from the next. Visit j of pixel p runs in
    V = max(previous visit + 1, A_p + cols[j] + 1), so the pixel's last visit
    is L_p = max(L_{p-1} + T, A_p + C + T - 1) with C = max_j(cols[j] + 1 - j).
    The loop ends when the last tile is visited and the last word read."""
    t = len(cols)
    c = int(np.max(np.asarray(cols) + 1 - np.arange(t)))
    starts, lasts = [], []
    for p in range(pixels):
        a = 0 if p == 0 else starts[-1] + sf
        if p >= 2:
            a = max(a, lasts[p - 2] + 1)
        prev = lasts[-1] if lasts else -1
        starts.append(a)
        lasts.append(max(prev + t, a + c + t - 1))
    return max(lasts[-1] + 1, starts[-1] + sf)   # every input word read, every tile visited


def simulate_schedule(cols: np.ndarray, lasts: np.ndarray, sf: int, pixels: int) -> int:
    """The kernel's loop, iteration by iteration (the synthesis branch of
    hlsgen_mvu.h's mvu over TileWeights, without the arithmetic): the
    number of iterations one frame takes. A slow twin of schedule_cycles for
    the tests."""
    t_n = len(cols)
    rpx = rsf = vpx = t = 0
    it = 0
    while vpx < pixels or rpx < pixels:
        visit = vpx < pixels and (rpx > vpx or rsf > cols[t])
        if rpx < pixels and rpx <= vpx + 1:
            rsf += 1
            if rsf == sf:
                rsf, rpx = 0, rpx + 1
        if visit:
            t += 1
            if t == t_n:
                t, vpx = 0, vpx + 1
        it += 1
    return it


class Sparsity:
    """A unit's weight matrix as the cost model and the folding search see it:
    its tile layout at any SIMD x PE (computed once per folding). Compared and
    hashed by identity, so a LayerShape holding one stays hashable. `wbits`:
    bits of one weight, to weigh the index memory against the tiles saved."""

    def __init__(self, w: np.ndarray, wbits: int = 8):
        self.nonzero = np.asarray(w) != 0
        self.wbits = wbits
        self._layouts: dict[tuple[int, int], TileLayout] = {}
        self._cycles: dict[tuple[int, int, int], int] = {}

    @property
    def density(self) -> float:
        return float(self.nonzero.mean()) if self.nonzero.size else 1.0

    def layout(self, simd: int, pe: int) -> TileLayout:
        key = (simd, pe)
        if key not in self._layouts:
            self._layouts[key] = tile_layout(self.nonzero, simd, pe)
        return self._layouts[key]

    def pays(self, lay: TileLayout, pixels: int) -> bool:
        """The tile walk pays at this layout: it stores fewer tiles than the
        dense unit, and either takes fewer cycles per frame (it costs at least
        one more than the tiles it visits; an empty neuron fold still stores
        one tile, so SF = 1 never saves) or fewer weight and index bits."""
        if lay.tiles >= lay.dense_tiles:
            return False
        if lay.cycles(pixels) < pixels * lay.dense_tiles:
            return True
        word = lay.pe * lay.simd * self.wbits
        return lay.tiles * (word + lay.index_bits) < lay.dense_tiles * word

    def sparse_at(self, simd: int, pe: int, pixels: int) -> TileLayout | None:
        """The layout when the tile walk pays (see pays), else None: a dense
        unit, exactly as without sparsity."""
        lay = self.layout(simd, pe)
        return lay if self.pays(lay, pixels) else None

    def cycles(self, simd: int, pe: int, pixels: int) -> int:
        """Cycles per frame of the unit at SIMD x PE: the tile walk's where it
        pays, else the dense unit's."""
        key = (simd, pe, pixels)
        if key not in self._cycles:
            lay = self.sparse_at(simd, pe, pixels)
            self._cycles[key] = (lay.cycles(pixels) if lay is not None
                                 else pixels * self.layout(simd, pe).dense_tiles)
        return self._cycles[key]
