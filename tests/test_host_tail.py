"""The host float tail table (hlsgen/ir/host_tail.py): the framework's own
function of every code, looked up exactly; golden's output values use it."""

from __future__ import annotations

import numpy as np
import pytest

from hlsgen.errors import HlsgenError, InternalError
from hlsgen.ir import golden, host_tail
from hlsgen.ir.graph import Graph, Node, Tensor
from hlsgen.ir.qtype import QType

SCALE = np.float32([0.3, -1.7, 0.011])
OFFSET = np.float32([0.5, 2.25, -3.1])


def tensor_norm(codes):
    """A float32 per-channel scale and offset, as BNN-PYNQ's TensorNorm computes it."""
    x = codes.astype(np.float32)
    return x * SCALE + OFFSET


def test_table_equals_the_function_on_every_code():
    tail = host_tail.tabulate(tensor_norm, -40, 37, 3, ["Mul_0", "Add_1"], "fc3")
    codes = np.random.default_rng(0).integers(-40, 38, size=(500, 6))   # 2 positions x 3 channels
    want = tensor_norm(codes.reshape(-1, 3)).reshape(500, 6)
    got = host_tail.apply(tail, codes)
    assert got.dtype == np.float32 and np.array_equal(got, want)
    assert len(np.unique(got)) > 100
    assert "Mul_0, Add_1" in host_tail.describe(tail)


def test_codes_outside_the_table_are_a_bug():
    tail = host_tail.tabulate(tensor_norm, 0, 9, 3, ["Mul_0"], "fc3")
    with pytest.raises(InternalError, match="outside the host tail's range 0..9"):
        host_tail.apply(tail, np.array([[0, 10, 3]]))


def test_a_table_too_large_is_refused_naming_the_ops():
    with pytest.raises(HlsgenError, match="Mul_0 after fc3 would need a host table"):
        host_tail.tabulate(tensor_norm, -2**30, 2**30, 3, ["Mul_0"], "fc3")


def test_golden_output_values_apply_the_tail():
    t = Tensor("out", (3,))
    t.qtype = QType(8, True, 2)
    g = Graph([Node("input", "input", [], ["out"])], {"out": t}, ["out"], ["out"], {})
    codes = np.array([[-4, 0, 7], [1, 2, 3]])
    assert np.array_equal(golden.output_values(g, codes), codes * 0.25)
    g.meta["host_tail"] = host_tail.tabulate(tensor_norm, -4, 7, 3, ["Mul_0"], "fc3")
    assert np.array_equal(golden.output_values(g, codes), tensor_norm(codes).astype(np.float64))
