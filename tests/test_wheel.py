"""The built wheel: one import name (hlsgen) with its data, installed on its
own and used as a user would: `import hlsgen; hlsgen.convert(...)` on an
in-memory QKeras model and on a Brevitas module, predictions equal to the
framework's."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SOURCES = ("gen", "sim", "templates", "boards", "pyproject.toml", "README.md")


@pytest.fixture(scope="module")
def wheel(tmp_path_factory) -> Path:
    """The wheel built from a copy of the sources (the checkout stays clean),
    with the environment's setuptools (no download)."""
    src = tmp_path_factory.mktemp("src")
    for name in SOURCES:
        (shutil.copytree if (REPO / name).is_dir() else shutil.copy)(
            REPO / name, src / name, **({"ignore": shutil.ignore_patterns("__pycache__")}
                                       if (REPO / name).is_dir() else {}))
    dist = tmp_path_factory.mktemp("dist")
    subprocess.run([sys.executable, "-c", "import sys; from setuptools import build_meta; "
                    "print(build_meta.build_wheel(sys.argv[1]))", str(dist)],
                   cwd=src, check=True, capture_output=True, text=True)
    return next(dist.glob("hlsgen-*.whl"))


def test_wheel_has_one_import_name_and_its_data(wheel):
    with zipfile.ZipFile(wheel) as z:
        names = z.namelist()
        entry_points = next(z.read(n).decode() for n in names if n.endswith("entry_points.txt"))
    top = {n.split("/")[0] for n in names}
    assert top == {"hlsgen", next(t for t in top if t.endswith(".dist-info"))}
    assert "hlsgen = hlsgen.cli.main:main" in entry_points
    for expected in ("hlsgen/api.py", "hlsgen/sim/csim.py", "hlsgen/templates/hls/hlsgen_mvu.h",
                     "hlsgen/templates/project/common/Makefile.j2",
                     "hlsgen/templates/project/dataflow/top.cpp.j2",
                     "hlsgen/templates/project/tiled/tiled_top.cpp.j2",
                     "hlsgen/board_data/pynq-z2.json", "hlsgen/sim/threaded/hlsgen_threaded_stream.h",
                     "hlsgen/sim/pynq_emulator/pynq/__init__.py"):
        assert expected in names, expected
    # Every module, template and board file of the checkout is in the wheel
    # (pyproject.toml lists the packages: a new one must be added there).
    for folder, packaged in (("gen", "hlsgen"), ("sim", "hlsgen/sim"),
                             ("templates", "hlsgen/templates"), ("boards", "hlsgen/board_data")):
        for f in (REPO / folder).rglob("*"):
            if f.is_file() and "__pycache__" not in f.parts:
                assert f"{packaged}/{f.relative_to(REPO / folder).as_posix()}" in names, f


# Run by the installed wheel, from a folder outside the checkout.
USER_SCRIPT = r'''
import importlib.util, sys
import numpy as np
sys.path.insert(0, sys.argv[2])                      # tests/api_models.py, nothing else
from api_models import brevitas_mlp, grid_inputs, qkeras_mlp, torch_outputs
import hlsgen
assert hlsgen.__file__.startswith(sys.argv[1]), hlsgen.__file__
for old in ("gen", "sim", "hlsgen_templates", "hlsgen_boards"):
    assert importlib.util.find_spec(old) is None, old

model = qkeras_mlp()
p = hlsgen.convert(model, out="prj/mlp", input_type="ap_fixed<8,3>", n_vectors=20)
assert p.csim().mismatches == 0
x = grid_inputs(5, (16,), 40)
assert np.array_equal(p.predict(x), model.predict(x, verbose=0))

net = brevitas_mlp()
q = hlsgen.convert(net, out="prj/brevitas", input_shape=(1, 64), n_vectors=20)
assert q.csim().mismatches == 0
x = grid_inputs(q.graph.meta["input_qtype"]["frac"], (64,), 40, span=1)
assert np.array_equal(q.predict(x), torch_outputs(net, x))
print("wheel ok", p.path.resolve(), q.path.resolve())
'''


def test_installed_wheel_converts_in_memory_models(wheel, tmp_path):
    pytest.importorskip("brevitas")
    target = tmp_path / "site"
    uv = Path(sys.executable).with_name("uv")
    subprocess.run([str(uv), "pip", "install", "--quiet", "--no-deps", "--python", sys.executable,
                    "--target", str(target), str(wheel)], check=True, capture_output=True)
    assert not (target / "gen").exists() and (target / "hlsgen" / "templates").is_dir()
    work = tmp_path / "user"
    work.mkdir()
    env = dict(os.environ, PYTHONPATH=str(target), TF_USE_LEGACY_KERAS="1")
    proc = subprocess.run([sys.executable, "-c", USER_SCRIPT, str(target), str(REPO / "tests")],
                          cwd=work, env=env, capture_output=True, text=True, timeout=900)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert "wheel ok" in proc.stdout
    assert str(work) in proc.stdout                  # the projects went where the user is
