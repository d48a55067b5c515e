"""Builds a project's C-simulation executable with g++, once per content:
the executable is cached under build/csim/<hash of sources and flags>."""

from __future__ import annotations

import hashlib
import platform
import shutil
import subprocess
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

from hlsgen.errors import HlsgenError
from hlsgen.sim.headers import ap_headers_dir

# x86-64 g++ calls a library routine for __builtin_popcountll unless told the
# CPU has the instruction (every x86-64 CPU since 2008 has); the packed dot
# products of C simulation (templates/hls/hlsgen_packed.h) count on it.
POPCOUNT_FLAGS = ["-mpopcnt"] if platform.machine().lower() in ("x86_64", "amd64") else []
CXXFLAGS = ["-std=c++14", "-O2", "-w"] + POPCOUNT_FLAGS
# The synthesis branch (HLSGEN_SYNTHESIS, templates/hls/hlsgen_config.h): the
# code Vitis HLS compiles, executed with g++. Its parameters are the params
# headers' constant initialisers, which -O1 compiles several times faster.
SYNTHESIS_FLAGS = ["-std=c++14", "-O1", "-w", "-DHLSGEN_SYNTHESIS"]


@dataclass
class Build:
    exe: Path
    seconds: float
    cached: bool


def _compiler() -> str:
    cxx = shutil.which("g++")
    if cxx is None:
        raise HlsgenError("C simulation needs g++; install it (Debian: apt-get install g++)")
    return cxx


def _sources_hash(project: Path, name: str, flags: list[str]) -> str:
    h = hashlib.sha256(" ".join(flags).encode())
    files = sorted((project / "firmware").rglob("*.h")) + sorted((project / "firmware").glob("*.cpp"))
    files.append(project / "tb" / f"{name}_tb.cpp")
    for f in files:
        h.update(str(f.relative_to(project)).encode())
        h.update(f.read_bytes())
    return h.hexdigest()[:16]


THREADED_STREAM = Path(__file__).resolve().parent / "threaded" / "hlsgen_threaded_stream.h"
VENDOR_STREAM_GUARD = "X_HLS_STREAM_SIM_H"   # include guard of hls4ml's ap_types/hls_stream.h


def build(project: Path, name: str, log=None, threaded: bool = False,
          depth_override: int | None = None, trace: bool = False,
          synthesis: bool = False) -> Build:
    """threaded: every dataflow process in its own thread on FIFOs bounded by
    their declared depths (sim/threaded/hlsgen_threaded_stream.h), so an undersized FIFO
    deadlocks as in hardware; depth_override forces every FIFO to one depth
    (to show that the generated depths are needed). trace: every internal
    stream is written to $HLSGEN_TRACE_DIR after its process (sequential only).
    synthesis: the synthesis branch of the kernel library instead of the
    C-simulation branch."""
    cxx = _compiler()
    # -iquote: the firmware folder serves only "..." includes, so a project
    # file can never shadow a system header such as <string.h>.
    flags = (SYNTHESIS_FLAGS if synthesis else CXXFLAGS) + ["-iquote", str(project / "firmware")]
    if threaded:
        flags += ["-pthread", "-DHLSGEN_THREADED_CSIM", f"-D{VENDOR_STREAM_GUARD}",
                  "-include", str(THREADED_STREAM)]
        if depth_override is not None:
            flags += [f"-DHLSGEN_FIFO_DEPTH_OVERRIDE={int(depth_override)}"]
    if trace:
        flags += ["-DHLSGEN_TRACE_CSIM"]
    flags += ["-I", str(ap_headers_dir())]
    key = _sources_hash(project, name, [cxx] + flags)
    out_dir = project / "build" / "csim" / key
    exe = out_dir / f"{name}_tb"
    if exe.is_file():
        return Build(exe, 0.0, True)
    units = [project / "firmware" / f"{name}.cpp", project / "tb" / f"{name}_tb.cpp"]
    return _compile_and_link(cxx, flags, units, exe, ["-pthread"] if threaded else [])


def build_shared(project: Path, name: str, extra: list[Path], synthesis: bool = False) -> Build:
    """A shared library (for ctypes) of the firmware plus the `extra` C++
    sources, cached like the executable, under build/lib/<hash>/lib<name>.so;
    synthesis: of the synthesis branch."""
    cxx = _compiler()
    flags = (SYNTHESIS_FLAGS if synthesis else CXXFLAGS) + [
        "-fPIC", "-iquote", str(project / "firmware"), "-I", str(ap_headers_dir())]
    extra_hash = [hashlib.sha256(Path(e).read_bytes()).hexdigest() for e in extra]
    key = _sources_hash(project, name, [cxx] + flags + extra_hash)
    lib = project / "build" / "lib" / key / f"lib{name}.so"
    if lib.is_file():
        return Build(lib, 0.0, True)
    units = [project / "firmware" / f"{name}.cpp", *map(Path, extra)]
    return _compile_and_link(cxx, flags, units, lib, ["-shared"])


def _compile_and_link(cxx: str, flags: list[str], units: list[Path], target: Path,
                      link_flags: list[str]) -> Build:
    """Compiles units in parallel into a temporary folder beside target's
    folder, links target, then moves the folder into place (never half-built)."""
    out_dir = target.parent
    t0 = time.perf_counter()
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    for stale in out_dir.parent.glob(out_dir.name + ".*.tmp"):   # of builds killed an hour ago
        if time.time() - stale.stat().st_mtime > 3600:
            shutil.rmtree(stale, ignore_errors=True)
    # A folder of its own: two builds of the same sources (two sessions, or one
    # still running after an interrupted csim) never write into each other's.
    tmp = Path(tempfile.mkdtemp(prefix=out_dir.name + ".", suffix=".tmp", dir=out_dir.parent))

    def compile_unit(src: Path) -> Path:
        obj = tmp / (src.stem + ".o")
        _run([cxx, *flags, "-c", str(src), "-o", str(obj)], src)
        return obj

    try:
        # The translation units compile in parallel on the two cores.
        with ThreadPoolExecutor(max_workers=2) as pool:
            objs = list(pool.map(compile_unit, units))
        _run([cxx, *link_flags, *objs, "-o", str(tmp / target.name)], units[0])
    except BaseException:
        shutil.rmtree(tmp, ignore_errors=True)
        raise
    for obj in objs:
        obj.unlink()
    if not target.is_file():   # (else another build of the same sources finished first)
        shutil.rmtree(out_dir, ignore_errors=True)
        try:
            tmp.rename(out_dir)
        except OSError:
            if not target.is_file():
                raise
    shutil.rmtree(tmp, ignore_errors=True)
    return Build(target, time.perf_counter() - t0, False)


def _run(cmd: list, src: Path) -> None:
    proc = subprocess.run([str(c) for c in cmd], capture_output=True, text=True)
    if proc.returncode != 0:
        first = next((l for l in proc.stderr.splitlines() if "error" in l), proc.stderr.strip()[:300])
        raise HlsgenError(f"g++ failed on {src.name}: {first}; this is a bug in the generated "
                          "project, please report it with the model")
