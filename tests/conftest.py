"""Shared fixtures: TensorFlow/QKeras imported once, helpers that build,
save, generate and simulate real models; and the test tiers (TIERS below)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from hlsgen.frontends.qkeras.env import import_qkeras

# --- Tiers -------------------------------------------------------------------
# Every test has exactly one tier marker (registered in pyproject.toml):
#   unit   fast: IR graphs, data, cost models built by hand; no TensorFlow, no
#          PyTorch, no g++/clang++ compile, no sshd (`make test-fast`, < 1 min);
#   e2e    projects generated from framework models, C simulation, g++;
#   board  build/deploy: Tcl scripts, emulated PYNQ board, SSH, the hls4ml bench.
# A module takes its tier from TIERS; "module::prefix" overrides it for the
# tests whose name starts with prefix (longest prefix wins). A test module
# missing from the table is a collection error: a new file chooses its tier.
TIER_NAMES = ("unit", "e2e", "board")
TIERS = {
    # unit
    "test_boards": "unit",
    "test_host_tail": "unit",
    "test_cost": "unit",
    "test_cost_calibration": "unit",
    "test_cost_cnv": "unit",
    "test_dse": "unit",
    "test_import_graph": "unit",
    "test_intmath": "unit",
    "test_ir_unit": "unit",
    "test_lock": "unit",
    "test_passes": "unit",
    "test_roofline": "unit",
    "test_scaled_adds": "e2e",
    # e2e (with the unit tests they hold)
    "test_api": "e2e",
    "test_api::test_boards_and_errors": "unit",
    "test_api::test_impossible_options_are_refused": "unit",
    "test_binarized_everywhere": "e2e",
    "test_bnn_exact": "e2e",
    "test_csim_inputs": "e2e",
    "test_bnn_exact::test_pack_factor_fills_memory_words": "unit",
    "test_bnn_pynq": "e2e",
    "test_brevitas_exact": "e2e",
    "test_cnn_exact": "e2e",
    "test_compression": "e2e",
    "test_compression::test_schedule_cycles": "unit",
    "test_compression::test_tile_layout": "unit",
    "test_compression::test_cost_model": "unit",
    "test_compression::test_weight_structure": "unit",
    "test_compression::test_constant_weight": "unit",
    "test_compression::test_codebook": "unit",
    "test_errors": "e2e",
    "test_errors::test_csim_on_a_folder_that_is_not_a_project": "unit",
    "test_errors::test_a_crash_is_an_internal_error": "unit",
    "test_folding_and_names": "e2e",
    "test_folding_and_names::test_default_folding_divides_and_balances": "unit",
    "test_folding_and_names::test_fold_layer_fewest_lanes": "unit",
    "test_folding_and_names::test_cpp_ident_is_safe": "unit",
    "test_fuzz": "e2e",
    "test_input_preprocessing": "e2e",
    "test_exact_float": "e2e",
    "test_resample": "e2e",
    "test_recurrent": "e2e",
    "test_recurrent::test_unit_": "unit",
    "test_exact_float::test_dyadic": "unit",
    "test_exact_float::test_scale_products": "unit",
    "test_exact_float::test_fits": "unit",
    "test_exact_float::test_chains": "unit",
    "test_exact_float::test_a_framework": "unit",
    "test_exact_float::test_relus": "unit",
    "test_kernel_properties": "e2e",
    "test_limits": "e2e",
    "test_limits::test_the_search_never_proposes_a_word_over_4096_bits": "unit",
    "test_limits::test_port_lanes_and_capped_default_folding": "unit",
    "test_limits::test_max_util_above_one_is_refused": "unit",
    "test_limits::test_partitioned_thresholds_cost_luts_and_ffs_not_bram": "unit",
    "test_limits::test_report_shows_requant_partition_factors": "unit",
    "test_lint": "e2e",
    "test_mlp_exact": "e2e",
    "test_multi_io": "e2e",
    "test_multi_io::test_frames_split_and_join": "unit",
    "test_multi_io::test_qonnx_refusals": "unit",
    "test_multi_io::test_driver_selftest": "board",
    "test_pad_defects": "e2e",
    "test_pad_defects::test_check_edges_refuses_disagreeing_stream_types": "unit",
    "test_qonnx_reader": "e2e",
    "test_qonnx_converted": "e2e",
    "test_qonnx_refusals": "e2e",
    "test_report": "e2e",
    "test_report::test_report_errors_name_the_folder": "unit",
    "test_requant": "e2e",
    "test_requant::test_non_shift_function_falls_back_to_thresholds": "unit",
    "test_requant::test_shift_round_ties": "unit",
    "test_requant_multiply": "unit",
    "test_requant_multiply::test_dense_batchnorm_relu12_on_pynq_z2": "e2e",
    "test_requant_multiply::test_auto_po2_dense_batchnorm_relu12": "e2e",
    "test_requant_multiply::test_per_tensor_batchnorm_relu12": "e2e",
    "test_requant_multiply::test_tiled_engine_runs_the_multiplier_form": "e2e",
    "test_testbench": "e2e",
    "test_tiled": "e2e",
    "test_tiled::test_descriptor_fields_match_the_header": "unit",
    "test_tiled_vgg": "e2e",
    "test_wheel": "e2e",               # builds and installs the wheel, converts models with it
    # board
    "test_bench_vs_hls4ml": "board",
    "test_board_build": "board",
    "test_board_driver": "board",
    "test_deploy": "board",
    "test_tcl_scripts": "board",
    "test_sweep": "e2e",               # Dask clusters; a build with stand-in vendor tools
    "test_sweep::test_bad_input": "unit",
    "test_sweep::test_a_users_folder": "unit",
    "test_sweep::test_grid_points": "unit",
    "test_sweep::test_point_keys": "unit",
    "test_sweep::test_pareto_front": "unit",
    "test_tiled_board": "board",
}
# Fixtures a unit test may not use: they import TensorFlow or build projects.
NOT_UNIT_FIXTURES = {"tf", "gen_and_sim", "board"}


def tier_of(module: str, test: str) -> str | None:
    """The tier of test `test` (its name, with any [params]) in test module
    `module` (file stem); None if the module is not in TIERS."""
    prefixes = [k.split("::", 1)[1] for k in TIERS if k.startswith(module + "::")]
    matching = [p for p in prefixes if test.startswith(p)]
    if matching:
        return TIERS[f"{module}::{max(matching, key=len)}"]
    return TIERS.get(module)


def _module_tiers(module: str) -> set[str]:
    return {t for k, t in TIERS.items() if k == module or k.startswith(module + "::")}


def _selects_no_tier(markexpr: str, tiers: set[str]) -> bool:
    """True when -m `markexpr`, an expression over tier names only, selects
    none of `tiers`; False when it may select one or is about other marks."""
    words = markexpr.replace("(", " ").replace(")", " ").split()
    if not words or not set(words) <= {"and", "or", "not", *TIER_NAMES}:
        return False
    try:
        return not any(eval(markexpr, {"__builtins__": {}}, {n: n == t for n in TIER_NAMES})
                       for t in tiers)
    except SyntaxError:
        return False


def pytest_ignore_collect(collection_path, config):
    """`-m unit` does not even import modules that hold no unit test (the
    Brevitas ones take seconds to import torch)."""
    module = collection_path.stem
    if (collection_path.suffix == ".py" and collection_path.parent == Path(__file__).parent
            and module.startswith("test_") and module in TIERS
            and _selects_no_tier(config.getoption("markexpr") or "", _module_tiers(module))):
        return True
    return None


@pytest.hookimpl(tryfirst=True)    # before -m deselects by these markers
def pytest_collection_modifyitems(config, items):
    problems = []
    for item in items:
        module = item.path.stem
        tier = tier_of(module, item.name)
        if tier is None:
            problems.append(f"{item.path.name} has no tier: add \"{module}\": \"unit\" | \"e2e\" | "
                            "\"board\" to TIERS in tests/conftest.py")
            continue
        if tier == "unit" and NOT_UNIT_FIXTURES & set(getattr(item, "fixturenames", ())):
            problems.append(f"{item.nodeid} is tier unit but uses the fixture(s) "
                            f"{sorted(NOT_UNIT_FIXTURES & set(item.fixturenames))}: not a unit test")
        item.add_marker(getattr(pytest.mark, tier))
    if problems:
        raise pytest.UsageError("test tiers:\n  " + "\n  ".join(sorted(set(problems))))


@pytest.fixture(scope="session")
def tf():
    tf, _, _ = import_qkeras()
    return tf


def qdense_mlp(tf, sizes, wq="quantized_bits(6,0,alpha=1)", act="quantized_relu(6)",
               seed=0, softmax=True, input_quant=None):
    """A QKeras MLP sizes[0] -> ... -> sizes[-1] with random weights."""
    from qkeras import QActivation, QDense
    tf.keras.utils.set_random_seed(seed)
    inp = tf.keras.Input((sizes[0],), name="x")
    x = QActivation(input_quant, name="in_q")(inp) if input_quant else inp
    for i, n in enumerate(sizes[1:-1]):
        x = QDense(n, kernel_quantizer=wq, bias_quantizer=wq, name=f"fc{i + 1}")(x)
        x = QActivation(act, name=f"act{i + 1}")(x)
    x = QDense(sizes[-1], kernel_quantizer=wq, bias_quantizer=wq, name="logits")(x)
    if softmax:
        x = tf.keras.layers.Activation("softmax", name="softmax")(x)
    return tf.keras.Model(inp, x)


def randomize_biases(model, scale=0.5, seed=1):
    """Biases start at zero; make them non-trivial so the tests exercise them."""
    rng = np.random.default_rng(seed)
    for layer in model.layers:
        if getattr(layer, "use_bias", False):
            layer.bias.assign(rng.uniform(-scale, scale, layer.bias.shape).astype(np.float32))
    return model


@pytest.fixture
def save_model(tmp_path):
    def save(model, name="model.h5"):
        path = tmp_path / name
        model.save(path)
        return path
    return save


@pytest.fixture
def gen_and_sim(tmp_path):
    """generate + csim; returns (GenerateResult, CsimResult)."""
    from hlsgen.flow import generate
    from hlsgen.sim.csim import csim

    def run(model_path, name="prj", **kw):
        res = generate(str(model_path), tmp_path / name, **kw)
        return res, csim(res.out)
    return run


def assert_exact(sim_res):
    """C simulation == golden on every output, golden == framework exactly."""
    assert sim_res.mismatches == 0, f"{sim_res.mismatches} outputs differ from golden"
    fw = sim_res.framework_figures()
    assert fw["equal_values"] == fw["values"], fw
    assert fw["max_abs_diff"] == 0.0
    return fw


def board_folder(project: Path, dest: Path) -> Path:
    """What `hlsgen deploy` copies to a board, copied locally."""
    from hlsgen.platform.deploy import upload_list
    from hlsgen.project.manifest import load_project
    for src, dst in upload_list(project, load_project(project)["name"]):
        (dest / dst).parent.mkdir(parents=True, exist_ok=True)
        shutil.copy(src, dest / dst)
    return dest


def board_python(*args, cwd: Path, timeout: float = 120) -> subprocess.CompletedProcess:
    """Python on the emulated board: `import pynq` finds the emulator."""
    from hlsgen.sim.emulator import PYNQ_PATH
    env = dict(os.environ, PYTHONPATH=str(PYNQ_PATH))
    return subprocess.run([sys.executable, *map(str, args)], cwd=cwd, env=env, text=True,
                          capture_output=True, timeout=timeout)


@pytest.fixture
def board(projects, tmp_path):
    """(board folder, project name, project folder) for a case of the test
    module's own `projects` fixture (case -> project with an emulated overlay)."""
    def at(case):
        return board_folder(projects[case], tmp_path / case), projects[case].name, projects[case]
    return at


