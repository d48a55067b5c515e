"""QONNX integer layers (Gemm, MatMul, Conv), padding and pooling -> IR
nodes. Weights enter as the Quant node's integer codes in the IR's layout
(channels last, (ky, kx, c) rows); their scale joins the accumulator's
residual scale, a float bias joins its pending operations."""

from __future__ import annotations

import math

import numpy as np

from hlsgen.errors import HlsgenError
from hlsgen.frontends.qonnx.env import import_onnx, max_ir_version, session
from hlsgen.frontends.qonnx.float_ops import FloatOp, affine_form, channels_layout, window_layout
from hlsgen.frontends.qonnx.graph import Act, QConst, attrs_of, ir_shape, layer_name, split_scale
from hlsgen.frontends.transposed import around_zero_inserted, turned_kernel
from hlsgen.ir.dyadic import exact_product
from hlsgen.ir.qtype import exact_frac


class LayerOps:
    """Mixin of the reader: integer layers, padding, pooling."""

    def _weights(self, node, i: int) -> QConst:
        w = self.value(node.input[i])
        if not isinstance(w, QConst):
            raise HlsgenError(f"{self.where(node)} ({node.op_type}): its weights are not quantized; "
                              "use a Brevitas quantized layer (QuantLinear, QuantConv2d) or put a "
                              "Quant node on the weights")
        return w

    def _out_scales(self, node, w: QConst, out_axis: int) -> np.ndarray:
        s = np.broadcast_to(np.asarray(w.scale, np.float64), w.codes.shape)
        per = np.moveaxis(s, out_axis, 0).reshape(w.codes.shape[out_axis], -1)
        if not np.all(per == per[:, :1]):
            raise HlsgenError(f"{self.where(node)}: its weight scale varies along the input "
                              "axis; use per-tensor or per-output-channel weight scales")
        return per[:, 0]

    def _integer_layer(self, node, x: Act, op: str, codes: np.ndarray, w_scales: np.ndarray,
                       bias_index: int | None, attrs: dict, out_onnx_shape: tuple) -> Act:
        """codes: IR weights [rows, C] with per-output-channel scales w_scales."""
        if x.scale.ndim and not np.all(x.scale == x.scale.flat[0]):
            raise HlsgenError(f"{self.where(node)}: its input has per-channel float scales; put a "
                              "quantizer (e.g. QuantIdentity) before it")
        k, r = split_scale(w_scales)
        w_frac = int(k.max())
        if np.all(r == r[0]):   # one residual: align the codes to a common binary point
            codes = codes << (w_frac - k)[None, :]
            w_res = np.float64(r[0])
        else:
            w_res = w_scales * 2.0**w_frac
        acc_scale = exact_product(x.scale.flat[0], w_res)   # an exact dyadic number
        frac = None if x.frac is None else x.frac + w_frac
        name = layer_name(node)
        bias = np.zeros(codes.shape[1], np.int64)
        b_frac, ops = 0, []
        if bias_index is not None and len(node.input) > bias_index and node.input[bias_index]:
            b = self.value(node.input[bias_index])
            exact = isinstance(b, QConst) and np.all(acc_scale == 1) and np.all(split_scale(b.scale)[1] == 1)
            if exact:
                b_frac = exact_frac(b.values)
                bias = np.round(b.values.astype(np.float64).reshape(-1) * 2.0**b_frac).astype(np.int64)
            else:
                values = b.values if isinstance(b, QConst) else np.asarray(b, np.float32)
                values = np.broadcast_to(values.reshape(-1), (codes.shape[1],))
                rank = len(out_onnx_shape)
                add = self.qm.ops.node_fn(_AddNode, [None, values.reshape((-1,) + (1,) * (rank - 1))],
                                          channels_layout(rank))
                ops.append(FloatOp(name, "float bias", add, True, True,
                                   affine=affine_form("Add", values, True)))
        t = self.node(op, name, [x.tensor], ir_shape(out_onnx_shape),
                      {**attrs, "w_frac": w_frac, "b_frac": b_frac},
                      {"weights": codes.astype(np.int64), "bias": bias}, tname=f"{name}_acc")
        if ops and isinstance(b, QConst):
            ops[0].bias = (b, self.nodes[-1])
        return Act(t, tuple(out_onnx_shape), np.asarray(acc_scale), frac, ops)

    def _layer_bias(self, node) -> Act | None:
        """Add(accumulator, quantized bias) right after a MatMul or Conv (qonnx's
        QKeras converter writes a dense layer so): when the accumulator's scale
        is a power of two (no residual) and so is the bias's, the sum is an
        integer on a known grid, and the bias becomes the layer's own integer
        bias, as for Gemm's. None when it does not apply (the Add then stays a
        float operation)."""
        vals = [self.value(i) for i in node.input]
        if len(vals) != 2 or sum(isinstance(v, Act) for v in vals) != 1:
            return None
        i = 0 if isinstance(vals[0], Act) else 1
        x, c = vals[i], vals[1 - i]
        if not isinstance(c, QConst) or x.ops or x.perm is not None or x.channels_last:
            return None
        layer = next((n for n in reversed(self.nodes) if n.outputs[0] == x.tensor), None)
        if (layer is None or layer.op not in ("dense", "conv") or np.any(layer.params["bias"])
                or len(self.model.find_consumers(node.input[i])) != 1
                or node.input[i] in [o.name for o in self.model.graph.output]):
            return None
        if not (np.all(np.asarray(x.scale) == 1) and np.all(split_scale(c.scale)[1] == 1)):
            return None
        per = np.broadcast_to(self.channel_const(c.values, x, node).reshape(-1),
                              (layer.params["bias"].shape[0],)).astype(np.float64)
        b_frac = exact_frac(per)
        layer.params["bias"] = np.round(per * 2.0**b_frac).astype(np.int64)
        layer.attrs["b_frac"] = b_frac
        frac = None if x.frac is None else max(x.frac, b_frac)
        return Act(x.tensor, x.shape, x.scale, frac)

    def _Gemm(self, node):
        a = attrs_of(node)
        if a.get("transA", 0) or a.get("alpha", 1.0) != 1.0 or a.get("beta", 1.0) != 1.0:
            raise HlsgenError(f"{self.where(node)}: Gemm with transA, alpha or beta is not "
                              "supported; export a plain linear layer")
        return self._matmul(node, bool(a.get("transB", 0)), 2)

    def _MatMul(self, node):
        return self._matmul(node, False, None)

    def _matmul(self, node, trans_b: bool, bias_index):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        if len(x.shape) != 1:
            raise HlsgenError(f"{self.where(node)} ({node.op_type}) on a {len(x.shape)}-D tensor is "
                              "not supported; flatten its input first")
        w = self._weights(node, 1)
        if w.codes.ndim != 2:
            raise HlsgenError(f"{self.where(node)}: weights of shape {w.codes.shape} are not a "
                              "matrix; use a linear layer (2-D weights) after a flatten")
        codes = w.codes.T if trans_b else w.codes          # [in, out]
        scales = self._out_scales(node, w, 0 if trans_b else 1)
        if x.perm is not None:
            codes = codes[x.perm]
        x = Act(x.tensor, x.shape, x.scale, x.frac, [], None)
        return self._integer_layer(node, x, "dense", codes, scales, bias_index, {},
                                   (codes.shape[1],))

    def _Conv(self, node):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        w = self._weights(node, 1)
        a = attrs_of(node)
        if len(x.shape) not in (2, 3) or w.codes.ndim != len(x.shape) + 1:
            raise HlsgenError(f"{self.where(node)}: only 1-D and 2-D convolutions are "
                              "supported; use Conv1d or Conv2d")
        if any(d != 1 for d in a.get("dilations", [1])):
            raise HlsgenError(f"{self.where(node)}: dilation {a['dilations']} is not supported; use 1")
        cin, cout, group = x.shape[0], w.codes.shape[0], int(a.get("group", 1))
        depthwise = group > 1
        if depthwise and not (group == cin == cout and w.codes.shape[1] == 1):
            raise HlsgenError(f"{self.where(node)}: grouped convolution (groups={group}) is "
                              "supported only as depthwise (groups = in = out channels)")
        two_d = len(x.shape) == 3
        kernel = tuple(w.codes.shape[2:])
        kh, kw = kernel if two_d else (1, kernel[0])
        strides = list(a.get("strides", [1] * len(kernel)))
        sh, sw = strides if two_d else (1, strides[0])
        x = self._padded(node, x, a, kernel, strides)
        if depthwise:
            codes = w.codes[:, 0].reshape(cout, -1).T                       # [kh*kw, C]
        else:
            codes = np.moveaxis(w.codes, (0, 1), (-1, -2)).reshape(-1, cout)  # (ky, kx, c) rows
        ih, iw = (x.shape[1:] if two_d else (1, x.shape[1]))
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        out = (cout, oh, ow) if two_d else (cout, ow)
        return self._integer_layer(node, x, "conv", codes, self._out_scales(node, w, 0), 2,
                                   {"kh": kh, "kw": kw, "sh": sh, "sw": sw, "depthwise": depthwise},
                                   out)

    def _ConvTranspose(self, node):
        """As an ordinary convolution on the zero-inserted input
        (gen/frontends/transposed.py)."""
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        w = self._weights(node, 1)
        a = attrs_of(node)
        if len(x.shape) != 3 or w.codes.ndim != 4:
            raise HlsgenError(f"{self.where(node)}: only 2-D transposed convolutions are "
                              "supported; use ConvTranspose2d on an image")
        auto = a.get("auto_pad", b"NOTSET")
        if int(a.get("group", 1)) != 1 or any(d != 1 for d in a.get("dilations", [1])) or any(
                a.get("output_padding", [0])) or "output_shape" in a or (
                auto.decode() if isinstance(auto, bytes) else auto) != "NOTSET":
            raise HlsgenError(f"{self.where(node)}: a transposed convolution with groups, "
                              "dilation, output_padding, output_shape or auto_pad is not "
                              "supported; give explicit pads and leave the others at their "
                              "defaults")
        (kh, kw), (sh, sw) = w.codes.shape[2:], list(a.get("strides", [1, 1]))
        pt, pl, pb, pr = (list(a.get("pads", [0, 0, 0, 0])) + [0, 0, 0, 0])[:4]
        codes = turned_kernel(np.transpose(w.codes, (2, 3, 1, 0)))   # [Cin, Cout, kh, kw] -> Keras'
        cout = codes.shape[1]
        name = layer_name(node)
        if sh > 1 or sw > 1:
            shape = (x.shape[0], x.shape[1] * sh, x.shape[2] * sw)
            t = self.node("upsample", f"{name}_zeros", [x.tensor], ir_shape(shape),
                          {"fh": sh, "fw": sw, "mode": "zeros"})
            x = Act(t, shape, x.scale, x.frac)
        top, bottom = around_zero_inserted(kh, sh, pt, pb)
        left, right = around_zero_inserted(kw, sw, pl, pr)
        if min(top, bottom, left, right) < 0:
            x = self._crop_act(node, x, [max(-top, 0), max(-left, 0)], [max(-bottom, 0), max(-right, 0)])
        x = self._pad_act(node, x, [max(top, 0), max(left, 0)], [max(bottom, 0), max(right, 0)])
        oh, ow = x.shape[1] - kh + 1, x.shape[2] - kw + 1
        return self._integer_layer(node, x, "conv", codes, self._out_scales(node, w, 1), 2,
                                   {"kh": kh, "kw": kw, "sh": 1, "sw": 1, "depthwise": False},
                                   (cout, oh, ow))

    def _crop_act(self, node, x: Act, begin: list, end: list) -> Act:
        top, left = begin
        bottom, right = end
        shape = (x.shape[0], x.shape[1] - top - bottom, x.shape[2] - left - right)
        t = self.node("crop", f"{layer_name(node)}_crop", [x.tensor], ir_shape(shape),
                      {"top": top, "bottom": bottom, "left": left, "right": right})
        return Act(t, shape, x.scale, x.frac)

    def _Resize(self, node):
        """Resize by whole factors whose mapping (found by running the node
        itself on pixel indices) repeats each pixel: nearest-neighbour
        upsampling."""
        x = self.act(node)   # pending per-channel float operations commute with copying
        out_shape = tuple(int(d) for d in self.model.get_tensor_shape(node.output[0])[1:])
        rank = len(x.shape)
        if rank not in (2, 3) or len(out_shape) != rank or out_shape[0] != x.shape[0] or any(
                o % i for o, i in zip(out_shape[1:], x.shape[1:])):
            raise HlsgenError(f"{self.where(node)}: Resize from {x.shape} to {out_shape} is not "
                              "supported; hlsgen resizes images by whole factors (nearest)")
        factors = [o // i for o, i in zip(out_shape[1:], x.shape[1:])]
        fh, fw = factors if rank == 3 else (1, factors[0])
        if not _repeats(self.qm.ops, node, self, x.shape, out_shape, factors):
            raise HlsgenError(f"{self.where(node)}: Resize that does not repeat each pixel "
                              f"(mode {attrs_of(node).get('mode', b'nearest')!r}) is not "
                              "supported; use nearest-neighbour upsampling by whole factors "
                              "(nn.Upsample(scale_factor=2), mode='nearest')")
        t = self.node("upsample", layer_name(node), [x.tensor], ir_shape(out_shape),
                      {"fh": fh, "fw": fw, "mode": "nearest"})
        return Act(t, out_shape, x.scale, x.frac, list(x.ops), x.perm, x.channels_last)

    def _padded(self, node, x: Act, a: dict, kernel: tuple, strides: list) -> Act:
        """ONNX pads / auto_pad as an explicit zero-padding node."""
        n = len(kernel)
        auto = a.get("auto_pad", b"NOTSET")
        auto = auto.decode() if isinstance(auto, bytes) else auto
        if auto in ("SAME_UPPER", "SAME_LOWER"):
            pads_b, pads_e = [], []
            for size, k, s in zip(x.shape[1:], kernel, strides):
                total = max((-(-size // s) - 1) * s + k - size, 0)
                small, big = total // 2, total - total // 2
                pads_b.append(small if auto == "SAME_UPPER" else big)
                pads_e.append(big if auto == "SAME_UPPER" else small)
            pads = pads_b + pads_e
        else:
            pads = list(a.get("pads", [0] * 2 * n)) if auto != "VALID" else [0] * 2 * n
        return self._pad_act(node, x, pads[:n], pads[n:])

    def _pad_act(self, node, x: Act, begin: list, end: list) -> Act:
        if not any(begin) and not any(end):
            return x
        if min(begin + end) < 0:
            raise HlsgenError(f"{self.where(node)}: negative padding (cropping) is not "
                              "supported; crop the input before the model")
        top, left = (begin if len(begin) == 2 else [0, begin[0]])
        bottom, right = (end if len(end) == 2 else [0, end[0]])
        shape = (x.shape[0],) + tuple(d + b + e for d, b, e in zip(x.shape[1:], begin, end))
        t = self.node("pad", f"{layer_name(node)}_pad", [x.tensor], ir_shape(shape),
                      {"top": top, "bottom": bottom, "left": left, "right": right})
        return Act(t, shape, x.scale, x.frac)

    def _Pad(self, node):
        x = self.resolve(self.act(node), f"'{layer_name(node)}'")
        a = attrs_of(node)
        mode = a.get("mode", b"constant")
        mode = mode.decode() if isinstance(mode, bytes) else mode
        pads = [int(p) for p in (self.const(node, 1, "pads") if len(node.input) > 1 else a["pads"])]
        value = self.const(node, 2, "value") if len(node.input) > 2 and node.input[2] else 0
        if len(node.input) > 3 and node.input[3]:
            raise HlsgenError(f"{self.where(node)}: Pad with explicit axes is not "
                              "supported; export with opset 13 or give pads for every axis")
        r = len(x.shape) + 1
        if mode != "constant" or np.any(np.asarray(value) != 0) or any(
                pads[i] or pads[i + r] for i in (0, 1)) or len(x.shape) < 2:
            raise HlsgenError(f"{self.where(node)}: only zero padding of the spatial axes is "
                              "supported; pad with zeros (mode constant, value 0) on height/width")
        return self._pad_act(node, x, pads[2:r], pads[r + 2:])

    # -- pooling ------------------------------------------------------------------------
    def _pool_geometry(self, node, x: Act, kernel, strides):
        if len(x.shape) not in (2, 3):
            raise HlsgenError(f"{self.where(node)}: pooling needs a 1-D signal or an image; "
                              "pool before flattening")
        two_d = len(x.shape) == 3
        kh, kw = kernel if two_d else (1, kernel[0])
        sh, sw = strides if two_d else (1, strides[0])
        ih, iw = x.shape[1:] if two_d else (1, x.shape[1])
        oh, ow = (ih - kh) // sh + 1, (iw - kw) // sw + 1
        out = (x.shape[0], oh, ow) if two_d else (x.shape[0], ow)
        return (kh, kw, sh, sw), out

    def _check_pool_attrs(self, node, a: dict, kernel) -> list:
        if any(a.get("pads", [0])) or any(d != 1 for d in a.get("dilations", [1])):
            raise HlsgenError(f"{self.where(node)}: pooling with padding or dilation is not "
                              "supported; pad explicitly or use padding=0")
        auto = a.get("auto_pad", b"NOTSET")
        if (auto.decode() if isinstance(auto, bytes) else auto) not in ("NOTSET", "VALID"):
            raise HlsgenError(f"{self.where(node)}: pooling with auto_pad is not supported; give "
                              "explicit pads (or none)")
        return list(a.get("strides", [1] * len(kernel)))

    def _MaxPool(self, node):
        x = self.act(node)
        if not all(op.nondecreasing for op in x.ops):
            x = self.resolve(x, f"'{layer_name(node)}' (max-pooling)")
        a = attrs_of(node)
        kernel = list(a["kernel_shape"])
        strides = self._check_pool_attrs(node, a, kernel)
        (kh, kw, sh, sw), out = self._pool_geometry(node, x, kernel, strides)
        if a.get("ceil_mode", 0) and any((d - k) % s for d, k, s in zip(x.shape[1:], kernel, strides)):
            raise HlsgenError(f"{self.where(node)}: max-pooling with ceil_mode on a size that does "
                              "not divide is not supported; use ceil_mode=False or pad the input")
        # A max commutes with non-decreasing float operations: pool the codes, keep the chain.
        t = self.node("pool", layer_name(node), [x.tensor], ir_shape(out),
                      {"mode": "max", "kh": kh, "kw": kw, "sh": sh, "sw": sw})
        return Act(t, out, x.scale, x.frac, list(x.ops))

    def _sum_pool(self, node, x: Act, kernel, strides, out_shape, window_node, inputs) -> Act:
        """Window sum on codes; the framework's averaging is a pending float
        operation (a window with the sum in its first position)."""
        x = self.resolve(x, f"'{layer_name(node)}' (average pooling)")
        (kh, kw, sh, sw), out = self._pool_geometry(node, x, kernel, strides)
        name = layer_name(node)
        t = self.node("pool", name, [x.tensor], ir_shape(out_shape),
                      {"mode": "sum", "kh": kh, "kw": kw, "sh": sh, "sw": sw}, tname=f"{name}_sum")
        n = kh * kw
        po2 = n & (n - 1) == 0 and np.all(x.scale == 1)
        fn = self.qm.ops.node_fn(window_node, inputs, window_layout(tuple(kernel)))
        op = FloatOp(name, node.op_type, fn, False, True,
                     exact=("rescale", int(math.log2(n))) if po2 else None)
        return Act(t, out_shape, x.scale, x.frac, [op])

    def _AveragePool(self, node):
        x = self.act(node)
        a = attrs_of(node)
        kernel = list(a["kernel_shape"])
        strides = self._check_pool_attrs(node, a, kernel)
        if a.get("ceil_mode", 0) and any((d - k) % s for d, k, s in zip(x.shape[1:], kernel, strides)):
            raise HlsgenError(f"{self.where(node)}: average pooling with ceil_mode on a size that "
                              "does not divide is not supported; use ceil_mode=False or pad the "
                              "input")
        _, out = self._pool_geometry(node, x, kernel, strides)
        return self._sum_pool(node, x, kernel, strides, out, node, [None])

    def _GlobalAveragePool(self, node):
        x = self.act(node)
        spatial = list(x.shape[1:])
        return self._sum_pool(node, x, spatial, spatial, (x.shape[0],) + (1,) * len(spatial),
                              node, [None])

    def _ReduceMean(self, node):
        x = self.act(node)
        a = attrs_of(node)
        axes = (list(self.const(node, 1, "axes")) if len(node.input) > 1 and node.input[1]
                else list(a.get("axes", [])))
        r = len(x.shape) + 1
        if sorted(int(d) % r for d in axes) != list(range(2, r)):
            raise HlsgenError(f"{self.where(node)}: ReduceMean over axes {axes} is not supported; "
                              "only the mean over all spatial positions (global average pooling)")
        spatial = list(x.shape[1:])
        keep = int(a.get("keepdims", 1))
        out = (x.shape[0],) + (1,) * len(spatial) if keep else (x.shape[0],)
        inputs = [None] + ([np.asarray(axes, np.int64)] if len(node.input) > 1 else [])
        act = self._sum_pool(node, x, spatial, spatial, out, node, inputs)
        return act


class _AddNode:
    """A stand-in ONNX Add node (a layer's float bias)."""
    op_type = "Add"
    attribute = ()
    metadata_props = ()
    name = "bias"


def _repeats(ops, node, reader, in_shape: tuple, out_shape: tuple, factors: list) -> bool:
    """Whether the Resize node maps output pixel (y, x) to input pixel
    (y // fh, x // fw): run on an image whose values are the pixel indices."""
    _, _ = import_onnx()
    from onnx import TensorProto, helper, numpy_helper
    inputs, inits = ["x"], []
    for i, name in enumerate(node.input[1:], 1):
        if not name:
            inputs.append("")
            continue
        inits.append(numpy_helper.from_array(np.asarray(reader.value(name)), f"c{i}"))
        inputs.append(f"c{i}")
    one = helper.make_node("Resize", inputs, ["y"])
    one.attribute.extend(node.attribute)
    graph = helper.make_graph([one], "resize", [helper.make_tensor_value_info(
        "x", TensorProto.FLOAT, (1,) + tuple(in_shape))], [helper.make_tensor_value_info(
            "y", TensorProto.FLOAT, None)], initializer=inits)
    model = helper.make_model(graph, opset_imports=[helper.make_opsetid("", ops.opset)])
    model.ir_version = max_ir_version()
    index = np.arange(int(np.prod(in_shape[1:])), dtype=np.float32).reshape(in_shape[1:])
    x = np.broadcast_to(index, tuple(in_shape)).astype(np.float32)[None]
    try:
        y = session(model).run(None, {"x": x})[0][0]
    except Exception:   # onnxruntime refuses the node: not something hlsgen can map
        return False
    want = index
    for axis, f in enumerate(factors):
        want = want.repeat(f, axis=axis)
    return y.shape == tuple(out_shape) and np.array_equal(y, np.broadcast_to(want, y.shape))
