"""A seeded budget of the model fuzzer (tests/fuzz/): random QKeras and
Brevitas models; each is refused in one line with nothing written, or its
project is exact in both branches of C simulation and against the framework
(every difference explained). Long campaigns: make fuzz SEED=... N=..."""

from __future__ import annotations

import os

import pytest

from fuzz.campaign import reproduction, run_one, table

# Seeds of the default budget; FUZZ_SEED moves the window (CI keeps the default).
BASE = int(os.environ.get("FUZZ_SEED", "1000"))
QKERAS = [BASE + i for i in range(6)]
BREVITAS = [BASE + i for i in range(2)]


@pytest.mark.parametrize("seed", QKERAS)
def test_random_qkeras_model(tf, tmp_path, seed):
    o = run_one(seed, "qkeras", tmp_path, tf)
    assert not o.failed, f"{reproduction(o)}\n{o.detail}"
    assert o.category in ("exact", "explained", "refused")


@pytest.mark.parametrize("seed", BREVITAS)
def test_random_brevitas_model(tmp_path, seed):
    o = run_one(seed, "brevitas", tmp_path)
    assert not o.failed, f"{reproduction(o)}\n{o.detail}"


def test_the_invariant_can_fail(tf, tmp_path, monkeypatch):
    """A synthesis branch that is off by one somewhere is caught as a mismatch."""
    import hlsgen.sim.csim as csim_module
    real = csim_module.run_frames
    calls = []

    def synthesis_off_by_one(exe, project, codes, out_count, **kw):
        out = real(exe, project, codes, out_count, **kw)
        calls.append(exe)
        if len(calls) % 2 == 0:      # csim() runs the C-sim branch, then the synthesis branch
            out = out.copy()
            out[0, 0] += 1
        return out
    monkeypatch.setattr(csim_module, "run_frames", synthesis_off_by_one)
    for seed in QKERAS:
        o = run_one(seed, "qkeras", tmp_path, tf)
        if o.category != "refused":
            assert o.category == "mismatch" and "synthesis branch 1 " in o.detail, table([o])
            return
    pytest.fail("every model of the budget was refused: the budget proves nothing")