def assert_selftest_passes(folder: Path, name: str, batch: int) -> np.ndarray:
    """Runs the driver's self-test on the emulated board; the golden outputs."""
    proc = board_python(f"{name}_driver.py", "--selftest", "--batch", batch, cwd=folder)
    assert proc.returncode == 0, proc.stdout + proc.stderr
    gold = np.load(folder / f"{name}_golden.npy")
    counts = f"{gold.size}/{gold.size} output codes of {len(gold)} frames"
    assert f"selftest: PASS: {counts}" in proc.stdout
    assert "16/16 single-frame calls exact" in proc.stdout
    return gold


def board_predict(folder: Path, name: str, batch: int) -> tuple[np.ndarray, int]:
    """(predict() of the shipped inputs on the emulated board, ap_starts it took)."""
    from hlsgen.platform.board_files import overlay_class_name
    cls = overlay_class_name(name)
    script = (f"import numpy as np, {name}_driver as drv\n"
              f"ov = drv.{cls}(batch={batch})\n"
              f"np.save('pred.npy', ov.predict(np.load('{name}_inputs.npy')))\n"
              "print('frames', ov.accel.frames)\n")
    proc = board_python("-c", script, cwd=folder)
    assert proc.returncode == 0, proc.stderr
    return np.load(folder / "pred.npy"), int(proc.stdout.split("frames")[-1])
