"""`hlsgen sweep` / `hlsgen.sweep`: design points as Dask tasks. A sweep of
12 points over the digits CNN on a LocalCluster (one point failing on
purpose), its cached re-run, the same sweep on a `dask scheduler` with two
`dask worker` processes started here, a build stage with stand-in vendor
tools on the workers, a timeout, and bad input refused before anything is
written."""

from __future__ import annotations

import csv
import json
import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from cnn_models import digits_cnn, randomize_bn
from test_board_build import CSYNTH_XML, VITIS_OK, fake_tool
from test_errors import assert_user_error, run_cli

FAILING = {"folding": {"conv1": {"simd": 3, "pe": 8}}}   # conv1 has 1 input channel
GRID = {"fps": [500, 1000, 2000, 5000, 10000, 20000, 40000, 60000, 80000, 100000, 140000],
        "n_vectors": 16, "points": [FAILING]}
STAGES = "generate,csim"    # generate lints; csim runs both kernel-library branches
MACHINE = ("seconds", "worker", "project", "evaluated_in")   # where and how long: not results


@pytest.fixture(scope="module")
def cnn(tf, tmp_path_factory):
    path = tmp_path_factory.mktemp("model") / "digits_cnn.h5"
    randomize_bn(digits_cnn(tf, convs=1)).save(path)    # one convolution: less g++ time per point
    return path


@pytest.fixture(scope="module")
def local(cnn, tmp_path_factory):
    """(SweepResult, seconds, log lines) of the 12-point sweep on a LocalCluster."""
    import hlsgen
    out = tmp_path_factory.mktemp("local") / "sweep"
    lines = []
    t0 = time.monotonic()
    res = hlsgen.sweep(cnn, grid=GRID, out=out, stages=STAGES, progress=False, log=lines.append)
    return res, time.monotonic() - t0, lines


def results(out: Path) -> list[dict]:
    """results.csv without the columns that say where and how long."""
    with open(out / "results.csv") as f:
        return [{k: v for k, v in row.items() if k not in MACHINE} for row in csv.DictReader(f)]


def test_local_cluster_sweep_records_every_point(local):
    res, seconds, lines = local
    assert any("LocalCluster" in l for l in lines) and any("dashboard" in l for l in lines)
    assert res.ran == 12 and res.cached == 0 and len(res.rows) == 12
    failed = res.failed
    assert len(failed) == 1 and failed[0]["folding"] == FAILING["folding"]
    assert "SIMD 3 must divide" in failed[0]["error"] and "\n" not in failed[0]["error"]
    assert (res.out / "points" / failed[0]["key"] / "error.txt").read_text().startswith("Traceback")
    ok = [r for r in res.rows if r["status"] == "ok"]
    assert all(r["exact"] is True and r["lint_violations"] == 0 for r in ok)
    assert all(r["csim_equal"] == "160/160" and r["synthesis_branch_equal"] == "160/160"
               for r in ok)
    fps = [r["est_fps"] for r in ok]
    assert all(a <= b for a, b in zip(fps, fps[1:]))  # more frames/s asked, never fewer given
    assert fps[-1] > 2 * fps[0] and ok[-1]["est_lut"] > ok[0]["est_lut"]
    assert any(l.startswith("failed: n_vectors=16 folding=") for l in lines)
    rows = results(res.out)
    assert len(rows) == 12 and [r["key"] for r in rows] == [r["key"] for r in res.rows]
    assert rows[0]["fps"] == "500" and rows[0]["est_lut"] and rows[0]["exact"] == "True"
    md = (res.out / "results.md").read_text()
    assert "11 of 12 points done, 1 failed, 0 pending" in md and md.count("\n| ") == 13
    assert (res.out / "pareto.png").read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    for r in ok:
        assert (Path(r["project"]) / "report.json").is_file()
    # Points of one design (fps targets below the slowest design's) are simulated once.
    evaluated = {r["evaluated_in"] for r in ok}
    assert len(evaluated) == len({r["design"] for r in ok}) < len(ok)
    print(f"\nfirst sweep: 12 points in {seconds:.1f} s")


