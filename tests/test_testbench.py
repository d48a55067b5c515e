"""The generated testbench as Vitis HLS builds it: sources given by absolute
path, no include folder or define on the command line, run from another
folder with no arguments (csim_design / cosim_design), in a project whose path
has a space. It finds its own vectors, runs both branches of the kernel
library and compares with the golden executor."""

from __future__ import annotations

import subprocess

import pytest

from conftest import qdense_mlp, randomize_biases
from hlsgen.sim.headers import ap_headers_dir


@pytest.mark.parametrize("arch", ["dataflow", "tiled"])
@pytest.mark.parametrize("branch", [[], ["-DHLSGEN_SYNTHESIS"]], ids=["csim-branch", "synthesis-branch"])
def test_testbench_finds_its_vectors_without_flags(tf, save_model, tmp_path, branch, arch):
    from hlsgen.flow import generate
    model = randomize_biases(qdense_mlp(tf, [12, 16, 5], softmax=False))
    project = generate(str(save_model(model)), tmp_path / "my project" / "mlp", n_vectors=50,
                       arch=arch).out
    name = "mlp"
    work = tmp_path / "elsewhere"
    work.mkdir()
    exe = work / "tb"
    subprocess.run(["g++", "-std=c++14", "-O1", "-w", *branch, "-I", str(ap_headers_dir()),
                    str(project.resolve() / "firmware" / f"{name}.cpp"),
                    str(project.resolve() / "tb" / f"{name}_tb.cpp"), "-o", str(exe)],
                   check=True, cwd=work)
    run = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True)
    assert run.returncode == 0, run.stderr
    assert "50 frames, 0 of 250 outputs differ from the golden executor" in run.stdout
    # The comparison can fail: a corrupted golden file is reported as a difference.
    golden = project / "tb" / "golden.bin"
    data = bytearray(golden.read_bytes())
    data[0] ^= 1
    golden.write_bytes(bytes(data))
    run = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True)
    assert run.returncode == 1 and "1 of 250 outputs differ" in run.stdout
    (project / "tb" / "inputs.bin").unlink()   # no vectors: a clear error, exit 2
    run = subprocess.run([str(exe)], cwd=work, capture_output=True, text=True)
    assert run.returncode == 2 and "whole number" in run.stderr
