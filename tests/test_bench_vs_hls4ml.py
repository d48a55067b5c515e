"""The hlsgen-vs-hls4ml benchmark (bench/vs_hls4ml.py) in reduced form, so
that its harness cannot rot: one model, few inputs. It makes hls4ml's
virtualenv (bench/.venv-hls4ml, one pip install of pinned packages) when it
is missing; if that fails, the test fails with pip's reason. Timings are
printed, never asserted."""

import json
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
TOOLS = ["hlsgen", "hls4ml io_parallel", "hls4ml io_stream"]


def run_bench(out: Path, *args: str) -> dict:
    proc = subprocess.run([sys.executable, str(ROOT / "bench" / "vs_hls4ml.py"), "--out", str(out), *args],
                          capture_output=True, text=True, timeout=900)
    print(proc.stdout)
    assert proc.returncode == 0, proc.stderr[-3000:]
    assert sorted(p.suffix for p in out.iterdir()) == [".json", ".md", ".png"]
    return json.loads(next(out.glob("*.json")).read_text())


def test_jet_mlp_both_tools_one_repetition(tmp_path):
    doc = run_bench(tmp_path, "--models", "jet_mlp", "--inputs", "40", "--reps", "1")
    assert doc["versions"]["hls4ml_env"]["hls4ml"].startswith("1.3")
    assert doc["versions"]["hls4ml_env"]["tf-keras"] is None
    [model] = doc["models"]
    assert model["inputs"] == 40 and model["framework_same_in_both_envs"]
    for tool in TOOLS:
        [run] = model["tools"][tool]["runs"]
        assert "error" not in run, run
        assert run["n"] == 40 and run["gen_s"] > 0 and run["build_s"] > 0 and run["inferences_per_s"] > 0
        assert set(run["exactness"]) == {"rows_exact_pct", "values_exact_pct", "max_abs_diff", "top1_pct"}
    [run] = model["tools"]["hlsgen"]["runs"]
    assert run["csim_equals_golden"] and run["inputs_on_grid"]
    assert run["exactness"] == {"rows_exact_pct": 100.0, "values_exact_pct": 100.0, "max_abs_diff": 0.0,
                                "top1_pct": 100.0}
    assert set(model["ratios"]) == set(TOOLS[1:])
    table = next(tmp_path.glob("*.md")).read_text()
    assert "| jet MLP 16-64-32-32-5 (6-bit), 40 inputs | hlsgen |" in table
    assert "| jet_mlp | yes |" in table


def test_a_tool_that_does_not_finish_keeps_its_row_with_the_reason(tmp_path):
    # One second per hls4ml stage is too short for its g++ build: the worker
    # is killed, the failure is reported and not retried in the second repetition.
    doc = run_bench(tmp_path, "--models", "digits_cnn", "--inputs", "10", "--reps", "2", "--timeout", "1")
    [model] = doc["models"]
    assert len(model["tools"]["hlsgen"]["runs"]) == 2
    for tool in TOOLS[1:]:
        [run] = model["tools"][tool]["runs"]
        assert "did not finish within 1 s" in run["error"]
        assert model["tools"][tool]["summary"]["failed"].endswith("did not finish within 1 s")
    table = next(tmp_path.glob("*.md")).read_text()
    assert "| hls4ml io_stream | cannot: " in table and "no comparison" in table