def test_rerun_takes_its_points_from_the_cache(cnn, local):
    import hlsgen
    first, seconds, _ = local
    before = (first.out / "results.csv").read_text()
    t0 = time.monotonic()
    again = hlsgen.sweep(cnn, grid=GRID, out=first.out, stages=STAGES, progress=False,
                         log=lambda line: None)
    rerun = time.monotonic() - t0
    assert again.ran == 0 and again.cached == 12
    assert (first.out / "results.csv").read_text() == before
    assert rerun < seconds / 5, (rerun, seconds)
    print(f"\nre-run: {rerun:.2f} s (first {seconds:.1f} s)")


@pytest.fixture
def dask_cluster(tmp_path):
    """A `dask scheduler` and two `dask worker` processes on 127.0.0.1
    (ephemeral ports); (its address, its scheduler file). Stopped afterwards."""
    dask = Path(sys.executable).parent / "dask"
    sfile = tmp_path / "scheduler.json"
    procs = []

    def start(*args):
        procs.append(subprocess.Popen([str(dask), *args], stdout=subprocess.DEVNULL,
                                      stderr=subprocess.DEVNULL, start_new_session=True,
                                      cwd=tmp_path))
    try:
        start("scheduler", "--host", "127.0.0.1", "--port", "0", "--no-dashboard",
              "--scheduler-file", str(sfile))
        deadline = time.monotonic() + 60
        while not sfile.is_file() and time.monotonic() < deadline:
            time.sleep(0.2)
        address = json.loads(sfile.read_text())["address"]
        for _ in range(2):
            start("worker", address, "--nworkers", "1", "--nthreads", "1", "--host", "127.0.0.1",
                  "--no-dashboard")
        from distributed import Client
        with Client(address, timeout="30s") as client:
            client.wait_for_workers(2, timeout=120)
        yield address, sfile
    finally:
        for p in procs:
            if p.poll() is None:
                os.killpg(p.pid, signal.SIGTERM)
        for p in procs:
            try:
                p.wait(timeout=20)
            except subprocess.TimeoutExpired:
                os.killpg(p.pid, signal.SIGKILL)
                p.wait()


def test_the_same_sweep_on_a_scheduler_and_two_workers(cnn, local, dask_cluster, tmp_path):
    address, scheduler_file = dask_cluster
    grid = tmp_path / "grid.yaml"
    grid.write_text(json.dumps(GRID))          # JSON is YAML
    out = tmp_path / "remote"
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "sweep", str(cnn), "--grid", grid,
                           "--stages", STAGES, "--out", out, "--scheduler", address],
                          capture_output=True, text=True, env=env, timeout=600)
    assert proc.returncode == 1, proc.stderr          # one point failed (on purpose)
    assert f"running on the Dask scheduler at {address}" in proc.stdout
    assert "12 points: 11 ok, 1 failed; 12 run, 0 from the cache" in proc.stdout
    assert "Traceback" not in proc.stderr
    assert results(out) == results(local[0].out)
    workers = {r["worker"] for r in csv.DictReader(open(out / "results.csv"))}
    assert len(workers) == 2                          # both workers took points
    # An interrupted sweep (a point never recorded) resumes; --retry-failed runs the failed
    # point again; the others come from the cache. The cluster found by its scheduler file.
    lost = next(r for r in csv.DictReader(open(out / "results.csv"))
                if r["status"] == "ok" and r["key"] not in r["evaluated_in"])
    (out / "points" / lost["key"] / "point.json").unlink()
    proc = subprocess.run([sys.executable, "-m", "hlsgen.cli", "sweep", str(cnn), "--grid", grid,
                           "--stages", STAGES, "--out", out, "--scheduler", scheduler_file,
                           "--retry-failed"], capture_output=True, text=True, env=env, timeout=600)
    assert f"running on the Dask scheduler of {scheduler_file} ({address})" in proc.stdout
    assert "12 points: 11 ok, 1 failed; 2 run, 10 from the cache" in proc.stdout, proc.stderr
    assert results(out) == results(local[0].out)
    resumed = json.loads((out / "points" / lost["key"] / "point.json").read_text())
    assert resumed["evaluated_in"] == lost["evaluated_in"]   # its design's evaluation, recorded


