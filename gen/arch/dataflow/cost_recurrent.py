"""Cost model of the recurrent unit (templates/hls/hlsgen_rnn.h), hooked into
gen/arch/dataflow/cost.py's kernel table as kind "rnn".

A time step cannot start before the previous one has written the state, so
the recurrence sets the initiation interval: a frame of T steps takes T times
one step's latency. A step is the gates' folded product, (G*U/PE) * (F+U)/SIMD
iterations at II=1 plus its pipeline depth, then one elementwise pass over
the U units (U iterations plus its depth: the gate quantizers and the state
update). A GRU has two such phases: the z r product and r*s, then the
candidate's product and the state update.

LayerShape fields: mw = F + U, mh = G * U, pixels = T, channels = U,
kernel = (G, 1) (G the cell's gate count, which names the cell), thresholds =
the elementwise pass's threshold comparators in accumulator-wide equivalents
(each quantizer's thresholds once per use per iteration: an LSTM's
recurrent_activation serves i, f and o, a GRU's z and r; the cell state's
quantizers compare c_t-wide values, the state's h_t-wide ones), count
= the output values, the MAC array on simd x pe lanes; wbits, abits (the
[x ; s] lanes), accbits, out_bits as for a matrix-vector unit. As a unit the
search folds it like one (SIMD divides F + U, PE divides U); its stream
words are F lanes in and U lanes out whatever the folding.
"""

from __future__ import annotations

import math
from dataclasses import replace

from hlsgen.ir.recurrent import GATES

CELL_OF_GATES = {g: cell for cell, g in GATES.items()}
# Each requantization: (input type, output type) in the kernel's parameter struct.
RQ_TYPES = {"rec": ("acc_t", "gate_t"), "act": ("acc_t", "act_t"), "cell_act": ("c_t", "cact_t"),
            "state_c": ("c_t", "cs_t"), "state_h": ("h_t", "s_t")}
REC_USES = {"lstm": 3, "gru": 2}   # rq.rec per unit per step (hlsgen_rnn.h: i f o; z r)


def step_cycles(mw: int, units: int, cell: str, simd: int, pe: int, depth: int) -> int:
    """One time step's latency (the recurrence's initiation interval); depth:
    the pipeline stages of a II=1 loop besides its adder tree (cost.py's
    PIPE_DEPTH)."""
    mh = GATES[cell] * units
    phases = 2 if cell == "gru" else 1     # GRU: the candidate after the gates
    product = (mw // simd) * (mh // pe) + phases * (depth + math.ceil(math.log2(simd)))
    return product + phases * (units + depth)


def rnn_cost(s, mvu, multiplier, memory, pipe_depth: int) -> tuple:
    """(cycles, depth, LUT, FF, DSP, memories, folding text) of an rnn kernel,
    from cost.py's matrix-vector unit, multiplier and memory models (cost.py
    imports this module, so it passes them in)."""
    cycles, depth, lut, ff, dsp, mems, fold = mvu(replace(s, kind="mvu", pixels=1,
                                                          requant="identity", thresholds=0))
    step = step_cycles(s.mw, s.channels, CELL_OF_GATES[s.kernel[0]], s.simd, s.pe, pipe_depth)
    # The elementwise lane: the gates' threshold comparators, the state
    # update's products (c = f*cs + i*g, h = o*act(c); GRU z*s, (1-z)*hh, r*s).
    # Approximate: the products are sized out_bits x out_bits (the kernel's
    # operands are a gate and a state or activation code, whose widths
    # LayerShape does not carry), and the FF term below is a rough allowance
    # for the elementwise pass's pipeline registers.
    mult, mdsp, _ = multiplier(s.out_bits, s.out_bits)
    products = 3 if s.kernel[0] != 1 else 0
    lut += s.thresholds * (s.accbits + 1) + products * (mult + s.out_bits)
    dsp += products * mdsp
    # The gates' accumulators are partitioned into registers (hlsgen_rnn.h).
    mems = dict(mems, state=memory(s.channels, 2 * s.out_bits), gates=memory(1, s.mh * s.accbits))
    ff += 2 * s.out_bits * 4
    return s.pixels * step, depth, lut, ff, dsp, mems, f"{fold}, {step} cycles/step"


def rnn_divisions(s) -> list[tuple[str, int, int, str]]:
    """SIMD divides the [x ; s] inputs, PE the units (each gate's rows)."""
    return [("inputs", s.mw, s.simd, "SIMD"), ("units", s.channels, s.pe, "PE")]


def rnn_lanes(s) -> tuple[int, int]:
    """(input, output) lanes: a word of F inputs per step, of U outputs."""
    return s.mw - s.channels, s.channels


def rnn_shape(k, name: str, LayerShape):
    """A design.py rnn Kernel as a (cost.py) LayerShape."""
    a = k.attrs
    t = a["types"]
    # The elementwise pass's comparators: (width + 1) LUTs each, per use.
    comparator_luts = sum(v.shape[1] * (t[RQ_TYPES[n[3:]][0]].bits + 1) *
                          (REC_USES.get(a["cell"], 1) if n == "rq_rec" else 1)
                          for n, v in k.params.items() if n.startswith("rq_"))
    return LayerShape(name, "rnn", mw=a["mw"], mh=a["mh"], pixels=a["steps"], channels=a["units"],
                      kernel=(a["mh"] // a["units"], 1), wbits=t["w_t"].bits, abits=t["v_t"].bits,
                      accbits=t["acc_t"].bits, out_bits=k.out.qtype.bits, simd=a["simd"],
                      pe=a["pe"], count=k.out.count, requant="thresholds",
                      thresholds=math.ceil(comparator_luts / (t["acc_t"].bits + 1)))
