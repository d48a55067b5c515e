"""Weight sharing: a unit whose weights take at most 2^b distinct values
(a clustered model: tfmot's cluster_weights, Deep Compression's k-means)
stores b-bit codes into a codebook of those values instead of the weights
(templates/hls/hlsgen_mvu.h Codebook), when that pays (codebook_for)."""

from __future__ import annotations

import math

import numpy as np


def code_bits(entries: int) -> int:
    """Bits of a code into a codebook of `entries` values."""
    return max(1, math.ceil(math.log2(max(entries, 1))))


SAVING = 2 / 3   # codes and codebook at most this fraction of the weights' bits


def codebook_for(w: np.ndarray, wbits: int, bipolar: bool = False,
                 max_entries: int = 256) -> np.ndarray | None:
    """The sorted distinct codes of `w` when codes and codebook take at most
    SAVING of the weights' bits (every lane pays a codebook select, an E:1
    mux per weight bit, for the memory saved: e.g. 16 values of 7- or 8-bit
    weights, not 32 values of 6-bit ones); else None (+-1 weights are 1 bit)."""
    if bipolar:
        return None
    book = np.unique(np.asarray(w))
    if len(book) > max_entries:
        return None
    coded = w.size * code_bits(len(book)) + len(book) * wbits
    return book if coded <= SAVING * w.size * wbits else None


def encode(lanes: np.ndarray, book: np.ndarray) -> np.ndarray:
    """Weight lanes as codes into `book` (which holds every value)."""
    return np.searchsorted(book, lanes).astype(np.int64)
