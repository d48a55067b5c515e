"""Transposed convolutions as ordinary ones, for every frontend.

A transposed convolution of stride S and kernel K over an input of I pixels
computes, before any padding is taken off, (I-1)*S + K outputs: the same as a
stride-1 convolution with the kernel turned 180 degrees (and its channel
axes swapped) over the input with S-1 zeros inserted after every pixel and
K-1 zeros around it. The zero-inserted input already ends with S-1 zeros, so
around it go K-1-P0 zeros before and K-S-P1 after, where P0 and P1 are what
the transposed convolution's own padding takes off its output (negative:
the output grows, as Keras' 'valid' does when K < S). Exact by
construction; the unit multiplies the inserted zeros too (S*S times the work
of a dedicated one)."""

from __future__ import annotations

import numpy as np


def around_zero_inserted(k: int, s: int, cut_before: int, cut_after: int) -> tuple[int, int]:
    """(before, after) zero padding of the zero-inserted input; a negative
    value crops instead."""
    return k - 1 - cut_before, k - s - cut_after


def keras_cuts(k: int, s: int, padding: str) -> tuple[int, int]:
    """What Keras' Conv2DTranspose takes off the (I-1)*S + K outputs: 'valid'
    gives I*S + max(K-S, 0), 'same' gives I*S, taking the top (left) half
    rounded down."""
    total = k - s if padding == "same" else min(k - s, 0)
    before = max(total, 0) // 2 if padding == "same" else 0
    return before, total - before


def turned_kernel(w: np.ndarray) -> np.ndarray:
    """Kernel [KH, KW, C_out, C_in] of the transposed convolution (Keras'
    layout) -> [KH*KW*C_in, C_out] rows (ky, kx, c) of the ordinary one."""
    kh, kw, cout, cin = w.shape
    return np.flip(w, (0, 1)).transpose(0, 1, 3, 2).reshape(kh * kw * cin, cout)
