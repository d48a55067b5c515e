"""The tiled engine on a board (issue 9, deliverable 4): the generated PYNQ
driver allocates the DDR buffers, fills and flushes them, writes their
addresses into the IP's registers and runs frame by frame; on the board
emulator the IP reads exactly those buffers (device side only: what was
flushed) with the project's compiled C-simulation code. The self-test is
bit-exact, and a driver that breaks the hardware's rules fails."""

from __future__ import annotations

import re

import numpy as np
import pytest

import cnn_models as cm
from conftest import assert_selftest_passes, board_predict, board_python

# name: model builder, generate_tiled() options, driver batch.
CASES = {
    # Many small tiles: several tiles of channels, rows and columns per layer.
    "digits_small_tiles": dict(builder="digits_cnn", options={"tiling": (3, 2, 3, 5)}, batch=7),
    # Label select at the board's own tiling; 7x7 and a 3x3 stride-2 convolution.
    "stride2_argmax": dict(builder="stride2_7x7", options={"output": "argmax"}, batch=16),
}


def make_tiled_project(tf, root, case):
    """A generated tiled project with the emulated overlay installed in deploy/."""
    from tiled_generate import generate_tiled
    from hlsgen.sim.emulator import install_overlay
    spec = CASES[case]
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(getattr(cm, spec["builder"])(tf))
    model.save(root / f"{case}.h5")
    gen, _ = generate_tiled(str(root / f"{case}.h5"), root / case, n_vectors=30,
                            **spec["options"])
    install_overlay(gen.out)
    return gen.out


@pytest.fixture(scope="module")
def projects(tf, tmp_path_factory):
    root = tmp_path_factory.mktemp("tiled_board")
    return {case: make_tiled_project(tf, root, case) for case in CASES}


@pytest.mark.parametrize("case", list(CASES))
def test_tiled_selftest_is_bit_exact_on_the_emulator(board, case):
    folder, name, _ = board(case)
    assert (folder / f"{name}_ddr.npz").is_file()    # deploy copies the DDR images
    assert_selftest_passes(folder, name, CASES[case]["batch"])


@pytest.mark.parametrize("case", list(CASES))
def test_tiled_predict_on_the_board_equals_the_framework(board, case):
    folder, name, project = board(case)
    pred, frames = board_predict(folder, name, CASES[case]["batch"])
    assert frames == len(pred)                             # one ap_start per frame
    framework = np.load(project / "tb" / "framework.npy")  # QKeras's own outputs
    if CASES[case]["options"].get("output") == "argmax":
        assert pred.dtype.kind == "i" and np.array_equal(pred, framework[:, 0])
        assert len(np.unique(pred)) > 1
    else:
        assert pred.dtype == np.float64 and np.array_equal(pred, framework)
        assert len(np.unique(pred)) > 50


@pytest.mark.parametrize("case", list(CASES))
def test_tiled_board_projects_are_exact_in_both_branches(projects, case):
    """The emulator runs the C-simulation branch; the code that goes on the
    chip is the synthesis branch: both equal golden on all 30 vectors."""
    from hlsgen.sim.csim import csim
    sim = csim(projects[case])
    assert sim.synthesis is not None and sim.synthesis.frames == sim.frames == 30
    assert sim.csim_mismatches == 0 and sim.synthesis.mismatches == 0, \
        (sim.csim_mismatches, sim.synthesis.mismatches, sim.values)


def test_driver_layout_follows_the_ip(projects):
    """Register offsets follow Vitis HLS's s_axilite layout and the top
    function's argument order; buffer sizes are the IP's own constants."""
    from hlsgen.arch.tiled.board import tiled_registers
    project = projects["digits_small_tiles"]
    name = project.name
    assert tiled_registers() == {"desc_1": 0x10, "desc_2": 0x14, "n_layers": 0x1c,
                                 "fmap_1": 0x24, "fmap_2": 0x28, "weights_1": 0x30,
                                 "weights_2": 0x34, "params_1": 0x3c, "params_2": 0x40}
    top = (project / "firmware" / f"{name}.h").read_text()
    assert (f"void {name}(const ap_int<64> *desc, int n_layers, ap_uint<8> *fmap, "
            f"const {name}_wmem_t *weights, const ap_int<64> *params);") in top
    header = {k: int(v) for k, v in re.findall(
        rf"static const unsigned long long {name.upper()}_(\w+) = (\d+);", top)}
    ddr = np.load(project / "driver" / f"{name}_ddr.npz")
    assert ddr["desc"].size == header["DESC_WORDS"] and ddr["desc"].dtype == np.dtype("<i8")
    assert ddr["weights"].size == header["WEIGHTS"] and ddr["weights"].dtype == np.dtype("i1")
    assert ddr["params"].size == header["PARAMS"]
    # The images are the testbench's parameter files, element for element.
    for arg in ("weights", "params"):
        raw = np.fromfile(project / "firmware" / "params" / f"{arg}.bin", dtype="<i8")
        assert np.array_equal(ddr[arg].astype(np.int64), raw)


