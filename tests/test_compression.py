"""Compressed networks: pruned models run with fewer cycles and less weight
memory, still exact. Models pruned with tensorflow-model-optimization
(tfmot) in PE x SIMD-aligned blocks; every C simulation runs both kernel
branches against the golden executor."""

from dataclasses import replace

import numpy as np
import pytest

import compressed_models as cm
from conftest import assert_exact
from hlsgen.arch.dataflow.cost import LayerShape, layer_cost
from hlsgen.arch.dataflow.sparse import Sparsity, schedule_cycles, simulate_schedule, tile_layout
from hlsgen.passes.compression import weight_structure

FRAMES = 40


# -- unit: tiles, schedule, cost -------------------------------------------------

def test_schedule_cycles_is_the_kernel_loop_trip_count():
    """The closed form equals the loop of hlsgen_mvu.h run iteration by
    iteration, for random zero patterns, foldings and pixel counts."""
    rng = np.random.default_rng(0)
    for _ in range(300):
        mw, mh = int(rng.choice([4, 8, 12, 16, 32])), int(rng.choice([2, 4, 6, 8, 10]))
        w = (rng.random((mw, mh)) < rng.random()).astype(np.int64)
        simd = int(rng.choice([d for d in range(1, mw + 1) if mw % d == 0]))
        pe = int(rng.choice([d for d in range(1, mh + 1) if mh % d == 0]))
        lay, px = tile_layout(w, simd, pe), int(rng.integers(1, 7))
        assert lay.cycles(px) == simulate_schedule(lay.codes >> 1, lay.codes & 1, lay.sf, px)
        assert lay.cycles(px) >= max(px * lay.sf, px * lay.tiles)


def test_tile_layout_keeps_nonzero_tiles_and_a_tile_per_empty_fold():
    w = np.zeros((8, 4), dtype=np.int64)   # 4 column tiles of 2 x 2 neuron folds of 2
    w[2, 0] = 3                             # fold 0: tile column 1
    w[7, 1] = -1                            # fold 0: tile column 3; fold 1 empty
    lay = tile_layout(w, 2, 2)
    assert (lay.sf, lay.nf, lay.nonzero, lay.tiles) == (4, 2, 2, 3)
    assert lay.words.tolist() == [1, 3, 4]          # nf*SF + sf, fold 1 keeps tile 0
    assert lay.codes.tolist() == [2, 7, 1]          # sf*2 + last
    assert lay.index_bits == 3


def test_cost_model_counts_visited_tiles_and_index_bits():
    rng = np.random.default_rng(1)
    w = np.kron(rng.random((16, 8)) < 0.2, np.ones((4, 2))).astype(np.int64) * 3   # 64 x 16
    sp = Sparsity(w)
    base = LayerShape("fc", "mvu", mw=64, mh=16, wbits=6, abits=6, simd=4, pe=2)
    dense, sparse = layer_cost(base), layer_cost(replace(base, sparsity=sp))
    lay = sp.layout(4, 2)
    assert dense.cycles == 128 and sparse.cycles == lay.cycles(1) < dense.cycles
    c = sparse.compression
    assert c["tiles"] == lay.tiles and c["dense_tiles"] == 128 and c["dense_cycles"] == 128
    assert c["weight_bits"] == lay.tiles * (2 * 4 * 6) + lay.tiles * lay.index_bits
    assert c["dense_weight_bits"] == 64 * 16 * 6
    # Tiles misaligned with the zero blocks skip less.
    assert sp.layout(8, 4).nonzero / sp.layout(8, 4).dense_tiles > lay.nonzero / lay.dense_tiles


def test_tile_walk_only_where_it_pays():
    """An empty neuron fold still stores a tile and the walk costs a cycle
    more: a layout storing every tile (here SF = 1, or one fold of two all
    zero at SF = 1) is the dense unit, in the cost model as in design.py."""
    w = np.zeros((8, 4), dtype=np.int64)
    w[:, :2] = 3                                # neuron fold 1 of 2 (PE 2) all zero
    sp = Sparsity(w, 6)
    assert sp.layout(8, 2).nonzero == 1 and sp.layout(8, 2).tiles == 2
    assert sp.sparse_at(8, 2, 16) is None and sp.cycles(8, 2, 16) == 32
    base = LayerShape("fc", "mvu", mw=8, mh=4, wbits=6, abits=6, simd=8, pe=2, pixels=16)
    c = layer_cost(replace(base, sparsity=sp))
    assert c.cycles == 32 and not c.compression["block_sparse"] and c.compression["tiles"] == 2
    # At SIMD 2 the empty fold's three zero tiles are skipped: fewer cycles.
    lay = sp.sparse_at(2, 2, 16)
    assert lay is not None and lay.tiles == 5 and sp.cycles(2, 2, 16) == lay.cycles(16) < 16 * 8
    # One neuron fold: the walk is no faster, kept for the bits it saves.
    w1 = np.zeros((64, 2), dtype=np.int64)
    w1[:8] = 1
    one = Sparsity(w1, 8)
    assert one.layout(8, 2).cycles(4) >= 4 * 8 and one.sparse_at(8, 2, 4) is not None


