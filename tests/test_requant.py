"""Requantization derived from the framework's own quantizer equals it on
every reachable accumulator code, and the C++ kernels equal the NumPy
specification (gen/ir/intmath.py) that the golden executor runs."""

import subprocess

import numpy as np
import pytest

from hlsgen.ir.intmath import apply_requant, shift_round
from hlsgen.passes.requant import derive_requant


def _qkeras_fn(tf, quantizer):
    return lambda x: np.asarray(quantizer(tf.constant(np.asarray(x, np.float32))))


@pytest.mark.parametrize("spec, acc_frac", [
    ("quantized_relu(6)", 12), ("quantized_relu(6,2)", 9), ("quantized_relu(3,1)", 5),
    ("quantized_relu(8,4)", 4), ("quantized_bits(8,3)", 11), ("quantized_bits(4,0,1)", 7),
    ("quantized_bits(6,2,keep_negative=False)", 10), ("quantized_relu(4,0)", 2),
])
def test_derived_requant_equals_qkeras_everywhere(tf, spec, acc_frac):
    from qkeras.quantizers import get_quantizer
    from hlsgen.frontends.qkeras.reader import _grid_of
    q = get_quantizer(spec)
    grid = _grid_of(q, "t")
    lo, hi = -(1 << 15), (1 << 15) - 1
    rq, thr = derive_requant(_qkeras_fn(tf, q), acc_frac, lo, hi, grid, "t")
    a = np.arange(lo, hi + 1)
    ours = apply_requant(a, rq, thr)
    x = (a * 2.0**-acc_frac).astype(np.float32)
    theirs = np.asarray(q(tf.constant(x))) * 2.0**grid[0]
    assert np.array_equal(ours, theirs)
    if acc_frac >= grid[0]:
        assert rq["kind"] == "shift" and rq["round"] == "half_even"  # tf.round ties to even


def test_large_ranges_use_bisection_and_stay_exact(tf):
    from qkeras.quantizers import get_quantizer
    q = get_quantizer("quantized_relu(6,2)")
    lo, hi = -(1 << 23), (1 << 23) - 1
    rq, thr = derive_requant(_qkeras_fn(tf, q), 16, lo, hi, (4, 0, 63), "t")
    rng = np.random.default_rng(0)
    a = np.concatenate([rng.integers(lo, hi, 200000), np.arange(-100, 70000)])
    theirs = np.asarray(q(tf.constant((a * 2.0**-16).astype(np.float32)))) * 16
    assert np.array_equal(apply_requant(a, rq, None if thr is None else thr), theirs)


def test_non_shift_function_falls_back_to_thresholds():
    # A monotonic step function that no shift-and-round can express.
    fn = lambda x: np.clip(np.floor(np.asarray(x, np.float64) * 3.0), 0, 15).astype(np.float32)
    rq, thr = derive_requant(fn, 4, -200, 200, (0, 0, 15), "t")
    assert rq["kind"] == "thresholds" and thr.shape == (1, 15)
    a = np.arange(-200, 201)
    assert np.array_equal(apply_requant(a, rq, thr), fn(a / 16.0))


CPP = r"""
#include <cstdio>
#include "hlsgen_requant.h"
typedef ap_int<20> acc_t;
int main() {
    hlsgen::RequantShift<acc_t, ap_int<12>, 3, hlsgen::ROUND_HALF_EVEN, true, -2000LL, true, 2000LL> e;
    hlsgen::RequantShift<acc_t, ap_int<12>, 3, hlsgen::ROUND_HALF_UP, true, -2000LL, true, 2000LL> u;
    hlsgen::RequantShift<acc_t, ap_int<12>, 3, hlsgen::ROUND_FLOOR, true, -2000LL, true, 2000LL> f;
    hlsgen::RequantShift<acc_t, ap_int<20>, -2, hlsgen::ROUND_FLOOR, false, 0LL, true, 90000LL> l;
    hlsgen::RequantThresholds<acc_t, ap_uint<3>, 1, 7, 0LL, false> t = {{{-30, -9, -8, 0, 5, 5, 77}}, {0}};
    hlsgen::RequantThresholds<acc_t, ap_uint<3>, 1, 7, 0LL, true> n = {{{-30, -9, -8, 0, 5, 5, 77}}, {1}};
    for (int a = -20000; a <= 20000; a++) {
        acc_t x = a;
        // The synthesis path (ap_int arithmetic) must equal the native one used in C simulation.
        typedef ap_int<22> wide;
        const int se = decltype(e)::rescale<wide>(wide(a)).to_int();
        const int su = decltype(u)::rescale<wide>(wide(a)).to_int();
        const int sf = decltype(f)::rescale<wide>(wide(a)).to_int();
        std::printf("%d %d %d %d %d %d %d %d %d\n", e(x, 0).to_int(), u(x, 0).to_int(), f(x, 0).to_int(),
                    l(x, 0).to_int(), t(x, 0).to_int(), n(x, 0).to_int(), se, su, sf);
    }
}
"""


def test_cpp_requant_kernels_equal_numpy_spec(tmp_path):
    from hlsgen.arch.dataflow.render import KERNEL_LIB
    from hlsgen.sim.headers import ap_headers_dir
    (tmp_path / "t.cpp").write_text(CPP)
    subprocess.run(["g++", "-std=c++14", "-O1", "-w", "-I", str(KERNEL_LIB), "-I", str(ap_headers_dir()),
                    str(tmp_path / "t.cpp"), "-o", str(tmp_path / "t")], check=True)
    out = np.loadtxt(subprocess.run([str(tmp_path / "t")], capture_output=True, text=True,
                                    check=True).stdout.splitlines(), dtype=np.int64)
    a = np.arange(-20000, 20001)
    for col, mode in enumerate(["half_even", "half_up", "floor"]):
        rq = {"kind": "shift", "shift": 3, "round": mode, "lo": -2000, "hi": 2000}
        assert np.array_equal(out[:, col], apply_requant(a, rq, None))
    assert np.array_equal(out[:, 3], np.minimum(a << 2, 90000))
    assert np.array_equal(out[:, 6:9], out[:, 0:3])  # ap_int (synthesis) path == native path
    thr = np.array([[-30, -9, -8, 0, 5, 5, 77]])
    assert np.array_equal(out[:, 4], apply_requant(a, {"kind": "thresholds", "base": 0}, thr))
    assert np.array_equal(out[:, 5], apply_requant(a, {"kind": "thresholds", "base": 0,
                                                       "negate": [True]}, thr))
    assert np.array_equal(out[:, 5], apply_requant(-a, {"kind": "thresholds", "base": 0}, thr))


def test_shift_round_ties():
    a = np.array([-13, -12, -11, -4, -3, 3, 4, 5, 12, 13, 20])
    assert list(shift_round(a, 3, "half_even")) == [-2, -2, -1, 0, 0, 0, 0, 1, 2, 2, 2]
    assert list(shift_round(a, 3, "half_up")) == [-2, -1, -1, 0, 0, 0, 1, 1, 2, 2, 3]
    assert list(shift_round(a, 3, "floor")) == [-2, -2, -2, -1, -1, 0, 0, 0, 1, 1, 2]