# A driver that breaks the hardware's rules must fail on the emulator too:
# (driver text replaced, replacement, what the failure says).
BROKEN_DRIVERS = [
    # The input frame never reaches the device side of the buffer.
    ("            inp.flush()\n", "", "selftest: FAIL"),
    # The CPU reads its stale cached copy of the output...
    ("            outp.invalidate()\n", "", "selftest: FAIL"),
    # ... or refreshes the wrong region.
    ("            outp.invalidate()\n", "            inp.invalidate()\n", "selftest: FAIL"),
    # Weights and tables written but never flushed.
    ("            buf.flush()\n", "", "selftest: FAIL"),
    ("address >> 32)", "0)", "is in no live buffer from pynq.allocate()"),
    ("address & 0xFFFFFFFF)", "0)", "is in no live buffer from pynq.allocate()"),
    ("self.regs[\"n_layers\"], LAYERS)", "self.regs[\"n_layers\"], LAYERS - 1)", "selftest: FAIL"),
    ("        self.accel.write(AP_CTRL, AP_START)\n", "", "polling ap_done would never end"),
    ("self.accel.write(AP_CTRL, AP_START)", "self.accel.write(AP_CTRL, AP_START | AUTO_RESTART)",
     "auto-restart would make the tiled IP run"),
    # A feature-map buffer one byte short of what the IP touches.
    ('    "fmap": ("u1", ', '    "fmap": ("u1", -1 + ', "bytes of fmap from"),
    # Weights stored 2 bytes each where the IP reads 1.
    ("buf[:] = ddr[arg]", "buf[:] = ddr[arg] if arg != 'weights' else "
     "ddr[arg].astype('<i2').view('i1')[:count]", "selftest: FAIL"),
]


@pytest.mark.parametrize("old,new,says", BROKEN_DRIVERS)
def test_emulator_fails_a_tiled_driver_that_breaks_the_hardware_contract(board, old, new, says):
    folder, name, _ = board("digits_small_tiles")
    _edit_driver(folder, name, old, new)
    proc = board_python(f"{name}_driver.py", "--selftest", cwd=folder)
    assert proc.returncode != 0
    assert says in proc.stdout + proc.stderr


def _edit_driver(folder, name, old, new):
    driver = folder / f"{name}_driver.py"
    text = driver.read_text()
    assert old in text
    driver.write_text(text.replace(old, new, 1))


def _describe_registers(folder, name, edit):
    """The emulated overlay's .hwh describes the registers as edit(the IP's layout)."""
    import json
    bit = folder / f"{name}.bit"
    manifest = json.loads(bit.read_text())
    manifest["register_map"] = edit(manifest["registers"])
    bit.write_text(json.dumps(manifest))


def test_without_a_register_map_the_driver_uses_vitis_offsets(board):
    """An overlay whose .hwh lists no registers: REGISTERS, the Vitis HLS
    layout written into the driver, must be right on its own."""
    folder, name, _ = board("digits_small_tiles")
    _describe_registers(folder, name, lambda regs: None)
    assert_selftest_passes(folder, name, 7)
    # ...and it is what the driver used: a wrong offset there now fails.
    _edit_driver(folder, name, '"n_layers": 0x1c', '"n_layers": 0x20')
    proc = board_python(f"{name}_driver.py", "--selftest", cwd=folder)
    assert proc.returncode == 1 and "selftest: FAIL" in proc.stdout


def test_register_map_with_one_64_bit_register_per_address(board):
    """A register map naming each buffer address as one register <arg>."""
    folder, name, _ = board("digits_small_tiles")
    _describe_registers(folder, name, lambda regs: {
        k.removesuffix("_1"): v for k, v in regs.items() if not k.endswith("_2")})
    assert_selftest_passes(folder, name, 7)


def test_register_map_without_a_register_names_it(board):
    folder, name, _ = board("digits_small_tiles")
    _describe_registers(folder, name, lambda regs: {
        k: v for k, v in regs.items() if k != "n_layers"})
    proc = board_python(f"{name}_driver.py", "--selftest", cwd=folder)
    assert proc.returncode != 0
    assert "has no register 'n_layers'" in proc.stderr and "regenerate and rebuild" in proc.stderr
