"""Renders a Design into the files of a project. Templates lay out; the
values (types, layouts, initialisers) are decided here and in gen/arch/dataflow/design.py."""

from __future__ import annotations

import shutil
from pathlib import Path

import numpy as np

from hlsgen.version import __version__
from hlsgen.arch.dataflow.board import render_board_files
from hlsgen.project.paths import data_dir, template_env
from hlsgen.project.names import port_labels
from hlsgen.arch.dataflow.cost import pack_factor
from hlsgen.arch.dataflow import recurrent
from hlsgen.arch.dataflow.design import Design, Kernel

TEMPLATES = data_dir("templates")
KERNEL_LIB = TEMPLATES / "hls"
FIFO_DEPTH = 2


def c_init(arr: np.ndarray) -> str:
    """Nested C initialiser of an integer array."""
    a = np.asarray(arr, dtype=np.int64)
    if a.ndim == 1:
        return "{" + ",".join(map(str, a.tolist())) + "}"
    return "{" + ",".join(c_init(x) for x in a) + "}"


# Native C types for weight memory words of exactly these widths: their
# initialisers are constant data to g++ (an ap_uint array is initialised by a
# constructor call per element at start-up, which made g++ take minutes and
# crash on million-weight models), and Vitis HLS maps them to ROMs as usual.
NATIVE_WORDS = {8: "unsigned char", 16: "unsigned short", 32: "unsigned int", 64: "unsigned long long"}
def memory_word_type(bits: int) -> str:
    """C type of a weight memory word of `bits` bits (see NATIVE_WORDS)."""
    return NATIVE_WORDS.get(bits, f"ap_uint<{bits}>")


