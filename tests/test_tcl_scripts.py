"""The project's Tcl scripts are well formed: tclsh sources build_prj.tcl and
vivado/block_design.tcl with every Vitis HLS / Vivado command they may call
defined as a recorder, and the recorded calls say the right things (part,
clock, DMA, ports, export paths) for a Zynq-7000 and an UltraScale+ board.
A command the recorder does not define is an error, so a typo fails."""

from __future__ import annotations

import json
import shutil
import subprocess
from pathlib import Path

import pytest

from conftest import qdense_mlp, randomize_biases

TCLSH = shutil.which("tclsh")
pytestmark = pytest.mark.skipif(TCLSH is None, reason="tclsh is not installed (Debian: tcl)")

VITIS = ["open_project", "set_top", "add_files", "open_solution", "set_part", "create_clock",
         "csim_design", "csynth_design", "cosim_design", "export_design"]
VIVADO = ["create_project", "set_property", "current_project", "update_ip_catalog",
          "create_bd_design", "apply_bd_automation", "connect_bd_net", "connect_bd_intf_net",
          "assign_bd_address", "validate_bd_design", "save_bd_design", "generate_target",
          "add_files", "launch_runs", "wait_on_run", "current_fileset"]

# Lookups answer the way Vivado would for a successful build; the real `file`
# command runs, so the export copies really happen (into the test's folders).
RECORDER = r"""
set ::calls {}
proc record {args} { lappend ::calls $args }
foreach cmd {@PLAIN@} {
    proc $cmd {args} "record $cmd {*}\$args; return {}"
}
proc get_ipdefs {args} {
    record get_ipdefs {*}$args
    return [string map {* 9.9} [lindex $args end]]
}
proc get_board_parts {args} { record get_board_parts {*}$args; return $::board_parts }
proc create_bd_cell {args} { record create_bd_cell {*}$args; return [lindex $args end] }
proc get_bd_cells {args} { return [lindex $args end] }
proc get_bd_pins {args} { lappend ::pins [lindex $args end]; return [lindex $args end] }
proc get_bd_intf_pins {args} { lappend ::pins [lindex $args end]; return [lindex $args end] }
proc get_files {args} {
    record get_files {*}$args
    if {[string match *.hwh [lindex $args end]]} { return $::hwh }
    return /vivado/[lindex $args end]
}
proc make_wrapper {args} { record make_wrapper {*}$args; return /vivado/wrapper.v }
proc get_runs {args} { return [lindex $args end] }
proc get_property {name obj} {
    switch -- $name {
        PROGRESS { return 100% }
        DIRECTORY { return $::run_dir }
        STATS.WNS { return 0.25 }
    }
    error "recorder: unexpected get_property $name"
}
rename exit _exit
proc exit {args} { record exit {*}$args }
set ::pins {}
set argv $::script_args
if {[catch {source $::script} msg]} { puts stderr "SOURCE FAILED: $msg"; _exit 3 }
foreach c $::calls { puts "CALL\x1f[join $c \x1f]" }
foreach p $::pins { puts "PIN\x1f$p" }
"""


def tclsh(script: Path, args: list[str], board_parts: str = "", run_dir: Path | None = None,
          hwh: Path | None = None) -> subprocess.CompletedProcess:
    """Sources `script` in tclsh with the recorders defined."""
    plain = " ".join(sorted(set(VITIS + VIVADO)))
    prelude = (f"set ::script {{{script}}}\nset ::script_args {{{' '.join(args)}}}\n"
               f"set ::board_parts {{{board_parts}}}\nset ::run_dir {{{run_dir or ''}}}\n"
               f"set ::hwh {{{hwh or ''}}}\n")
    return subprocess.run([TCLSH], input=prelude + RECORDER.replace("@PLAIN@", plain), text=True,
                          capture_output=True, timeout=60)


def record(script: Path, args: list[str], **kw) -> tuple[list[list[str]], list[str]]:
    """(calls, pins referenced) of sourcing `script`."""
    proc = tclsh(script, args, **kw)
    assert proc.returncode == 0, proc.stderr
    calls = [l.split("\x1f")[1:] for l in proc.stdout.splitlines() if l.startswith("CALL\x1f")]
    pins = [l.split("\x1f")[1] for l in proc.stdout.splitlines() if l.startswith("PIN\x1f")]
    return calls, pins


