"""Bad input: one line naming the problem and the fix, exit code 2, no
traceback, nothing written."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import qdense_mlp

HLSGEN = [sys.executable, "-m", "hlsgen.cli"]


def run_cli(*args, cwd=None):
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="3")
    return subprocess.run(HLSGEN + [str(a) for a in args], capture_output=True, text=True,
                          cwd=cwd, env=env)


def assert_user_error(proc, *words):
    assert proc.returncode == 2, proc.stderr
    assert "Traceback" not in proc.stderr
    lines = [l for l in proc.stderr.splitlines() if l.startswith("error:")]
    assert len(lines) == 1, proc.stderr
    for w in words:
        assert w in lines[0], lines[0]
    return lines[0]


def assert_nothing_written(folder: Path):
    assert not folder.exists()
    leftovers = [p.name for p in folder.parent.iterdir() if ".hlsgen-" in p.name]
    assert leftovers == []


@pytest.fixture(scope="module")
def models(tmp_path_factory, tf):
    from qkeras import QDense
    d = tmp_path_factory.mktemp("models")
    qdense_mlp(tf, [8, 8, 4]).save(d / "good.h5")
    inp = tf.keras.Input((6, 6, 1))
    x = tf.keras.layers.Conv2D(2, 3, name="conv_a")(inp)
    x = tf.keras.layers.Flatten()(x)
    x = QDense(3, kernel_quantizer="quantized_bits(4,0,alpha=1)",
               bias_quantizer="quantized_bits(4,0,alpha=1)")(x)
    tf.keras.Model(inp, x).save(d / "conv.h5")
    inp = tf.keras.Input((8,))
    x = tf.keras.layers.Dense(4, name="float_dense")(inp)
    tf.keras.Model(inp, x).save(d / "dense.h5")
    inp = tf.keras.Input((8,))
    x = QDense(4, kernel_quantizer="quantized_bits(4,0,alpha=1)", name="no_bias_q")(inp)
    tf.keras.Model(inp, x).save(d / "nobiasq.h5")
    (d / "junk.h5").write_bytes(b"this is not an HDF5 file\n" * 10)
    (d / "notes.txt").write_text("hello")
    return d


def test_unsupported_layer_named_with_supported_list(models, tmp_path):
    out = tmp_path / "p"
    line = assert_user_error(run_cli("generate", models / "conv.h5", "--out", out),
                             "conv_a", "Conv2D", "supported:", "QDense")
    assert "QActivation" in line
    assert_nothing_written(out)


def test_dense_without_quantizers(models, tmp_path):
    out = tmp_path / "p"
    assert_user_error(run_cli("generate", models / "dense.h5", "--out", out),
                      "float_dense", "QDense", "kernel_quantizer")
    assert_nothing_written(out)


def test_missing_bias_quantizer(models, tmp_path):
    out = tmp_path / "p"
    assert_user_error(run_cli("generate", models / "nobiasq.h5", "--out", out),
                      "no_bias_q", "bias_quantizer")
    assert_nothing_written(out)


@pytest.mark.parametrize("name", ["junk.h5", "notes.txt", "missing.h5"])
def test_not_a_model(models, tmp_path, name):
    out = tmp_path / "p"
    assert_user_error(run_cli("generate", models / name, "--out", out), name)
    assert_nothing_written(out)


def test_unknown_board(models, tmp_path):
    out = tmp_path / "p"
    assert_user_error(run_cli("generate", models / "good.h5", "--out", out, "--board", "pynq-z9"),
                      "pynq-z9", "pynq-z2")
    assert_nothing_written(out)


def test_bad_input_type(models, tmp_path):
    out = tmp_path / "p"
    assert_user_error(run_cli("generate", models / "good.h5", "--out", out,
                              "--input-type", "float32"), "float32", "ap_fixed<W,I>")
    assert_nothing_written(out)


def test_refuses_non_empty_folder_without_force(models, tmp_path):
    out = tmp_path / "mine"
    out.mkdir()
    (out / "precious.txt").write_text("user data")
    assert_user_error(run_cli("generate", models / "good.h5", "--out", out), "--force", str(out))
    assert (out / "precious.txt").read_text() == "user data"
    assert sorted(p.name for p in out.iterdir()) == ["precious.txt"]
    ok = run_cli("generate", models / "good.h5", "--out", out, "--force")
    assert ok.returncode == 0, ok.stderr
    assert not (out / "precious.txt").exists() and (out / "hlsgen.json").exists()


def test_csim_on_a_folder_that_is_not_a_project(tmp_path):
    assert_user_error(run_cli("csim", tmp_path), "hlsgen.json")


def test_csim_exit_code_on_mismatch(models, tmp_path):
    """A corrupted golden file must make csim fail (the check can fail)."""
    import numpy as np
    out = tmp_path / "p"
    assert run_cli("generate", models / "good.h5", "--out", out).returncode == 0
    ok = run_cli("csim", out)
    assert ok.returncode == 0 and "PASS" in ok.stdout
    gold = np.load(out / "tb" / "golden.npy")
    gold[3, 1] += 1
    np.save(out / "tb" / "golden.npy", gold)
    bad = run_cli("csim", out)
    assert bad.returncode == 1 and "FAIL" in bad.stdout and "1999/2000" not in bad.stdout
    assert "799/800" in bad.stdout


def test_a_crash_is_an_internal_error_with_its_traceback_kept(monkeypatch, capsys):
    """Anything but a user error is hlsgen's bug: one line naming it as such,
    exit 3, the traceback saved to a file for the report, never printed."""
    import hlsgen.platform.boards
    from hlsgen.cli.main import main

    def broken(*a, **k):
        raise KeyError("surprise")
    monkeypatch.setattr(hlsgen.platform.boards, "list_boards", broken)
    assert main(["boards"]) == 3
    err = capsys.readouterr().err.strip()
    assert len(err.splitlines()) == 1 and "Traceback" not in err
    assert err.startswith("error: internal error in hlsgen: KeyError: 'surprise'; this is a bug in hlsgen")
    saved = Path(err.rsplit("traceback in ", 1)[1].rstrip(")"))
    assert "Traceback" in saved.read_text() and "surprise" in saved.read_text()
    saved.unlink()