def pack_words(lanes: np.ndarray, bits: int) -> tuple[np.ndarray, str]:
    """Lane codes [..., SIMD] -> (little-endian bytes [n_words, B], C
    initialiser of the words). Lane s occupies bits [s*bits, (s+1)*bits) of
    its word, two's complement. Words of at most 64 bits are integer
    literals; wider ones are ap_uint constructed from a hex string."""
    simd = lanes.shape[-1]
    flat = lanes.reshape(-1, simd).astype(np.int64) & ((1 << bits) - 1)
    bitmat = ((flat[:, :, None] >> np.arange(bits)) & 1).astype(np.uint8).reshape(len(flat), -1)
    nbytes = -(-simd * bits // 8)
    bitmat = np.pad(bitmat, ((0, 0), (0, nbytes * 8 - bitmat.shape[1])))
    words = np.packbits(bitmat, axis=1, bitorder="little")
    hexes = [w[::-1].tobytes().hex().lstrip("0") or "0" for w in words]
    width = simd * bits
    if width <= 64:
        items = [f"0x{h}ULL" for h in hexes]
    else:
        items = [f'ap_uint<{width}>("0x{h}", 16)' for h in hexes]
    shape = lanes.shape[:-1]
    return words, _nest(items, shape)


def pack_memory(lanes: np.ndarray, bits: int) -> tuple[np.ndarray, int]:
    """Weight lanes [..., D, SIMD] (D words of SIMD lanes per memory) ->
    memory words [..., D/K, K*SIMD]: K = pack_factor consecutive words of the
    same memory in one memory word, word k of a group in lanes
    [k*SIMD, (k+1)*SIMD). Flattened, the lanes keep their order, so the
    C-simulation cache is the same array either way."""
    *outer, depth, simd = lanes.shape
    k = pack_factor(depth, simd * bits)
    return lanes.reshape(*outer, depth // k, k * simd), k


def _lanes(simd: int) -> str:
    return f"{simd} weight lane" + ("s" if simd > 1 else "")


def _nest(items: list[str], shape: tuple) -> str:
    if len(shape) == 1:
        return "{" + ",".join(items) + "}"
    step = len(items) // shape[0]
    return "{" + ",".join(_nest(items[i * step:(i + 1) * step], shape[1:]) for i in range(shape[0])) + "}"


def _dims(a: np.ndarray) -> str:
    return "".join(f"[{n}]" for n in a.shape)


def _requant_text(k: Kernel) -> str:
    rq = k.attrs.get("requant")
    if rq is None:
        return ""
    if rq["kind"] == "identity":
        return "none (accumulator out)"
    if rq["kind"] == "shift":
        hi = "" if rq["hi"] is None else f", ≤ {rq['hi']}"
        lo = "" if rq["lo"] is None else f", ≥ {rq['lo']}"
        return f"shift {rq['shift']}, round {rq['round'].replace('_', ' ')}{lo}{hi}"
    if rq["kind"] == "lut":
        return f"lookup table, {rq['entries']} entries × {k.params['lut'].shape[0]} ch"
    if rq["kind"] == "multiply":
        return (f"multiply {rq['m_bits']}-bit m × {len(rq['m'])} ch, shift {rq['shift']}, "
                f"≥ {rq['lo']}, ≤ {rq['hi']}" + (f", {rq['exceptions']} exception code(s)"
                                                 if rq.get("exceptions") else ""))
    return f"{k.params['thr'].shape[1]} thresholds × {k.params['thr'].shape[0]} ch"


def _prepare(k: Kernel) -> None:
    """Adds what the parameter templates need: array declarations and the
    files C simulation loads them from."""
    if k.kind == "rnn":
        return recurrent.prepare(k, c_init)
    k.arrays, k.param_files = [], []
    if k.kind in ("mvu", "dwu"):
        # Weights: memories of words of SIMD lanes, narrow words packed K to
        # a memory word (pack_memory); synthesis and C simulation read the
        # same memory words (params header initialisers, params/*_w.bin).
        bits = k.attrs.get("code_bits") or k.attrs["w_type"].bits   # codes into a codebook, or weights
        simd = k.params["w"].shape[-1]
        lanes, kw = pack_memory(k.params["w"], bits)
        words, init = pack_words(lanes, bits)
        mem_bits = lanes.shape[-1] * bits
        dims = "".join(f"[{n}]" for n in lanes.shape[:-1])
        k.arrays.append({"ctype": f"{k.id}_wword_t", "decl": f"{k.id}_w{dims}", "init": init})
        k.word_types = [(f"{k.id}_wword_t", memory_word_type(mem_bits),
                         f"memory word of {mem_bits} bits: " + (
                             f"{kw} consecutive words of {_lanes(simd)}" if kw > 1 else _lanes(simd)))]
        k.param_files.append({"file": f"{k.id}_w.bin", "count": int(np.prod(lanes.shape[:-1])),
                              "pointer": f"&{k.id}_w" + "[0]" * (lanes.ndim - 1), "bytes": words,
                              "loader": "load_words"})
        if "tiles" in k.attrs:
            _tile_weights(k, lanes.shape[1])
        b = k.params["b"]
        k.arrays.append({"ctype": f"{k.id}_acc_t", "decl": f"{k.id}_b{_dims(b)}", "init": c_init(b)})
        k.param_files.append({"file": f"{k.id}_b.bin", "count": b.size,
                              "pointer": f"&{k.id}_b" + "[0]" * b.ndim, "array": b})
    if "thr" in k.params:
        a, neg = k.params["thr"], k.params["neg"]
        k.thr_init = c_init(a) + ", " + c_init(neg)
        k.param_files.append({"file": f"{k.id}_thr.bin", "count": a.size,
                              "pointer": f"&{k.id}_rq.thr[0][0]", "array": a})
        k.param_files.append({"file": f"{k.id}_neg.bin", "count": neg.size,
                              "pointer": f"&{k.id}_rq.neg[0]", "array": neg})
    rq = k.attrs.get("requant") or {}
    if rq.get("kind") == "multiply":
        # m, b per channel; the exception codes x and outputs y, [CH][NX] (at
        # least one column: C++ has no empty arrays).
        ch, nx = len(rq["m"]), len(rq["x"][0])
        k.mul_nx = nx
        arrays = {"m": np.asarray(rq["m"], np.int64), "b": np.asarray(rq["b"], np.int64),
                  "x": np.asarray(rq["x"], np.int64).reshape(ch, nx) if nx else np.zeros((ch, 1), np.int64),
                  "y": np.asarray(rq["y"], np.int64).reshape(ch, nx) if nx else np.zeros((ch, 1), np.int64)}
        k.thr_init = ", ".join(c_init(a) for a in arrays.values())
        for name, a in arrays.items():
            k.param_files.append({"file": f"{k.id}_rq_{name}.bin", "count": a.size,
                                  "pointer": f"&{k.id}_rq.{name}" + "[0]" * a.ndim, "array": a})
        lanes = requant_lanes(k)
        k.thr_banks = lanes if ch % lanes == 0 else ch
    if "lut" in k.params:
        a = k.params["lut"]
        k.thr_init = c_init(a)
        k.param_files.append({"file": f"{k.id}_lut.bin", "count": a.size,
                              "pointer": f"&{k.id}_rq.table[0][0]", "array": a})
    k.requant_text = _requant_text(k)
    if "thr" in k.params:
        k.thr_banks = threshold_banks(k)


def index_word_type(bits: int) -> str:
    """C type of an index-memory code of `bits` bits: exactly the bits the
    cost model counts."""
    return f"ap_uint<{bits}>"


def _tile_weights(k: Kernel, depth: int) -> None:
    """A tile-walking unit (block-sparse, weight-shared or both): its
    memories, index memory and codebook as one hlsgen::TileWeights
    (hlsgen_mvu.h), which selects the tile-walking mvu."""
    a = k.attrs
    idx = k.params.get("idx", np.zeros(1, dtype=np.int64))   # unused when not indexed
    w = k.arrays.pop()
    k.word_types.append((f"{k.id}_idx_t", index_word_type(a["index_bits"]),
                         f"index code of {a['index_bits']} bits: column tile * 2 + last of its "
                         "neuron fold" if a["indexed"] else "unused: every tile stored, in order"))
    book = k.params.get("book")
    if book is not None:
        k.word_types.append((f"{k.id}_book_t", f"hlsgen::Codebook<ap_uint<{a['code_bits']}>, "
                             f"{len(book)}, {k.id}_w_t>", f"{a['code_bits']}-bit codes into "
                             f"{len(book)} shared weights"))
    k.word_types.append((f"{k.id}_tiles_t",
                         f"hlsgen::TileWeights<{k.id}_wword_t, {a['pe']}, {depth}, {a['tiles']}, "
                         f"{'true' if a['indexed'] else 'false'}, {k.id}_idx_t, {a['iters']}, "
                         f"{f'{k.id}_book_t' if book is not None else 'hlsgen::Plain'}>",
                         f"{a['tiles']} of {a['dense_tiles']} tiles of {a['pe']} x {a['simd']} "
                         f"stored and visited, {a['iters']} cycles/frame"))
    codes = "{" + c_init(book) + "}" if book is not None else "{0}"
    k.arrays.append({"ctype": f"{k.id}_tiles_t", "decl": f"{k.id}_w",
                     "init": "{" + w["init"] + ", " + c_init(idx) + ", " + codes + "}"})
    files = k.param_files[-1]
    files["pointer"] = files["pointer"].replace(f"&{k.id}_w", f"&{k.id}_w.mem", 1)
    if a["indexed"]:
        k.param_files.append({"file": f"{k.id}_idx.bin", "count": len(idx),
                              "pointer": f"&{k.id}_w.idx[0]", "array": idx})
    if book is not None:
        k.param_files.append({"file": f"{k.id}_book.bin", "count": len(book),
                              "pointer": f"&{k.id}_w.codes.book[0]", "array": book})


def requant_lanes(k: Kernel) -> int:
    """Channels a kernel requantizes in one cycle: lane i of a word reads
    channel ch0 + i, ch0 a multiple of the lane count."""
    if k.kind == "mvu":
        return k.attrs["pe"]
    if k.kind in ("dwu", "pool", "global_pool"):
        return k.attrs["simd"]
    return k.inp.lanes   # elementwise requantization, adds


def threshold_banks(k: Kernel) -> int:
    """Banks of a per-channel threshold table (RequantThresholds' LANES):
    one per lane when the lanes divide the channels, so lane i only ever
    reads bank i; otherwise a bank per channel (complete partition)."""
    ch, lanes = k.params["thr"].shape[0], requant_lanes(k)
    return lanes if ch % lanes == 0 else ch


def render_project(d: Design, folder: Path, ctx: dict) -> None:
    """Writes firmware/, tb/ sources and build scripts into folder."""
    env = template_env()
    for k in d.kernels:
        _prepare(k)
    params_kernels = [k for k in d.kernels if "requant" in k.attrs]
    max_cycles = max(k.cycles for k in d.kernels)
    values = dict(ctx, d=d, version=__version__, params_kernels=params_kernels,
                  fifo_depth=FIFO_DEPTH, in_word_bits=_bytes(d.inp.word_bits),
                  out_word_bits=_bytes(d.out.word_bits), max_cycles=max_cycles,
                  fps=ctx["clock_mhz"] * 1e6 / max_cycles,
                  clock_period_ns=round(1000.0 / ctx["clock_mhz"], 3),
                  in_labels=port_labels(d.in_ports), out_labels=port_labels(d.out_ports))
    fw = folder / "firmware"
    (fw / "params").mkdir(parents=True)
    (fw / "lib").mkdir()
    (folder / "tb").mkdir()
    for header in sorted(KERNEL_LIB.glob("*.h")):
        shutil.copy(header, fw / "lib" / header.name)
    (fw / f"{d.name}.h").write_text(env.get_template("top.h.j2").render(values))
    (fw / f"{d.name}.cpp").write_text(env.get_template("top.cpp.j2").render(values))
    params_t = env.get_template("params.h.j2")
    for k in params_kernels:
        template = env.get_template("rnn_params.h.j2") if k.kind == "rnn" else params_t
        (fw / "params" / f"{k.id}.h").write_text(template.render(values, k=k))
        for p in k.param_files:
            if "bytes" in p:
                p["bytes"].tofile(fw / "params" / p["file"])
            else:
                p["array"].astype("<i8").tofile(fw / "params" / p["file"])
    (folder / "tb" / f"{d.name}_tb.cpp").write_text(env.get_template("tb.cpp.j2").render(values))
    (folder / "build_prj.tcl").write_text(env.get_template("build_prj.tcl.j2").render(values))
    (folder / "README.md").write_text(env.get_template("README.md.j2").render(values))
    render_board_files(d, folder, values)


def _bytes(bits: int) -> int:
    """AXI-Stream data width: a power of two of at least 8 bits, so the AXI DMA
    connects to the IP directly, without a width converter."""
    width = 8
    while width < bits:
        width *= 2
    return width
