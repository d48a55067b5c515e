"""Acceptance: the BNN-PYNQ topologies Brevitas ships (brevitas_examples.bnn_pynq,
pretrained=False, batch-norm statistics from a few train-mode passes on random
data) generate; C simulation equals golden on every output and the label
select equals Brevitas's class on every frame, in both branches of the
kernel library (the synthesis branch on the first frames); CNV-W1A1's
headers store its binary weights at 1 bit each, packed in 64-bit words."""

import re

import numpy as np
import pytest

from conftest import assert_exact, board_folder, board_predict
from weight_headers import weight_memories

SPEC = '''
from brevitas_examples.bnn_pynq.models import model_with_cfg


def build(name):
    return model_with_cfg(name, pretrained=False)[0]
'''

SHAPES = {"tfc_1w1a": (1, 1, 28, 28), "cnv_1w1a": (1, 3, 32, 32), "cnv_2w2a": (1, 3, 32, 32)}


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bnn_pynq")
    names = sorted(set(SHAPES) | set(LOGIT_SHAPES))
    lines = [SPEC] + [f"\n\ndef {n}():\n    return build('{n}')\n" for n in names]
    (folder / "spec.py").write_text("".join(lines))
    return folder


def _calibrated_checkpoint(folder, name, shape=None):
    import torch
    shape = shape or SHAPES[name]
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    torch.manual_seed(0)
    model = model_with_cfg(name, pretrained=False)[0]
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand((64,) + shape[1:]) * 2 - 1)
    model.eval()
    path = folder / f"{name}.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.parametrize("name, frames, synthesis_frames", [
    ("tfc_1w1a", 100, 100), ("cnv_1w1a", 8, 4), ("cnv_2w2a", 8, 4)])
def test_bnn_pynq_topology_exact(spec_file, tmp_path, name, frames, synthesis_frames):
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    ckpt = _calibrated_checkpoint(spec_file, name)
    gen = generate(f"{spec_file / 'spec.py'}:{name}", tmp_path / name, checkpoint=str(ckpt),
                   input_shape=SHAPES[name], output="argmax", n_vectors=frames)
    sim = csim(gen.out, synthesis_frames=synthesis_frames)
    fw = assert_exact(sim)                           # both branches equal golden
    assert fw["top1_agreement"] == 1.0
    assert sim.frames == frames
    assert sim.synthesis.frames == synthesis_frames and sim.synthesis.mismatches == 0
    dots = (gen.out / "firmware" / f"{gen.out.name}.cpp").read_text()
    if name.endswith("1w1a"):
        assert "hlsgen::DotXnor" in dots
    if name == "cnv_1w1a":
        memories = {k.lower(): m for k, m in weight_memories(gen.out / "firmware" / "params").items()}
        binary = [n for n in gen.graph.nodes if n.op in ("dense", "conv")
                  and np.all(np.abs(n.params["weights"]) == 1)]
        assert len(binary) == 9                      # all six convolutions and three dense layers
        for node in binary:
            mem = memories[re.sub(r"[^A-Za-z0-9_]", "_", node.name).strip("_").lower()]
            assert mem.bits == node.params["weights"].size       # 1 bit per weight
            assert mem.literals == mem.words                     # one literal per memory word
            if node.params["weights"].size >= 64 * 1024:
                # large memories: native words of 32 or 64 bits (as wide as
                # they go without costing a BRAM18 more)
                assert mem.word_bits >= 32 and mem.ctype in ("unsigned int", "unsigned long long"), mem
        # Short initialisers: about one 64-bit literal per 64 weights (the
        # synthesis branch compiles in seconds; 730k ap_uint<1..8> elements
        # made g++ run out of time).
        weights = sum(n.params["weights"].size for n in binary)
        assert sum(m.literals for m in memories.values()) < weights / 48
        # The target: the synthesis branch builds with g++ -O1 in
        # under 2 minutes (about 10 s here; it did not finish in 15 before).
        assert sim.synthesis.build_cached or sim.synthesis.build_seconds < 120


