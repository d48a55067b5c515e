"""Rule `compile` (hlsgen lint --compile): the synthesis branch type-checked by
clang++ (the Vitis HLS front end) and g++ with -fsyntax-only."""

from __future__ import annotations

import re
import shutil
import subprocess
import time
from pathlib import Path

from hlsgen.lint.project import Project
from hlsgen.lint.report import Violation


def compile_check(p: Project, out: list[Violation]) -> tuple[str, str]:
    """clang++ (the Vitis HLS front end is clang) and g++ -fsyntax-only on the
    synthesis branch: firmware/<name>.cpp with HLSGEN_SYNTHESIS defined, against
    the open-source ap_types headers (which refuse __SYNTHESIS__ itself)."""
    from hlsgen.sim.headers import ap_headers_dir
    ap = ap_headers_dir()
    fw = p.folder / "firmware"
    results, statuses = [], []
    for cxx in ("clang++", "g++"):
        exe = shutil.which(cxx)
        if exe is None:
            results.append(f"{cxx} not installed: skipped")
            continue
        cmd = [exe, "-fsyntax-only", "-std=c++14", "-Wno-unknown-pragmas", "-DHLSGEN_SYNTHESIS",
               "-iquote", str(fw), "-I", str(ap), str(fw / f"{p.name}.cpp")]
        t0 = time.perf_counter()
        proc = subprocess.run(cmd, capture_output=True, text=True)
        dt = time.perf_counter() - t0
        if proc.returncode == 0:
            results.append(f"{cxx} OK ({dt:.1f} s)")
            statuses.append("pass")
            continue
        statuses.append("fail")
        errs = [l for l in proc.stderr.splitlines() if ": error:" in l or ": fatal error:" in l]
        results.append(f"{cxx} FAILED ({len(errs)} error{'s' * (len(errs) != 1)})")
        for l in errs[:10]:
            m = re.match(r"(.+?):(\d+):(?:\d+:)?\s*(?:fatal )?error:\s*(.*)", l)
            if m:
                try:
                    rel = str(Path(m.group(1)).resolve().relative_to(p.folder.resolve()))
                except ValueError:
                    rel = m.group(1)
                out.append(Violation("compile", f"{rel}:{m.group(2)}", f"{cxx}: {m.group(3)}"))
        if not errs:
            out.append(Violation("compile", f"firmware/{p.name}.cpp:1",
                                 f"{cxx} exited {proc.returncode}: {proc.stderr.strip()[:300]}"))
    status = "fail" if "fail" in statuses else "pass" if statuses else "skip"
    return status, "; ".join(results)
