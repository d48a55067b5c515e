"""`hlsgen build`: runs Vitis HLS and Vivado on a generated project, streams
their logs with progress, and files the HLS synthesis report into
report.json ("synthesis", beside the cost model's "estimates").

Every tool a stage needs is found and version-checked before anything runs,
so a missing tool leaves the project exactly as it was."""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import time
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from pathlib import Path

from hlsgen.platform.board_files import HLS_STEPS, deploy_files, has_block_design
from hlsgen.errors import HlsgenError
from hlsgen.arch.registry import of_project
from hlsgen.project.manifest import load_project

STAGES = tuple(HLS_STEPS)            # csim, synth, cosim, ip, bitstream
OLDEST, NEWEST = (2022, 1), (2024, 2)  # releases whose Tcl commands the scripts use
EXPECTED = f"{OLDEST[0]}.{OLDEST[1]} to {NEWEST[0]}.{NEWEST[1]}"
PRODUCTS = {"vitis_hls": "AMD Vitis HLS", "vivado": "AMD Vivado"}

# Log lines worth showing as progress (everything goes to the log file).
_PROGRESS = re.compile(
    r"^(ERROR|CRITICAL WARNING)|hlsgen:|"
    r"^INFO: \[HLS 200-(10|111|789|790|1510)\]|"
    r"^INFO: \[(SIM|COSIM) [0-9-]+\]|\*\*\* C/RTL co-simulation|"
    r"^(Starting|Finished) (synth_design|opt_design|place_design|route_design|write_bitstream|"
    r"Implementation|Synthesis)|^\[.*\] (Launched|Finished|Waiting)|write_bitstream completed")


@dataclass(frozen=True)
class Tool:
    name: str
    path: str
    version: tuple[int, int]


def find_tool(name: str, stage: str) -> Tool:
    """The tool on PATH with a supported version, else one HlsgenError line."""
    where = shutil.which(name)
    need = f"{PRODUCTS[name]} {EXPECTED}"
    if where is None:
        raise HlsgenError(f"`hlsgen build --stage {stage}` needs {name} ({need}) on PATH; install "
                          f"it and `source <install dir>/settings64.sh` first")
    try:
        proc = subprocess.run([where, "-version"], capture_output=True, text=True, timeout=300)
        text = proc.stdout + proc.stderr
    except (OSError, subprocess.TimeoutExpired) as e:
        raise HlsgenError(f"{where} -version failed ({e}); check the {PRODUCTS[name]} "
                          "installation") from None
    m = re.search(r"\bv?(20\d\d)\.(\d)", text)
    if m is None:
        raise HlsgenError(f"cannot read the version of {where} (`{name} -version` printed "
                          f"{text.strip()[:80]!r}); {need} is expected")
    version = (int(m.group(1)), int(m.group(2)))
    if not OLDEST <= version <= NEWEST:
        raise HlsgenError(f"{where} is {PRODUCTS[name]} {version[0]}.{version[1]}; hlsgen's build "
                          f"scripts need {EXPECTED}; put a supported release first on PATH")
    return Tool(name, where, version)


def _commands(stage: str) -> list[tuple[str, list[str]]]:
    """(tool, arguments) in order, run in the project folder."""
    cmds = [("vitis_hls", ["-f", "build_prj.tcl", "-tclargs", *HLS_STEPS[stage]])]
    if stage == "bitstream":
        jobs = str(os.cpu_count() or 2)
        cmds.append(("vivado", ["-mode", "batch", "-nojournal", "-source",
                                "vivado/block_design.tcl", "-tclargs", jobs]))
    return cmds


def tools_of(stage: str) -> list[str]:
    """The vendor tools `stage` runs, in order (vitis_hls; vivado for a bitstream)."""
    return list(dict.fromkeys(t for t, _ in _commands(stage)))


def _run(tool: Tool, args: list[str], project: Path, log: Path, verbose: bool) -> str:
    """Runs one tool, printing progress lines; returns the log text."""
    print(f"[    0s] {tool.name} {tool.version[0]}.{tool.version[1]}: {' '.join(args)} "
          f"(log: {log})", flush=True)
    t0 = time.monotonic()
    lines = []
    with open(log, "w") as f:
        proc = subprocess.Popen([tool.path, *args], cwd=project, stdout=subprocess.PIPE,
                                stderr=subprocess.STDOUT, text=True, errors="replace")
        for line in proc.stdout:
            f.write(line)
            lines.append(line)
            if verbose or _PROGRESS.search(line):
                print(f"[{time.monotonic() - t0:5.0f}s] {line.rstrip()}", flush=True)
        code = proc.wait()
    text = "".join(lines)
    if code != 0:
        first = next((l.strip() for l in lines if l.startswith("ERROR")), f"exit code {code}")
        raise HlsgenError(f"{tool.name} failed: {first[:200]}; the full log is {log}")
    return text


