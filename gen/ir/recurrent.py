"""The integer semantics of a lowered `recurrent` node (the golden executor's
and the HLS kernel's specification; gen/passes/recurrent.py derives the
parameters). Per time step, with v = [x_t ; s] the input codes and the
state codes side by side and every requantization a lowered one (rq[...]):
  simple  h = rq.act(v M + b)                              state s = rq.state_h(h)
  lstm    i f g o = rq.rec/act(v M + b) per gate
          c = (f*cs << c_f) + (i*g << c_i),  h = o * rq.cell_act(c)
          state s = rq.state_h(h), cs = rq.state_c(c)
  gru     z r = rq.rec(v M_zr + b_zr),  hh = rq.act([x_t ; r*s] M_h + b_h)
          h = (z*s << k_keep) + ((one - z)*hh << k_new)   state s = rq.state_h(h)
M's columns are gates (Keras' order: lstm i f c o, gru z r h), every weight
already aligned to its gate's accumulator point. The output is h at every
step (return_sequences) or at the last.
"""

from __future__ import annotations

import numpy as np

from hlsgen.ir.intmath import apply_requant, exact_matmul

GATES = {"simple": 1, "lstm": 4, "gru": 3}   # gates per cell, M's column blocks


def requant(node, name: str, acc: np.ndarray) -> np.ndarray:
    """One of the node's lowered requantizations (attrs['rq'][name])."""
    rq = node.attrs["rq"][name]
    return apply_requant(acc, rq, node.params.get("rq_" + name))


def run(node, x: np.ndarray) -> np.ndarray:
    """Input codes [N, T, F] -> output codes [N, T, U] or [N, U]."""
    a, p = node.attrs, node.params
    u, cell = a["units"], a["cell"]
    m, b = p["weights"], p["bias"]
    x = x.reshape(len(x), a["steps"], a["features"])
    s = np.full((len(x), u), a["s0"], np.int64)
    cs = np.full((len(x), u), a.get("c0", 0), np.int64)
    outs = []
    for t in range(a["steps"]):
        v = np.concatenate([x[:, t], s], axis=1)
        if cell == "simple":
            h = requant(node, "act", exact_matmul(v, m) + b)
        elif cell == "lstm":
            acc = exact_matmul(v, m) + b
            i, f, o = (requant(node, "rec", acc[:, k * u:(k + 1) * u]) for k in (0, 1, 3))
            g = requant(node, "act", acc[:, 2 * u:3 * u])
            c = ((f * cs) << a["c_f"]) + ((i * g) << a["c_i"])
            h = o * requant(node, "cell_act", c)
            cs = requant(node, "state_c", c)
        else:
            zr = exact_matmul(v, m[:, :2 * u]) + b[:2 * u]
            z, r = requant(node, "rec", zr[:, :u]), requant(node, "rec", zr[:, u:])
            vh = np.concatenate([x[:, t], r * s], axis=1)
            hh = requant(node, "act", exact_matmul(vh, m[:, 2 * u:]) + b[2 * u:])
            h = ((z * s) << a["k_keep"]) + (((a["one"] - z) * hh) << a["k_new"])
        s = requant(node, "state_h", h)
        if a["return_sequences"]:
            outs.append(h)
    return np.stack(outs, axis=1) if a["return_sequences"] else h