# Every BNN-PYNQ configuration Brevitas ships (LFC has no W2A2: see the last test).
LOGIT_SHAPES = {**{f"{net}_{wa}": (1, 1, 28, 28) for net in ("tfc", "sfc", "lfc")
                   for wa in ("1w1a", "1w2a", "2w2a") if f"{net}_{wa}" != "lfc_2w2a"},
                **{f"cnv_{wa}": (1, 3, 32, 32) for wa in ("1w1a", "1w2a", "2w2a")}}


@pytest.mark.parametrize("name, frames", [(n, 6 if n.startswith("cnv") else 30)
                                          for n in LOGIT_SHAPES])
def test_bnn_pynq_logits_through_the_host_tail(spec_file, tmp_path, name, frames):
    """The default logits output: the TensorNorm after the last layer runs on
    the host (the IP outputs the integer accumulators); csim's logits equal
    Brevitas's on every output, and the project says what runs on the host."""
    import json
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    ckpt = _calibrated_checkpoint(spec_file, name, LOGIT_SHAPES[name])
    gen = generate(f"{spec_file / 'spec.py'}:{name}", tmp_path / name, checkpoint=str(ckpt),
                   input_shape=LOGIT_SHAPES[name], n_vectors=frames)
    tail = gen.graph.meta["host_tail"]
    assert tail["ops"]                                   # the TensorNorm's operations
    sim = csim(gen.out, synthesis_frames=min(frames, 8))
    fw = assert_exact(sim)                               # both branches equal golden
    assert fw["equal_values"] == fw["values"] == frames * 10   # logits equal Brevitas's
    assert len(np.unique(sim.golden_values)) > 10        # live float logits, not a constant
    report = json.loads((gen.out / "report.json").read_text())
    assert report["host_tail"]["ops"] == tail["ops"]
    assert "On the host:" in (gen.out / "README.md").read_text()
    if name == "tfc_1w1a":
        # The generated PYNQ driver, on the emulated board, applies the same
        # tail: its predict() equals Brevitas's logits.
        from hlsgen.sim.emulator import install_overlay
        install_overlay(gen.out)
        folder = board_folder(gen.out, tmp_path / "board")
        pred, _ = board_predict(folder, gen.out.name, 16)
        assert pred.dtype == np.float64
        assert np.array_equal(pred, np.load(gen.out / "tb" / "framework.npy"))


def test_the_logit_tests_cover_every_shipped_configuration():
    """Establishes which BNN-PYNQ configurations brevitas_examples ships, so
    that the list above cannot silently miss one."""
    from importlib.util import find_spec
    from pathlib import Path
    spec = find_spec("brevitas_examples")
    cfg = Path(list(spec.submodule_search_locations)[0]) / "bnn_pynq" / "cfg"
    shipped = {p.stem for p in cfg.glob("*.ini") if p.stem.split("_")[0] in ("tfc", "sfc", "lfc",
                                                                               "cnv")}
    assert shipped == set(LOGIT_SHAPES)



def test_host_tail_from_a_qonnx_file(tmp_path):
    """A BNN-PYNQ network exported to a QONNX file (no PyTorch module at hand):
    the tail runs the exported float nodes as the qonnx executor does, and
    the logits equal the executor's on every output."""
    import torch
    from brevitas.export import export_qonnx
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    model = model_with_cfg("sfc_1w1a", pretrained=False)[0]
    state = torch.load(_calibrated_checkpoint(tmp_path, "sfc_1w1a", (1, 1, 28, 28)))
    model.load_state_dict(state)
    model.eval()
    path = tmp_path / "sfc.onnx"
    export_qonnx(model, torch.zeros(1, 1, 28, 28), export_path=str(path))
    gen = generate(str(path), tmp_path / "sfc", n_vectors=20)
    assert gen.graph.meta["host_tail"]["ops"]
    fw = assert_exact(csim(gen.out, synthesis_frames=4))
    assert fw["equal_values"] == fw["values"] == 200