def test_codebook_only_where_it_pays():
    """16 codes of 8-bit weights, 64 x 32: in LUTRAM anyway at 8 x 4 (the
    code selects would add ~1,000 LUTs): unshared; at 64 x 4, 11 BRAM18 in
    place of 60: the codebook."""
    from hlsgen.arch.dataflow.cost import codebook_pays
    s = LayerShape("fc1", "mvu", mw=64, mh=32, wbits=8, abits=6, accbits=20, out_bits=6,
                   simd=8, pe=4, codebook=16, code_bits=4)
    c = layer_cost(s)
    assert not codebook_pays(s) and c.lut == layer_cost(replace(s, codebook=0, code_bits=0)).lut
    wide = replace(s, simd=64, pe=4)
    assert codebook_pays(wide) and layer_cost(wide).bram18 < layer_cost(replace(wide, codebook=0)).bram18


def test_constant_weight_unit_counts_nontrivial_weights():
    """Fully unrolled with known weights: a multiplier (here a DSP) per weight
    that is neither 0 nor +-2^k, no weight memory; folded, one per lane."""
    base = LayerShape("fc", "mvu", mw=8, mh=4, wbits=6, abits=6, simd=8, pe=4,
                      nonzero_weights=20, nontrivial_weights=12)
    c = layer_cost(base)
    assert c.compression["constant_weights"] and c.compression["multipliers"] == 12
    assert c.dsp == 12 and "weights" not in c.memories
    assert layer_cost(replace(base, nontrivial_weights=-1)).dsp == 32
    folded = layer_cost(replace(base, simd=4))
    assert not folded.compression and folded.dsp == 16


def test_codebook_where_it_saves_a_third_of_the_bits():
    from hlsgen.arch.dataflow.sharing import codebook_for, encode
    rng = np.random.default_rng(2)
    w = rng.choice([-100, -3, 0, 7, 64, 127, 5, 9, 11, 13, 15, 17, 19, 21, 23, 25], (64, 32))
    book = codebook_for(w, 8)
    assert len(book) == 16 and np.array_equal(book[encode(w, book)], w)
    assert len(codebook_for(w, 7)) == 16                    # 4-bit codes for 7-bit weights
    assert codebook_for(w, 5) is None                      # 4-bit codes for 5-bit weights: no
    assert codebook_for(w[:2, :2], 8) is None               # the codebook outweighs 4 weights
    assert codebook_for(np.where(w > 0, 1, -1), 1, bipolar=True) is None


def test_weight_structure_record():
    rec = weight_structure(np.array([[0, 3], [0, -2], [3, 0]]))
    assert rec == {"weights": 6, "zeros": 3, "nontrivial": 2, "density": 0.5, "distinct": 3,
                   "codebook": [-2, 0, 3]}
    assert weight_structure(np.arange(300))["codebook"] is None


# -- e2e: tfmot block pruning ------------------------------------------------------

@pytest.fixture(scope="module")
def data():
    return cm.digits()


def _frame_figures(gen):
    """(cycles/frame, weight memory bits) of a generated design and of the same
    design dense at the same folding (each unit's dense twin)."""
    from hlsgen.arch.dataflow.report import estimate_design
    from hlsgen.platform.boards import load_board
    est = estimate_design(gen.design, load_board("pynq-z2"))
    comp = [l.compression for l in est.layers if l.compression]
    dense_cycles = max(l.compression.get("dense_cycles", l.cycles) for l in est.layers)
    return (est.max_cycles, sum(c["weight_bits"] for c in comp), dense_cycles,
            sum(c["dense_weight_bits"] for c in comp), est)


def _generate(model, tmp_path, name, x, folding):
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    path = tmp_path / f"{name}.h5"
    model.save(path)
    gen = generate(str(path), tmp_path / name, test_data=x, folding=folding)
    sim = csim(gen.out)
    assert sim.synthesis is not None and sim.synthesis.frames == sim.frames == len(x)
    assert_exact(sim)
    assert gen.lint.ok
    return gen, sim