def parse_csynth(path: Path) -> dict:
    """Latency, initiation interval, clock and resources from a Vitis HLS csynth.xml."""
    try:
        root = ET.parse(path).getroot()
    except (OSError, ET.ParseError) as e:
        raise HlsgenError(f"{path} cannot be read ({e}); rerun `hlsgen build --stage synth`") \
            from None

    def text(xpath: str):
        node = root.find(xpath)
        return None if node is None or node.text is None else node.text.strip()

    def number(xpath: str):
        value = text(xpath)
        try:
            return int(value)
        except (TypeError, ValueError):
            try:
                return float(value)
            except (TypeError, ValueError):
                return value  # e.g. "undef" for a data-dependent latency

    def resources(tag: str) -> dict:
        node = root.find(f"AreaEstimates/{tag}")
        out = {}
        for child in [] if node is None else node:
            key = "DSP" if child.tag == "DSP48E" else child.tag  # Vivado HLS called DSPs DSP48E
            out[key] = number(f"AreaEstimates/{tag}/{child.tag}")
        return out

    lat = "PerformanceEstimates/SummaryOfOverallLatency"
    return {
        "tool_version": text("ReportVersion/Version"), "part": text("UserAssignments/Part"),
        "top": text("UserAssignments/TopModelName"),
        "target_clock_ns": number("UserAssignments/TargetClockPeriod"),
        "estimated_clock_ns": number(
            "PerformanceEstimates/SummaryOfTimingAnalysis/EstimatedClockPeriod"),
        "latency_cycles": {"best": number(f"{lat}/Best-caseLatency"),
                           "worst": number(f"{lat}/Worst-caseLatency")},
        "interval_cycles": {"min": number(f"{lat}/Interval-min"),
                            "max": number(f"{lat}/Interval-max")},
        "resources": resources("Resources"), "available": resources("AvailableResources"),
    }


def _csynth_xml(project: Path, name: str) -> Path:
    report_dir = project / f"{name}_prj" / "solution1" / "syn" / "report"
    for candidate in (report_dir / f"{name}_csynth.xml", report_dir / "csynth.xml"):
        if candidate.is_file():
            return candidate
    raise HlsgenError(f"synthesis finished without {report_dir / 'csynth.xml'}; see the log")


def _file_synthesis(project: Path, name: str, extra: dict) -> dict:
    from hlsgen.project.folder import write_atomic
    path = project / "report.json"
    report = json.loads(path.read_text())
    synthesis = dict(parse_csynth(_csynth_xml(project, name)), **extra)
    report["synthesis"] = synthesis
    write_atomic(path, json.dumps(report, indent=1))
    return synthesis


def _cosim_result(log: str) -> str | None:
    m = re.search(r"C/RTL co-simulation finished: (PASS|FAIL)", log)
    return m.group(1) if m else None


def build(project: str | Path, stage: str, verbose: bool = False) -> dict:
    """Runs `stage`; returns what it filed into report.json (or {})."""
    from hlsgen.platform.boards import load_board
    project = Path(project)
    meta = load_project(project)
    name = meta["name"]
    if stage not in STAGES:
        raise HlsgenError(f"unknown stage '{stage}'; use one of {', '.join(STAGES)}")
    board = load_board(meta["board"])
    if stage == "bitstream" and not has_block_design(board):
        raise HlsgenError(f"{board.name} is an Alveo card: it has no processing system for a PYNQ "
                          f"block design; use `hlsgen build {project} --stage ip` and link the IP "
                          "with Vitis (v++ --link)")
    if stage == "bitstream" and not (project / "vivado" / "block_design.tcl").is_file():
        raise HlsgenError(f"'{project}' has no vivado/block_design.tcl; regenerate it with this "
                          "hlsgen version")
    cmds = _commands(stage)
    tools = {t: find_tool(t, stage) for t in tools_of(stage)}

    logs = project / "build" / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    filed, texts = {}, []
    for tool_name, args in cmds:
        texts.append(_run(tools[tool_name], args, project, logs / f"{stage}-{tool_name}.log",
                          verbose))
    if stage != "csim":
        extra = {"stage": stage}
        if stage == "cosim":
            extra["cosim"] = _cosim_result(texts[0])
        filed = _file_synthesis(project, name, extra)
        _print_synthesis(filed)
    if stage == "bitstream":
        _finish_deploy_folder(project, name, of_project(meta).deploy_files(project, name))
    return filed


def _print_synthesis(s: dict) -> None:
    res = ", ".join(f"{k} {v}" for k, v in s["resources"].items())
    print(f"synthesis ({s['tool_version']}, {s['part']}): latency {s['latency_cycles']['worst']} "
          f"cycles, interval {s['interval_cycles']['max']} cycles, clock "
          f"{s['estimated_clock_ns']} ns (target {s['target_clock_ns']}); {res}")
    if s.get("cosim"):
        print(f"C/RTL co-simulation: {s['cosim']}")


def _finish_deploy_folder(project: Path, name: str, extra: list) -> None:
    """deploy/ gets what the board needs beside Vivado's bitstream and .hwh."""
    files = deploy_files(project, name, extra)
    missing = [str(src) for src, _ in files if not src.is_file()]
    if missing:
        raise HlsgenError(f"Vivado finished without {missing[0]}; see "
                          "build/logs/bitstream-vivado.log")
    for src, dst in files:
        if src.parent != project / "deploy":
            shutil.copy(src, project / "deploy" / dst)
    print(f"deploy/: {', '.join(dst for _, dst in files)}; next: hlsgen deploy {project} "
          "--host BOARD")
