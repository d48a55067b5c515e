"""The tiled engine's interface to a board: its top function's arguments
(one table, from which the C++ signature and pragmas, the s_axilite
register offsets, the HP-port wiring of the block design, the driver's
buffers and the board emulator's argument order are all derived), and the
board-side files of a tiled project (block design, driver, DDR images).

The shared block-design and driver machinery is gen/platform/board_files.py."""

from __future__ import annotations

from dataclasses import dataclass, replace
from pathlib import Path

import numpy as np

from hlsgen.platform.board_files import (MemPath, common_context, ddr_image_name, ps_settings, wiring,
                             write_board_files)
from hlsgen.errors import HlsgenError

# The top function's arguments, in order: (name, C++ type, m_axi bundle or
# None for a scalar, HP port, what it holds, max_widen_bitwidth). Weights,
# the heaviest traffic, have a high-performance port of their own, and so do
# the feature maps; the descriptor table and parameters share the third.
_TOP = (
    ("desc", "const ap_int<64> *", "gmem_desc", 2, "descriptor table", 0),
    ("n_layers", "int", None, None, "layers to run", 0),
    ("fmap", "ap_uint<8> *", "gmem_fmap", 1, "feature maps", 64),
    ("weights", "const {name}_wmem_t *", "gmem_w", 0, "weights", 512),
    ("params", "const ap_int<64> *", "gmem_params", 2, "biases, thresholds and tables", 0),
)
# The first argument register of an s_axilite control block (0x00-0x0c:
# control, global and IP interrupt enables, interrupt status).
AXILITE_ARGS_BASE = 0x10
# Bytes of each scalar argument's value (its register).
_SCALAR_BYTES = {"int": 4}
# Bytes of a buffer address register: Vitis HLS's m_axi offsets are 64-bit.
ADDRESS_BYTES = 8


@dataclass(frozen=True)
class TiledArg:
    """One argument of the tiled top function: a DDR buffer (an m_axi
    pointer whose address is an s_axilite register) or a scalar register."""

    name: str
    ctype: str            # the C++ type in the top function's signature
    bundle: str | None    # m_axi bundle (the IP's m_axi_<bundle> port); None: scalar
    hp: int | None        # the PS high-performance port the bundle reaches memory through
    what: str
    widen: int = 0        # max_widen_bitwidth of the m_axi port (0: the tool's default)
    elem_bytes: int = 0   # bytes per element in memory (buffers)
    count: int = 0        # elements the IP may touch (buffers)
    dtype: str = ""       # numpy dtype of an element, as the driver fills the buffer

    @property
    def pointer(self) -> bool:
        return self.bundle is not None

    @property
    def register_bytes(self) -> int:
        return ADDRESS_BYTES if self.pointer else _SCALAR_BYTES[self.ctype]


def tiled_top_args(name: str) -> list[TiledArg]:
    """The top function's arguments of IP `name`, without buffer sizes."""
    return [TiledArg(n, c.format(name=name), b, hp, what, widen) for n, c, b, hp, what, widen in _TOP]


def tiled_args(t) -> list[TiledArg]:
    """The top function's arguments for the tiled design `t` (gen/arch/tiled/design.py),
    with each buffer's element size, element count and numpy dtype."""
    from hlsgen.arch.tiled.design import word_bytes
    sizes = {"desc": (8, int(t.descriptors.size)), "fmap": (1, int(t.fmap_bytes)),
             "weights": (word_bytes(t.types["w_t"]), int(t.weights.size)),
             "params": (8, int(t.params.size))}
    out = []
    for a in tiled_top_args(t.name):
        if a.pointer:
            size, count = sizes[a.name]
            dtype = "u1" if a.name == "fmap" else f"<i{size}"
            a = replace(a, elem_bytes=size, count=count, dtype=dtype)
        out.append(a)
    return out


def tiled_registers() -> dict[str, int]:
    """Register name -> offset in the tiled IP's s_axi_control, in Vitis HLS's
    layout: from 0x10, each argument takes its value's 32-bit words and one
    more word; a buffer's 64-bit address is two registers, <arg>_1 (bits
    31:0) and <arg>_2 (bits 63:32), as PYNQ's register_map names them from
    the .hwh."""
    regs, offset = {}, AXILITE_ARGS_BASE
    for a in tiled_top_args("top"):
        words = -(-a.register_bytes // 4)
        if words == 1:
            regs[a.name] = offset
        else:
            regs.update({f"{a.name}_{k + 1}": offset + 4 * k for k in range(words)})
        offset += 4 * (words + 1)
    return regs


def memory_paths(args: list[TiledArg], ip: str) -> list[MemPath]:
    """One SmartConnect per HP port, with the buffers' AXI masters that use it."""
    paths = []
    for hp in sorted({a.hp for a in args if a.pointer}):
        mine = [a for a in args if a.hp == hp]
        paths.append(MemPath(f"hp{hp}_ic", ", ".join(a.what for a in mine),
                             tuple(f"{ip}/m_axi_{a.bundle}" for a in mine), hp))
    return paths


def render_tiled_board_files(t, folder: Path, values: dict) -> None:
    """Writes the board-side files of the tiled design `t` into `folder`
    (values: the context the project templates were rendered with, including
    args and memory), and driver/<name>_ddr.npz: the DDR images the driver
    loads, in the element types the IP reads them in."""
    out = t.out.qtype
    if out.bits >= 64 and not out.signed:
        raise HlsgenError(f"unsigned {out.bits}-bit output values do not fit the driver's int64 "
                          "codes; narrow the last layer's output quantizer")
    args = values["args"]
    ctx = common_context(values, t.name, "tiled", folder, t.inp.count, ddr_files(folder, t.name))
    ctx.update(registers=tiled_registers())
    if ctx["block_design"]:
        memory = values["memory"]
        ps = ps_settings(values["board"], values["clock_mhz"], [m.hp for m in memory])
        ctx.update(ps=ps, streams=[], **wiring(ps, ctx["ip_cell"], [], memory,
                                               [f"{ctx['ip_cell']}/s_axi_control"]))
        dtypes = {a.name: a.dtype for a in args}
        (folder / "driver").mkdir()
        np.savez(folder / "driver" / ddr_image_name(t.name),
                 desc=t.descriptors.reshape(-1).astype(dtypes["desc"]),
                 weights=t.weights.astype(dtypes["weights"]),
                 params=t.params.astype(dtypes["params"]))
    write_board_files(folder, ctx, "tiled_driver.py.j2")


def ddr_files(project: Path, name: str) -> list[tuple[Path, str]]:
    """The DDR images (descriptor table, weights, parameters) the driver
    loads: (local file, name on the board)."""
    return [(Path(project) / "driver" / ddr_image_name(name), ddr_image_name(name))]