def test_build_stage_runs_on_the_workers(cnn, tmp_path, monkeypatch):
    import hlsgen
    # Without the tools the vendor stage is skipped: recorded as such, not as done.
    monkeypatch.setenv("PATH", f"{Path(sys.executable).parent}:/usr/bin:/bin")
    res = hlsgen.sweep(cnn, fps=[1000, 100000], n_vectors=8, stages="generate,synth",
                       out=tmp_path / "built", workers=1, progress=False, log=lambda line: None)
    assert [r["status"] for r in res.rows] == ["skipped", "skipped"], res.rows
    assert not res.failed and "2 without their vendor stage, 0 failed" in res.summary()
    assert all(r["notes"].endswith("synth skipped: vitis_hls not on PATH on " + os.uname()[1])
               for r in res.rows)
    # A later run on workers with the tools runs those points again (not from the cache).
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tool(bin_dir, "vitis_hls", "2023.2", VITIS_OK.format(xml=CSYNTH_XML))
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")   # the workers inherit it
    res = hlsgen.sweep(cnn, fps=[1000, 100000], n_vectors=8, stages="generate,synth",
                       out=tmp_path / "built", workers=1, progress=False, log=lambda line: None)
    assert (res.ran, res.cached) == (2, 0)
    assert [r["status"] for r in res.rows] == ["ok", "ok"], res.rows
    for r in res.rows:
        assert (r["synth_stage"], r["synth_lut"], r["synth_bram18"]) == ("synth", 4321, 2)
        assert r["synth_latency_cycles"] == 43 and r["est_lut"] != 4321
        assert not r["worker"].endswith(f":{os.getpid()}")             # ran on a worker
        assert (Path(r["project"]) / "build" / "logs" / "synth-vitis_hls.log").is_file()
    calls = (bin_dir / "vitis_hls.calls").read_text().splitlines()
    assert calls == ["-f build_prj.tcl -tclargs synth"] * 2


def test_vendor_stage_without_tools_is_skipped_with_a_note(cnn, tmp_path, monkeypatch):
    from hlsgen.sweeps.spec import Point, model_sha256
    from hlsgen.sweeps.task import run_point
    monkeypatch.setenv("PATH", "/usr/bin:/bin")
    point = Point(str(cnn), {}, {"n_vectors": 8}, ("generate", "bitstream"),
                  model_sha256(str(cnn), {}))
    row = run_point(point, str(tmp_path / "p"))
    assert row["status"] == "skipped", row
    assert row["notes"].startswith("bitstream skipped: vitis_hls and vivado not on PATH on ")
    assert row["est_lut"] and "synth_lut" not in row


def test_timeout_stops_the_vendor_tool(cnn, tmp_path, monkeypatch):
    from hlsgen.sweeps.spec import Point, model_sha256
    from hlsgen.sweeps.task import run_point
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    fake_tool(bin_dir, "vitis_hls", "2023.2", f"echo $$ > {bin_dir}/pid\nsleep 120\n")
    monkeypatch.setenv("PATH", f"{bin_dir}:{os.environ['PATH']}")
    point = Point(str(cnn), {}, {"n_vectors": 8}, ("generate", "synth"),
                  model_sha256(str(cnn), {}), timeout=6)
    t0 = time.monotonic()
    row = run_point(point, str(tmp_path / "p"))
    assert time.monotonic() - t0 < 30
    assert row["status"] == "failed" and row["error"].startswith("timeout: synth ran over"), row
    assert not running(int((bin_dir / "pid").read_text()))   # stopped with the point


