"""`hlsgen build`: vendor tools found and version-checked before anything
runs (missing: exit 2 naming the tool, nothing written), logs streamed, the
synthesis report filed into report.json. No vendor tools exist here, so the
working path runs against small stand-ins that behave like them."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from conftest import qdense_mlp
from test_errors import assert_user_error

# A csynth.xml as Vitis HLS writes it (the fields hlsgen reads).
CSYNTH_XML = """<?xml version="1.0" encoding="UTF-8"?>
<profile>
  <ReportVersion><Version>2023.2</Version></ReportVersion>
  <UserAssignments>
    <unit>ns</unit><ProductFamily>zynq</ProductFamily><Part>xc7z020-clg400-1</Part>
    <TopModelName>NAME</TopModelName><TargetClockPeriod>10.00</TargetClockPeriod>
  </UserAssignments>
  <PerformanceEstimates>
    <SummaryOfTimingAnalysis><unit>ns</unit><EstimatedClockPeriod>6.912</EstimatedClockPeriod></SummaryOfTimingAnalysis>
    <SummaryOfOverallLatency>
      <unit>clock cycles</unit><Best-caseLatency>41</Best-caseLatency><Average-caseLatency>41</Average-caseLatency>
      <Worst-caseLatency>43</Worst-caseLatency><Interval-min>24</Interval-min><Interval-max>25</Interval-max>
    </SummaryOfOverallLatency>
  </PerformanceEstimates>
  <AreaEstimates>
    <Resources><BRAM_18K>2</BRAM_18K><DSP>12</DSP><FF>3456</FF><LUT>4321</LUT><URAM>0</URAM></Resources>
    <AvailableResources><BRAM_18K>280</BRAM_18K><DSP>220</DSP><FF>106400</FF><LUT>53200</LUT><URAM>0</URAM></AvailableResources>
  </AreaEstimates>
</profile>
"""


def fake_tool(bin_dir: Path, name: str, version: str, body: str) -> None:
    """A stand-in for vitis_hls/vivado: prints its version, logs its arguments."""
    script = bin_dir / name
    script.write_text(textwrap.dedent(f"""\
        #!/bin/bash
        if [ "$1" = "-version" ]; then echo "{name} v{version} (64-bit)"; exit 0; fi
        echo "$@" >> "{bin_dir}/{name}.calls"
        """) + textwrap.dedent(body))
    script.chmod(0o755)


VITIS_OK = """\
echo "INFO: [HLS 200-10] Analyzing design file 'firmware/x.cpp' ..."
echo "INFO: [HLS 200-999] chatter that is only in the log"
for step in "$@"; do
  if [ "$step" = synth ]; then
    mkdir -p "$(basename "$PWD")_prj/solution1/syn/report"
    cat > "$(basename "$PWD")_prj/solution1/syn/report/csynth.xml" <<'XML'
{xml}
XML
    echo "INFO: [HLS 200-111] Finished Command csynth_design CPU user time: 3 seconds"
  fi
  if [ "$step" = cosim ]; then echo "*** C/RTL co-simulation finished: PASS ***"; fi