def named(calls, cmd):
    return [c[1:] for c in calls if c[0] == cmd]


def option(call: list[str], flag: str) -> str:
    return call[call.index(flag) + 1]


def props(call: list[str]) -> dict:
    """set_property -dict {CONFIG.a 1 CONFIG.b 2} -> {"a": "1", "b": "2"}."""
    words = option(call, "-dict").split()
    return {k.removeprefix("CONFIG."): v for k, v in zip(words[::2], words[1::2])}


# Boards, with what their block design must hold.
BOARDS = {
    "pynq-z2": dict(ps="processing_system7", clock_cfg="PCW_FPGA0_PERIPHERAL_FREQMHZ",
                    clk="ps/FCLK_CLK0", master="ps/M_AXI_GP0", hp="ps/S_AXI_HP0", addr="32"),
    "zcu104": dict(ps="zynq_ultra_ps_e", clock_cfg="PSU__CRL_APB__PL0_REF_CTRL__FREQMHZ",
                   clk="ps/pl_clk0", master="ps/M_AXI_HPM0_FPD", hp="ps/S_AXI_HP0_FPD", addr="64"),
}


@pytest.fixture(scope="module")
def projects(tf, tmp_path_factory):
    """One MLP per board: input 4 x ap_int<16> (an 8-byte word, no converter),
    output 5 x 15-bit logits (10 bytes: a width converter to the DMA's 16)."""
    from hlsgen.flow import generate
    root = tmp_path_factory.mktemp("tcl")
    model = randomize_biases(qdense_mlp(tf, [16, 24, 10], seed=2))
    model.save(root / "m.h5")
    (root / "fold.json").write_text(json.dumps({"fc1": {"simd": 4, "pe": 3},
                                                "logits": {"simd": 3, "pe": 5}}))
    return {b: generate(str(root / "m.h5"), root / b.replace("-", "_"), board=b, n_vectors=10,
                        folding=str(root / "fold.json"),
                        clock_mhz=125 if b == "zcu104" else None).out
            for b in BOARDS}


@pytest.mark.parametrize("board", list(BOARDS))
def test_build_prj_tcl_records_the_vitis_flow(projects, board):
    from hlsgen.platform.boards import load_board
    project = projects[board]
    name = project.name
    calls, _ = record(project / "build_prj.tcl", ["synth", "export"])
    part = load_board(board).part
    assert named(calls, "open_project") == [["-reset", f"{name}_prj"]]
    assert named(calls, "set_top") == [[name]]
    assert named(calls, "set_part") == [[part]]
    clock = 125 if board == "zcu104" else 100
    assert float(option(named(calls, "create_clock")[0], "-period")) == pytest.approx(1000 / clock)
    assert named(calls, "csynth_design") == [[]] and named(calls, "csim_design") == []
    export = named(calls, "export_design")[0]
    # The block design instantiates the IP by exactly this VLNV.
    vlnv = ":".join(option(export, f) for f in ("-vendor", "-library", "-ipname", "-version"))
    bd_calls, _ = record_block_design(project, board, project.parent / f"run_{board}")
    assert ["-type", "ip", "-vlnv", vlnv, f"{name}_0"] in named(bd_calls, "create_bd_cell")
    assert option(export, "-format") == "ip_catalog"
    sources = named(calls, "add_files")
    assert sources[0][0].endswith(f"/firmware/{name}.cpp") and sources[1][:2] == [
        "-tb", str(project.resolve() / "tb" / f"{name}_tb.cpp")]


def record_block_design(project: Path, board: str, run_dir: Path):
    from hlsgen.platform.boards import load_board
    name = project.name
    (project / f"{name}_prj" / "solution1" / "impl" / "ip").mkdir(parents=True, exist_ok=True)
    run_dir.mkdir(exist_ok=True)
    (run_dir / f"{name}_bd_wrapper.bit").write_bytes(b"bitstream of " + board.encode())
    hwh = run_dir / f"{name}_bd.hwh"
    hwh.write_text(f"<hwh board='{board}'/>")
    return record(project / "vivado" / "block_design.tcl", ["3"],
                  board_parts=f"other:board:part0:1.0 {load_board(board).board_part}",
                  run_dir=run_dir, hwh=hwh)


