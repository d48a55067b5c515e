"""The installed environment is the lock: a fresh clone installs exactly
requirements.lock.txt (Makefile, .ci/run), so a green run today is a green run
tomorrow whatever the registry serves."""

from __future__ import annotations

import re
from importlib import metadata
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
MAIN = ("numpy", "tensorflow", "tf-keras", "qkeras", "hls4ml", "torch", "brevitas", "qonnx", "onnx",
        "onnxruntime", "onnxoptimizer", "pynq", "jinja2")


def _norm(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def locked(path: Path) -> dict[str, str]:
    pins = {}
    for line in path.read_text().splitlines():
        m = re.match(r"^([A-Za-z0-9][A-Za-z0-9._-]*)==([^ \\;]+)", line)
        if m:
            pins[_norm(m.group(1))] = m.group(2)
    return pins


def test_lock_pins_every_package_with_hashes():
    text = (ROOT / "requirements.lock.txt").read_text()
    pins = locked(ROOT / "requirements.lock.txt")
    assert set(map(_norm, MAIN)) <= set(pins), set(map(_norm, MAIN)) - set(pins)
    # every pinned requirement carries at least one hash (pip/uv check them)
    blocks = re.split(r"\n(?=[A-Za-z0-9])", text.split("\n", 2)[2])
    assert all("--hash=sha256:" in b for b in blocks if re.match(r"[A-Za-z0-9]", b)), "a pin without a hash"
    assert pins["torch"] == "2.13.0+cpu"   # the CPU build, never a CUDA one
    assert "tensorflow-cpu" not in pins    # tf-keras takes tensorflow itself; one of the two only


@pytest.mark.parametrize("name", MAIN)
def test_installed_versions_equal_the_lock(name):
    pins = locked(ROOT / "requirements.lock.txt")
    assert metadata.version(name) == pins[_norm(name)], f"{name} differs from requirements.lock.txt: run make install"


def test_whole_environment_equals_the_lock():
    # The environment's own site-packages: setuptools puts its vendored
    # packages (setuptools/_vendor/*.dist-info) on sys.path once imported.
    import sysconfig
    pins = locked(ROOT / "requirements.lock.txt")
    site = [sysconfig.get_paths()["purelib"], sysconfig.get_paths()["platlib"]]
    installed = {_norm(d.metadata["Name"]): d.version for d in metadata.distributions(path=site)}
    wrong = {n: (installed.get(n), v) for n, v in pins.items() if installed.get(n) != v}
    assert not wrong, f"installed != locked: {wrong}"
    extra = set(installed) - set(pins) - {"hlsgen", "pip", "uv", "setuptools", "wheel"}
    assert not extra, f"installed but not locked: {sorted(extra)}"


def test_benchmark_lock_pins_its_requirements():
    import sys
    sys.path.insert(0, str(ROOT / "bench"))
    from hls4ml_client import LOCK, REQUIREMENTS
    pins = locked(LOCK)
    for req in REQUIREMENTS:
        name, version = req.split("==")
        assert pins[_norm(name)] == version, req
