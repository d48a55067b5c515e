"""Acceptance: the BNN-PYNQ topologies Brevitas ships (brevitas_examples.bnn_pynq,
pretrained=False, batch-norm statistics from a few train-mode passes on random
data) generate; C simulation equals golden on every output and the label
select equals Brevitas's class on every frame; CNV-W1A1's headers store its
binary weights at 1 bit each."""

import re

import numpy as np
import pytest

from conftest import assert_exact

SPEC = '''
from brevitas_examples.bnn_pynq.models import model_with_cfg


def build(name):
    return model_with_cfg(name, pretrained=False)[0]
'''

SHAPES = {"tfc_1w1a": (1, 1, 28, 28), "cnv_1w1a": (1, 3, 32, 32), "cnv_2w2a": (1, 3, 32, 32)}


@pytest.fixture(scope="module")
def spec_file(tmp_path_factory):
    folder = tmp_path_factory.mktemp("bnn_pynq")
    lines = [SPEC] + [f"\n\ndef {n}():\n    return build('{n}')\n" for n in SHAPES]
    (folder / "spec.py").write_text("".join(lines))
    return folder


def _calibrated_checkpoint(folder, name):
    import torch
    from brevitas_examples.bnn_pynq.models import model_with_cfg
    torch.manual_seed(0)
    model = model_with_cfg(name, pretrained=False)[0]
    model.train()
    with torch.no_grad():
        for _ in range(4):
            model(torch.rand((64,) + SHAPES[name][1:]) * 2 - 1)
    model.eval()
    path = folder / f"{name}.pt"
    torch.save(model.state_dict(), path)
    return path


@pytest.mark.parametrize("name, frames", [("tfc_1w1a", 100), ("cnv_1w1a", 8), ("cnv_2w2a", 8)])
def test_bnn_pynq_topology_exact(spec_file, tmp_path, name, frames):
    from gen.generate import generate
    from sim.csim import csim
    ckpt = _calibrated_checkpoint(spec_file, name)
    gen = generate(f"{spec_file / 'spec.py'}:{name}", tmp_path / name, checkpoint=str(ckpt),
                   input_shape=SHAPES[name], output="argmax", n_vectors=frames)
    sim = csim(gen.out)
    fw = assert_exact(sim)
    assert fw["top1_agreement"] == 1.0
    assert sim.frames == frames
    dots = (gen.out / "firmware" / f"{gen.out.name}.cpp").read_text()
    if name.endswith("1w1a"):
        assert "hlsgen::DotXnor" in dots
    if name == "cnv_1w1a":
        params = gen.out / "firmware" / "params"
        binary = [n for n in gen.graph.nodes if n.op in ("dense", "conv")
                  and np.all(np.abs(n.params["weights"]) == 1)]
        assert len(binary) == 9                      # all six convolutions and three dense layers
        for node in binary:
            kid = re.sub(r"[^A-Za-z0-9_]", "_", node.name).strip("_")
            header = next(p for p in params.glob("*.h") if p.stem.lower() == kid.lower())
            text = header.read_text()
            word = int(re.search(r"typedef ap_uint<(\d+)> \w+_wword_t", text).group(1))
            dims = re.search(r"_w((?:\[\d+\])+) =", text).group(1)[1:-1].split("][")
            assert word * int(np.prod([int(d) for d in dims])) == node.params["weights"].size
