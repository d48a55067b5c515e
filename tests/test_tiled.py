"""The tiled engine (gen/tiled.py, templates/hls/hlsgen_tiled.h): C
simulation equals the golden executor on every output, for every layer kind
it runs, at the board's tiling and at a tiny budget that splits every
dimension into several tiles (edge tiles and odd tile counts included)."""

import re

import numpy as np
import pytest

import cnn_models as cm
from gen.boards import load_board
from gen.errors import HlsgenError
from gen.paths import data_dir
from gen.roofline import Budget
from gen.tiled import FIELDS, OPS
from gen.tiled_arch import choose_arch, resolve_arch
from gen.tiled_project import generate_tiled
from sim.csim import csim

# Several tiles of output channels, input channels, rows and columns, with
# edge tiles and odd tile counts (the double buffers alternate unevenly).
SMALL_TILES = (3, 2, 3, 5)
TINY = Budget(dsp=6, bram18=12, clock_mhz=100, bandwidth_gbps=1.0)


def _run(tf, save_model, tmp_path, builder, n=24, distinct=4, **kw):
    tf.keras.utils.set_random_seed(1)
    model = cm.randomize_bn(getattr(cm, builder)(tf))
    path = save_model(model, builder + ".h5")
    gen, tiled = generate_tiled(str(path), tmp_path / builder, n_vectors=n, **kw)
    sim = csim(gen.out)
    assert sim.frames == n
    assert sim.mismatches == 0, f"{sim.mismatches} of {sim.values} outputs differ from golden"
    assert len(np.unique(sim.csim)) >= distinct    # the comparison is not vacuous
    return gen, tiled, sim


@pytest.mark.parametrize("builder", ["digits_cnn", "stride2_7x7", "kernel_1x3", "conv1d_signal",
                                     "smooth_activations", "mnist_cnn"])
def test_tiled_csim_equals_golden_at_board_tiling(tf, save_model, tmp_path, builder):
    gen, tiled, sim = _run(tf, save_model, tmp_path, builder)
    assert (gen.out / "roofline.png").is_file()


@pytest.mark.parametrize("builder", ["digits_cnn", "stride2_7x7", "conv1d_signal"])
def test_tiled_csim_equals_golden_with_many_small_tiles(tf, save_model, tmp_path, builder):
    gen, tiled, sim = _run(tf, save_model, tmp_path, builder, tiling=SMALL_TILES)
    convs = [l.desc for l in tiled.layers if l.desc["op"] == OPS["conv"]]
    # Some layer needs several tiles of output channels, input channels and pixels.
    assert any(d["m"] > tiled.sizes["TM"] for d in convs)
    assert any(d["n"] > tiled.sizes["TN"] for d in convs)
    assert any(d["oh"] > d["tr"] or d["ow"] > d["tc"] for d in convs)


def test_requantization_kinds_all_run(tf, save_model, tmp_path):
    """Thresholds (batch-norm), lookup tables, shifts, standalone requantizations."""
    _, tiled, _ = _run(tf, save_model, tmp_path, "smooth_activations", budget=TINY)
    assert tiled.sizes["TM"] * tiled.sizes["TN"] <= 6
    kinds = {l.desc.get("rq") for l in tiled.layers}
    assert {1, 2, 3} <= kinds
    assert any(l.desc["op"] == OPS["pool"] and l.desc["kh"] == 1 for l in tiled.layers)


def test_argmax_output(tf, save_model, tmp_path):
    gen, tiled, sim = _run(tf, save_model, tmp_path, "digits_cnn", output="argmax", distinct=2)
    assert tiled.layers[-1].desc["op"] == OPS["argmax"] and sim.csim.shape[1] == 1


def test_descriptor_fields_match_the_header():
    text = (data_dir("templates") / "hls" / "hlsgen_tiled.h").read_text()
    enum = re.search(r"enum Field \{(.*?)\};", text, re.S).group(1)
    names = [f.strip()[2:].lower() for f in enum.replace("\n", " ").split(",") if f.strip()]
    assert names[:-1] == list(FIELDS) and names[-1] == "fields"


@pytest.mark.parametrize("builder, words", [("residual_block", "add"),
                                            ("separable_block", "depthwise")])
def test_unsupported_layers_are_named(tf, save_model, tmp_path, builder, words):
    tf.keras.utils.set_random_seed(1)
    path = save_model(getattr(cm, builder)(tf), builder + ".h5")
    with pytest.raises(HlsgenError, match=f"{words}.*--arch dataflow"):
        generate_tiled(str(path), tmp_path / builder, n_vectors=2)


def test_auto_picks_dataflow_for_a_small_model(tf, save_model, tmp_path):
    tf.keras.utils.set_random_seed(1)
    gen, _, _ = _run(tf, save_model, tmp_path, "digits_cnn", n=4)
    arch, reason = choose_arch(gen.graph, load_board("pynq-z2"))
    assert arch == "dataflow" and "fits pynq-z2" in reason
    assert resolve_arch("tiled", gen.graph, load_board("pynq-z2"), "m") == ("tiled", "given")
    with pytest.raises(HlsgenError, match="--arch 'fast'"):
        resolve_arch("fast", gen.graph, load_board("pynq-z2"), "m")


def test_report_of_a_tiled_project(tf, save_model, tmp_path):
    from gen.tiled_project import engine_json, format_engine, report_tiled_project
    gen, tiled, _ = _run(tf, save_model, tmp_path, "mnist_cnn", n=4)
    (gen.out / "roofline.png").unlink()
    again = report_tiled_project(gen.out, board="zcu104")
    assert (again.point.tm, again.point.tn) == (tiled.point.tm, tiled.point.tn)
    assert again.point.budget.dsp == load_board("zcu104").dsp
    assert (gen.out / "roofline.png").is_file()
    text = format_engine(engine_json(again))
    assert "conv1" in text and "GOPS" in text
