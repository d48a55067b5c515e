"""`hlsgen report` on a real generated project, and the report's pieces."""

import json
import shutil

import pytest

from conftest import qdense_mlp, randomize_biases
from hlsgen.platform.boards import load_board
from hlsgen.cli.main import main
from hlsgen.arch.dataflow.cost import shapes_from_design
from hlsgen.arch.dataflow.search import folding_for_design
from hlsgen.arch.dataflow.design import build_design
from hlsgen.arch.dataflow.report import estimate_design, load_project_design, report_markdown

PNG_SIGNATURE = b"\x89PNG\r\n\x1a\n"


@pytest.fixture(scope="module")
def project(tf, tmp_path_factory):
    from hlsgen.flow import generate
    root = tmp_path_factory.mktemp("report")
    model = randomize_biases(qdense_mlp(tf, [16, 24, 12, 10], wq="quantized_bits(4,0,alpha=1)",
                                        act="quantized_relu(4)", seed=3))
    path = root / "mlp.h5"
    model.save(path)
    return generate(str(path), root / "mlp", board="pynq-z1", n_vectors=8).out


@pytest.fixture(scope="module")
def reported(project):
    """(exit code, stdout) of `hlsgen report PROJECT`, run once."""
    import contextlib
    import io
    before = json.loads((project / "report.json").read_text())
    out = io.StringIO()
    with contextlib.redirect_stdout(out):
        code = main(["report", str(project)])
    return code, out.getvalue(), before


def test_report_prints_the_table_with_totals(reported):
    code, text, before = reported
    assert code == 0
    for layer in before["layers"]:
        assert layer["id"] in text or layer["source"].split(" + ")[0] in text
    for word in ("LUT", "FF", "DSP", "BRAM18", "total", "available", "utilisation",
                 "frames/s at 100 MHz", "latency"):
        assert word in text, word


def test_report_writes_a_png(reported, project):
    data = (project / "report.png").read_bytes()
    assert data.startswith(PNG_SIGNATURE)
    assert len(data) > 10_000
    width, height = int.from_bytes(data[16:20], "big"), int.from_bytes(data[20:24], "big")
    assert width >= 600 and height >= 300


def test_report_writes_estimates_into_report_json(reported, project):
    _, _, before = reported
    after = json.loads((project / "report.json").read_text())
    assert {k: after[k] for k in before} == before          # nothing else touched
    est = after["estimates"]
    assert est["board"] == "pynq-z1" and est["clock_mhz"] == 100
    # The cost model's cycles are the generator's, kernel by kernel.
    assert [l["cycles"] for l in est["layers"]] == [l["cycles"] for l in before["layers"]]
    assert est["max_cycles_per_frame"] == before["max_cycles_per_frame"]
    assert est["fps"] == pytest.approx(before["estimated_fps"])
    for r in ("lut", "ff", "dsp", "bram18"):
        assert est["totals"][r] == sum(l[r] for l in est["layers"]) + est["shell"][r]
        assert est["utilisation"][r] == pytest.approx(est["totals"][r] / est["available"][r],
                                                      abs=1e-4)
    assert est["latency_cycles"] >= sum(l["cycles"] for l in est["layers"])


def test_report_against_another_board_and_clock(project, tmp_path, capsys):
    copy = tmp_path / "copy"
    shutil.copytree(project, copy)
    assert main(["report", str(copy), "--board", "zcu104", "--clock", "250"]) == 0
    est = json.loads((copy / "report.json").read_text())["estimates"]
    assert est["board"] == "zcu104" and est["available"]["lut"] == load_board("zcu104").lut
    assert est["fps"] == pytest.approx(250e6 / est["max_cycles_per_frame"])
    assert "zcu104" in capsys.readouterr().out


def test_report_markdown_for_the_readme(project):
    _, design = load_project_design(project)
    md = report_markdown(estimate_design(design, load_board("pynq-z1"), 100))
    assert md.startswith("## Estimated resources and throughput")
    rows = [line for line in md.splitlines() if line.startswith("|")]
    assert len(rows) == 2 + len(design.kernels) + 4     # header, rule, kernels, summary
    assert all(r.count("|") == rows[0].count("|") for r in rows)
    assert "frames/s at 100 MHz" in md


def test_search_folding_rebuilds_the_design(project):
    """The wiring `generate --fps` needs: search on a built design, rebuild with it."""
    from hlsgen.ir.graph import Graph
    graph = Graph.load(project / "ir")
    design = build_design(graph, "mlp")
    board = load_board("pynq-z1")
    fast = folding_for_design(design, board, 100, fps=20e6)
    rebuilt = build_design(graph, "mlp", fast)
    assert estimate_design(rebuilt, board, 100).fps >= 20e6
    units = [s.name for s in shapes_from_design(design) if s.kind == "mvu"]
    assert sorted(fast) == sorted(units)


def _generate_cnn(tf, folder, builder: str):
    """A project from one of tests/cnn_models.py's models."""
    import cnn_models
    from hlsgen.flow import generate
    path = folder / f"{builder}.h5"
    cnn_models.randomize_bn(getattr(cnn_models, builder)(tf)).save(path)
    return generate(str(path), folder / builder, board="pynq-z1", n_vectors=2).out


@pytest.mark.parametrize("builder", ["digits_cnn", "residual_block", "smooth_activations"])
def test_cost_model_cycles_are_the_generators_on_cnns(tf, tmp_path, builder):
    """Padding, windows, pooling, forks, deep FIFOs, adds, lookup tables: the
    cost model counts each kernel's cycles as its template runs them (gen/arch/dataflow/design.py)."""
    _, design = load_project_design(_generate_cnn(tf, tmp_path, builder))
    est = estimate_design(design, load_board("pynq-z1"), 100)
    ours = {l.name: l.cycles for l in est.layers if l.kind != "fifo"}
    theirs = {s.name: k.cycles for s, k in zip(
        [s for s in shapes_from_design(design) if s.kind != "fifo"], design.kernels)}
    assert ours == theirs
    assert est.max_cycles == max(k.cycles for k in design.kernels)


def test_search_on_a_branching_design_fits_as_built(tf, tmp_path):
    """A residual block's skip branch needs a lane converter that the search's
    chain view does not see; checking the budget on the rebuilt design keeps
    the promise."""
    from hlsgen.ir.graph import Graph
    out = _generate_cnn(tf, tmp_path, "residual_block")
    graph, board = Graph.load(out / "ir"), load_board("pynq-z1")
    design = build_design(graph, "res")
    for util in (0.4, 0.5, 0.6):
        folding = folding_for_design(design, board, 100, max_util=util,
                                     rebuild=lambda f: build_design(graph, "res", f))
        assert estimate_design(build_design(graph, "res", folding), board, 100).fits(util)


def test_report_rejects_a_bad_clock(project, capsys):
    assert main(["report", str(project), "--clock", "0"]) == 2
    assert "clock 0.0 MHz is not a positive number" in capsys.readouterr().err


def test_report_errors_name_the_folder(tmp_path, capsys):
    assert main(["report", str(tmp_path / "missing")]) == 2
    assert "not found" in capsys.readouterr().err
    assert main(["report", str(tmp_path)]) == 2
    assert "no report.json" in capsys.readouterr().err