@pytest.mark.parametrize("board", list(BOARDS))
def test_block_design_tcl_records_ps_dma_ip_and_exports(projects, board, tmp_path):
    from hlsgen.platform.boards import load_board
    b, want = load_board(board), BOARDS[board]
    project = projects[board]
    name = project.name
    shutil.rmtree(project / "deploy", ignore_errors=True)
    calls, pins = record_block_design(project, board, tmp_path / "run")

    create = named(calls, "create_project")[0]
    assert option(create, "-part") == b.part
    assert ["board_part", b.board_part, ""] == named(calls, "set_property")[0]
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in named(calls, "create_bd_cell")}
    assert cells["ps"] == f"xilinx.com:ip:{want['ps']}:9.9"
    assert cells["axi_dma"] == "xilinx.com:ip:axi_dma:9.9"
    # Every pin the script wires belongs to a cell it created.
    assert {p.split("/")[0] for p in pins} <= set(cells)

    settings = {c[-1]: props(c) for c in named(calls, "set_property") if "-dict" in c}
    assert settings["ps"][want["clock_cfg"]] == f"{b.clock_mhz if board != 'zcu104' else 125:g}"
    dma = settings["axi_dma"]
    assert dma["c_include_sg"] == "0" and dma["c_sg_length_width"] == "26"
    assert dma["c_addr_width"] == want["addr"]
    assert dma["c_m_axis_mm2s_tdata_width"] == "64"   # the IP's 8-byte input word
    # The generator pads stream words to a power of two (here 80 bits -> 128),
    # so the DMA connects to the IP directly, without width converters.
    assert dma["c_s_axis_s2mm_tdata_width"] == "128"
    assert "in_width" not in cells and "out_width" not in cells

    nets = [set(c) for c in named(calls, "connect_bd_intf_net")]
    for a, z in [("axi_dma/M_AXIS_MM2S", f"{name}_0/in_r"), (f"{name}_0/out_r", "axi_dma/S_AXIS_S2MM"), (want["master"], "ctrl_ic/S00_AXI"),
                 ("ctrl_ic/M00_AXI", "axi_dma/S_AXI_LITE"),
                 ("ctrl_ic/M01_AXI", f"{name}_0/s_axi_control"),
                 ("axi_dma/M_AXI_MM2S", "mem_ic/S00_AXI"), ("axi_dma/M_AXI_S2MM", "mem_ic/S01_AXI"),
                 ("mem_ic/M00_AXI", want["hp"])]:
        assert {a, z} in nets, (a, z)
    clock_net = next(set(c) for c in named(calls, "connect_bd_net") if want["clk"] in c)
    assert {f"{name}_0/ap_clk", "axi_dma/m_axi_mm2s_aclk", "axi_dma/m_axi_s2mm_aclk",
            "axi_dma/s_axi_lite_aclk"} <= clock_net
    assert named(calls, "assign_bd_address") == [[]]
    assert ["impl_1", "-to_step", "write_bitstream", "-jobs", "3"] in named(calls, "launch_runs")
    # Exports: PYNQ's pair, same stem, in deploy/.
    assert (project / "deploy" / f"{name}.bit").read_bytes() == b"bitstream of " + board.encode()
    assert (project / "deploy" / f"{name}.hwh").read_text() == f"<hwh board='{board}'/>"


def test_block_design_refuses_without_the_board_files(projects, tmp_path):
    project = projects["pynq-z2"]
    tcl = project / "vivado" / "block_design.tcl"
    (project / f"{project.name}_prj" / "solution1" / "impl" / "ip").mkdir(parents=True,
                                                                          exist_ok=True)
    proc = tclsh(tcl, [])
    assert proc.returncode == 3
    assert "no board files for tul.com.tw:pynq-z2:part0:1.0" in proc.stderr


def test_alveo_project_has_no_block_design_and_its_makefile_says_why(tf, tmp_path):
    from hlsgen.flow import generate
    qdense_mlp(tf, [8, 8, 4]).save(tmp_path / "m.h5")
    project = generate(str(tmp_path / "m.h5"), tmp_path / "alveo", board="alveo-u250",
                       n_vectors=5).out
    assert not (project / "vivado").exists() and not (project / "driver").exists()
    make = shutil.which("make")
    if make:
        proc = subprocess.run([make, "-C", str(project), "bitstream"], capture_output=True,
                              text=True)
        assert proc.returncode != 0 and "Alveo card" in proc.stderr


