"""A PYNQ board emulator for tests: puts a stand-in overlay into a project's
deploy/ folder, so that the generated driver runs unchanged against the
project's own C-simulation code.

Host side (this module): compiles firmware/<name>.cpp with a small C ABI
(templates/project/dataflow/emulator_abi.cpp.j2, or tiled/tiled_emulator_abi.cpp.j2 for
the tiled engine) into a shared library, and writes deploy/<name>.bit as a
manifest naming it, with deploy/<name>.emu/ holding the library and the
parameter files. Board side (sim/pynq_emulator/pynq): a `pynq` module whose
Overlay reads that manifest; its DMA moves the bytes the driver packed into
a dataflow IP's stream, word by word, and the tiled IP reads the DDR
buffers whose addresses the driver wrote into its registers. Put PYNQ_PATH
first on PYTHONPATH to use it in place of the real pynq."""

from __future__ import annotations

import json
import shutil
import tempfile
from pathlib import Path

from hlsgen.arch.registry import of_project
from hlsgen.errors import HlsgenError
from hlsgen.platform.board_files import ip_cell
from hlsgen.project.manifest import load_project

PYNQ_PATH = Path(__file__).resolve().parent / "pynq_emulator"
MAGIC = "hlsgen emulated overlay"


def build_library(project: Path, name: str, arch) -> Path:
    """The firmware and its C ABI (arch.emulator_abi) as a shared library
    (cached by content). The board runs what was synthesized: the synthesis
    branch, with the parameters compiled in."""
    from hlsgen.sim.compile import build_shared
    src_dir = Path(project) / "build" / "emu"
    src_dir.mkdir(parents=True, exist_ok=True)
    abi = src_dir / f"{name}_emulator_abi.cpp"
    meta = load_project(project)
    ports = {}
    if "inputs" in meta:   # several inputs or outputs: ports in0.., out0.. (the manifest's order)
        ports = {f"{d}_tags": [str(k) for k in range(len(meta[d + "puts"]))]
                 if len(meta[d + "puts"]) > 1 else [""] for d in ("in", "out")}
    text = arch.emulator_abi(name, **ports)
    if not abi.is_file() or abi.read_text() != text:
        abi.write_text(text)
    return build_shared(Path(project), name, [abi], synthesis=True).exe


def is_emulated(bitfile: Path) -> bool:
    try:
        return json.loads(Path(bitfile).read_text()).get("magic") == MAGIC
    except (OSError, ValueError, UnicodeDecodeError, AttributeError):
        return False


def install_overlay(project: Path) -> Path:
    """Writes the emulated overlay into project/deploy/; returns the .bit path.
    A real bitstream already there is never replaced."""
    project = Path(project)
    meta = load_project(project)
    name, arch = meta["name"], of_project(meta)
    deploy = project / "deploy"
    bit, hwh, bundle = deploy / f"{name}.bit", deploy / f"{name}.hwh", deploy / f"{name}.emu"
    if bit.exists() and not is_emulated(bit):
        raise HlsgenError(f"'{bit}' is a real bitstream; the emulator will not replace it; "
                          "emulate a copy of the project instead")
    lib = build_library(project, name, arch)
    manifest = {"magic": MAGIC, "name": name, "arch": arch.name,
                "library": f"{bundle.name}/{lib.name}", "params": f"{bundle.name}/params",
                "ip_cell": ip_cell(name), **arch.emulator_manifest(project, name, lib)}
    deploy.mkdir(exist_ok=True)
    # Staged beside, then moved: a failure leaves no half-written bundle.
    tmp = Path(tempfile.mkdtemp(prefix=f".{bundle.name}-", dir=deploy))
    shutil.copy(lib, tmp / lib.name)
    (tmp / "params").mkdir()
    for f in arch.emulator_params(project):   # what the IP holds (none for the tiled engine)
        shutil.copy(f, tmp / "params" / f.name)
    shutil.rmtree(bundle, ignore_errors=True)
    tmp.rename(bundle)
    bit.write_text(json.dumps(manifest, indent=1) + "\n")
    hwh.write_text(f"<!-- {MAGIC}: {name}; the real .hwh comes from Vivado -->\n")
    return bit