def test_tfmot_block_pruned_mlp(tf, tmp_path, data):
    x_train, x_test, y_train, _ = data
    from hlsgen.demo import build_digits_mlp
    # tfmot's block_size: (inputs, outputs) = (SIMD, PE). fc1 sets the pace:
    # its 4 x 1 tiles give about 4.4x fewer cycles (4 x 2 tiles visit fewer
    # but wait longer for their inputs: 64-65 cycles for 51 tiles of 256,
    # 3.9-4.0x); fc2's 4 x 2 tiles need fewer index bits.
    blocks = {"fc1": (4, 1), "fc2": (4, 2)}
    model = cm.prune(tf, build_digits_mlp(tf), 0.8, blocks, x_train, y_train)
    # Third-party behaviour: the stripped QDense kernels really hold 80% zero blocks.
    for name, (simd, pe) in blocks.items():
        assert cm.block_zeros(model.get_layer(name).kernel.numpy(), simd, pe) == pytest.approx(0.8, abs=0.01)
    folding = {n: {"simd": s, "pe": p} for n, (s, p) in blocks.items()}
    gen, _ = _generate(model, tmp_path, "mlp", x_test[:FRAMES], folding)
    # The IR recorded the structure from the integer codes.
    rec = {n.name: n.attrs["compression"] for n in gen.graph.nodes if n.op == "dense"}
    assert all(r["density"] < 0.21 for r in rec.values())
    units = [k for k in gen.design.kernels if k.kind == "mvu"]
    assert all("idx" in k.params and k.attrs["tiles"] < k.attrs["dense_tiles"] for k in units)
    header = (gen.out / "firmware" / "params" / "fc1.h").read_text()
    assert "hlsgen::TileWeights<" in header
    cycles, bits, dense_cycles, dense_bits, _ = _frame_figures(gen)
    assert dense_cycles == 512 and dense_cycles >= 4 * cycles, (cycles, dense_cycles)
    assert dense_bits >= 4 * bits, (bits, dense_bits)


def test_tfmot_refuses_blocks_on_convolutions_and_a_block_pruned_cnn(tf, tmp_path, data):
    x_train, x_test, y_train, _ = data
    from hlsgen.demo import build_digits_cnn
    x4 = x_train.reshape(-1, 8, 8, 1)
    # Third-party behaviour: tfmot's block sparsity is for 2-D kernels only.
    with pytest.raises(ValueError, match="2-dimensional weights"):
        cm.prune(tf, build_digits_cnn(tf), 0.8, {"conv2": (4, 2)}, x4, y_train, epochs=1)
    model = cm.prune(tf, build_digits_cnn(tf), 0.8, {"fc": (4, 2)}, x4, y_train)
    blocks = {"conv1": (1, 2), "conv2": (4, 2)}
    model = cm.block_prune_convs(tf, model, blocks, 0.8, x4, y_train, hold=("fc",))
    for name, (simd, pe) in {**blocks, "fc": (4, 2)}.items():
        assert cm.block_zeros(model.get_layer(name).kernel.numpy(), simd, pe) == pytest.approx(0.8, abs=0.01)
    folding = {"conv1": {"simd": 1, "pe": 1}, "conv2": {"simd": 4, "pe": 2},
               "fc": {"simd": 4, "pe": 2}}
    gen, _ = _generate(model, tmp_path, "cnn", x_test[:FRAMES].reshape(-1, 8, 8, 1), folding)
    cycles, bits, dense_cycles, dense_bits, est = _frame_figures(gen)
    assert dense_cycles == 64 * 9 * 8 and dense_cycles >= 4 * cycles, (cycles, dense_cycles)
    assert dense_bits >= 4 * bits, (bits, dense_bits)


# -- the folding search and the report ------------------------------------------------

@pytest.fixture(scope="module")
def wide_cnns(tf, data):
    """(dense, pruned) wide digits CNNs, saved: convolutions block-pruned to
    80% in (SIMD, PE) = conv1 (1, 4), conv2 (16, 4) blocks, the dense head by
    tfmot in (8, 2) blocks."""
    import tempfile
    x_train, _, y_train, _ = data
    x4 = x_train.reshape(-1, 8, 8, 1)
    dense = cm.fit(cm.build_wide_cnn(tf), tf, x4, y_train, 2)
    pruned = cm.prune(tf, cm.build_wide_cnn(tf), 0.8, {"fc": (8, 2)}, x4, y_train, epochs=2)
    pruned = cm.block_prune_convs(tf, pruned, {"conv1": (1, 4), "conv2": (16, 4)}, 0.8, x4,
                                  y_train, epochs=1, hold=("fc",))
    folder = tempfile.mkdtemp(prefix="hlsgen-wide-")
    paths = []
    for name, m in (("dense", dense), ("pruned", pruned)):
        paths.append(f"{folder}/{name}.h5")
        m.save(paths[-1])
    return paths


