"""The host float tail (DESIGN.md, "Float tails run on the host").

Float operations after the design's last integer tensor that are not exactly
integer (a final float scale, BNN-PYNQ's TensorNorm, a float bias or batch
norm) stay off the chip: the hardware outputs the integer codes, and the host
turns them into the framework's values. Every output channel's codes lie in
a range the passes bound, so the frontend evaluates the framework's own
operations once on every reachable code of every channel and the host looks
the values up: the framework's float32 arithmetic, in its own order, with
nothing recomputed (as the lookup-table requantization does on the chip).

graph.meta["host_tail"] = {"ops": [framework op names], "channels": C,
"lo": lowest code, "table": base64 of float32 [C, hi - lo + 1]}; output
value i (IR order, channels last) is table[i % C, code_i - lo].
"""

from __future__ import annotations

import base64

import numpy as np

from hlsgen.errors import HlsgenError, InternalError

MAX_ENTRIES = 1 << 21   # 8 MiB of float32 in the driver and the manifest


def tabulate(fn, lo: int, hi: int, channels: int, ops: list[str], where: str) -> dict:
    """The tail of the framework's function fn (int64 codes [M, C] -> float32
    [M, C]) on every code lo..hi of every channel."""
    n = int(hi) - int(lo) + 1
    if n * channels > MAX_ENTRIES:
        raise HlsgenError(f"the float operations {', '.join(ops)} after {where} would need a "
                          f"host table of {n * channels:,} entries (codes {lo}..{hi} x {channels} "
                          f"channels, at most {MAX_ENTRIES:,}); end the model with a quantizer, or "
                          "use --output argmax")
    codes = np.repeat(np.arange(int(lo), int(hi) + 1, dtype=np.int64)[:, None], channels, 1)
    values = np.asarray(fn(codes), dtype=np.float32).reshape(n, channels)
    return {"ops": list(ops), "channels": int(channels), "lo": int(lo),
            "table": base64.b64encode(np.ascontiguousarray(values.T).astype("<f4").tobytes())
            .decode("ascii")}


def table(tail: dict) -> np.ndarray:
    """The float32 table [C, n] of a tail."""
    raw = np.frombuffer(base64.b64decode(tail["table"]), dtype="<f4")
    return raw.reshape(tail["channels"], -1)


def apply(tail: dict, codes: np.ndarray) -> np.ndarray:
    """Output codes [N, K] -> the framework's float32 values [N, K]."""
    t = table(tail)
    codes = np.asarray(codes, dtype=np.int64)
    idx = codes - tail["lo"]
    if idx.size and (idx.min() < 0 or idx.max() >= t.shape[1]):
        raise InternalError(f"output code {int(codes.min())}..{int(codes.max())} outside the host "
                            f"tail's range {tail['lo']}..{tail['lo'] + t.shape[1] - 1}")
    channel = np.arange(codes.shape[-1]) % tail["channels"]
    return t[channel, idx]


def of_output(graph, output: str) -> dict | None:
    """The host tail of one output: graph.meta["host_tail"] for a model with
    one input and one output; with several inputs or outputs,
    graph.meta["host_tails"] holds each output's (or None) in graph.outputs' order."""
    if not graph.multi_io:
        return graph.meta.get("host_tail")
    tails = graph.meta.get("host_tails") or [None] * len(graph.outputs)
    return tails[graph.outputs.index(output)]


def describe(tail: dict) -> str:
    """One line for summaries and READMEs."""
    t = table(tail)
    return (f"{', '.join(tail['ops'])} (float32, the framework's own arithmetic: a table of "
            f"{t.size:,} values, codes {tail['lo']}..{tail['lo'] + t.shape[1] - 1} x "
            f"{tail['channels']} channel(s))")