LEAK = """\
import os, sys
import hlsgen
if __name__ == "__main__":      # the LocalCluster's worker processes import this file
    os.environ["PATH"] = sys.argv[3] + ":" + os.environ["PATH"]
    hlsgen.sweep(sys.argv[1], fps=[1000], n_vectors=8, stages="generate,synth",
                 out=sys.argv[2], workers=1, progress=False)
"""


def test_an_interrupted_sweep_leaves_no_vendor_tool_running(cnn, tmp_path):
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    pids = bin_dir / "pids"       # the stand-in tool's and its parent's (hlsgen build)
    fake_tool(bin_dir, "vitis_hls", "2023.2", f"echo $$ $PPID >> {pids}\nexec sleep 300\n")
    script = tmp_path / "leak.py"
    script.write_text(LEAK)
    proc = subprocess.Popen([sys.executable, str(script), str(cnn), str(tmp_path / "out"),
                             str(bin_dir)], stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
                            text=True, env=dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3"))
    try:
        deadline = time.monotonic() + 300
        while not pids.is_file() and proc.poll() is None and time.monotonic() < deadline:
            time.sleep(0.5)
        assert pids.is_file(), proc.stderr.read() if proc.poll() is not None else "no tool ran"
        time.sleep(1)
        proc.send_signal(signal.SIGINT)                  # Ctrl-C
        proc.wait(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()
    started = [int(p) for p in pids.read_text().split()]
    deadline = time.monotonic() + 20
    while any(running(p) for p in started) and time.monotonic() < deadline:
        time.sleep(0.5)
    alive = [p for p in started if running(p)]
    for p in alive:
        os.kill(p, signal.SIGKILL)
    assert not alive, f"still running after the interrupt: {alive}"


def test_relative_paths_and_option_file_contents(cnn, local, dask_cluster, tmp_path):
    """Workers in another folder (the cluster's cwd is tmp_path): a relative --out and
    a relative folding file are the client's; editing the folding file re-runs the point."""
    address, _ = dask_cluster
    client_dir = tmp_path / "client"
    client_dir.mkdir()
    ok = [json.loads(r["folding"]) for r in local[0].rows if r["status"] == "ok"]
    folding, changed = ok[0], ok[-1]          # the slowest and the fastest design
    assert folding != changed
    (client_dir / "fold.json").write_text(json.dumps(folding))
    (client_dir / "grid.yaml").write_text("n_vectors: 8\npoints:\n  - {folding: fold.json}\n")
    args = ("sweep", cnn, "--grid", "grid.yaml", "--stages", "generate", "--out", "rel",
            "--scheduler", address)
    proc = run_cli(*args, cwd=client_dir)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    assert "1 run, 0 from the cache" in proc.stdout
    rows = list(csv.DictReader(open(client_dir / "rel" / "results.csv")))
    assert rows[0]["status"] == "ok" and json.loads(rows[0]["folding"]) == folding
    assert Path(rows[0]["project"]).is_relative_to(client_dir / "rel")
    assert not (tmp_path / "rel").exists()
    # The same file with other contents is another point: it runs.
    (client_dir / "fold.json").write_text(json.dumps(changed))
    proc = run_cli(*args, cwd=client_dir)
    assert proc.returncode == 0 and "1 run, 0 from the cache" in proc.stdout, proc.stdout
    rows = list(csv.DictReader(open(client_dir / "rel" / "results.csv")))
    assert json.loads(rows[0]["folding"]) == changed


def running(pid: int) -> bool:
    """Whether process `pid` still runs (a zombie waiting to be reaped does not)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()[0] not in "ZX"
    except OSError:
        return False


# --- bad input: one line, exit 2, nothing written (unit: no model is read) -----------

@pytest.fixture
def model_file(tmp_path):
    path = tmp_path / "m.h5"
    path.write_bytes(b"not read before the checks")
    return path


@pytest.mark.parametrize("args, words", [
    (["--grid", "GRID"], ["grid", "unknown option 'fsp'", "a sweep varies", "fps"]),
    (["--board", "nosuch"], ["unknown board 'nosuch'"]),
    (["--fps", "1000,fast"], ["--fps '1000,fast'", "comma-separated list of numbers"]),
    (["--max-util", "0.5,2"], ["max_util=2", "--max-util 2 must be a fraction"]),
    (["--stages", "generate,synth,bitstream"], ["give one vendor stage"]),
    (["--scheduler", "nowhere:x"], ["--scheduler 'nowhere:x'", "tcp://HOST:8786"]),
    (["--scheduler", "tcp://127.0.0.1:9"], ["cannot reach the Dask scheduler tcp://127.0.0.1:9",
                                            "dask scheduler"]),
])
def test_bad_input_is_one_line_and_writes_nothing(model_file, tmp_path, args, words):
    grid = tmp_path / "grid.yaml"
    grid.write_text("fsp: [1000, 2000]\n")
    out = tmp_path / "out"
    proc = run_cli("sweep", model_file, "--out", out, *[grid if a == "GRID" else a for a in args])
    assert_user_error(proc, *words)
    assert not out.exists()


@pytest.mark.parametrize("grid, words", [
    ("arch: [dataflw]", ["point arch=dataflw", "--arch 'dataflw' is not known", "dataflow"]),
    ("input_type: [garbage]", ["input type 'garbage' is not understood"]),
    ("folding: nosuch.json", ["folding file", "nosuch.json", "cannot be read"]),
    ("tiling: [a, b, c, d]", ["tiling ['a', 'b', 'c', 'd'] must be four positive whole"]),
    ("tiling: [4, 4, 0, 7]", ["tiling [4, 4, 0, 7] must be four positive whole"]),
    ("fps: 1000\npoints: []", ["'points' must be a non-empty list"]),
    ("fps: [1e3, fast]", ["fps 'fast' must be a number"]),
    ("board: nosuch/board.json", ["board file", "nosuch/board.json' not found"]),
    ("fps: [1000]\nclock_mhz: 100\nfps: [2000]", ["at line 3: 'fps' is given twice"]),
])
def test_bad_input_in_a_grid_is_refused_before_the_run(model_file, tmp_path, grid, words):
    (tmp_path / "grid.yaml").write_text(grid + "\n")
    proc = run_cli("sweep", model_file, "--grid", "grid.yaml", "--out", "out", cwd=tmp_path)
    assert_user_error(proc, *words)
    assert not (tmp_path / "out").exists()


def test_bad_input_an_option_in_the_grid_and_beside_it(model_file, tmp_path):
    (tmp_path / "grid.yaml").write_text("fps: [1000, 2000]\nboard: pynq-z2\n")
    proc = run_cli("sweep", model_file, "--grid", "grid.yaml", "--board", "zcu104", "--out",
                   "out", cwd=tmp_path)
    assert_user_error(proc, "board is given both in grid 'grid.yaml' and beside it")
    assert not (tmp_path / "out").exists()


@pytest.mark.parametrize("text, words", [
    ('{"foo": 1}', ["holds no scheduler address"]),
    ("not json", ["is not a Dask scheduler file (not JSON"]),
    ('{"address": "tcp://127.0.0.1:9"}', ["cannot reach the Dask scheduler tcp://127.0.0.1:9"]),
])
def test_bad_input_scheduler_files(model_file, tmp_path, text, words):
    sfile = tmp_path / "scheduler.json"
    sfile.write_text(text)
    proc = run_cli("sweep", model_file, "--out", tmp_path / "out", "--scheduler", sfile)
    assert_user_error(proc, *words)
    assert not (tmp_path / "out").exists()


def test_bad_input_a_scheduler_that_is_not_dask(model_file, tmp_path):
    """An HTTP server (say, the dashboard's port) answers but never as Dask: refused in
    seconds, not waited for forever."""
    import socket
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    server = subprocess.Popen([sys.executable, "-m", "http.server", str(port), "--bind",
                               "127.0.0.1"], stdout=subprocess.DEVNULL,
                              stderr=subprocess.DEVNULL, cwd=tmp_path)
    try:
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:
            try:
                socket.create_connection(("127.0.0.1", port), timeout=1).close()
                break
            except OSError:
                time.sleep(0.2)
        t0 = time.monotonic()
        proc = run_cli("sweep", model_file, "--out", tmp_path / "out", "--scheduler",
                       f"tcp://127.0.0.1:{port}")
        assert time.monotonic() - t0 < 60
        assert_user_error(proc, f"--scheduler tcp://127.0.0.1:{port} answers, but not as a "
                          "Dask scheduler", "8786")
        assert not (tmp_path / "out").exists()
    finally:
        server.kill()
        server.wait()


def test_bad_input_force_never_deletes_the_sweeps_inputs(tmp_path):
    proj = tmp_path / "proj"
    proj.mkdir()
    (proj / "m.h5").write_bytes(b"not read before the checks")
    (proj / "grid.yaml").write_text("fps: [1000, 2000]\n")
    (tmp_path / "m.h5").write_bytes(b"model")
    (proj / "fold.json").write_text('{"fc1": {"simd": 1, "pe": 1}}')
    for model, grid, words in (("proj/m.h5", "proj/grid.yaml", "m.h5"),
                               ("m.h5", "proj/grid.yaml", "grid.yaml"),
                               ("m.h5", None, "fold.json")):
        extra = ["--grid", grid] if grid else ["--grid", "g.yaml"]
        if not grid:
            (tmp_path / "g.yaml").write_text("folding: proj/fold.json\n")
        proc = run_cli("sweep", model, *extra, "--out", "proj", "--force", cwd=tmp_path)
        assert_user_error(proc, "--force would delete", words, "an input of this sweep")
    assert sorted(p.name for p in proj.iterdir()) == ["fold.json", "grid.yaml", "m.h5"]


def test_a_users_folder_is_never_overwritten_without_force(model_file, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "notes.txt").write_text("keep")
    proc = run_cli("sweep", model_file, "--out", out, "--scheduler", "tcp://127.0.0.1:9")
    assert_user_error(proc, f"output folder '{out}' exists and is not empty", "--force")
    assert [p.name for p in out.iterdir()] == ["notes.txt"]
    (out / "notes.txt").unlink()
    (out / "sweep.json").write_text(json.dumps({"model": "other.h5", "model_sha256": "0" * 64}))
    proc = run_cli("sweep", model_file, "--out", out, "--scheduler", "tcp://127.0.0.1:9")
    assert_user_error(proc, "holds a sweep of another model (other.h5)", "--force")


# --- the pieces (unit) -------------------------------------------------------------

def test_grid_points_are_every_combination_plus_the_listed_ones():
    from hlsgen.errors import HlsgenError
    from hlsgen.sweeps.grid import expand, label
    points = expand({"fps": [1000, 2000], "arch": ["dataflow", "tiled"], "clock_mhz": 125,
                     "points": [{"max_util": 0.5}, {"fps": 1000, "arch": "dataflow"}]})
    assert [label(p) for p in points] == [
        "clock_mhz=125 fps=1000 arch=dataflow", "clock_mhz=125 fps=1000 arch=tiled",
        "clock_mhz=125 fps=2000 arch=dataflow", "clock_mhz=125 fps=2000 arch=tiled",
        "clock_mhz=125 max_util=0.5"]                     # the duplicate is dropped
    assert expand({}) == [{}] and expand({"tiling": [2, 2, 4, 4]}) == [{"tiling": [2, 2, 4, 4]}]
    with pytest.raises(HlsgenError, match="'weights' .*given once, beside the model"):
        expand({"weights": "w.h5"})
    with pytest.raises(HlsgenError, match="fps 'fast' must be a number"):
        expand({"fps": ["fast"]})
    with pytest.raises(HlsgenError, match="'fps' sweeps an empty list"):
        expand({"fps": []})


def test_point_keys_follow_content_not_spelling():
    from hlsgen.sweeps.spec import Point, parse_stages
    def key(options, stages=("generate", "csim"), sha="a" * 64):
        return Point("/m.h5", {}, options, stages, sha).key
    assert key({"fps": 1000.0, "arch": "dataflow"}) == key({"arch": "dataflow", "fps": 1000.0})
    assert key({}) == key({"board": "pynq-z2"})            # a default is the default
    assert len({key({}), key({"fps": 1000.0}), key({}, ("generate",)), key({}, sha="b" * 64)}) == 4
    assert parse_stages("csim,generate") == ("generate", "csim")
    assert parse_stages(["lint", "ip"]) == ("generate", "lint", "ip")


def test_point_keys_follow_option_file_contents(tmp_path, monkeypatch):
    from hlsgen.sweeps.grid import expand
    from hlsgen.sweeps.spec import Point, files_sha256
    monkeypatch.chdir(tmp_path)
    (tmp_path / "fold.json").write_text('{"fc1": {"simd": 1, "pe": 1}}')
    [options] = expand({"folding": "fold.json"})
    assert options["folding"] == str(tmp_path / "fold.json")      # absolute for the workers
    def key():
        return Point("/m.h5", {}, options, ("generate",), "a" * 64, None,
                     files_sha256(options)).key
    before = key()
    (tmp_path / "fold.json").write_text('{"fc1": {"simd": 2, "pe": 1}}')
    assert key() != before


def test_point_keys_of_another_version_or_a_skipped_stage_are_not_reused(tmp_path):
    from hlsgen.sweeps.run import _row
    from hlsgen.sweeps.spec import Point
    from hlsgen.sweeps.store import Store
    from hlsgen.version import __version__
    point = Point("/m.h5", {}, {"fps": 1000.0}, ("generate", "synth"), "a" * 64)
    store = Store(tmp_path / "out", [point])
    store.open(False, "/m.h5")

    class Done:           # a finished future whose row another hlsgen computed
        def result(self):
            return {"status": "ok", "hlsgen": "0.0.0-other", "worker": "w:1"}
    row = _row(Done())
    assert row["status"] == "failed" and "runs hlsgen 0.0.0-other, this is" in row["error"]
    store.record(point, row)
    assert store.ordered()[0]["status"] == "failed"
    assert store.cached(point) is None           # not kept: the next run computes it
    store.record(point, {"status": "skipped", "hlsgen": __version__,
                         "notes": "synth skipped: vitis_hls not on PATH on w"})
    assert json.loads((store.folder(point) / "point.json").read_text())["status"] == "skipped"
    assert store.cached(point) is None           # recorded, but run again
    store.record(point, {"status": "ok", "hlsgen": __version__})
    assert store.cached(point)["status"] == "ok"


def test_point_keys_of_an_earlier_run_stay_listed_on_resume(tmp_path):
    from hlsgen.sweeps.spec import Point
    from hlsgen.sweeps.store import SWEEP, Store
    first = Point("/m.h5", {}, {"fps": 1000.0}, ("generate",), "a" * 64)
    second = Point("/m.h5", {}, {"fps": 2000.0}, ("generate",), "a" * 64)
    Store(tmp_path, [first]).open(False, "/m.h5")
    Store(tmp_path, [second]).open(True, "/m.h5")
    listed = json.loads((tmp_path / SWEEP).read_text())["points"]
    assert [p["key"] for p in listed] == [second.key, first.key]


def test_grid_points_read_numbers_yaml_leaves_as_text():
    from hlsgen.sweeps.grid import expand
    assert expand({"fps": ["1e3", 1e4]}) == [{"fps": 1000.0}, {"fps": 10000.0}]


def test_pareto_front():
    from hlsgen.sweeps.plot import pareto_front
    pts = [(10, 100), (20, 90), (20, 300), (30, 300), (40, 1000), (5, 50)]
    assert pareto_front(pts) == [(5, 50), (10, 100), (20, 300), (40, 1000)]
