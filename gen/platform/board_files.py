"""Board-side files of a project that every architecture shares: the PS and
its ports, control and memory wiring, the Makefile, the deploy files, and
writing the Vivado block design and PYNQ driver. Each architecture adds its
own IP's side: the dataflow IP's AXI DMA and streams in
gen/arch/dataflow/board.py, the tiled engine's AXI masters and registers in
gen/arch/tiled/board.py. Every fact the files must agree on (instance names,
widths, alignment) is decided once and handed to the templates; the board
emulator (sim/emulator.py) reads the same facts."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from hlsgen.project.paths import template_env

# Control register of an ap_ctrl_hs s_axilite block: bit 0 ap_start, bit 7 auto_restart.
AP_CTRL = 0x00
# build_prj.tcl steps (-tclargs) per build stage. Vitis HLS starts each run from a
# fresh solution (open_project -reset), so later stages repeat the synthesis.
HLS_STEPS = {"csim": ("csim",), "synth": ("synth",), "cosim": ("synth", "cosim"),
             "ip": ("synth", "export"), "bitstream": ("synth", "export")}


def ip_cell(name: str) -> str:
    return f"{name}_0"


def vlnv(name: str) -> str:
    """The IP as build_prj.tcl exports it (export_design -vendor/-library/-version)."""
    return f"hlsgen.org:hlsgen:{name}:1.0"


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
            control: list[str], clocks_of: tuple = (), resets_of: tuple = ()) -> dict:
    """Block-design nets every design has: control slaves on the PS master,
    memory paths into the HP ports, one clock and its resets; clocks_of and
    resets_of: the pins of the architecture's own cells (the dataflow DMA)."""
    convs = [s["converter"] for s in streams if s["converter"]]
    ics = ["ctrl_ic"] + [m.cell for m in memory]
    clocks = ([f"ps/{ps['master_clk']}"] + [f"ps/{ps['hp'][m.hp]['clk']}" for m in memory]
              + ["rst_pl/slowest_sync_clk"] + list(clocks_of) + [f"{ip}/ap_clk"]
              + [f"{c}/aclk" for c in ics] + [f"{c}/aclk" for c in convs])
    resets = list(resets_of) + [f"{ip}/ap_rst_n"] + [f"{c}/aresetn" for c in convs]
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
