"""Board-side facts of the dataflow IP: its AXI-Stream ports, the AXI DMA
that feeds them (widths, alignment, transfer limit, width converters) and
the block design, driver and Makefile that use them. What both
architectures share (the PS, control and memory wiring, the Makefile,
deploy files) is hlsgen/platform/board_files.py; the board emulator
(hlsgen/sim/emulator.py) derives the same DMA from the compiled IP."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hlsgen.arch.dataflow.folding import AXIS_MAX_BITS
from hlsgen.errors import HlsgenError
from hlsgen.platform.board_files import (MemPath, common_context, ps_settings, wiring,
                                         write_board_files)

# Block-design cell names: the PYNQ Overlay exposes each IP under its cell name.
DMA_CELL = "axi_dma"
# AXI DMA in simple mode with a 26-bit length register: at most 64 MiB - 1 per transfer.
DMA_LENGTH_BITS = 26
# Vitis HLS renames ports that are HDL keywords: `in` and `out` become in_r and out_r.
IP_IN_PORT, IP_OUT_PORT = "in_r", "out_r"
# Receive buffers of consecutive frames start on this many bytes (a cache line),
# at least the DMA's memory-mapped width, as a DMA without realignment needs.
MIN_RECV_ALIGN = 64


def _pow2_at_least(bits: int) -> int:
    p = 8
    while p < bits:
        p *= 2
    return p


@dataclass(frozen=True)
class StreamPort:
    """One AXI-Stream direction between the DMA and the IP."""

    word_bytes: int     # the IP's word: whole bytes, lane 0 in the low bits
    words: int          # words per frame
    dma_bits: int       # the DMA's stream width: a power of two, 8..1024 (PG021)

    @property
    def needs_converter(self) -> bool:
        # Bytes keep their order through a width converter, so memory holds the
        # IP's words back to back either way.
        return self.dma_bits != self.word_bytes * 8

    @property
    def mm_bits(self) -> int:
        # The DMA's memory-mapped side must be at least as wide as its stream.
        return max(32, self.dma_bits)


def stream_port(word_bits: int, words: int) -> StreamPort:
    """gen/arch/dataflow/design.py splits the IP's input and output into words of at most
    AXIS_MAX_BITS, so the DMA connects directly (PG021: at most 1024 bits)
    and no width converter is ever asked for more than PG085's 512 bytes."""
    if word_bits % 8:
        raise HlsgenError(f"AXI-Stream word of {word_bits} bits is not whole bytes; this is a bug "
                          "in hlsgen, please report it with the model")
    if word_bits > AXIS_MAX_BITS:
        raise HlsgenError(f"AXI-Stream word of {word_bits} bits is wider than the AXI DMA's "
                          f"{AXIS_MAX_BITS} (PG021); this is a bug in hlsgen, please report it "
                          "with the model")
    return StreamPort(word_bits // 8, words, min(AXIS_MAX_BITS, _pow2_at_least(word_bits)))


@dataclass(frozen=True)
class BoardIO:
    """What the block design, the driver and the emulator agree on."""

    inp: StreamPort
    out: StreamPort

    @property
    def recv_align(self) -> int:
        return max(MIN_RECV_ALIGN, self.out.mm_bits // 8)

    @property
    def max_transfer(self) -> int:
        return (1 << DMA_LENGTH_BITS) - 1


def board_io_of_words(in_bits: int, in_words: int, out_bits: int, out_words: int) -> BoardIO:
    """From the IP's AXI-Stream word widths and words per frame alone, so that
    the emulator, reading them from the compiled IP, derives the same DMA."""
    return BoardIO(stream_port(in_bits, in_words), stream_port(out_bits, out_words))


def board_io(design, values: dict) -> BoardIO:
    return board_io_of_words(values["in_word_bits"], design.inp.words,
                             values["out_word_bits"], design.out.words)


def _streams(io: BoardIO, ip: str) -> list[dict]:
    """The two stream paths, each with a width converter where the DMA's
    power-of-two width differs from the IP's word."""
    paths = []
    for what, port, source, sink, conv in (
            ("input stream", io.inp, f"{DMA_CELL}/M_AXIS_MM2S", f"{ip}/{IP_IN_PORT}", "in_width"),
            ("output stream", io.out, f"{ip}/{IP_OUT_PORT}", f"{DMA_CELL}/S_AXIS_S2MM",
             "out_width")):
        dma_bytes = port.dma_bits // 8
        to_ip = source.startswith(DMA_CELL)
        paths.append({"what": what, "source": source, "sink": sink, "word_bytes": port.word_bytes,
                      "dma_bits": port.dma_bits,
                      "converter": conv if port.needs_converter else None,
                      "from_bytes": dma_bytes if to_ip else port.word_bytes,
                      "to_bytes": port.word_bytes if to_ip else dma_bytes})
    return paths


def render_board_files(design, folder: Path, values: dict) -> None:
    """Writes the board-side files of the dataflow `design` into `folder`.
    `values` is the context the project templates were rendered with (board,
    clock, ...)."""
    d, board = design, values["board"]
    if d.out.qtype.bits > 64:
        raise HlsgenError(f"output values of {d.out.qtype.bits} bits do not fit the driver's int64 "
                          "codes; narrow the last layer's output quantizer")
    io = board_io(d, values)
    ctx = common_context(values, d.name, "dataflow", folder, d.inp.count)
    ctx.update(io=io, dma_cell=DMA_CELL, dma_length_bits=DMA_LENGTH_BITS)
    if ctx["block_design"]:
        ps = ps_settings(board, values["clock_mhz"], [0])
        streams = _streams(io, ctx["ip_cell"])
        memory = [MemPath("mem_ic", "both DMA channels", (f"{DMA_CELL}/M_AXI_MM2S",
                                                          f"{DMA_CELL}/M_AXI_S2MM"), 0)]
        control = [f"{DMA_CELL}/S_AXI_LITE", f"{ctx['ip_cell']}/s_axi_control"]
        dma_clocks = (f"{DMA_CELL}/s_axi_lite_aclk", f"{DMA_CELL}/m_axi_mm2s_aclk",
                      f"{DMA_CELL}/m_axi_s2mm_aclk")
        ctx.update(ps=ps, streams=streams, **wiring(ps, ctx["ip_cell"], streams, memory, control,
                                                    dma_clocks, (f"{DMA_CELL}/axi_resetn",)))
    write_board_files(folder, ctx, "driver.py.j2")
