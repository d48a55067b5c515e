"""Acceptance (issue 9): a VGG-style 8-bit network of about 2 million
weights is too large for a dataflow design on pynq-z2 (`--arch auto` says
so and why), generates for the tiled engine, and its C simulation on 20
random 32x32x3 inputs equals the golden executor on every output, in both
branches of the kernel library (C simulation's and the synthesis branch)."""

import numpy as np
import pytest

from hlsgen.platform.boards import load_board
from hlsgen.arch.select import choose_arch
from tiled_generate import generate_tiled
from hlsgen.sim.csim import csim

W8 = "quantized_bits(8,0,alpha=1)"
A8 = "quantized_relu(8,2)"


def vgg8(tf):
    """32x32x3: (conv3x3 x2, max-pool) x3 with 32, 64, 128 channels, then
    dense 2048 -> 832 -> 10; 8-bit weights and activations."""
    from qkeras import QActivation, QConv2D, QDense
    inp = tf.keras.Input((32, 32, 3), name="image")
    x = QActivation("quantized_bits(8,2,alpha=1)", name="input_quant")(inp)
    for block, c in enumerate((32, 64, 128)):
        for i in range(2):
            x = QConv2D(c, 3, padding="same", kernel_quantizer=W8, bias_quantizer=W8,
                        name=f"conv{block + 1}_{i + 1}")(x)
            x = QActivation(A8, name=f"relu{block + 1}_{i + 1}")(x)
        x = tf.keras.layers.MaxPooling2D(2, name=f"pool{block + 1}")(x)
    x = tf.keras.layers.Flatten(name="flatten")(x)
    x = QDense(832, kernel_quantizer=W8, bias_quantizer=W8, name="fc1")(x)
    x = QActivation(A8, name="relu_fc1")(x)
    x = QDense(10, kernel_quantizer=W8, bias_quantizer=W8, name="fc2")(x)
    return tf.keras.Model(inp, x, name="vgg8")


@pytest.fixture(scope="module")
def vgg_project(tf, tmp_path_factory):
    from conftest import randomize_biases
    tf.keras.utils.set_random_seed(3)
    model = randomize_biases(vgg8(tf), scale=0.05)
    # He-like weights keep activations alive through six layers of 8-bit ReLUs.
    rng = np.random.default_rng(3)
    for layer in model.layers:
        if hasattr(layer, "kernel"):
            fan_in = np.prod(layer.kernel.shape[:-1])
            layer.kernel.assign(rng.normal(0, 1.5 / np.sqrt(fan_in), layer.kernel.shape)
                                .astype(np.float32))
    folder = tmp_path_factory.mktemp("vgg")
    model.save(folder / "vgg8.h5")
    weights = sum(int(np.prod(l.kernel.shape)) for l in model.layers if hasattr(l, "kernel"))
    gen, tiled = generate_tiled(str(folder / "vgg8.h5"), folder / "vgg8", board="pynq-z2",
                                n_vectors=20)
    return gen, tiled, weights


def test_vgg_is_about_two_million_weights_and_too_large_for_dataflow(vgg_project):
    gen, tiled, weights = vgg_project
    assert 1.9e6 <= weights <= 2.1e6
    arch, reason = choose_arch(gen.graph, load_board("pynq-z2"))
    assert arch == "tiled"
    assert "BRAM18" in reason and f"{weights:,} weights" in reason and "DDR" in reason


def test_vgg_tiled_csim_equals_golden_on_20_random_inputs(vgg_project):
    gen, tiled, _ = vgg_project
    board = load_board("pynq-z2")
    p = tiled.point
    assert p.dsp <= board.dsp and p.bram18 <= board.bram18
    sim = csim(gen.out)
    syn = sim.synthesis
    assert sim.frames == 20 and sim.values == 200
    assert syn is not None and syn.frames == 20    # the synthesis branch too, on every vector
    assert sim.csim_mismatches == 0, f"C-sim branch: {sim.csim_mismatches} of 200 outputs differ from golden"
    assert syn.mismatches == 0, f"synthesis branch: {syn.mismatches} of 200 outputs differ from golden"
    assert len(np.unique(sim.csim)) > 100      # live logits, not a constant
    print(f"\nVGG8 tiled <Tm,Tn,Tr,Tc> = <{p.tm},{p.tn},{p.tr},{p.tc}>, {p.dsp} DSP, "
          f"{p.bram18} BRAM18; C-sim branch build {sim.build_seconds:.1f} s, run "
          f"{sim.run_seconds:.2f} s; synthesis branch build {syn.build_seconds:.1f} s, run "
          f"{syn.run_seconds:.2f} s, for 20 frames; golden == QKeras on "
          f"{gen.exact_values}/{gen.total_values}")


def test_arch_auto_through_the_cli_chooses_tiled_and_says_why(vgg_project, tmp_path):
    import json
    import subprocess
    import sys
    gen, _, weights = vgg_project
    model = gen.out.parent / "vgg8.h5"
    out = tmp_path / "auto"
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "generate", str(model), "--out", str(out),
                           "--arch", "auto", "--vectors", "3"], capture_output=True, text=True)
    assert proc.returncode == 0, proc.stderr
    assert "architecture: tiled" in proc.stdout and "BRAM18" in proc.stdout
    report = json.loads((out / "report.json").read_text())
    assert report["arch"] == "tiled" and "engine" in report
    assert json.loads((out / "hlsgen.json").read_text())["arch"] == "tiled"


def test_vgg_driver_runs_on_the_emulated_board(vgg_project, tmp_path):
    """Deliverable 4 on the acceptance network: the generated PYNQ driver
    loads the 2-million-weight DDR image, runs the 20 vectors through the
    emulated overlay, and every output equals the golden executor's."""
    from conftest import board_folder, board_python
    from hlsgen.sim.emulator import install_overlay
    gen, _, weights = vgg_project
    install_overlay(gen.out)
    folder = board_folder(gen.out, tmp_path / "board")
    name = gen.out.name
    ddr = np.load(folder / f"{name}_ddr.npz")
    assert ddr["weights"].dtype == np.int8 and ddr["weights"].size >= weights
    proc = board_python(f"{name}_driver.py", "--selftest", cwd=folder, timeout=600)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "selftest: PASS: 200/200 output codes of 20 frames" in proc.stdout
    print("\n" + proc.stdout.strip())
