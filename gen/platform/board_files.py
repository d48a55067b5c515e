"""Board-side files of a project: the Vivado block design, the PYNQ driver
and the project Makefile. What both architectures share is here (the PS and
its ports, control and memory wiring, the Makefile, deploy files), with the
dataflow IP's AXI DMA and streams; the tiled engine's AXI masters and
registers are gen/arch/tiled/board.py.

Called by gen/arch/dataflow/render.py and gen/arch/tiled/project.py after the firmware and
testbench are written. Every fact the files must agree on (instance names,
DMA widths, alignment, how a stream word sits in memory) is decided here,
once, and handed to the templates; sim/emulator.py reads the same facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path


from hlsgen.errors import HlsgenError
from hlsgen.arch.dataflow.folding import AXIS_MAX_BITS
from hlsgen.project.paths import template_env

# Block-design cell names: the PYNQ Overlay exposes each IP under its cell name.
DMA_CELL = "axi_dma"
# AXI DMA in simple mode with a 26-bit length register: at most 64 MiB - 1 per transfer.
DMA_LENGTH_BITS = 26
# Vitis HLS renames ports that are HDL keywords: `in` and `out` become in_r and out_r.
IP_IN_PORT, IP_OUT_PORT = "in_r", "out_r"
# Control register of an ap_ctrl_hs s_axilite block: bit 0 ap_start, bit 7 auto_restart.
AP_CTRL = 0x00
# build_prj.tcl steps (-tclargs) per build stage. Vitis HLS starts each run from a
# fresh solution (open_project -reset), so later stages repeat the synthesis.
HLS_STEPS = {"csim": ("csim",), "synth": ("synth",), "cosim": ("synth", "cosim"),
             "ip": ("synth", "export"), "bitstream": ("synth", "export")}
# Receive buffers of consecutive frames start on this many bytes (a cache line),
# at least the DMA's memory-mapped width, as a DMA without realignment needs.
MIN_RECV_ALIGN = 64


def ip_cell(name: str) -> str:
    return f"{name}_0"


def vlnv(name: str) -> str:
    """The IP as build_prj.tcl exports it (export_design -vendor/-library/-version)."""
    return f"hlsgen.org:hlsgen:{name}:1.0"


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


def deploy_files(project: Path, name: str, extra=()) -> list[tuple[Path, str]]:
    """(local file, name on the board) of everything a board needs: the
    bitstream and .hwh that Vivado exported into deploy/, the driver, the
    test vectors its self-test runs, and the architecture's `extra` files
    (Architecture.deploy_files: the tiled engine's DDR images)."""
    project = Path(project)
    files = [(project / "deploy" / f"{name}.bit", f"{name}.bit"),
             (project / "deploy" / f"{name}.hwh", f"{name}.hwh"),
             (project / "driver" / f"{name}_driver.py", f"{name}_driver.py"),
             (project / "tb" / "inputs.npy", f"{name}_inputs.npy"),
             (project / "tb" / "golden.npy", f"{name}_golden.npy")]
    return files + list(extra)


def ddr_image_name(name: str) -> str:
    return f"{name}_ddr.npz"


def has_block_design(board) -> bool:
    """Alveo cards have no processing system to build a PYNQ overlay around."""
    return board.ps_family != "alveo"


# What differs between the two PS families, by their own IP's names.
# hp_format: (enable property, interface, clock pin) of high-performance port {k}.
_PS = {
    "zynq-7000": {
        "ip": "processing_system7", "rule": "xilinx.com:bd_rule:processing_system7",
        "automation": 'make_external "FIXED_IO, DDR" apply_board_preset "{preset}" '
                      'Master "Disable" Slave "Disable"',
        "config": [("PCW_USE_M_AXI_GP0", "1"), ("PCW_FPGA0_PERIPHERAL_FREQMHZ", "{clock}")],
        "hp_format": ("PCW_USE_S_AXI_HP{k}", "S_AXI_HP{k}", "S_AXI_HP{k}_ACLK"),
        "clk": "FCLK_CLK0", "resetn": "FCLK_RESET0_N", "master": "M_AXI_GP0",
        "master_clk": "M_AXI_GP0_ACLK", "addr_bits": 32},
    "zynq-ultrascale+": {
        "ip": "zynq_ultra_ps_e", "rule": "xilinx.com:bd_rule:zynq_ultra_ps_e",
        "automation": 'apply_board_preset "{preset}"',
        # HPM0 is the one master; HPM1/LPD would need clocks of their own.
        "config": [("PSU__USE__M_AXI_GP0", "1"), ("PSU__USE__M_AXI_GP1", "0"),
                   ("PSU__USE__M_AXI_GP2", "0"),
                   ("PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ", "{clock}")],
        # The slave ports S_AXI_GP2..5 are HP0..HP3.
        "hp_format": ("PSU__USE__S_AXI_GP{gp}", "S_AXI_HP{k}_FPD", "saxihp{k}_fpd_aclk"),
        "clk": "pl_clk0", "resetn": "pl_resetn0", "master": "M_AXI_HPM0_FPD",
        "master_clk": "maxihpm0_fpd_aclk", "addr_bits": 64},
}


def ps_settings(board, clock_mhz: float, hp_ports: list[int]) -> dict:
    """The PS's settings, with high-performance ports hp_ports enabled; ps["hp"]
    maps each to its interface and clock pin."""
    ps = dict(_PS[board.ps_family])
    fill = {"preset": "1" if board.board_part else "0", "clock": f"{clock_mhz:g}"}
    ps["automation"] = ps["automation"].format(**fill)
    enable, intf, clk = ps.pop("hp_format")
    ps["config"] = [(k, v.format(**fill)) for k, v in ps["config"]] + [
        (enable.format(k=k, gp=k + 2), "1") for k in hp_ports]
    ps["hp"] = {k: {"intf": intf.format(k=k), "clk": clk.format(k=k)} for k in hp_ports}
    return ps


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


@dataclass(frozen=True)
class MemPath:
    """AXI masters that reach PS memory through one high-performance port, by
    way of a SmartConnect (which converts width and protocol: the IP's AXI4
    to the Zynq-7000's AXI3)."""

    cell: str
    what: str
    masters: tuple[str, ...]
    hp: int


def wiring(ps: dict, ip: str, streams: list[dict], memory: list[MemPath],
            control: list[str]) -> dict:
    """Block-design nets every design has: control slaves on the PS master,
    memory paths into the HP ports, one clock and its resets."""
    convs = [s["converter"] for s in streams if s["converter"]]
    dma = [f"{DMA_CELL}/s_axi_lite_aclk", f"{DMA_CELL}/m_axi_mm2s_aclk",
           f"{DMA_CELL}/m_axi_s2mm_aclk"] if streams else []
    ics = ["ctrl_ic"] + [m.cell for m in memory]
    clocks = ([f"ps/{ps['master_clk']}"] + [f"ps/{ps['hp'][m.hp]['clk']}" for m in memory]
              + ["rst_pl/slowest_sync_clk"] + dma + [f"{ip}/ap_clk"] + [f"{c}/aclk" for c in ics]
              + [f"{c}/aclk" for c in convs])
    resets = ([f"{DMA_CELL}/axi_resetn"] if streams else []) + [f"{ip}/ap_rst_n"] + [
        f"{c}/aresetn" for c in convs]
    return {"memory": memory, "control": control, "interconnects": ics,
            "clock_pins": clocks, "reset_pins": resets}


def overlay_class_name(name: str) -> str:
    """The driver's Overlay subclass for IP `name`."""
    return "".join(p[:1].upper() + p[1:] for p in name.split("_") if p) + "Overlay"


def common_context(values: dict, name: str, arch: str, folder: Path, in_count: int,
                   extra_files=()) -> dict:
    board = values["board"]
    return dict(values, name=name, ip_cell=ip_cell(name), ip_vlnv=vlnv(name), ap_ctrl=AP_CTRL,
                class_name=overlay_class_name(name), arch=arch, in_count=in_count,
                hls_steps={k: v for k, v in HLS_STEPS.items() if k != "bitstream"},
                block_design=has_block_design(board), copied_to_deploy=[
                    (str(src.relative_to(folder)), dst)
                    for src, dst in deploy_files(folder, name, extra_files)
                    if src.parent.name != "deploy"])


def write_board_files(folder: Path, ctx: dict, driver_template: str) -> None:
    """Makefile, and for a PYNQ board vivado/block_design.tcl and the driver."""
    env = template_env()
    (folder / "Makefile").write_text(env.get_template("Makefile.j2").render(ctx))
    if not ctx["block_design"]:
        return
    (folder / "vivado").mkdir()
    (folder / "vivado" / "block_design.tcl").write_text(
        env.get_template("block_design.tcl.j2").render(ctx))
    (folder / "driver").mkdir(exist_ok=True)
    driver = folder / "driver" / f"{ctx['name']}_driver.py"
    driver.write_text(env.get_template(driver_template).render(ctx))
    driver.chmod(0o755)


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
        ctx.update(ps=ps, streams=streams, **wiring(ps, ctx["ip_cell"], streams, memory, control))
    write_board_files(folder, ctx, "driver.py.j2")