def test_search_turns_sparsity_into_throughput_at_the_board_budget(wide_cnns, tmp_path, data):
    import json
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    x_test = data[1][:8].reshape(-1, 8, 8, 1)
    for max_util in (0.5, 0.7):
        fps = {}
        for path in wide_cnns:
            name = f"{path.rsplit('/', 1)[1][:-3]}_{int(max_util * 100)}"
            gen = generate(path, tmp_path / name, test_data=x_test, board="pynq-z2",
                           max_util=max_util)
            est = json.loads((gen.out / "report.json").read_text())
            fps[name.split("_")[0]] = est["estimates"]["fps"]
            assert max(est["estimates"]["utilisation"].values()) <= max_util
            if name.startswith("pruned"):
                # The chosen tiles follow the zero pattern: most of them are skipped
                # (a tile of two 80%-zero blocks is zero 64% of the time, at random).
                for k in gen.design.kernels:
                    if k.kind == "mvu":
                        assert k.attrs["tiles"] <= 0.35 * k.attrs["dense_tiles"], (
                            k.id, k.attrs["simd"], k.attrs["pe"])
                if max_util == 0.7:
                    assert_exact(csim(gen.out))
        assert fps["pruned"] >= 3 * fps["dense"], (max_util, fps)


def test_unstructured_sparsity_report_and_default_folding(tf, tmp_path, data):
    """tfmot without blocks at 90%: exact; the report says how much of the
    zeros the PE x SIMD tiles recover; the default folding picks tiles that
    recover more than the dense model's default folding would."""
    import json
    from hlsgen.arch.dataflow.report import compression_lines, estimate_design
    from hlsgen.demo import build_digits_mlp
    from hlsgen.platform.boards import load_board
    x_train, x_test, y_train, _ = data
    model = cm.prune(tf, build_digits_mlp(tf), 0.9, {"fc1": (1, 1), "fc2": (1, 1)}, x_train, y_train)
    w = model.get_layer("fc1").kernel.numpy()
    assert np.mean(w == 0) == pytest.approx(0.9, abs=0.01)
    assert cm.block_zeros(w, 4, 2) < 0.7     # unstructured: few whole blocks
    gen, _ = _generate(model, tmp_path, "unstructured", x_test[:FRAMES], None)
    est = estimate_design(gen.design, load_board("pynq-z2"))
    lines = compression_lines(est)
    report = json.loads((gen.out / "report.json").read_text())
    comp = {l["name"]: l["compression"] for l in report["estimates"]["layers"] if "compression" in l}
    assert set(comp) == {"fc1", "fc2"} and len(lines) == 2
    for line in lines:   # the skipped tiles' share of the zeros where it walks, else none claimed
        sparse = comp[line.split(":")[0]]["block_sparse"]
        assert ("the tile structure recovers" in line) == sparse
        assert ("tiles stored (skipping the all-zero ones would not pay)" in line) == (not sparse)
        assert "-" not in line.split("cycles/frame")[1].split(";")[0]   # never "-1 saved"
    for c in comp.values():   # a unit with an all-zero tile walks the others, and is faster
        assert (c["cycles"] < c["dense_cycles"]) == c["block_sparse"]
    # The default folding paces every unit to the largest one's 64 MAC lanes:
    # fc1 (no all-zero tile at any folding that fast) stays the dense unit the
    # dense model would get; fc2 takes the fewest lanes that keep up with it,
    # counting the tiles it skips.
    fold = {k.attrs["layer"]: (k.attrs["simd"], k.attrs["pe"], k.cycles)
            for k in gen.design.kernels if k.kind == "mvu"}
    assert fold["fc1"] == (64, 1, 32) and not comp["fc1"]["block_sparse"]
    assert fold["fc2"][2] <= 32 and fold["fc2"][0] * fold["fc2"][1] < 32 * 10 // 32


