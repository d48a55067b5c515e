"""The Python API (hlsgen.convert / open / boards, Project): in-memory QKeras
and Brevitas models, predictions equal to the framework's on the input grid,
the README's example as written, and the small things a user hits."""

from __future__ import annotations

import re
import shlex
from pathlib import Path

import numpy as np
import pytest

import hlsgen
from hlsgen.cli.main import main

from api_models import brevitas_mlp, grid_inputs, qkeras_mlp, torch_outputs

README = Path(__file__).resolve().parents[1] / "README.md"


@pytest.fixture(scope="module")
def keras_project(tf, tmp_path_factory):
    model = qkeras_mlp()
    return model, hlsgen.convert(model, out=tmp_path_factory.mktemp("api") / "mlp",
                                 input_type="ap_fixed<8,3>", n_vectors=50)


def test_convert_an_in_memory_qkeras_model(keras_project):
    model, project = keras_project
    assert isinstance(project, hlsgen.Project) and project.manifest["framework"] == "qkeras"
    assert project.manifest["source_model"] == "api_mlp"   # no file: the model's name
    res = project.csim()
    assert res.mismatches == 0 and res.synthesis is not None and res.frames == 50
    x = grid_inputs(5, (16,), 64)                   # ap_fixed<8,3>: 5 fractional bits
    y = project.predict(x)
    fw = model.predict(x, verbose=0)
    assert y.shape == fw.shape == (64, 3)
    assert np.array_equal(y, fw)                    # de-quantized, bit for bit
    assert len(np.unique(y)) > 10                   # live outputs: the comparison can fail
    codes = project.predict(x, raw=True)
    assert codes.dtype.kind == "i" and np.array_equal(codes * 2.0 ** -project.graph.tensors[
        project.graph.outputs[0]].qtype.frac, y)


def test_source_hash_follows_the_weights(tf, tmp_path):
    model = qkeras_mlp(seed=1)
    a = hlsgen.convert(model, out=tmp_path / "a", n_vectors=2)
    b = hlsgen.convert(model, out=tmp_path / "b", n_vectors=2)
    w = model.get_weights()
    w[0] = -w[0]
    model.set_weights(w)
    c = hlsgen.convert(model, out=tmp_path / "c", n_vectors=2)
    assert a.manifest["source_sha256"] == b.manifest["source_sha256"]
    assert c.manifest["source_sha256"] != a.manifest["source_sha256"]


def test_convert_a_brevitas_module(tmp_path):
    pytest.importorskip("brevitas")
    module = brevitas_mlp()
    project = hlsgen.convert(module, out=tmp_path / "brevitas", input_shape=(1, 64), n_vectors=40)
    assert project.manifest["framework"] == "brevitas"
    assert project.csim().mismatches == 0
    frac = project.graph.meta["input_qtype"]["frac"]
    x = grid_inputs(frac, (64,), 50, span=1)
    y = project.predict(x)
    fw = torch_outputs(module, x)
    assert np.array_equal(y, fw)
    assert len(np.unique(y)) > 20


def test_brevitas_module_needs_its_input_shape():
    pytest.importorskip("brevitas")
    with pytest.raises(hlsgen.HlsgenError, match="input_shape"):
        hlsgen.convert(brevitas_mlp(), out="never_written")
    assert not Path("never_written").exists()


def test_open_report_and_notebook_view(keras_project):
    _, project = keras_project
    again = hlsgen.open(project.path)
    assert again.name == project.name and again.result is None
    assert "dataflow on pynq-z2" in repr(again)
    report = again.report()
    assert "utilisation" in str(report) and report.data["arch"] == "dataflow"
    page = again._repr_html_()
    assert "<pre>" in page and 'src="data:image/png;base64,' in page
    assert "PASS" in repr(again.csim(fast=True))        # the exactness table
    rows = again.trace(frames=2)
    assert rows and all(r.exact for r in rows)
    assert again.lint().ok


def test_boards_and_errors(tmp_path):
    names = [b.name for b in hlsgen.boards()]
    assert "pynq-z2" in names and "zcu104" in names
    with pytest.raises(hlsgen.HlsgenError, match="not a model hlsgen reads"):
        hlsgen.convert(object(), out=tmp_path / "x")
    with pytest.raises(hlsgen.HlsgenError, match="unknown option"):
        hlsgen.convert("m.h5", out=tmp_path / "x", clock=100)
    with pytest.raises(hlsgen.HlsgenError, match="not an hlsgen project"):
        hlsgen.open(tmp_path)
    assert not (tmp_path / "x").exists()


@pytest.mark.parametrize("flag, value, message", [
    ("--max-util", "7", "must be a fraction in (0, 1]"),
    ("--max-util", "0", "must be a fraction in (0, 1]"),
    ("--clock", "0", "--clock 0 must be a positive number"),
    ("--fps", "-5", "--fps -5 must be a positive number"),
    ("--vectors", "0", "--vectors 0 must be a whole number"),
])
def test_impossible_options_are_refused(tmp_path, capsys, flag, value, message):
    out = tmp_path / "out"
    assert main(["generate", str(tmp_path / "model.h5"), "--out", str(out), flag, value]) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and message in err and err.count("\n") == 1
    assert not out.exists()


def test_next_hint_is_quoted_for_the_shell(tf, tmp_path, capsys):
    path = tmp_path / "m.h5"
    qkeras_mlp().save(path)
    out = tmp_path / "f;rm -rf $HOME"
    assert main(["generate", str(path), "--out", str(out), "--vectors", "2"]) == 0
    hint = next(l for l in capsys.readouterr().out.splitlines() if l.startswith("next: "))
    assert shlex.split(hint[len("next: "):]) == ["hlsgen", "csim", str(out)]
    readme = (out / "README.md").read_text()
    assert f"hlsgen csim {shlex.quote(str(out))}" in readme


def test_readme_example_runs_as_written(tf, tmp_path, monkeypatch, capsys):
    """The first Python block of the README, executed as it stands."""
    code = re.search(r"```python\n(.*?)```", README.read_text(), re.S).group(1)
    monkeypatch.chdir(tmp_path)
    exec(compile(code, str(README), "exec"), {"__name__": "readme"})
    printed = capsys.readouterr().out
    assert "synthesis branch vs golden" in printed and "FAIL" not in printed
    assert (tmp_path / "hls_projects" / "mlp" / "hlsgen.json").is_file()
