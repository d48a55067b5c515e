"""QONNX quantizers (Quant, Trunc) on activations -> IR requantization nodes
whose function is the pending float operations followed by the framework's
own quantizer (qonnx's function, the same float32 operations as Brevitas')."""

from __future__ import annotations

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qonnx.float_ops import channels_layout
from hlsgen.frontends.qonnx.graph import Act, QConst, as_int, attrs_of, layer_name, split_scale


class QuantOps:
    """Mixin of the reader: quantizers."""

    def _quant_params(self, node):
        s = self.const(node, 1, "scale").astype(np.float32)
        z = self.const(node, 2, "zero point").astype(np.float32)
        bw = self.const(node, 3, "bit width").astype(np.float32)
        a = attrs_of(node)
        if bw.size != 1 or bw.flat[0] != round(float(bw.flat[0])):
            raise HlsgenError(f"{self.where(node)}: Quant with bit width {bw.ravel()[:4]} is not "
                              "supported; use one integer bit width")
        if np.any(~(s > 0)) or not np.all(np.isfinite(s)):
            raise HlsgenError(f"{self.where(node)}: Quant with a scale that is not positive and "
                              "finite is not supported; check the exported scale (a scale of 0 or "
                              "NaN comes from an untrained or uncalibrated quantizer)")
        if np.any(z != np.round(z)):
            raise HlsgenError(f"{self.where(node)}: Quant with a non-integer zero point is not "
                              "supported; use an integer zero point (Brevitas: a zero-point "
                              "quantizer with integer zero points, or none)")
        signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
        if int(bw.flat[0]) == 1 and signed and np.any(z != 0):
            raise HlsgenError(f"{self.where(node)}: 1-bit signed Quant (binarized, +-1) with a "
                              "non-zero zero point is not supported; use zero point 0")
        mode = a.get("rounding_mode", "ROUND")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        return s, z, bw, signed, narrow, mode

    def _Quant(self, node):
        from qonnx.custom_op.general.quant import max_int, min_int, quant
        x = self.value(node.input[0])
        s, z, bw, signed, narrow, mode = self._quant_params(node)
        if int(bw.flat[0]) == 1 and signed:
            # qonnx's quant at 1 signed bit is sign(x) (+1 at 0) times the scale,
            # whatever `narrow` says: BipolarQuant's function.
            return self._bipolar(node, x, s, "Quant", divide=True)

        def q(v):
            return quant(np.asarray(v, np.float32), s, z, bw, signed, narrow, mode)
        if not isinstance(x, Act):
            values = np.asarray(x.values if isinstance(x, QConst) else x, np.float32)
            y = q(values).astype(np.float32)
            codes = np.rint(y.astype(np.float64) / s.astype(np.float64)).astype(np.int64)
            return QConst(codes, s, y, node.name)
        if s.size != 1 or z.size != 1:
            raise HlsgenError(f"{self.where(node)}: per-channel activation scales or zero points "
                              "are not supported; use a per-tensor activation quantizer")
        lo, hi = as_int(min_int(signed, narrow, bw)), as_int(max_int(signed, narrow, bw))
        z0 = int(z.flat[0])
        k, r = split_scale(s.flat[0])
        k = int(k)
        s64 = np.float64(s.flat[0])
        rank = len(x.shape)

        def closing(v):
            y = q(channels_layout(rank)(v)).reshape(v.shape)
            return np.rint(y.astype(np.float64) / s64) * 2.0**-k
        return self._requant(node, x, closing, (k, lo - z0, hi - z0), np.float64(r), k)

    def _BipolarQuant(self, node):
        """+-1 times a scale (sign(0) = +1, as Brevitas' binary quantizers):
        weights become codes +-1 with the scale carried on; activations
        become bipolar codes (1 bit in hardware), their scale carried on."""
        s = self.const(node, 1, "scale").astype(np.float32)
        if not np.all(s > 0) or not np.all(np.isfinite(s)):
            raise HlsgenError(f"{self.where(node)}: BipolarQuant with a scale that is not positive "
                              "and finite is not supported; check the exported scale (a scale of "
                              "0 or NaN comes from an untrained or uncalibrated quantizer)")
        return self._bipolar(node, self.value(node.input[0]), s, "BipolarQuant")

    def _bipolar(self, node, x, s: np.ndarray, what: str, divide: bool = False):
        """sign(x) as +-1 codes (+1 at 0) with scale s; `divide`: the sign of
        x / s in float32, as qonnx's Quant computes it."""

        def sign(v):
            v = np.asarray(v, np.float32)
            v = v / (s.reshape(()) if s.size == 1 else s) if divide else v
            return np.where(v >= 0, 1.0, -1.0).astype(np.float32)
        if not isinstance(x, Act):
            values = np.asarray(x.values if isinstance(x, QConst) else x, np.float32)
            codes = sign(values).astype(np.int64)
            return QConst(codes, s, (codes * s).astype(np.float32), node.name)
        if s.size != 1:
            raise HlsgenError(f"{self.where(node)}: {what} with per-channel activation scales is "
                              "not supported; use a per-tensor activation quantizer")
        rank = len(x.shape)

        def closing(v):
            return sign(channels_layout(rank)(v)).reshape(v.shape).astype(np.float64)
        return self._requant(node, x, closing, (0, 0, 1), np.float64(s.flat[0]), 0, bipolar=True)

    def _Trunc(self, node):
        """Brevitas' truncation (average pooling, accumulator clipping): the
        qonnx function, on codes of the output scale."""
        from qonnx.custom_op.general import trunc as tr
        from qonnx.custom_op.general.quant import max_int, min_int
        x = self.act(node)
        a = attrs_of(node)
        mode = a.get("rounding_mode", "FLOOR")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        ins = [self.const(node, i, "parameter").astype(np.float32) for i in range(1, len(node.input))]
        if len(ins) == 5:   # version 2: scale, zero point, in bits, out scale, out bits
            s, z, in_bw, out_s, out_bw = ins
            signed, narrow = int(a.get("signed", 1)), int(a.get("narrow", 0))
            f = lambda v: tr.trunc_v2(v, s, z, in_bw, narrow, signed, out_s, out_bw, mode)  # noqa: E731
            lo, hi = as_int(min_int(signed, narrow, out_bw)), as_int(max_int(signed, narrow, out_bw))
        elif len(ins) == 4:
            s, z, in_bw, out_bw = ins
            out_s = s * 2.0**(in_bw - out_bw)
            f = lambda v: tr.trunc_v1(v, s, z, in_bw, out_bw, mode)  # noqa: E731
            lo, hi = -(2**(as_int(out_bw) - 1)), 2**(as_int(out_bw) - 1) - 1
        else:
            raise HlsgenError(f"{self.where(node)}: Trunc with {len(node.input)} inputs is not "
                              "supported; it takes 4 or 5 (x, scale, zero point, input bit width[, "
                              "output bit width]): export with brevitas.export.export_qonnx")
        if np.size(out_s) != 1 or np.any(z != 0):
            raise HlsgenError(f"{self.where(node)}: Trunc with per-channel scales or a zero point "
                              "is not supported; put a per-tensor quantizer without zero point "
                              "before it")
        so = np.float64(np.asarray(out_s).flat[0])
        k, r = split_scale(so)
        k = int(k)
        rank = len(x.shape)

        def closing(v):
            y = np.asarray(f(channels_layout(rank)(v.astype(np.float32)))).reshape(v.shape)
            return np.rint(y.astype(np.float64) / so) * 2.0**-k
        return self._requant(node, x, closing, (k, int(lo), int(hi)), np.float64(r), k)

    def _requant(self, node, x: Act, closing, grid, out_scale, out_frac, bipolar=False) -> Act:
        scale = np.asarray(x.scale, np.float64)
        ops = list(x.ops)

        def fn(v):
            v = np.asarray(v, np.float32)
            y = (v.astype(np.float64) * scale).astype(np.float32)
            for op in ops:
                y = op.run(y)
            return closing(y)
        per_channel = (scale.ndim > 0 and not np.all(scale == scale.flat[0])) or any(
            op.per_channel for op in ops)
        name = layer_name(node)
        t = self.node("requant", name, [x.tensor], self.tensors[x.tensor].shape,
                      {"source": " -> ".join([op.kind for op in ops] + [f"{node.op_type} ({name})"])},
                      transient={"fn": fn, "grid": grid, "per_channel": per_channel,
                                 "lut": any(op.smooth for op in ops),
                                 "monotonic": all(op.monotonic for op in ops),
                                 "bipolar": bipolar})
        self.qm.quant_map[self.nodes[-1].name] = (node.name, nhwc_perm(x.shape) if x.channels_last
                                                  else x.perm)
        return Act(t, x.shape, out_scale, out_frac, [], x.perm, x.channels_last)


def nhwc_perm(shape: tuple) -> np.ndarray | None:
    """For channels-last ONNX data of `shape` (..., C): IR index -> index in the
    layout compare._to_ir makes of it (it moves axis 1 last, as for NCHW data)."""
    if len(shape) < 2:
        return None
    moved = np.arange(int(np.prod(shape))).reshape(tuple(shape[1:]) + (shape[0],))
    return np.moveaxis(moved, -1, 0).ravel()