# The tiled engine's block design: its AXI masters on the PS's HP ports.
TILED_HP = {
    "pynq-z2": dict(enable=lambda k: f"PCW_USE_S_AXI_HP{k}", hp=lambda k: f"ps/S_AXI_HP{k}",
                    clk=lambda k: f"ps/S_AXI_HP{k}_ACLK"),
    "zcu104": dict(enable=lambda k: f"PSU__USE__S_AXI_GP{k + 2}",
                   hp=lambda k: f"ps/S_AXI_HP{k}_FPD", clk=lambda k: f"ps/saxihp{k}_fpd_aclk"),
}


@pytest.fixture(scope="module")
def tiled_projects(tf, tmp_path_factory):
    import cnn_models as cm
    from tiled_generate import generate_tiled
    root = tmp_path_factory.mktemp("tcl_tiled")
    tf.keras.utils.set_random_seed(1)
    cm.digits_cnn(tf).save(root / "d.h5")
    return {b: generate_tiled(str(root / "d.h5"), root / f"tiled_{b.replace('-', '_')}", board=b,
                              n_vectors=3)[0].out for b in TILED_HP}


@pytest.mark.parametrize("board", list(TILED_HP))
def test_tiled_block_design_puts_each_axi_master_on_an_hp_port(tiled_projects, board, tmp_path):
    import re
    project, want, hp = tiled_projects[board], BOARDS[board], TILED_HP[board]
    name, ip = project.name, f"{project.name}_0"
    calls, pins = record_block_design(project, board, tmp_path / "run")
    cells = {c[-1]: c[c.index("-vlnv") + 1] for c in named(calls, "create_bd_cell")}
    assert "axi_dma" not in cells and cells[ip] == f"hlsgen.org:hlsgen:{name}:1.0"
    assert {p.split("/")[0] for p in pins} <= set(cells)
    settings = {c[-1]: props(c) for c in named(calls, "set_property") if "-dict" in c}
    assert all(settings["ps"][hp["enable"](k)] == "1" for k in (0, 1, 2))
    assert settings["ctrl_ic"] == {"NUM_SI": "1", "NUM_MI": "1"}

    # Every m_axi bundle of the top function reaches PS memory, and nothing else does.
    top = (project / "firmware" / f"{name}.cpp").read_text()
    bundles = re.findall(r"INTERFACE m_axi port = \w+ offset = slave bundle = (\w+)", top)
    assert sorted(bundles) == ["gmem_desc", "gmem_fmap", "gmem_params", "gmem_w"]
    nets = [set(c) for c in named(calls, "connect_bd_intf_net")]
    route = {}
    for net in nets:
        for pin in net:
            if pin.startswith(f"{ip}/m_axi_"):
                (ic_pin,) = net - {pin}
                ic = ic_pin.split("/")[0]
                (to_ps,) = [n for n in nets if f"{ic}/M00_AXI" in n]
                route[pin.removeprefix(f"{ip}/m_axi_")] = (to_ps - {f"{ic}/M00_AXI"}).pop()
    assert route == {"gmem_w": hp["hp"](0), "gmem_fmap": hp["hp"](1),
                     "gmem_desc": hp["hp"](2), "gmem_params": hp["hp"](2)}
    assert {want["master"], "ctrl_ic/S00_AXI"} in nets
    assert {"ctrl_ic/M00_AXI", f"{ip}/s_axi_control"} in nets
    clock_net = next(set(c) for c in named(calls, "connect_bd_net") if want["clk"] in c)
    assert {f"{ip}/ap_clk", "ctrl_ic/aclk", "hp0_ic/aclk", "hp1_ic/aclk", "hp2_ic/aclk",
            *(hp["clk"](k) for k in (0, 1, 2))} <= clock_net
    reset_net = next(set(c) for c in named(calls, "connect_bd_net")
                     if "rst_pl/interconnect_aresetn" in c)
    assert {"ctrl_ic/aresetn", "hp0_ic/aresetn", "hp1_ic/aresetn", "hp2_ic/aresetn"} <= reset_net
    assert (project / "deploy" / f"{name}.bit").read_bytes() == b"bitstream of " + board.encode()
    # The Makefile's bitstream target puts the DDR images beside the driver.
    assert f"cp driver/{name}_ddr.npz deploy/{name}_ddr.npz" in (project / "Makefile").read_text()
