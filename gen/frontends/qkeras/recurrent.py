"""QKeras recurrent layers (QSimpleRNN, QLSTM, QGRU) -> one `recurrent` IR node.

What QKeras computes per time step (qkeras/qrecurrent.py, implementation=1),
with q_s the state quantizer, q_w/q_r/q_b the weight quantizers:
  SimpleRNN  h = act(x W + b + q_s(h) R)                  output h, state h
  LSTM       i, f, o = rec(x W_* + q_s(h) R_* + b_*), g = act(x W_c + q_s(h) R_c + b_c)
             c = f * q_s(c) + i * g   (float, unrounded)
             h = o * act(c)           (float, unrounded)    output h, state (h, c)
  GRU        z, r = rec(x W_* + q_s(h) R_* + b_*)
             hh = act(x W_h + b_h + (r * q_s(h)) R_h)
             h = z * q_s(h) + (1 - z) * hh  (float, unrounded)  output h, state h
(reset_after=False, QGRU's default.) rec may be QKeras' float hard_sigmoid,
exact on its input's grid. The unrounded products and sums are
exact dyadic numbers when every factor is quantized, and stay on a fixed grid
only because q_s rounds the state before the next step: without a state
quantizer an LSTM's or GRU's state gains fraction bits every step, so it is
refused. Float activations are refused likewise: the gates are tabulated
from the framework's own quantizers.
"""

from __future__ import annotations

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.ir.recurrent import GATES

CELLS = {"QSimpleRNN": "simple", "QLSTM": "lstm", "QGRU": "gru"}
HARD_SIGMOID = ("hard_sigmoid", None)
SUGGEST = {"activation": "quantized_tanh(4)", "recurrent_activation": "quantized_sigmoid(4)",
           "state_quantizer": "quantized_bits(8,2,alpha=1)"}


def _refuse_bipolar(reader_mod, q, where: str, which: str) -> None:
    """A +-1 quantizer's grid is the bipolar code grid (codes 0 and 1 meaning
    -1 and +1), which the cell's integer arithmetic would read as 0 and 1."""
    if reader_mod._is_bipolar_quantizer(q):
        raise HlsgenError(f"{where}: its {which} {q} outputs +-1 (bipolar), which a recurrent cell "
                          "does not support; use ternary(alpha=1) or quantized_bits(2, 1, alpha=1)")


def _quantizer(reader_mod, layer, which: str, fn):
    """(function, grid) of a cell's activation that must be a quantizer; or
    HARD_SIGMOID for QKeras' float hard_sigmoid as recurrent_activation
    (QLSTM's and QGRU's default): clip(x/2 + 1/2, 0, 1) is exact in float32
    on the accumulator's grid and one finer, so it needs no quantizer."""
    from qkeras import quantizers
    if which == "recurrent_activation" and fn is quantizers.hard_sigmoid:
        return HARD_SIGMOID
    if not reader_mod._is_quantizer(fn):
        name = reader_mod._activation_name(fn)
        raise HlsgenError(f"layer '{layer.name}' ({type(layer).__name__}): its {which} '{name}' "
                          f"is computed in floating point and no quantizer rounds it; give it a "
                          f"quantizer, e.g. {which}='{SUGGEST[which]}'")
    _refuse_bipolar(reader_mod, fn, f"layer '{layer.name}' ({type(layer).__name__})", which)
    return reader_mod._elementwise_fn(fn), reader_mod._grid_of(fn, layer.name)


def recurrent_node(reader, layer, srcs, rm) -> tuple:
    """The reader's handler for QSimpleRNN, QLSTM and QGRU; rm: the reader
    module (its quantizer helpers)."""
    kind = type(layer).__name__
    cell_name = CELLS[kind]
    gates = GATES[cell_name]
    cell = layer.cell
    where = f"layer '{layer.name}' ({kind})"
    for flag in ("go_backwards", "stateful", "return_state", "time_major"):
        if getattr(layer, flag, False):
            raise HlsgenError(f"{where}: {flag}=True is not supported; use {flag}=False")
    if cell_name == "gru" and cell.reset_after:
        raise HlsgenError(f"{where}: reset_after=True is not supported; use reset_after=False "
                          "(QGRU's default)")
    src = reader.resolve(*srcs[0], layer.name)
    shape = reader.tensors[src].shape
    if len(shape) != 2:
        raise HlsgenError(f"{where}: expects sequences [time steps, features], gets shape {shape}")
    steps, features = (int(d) for d in shape)
    units = int(cell.units)
    transient = {"act": _quantizer(rm, layer, "activation", cell.activation)}
    if cell_name != "simple":
        transient["rec"] = _quantizer(rm, layer, "recurrent_activation", cell.recurrent_activation)
    if cell.state_quantizer:
        sq = cell.state_quantizer_internal
        _refuse_bipolar(rm, sq, where, "state_quantizer")
        transient["state"] = (rm._layer_fn(sq, 2), rm._grid_of(sq, layer.name))
    elif cell_name != "simple":
        state = "c = f*c + i*g" if cell_name == "lstm" else "h = z*h + (1-z)*hh"
        raise HlsgenError(f"{where}: no state_quantizer, so its state ({state}) is computed in "
                          "floating point and gains fraction bits every time step; give it "
                          f"state_quantizer='{SUGGEST['state_quantizer']}'")
    w, w_frac = rm._weight_codes(layer, "kernel", cell.kernel_quantizer_internal, cell.kernel)
    r, r_frac = rm._weight_codes(layer, "recurrent", cell.recurrent_quantizer_internal
                                 if cell.recurrent_quantizer else None, cell.recurrent_kernel)
    if cell.use_bias:
        b, b_frac = rm._weight_codes(layer, "bias", cell.bias_quantizer_internal
                                     if cell.bias_quantizer else None, cell.bias)
    else:
        b, b_frac = np.zeros(gates * units, np.int64), 0
    out_shape = (steps, units) if layer.return_sequences else (units,)
    attrs = {"cell": cell_name, "units": units, "steps": steps, "features": features,
             "return_sequences": bool(layer.return_sequences),
             "w_frac": w_frac, "r_frac": r_frac, "b_frac": b_frac}
    t = reader.node("recurrent", layer.name, [src], out_shape, attrs,
                    {"kernel": w, "recurrent": r, "bias": b}, transient)
    return t, rm.Pending()


def refuse_float_rnn(reader, layer, srcs):
    """Keras' own SimpleRNN/LSTM/GRU: float weights and state."""
    kind = type(layer).__name__
    raise HlsgenError(f"layer '{layer.name}' ({kind}) has float weights and state; use Q{kind} "
                      "with kernel_quantizer, recurrent_quantizer, bias_quantizer, "
                      "state_quantizer and quantized activations")