done
"""


def hlsgen(*args, path: str, cwd=None) -> subprocess.CompletedProcess:
    env = dict(os.environ, PATH=path, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run([sys.executable, "-m", "hlsgen.cli", *map(str, args)], text=True,
                          capture_output=True, env=env, cwd=cwd, timeout=300)


def snapshot(folder: Path) -> dict:
    return {str(p.relative_to(folder)): (p.stat().st_mtime_ns, p.stat().st_size)
            for p in folder.rglob("*")}


@pytest.fixture(scope="module")
def project(tf, tmp_path_factory):
    from hlsgen.flow import generate
    root = tmp_path_factory.mktemp("build")
    qdense_mlp(tf, [8, 12, 4], seed=1).save(root / "m.h5")
    return generate(str(root / "m.h5"), root / "prj", n_vectors=10).out


@pytest.fixture
def bin_dir(tmp_path):
    d = tmp_path / "bin"
    d.mkdir()
    return d


SYSTEM_PATH = "/usr/bin:/bin"


@pytest.mark.parametrize("stage", ["csim", "synth", "bitstream"])
def test_missing_tool_exits_2_naming_it_and_writes_nothing(project, stage):
    assert all(not Path(d, "vitis_hls").exists() for d in SYSTEM_PATH.split(":"))
    before = snapshot(project)
    proc = hlsgen("build", project, "--stage", stage, path=SYSTEM_PATH)
    assert_user_error(proc, "vitis_hls", "AMD Vitis HLS 2022.1 to 2024.2", "on PATH",
                          f"--stage {stage}")
    assert snapshot(project) == before


def test_bitstream_checks_vivado_before_running_anything(project, bin_dir):
    fake_tool(bin_dir, "vitis_hls", "2023.2", VITIS_OK.format(xml=CSYNTH_XML))
    before = snapshot(project)
    proc = hlsgen("build", project, "--stage", "bitstream", path=f"{bin_dir}:{SYSTEM_PATH}")
    assert_user_error(proc, "vivado", "AMD Vivado 2022.1 to 2024.2")
    assert not (bin_dir / "vitis_hls.calls").exists()  # version asked, nothing run
    assert snapshot(project) == before


def test_unsupported_version_is_refused(project, bin_dir):
    fake_tool(bin_dir, "vitis_hls", "2019.2", "exit 0\n")
    proc = hlsgen("build", project, "--stage", "synth", path=f"{bin_dir}:{SYSTEM_PATH}")
    assert_user_error(proc, "2019.2", "2022.1 to 2024.2")
    assert not (bin_dir / "vitis_hls.calls").exists()


def test_synth_streams_progress_and_files_the_report(project, bin_dir):
    fake_tool(bin_dir, "vitis_hls", "2023.2", VITIS_OK.format(xml=CSYNTH_XML))
    report = json.loads((project / "report.json").read_text())
    proc = hlsgen("build", project, "--stage", "cosim", path=f"{bin_dir}:{SYSTEM_PATH}")
    assert proc.returncode == 0, proc.stderr
    assert (bin_dir / "vitis_hls.calls").read_text() == "-f build_prj.tcl -tclargs synth cosim\n"
    assert "Analyzing design file" in proc.stdout
    assert "Finished Command csynth_design" in proc.stdout
    assert "chatter" not in proc.stdout  # only in the log
    log = project / "build" / "logs" / "cosim-vitis_hls.log"
    assert "chatter that is only in the log" in log.read_text()
    assert "latency 43 cycles, interval 25 cycles" in proc.stdout
    after = json.loads((project / "report.json").read_text())
    syn = after.pop("synthesis")
    assert after == report  # everything else, estimates included, kept as it was
    assert syn["latency_cycles"] == {"best": 41, "worst": 43}
    assert syn["interval_cycles"] == {"min": 24, "max": 25}
    assert syn["estimated_clock_ns"] == 6.912 and syn["target_clock_ns"] == 10.0
    assert syn["resources"] == {"BRAM_18K": 2, "DSP": 12, "FF": 3456, "LUT": 4321, "URAM": 0}
    assert syn["available"]["LUT"] == 53200 and syn["tool_version"] == "2023.2"
    assert syn["cosim"] == "PASS" and syn["stage"] == "cosim"


def test_tool_failure_is_one_line_with_the_log(project, bin_dir):
    fake_tool(bin_dir, "vitis_hls", "2023.2", """\
        echo "INFO: [HLS 200-10] Analyzing design file"
        echo "ERROR: [HLS 207-812] 'foo' file not found"
        exit 1
        """)
    proc = hlsgen("build", project, "--stage", "synth", path=f"{bin_dir}:{SYSTEM_PATH}")
    assert_user_error(proc, "vitis_hls failed", "'foo' file not found",
                          str(project / "build" / "logs" / "synth-vitis_hls.log"))


@pytest.fixture(scope="module")
def tiled_project(tf, tmp_path_factory):
    import cnn_models
    from tiled_generate import generate_tiled
    root = tmp_path_factory.mktemp("build_tiled")
    cnn_models.digits_cnn(tf).save(root / "d.h5")
    return generate_tiled(str(root / "d.h5"), root / "tiled", n_vectors=3)[0].out


@pytest.mark.parametrize("which", ["project", "tiled_project"])
def test_bitstream_fills_deploy_with_what_the_board_needs(request, which, bin_dir):
    project = request.getfixturevalue(which)
    name = project.name
    fake_tool(bin_dir, "vitis_hls", "2023.2", VITIS_OK.format(xml=CSYNTH_XML))
    fake_tool(bin_dir, "vivado", "2023.2", """\
        echo "hlsgen: building"
        mkdir -p deploy && echo bit > deploy/NAME.bit && echo hwh > deploy/NAME.hwh
        """.replace("NAME", name))
    proc = hlsgen("build", project, "--stage", "bitstream", path=f"{bin_dir}:{SYSTEM_PATH}")
    assert proc.returncode == 0, proc.stderr
    assert (bin_dir / "vitis_hls.calls").read_text() == "-f build_prj.tcl -tclargs synth export\n"
    assert "-source vivado/block_design.tcl" in (bin_dir / "vivado.calls").read_text()
    files = sorted(p.name for p in (project / "deploy").iterdir())
    # The tiled engine's driver also needs its DDR images.
    assert files == sorted([f"{name}.bit", f"{name}.hwh", f"{name}_driver.py",
                            f"{name}_inputs.npy", f"{name}_golden.npy"]
                           + ([f"{name}_ddr.npz"] if which == "tiled_project" else []))
    assert f"hlsgen deploy {project}" in proc.stdout


def test_alveo_bitstream_is_refused(tf, tmp_path):
    from hlsgen.flow import generate
    qdense_mlp(tf, [8, 8, 4]).save(tmp_path / "m.h5")
    project = generate(str(tmp_path / "m.h5"), tmp_path / "alveo", board="alveo-u250",
                       n_vectors=5).out
    proc = hlsgen("build", project, "--stage", "bitstream", path=SYSTEM_PATH)
    assert_user_error(proc, "Alveo card", "--stage ip")
