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
from hlsgen.project.names import port_labels
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
    """What the block design, the driver and the emulator agree on. A model
    with several inputs or outputs has a port (and a DMA channel) for each:
    DMA k's MM2S feeds input port k, its S2MM stores output port k."""

    inp: StreamPort
    out: StreamPort
    ins: tuple = ()    # every input port (several inputs or outputs)
    outs: tuple = ()

    @property
    def recv_align(self) -> int:
        return max(MIN_RECV_ALIGN, *(p.mm_bits // 8 for p in self.outs or (self.out,)))

    @property
    def max_transfer(self) -> int:
        return (1 << DMA_LENGTH_BITS) - 1

    @property
    def dmas(self) -> list[dict]:
        """The DMAs: cell name, and the input and output port each serves
        (index, StreamPort; None where the channel is left out)."""
        if not self.ins:
            return [{"cell": DMA_CELL, "mm2s": (0, self.inp), "s2mm": (0, self.out)}]
        n = max(len(self.ins), len(self.outs))
        return [{"cell": f"{DMA_CELL}_{k}",
                 "mm2s": (k, self.ins[k]) if k < len(self.ins) else None,
                 "s2mm": (k, self.outs[k]) if k < len(self.outs) else None} for k in range(n)]


def board_io_of_words(in_bits: int, in_words: int, out_bits: int, out_words: int) -> BoardIO:
    """From the IP's AXI-Stream word widths and words per frame alone, so that
    the emulator, reading them from the compiled IP, derives the same DMA."""
    return BoardIO(stream_port(in_bits, in_words), stream_port(out_bits, out_words))


def board_io_of_ports(ins: list[tuple[int, int]], outs: list[tuple[int, int]]) -> BoardIO:
    """(word bits, words per frame) of every input and output port: a DMA
    channel each (one port each way: board_io_of_words)."""
    if len(ins) == 1 and len(outs) == 1:
        return board_io_of_words(*ins[0], *outs[0])
    i, o = tuple(stream_port(*p) for p in ins), tuple(stream_port(*p) for p in outs)
    return BoardIO(i[0], o[0], i, o)


def board_io(design, values: dict) -> BoardIO:
    if not design.multi_io:
        return board_io_of_words(values["in_word_bits"], design.inp.words,
                                 values["out_word_bits"], design.out.words)
    return board_io_of_ports([(p.word_bits, p.stream.words) for p in design.in_ports],
                             [(p.word_bits, p.stream.words) for p in design.out_ports])


def _ip_port(name: str) -> str:
    """Vitis HLS renames the C++ ports `in` and `out` (HDL keywords)."""
    return {"in": IP_IN_PORT, "out": IP_OUT_PORT}.get(name, name)


def _streams(io: BoardIO, ip: str, design=None) -> list[dict]:
    """The stream paths, each with a width converter where the DMA's
    power-of-two width differs from the IP's word."""
    if not io.ins:
        ends = [("input stream", io.inp, f"{DMA_CELL}/M_AXIS_MM2S", f"{ip}/{IP_IN_PORT}", "in_width"),
                ("output stream", io.out, f"{ip}/{IP_OUT_PORT}", f"{DMA_CELL}/S_AXIS_S2MM",
                 "out_width")]
    else:
        ends = []
        for dma in io.dmas:
            if dma["mm2s"]:
                k, port = dma["mm2s"]
                p = design.in_ports[k]
                ends.append((f"input {p.name} ('{port_labels([p])[0]['comment']}')", port, f"{dma['cell']}/M_AXIS_MM2S",
                             f"{ip}/{_ip_port(p.name)}", f"{p.name}_width"))
            if dma["s2mm"]:
                k, port = dma["s2mm"]
                p = design.out_ports[k]
                ends.append((f"output {p.name} ('{port_labels([p])[0]['comment']}')", port, f"{ip}/{_ip_port(p.name)}",
                             f"{dma['cell']}/S_AXIS_S2MM", f"{p.name}_width"))
    paths = []
    for what, port, source, sink, conv in ends:
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
    for s in [p.stream for p in d.out_ports] or [d.out]:
        if s.qtype.bits > 64:
            raise HlsgenError(f"output values of {s.qtype.bits} bits do not fit the driver's int64 "
                              "codes; narrow the last layer's output quantizer")
    io = board_io(d, values)
    ctx = common_context(values, d.name, "dataflow", folder, d.inp_count)
    ctx.update(io=io, dma_cell=DMA_CELL, dma_length_bits=DMA_LENGTH_BITS, dmas=io.dmas)
    if ctx["block_design"]:
        ps = ps_settings(board, values["clock_mhz"], [0])
        streams = _streams(io, ctx["ip_cell"], d)
        channels = [f"{x['cell']}/M_AXI_{ch.upper()}" for x in io.dmas for ch in ("mm2s", "s2mm")
                    if x[ch]]
        memory = [MemPath("mem_ic", "both DMA channels" if not io.ins else "every DMA channel",
                          tuple(channels), 0)]
        control = [f"{x['cell']}/S_AXI_LITE" for x in io.dmas] + [f"{ctx['ip_cell']}/s_axi_control"]
        dma_clocks = tuple(f"{x['cell']}/{pin}" for x in io.dmas for pin in
                           ["s_axi_lite_aclk"] + [f"m_axi_{ch}_aclk" for ch in ("mm2s", "s2mm")
                                                  if x[ch]])
        ctx.update(ps=ps, streams=streams, **wiring(ps, ctx["ip_cell"], streams, memory, control,
                                                    dma_clocks,
                                                    tuple(f"{x['cell']}/axi_resetn" for x in io.dmas)))
    write_board_files(folder, ctx, "driver.py.j2")