def test_brevitas_torch_pruned_mlp(tmp_path, data):
    """A Brevitas MLP pruned with torch.nn.utils.prune (made permanent):
    exact, and the report gives the cycles saved."""
    torch = pytest.importorskip("torch")
    import json
    from torch.nn.utils import prune
    from hlsgen.demo import build_brevitas_mlp, train_torch
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim
    x_train, x_test, y_train, _ = data
    torch.manual_seed(0)
    model = train_torch(build_brevitas_mlp("fixed"), x_train, y_train, 2, "brevitas mlp")
    prune.ln_structured(model.fc1, "weight", amount=0.75, n=1, dim=0)   # 24 of 32 neurons
    prune.l1_unstructured(model.fc2, "weight", amount=0.8)
    for m in (model.fc1, model.fc2):
        prune.remove(m, "weight")
    # Third-party behaviour: the pruning is permanent, a plain parameter with zeros.
    assert not hasattr(model.fc1, "weight_orig")
    assert int((model.fc1.weight.abs().sum(1) == 0).sum()) == 24
    # fc2 fully unrolled: the constant-weight unit.
    gen = generate(model, tmp_path / "brevitas", input_shape=(1, 64), test_data=x_test[:FRAMES],
                   folding={"fc1": {"simd": 4, "pe": 1}, "fc2": {"simd": 32, "pe": 10}})
    assert_exact(csim(gen.out))
    report = json.loads((gen.out / "report.json").read_text())
    comp = {l["name"]: l.get("compression") for l in report["estimates"]["layers"]}
    fc1, fc2 = comp["fc1"], comp["fc2"]
    assert fc1["dense_cycles"] == 512 and fc1["dense_cycles"] - fc1["cycles"] >= 300
    assert fc1["tiles"] == 8 * 16 + 24   # 8 live neurons' tiles, one bias-only tile per pruned one
    # Its multipliers: the weights that are neither 0 nor +-2^k, counted on Brevitas' own codes.
    codes = np.abs(model.fc2.quant_weight().int().detach().numpy().astype(np.int64))
    nontrivial = int(np.sum((codes != 0) & ((codes & (codes - 1)) != 0)))
    assert fc2["constant_weights"] and fc2["multipliers"] == nontrivial < 0.2 * 320
    assert fc2["dense_multipliers"] == 320 and fc2["weight_bits"] == 0


# -- weight sharing ---------------------------------------------------------------------

def test_tfmot_clustered_mlp_stores_codes_and_a_codebook(tf, tmp_path, data):
    """16 clusters per layer of 8-bit weights: exact; weight memory >= 1.9x
    smaller, at a folding where the codebook pays (cost.py codebook_pays: its
    per-lane code selects cost fewer LUT-equivalents than the BRAM18 saved):
    fc1 at 8 x 2 (128-word weight memories of 64 bits: BRAM; 32-bit codes),
    fc2 at 4 x 1. Where the weights fit in a few LUTRAMs anyway (e.g. fc1 at
    8 x 4), the unit keeps its weights unshared."""
    x_train, x_test, y_train, _ = data
    with pytest.raises(ValueError, match="supported layer"):
        # Third-party behaviour: tfmot clusters Keras layers, not QKeras ones.
        cm.cluster(tf, cm.build_mlp(tf, 8), 16, ["fc1"], x_train, y_train, epochs=1)
    float_model, model = cm.clustered_mlp(tf, x_train, y_train, clusters=16, weight_bits=8)
    # tfmot leaves 16 float centroids per kernel; QKeras' 8-bit quantizer maps
    # them to at most 16 integer codes, which is what the IR records.
    assert [len(np.unique(float_model.get_layer(n).kernel.numpy())) for n in ("fc1", "fc2")] == [16, 16]
    gen, _ = _generate(model, tmp_path, "clustered", x_test[:FRAMES],
                       {"fc1": {"simd": 8, "pe": 2}, "fc2": {"simd": 4, "pe": 1}})
    rec = {n.name: n.attrs["compression"] for n in gen.graph.nodes if n.op == "dense"}
    for name, r in rec.items():
        q = model.get_layer(name)
        codes = np.unique(q.kernel_quantizer_internal(q.kernel).numpy() * 2**7)
        assert r["distinct"] == len(codes) <= 16 and r["codebook"] == codes.astype(int).tolist()
    units = {k.attrs["layer"]: k for k in gen.design.kernels if k.kind == "mvu"}
    assert all(k.attrs["code_bits"] == 4 and k.params["w"].max() < 16 for k in units.values())
    assert "hlsgen::Codebook<ap_uint<4>" in (gen.out / "firmware" / "params" / "fc1.h").read_text()
    _, bits, _, dense_bits, est = _frame_figures(gen)
    assert dense_bits == (64 * 32 + 32 * 10) * 8 and dense_bits >= 1.9 * bits, (bits, dense_bits)
