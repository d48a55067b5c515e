"""Shared fixtures: TensorFlow/QKeras imported once, helpers that build,
save, generate and simulate real models."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hlsgen.frontends.qkeras.env import import_qkeras


@pytest.fixture(scope="session")
def tf():
    tf, _, _ = import_qkeras()
    return tf


def qdense_mlp(tf, sizes, wq="quantized_bits(6,0,alpha=1)", act="quantized_relu(6)",
               seed=0, softmax=True, input_quant=None):
    """A QKeras MLP sizes[0] -> ... -> sizes[-1] with random weights."""
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input((sizes[0],), name="x")
    x = QActivation(input_quant, name="in_q")(inp) if input_quant else inp
    for i, n in enumerate(sizes[1:-1]):
        x = QDense(n, kernel_quantizer=wq, bias_quantizer=wq, name=f"fc{i + 1}")(x)
        x = QActivation(act, name=f"act{i + 1}")(x)
    x = QDense(sizes[-1], kernel_quantizer=wq, bias_quantizer=wq, name="logits")(x)
    if softmax:
        x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x)


def randomize_biases(model, scale=0.5, seed=1):
    """Biases start at zero; make them non-trivial so the tests exercise them."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.uniform(-scale, scale, layer.bias.shape).astype(np.float32))
    return model


@pytest.fixture
def save_model(tmp_path):
    def save(model, name="model.h5"):
        path = tmp_path / name
        model.save(path)
        return path
    return save


@pytest.fixture
def gen_and_sim(tmp_path):
    """generate + csim; returns (GenerateResult, CsimResult)."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim

    def run(model_path, name="prj", **kw):
        res = generate(str(model_path), tmp_path / name, **kw)
        return res, csim(res.out)
    return run


def assert_exact(sim_res):
    """C simulation == golden on every output, golden == framework exactly."""
    assert sim_res.mismatches == 0, f"{sim_res.mismatches} outputs differ from golden"
    fw = sim_res.framework_figures()
    assert fw["equal_values"] == fw["values"], fw
    assert fw["max_abs_diff"] == 0.0
    return fw


def board_folder(project: Path, dest: Path) -> Path:
    """What `hlsgen deploy` copies to a board, copied locally."""
    from hlsgen.platform.deploy import upload_list
    from hlsgen.project.manifest import load_project
    for src, dst in upload_list(project, load_project(project)["name"]):
        (dest / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest / dst)
    return dest


def board_python(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Python on the emulated board: `import pynq` finds the emulator."""
    from hlsgen.sim.emulator import PYNQ_PATH
    env = dict(os.environ, PYTHONPATH=str(PYNQ_PATH))
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def board(projects, tmp_path):
    """(board folder, project name, project folder) for a case of the test
    module's own `projects` fixture (case -> project with an emulated overlay)."""
    def at(case):
        return board_folder(projects[case], tmp_path / case), projects[case].name, projects[case]
    return at


def assert_selftest_passes(folder: Path, name: str, batch: int) -> np.ndarray:
    """Runs the driver's self-test on the emulated board; the golden outputs."""
    proc = board_python(f"{name}_driver.py", "--selftest", "--batch", batch, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gold = np.load(folder / f"{name}_golden.npy")
    counts = f"{gold.size}/{gold.size} output codes of {len(gold)} frames"
    assert f"selftest: PASS: {counts}" in proc.stdout
    assert "16/16 single-frame calls exact" in proc.stdout
    return gold


def board_predict(folder: Path, name: str, batch: int) -> tuple[np.ndarray, int]:
    """(predict() of the shipped inputs on the emulated board, ap_starts it took)."""
    from hlsgen.platform.board_files import overlay_class_name
    cls = overlay_class_name(name)
    script = (f"import numpy as np, {name}_driver as drv\n"
              f"ov = drv.{cls}(batch={batch})\n"
              f"np.save('pred.npy', ov.predict(np.load('{name}_inputs.npy')))\n"
              "print('frames', ov.accel.frames)\n")
    proc = board_python("-c", script, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return np.load(folder / "pred.npy"), int(proc.stdout.split("frames")[-1])
